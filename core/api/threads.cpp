// The thread policy's torch-free part (core/api/info.h); applyThreadPlan is in core/runtime.
#include "core/api/info.h"

#include <algorithm>
#include <cstdlib>
#include <thread>

namespace recalign::core {

std::string ThreadPlan::describe() const
{
    return "torch " + std::to_string(torch_threads) + (torch_threads == 1 ? " thread" : " threads") + ", OpenBLAS "
        + std::to_string(blas_threads);
}

int localCoreBudget()
{
    const int cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
    int processes = 1;
    for (const char* name : {"LOCAL_WORLD_SIZE", "SLURM_NTASKS_PER_NODE"})
        if (const char* v = std::getenv(name); v && std::atoi(v) > 0) {
            processes = std::atoi(v);
            break;
        }
    return std::max(1, cores / processes);
}

ThreadPlan planThreads(int budget, int modelWidth, bool bf16Products)
{
    ThreadPlan plan;
    const int n = budget > 0 ? budget : localCoreBudget();
    if (!bf16Products && modelWidth >= kBlasWidth)
        plan.blas_threads = n;
    else
        plan.torch_threads = n;
    return plan;
}

ThreadPlan planLargeProductThreads(int budget, bool bf16Products)
{
    // Large products split like a wide model's: the width rule at its threshold.
    return planThreads(budget, kBlasWidth, bf16Products);
}

}  // namespace recalign::core
