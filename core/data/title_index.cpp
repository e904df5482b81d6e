// Title index: exact map plus a BK-tree over distinct normalised titles; category tables.
#include "core/data/title_index.h"

#include "core/util/strings.h"

#include <algorithm>

namespace recalign::core {

namespace title_index_detail {

thread_local long tVisits = 0;

std::u32string codepoints(std::string_view s)
{
    std::u32string out;
    out.reserve(s.size());
    size_t i = 0;
    while (i < s.size()) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        bool ok = n > 0 && i + n <= s.size();
        for (size_t k = 1; ok && k < n; ++k)
            ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
        if (!ok) {
            out.push_back(0xDC00u + c);  // an invalid byte is one (distinct) code point
            ++i;
            continue;
        }
        char32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
        for (size_t k = 1; k < n; ++k)
            cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
        out.push_back(cp);
        i += n;
    }
    return out;
}

int distance(const std::u32string& a, const std::u32string& b)
{
    if (a.size() < b.size())
        return distance(b, a);
    thread_local std::vector<int> row;
    row.resize(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j)
        row[j] = static_cast<int>(j);
    for (size_t i = 1; i <= a.size(); ++i) {
        int diag = row[0];
        row[0] = static_cast<int>(i);
        for (size_t j = 1; j <= b.size(); ++j) {
            const int up = row[j];
            row[j] = std::min({up + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diag = up;
        }
    }
    return row[b.size()];
}

}  // namespace title_index_detail

std::string normalizeTitle(std::string_view title) { return str::normalizeSpace(title); }

int levenshteinCodepoints(std::string_view a, std::string_view b)
{
    return title_index_detail::distance(title_index_detail::codepoints(a), title_index_detail::codepoints(b));
}

TitleIndex::TitleIndex(const Dataset& data)
{
    using namespace title_index_detail;
    for (ItemId id = 1; id <= data.numItems(); ++id) {
        const std::string t = normalizeTitle(data.title(id));
        if (!m_exact.emplace(t, id).second) {
            ++m_duplicates;
            continue;
        }
        Node node;
        node.title = codepoints(t);
        node.item = id;
        const auto index = static_cast<int32_t>(m_nodes.size());
        if (m_nodes.empty()) {
            m_nodes.push_back(std::move(node));
            continue;
        }
        int32_t cur = 0;
        for (;;) {
            const int d = distance(node.title, m_nodes[static_cast<size_t>(cur)].title);
            auto& kids = m_nodes[static_cast<size_t>(cur)].children;
            auto it = std::find_if(kids.begin(), kids.end(), [d](const auto& k) { return k.first == d; });
            if (it == kids.end()) {
                kids.emplace_back(d, index);
                break;
            }
            cur = it->second;
        }
        m_nodes.push_back(std::move(node));
    }
    m_categoryNames.reserve(data.categories.size());
    for (CategoryId c = 0; c < data.numCategories(); ++c) {
        const auto& cat = data.categories[static_cast<size_t>(c)];
        m_categoryIds.emplace(cat.name, c);
        m_categoryNames.push_back(cat.name);
        m_members.push_back(cat.members);
    }
    m_itemCategories.reserve(data.items.size());
    for (const auto& it : data.items)
        m_itemCategories.push_back(it.categories);
}

ItemId TitleIndex::exact(std::string_view title) const
{
    auto it = m_exact.find(normalizeTitle(title));
    return it == m_exact.end() ? 0 : it->second;
}

long TitleIndex::lastQueryVisits() { return title_index_detail::tVisits; }

std::vector<TitleMatch> TitleIndex::within(std::string_view title, int maxDistance) const
{
    using namespace title_index_detail;
    tVisits = 0;
    std::vector<TitleMatch> out;
    if (m_nodes.empty() || maxDistance < 0)
        return out;
    const std::u32string q = codepoints(normalizeTitle(title));
    std::vector<int32_t> stack = {0};
    while (!stack.empty()) {
        const Node& n = m_nodes[static_cast<size_t>(stack.back())];
        stack.pop_back();
        ++tVisits;
        const int d = distance(q, n.title);
        if (d <= maxDistance)
            out.push_back({n.item, d});
        for (const auto& [edge, child] : n.children)
            if (edge >= d - maxDistance && edge <= d + maxDistance)
                stack.push_back(child);
    }
    std::sort(out.begin(), out.end(), [](const TitleMatch& a, const TitleMatch& b) {
        return a.distance != b.distance ? a.distance < b.distance : a.item < b.item;
    });
    return out;
}

TitleMatch TitleIndex::lookup(std::string_view title, int maxDistance, FuzzyTie tie) const
{
    if (const ItemId id = exact(title)) {
        title_index_detail::tVisits = 0;
        return {id, 0};
    }
    const auto all = within(title, maxDistance);
    if (all.empty())
        return {};
    if (tie == FuzzyTie::Nearest)
        return all.front();
    return *std::min_element(all.begin(), all.end(), [](const TitleMatch& a, const TitleMatch& b) { return a.item < b.item; });
}

CategoryId TitleIndex::categoryId(std::string_view name) const
{
    auto it = m_categoryIds.find(std::string(name));
    return it == m_categoryIds.end() ? -1 : it->second;
}

}  // namespace recalign::core
