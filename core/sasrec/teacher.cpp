// Teacher helpers: constrained top-k and catalogue ranks from a score vector; MostPopTeacher.
#include "core/sasrec/teacher.h"

#include "core/api/error.h"

#include <algorithm>
#include <limits>
#include <unordered_set>

namespace recalign::core {

std::vector<ItemId> topkFromScores(const Dataset& data, const ItemScores& scores, int k,
                                   const CategoryConstraint& constraint,
                                   const std::vector<ItemId>& history, bool excludeHistory)
{
    std::unordered_set<ItemId> hist;
    if (excludeHistory)
        hist.insert(history.begin(), history.end());
    std::vector<ItemId> candidates;
    auto admit = [&](ItemId id) { if (!hist.count(id)) candidates.push_back(id); };
    if (constraint.kind == CategoryConstraint::Kind::Include) {
        for (ItemId id : data.categories[static_cast<size_t>(constraint.category)].members)
            admit(id);
    } else {
        for (ItemId id = 1; id <= data.numItems(); ++id) {
            if (constraint.kind == CategoryConstraint::Kind::Exclude && data.inCategory(id, constraint.category))
                continue;
            admit(id);
        }
    }
    const size_t kk = std::min(candidates.size(), static_cast<size_t>(std::max(k, 0)));
    auto better = [&](ItemId a, ItemId b) {
        const float sa = scores[static_cast<size_t>(a)], sb = scores[static_cast<size_t>(b)];
        return sa > sb || (sa == sb && a < b);
    };
    std::partial_sort(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(kk), candidates.end(), better);
    candidates.resize(kk);
    return candidates;
}

std::vector<int64_t> ranksFromScores(const ItemScores& scores, const std::vector<ItemId>& items)
{
    std::vector<int64_t> ranks;
    ranks.reserve(items.size());
    for (ItemId it : items) {
        if (it <= 0 || static_cast<size_t>(it) >= scores.size()) {
            ranks.push_back(static_cast<int64_t>(scores.size()) - 1);  // unknown: last
            continue;
        }
        const float s = scores[static_cast<size_t>(it)];
        int64_t r = 0;
        for (size_t j = 1; j < scores.size(); ++j) {
            const float o = scores[j];
            if (o > s || (o == s && static_cast<ItemId>(j) < it))
                ++r;
        }
        ranks.push_back(r);
    }
    return ranks;
}

std::vector<std::vector<ItemId>> teacherTopk(const Teacher& teacher, const Dataset& data,
                                             const std::vector<std::vector<ItemId>>& histories, int k,
                                             const std::vector<CategoryConstraint>& constraints, bool excludeHistory)
{
    if (constraints.size() > 1 && constraints.size() != histories.size())
        throw CoreException(ErrorCode::InvalidConfig, "teacherTopk: " + std::to_string(constraints.size())
                                                          + " constraints for " + std::to_string(histories.size())
                                                          + " histories (expected 0, 1 or one each)");
    for (const auto& c : constraints)
        if (c.kind != CategoryConstraint::Kind::None && (c.category < 0 || c.category >= data.numCategories()))
            throw CoreException(ErrorCode::InvalidConfig, "teacherTopk: category " + std::to_string(c.category)
                                                              + " is not in the dataset (0.." + std::to_string(data.numCategories() - 1) + ")");
    const std::vector<ItemScores> scores = teacher.scoreBatch(histories);
    std::vector<std::vector<ItemId>> out;
    out.reserve(histories.size());
    for (size_t i = 0; i < histories.size(); ++i) {
        const CategoryConstraint c = constraints.empty() ? CategoryConstraint::none()
                                     : constraints.size() == 1 ? constraints.front() : constraints[i];
        out.push_back(topkFromScores(data, scores[i], k, c, histories[i], excludeHistory));
    }
    return out;
}

std::vector<std::vector<int64_t>> teacherRanks(const Teacher& teacher, const std::vector<std::vector<ItemId>>& histories,
                                               const std::vector<std::vector<ItemId>>& items)
{
    if (items.size() != histories.size())
        throw CoreException(ErrorCode::InvalidConfig, "teacherRanks: " + std::to_string(items.size())
                                                          + " item lists for " + std::to_string(histories.size()) + " histories");
    const std::vector<ItemScores> scores = teacher.scoreBatch(histories);
    std::vector<std::vector<int64_t>> out;
    out.reserve(histories.size());
    for (size_t i = 0; i < histories.size(); ++i)
        out.push_back(ranksFromScores(scores[i], items[i]));
    return out;
}

MostPopTeacher::MostPopTeacher(const Dataset& data)
    : m_scores(static_cast<size_t>(data.numItems()) + 1, 0.0f)
{
    m_scores[0] = -std::numeric_limits<float>::infinity();
    for (UserIndex u = 0; u < data.numUsers(); ++u)
        for (ItemId id : data.trainSequence(u))
            m_scores[static_cast<size_t>(id)] += 1.0f;
}

std::vector<ItemScores> MostPopTeacher::scoreBatch(const std::vector<std::vector<ItemId>>& histories) const
{
    return std::vector<ItemScores>(histories.size(), m_scores);
}

}  // namespace recalign::core
