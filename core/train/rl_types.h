// What an RL trainer exchanges with a task: prompts, generated responses and their per-token
// scores. The recommendation task's implementation is core/train/recommendation_rl.h; tests use
// toy ones. Torch-free.
#pragma once

#include "core/rules/sample.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace recalign::core {

// One prompt of an episode.
struct PpoPrompt {
    std::vector<int32_t> ids;             // BOS + rendered prompt, already truncated
    std::string text;                     // rendered prompt (for sample records)
    std::string task;                     // task name (per-task statistics)
    std::shared_ptr<const Sample> sample; // the rules layer's datum (null for toy prompts)
};

// One generated response, as the reward sees it.
struct PpoResponse {
    size_t prompt = 0;              // index into the iteration's prompts
    bool greedy = false;
    std::vector<int32_t> tokens;    // generated ids, the stop token included
};

// What a reward returns for one response.
struct PpoScore {
    std::vector<float> token_scores;  // per response token (item + list rewards placed); no KL
    double item_reward = 0.0;         // sum of the item rewards
    double list_reward = 0.0;
    int items = 0;                    // parsed items (denominator of the illegal shares)
    int non_exist = 0, repeat = 0, in_history = 0, beyond_k = 0;
    std::string text;                 // decoded response
    std::string details_json;         // the reward breakdown (Observer::onSample)
    // Re-rendered action tokens (the released code's option): when non-empty they replace the
    // sampled tokens for every later log-prob, and token_scores refer to them.
    std::vector<int32_t> actions;
};

// The reward interface: scores a whole rollout at once (teacher calls can be batched).
class PpoReward {
public:
    virtual ~PpoReward() = default;
    virtual std::vector<PpoScore> score(const std::vector<PpoPrompt>& prompts,
                                        const std::vector<PpoResponse>& responses) = 0;
};

}  // namespace recalign::core
