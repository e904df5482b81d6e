// Evaluation of any Teacher on the leave-one-out split (ANCHORS §A.3), under two protocols that
// are never mixed up: FULL ranking over the whole catalogue with the user's history excluded,
// and SAMPLED (target + 100 uniform items the user never interacted with, kang205/pmixer).
// HR@K, NDCG@K (K = 5, 10, 20) and MRR, on valid and test. Torch-free.
#pragma once

#include "core/sasrec/teacher.h"

#include <array>
#include <string>

namespace recalign::core {

enum class EvalProtocol { Full, Sampled };
enum class EvalSplit { Valid, Test };

inline constexpr std::array<int, 3> kEvalCutoffs = {5, 10, 20};

// Averages over the evaluated users. Rank r is 0-based; HR@K = [r < K], NDCG@K = [r < K] /
// log2(r + 2), MRR = 1 / (r + 1) (no cutoff).
struct RankingMetrics {
    long users = 0;
    std::array<double, 3> hr{};    // at kEvalCutoffs
    std::array<double, 3> ndcg{};
    double mrr = 0.0;
    double hrAt(int k) const;      // k in kEvalCutoffs; throws InvalidConfig otherwise
    double ndcgAt(int k) const;
};

struct EvalOptions {
    EvalProtocol protocol = EvalProtocol::Full;
    int negatives = 100;     // sampled protocol only
    uint64_t seed = 2024;    // sampled negatives: a stream per (seed, user, split)
    int batch = 256;         // histories per Teacher::scoreBatch call
    long max_users = 0;      // 0 = every user with a target; else the first N users (dataset order)
};

struct EvalResult {
    EvalProtocol protocol = EvalProtocol::Full;
    int negatives = 0;
    RankingMetrics valid;
    RankingMetrics test;
    double seconds = 0.0;     // wall time of both splits
    double usersPerSecond() const;
};

// "full ranking (all N items, history excluded)" / "sampled (target + 100 unseen items)".
std::string protocolLabel(EvalProtocol p, int negatives = 100, long numItems = 0);
const char* protocolKey(EvalProtocol p);  // "full" | "sampled" (metric names, JSON)
EvalProtocol parseProtocol(const std::string& text);  // throws InvalidConfig

// History before the target: valid sees train = seq[:-2], test sees seq[:-1] (the valid item
// appended, as the original). The teacher truncates to its own window.
RankingMetrics evaluateSplit(const Teacher& teacher, const Dataset& data, EvalSplit split, const EvalOptions& options);
EvalResult evaluateTeacher(const Teacher& teacher, const Dataset& data, const EvalOptions& options);

// The 0-based rank of `target` under the protocol rules, from a full score vector:
// full: among all items except padding and `excluded` (history; the target itself is never
// excluded); sampled: among target + `candidates`. Items with a strictly higher score, plus
// equal-score items with a lower id, rank above (the same tie rule as ranksFromScores).
int64_t rankAmong(const ItemScores& scores, ItemId target, const std::vector<ItemId>& candidates);
int64_t rankFull(const ItemScores& scores, ItemId target, const std::vector<ItemId>& excluded);

// "HR@5 0.1234  HR@10 ...  NDCG@20 ...  MRR ..." on one line.
std::string formatMetrics(const RankingMetrics& m);

}  // namespace recalign::core
