// Device memory figures, synchronisation and names: through c10_cuda / torch_cuda where the
// libtorch has CUDA (RECALIGN_HAVE_CUDA, set by core/runtime/CMakeLists.txt), trivial otherwise.
#include "core/runtime/runtime.h"

#include <torch/cuda.h>

#ifdef RECALIGN_HAVE_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace recalign::core {

namespace {

constexpr double kMiB = 1024.0 * 1024.0;

}  // namespace

DeviceMemory deviceMemory(const torch::Device& device)
{
    DeviceMemory m;
#ifdef RECALIGN_HAVE_CUDA
    if (device.is_cuda()) {
        const auto index = device.has_index() ? device.index() : c10::DeviceIndex(0);
        const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(index);
        // Index 0 is StatType::AGGREGATE (every pool) in torch 1.x and 2.x alike.
        m.available = true;
        m.reserved_mib = static_cast<double>(stats.reserved_bytes[0].current) / kMiB;
        m.peak_reserved_mib = static_cast<double>(stats.reserved_bytes[0].peak) / kMiB;
        m.peak_allocated_mib = static_cast<double>(stats.allocated_bytes[0].peak) / kMiB;
    }
#else
    (void)device;
#endif
    return m;
}

void resetDevicePeakMemory(const torch::Device& device)
{
#ifdef RECALIGN_HAVE_CUDA
    if (device.is_cuda())
        c10::cuda::CUDACachingAllocator::resetPeakStats(device.has_index() ? device.index() : c10::DeviceIndex(0));
#else
    (void)device;
#endif
}

void synchronizeDevice(const torch::Device& device)
{
    if (device.is_cuda())
        torch::cuda::synchronize(device.has_index() ? device.index() : -1);
}

std::string deviceName(const torch::Device& device)
{
#ifdef RECALIGN_HAVE_CUDA
    if (device.is_cuda())
        return at::cuda::getDeviceProperties(device.has_index() ? device.index() : c10::DeviceIndex(0))->name;
#endif
    return device.str();
}

}  // namespace recalign::core
