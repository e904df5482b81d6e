// Two torch-free reference recommenders used to check that a dataset carries sequential signal
// (`recalign bench data`): most-popular, and an item-to-item transition model (counts of
// consecutive pairs a → b in the training sequences, scored from the last history item, ties
// broken by popularity). Full-ranking evaluation on the leave-one-out targets.
#pragma once

#include "core/data/dataset.h"

#include <string>

namespace recalign::core {

struct RankingMetrics {
    double hr = 0;    // HR@k: share of users whose target is in the top k
    double ndcg = 0;  // NDCG@k with one relevant item: 1 / log2(rank + 2)
    long users = 0;   // users evaluated (those with valid/test targets)
    int k = 10;
};

enum class EvalTarget { Valid, Test };

// Statistics come from the training sequences only (seq[:-2]). Every item is ranked; the items
// of the user's history (everything before the target) are excluded from the ranking.
RankingMetrics evaluateMostPopular(const Dataset& data, EvalTarget target = EvalTarget::Test, int k = 10);
RankingMetrics evaluateTransition(const Dataset& data, EvalTarget target = EvalTarget::Test, int k = 10);

}  // namespace recalign::core
