// The optimizer step: AdamW's update in one pass per parameter.
#include "core/runtime/optimizer.h"

#include <torch/optim/adamw.h>

#include <cmath>
#include <memory>

namespace recalign::core {

namespace {

bool fusable(const torch::Tensor& t)
{
    return t.defined() && t.is_cpu() && t.scalar_type() == torch::kFloat && t.is_contiguous() && !t.is_sparse();
}

}  // namespace

void stepOptimizer(torch::optim::Optimizer& optimizer)
{
    auto& state = optimizer.state();
    bool fused = !optimizer.param_groups().empty();
    for (auto& group : optimizer.param_groups()) {
        const auto* o = dynamic_cast<const torch::optim::AdamWOptions*>(&group.options());
        fused = fused && o && !o->amsgrad();
        for (const auto& p : group.params()) {
            if (!fused || !p.grad().defined())
                continue;
            fused = fusable(p) && fusable(p.grad()) && p.grad().numel() == p.numel();
            const auto it = state.find(optimizerStateKey(state, p));
            if (fused && it != state.end()) {
                const auto& s = static_cast<const torch::optim::AdamWParamState&>(*it->second);
                fused = fusable(s.exp_avg()) && fusable(s.exp_avg_sq()) && s.exp_avg().numel() == p.numel()
                    && s.exp_avg_sq().numel() == p.numel();
            }
        }
    }
    if (!fused) {
        optimizer.step();
        return;
    }
    torch::NoGradGuard noGrad;
    for (auto& group : optimizer.param_groups()) {
        const auto& o = static_cast<const torch::optim::AdamWOptions&>(group.options());
        const double lr = o.lr(), beta1 = std::get<0>(o.betas()), beta2 = std::get<1>(o.betas());
        for (auto& p : group.params()) {
            if (!p.grad().defined())
                continue;
            const auto key = optimizerStateKey(state, p);
            auto it = state.find(key);
            if (it == state.end()) {
                auto fresh = std::make_unique<torch::optim::AdamWParamState>();
                fresh->step(0);
                fresh->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
                fresh->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
                state[key] = std::move(fresh);
                it = state.find(key);
            }
            auto& s = static_cast<torch::optim::AdamWParamState&>(*it->second);
            s.step(s.step() + 1);
            const double correction1 = 1.0 - std::pow(beta1, static_cast<double>(s.step()));
            const double correction2 = 1.0 - std::pow(beta2, static_cast<double>(s.step()));
            // torch's scalars, as its operators receive them (cast to float).
            const auto decay = static_cast<float>(1.0 - lr * o.weight_decay());
            const auto b1 = static_cast<float>(beta1), a1 = static_cast<float>(1.0 - beta1);
            const auto b2 = static_cast<float>(beta2), a2 = static_cast<float>(1.0 - beta2);
            const auto root2 = static_cast<float>(std::sqrt(correction2));
            const auto eps = static_cast<float>(o.eps());
            const auto stepSize = static_cast<float>(-lr / correction1);
            const bool decays = o.weight_decay() != 0.0;
            float* w = p.data_ptr<float>();
            const float* g = p.grad().data_ptr<float>();
            float* m = s.exp_avg().data_ptr<float>();
            float* v = s.exp_avg_sq().data_ptr<float>();
            const int64_t n = p.numel();
            for (int64_t i = 0; i < n; ++i) {
                const float x = decays ? w[i] * decay : w[i];
                m[i] = m[i] * b1 + a1 * g[i];
                v[i] = v[i] * b2 + a2 * g[i] * g[i];
                w[i] = x + stepSize * (m[i] / (std::sqrt(v[i]) / root2 + eps));
            }
        }
    }
}

}  // namespace recalign::core
