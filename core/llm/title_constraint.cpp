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
            }
            node = c;
        }
        m_nodes[static_cast<size_t>(node)].terminal = true;
        ++m_titleCount;
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

void TitleConstraint::allowed(const State& s, std::vector<int32_t>& out) const
{
    out.clear();
    if (s.phase == 2)
        return;
    if (s.phase == 1) {
        for (const auto& [t, c] : m_nodes[static_cast<size_t>(s.node)].children)
            out.push_back(t);
        return;
    }
    const int done = s.line - 1;
    if (s.pos == 0 && done >= m_opt.max_items) {
        out.push_back(m_eos);
        return;
    }
    out.push_back(m_index[static_cast<size_t>(s.line)][static_cast<size_t>(s.pos)]);
    if (s.pos == 0 && done >= m_opt.min_items && m_eos != out[0])
        out.push_back(m_eos);
    std::sort(out.begin(), out.end());
}

bool TitleConstraint::isAllowed(const State& s, int32_t token) const
{
    if (s.phase == 2)
        return false;
    if (s.phase == 1)
        return child(s.node, token) >= 0;
    const int done = s.line - 1;
    if (s.pos == 0 && token == m_eos && done >= m_opt.min_items)
        return true;
    if (done >= m_opt.max_items)
        return false;
    return m_index[static_cast<size_t>(s.line)][static_cast<size_t>(s.pos)] == token;
}

TitleConstraint::State TitleConstraint::advance(const State& s, int32_t token) const
{
    if (!isAllowed(s, token))
        throw CoreException(ErrorCode::InvalidConfig,
                            "constraint: token " + std::to_string(token) + " is not allowed at line "
                                + std::to_string(s.line),
                            "constraint");
    State n = s;
    if (s.phase == 0) {
        if (s.pos == 0 && token == m_eos && s.line - 1 >= m_opt.min_items) {
            n.phase = 2;
            return n;
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
        n.line += 1;
        n.phase = 0;
        n.pos = 0;
        n.node = 0;
    }
    return n;
}

}  // namespace recalign::core::llm
