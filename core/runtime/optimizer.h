// The optimizer step: AdamW's update in one pass per parameter.
#pragma once

#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include <sstream>
#include <string>
#include <type_traits>

namespace recalign::core {

// The key of a parameter in an optimizer's state map: a string in torch 1.x (what its
// c10::guts::to_string writes, gone in 2.x), the TensorImpl pointer itself in torch 2.x.
template <typename Map>
auto optimizerStateKey(const Map&, const torch::Tensor& p)
{
    using Key = typename std::decay_t<Map>::key_type;
    if constexpr (std::is_same_v<Key, std::string>) {
        std::ostringstream s;
        s << p.unsafeGetTensorImpl();
        return s.str();
    } else {
        return static_cast<Key>(p.unsafeGetTensorImpl());
    }
}

// optimizer.step(), for AdamW (without amsgrad) over contiguous float32 CPU parameters and
// gradients as one loop per parameter: the decoupled weight decay, both moments, the bias
// corrections and the update of torch's AdamW::step in one pass over the value, the gradient and
// the moments, instead of nine operators each (PPO's ~100 small LoRA tensors spent ~3 ms a step
// in operator calls). The moments live in the optimizer's own state (torch's AdamWParamState),
// so checkpoints and a later torch step see them as before. Anything else: optimizer.step().
void stepOptimizer(torch::optim::Optimizer& optimizer);

}  // namespace recalign::core
