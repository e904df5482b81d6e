// Torch runtime glue: device resolution, thread count, seeding. Included only by torch TUs.
#pragma once

#include "core/api/device.h"

#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace recalign::core {

// Maps a DeviceSpec to a torch::Device ("auto" = cuda when available, else cpu). Throws
// CoreException(InvalidConfig) when CUDA is requested but unavailable.
torch::Device resolveDevice(const DeviceSpec& spec);
torch::Device resolveDevice(const std::string& text);

// Seeds torch's CPU (and CUDA) generators. The single place a run's seed reaches torch.
void seedTorch(uint64_t seed);

// Process-wide thread settings: setComputeThreads (torch's intra-op pool and OpenBLAS's own) is
// declared in core/api/info.h, so that torch-free callers reach it too.

// Sets OpenBLAS's own thread count for the guard's lifetime and restores the previous count at
// the end. Nothing happens without OpenBLAS, with threads <= 0, or when the count is already
// `threads`. Used while BLAS would fight another pool: SASRec training with several torch threads
// (measured on 2 cores: 0.57-0.81 s/epoch with torch 2 + BLAS 1, 3-23 s/epoch with torch 2 +
// BLAS 2) and the CPU decoder's row threads.
// OpenBLAS's own thread count (0 when OpenBLAS is not the loaded BLAS).
int openBlasThreadCount();

class ScopedBlasThreads {
public:
    explicit ScopedBlasThreads(int threads);
    ~ScopedBlasThreads();
    ScopedBlasThreads(const ScopedBlasThreads&) = delete;
    ScopedBlasThreads& operator=(const ScopedBlasThreads&) = delete;

private:
    int m_previous = 0;  // > 0: the count to restore
};

// Sets torch's intra-op threads and OpenBLAS's own for the guard's lifetime and restores both at
// the end (a count <= 0, or the current one, leaves that pool alone).
class ScopedComputeThreads {
public:
    ScopedComputeThreads(int torchThreads, int blasThreads);
    ~ScopedComputeThreads();
    ScopedComputeThreads(const ScopedComputeThreads&) = delete;
    ScopedComputeThreads& operator=(const ScopedComputeThreads&) = delete;

private:
    ScopedBlasThreads m_blas;
    int m_torchPrevious = 0;  // > 0: the count to restore
};

// planLargeProductThreads (core/api/info.h) for the guard's lifetime, on the CPU (nothing on
// another device): the budget is the one in force, the larger of torch's and OpenBLAS's counts.
// Held around training passes of large products (pre-training's steps, SFT's micro-batches).
class ScopedLargeProductThreads {
public:
    ScopedLargeProductThreads(const torch::Device& device, bool float32Products);
    ScopedLargeProductThreads(const ScopedLargeProductThreads&) = delete;
    ScopedLargeProductThreads& operator=(const ScopedLargeProductThreads&) = delete;

private:
    std::optional<ScopedComputeThreads> m_scope;
};

// Two independent pieces of work at once, `first` on this thread and `second` on a helper thread,
// when `parallel`; one after the other otherwise (runTasks with two tasks, below: first's
// exception before second's; second does not start after first failed). Callers make the pieces
// independent (separate outputs and gradients, no draws from a shared generator) and usually hold
// ScopedComputeThreads(1, 1) around a phase of such pairs.
void runPair(bool parallel, const std::function<void()>& first, const std::function<void()>& second);

// Tasks 0 .. n-1, each taken by whichever of `workers` threads (this one and workers - 1 helpers)
// is free first, so that tasks of unequal size keep every thread busy (task 0 on this thread); in
// order on this thread when workers <= 1. Helpers run under this thread's grad mode. Tasks are taken in index order and none is
// taken after one failed; the exception of the lowest failed task is rethrown once the running
// ones finished. The same conditions as runPair: tasks write separate outputs and draw from no
// shared generator.
void runTasks(int workers, size_t n, const std::function<void(size_t)>& task);

// The CUDA caching allocator's figures for a device, in MiB (what torch.cuda.memory_reserved,
// max_memory_reserved and max_memory_allocated report). available = false (all zeros) on the CPU
// and in a build against a libtorch without CUDA. core/runtime/device_stats.cpp.
struct DeviceMemory {
    bool available = false;
    double reserved_mib = 0.0;
    double peak_reserved_mib = 0.0;
    double peak_allocated_mib = 0.0;
};
DeviceMemory deviceMemory(const torch::Device& device);
// Starts the peaks afresh (torch.cuda.reset_peak_memory_stats); nothing on the CPU.
void resetDevicePeakMemory(const torch::Device& device);
// Waits for the device's queued work (timings of CUDA work need it); nothing on the CPU.
void synchronizeDevice(const torch::Device& device);
// The device's name as its driver gives it ("NVIDIA H100 80GB HBM3"); "cpu" on the CPU.
std::string deviceName(const torch::Device& device);

}  // namespace recalign::core
