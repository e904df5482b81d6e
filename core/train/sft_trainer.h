// Supervised fine-tuning (RECLM-GEN §4): LoRA on the configured linear layers (or full
// fine-tuning), AdamW with decay on matrices only, warmup + polynomial decay, gradient clipping and
// accumulation, loss on the reply tokens only (mean per sample, then over samples), prompts
// left-truncated and replies right-truncated; a fresh task mixture per epoch from the rules layer;
// validation by greedy generation on held-out users with the rules layer's metrics; the best
// adapter kept by the configured metric; checkpoints that resume to the step.
#pragma once

#include "core/api/experiment.h"
#include "core/api/observer.h"
#include "core/llm/llama_model.h"
#include "core/rules/builders.h"
#include "core/train/schedule.h"
#include "core/train/sequences.h"
#include "core/train/train_state.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace recalign::core {

class TitleLookup;

// The trainer's settings: the experiment's `sft:` section as it is (one default per key: the
// schema's; sft.selection_metric picks the kept checkpoint: mean validation NDCG / HR over the
// tasks, or the last), plus what the run decides and internal knobs that are not experiment keys.
// The LoRA A init is drawn from mixSeed(seed, 0x5F7).
struct SftTrainConfig {
    SftConfig hyper = defaultExperiment().sft;  // sft.* (LoRA, optimiser, schedule, batch, lengths, validation users)
    std::string stage = "sft";
    std::string adapter = "sft";
    llm::ChatTemplate chat_template = llm::ChatTemplate::Llama2;
    uint64_t seed = 0;                     // data order of the trainer's own draws; torch is seeded by the caller
    // Data: the rules layer's epoch builder (mix v1 / v2 / palr, task options, I4 conversations);
    // its share_gpt_ratio is taken from hyper.share_chat_ratio.
    SftOptions data;
    long max_steps = 0;                    // > 0: stop after this many optimizer steps
    NonFinitePolicy on_non_finite = NonFinitePolicy::Stop;
    // Validation (RECLM-GEN §4.3, §6.3): hyper.val_users_per_task disjoint consecutive slices of
    // users (0 = no validation unless setValidationSamples gave samples).
    std::vector<EvalTask> val_tasks;       // empty = I0, I1 +C, I1 -C, I2 LP1_20
    int val_every_epochs = 1;              // 0 = never (by epochs)
    long val_every_steps = 0;              // > 0: also every n optimizer steps
    int val_batch = 16;
    int val_max_new_tokens = 0;            // 0 = hyper.max_output_tokens
    bool val_fuzzy = true;                 // vague mapping in the metrics (released: on)
    bool load_best_at_end = true;          // leave the best adapter's weights in the model
    // Checkpoints.
    std::string output_dir;                // "" = none
    long checkpoint_every = 0;             // optimizer steps (0 = at the end of each epoch only)
    bool resume = true;                    // continue from output_dir/sft_state.safetensors when present
    bool checkpoint_on_cancel = true;
    int log_every = 1;                     // step events every n optimizer steps
};

struct SftResult {
    long steps = 0;
    int epochs_done = 0;
    double last_loss = 0.0;
    double best_metric = -1.0;
    long best_step = 0;
    std::string best_dir;                  // PEFT folder (LoRA) or model folder (full fine-tuning)
    std::vector<TaskMetrics> last_validation;
    double tokens_per_second = 0.0;        // reply + prompt tokens through the model per second
};

// One padded training micro-batch.
struct SftBatch {
    PackedSequences packed;  // prompts + replies
    long reply_tokens = 0;
    long tokens = 0;
    long rows = 0;
};
// Tokenises samples for SFT (encodePrompt / encodeReply with the config's limits) and packs them.
SftBatch makeSftBatch(const std::vector<const Sample*>& samples, const Tokenizer& tokenizer,
                      const SftTrainConfig& config, const torch::Device& device);
// The same samples in sub-batches by length (shortest first), each padded to its own longest
// row: with each sub-batch's loss weighted by its share of the rows, the loss and gradient of one
// batch with less padding. The split minimises planLengthGroups' cost for `model`'s shapes.
std::vector<SftBatch> makeSftSubBatches(const std::vector<const Sample*>& samples, const Tokenizer& tokenizer,
                                        const SftTrainConfig& config, const llm::LlamaConfig& model,
                                        const torch::Device& device);
// The SFT loss of a batch under the active adapter: per-sample mean cross-entropy over reply
// tokens, then the mean over samples. Returns a 0-dim differentiable tensor.
// `checkpointLayers`: gradient checkpointing (sft.gradient_checkpointing).
torch::Tensor sftLoss(llm::LlamaModelImpl& model, const SftBatch& batch, bool checkpointLayers = false);

class SftTrainer {
public:
    // `teacher` may be null for the PALR mix. Sources default to the rules layer's builders;
    // tests may override them. Called on the worker thread.
    SftTrainer(llm::LlamaModelImpl& model, const Tokenizer& tokenizer, const Dataset& data,
               const Teacher* teacher, const TitleLookup& lookup, SftTrainConfig config, Observer& observer);
    ~SftTrainer();

    // Samples of epoch e (default: buildSftEpoch(data, teacher, config.data, e)). Must be
    // deterministic in e: resume rebuilds the epoch.
    void setEpochSource(std::function<std::vector<Sample>(int epoch)> source);
    // Validation samples (default: buildEvalSuite on the Valid split with disjoint user slices).
    void setValidationSamples(std::vector<Sample> samples);

    SftResult run();  // throws CoreException (Cancelled, Diverged, CheckpointIO, InvalidConfig)
    // Generation-based validation with the current weights.
    GenerationEvalResult validate(long step);
    std::string checkpointPath() const;

private:
    // Validates, emits the val/* metrics and keeps the best weights by sft.selection_metric.
    void validateAndKeep(long step, double epochPos, long totalSteps, SftResult& result);

    struct Impl;
    std::unique_ptr<Impl> m;
};

}  // namespace recalign::core
