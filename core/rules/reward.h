// Legality and the rule-based reward. Default: the seed's formulas (PAPER.md §3: Scores,
// Scores^ctl, R_item, Scores*, Score^ctl_list, R_list). Option `recai`: the released "NR-20"
// reward (RECLM-GEN §5.3). `item_level = false` zeroes the item rewards (the v3 ablation).
// Every term is kept in the result for the GUI's inspector and `recalign score`. Torch-free.
#pragma once

#include "core/api/experiment.h"
#include "core/rules/parse.h"
#include "core/rules/sample.h"
#include "core/sasrec/teacher.h"

#include <nlohmann/json_fwd.hpp>

#include <string>
#include <vector>

namespace recalign::core {

// Checked in this order; the first that applies wins (RECLM-GEN §3.8).
enum class Legality {
    Legal,
    BeyondCount,   // position ≥ k
    NonExistent,   // no exact catalogue title
    Duplicate,     // the item appeared at an earlier position
    InHistory,     // the item is in the prompt's history window
};
const char* legalityName(Legality l);  // "legal", "beyond_k", "non_existent", "duplicate", "in_history"

// Legality of each position of `items` (0 = unknown title) for sample `s`.
std::vector<Legality> judgeLegality(const std::vector<ItemId>& items, const Sample& s);

// RewardVariant (Paper | Recai) is the experiment's ppo.reward_variant (core/api/experiment.h).
const char* rewardVariantName(RewardVariant v);  // "paper" / "recai"
RewardVariant parseRewardVariant(const std::string& name);  // throws InvalidConfig naming the value

struct RewardOptions {
    RewardVariant variant = RewardVariant::Paper;
    bool item_level = true;  // false: item rewards are 0 (Ours_v3)
    double alpha = 0.5;      // the 0.5 weights of both variants (recai reward_alpha)
};

struct ItemReward {
    int position = 0;               // 0-based
    ItemId item = 0;                // exact item (0 = non-existent)
    std::string title;              // the parsed title
    Legality legality = Legality::Legal;
    bool in_category = false;       // item ∈ C (false without a target category)
    bool is_target = false;
    int64_t rank = -1;              // teacher's 0-based catalogue rank (-1 when not ranked)
    double score = 0;               // paper Scores_i / recai rank_i
    bool has_control = false;       // false for I0-type tasks
    double control = 0;             // paper Scores^ctl_i / recai task_i
    double discounted = 0;          // paper Scores*_i / recai rank_corr_i
    double reward = 0;              // R_item_i (0 when item_level is false)
    int count_in = 0, count_out = 0;  // running legal counts in / out of C, including this item
};

struct RewardResult {
    RewardVariant variant = RewardVariant::Paper;
    bool item_level = true;
    Control control = Control::None;
    int k = 0;
    int category_count = 0;         // cc (task_i, recai L_task)
    double k_times_m = 0;           // k·m (paper I2 list term)
    int category_size = 0;          // |C| (recai +C: T = min(k, |C|))
    int count_in = 0, count_out = 0, legal = 0;
    double sum_discounted = 0;      // paper sum(Scores*) / recai Σ rank_corr
    double normaliser = 1;          // recai B(k); 1 for paper
    double control_list = 0;        // paper Score^ctl_list / recai L_task
    double list_reward = 0;         // R_list
    std::vector<ItemReward> items;

    std::vector<double> itemRewards() const;
    double itemRewardSum() const;
};

// B(K) = Σ_{j<K} 1/log2(j+2)² (recai normaliser).
double recaiNormaliser(int k);

// The reward of a parsed output. `ranks[i]` is the teacher's 0-based catalogue rank of
// items[i] (ignored for illegal items); use rewardForOutput to compute them from scores.
RewardResult computeReward(const Sample& s, const Dataset& data, const std::vector<ItemId>& items,
                           const std::vector<std::string>& titles, const std::vector<int64_t>& ranks,
                           const RewardOptions& options = {});

// Convenience: exact items of the parse, ranks from the teacher's scores for s.history.
RewardResult rewardForOutput(const Sample& s, const Dataset& data, const std::vector<ParsedLine>& parsed,
                             const ItemScores& scores, const RewardOptions& options = {});

nlohmann::json rewardToJson(const RewardResult& r);

}  // namespace recalign::core
