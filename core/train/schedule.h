// Learning-rate schedule (linear warmup, then polynomial decay to an end lr, as HF's
// get_polynomial_decay_schedule_with_warmup), AdamW with weight decay only on >= 2-dim parameters,
// and gradient-norm clipping that reports the norm.
#pragma once

#include <torch/optim/adamw.h>
#include <torch/types.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace recalign::core {

struct LrSchedule {
    double base_lr = 1e-3;    // peak lr, reached at the end of warmup
    double end_lr = 1e-7;     // lr at total_steps and after (HF default lr_end)
    double power = 2.0;       // polynomial power (released code: 2.0; 1.0 = linear)
    long warmup_steps = 0;    // 0 = start at base_lr
    long total_steps = 1;     // optimizer steps of the whole stage

    // lr for the optimizer update with 0-based index `step` (HF LambdaLR semantics: update 0
    // uses factor 0/warmup, i.e. lr 0 when warmup_steps > 0).
    double lrAt(long step) const;
};

// Warmup steps as a fraction of total steps, rounded up (released SFT: 1.25 %).
long warmupFromRatio(long totalSteps, double ratio);

struct AdamWSettings {
    double lr = 1e-3;
    double weight_decay = 0.01;  // applied only to parameters with dim >= 2
    double beta1 = 0.9;
    double beta2 = 0.999;
    double eps = 1e-5;
};

// AdamW over the given trainable parameters (requires_grad only; order kept), in two groups:
// group 0 = dim >= 2 with weight decay, group 1 = the rest without. Empty groups are omitted.
// Throws CoreException(InvalidConfig) when nothing is trainable.
std::unique_ptr<torch::optim::AdamW>
makeAdamW(const std::vector<std::pair<std::string, torch::Tensor>>& namedParams,
          const AdamWSettings& settings);

// Sets the lr of every parameter group.
void setLearningRate(torch::optim::Optimizer& optimizer, double lr);

// Total L2 norm of the gradients of `params` (those with a defined grad); when maxNorm > 0 and
// the norm is finite and above it, scales the gradients by maxNorm / (norm + 1e-6). Returns the
// norm before clipping (may be NaN/Inf: callers check).
double clipGradNorm(const std::vector<torch::Tensor>& params, double maxNorm);

}  // namespace recalign::core
