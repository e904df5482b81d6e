// Most-popular and item-to-item transition baselines with full-ranking HR@k / NDCG@k.
#include "core/data/baselines.h"

#include <cmath>
#include <unordered_map>
#include <unordered_set>

namespace recalign::core {

namespace baselines_detail {

std::vector<double> popularity(const Dataset& d)
{
    std::vector<double> pop(d.items.size(), 0.0);
    for (UserIndex u = 0; u < d.numUsers(); ++u)
        for (ItemId i : d.trainSequence(u))
            pop[static_cast<size_t>(i)] += 1.0;
    return pop;
}

// Rank (0-based) of `target` among all non-history items by descending score; ties count
// against the target (items with an equal score and a lower id rank first).
long rankOf(const std::vector<double>& scores, ItemId target, const std::unordered_set<ItemId>& history)
{
    const double s = scores[static_cast<size_t>(target)];
    long rank = 0;
    for (size_t i = 1; i < scores.size(); ++i) {
        const auto id = static_cast<ItemId>(i);
        if (id == target || history.count(id))
            continue;
        if (scores[i] > s || (scores[i] == s && id < target))
            ++rank;
    }
    return rank;
}

template <typename ScoreFn>
RankingMetrics evaluate(const Dataset& d, EvalTarget which, int k, ScoreFn&& scoresFor)
{
    RankingMetrics m;
    m.k = k;
    for (UserIndex u = 0; u < d.numUsers(); ++u) {
        if (!d.hasEvalTargets(u))
            continue;
        const auto& seq = d.users[static_cast<size_t>(u)].sequence;
        const size_t targetPos = which == EvalTarget::Test ? seq.size() - 1 : seq.size() - 2;
        const ItemId target = seq[targetPos];
        std::unordered_set<ItemId> history(seq.begin(), seq.begin() + static_cast<std::ptrdiff_t>(targetPos));
        history.erase(target);
        const std::vector<double>& scores = scoresFor(seq[targetPos - 1]);
        const long rank = rankOf(scores, target, history);
        ++m.users;
        if (rank < k) {
            m.hr += 1.0;
            m.ndcg += 1.0 / std::log2(static_cast<double>(rank) + 2.0);
        }
    }
    if (m.users) {
        m.hr /= static_cast<double>(m.users);
        m.ndcg /= static_cast<double>(m.users);
    }
    return m;
}

}  // namespace baselines_detail

RankingMetrics evaluateMostPopular(const Dataset& data, EvalTarget target, int k)
{
    const std::vector<double> pop = baselines_detail::popularity(data);
    return baselines_detail::evaluate(data, target, k, [&](ItemId) -> const std::vector<double>& { return pop; });
}

RankingMetrics evaluateTransition(const Dataset& data, EvalTarget target, int k)
{
    const std::vector<double> pop = baselines_detail::popularity(data);
    double maxPop = 0;
    for (double p : pop)
        maxPop = std::max(maxPop, p);
    // Transition counts a → b over consecutive training pairs.
    std::unordered_map<ItemId, std::unordered_map<ItemId, double>> next;
    for (UserIndex u = 0; u < data.numUsers(); ++u) {
        const auto s = data.trainSequence(u);
        for (size_t i = 1; i < s.size(); ++i)
            next[s[i - 1]][s[i]] += 1.0;
    }
    std::vector<double> scores(data.items.size());
    return baselines_detail::evaluate(data, target, k, [&](ItemId last) -> const std::vector<double>& {
        // score = transitions from `last` + popularity / (maxPop + 1) as a tie-breaker (< 1).
        for (size_t i = 0; i < scores.size(); ++i)
            scores[i] = pop[i] / (maxPop + 1.0);
        auto it = next.find(last);
        if (it != next.end())
            for (const auto& [b, c] : it->second)
                scores[static_cast<size_t>(b)] += c;
        return scores;
    });
}

}  // namespace recalign::core
