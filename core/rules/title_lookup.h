// TitleLookup: title → item for the parser, on top of the data layer's TitleIndex (exact
// lookup on white-space-normalised titles, the first item winning for shared titles as the
// released title2item; fuzzy lookup within a Levenshtein distance over code points through a
// BK-tree). The fuzzy step can be replaced by a callback (tests, other indexes).
#pragma once

#include "core/data/dataset.h"
#include "core/data/title_index.h"

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>

namespace recalign::core {

class TitleLookup {
public:
    // Returns the best item within `maxDistance` edits of `title`, or 0.
    using FuzzyFn = std::function<ItemId(const std::string& title, int maxDistance)>;

    TitleLookup() = default;
    explicit TitleLookup(const Dataset& data, TitleIndex::FuzzyTie tie = TitleIndex::FuzzyTie::Nearest);
    TitleLookup(std::shared_ptr<const TitleIndex> index, const Dataset& data,
                TitleIndex::FuzzyTie tie = TitleIndex::FuzzyTie::Nearest);

    ItemId exact(std::string_view title) const;
    // The fuzzy match within maxDistance (Nearest: smallest distance, ties → lower item id;
    // FirstInCatalogue: the released vague mapping); 0 when none.
    ItemId fuzzy(const std::string& title, int maxDistance) const;
    void setFuzzy(FuzzyFn fn) { m_fuzzy = std::move(fn); }
    // True when `name` (case-insensitive, white space normalised) is a category name.
    bool isCategoryName(std::string_view name) const;
    const TitleIndex* index() const { return m_index.get(); }

private:
    void init(const Dataset& data);
    std::shared_ptr<const TitleIndex> m_index;
    TitleIndex::FuzzyTie m_tie = TitleIndex::FuzzyTie::Nearest;
    std::unordered_set<std::string> m_categories;  // lower-cased
    size_t m_longestTitle = 0;                      // bytes; longer queries cannot be within reach
    FuzzyFn m_fuzzy;
};

}  // namespace recalign::core
