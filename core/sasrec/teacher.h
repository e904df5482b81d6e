// Teacher: the conventional recommender that labels SFT data and scores rewards (RECLM-GEN
// §2.3). Torch-free interface; SasRecTeacher (torch) and MostPopTeacher implement it. Scores
// are computed once per history and reused for top-k and ranks.
#pragma once

#include "core/data/dataset.h"

#include <vector>

namespace recalign::core {

// +C / -C / none (RECLM-GEN §2.3 /inference).
struct CategoryConstraint {
    enum class Kind { None, Include, Exclude };
    Kind kind = Kind::None;
    CategoryId category = -1;
    static CategoryConstraint none() { return {}; }
    static CategoryConstraint include(CategoryId c) { return {Kind::Include, c}; }
    static CategoryConstraint exclude(CategoryId c) { return {Kind::Exclude, c}; }
};

// Scores of every item for one history: scores[0] is padding (-inf), scores[1..N] the items.
using ItemScores = std::vector<float>;

class Teacher {
public:
    virtual ~Teacher() = default;
    virtual std::string name() const = 0;
    // Scores for a batch of histories (each oldest first, unpadded). Thread-safe.
    virtual std::vector<ItemScores> scoreBatch(const std::vector<std::vector<ItemId>>& histories) const = 0;
};

// Top-k item ids by score under a constraint; history items excluded when `excludeHistory`.
// Non-candidates never appear (the released server ranks them below candidates; we drop them,
// so fewer than k ids come back only when fewer than k candidates exist). Ties: lower id first.
std::vector<ItemId> topkFromScores(const Dataset& data, const ItemScores& scores, int k,
                                   const CategoryConstraint& constraint,
                                   const std::vector<ItemId>& history, bool excludeHistory = true);

// 0-based rank of each item among the whole catalogue (padding excluded; history NOT excluded,
// as the released /ranking). Rank = number of items with a strictly higher score, plus the
// number of equal-score items with a lower id.
std::vector<int64_t> ranksFromScores(const ItemScores& scores, const std::vector<ItemId>& items);

// The teacher calls of RECLM-GEN §2.3 for a batch of histories: ONE scoreBatch, then per
// history top-k (constraint per history, or one for all when `constraints` has size 1, or none
// when empty) and catalogue ranks of `items[i]` (0-based, padding excluded, history included).
std::vector<std::vector<ItemId>> teacherTopk(const Teacher& teacher, const Dataset& data,
                                             const std::vector<std::vector<ItemId>>& histories, int k,
                                             const std::vector<CategoryConstraint>& constraints = {},
                                             bool excludeHistory = true);
std::vector<std::vector<int64_t>> teacherRanks(const Teacher& teacher, const std::vector<std::vector<ItemId>>& histories,
                                               const std::vector<std::vector<ItemId>>& items);

// The most-popular teacher: score = training-interaction count (the floor baseline).
class MostPopTeacher : public Teacher {
public:
    explicit MostPopTeacher(const Dataset& data);  // counts train sequences only
    std::string name() const override { return "mostpop"; }
    std::vector<ItemScores> scoreBatch(const std::vector<std::vector<ItemId>>& histories) const override;

private:
    ItemScores m_scores;
};

}  // namespace recalign::core
