// The recommendation task as the RL trainer sees it: prompts of an episode (the rules layer's RL
// samples, tokenised), the rule-based reward (PAPER.md §3 or the released NR-20) placed on
// tokens, and the validator (greedy lists on the RL validation tasks).
#pragma once

#include "core/rules/reward.h"
#include "core/train/ppo_trainer.h"
#include "core/train/rl_types.h"
#include "core/train/sequences.h"

#include <string>
#include <vector>

namespace recalign::core {

class TitleLookup;

// The rules layer's reward (PAPER.md §3 or the released NR-20): parse the reply, judge legality,
// score with the teacher, place item rewards on each item's terminating token and the list reward
// on the final token.
class RecommendationReward : public PpoReward {
public:
    RecommendationReward(const Dataset& data, const Teacher& teacher, const TitleLookup& lookup,
                         const Tokenizer& tokenizer, RewardOptions options, bool rerenderActions = false);
    std::vector<PpoScore> score(const std::vector<PpoPrompt>& prompts,
                                const std::vector<PpoResponse>& responses) override;

private:
    const Dataset& m_data;
    const Teacher& m_teacher;
    const TitleLookup& m_lookup;
    const Tokenizer& m_tokenizer;
    RewardOptions m_options;
    bool m_rerender;
};

// RL prompts of one episode from the rules layer (buildRlPrompts), tokenised.
std::vector<PpoPrompt> recommendationPrompts(const std::vector<Sample>& samples, const Tokenizer& tokenizer,
                                             llm::ChatTemplate tmpl, int maxPromptTokens);

// The recommendation validator (RECLM-GEN §6.3): greedy generation with the actor on validation
// samples (e.g. buildEvalSuite over rlValidationTasks()); score = the mean list reward (the
// released selection metric); metrics val/list_reward, val/item_reward, val/hr, val/ndcg and
// val/<task>/list_reward. `options.generation` is forced to greedy under the "actor" adapter.
PpoValidator recommendationValidator(const Tokenizer& tokenizer, const Dataset& data, const Teacher& teacher,
                                     const TitleLookup& lookup, std::vector<Sample> samples, RewardOptions reward,
                                     GenerationEvalOptions options, Observer& observer);

}  // namespace recalign::core
