// Checkpoints hold everything a stage needs to continue exactly (parameters by name, optimizer
// state, schedule step, KL controller, RNG states, data cursor): StateWriter / StateReader
// (core/runtime/state_file.h, safetensors files written atomically). Here: the trainers' PRNG
// and TrainLoop, the small step helper SFT and PPO share (lr schedule, clipping, non-finite
// checks, cancellation, step events).
#pragma once

#include "core/api/observer.h"
#include "core/runtime/state_file.h"
#include "core/train/schedule.h"
#include "core/util/rng.h"

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace recalign::core {

namespace llm {
class LlamaModelImpl;
struct LoraSpec;
}  // namespace llm

// Trainer checkpoints describe the LoRA adapter they hold, so that any intermediate state a run
// kept can be probed like a PEFT folder: "adapter/prefix" (the adapter's tensors are the
// "params" entries whose names start with it: "" for SFT, "actor/" for PPO), "adapter/peft_config"
// (the adapter_config.json text) and "adapter/step" (the optimizer step or PPO iteration).
void putAdapterDescription(StateWriter& w, const std::string& namePrefix, const llm::LoraSpec& spec, long step);
// A checkpoint file that describes an adapter (false for any other file, never throws).
bool describesAdapter(const std::string& path, long* step = nullptr);
// Adds adapter `name` to `model` from such a checkpoint (its spec, then its tensors). Throws
// CoreException(CheckpointIO) naming the file when it holds no adapter description (written
// before they existed, or a full fine-tuning state), when it also trained the LM head (probe the
// stage's exported actor folder instead) or when the tensors do not fit the model.
void importStateAdapter(llm::LlamaModelImpl& model, const std::string& path, const std::string& name);

// The trainers' own PRNG (data sampling, shuffles): core/util/rng.h's 64-bit Mersenne twister,
// whose text state round-trips through checkpoints ("rng/data"), so a resume continues the exact
// stream. setState throws CoreException(CheckpointIO) on bad text.
class TrainRng : public MersenneRng {
public:
    using MersenneRng::MersenneRng;
    // Inclusive bounds; lo (without a draw) when hi <= lo, else uniformIntStd.
    int uniformInt(int lo, int hi) { return hi <= lo ? lo : uniformIntStd(lo, hi); }
};

// What to do when a loss or gradient norm is NaN/Inf.
enum class NonFinitePolicy {
    Stop,       // throw CoreException(Diverged, "... step N ...")
    SkipBatch,  // drop this batch's gradients, log a warning, go on
};

struct TrainLoopConfig {
    std::string stage = "train";  // StepRecord::stage
    LrSchedule schedule;
    double max_grad_norm = 1.0;   // <= 0 = no clipping (the norm is still reported)
    NonFinitePolicy on_non_finite = NonFinitePolicy::Stop;
    // The trainer shards its batches over the job's ranks (core/dist): reduceGradients sums the
    // gradients (each rank's loss is already weighted by its share of the global batch).
    bool data_parallel = false;
};

// The shared optimizer-step helper. Not a framework: the trainers own their loops and call these.
// Called on the worker thread.
class TrainLoop {
public:
    TrainLoop(TrainLoopConfig config, Observer& observer, torch::optim::Optimizer& optimizer,
              std::vector<torch::Tensor> params);

    // Throws CoreException(Cancelled) when the observer asks to stop. Call between steps.
    void checkCancel() const;
    // Checks a loss before backward. Finite: true. Not finite: throws Diverged (Stop) or logs,
    // counts a skipped batch and returns false (SkipBatch).
    bool acceptLoss(double loss);

    struct StepResult {
        bool applied = false;  // false when the batch was skipped (non-finite gradient norm)
        double grad_norm = 0.0;
        double learning_rate = 0.0;
    };
    // Sets the scheduled lr for update `step()` (or for `scheduleIndex` when >= 0: PPO schedules
    // per iteration), clips, steps, zeroes the gradients and counts the step. A non-finite
    // gradient norm follows the non-finite policy.
    StepResult optimizerStep(long scheduleIndex = -1);
    // Data-parallel trainers, before optimizerStep: sums the trainable parameters' gradients (an
    // undefined one counts as zeros) and `stats` (loss sums, token counts, non-finite flags) over
    // the job's ranks in one all-reduce, so every rank clips and steps identically. No-op with one
    // process or when config().data_parallel is false.
    void reduceGradients(std::vector<double>& stats);
    void zeroGrad();
    // Before a checkpoint is written: throws Diverged (naming the parameter and the step) when a
    // trainable tensor holds NaN/Inf, so a bad state never replaces the last good checkpoint.
    void requireFiniteParameters(const std::vector<std::pair<std::string, torch::Tensor>>& named) const;

    long step() const { return m_step; }  // optimizer updates done so far
    void setStep(long step) { m_step = step; }
    long skipped() const { return m_skipped; }
    void setSkipped(long skipped) { m_skipped = skipped; }
    const TrainLoopConfig& config() const { return m_config; }
    // Named in Diverged messages ("the last good checkpoint, '<path>', is intact").
    void setLastCheckpoint(const std::string& path) { m_lastCheckpoint = path; }
    // How Diverged messages name the position ("" = "step <optimizer step + 1>"); PPO names its
    // iteration ("step 3 (PPO iteration)").
    void setStepLabel(const std::string& label) { m_stepLabel = label; }

    // Sends a StepRecord (wall_time filled in).
    void emit(long step, long totalSteps, double epoch,
              std::vector<std::pair<std::string, double>> metrics) const;
    void log(LogLevel level, const std::string& text) const { m_observer.onLog(level, text); }
    Observer& observer() const { return m_observer; }

private:
    TrainLoopConfig m_config;
    Observer& m_observer;
    torch::optim::Optimizer& m_optimizer;
    std::vector<torch::Tensor> m_params;
    long m_step = 0;
    long m_skipped = 0;
    std::string m_lastCheckpoint;
    std::string m_stepLabel;
    [[noreturn]] void diverged(const std::string& what, double value) const;
};

}  // namespace recalign::core
