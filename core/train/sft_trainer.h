// Supervised fine-tuning (RECLM-GEN §4): LoRA on the configured linear layers (or full
// fine-tuning), AdamW with decay on matrices only, warmup + polynomial decay, gradient clipping and
// accumulation, loss on the reply tokens only (mean per sample, then over samples), prompts
// left-truncated and replies right-truncated; a fresh task mixture per epoch from the rules layer;
// validation by greedy generation on held-out users with the rules layer's metrics; the best
// adapter kept by the configured metric; checkpoints that resume to the step.
#pragma once

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

enum class SftSelection { Ndcg, Hr, Last };  // best checkpoint: mean NDCG / mean HR over tasks, or the last

// The released SFT adapter (RECLM-GEN §4.1): r 16, alpha 8, dropout 0.1, every linear layer
// including lm_head, A orthogonal (gain sqrt 2), B zeros.
llm::LoraSpec releasedSftLoraSpec();

struct SftTrainConfig {
    std::string stage = "sft";
    // Model.
    bool full_finetune = false;            // train every base parameter instead of an adapter
    std::string adapter = "sft";
    llm::LoraSpec lora = releasedSftLoraSpec();
    llm::ChatTemplate chat_template = llm::ChatTemplate::Llama2;
    // Optimisation (RECLM-GEN §4.2).
    AdamWSettings optim;                   // lr 1e-3, weight decay 0.01 on matrices, eps 1e-5
    double warmup_ratio = 0.0125;          // of the total optimizer steps
    double lr_power = 2.0;
    double end_lr = 1e-7;
    double grad_clip = 1.0;                // <= 0 = off
    int batch = 1;                         // samples per micro-batch
    int grad_accum = 64;                   // micro-batches per optimizer step
    int epochs = 40;
    long max_steps = 0;                    // > 0: stop after this many optimizer steps
    int max_prompt_tokens = 512;           // left truncation
    int max_output_tokens = 512;           // right truncation (EOS included)
    NonFinitePolicy on_non_finite = NonFinitePolicy::Stop;
    uint64_t seed = 0;                     // data order of the trainer's own draws; torch is seeded by the caller
    // Data: the rules layer's epoch builder options (mix v1 / v2 / palr, ShareGPT ratio, seed).
    SftOptions data;
    // Validation (RECLM-GEN §4.3, §6.3).
    std::vector<EvalTask> val_tasks;       // empty = I0, I1 +C, I1 -C, I2 LP1_20
    long val_users_per_task = 320;         // disjoint consecutive slices of users; 0 = no validation
                                           // (unless setValidationSamples gave samples)
    int val_every_epochs = 1;              // 0 = never (by epochs)
    long val_every_steps = 0;              // > 0: also every n optimizer steps
    int val_batch = 16;
    int val_max_new_tokens = 256;
    bool val_fuzzy = true;                 // vague mapping in the metrics (released: on)
    SftSelection selection = SftSelection::Ndcg;
    bool load_best_at_end = true;          // leave the best adapter's weights in the model
    // Checkpoints.
    std::string output_dir;                // "" = none
    long checkpoint_every = 0;             // optimizer steps (0 = at the end of each epoch only)
    bool resume = true;                    // continue from output_dir/sft_state.pt when present
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
};
// Tokenises samples for SFT (encodePrompt / encodeReply with the config's limits) and packs them.
SftBatch makeSftBatch(const std::vector<const Sample*>& samples, const Tokenizer& tokenizer,
                      const SftTrainConfig& config, const torch::Device& device);
// The SFT loss of a batch under the active adapter: per-sample mean cross-entropy over reply
// tokens, then the mean over samples. Returns a 0-dim differentiable tensor.
torch::Tensor sftLoss(llm::LlamaModelImpl& model, const SftBatch& batch);

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
    struct Impl;
    std::unique_ptr<Impl> m;
};

}  // namespace recalign::core
