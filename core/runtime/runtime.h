// Torch runtime glue: device resolution, thread count, seeding. Included only by torch TUs.
#pragma once

#include "core/api/device.h"

#include <torch/types.h>

#include <cstdint>

namespace recalign::core {

// Maps a DeviceSpec to a torch::Device ("auto" = cuda when available, else cpu). Throws
// CoreException(InvalidConfig) when CUDA is requested but unavailable.
torch::Device resolveDevice(const DeviceSpec& spec);
torch::Device resolveDevice(const std::string& text);

// Seeds torch's CPU (and CUDA) generators. The single place a run's seed reaches torch.
void seedTorch(uint64_t seed);

// Sets torch's intra-op threads once, at program start (0 = leave torch's default).
void setTorchThreads(int threads);

}  // namespace recalign::core
