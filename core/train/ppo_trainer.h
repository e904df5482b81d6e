// PPO from the SFT model (PAPER.md §3, RECLM-GEN §5): policy = base + a new "actor" LoRA,
// reference = the same model with adapters disabled (the SFT adapter is merged into the base
// first, so "disabled" is the SFT policy), critic = a "critic" LoRA + a value head on the last
// hidden state. The value head IS trained (the released code forgot to give it to the optimizer;
// `train_value_head = false` reproduces that). Rollouts: per prompt 1 greedy + n-1 sampled
// responses (KV-cached, batched), optional constrained decoding whose masks are rebuilt for every
// later log-prob. Rewards come through PpoReward (the rules layer's for recommendation, a toy one
// in tests), placed per token, minus eta * KL; GAE; clipped PPO epochs with early stopping.
// Checkpoints after every iteration hold everything needed to resume to the step.
#pragma once

#include "core/api/observer.h"
#include "core/llm/llama_model.h"
#include "core/llm/title_constraint.h"
#include "core/rules/reward.h"
#include "core/train/ppo_math.h"
#include "core/train/sequences.h"
#include "core/train/train_state.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace recalign::core {

class TitleLookup;

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

// The released PPO adapters (RECLM-GEN §5.1): r 4, alpha 2, dropout 0, every linear layer but
// lm_head, A orthogonal (gain sqrt 2), B zeros.
llm::LoraSpec releasedPpoLoraSpec();

struct PpoTrainConfig {
    std::string stage = "ppo";
    // Models. Adapters already on the model (e.g. "sft") are merged into the base first when
    // merge_existing_adapters, so the reference (adapters disabled) is the SFT policy.
    bool merge_existing_adapters = true;
    llm::LoraSpec actor_lora = releasedPpoLoraSpec();   // r 4, alpha 2, dropout 0, every linear but lm_head
    llm::LoraSpec critic_lora = releasedPpoLoraSpec();  // the same
    int value_head_inner = 64;
    bool train_value_head = true;      // false = the released code's untrained head
    bool lm_head_trainable = false;    // true = the released --lm_head_full_tune (the reference drifts)
    // Rollout.
    int prompts_per_batch = 8;
    int samples_per_prompt = 2;        // responses per prompt
    bool first_sample_greedy = true;   // the first response of each prompt is greedy
    double temperature = 0.7;
    int top_k = 20;
    double top_p = 1.0;
    int max_new_tokens = 256;
    const llm::TitleConstraint* constraint = nullptr;  // constrained decoding (null = off)
    // Log-probs use the generation temperature of each row (greedy rows: 1), as TRL; a value
    // > 0 here scores every row at that temperature instead (released code: 1.0).
    double score_temperature = 0.0;
    int forward_batch = 16;            // rows per no-grad scoring forward
    // Rewards.
    double kl_coef = 0.3;              // eta
    KlEstimator kl_estimator = KlEstimator::K1;
    bool adaptive_kl = false;
    double target_kl = 6.0;            // adaptive: target of the per-sequence KL
    double kl_horizon = 10000.0;
    bool whiten_rewards = false;       // released: on (r / std, no mean shift)
    double gamma = 0.99;
    double lambda = 1.0;
    bool whiten_advantages = true;
    // Learning.
    AdamWSettings optim{5e-6, 0.0, 0.9, 0.999, 1e-5};
    long warmup_steps = 50;            // optimizer steps
    double lr_power = 2.0;
    double end_lr = 1e-7;
    int ppo_epochs = 4;
    int mini_batch = 1;                // rows per micro-batch
    int grad_accum = 4;                // micro-batches per optimizer step
    double clip_eps = 0.2;
    double value_clip = 0.2;           // <= 0 = no value clipping
    double vf_coef = 0.1;
    double ent_coef = 0.01;
    double policy_kl_threshold = 0.05; // stop the PPO epochs when the epoch's mean policy KL exceeds it (<= 0 = off)
    double grad_clip = 0.5;
    NonFinitePolicy on_non_finite = NonFinitePolicy::Stop;
    // Schedule of the run.
    int episodes = 2;                  // passes over the prompts
    long max_iterations = 0;           // 0 = episodes x batches per episode
    uint64_t seed = 0;
    // Reporting and checkpoints.
    int samples_per_iteration = 2;     // Observer::onSample records per iteration
    std::string output_dir;            // "" = no checkpoints
    long checkpoint_every = 1;         // iterations (0 = only at the end)
    bool resume = true;                // continue from output_dir/ppo_state.pt when present
    bool checkpoint_on_cancel = true;
    long validate_every = 0;           // iterations (0 = never); needs a validator
};

// Validation callback: returns a score (higher is better, e.g. mean list reward) and metrics.
using PpoValidator = std::function<double(llm::LlamaModelImpl& model, long iteration,
                                          std::vector<std::pair<std::string, double>>& metrics)>;

// The recommendation validator (RECLM-GEN §6.3): greedy generation with the actor on validation
// samples (e.g. buildEvalSuite over rlValidationTasks()); score = the mean list reward (the
// released selection metric); metrics val/list_reward, val/item_reward, val/hr, val/ndcg and
// val/<task>/list_reward. `options.generation` is forced to greedy under the "actor" adapter.
PpoValidator recommendationValidator(const Tokenizer& tokenizer, const Dataset& data, const Teacher& teacher,
                                     const TitleLookup& lookup, std::vector<Sample> samples, RewardOptions reward,
                                     GenerationEvalOptions options, Observer& observer);

struct PpoResult {
    long iterations = 0;
    long optimizer_steps = 0;
    bool early_stopped_any = false;
    double last_reward_mean = 0.0;
    double best_validation = -1e300;
    long best_iteration = 0;
    std::string checkpoint_path;
    double rollout_seconds = 0.0;      // totals over this run
    double learn_seconds = 0.0;
};

class PpoTrainer {
public:
    // `episodePrompts(e)` returns the prompts of episode e (deterministic in e: resume rebuilds it).
    // The model is modified: adapters merged, "actor" and "critic" added. Called on the worker thread.
    // `tokenizer` may be null (toy tasks): pad id 0 and no text decoding.
    PpoTrainer(llm::LlamaModelImpl& model, const Tokenizer* tokenizer, PpoTrainConfig config,
               std::function<std::vector<PpoPrompt>(int episode)> episodePrompts,
               PpoReward& reward, Observer& observer);
    ~PpoTrainer();

    void setValidator(PpoValidator validator) { m_validator = std::move(validator); }
    // Runs to the end (or to max_iterations). Throws CoreException (Cancelled, Diverged, ...).
    PpoResult run();

    // Loads the best validated weights (output_dir/best/ppo_best.pt: actor, critic, value head,
    // lm_head when trainable) into the model; false when there is none.
    bool restoreBest();
    ValueHeadImpl& valueHead();
    const PpoTrainConfig& config() const { return m_config; }
    std::string checkpointPath() const;

private:
    struct Impl;
    std::unique_ptr<Impl> m;
    PpoTrainConfig m_config;
    PpoValidator m_validator;
};

}  // namespace recalign::core
