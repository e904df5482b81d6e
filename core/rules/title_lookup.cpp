// TitleLookup: exact and fuzzy title → item mapping for the parser (over TitleIndex).
#include "core/rules/title_lookup.h"

#include "core/util/strings.h"

#include <algorithm>

namespace recalign::core {

TitleLookup::TitleLookup(const Dataset& data, TitleIndex::FuzzyTie tie)
    : m_index(std::make_shared<const TitleIndex>(data)), m_tie(tie)
{
    init(data);
}

TitleLookup::TitleLookup(std::shared_ptr<const TitleIndex> index, const Dataset& data, TitleIndex::FuzzyTie tie)
    : m_index(std::move(index)), m_tie(tie)
{
    init(data);
}

void TitleLookup::init(const Dataset& data)
{
    for (ItemId id = 1; id <= data.numItems(); ++id)
        m_longestTitle = std::max(m_longestTitle, data.title(id).size());
    for (const auto& c : data.categories)
        m_categories.insert(str::toLower(str::normalizeSpace(c.name)));
}

ItemId TitleLookup::exact(std::string_view title) const { return m_index ? m_index->exact(title) : 0; }

ItemId TitleLookup::fuzzy(const std::string& title, int maxDistance) const
{
    if (m_fuzzy)
        return m_fuzzy(title, maxDistance);
    if (!m_index)
        return 0;
    // A query with more code points than the longest title plus the bound cannot match; the
    // byte length bounds the code points from above, the 4-byte UTF-8 maximum from below.
    if (title.size() > 4 * (m_longestTitle + static_cast<size_t>(std::max(maxDistance, 0))))
        return 0;
    return m_index->lookup(title, maxDistance, m_tie).item;
}

bool TitleLookup::isCategoryName(std::string_view name) const
{
    return m_categories.count(str::toLower(str::normalizeSpace(name))) > 0;
}

}  // namespace recalign::core
