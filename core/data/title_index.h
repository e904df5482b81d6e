// Title and category index over a Dataset: exact normalised title → item (a title shared by
// several items maps to the first, as RECLM-GEN §3.7), fuzzy lookup within a Levenshtein
// distance (over Unicode code points) through a BK-tree (a query visits a small part of the
// catalogue, not all of it), category name → id, category → items, item → categories.
// Self-contained copy: it stays valid if the Dataset moves. Thread-safe for concurrent reads.
#pragma once

#include "core/data/dataset.h"

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace recalign::core {

// The normalisation applied to titles and queries: trim, newlines and tabs to spaces, runs of
// white space collapsed to one space. Case is kept.
std::string normalizeTitle(std::string_view title);

// Levenshtein distance over UTF-8 code points (invalid bytes count as one code point each).
int levenshteinCodepoints(std::string_view a, std::string_view b);

struct TitleMatch {
    ItemId item = 0;    // 0 = no match
    int distance = -1;  // edit distance of the matched title (0 = exact)
    explicit operator bool() const { return item != 0; }
};

class TitleIndex {
public:
    // Which match a fuzzy lookup returns when several titles are within the distance.
    enum class FuzzyTie {
        Nearest,           // smallest distance; ties → lowest item id (default)
        FirstInCatalogue,  // lowest item id within the distance (RECLM-GEN's vague mapping)
    };
    static constexpr int kDefaultMaxDistance = 3;

    TitleIndex() = default;
    explicit TitleIndex(const Dataset& data);

    // Item whose normalised title equals the normalised query; 0 when none.
    ItemId exact(std::string_view title) const;
    // Exact match first (distance 0), else the fuzzy match within `maxDistance`, else no match.
    TitleMatch lookup(std::string_view title, int maxDistance = kDefaultMaxDistance,
                      FuzzyTie tie = FuzzyTie::Nearest) const;
    // Every distinct title within `maxDistance` (each as its first item), sorted by distance
    // then item id.
    std::vector<TitleMatch> within(std::string_view title, int maxDistance) const;
    // Number of tree nodes whose distance the last query on this thread computed (to show that
    // a query does not scan the catalogue).
    static long lastQueryVisits();

    long duplicateTitles() const { return m_duplicates; }  // items whose title an earlier item has
    size_t distinctTitles() const { return m_nodes.size(); }

    CategoryId categoryId(std::string_view name) const;  // exact name; -1 when unknown
    const std::vector<ItemId>& itemsIn(CategoryId c) const { return m_members[static_cast<size_t>(c)]; }
    const std::vector<CategoryId>& categoriesOf(ItemId id) const { return m_itemCategories[static_cast<size_t>(id)]; }
    const std::string& categoryName(CategoryId c) const { return m_categoryNames[static_cast<size_t>(c)]; }
    int32_t numCategories() const { return static_cast<int32_t>(m_categoryNames.size()); }

private:
    struct Node {
        std::u32string title;
        ItemId item = 0;
        std::vector<std::pair<int, int32_t>> children;  // (distance to this node, child node index)
    };
    std::unordered_map<std::string, ItemId> m_exact;
    std::vector<Node> m_nodes;  // m_nodes[0] is the root
    long m_duplicates = 0;
    std::unordered_map<std::string, CategoryId> m_categoryIds;
    std::vector<std::string> m_categoryNames;
    std::vector<std::vector<ItemId>> m_members;
    std::vector<std::vector<CategoryId>> m_itemCategories;
};

}  // namespace recalign::core
