// Constrained decoding over catalogue titles (see title_constraint.h). Torch-free.
#include "core/llm/title_constraint.h"

#include "core/api/error.h"
#include "core/llm/chat_template.h"
#include "core/util/strings.h"

#include <algorithm>

namespace recalign::core::llm {

std::vector<int32_t> TitleConstraint::titleTokens(const Tokenizer& tok, const std::string& title)
{
    return tokensInContext(tok, "1.", " " + title + "\n");
}

TitleConstraint::TitleConstraint(const Tokenizer& tok, const std::vector<std::string>& titles,
                                 const TitleConstraintOptions& options)
    : m_opt(options), m_eos(tok.eosId())
{
    if (m_opt.max_items < 1 || m_opt.min_items < 0 || m_opt.min_items > m_opt.max_items)
        throw CoreException(ErrorCode::InvalidConfig, "constraint: need 0 <= min_items <= max_items and max_items >= 1",
                            "constraint");
    if (titles.empty())
        throw CoreException(ErrorCode::InvalidConfig, "constraint: the catalogue has no titles", "constraint");
    m_index.resize(static_cast<size_t>(m_opt.max_items) + 1);
    for (int k = 1; k <= m_opt.max_items; ++k) {
        m_index[static_cast<size_t>(k)] =
            tokensInContext(tok, k == 1 ? m_opt.context : std::string("\n"), " " + std::to_string(k) + ".");
        if (m_index[static_cast<size_t>(k)].empty())
            throw CoreException(ErrorCode::InvalidConfig, "constraint: line index " + std::to_string(k) + " has no tokens",
                                "constraint");
    }
    m_nodes.emplace_back();
    for (const auto& raw : titles) {
        const std::string title = str::trim(raw);
        if (title.empty() || title.find('\n') != std::string::npos || title.find('\r') != std::string::npos)
            throw CoreException(ErrorCode::InvalidConfig,
                                "constraint: title '" + raw + "' is empty or spans several lines", "constraint");
        const std::vector<int32_t> part = titleTokens(tok, title);
        // The split " 1." + " Title\n" must tokenise as the whole line does.
        std::vector<int32_t> joined = m_index[1];
        joined.insert(joined.end(), part.begin(), part.end());
        if (tokensInContext(tok, m_opt.context, " 1. " + title + "\n") != joined)
            throw CoreException(ErrorCode::InvalidConfig,
                                "constraint: title '" + title + "' tokenises differently inside its line", "constraint");
        int32_t node = 0;
        for (int32_t t : part) {
            int32_t c = child(node, t);
            if (c < 0) {
                c = static_cast<int32_t>(m_nodes.size());
                auto& kids = m_nodes[static_cast<size_t>(node)].children;
                kids.insert(std::lower_bound(kids.begin(), kids.end(), std::make_pair(t, int32_t(-1))), {t, c});
                m_nodes.emplace_back();
                m_nodes.back().parent = node;
            }
            node = c;
        }
        m_nodes[static_cast<size_t>(node)].terminal = true;
        m_terminals.emplace(title, node);
        ++m_titleCount;
    }
    // Title counts bottom-up: a child is always created after its parent, so a reverse sweep
    // sees every child before its parent.
    for (size_t i = m_nodes.size(); i-- > 0;) {
        Node& n = m_nodes[i];
        if (n.terminal) {
            n.titles = 1;  // the line ends here; anything below is never reached
            continue;
        }
        for (const auto& [t, c] : n.children)
            n.titles += m_nodes[static_cast<size_t>(c)].titles;
    }
}

int32_t TitleConstraint::child(int32_t node, int32_t token) const
{
    const auto& kids = m_nodes[static_cast<size_t>(node)].children;
    auto it = std::lower_bound(kids.begin(), kids.end(), std::make_pair(token, int32_t(-1)));
    return it != kids.end() && it->first == token ? it->second : -1;
}

const std::vector<int32_t>& TitleConstraint::indexTokens(int line) const
{
    if (line < 1 || line > m_opt.max_items)
        throw CoreException(ErrorCode::InvalidConfig, "constraint: no line " + std::to_string(line), "constraint");
    return m_index[static_cast<size_t>(line)];
}

bool TitleConstraint::open(const Limits& lim, int32_t node) const
{
    return !lim.row || lim.row->available(node) > 0;
}

void TitleConstraint::lineStart(const Limits& lim, const State& s, bool& eos, bool& index) const
{
    const int done = s.line - 1;
    // A new line needs a free line number and, for a row, an allowed title left to fill it.
    index = done < lim.max_items && open(lim, 0);
    // EOS once enough lines are written, and always when no line can open (never a dead end;
    // a RowConstraintState rejects rows that would get here before their k lines).
    eos = done >= lim.min_items || !index;
}

void TitleConstraint::allowedUnder(const Limits& lim, const State& s, std::vector<int32_t>& out) const
{
    out.clear();
    if (s.phase == 2)
        return;
    if (s.phase == 1) {
        for (const auto& [t, c] : m_nodes[static_cast<size_t>(s.node)].children)
            if (open(lim, c))
                out.push_back(t);
        return;
    }
    if (s.pos > 0) {
        out.push_back(m_index[static_cast<size_t>(s.line)][static_cast<size_t>(s.pos)]);
        return;
    }
    bool eos = false, index = false;
    lineStart(lim, s, eos, index);
    if (index)
        out.push_back(m_index[static_cast<size_t>(s.line)][0]);
    if (eos && (out.empty() || out[0] != m_eos))
        out.push_back(m_eos);
    std::sort(out.begin(), out.end());
}

bool TitleConstraint::isAllowedUnder(const Limits& lim, const State& s, int32_t token) const
{
    if (s.phase == 2)
        return false;
    if (s.phase == 1) {
        const int32_t c = child(s.node, token);
        return c >= 0 && open(lim, c);
    }
    if (s.pos > 0)
        return m_index[static_cast<size_t>(s.line)][static_cast<size_t>(s.pos)] == token;
    bool eos = false, index = false;
    lineStart(lim, s, eos, index);
    return (eos && token == m_eos) || (index && m_index[static_cast<size_t>(s.line)][0] == token);
}

TitleConstraint::State TitleConstraint::advanceUnder(const Limits& lim, const State& s, int32_t token,
                                                     int32_t* titleEnd) const
{
    if (titleEnd)
        *titleEnd = -1;
    if (!isAllowedUnder(lim, s, token))
        throw CoreException(ErrorCode::InvalidConfig,
                            "constraint: token " + std::to_string(token) + " is not allowed at line "
                                + std::to_string(s.line),
                            "constraint");
    State n = s;
    if (s.phase == 0) {
        if (s.pos == 0 && token == m_eos) {
            bool eos = false, index = false;
            lineStart(lim, s, eos, index);
            if (eos) {  // EOS first should an index token ever equal it (as before rows existed)
                n.phase = 2;
                return n;
            }
        }
        if (++n.pos == static_cast<int32_t>(m_index[static_cast<size_t>(s.line)].size())) {
            n.phase = 1;
            n.pos = 0;
            n.node = 0;
        }
        return n;
    }
    n.node = child(s.node, token);
    if (m_nodes[static_cast<size_t>(n.node)].terminal) {
        if (titleEnd)
            *titleEnd = n.node;
        n.line += 1;
        n.phase = 0;
        n.pos = 0;
        n.node = 0;
    }
    return n;
}

void TitleConstraint::allowed(const State& s, std::vector<int32_t>& out) const
{
    allowedUnder(plainLimits(), s, out);
}

bool TitleConstraint::isAllowed(const State& s, int32_t token) const
{
    return isAllowedUnder(plainLimits(), s, token);
}

TitleConstraint::State TitleConstraint::advance(const State& s, int32_t token) const
{
    return advanceUnder(plainLimits(), s, token);
}

// ---- RowConstraintState ------------------------------------------------------------------------

RowConstraintState::RowConstraintState(const TitleConstraint& constraint)
    : m_c(&constraint), m_minItems(constraint.m_opt.min_items), m_maxItems(constraint.m_opt.max_items),
      m_state(constraint.initial())
{
}

RowConstraintState::RowConstraintState(const TitleConstraint& constraint, const RowConstraint& row)
    : RowConstraintState(constraint)
{
    const std::string who = "constraint: row" + (row.label.empty() ? std::string() : " '" + row.label + "'");
    if (row.items < 0 || row.items > m_maxItems)
        throw CoreException(ErrorCode::InvalidConfig,
                            who + " asks for " + std::to_string(row.items) + " items; the constraint has lines 1.."
                                + std::to_string(m_maxItems),
                            "constraint");
    if (row.items > 0)
        m_minItems = m_maxItems = row.items;
    m_noRepeats = row.no_repeats;
    m_restricted = row.no_repeats || !row.forbidden.empty();
    for (const auto& title : row.forbidden) {
        // A title outside the catalogue has no path, so it could not be generated anyway.
        auto it = m_c->m_terminals.find(str::trim(title));
        if (it != m_c->m_terminals.end())
            remove(it->second);
    }
    // Every line takes a title: with no_repeats each a different one.
    const int32_t left = allowedTitles();
    const int32_t need = m_minItems == 0 ? 0 : m_noRepeats ? m_minItems : 1;
    if (left < need) {
        const int32_t distinct = static_cast<int32_t>(m_c->distinctTitleCount());
        throw CoreException(ErrorCode::InvalidConfig,
                            who + " asks for " + std::to_string(m_minItems) + " items"
                                + (m_noRepeats ? " without repeats" : "") + " but only " + std::to_string(left)
                                + " of the catalogue's " + std::to_string(distinct)
                                + " distinct titles are allowed (" + std::to_string(distinct - left) + " forbidden)",
                            "constraint");
    }
}

int32_t RowConstraintState::available(int32_t node) const
{
    const int32_t all = m_c->m_nodes[static_cast<size_t>(node)].titles;
    if (m_removed.empty())
        return all;
    auto it = m_removed.find(node);
    return it == m_removed.end() ? all : all - it->second;
}

void RowConstraintState::remove(int32_t terminal)
{
    if (available(terminal) == 0)
        return;  // already removed (a duplicate, or forbidden and then listed)
    for (int32_t n = terminal; n >= 0; n = m_c->m_nodes[static_cast<size_t>(n)].parent)
        ++m_removed[n];
}

void RowConstraintState::allowed(std::vector<int32_t>& out) const { m_c->allowedUnder(limits(), m_state, out); }

bool RowConstraintState::isAllowed(int32_t token) const { return m_c->isAllowedUnder(limits(), m_state, token); }

void RowConstraintState::advance(int32_t token)
{
    int32_t titleEnd = -1;
    m_state = m_c->advanceUnder(limits(), m_state, token, &titleEnd);
    if (titleEnd >= 0 && m_noRepeats)
        remove(titleEnd);
}

}  // namespace recalign::core::llm
