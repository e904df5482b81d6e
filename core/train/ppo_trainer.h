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

#include "core/api/experiment.h"
#include "core/api/observer.h"
#include "core/llm/llama_model.h"
#include "core/llm/title_constraint.h"
#include "core/train/ppo_math.h"
#include "core/train/rl_types.h"
#include "core/train/sequences.h"
#include "core/train/train_state.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace recalign::core {

// The adapters the trainer adds: the policy being trained and the critic's.
inline constexpr const char* kPpoActorAdapter = "actor";
inline constexpr const char* kPpoCriticAdapter = "critic";

// The trainer's settings: the experiment's `ppo:` section as it is (one struct, one default per
// key: the schema's), plus what the run decides at run time and a few internal knobs that are
// not experiment keys.
struct PpoTrainConfig {
    PpoConfig hyper = defaultExperiment().ppo;  // ppo.* (LoRA specs, rollout, KL, GAE, losses, schedule)
    std::string stage = "ppo";
    uint64_t seed = 0;                 // the run's seed; LoRA A inits use seed + 1 (actor), seed + 2 (critic)
    int max_new_tokens = 256;          // response length (the pipeline passes sft.max_output_tokens)
    const llm::TitleConstraint* constraint = nullptr;  // constrained decoding (null = off)
    std::string output_dir;            // "" = no checkpoints
    // Internal knobs (no experiment key; the values are the released code's).
    // Adapters already on the model (e.g. "sft") become part of the reference (adapters disabled
    // = the SFT policy): stacked beneath the actor's and the critic's (the default: the base is not
    // touched, so a bf16 base keeps the SFT update exactly), or merged into a float32 base when
    // merge_existing_adapters.
    bool merge_existing_adapters = false;
    int value_head_inner = 64;
    bool first_sample_greedy = true;   // the first response of each prompt is greedy
    // Log-probs use the generation temperature of each row (greedy rows: 1), as TRL; a value
    // > 0 here scores every row at that temperature instead (released code: 1.0).
    double score_temperature = 0.0;
    int forward_batch = 16;            // rows per no-grad scoring forward
    double lr_power = 2.0;             // polynomial decay after warm-up
    double end_lr = 1e-7;
    int mini_batch = 1;                // rows per micro-batch
    NonFinitePolicy on_non_finite = NonFinitePolicy::Stop;
    int samples_per_iteration = 2;     // Observer::onSample records per iteration
    long checkpoint_every = 1;         // iterations (0 = only at the end)
    bool resume = true;                // continue from output_dir/ppo_state.safetensors when present
    bool checkpoint_on_cancel = true;
};

// Validation callback: returns a score (higher is better, e.g. mean list reward) and metrics.
using PpoValidator = std::function<double(llm::LlamaModelImpl& model, long iteration,
                                          std::vector<std::pair<std::string, double>>& metrics)>;

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

    // Loads the best validated weights (output_dir/best/ppo_best.safetensors: actor, critic, value head,
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
