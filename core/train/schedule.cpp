// Learning-rate schedule, AdamW parameter groups and gradient clipping.
#include "core/train/schedule.h"

#include "core/api/error.h"

#include <algorithm>
#include <cmath>

namespace recalign::core {

double LrSchedule::lrAt(long step) const
{
    if (base_lr <= 0.0)
        return 0.0;
    if (step < warmup_steps)
        return base_lr * static_cast<double>(step) / static_cast<double>(std::max(1L, warmup_steps));
    if (step > total_steps)
        return end_lr;
    const double decaySteps = static_cast<double>(std::max(1L, total_steps - warmup_steps));
    const double remaining = 1.0 - static_cast<double>(step - warmup_steps) / decaySteps;
    return (base_lr - end_lr) * std::pow(std::max(0.0, remaining), power) + end_lr;
}

long warmupFromRatio(long totalSteps, double ratio)
{
    if (ratio <= 0.0)
        return 0;
    return static_cast<long>(std::ceil(static_cast<double>(totalSteps) * ratio));
}

std::unique_ptr<torch::optim::AdamW>
makeAdamW(const std::vector<std::pair<std::string, torch::Tensor>>& namedParams,
          const AdamWSettings& settings)
{
    std::vector<torch::Tensor> decay;
    std::vector<torch::Tensor> noDecay;
    for (const auto& [name, p] : namedParams) {
        if (!p.requires_grad())
            continue;
        (p.dim() >= 2 ? decay : noDecay).push_back(p);
    }
    if (decay.empty() && noDecay.empty())
        throw CoreException(ErrorCode::InvalidConfig,
                            "the optimizer has no trainable parameters (check the LoRA target "
                            "modules or the full fine-tuning option)");
    auto options = [&](double wd) {
        return std::make_unique<torch::optim::AdamWOptions>(
            torch::optim::AdamWOptions(settings.lr)
                .betas({settings.beta1, settings.beta2})
                .eps(settings.eps)
                .weight_decay(wd));
    };
    std::vector<torch::optim::OptimizerParamGroup> groups;
    if (!decay.empty())
        groups.emplace_back(decay, options(settings.weight_decay));
    if (!noDecay.empty())
        groups.emplace_back(noDecay, options(0.0));
    return std::make_unique<torch::optim::AdamW>(std::move(groups),
                                                 torch::optim::AdamWOptions(settings.lr));
}

void setLearningRate(torch::optim::Optimizer& optimizer, double lr)
{
    for (auto& group : optimizer.param_groups())
        group.options().set_lr(lr);
}

double clipGradNorm(const std::vector<torch::Tensor>& params, double maxNorm)
{
    torch::NoGradGuard noGrad;
    std::vector<torch::Tensor> grads;
    for (const auto& p : params)
        if (p.grad().defined())
            grads.push_back(p.grad());
    if (grads.empty())
        return 0.0;
    // One reduction per gradient (in float64) and one over their norms: PPO's LoRA steps have
    // ~100 small gradients, and a chain of casts, squares and sums for each cost ~900 operator
    // calls per step.
    std::vector<torch::Tensor> norms;
    norms.reserve(grads.size());
    for (const auto& g : grads)
        norms.push_back(torch::linalg_vector_norm(g, 2, c10::nullopt, false, torch::kFloat64));
    const double norm = torch::stack(norms).norm().item<double>();
    if (maxNorm > 0.0 && std::isfinite(norm) && norm > maxNorm) {
        const double coef = maxNorm / (norm + 1e-6);
        for (auto& g : grads)
            g.mul_(coef);
    }
    return norm;
}

}  // namespace recalign::core
