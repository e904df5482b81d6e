// Dataset: the catalogue (items with titles and categories), the category table, and users'
// time-ordered item sequences, with the leave-one-out split of RECLM-GEN §1.5. Torch-free.
// Item ids are dense 1..N; id 0 is padding. Category ids are dense 0..C-1 in creation order
// (the order of RECLM-GEN's category dict, which `categoriesOf(item).back()` relies on).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace recalign::core {

using ItemId = int32_t;      // 0 = padding, 1..N = items
using CategoryId = int32_t;  // 0..C-1
using UserIndex = int32_t;   // 0..U-1, in the dataset's user order

struct Item {
    std::string raw_id;                  // the source's id (asin, movieId, app id)
    std::string title;                   // as shown to the LLM (normalised white space)
    std::vector<CategoryId> categories;  // in category creation order
    std::map<std::string, std::string> extra;  // optional source fields (year, tags, ...)
};

struct Category {
    std::string name;               // hierarchical names joined with ", " (Amazon)
    std::vector<ItemId> members;    // ascending item ids
};

struct User {
    std::string raw_id;
    std::vector<ItemId> sequence;   // time-ordered, de-duplicated
    std::vector<int64_t> timestamps;  // Unix seconds, parallel to `sequence` (empty if unknown)
};

// Why users were dropped, and the shape of the data (printed by `recalign data stats`).
struct DatasetStats {
    long users = 0;
    long items = 0;
    long interactions = 0;
    double mean_sequence_length = 0;
    double median_sequence_length = 0;
    double sparsity = 0;  // 1 - interactions / (users * items)
    long categories = 0;
    // Before any filtering (as read from the source).
    long raw_users = 0;
    long raw_items = 0;          // items in the catalogue file(s)
    long raw_items_with_interactions = 0;
    long raw_interactions = 0;
    long duplicate_interactions = 0;   // (user, item) repeats removed (first kept)
    long below_min_rating = 0;
    long users_dropped_kcore = 0;
    long items_dropped_kcore = 0;
    long items_without_title_or_category = 0;
    long users_too_short_for_eval = 0;  // < 3 interactions: train only
    long duplicate_titles = 0;          // titles shared by several items (first wins)
    long skipped_lines = 0;             // lenient mode
    std::vector<std::string> skipped_examples;  // first few "file:line: reason"
    // Added by the importers (core/data/importers.h).
    long raw_category_labels = 0;        // distinct category / genre labels as written in the source
    long interactions_unknown_item = 0;  // interactions whose item is not in the catalogue
    long interactions_dropped_item = 0;  // interactions of items dropped (no title or no category)
    long repaired_lines = 0;             // lenient mode: invalid UTF-8 bytes decoded as Latin-1
    std::vector<std::string> repaired_examples;  // first few "file:line: what was repaired"
    // Records a source's published layout makes unusable (Steam games without an id, reviews
    // without a parsable date): counted by reason in both modes, never errors.
    std::vector<std::pair<std::string, long>> unusable_by_reason;
    long users_before_kcore = 0;
    long items_before_kcore = 0;
    long interactions_before_kcore = 0;
    int user_core = 1;                   // k-core thresholds that were applied
    int item_core = 1;
    double min_rating = -1e300;          // rating filter that was applied
};

class Dataset {
public:
    std::string name;                 // e.g. "ml-latest-small", "synthetic(seed=1)"
    std::string source;               // movielens | amazon | steam | native | synthetic
    std::vector<Item> items;          // items[0] is the padding item
    std::vector<Category> categories;
    std::vector<User> users;
    DatasetStats stats;
    std::string fingerprint;          // content hash of items, categories and sequences

    int32_t numItems() const { return static_cast<int32_t>(items.size()) - 1; }
    int32_t numUsers() const { return static_cast<int32_t>(users.size()); }
    int32_t numCategories() const { return static_cast<int32_t>(categories.size()); }
    const std::string& title(ItemId id) const { return items[static_cast<size_t>(id)].title; }
    const std::vector<CategoryId>& categoriesOf(ItemId id) const { return items[static_cast<size_t>(id)].categories; }
    bool inCategory(ItemId id, CategoryId c) const;

    // Leave-one-out (RECLM-GEN §1.5): train = seq[:-2], valid target seq[-2], test target
    // seq[-1]. Users with < 3 interactions have no valid/test target.
    bool hasEvalTargets(UserIndex u) const { return users[static_cast<size_t>(u)].sequence.size() >= 3; }
    std::vector<ItemId> trainSequence(UserIndex u) const;
    ItemId validTarget(UserIndex u) const;  // 0 when the user has none
    ItemId testTarget(UserIndex u) const;   // 0 when the user has none
    // History shown before the valid / test target: the last `maxLen` items before it.
    std::vector<ItemId> validHistory(UserIndex u, int maxLen) const;
    std::vector<ItemId> testHistory(UserIndex u, int maxLen) const;

    // Recomputes stats (users, items, interactions, lengths, sparsity) and the fingerprint.
    void finalize();
};

}  // namespace recalign::core
