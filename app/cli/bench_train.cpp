// `recalign bench train`: SFT throughput (tokens/s) and PPO seconds per iteration, split into
// rollout (generation + reward + scoring forwards) and learning, for the quickstart-size model
// (experiments/quickstart.yaml: dim 64, 4 layers, 4 heads, compact chat template, a 512-piece BPE
// tokenizer trained on the catalogue, synthetic data with 200 items and 300 users). The model is
// randomly initialised: throughput does not depend on pre-training.
#include "app/cli/command.h"

#include "core/api/llm_tools.h"

#include <iostream>

namespace recalign::cli {

namespace bench_train_detail {

const char* const kUsage =
    "usage: recalign bench train [--sft-steps N] [--ppo-iterations N] [--threads N] [--dim N]\n"
    "                            [--layers N] [--heads N] [--batch N] [--max-new-tokens N]\n"
    "                            [--device cpu|cuda|cuda:N|auto] [--compute-dtype float32|bfloat16|auto]\n"
    "                            [--gradient-checkpointing]\n"
    "                            [--json OUT] [--compare BASELINE.json] [--nproc N]\n"
    "  SFT tokens/s (full fine-tuning, batch 16, prompts <= 320 and replies <= 160 tokens) and PPO\n"
    "  seconds per iteration (8 prompts x 2 responses, 2 PPO epochs, micro-batch 1, grad-accum 2),\n"
    "  rollout vs learning, on the quickstart-size model (random weights). --threads: the thread\n"
    "  budget (default: the cores), split between torch and OpenBLAS as a run splits it.\n"
    "  --device: where the model trains (default cpu). --compute-dtype: the matrix products' dtype\n"
    "  (model.compute_dtype; default float32). --gradient-checkpointing: recompute each decoder\n"
    "  layer in the backward pass (SFT and PPO). First the machine (CPU, SIMD, BLAS core,\n"
    "  allocator) and its matmul rate at the model's GEMM shapes in float32 and bfloat16; SFT's\n"
    "  GFLOP/s is given as a share of the rate in the dtype used. --json writes the figures;\n"
    "  --compare prints this run's ratios to an earlier --json file (with both machines' matmul\n"
    "  rates). --nproc N: the same as 1 process and then as N data-parallel processes (c10d Gloo)\n"
    "  at the same global batches: SFT tokens/s, scaling efficiency, all-reduce time per step and\n"
    "  PPO s/iteration (give --threads 1 for N x 1 thread vs 1 x 1 thread).";

int run(const std::vector<std::string>& args)
{
    const Args a(args,
                 {"sft-steps", "ppo-iterations", "threads", "dim", "layers", "heads", "batch", "max-new-tokens", "device",
                  "compute-dtype", "json", "compare", "nproc"},
                 {"help", "gradient-checkpointing"});
    if (a.has("help")) {
        std::cout << kUsage << "\n";
        return 0;
    }
    if (a.has("nproc")) {
        // The same benchmark (SFT only) as 1 process and as N, each a worker of this command.
        const long n = a.getInt("nproc", 2);
        if (n < 2 || n > 64)
            throw std::invalid_argument("--nproc expects 2 to 64 processes");
        if (a.has("json") || a.has("compare"))
            throw std::invalid_argument("--nproc prints its comparison; --json / --compare apply to one process");
        std::vector<std::string> worker{selfExecutable(), "bench", "train"};
        for (size_t i = 0; i < args.size(); ++i) {
            if (args[i] == "--nproc") {
                ++i;
                continue;
            }
            worker.push_back(args[i]);
        }
        return toolExitCode(core::runBenchTrainScaling(worker, static_cast<int>(n), std::cout));
    }
    core::BenchTrainRequest request;
    request.sft_steps = a.getInt("sft-steps", 8);
    request.ppo_iterations = a.getInt("ppo-iterations", 3);
    request.threads = static_cast<int>(a.getInt("threads", 0));
    request.device = a.get("device", "cpu");
    request.compute_dtype = a.get("compute-dtype", "float32");
    request.gradient_checkpointing = a.has("gradient-checkpointing");
    request.dim = static_cast<int>(a.getInt("dim", 64));
    request.layers = static_cast<int>(a.getInt("layers", 4));
    request.heads = static_cast<int>(a.getInt("heads", 4));
    request.batch = static_cast<int>(a.getInt("batch", 16));
    request.max_new_tokens = static_cast<int>(a.getInt("max-new-tokens", 160));
    request.json_out = a.get("json");
    request.compare = a.get("compare");
    return toolExitCode(core::runBenchTrain(request, std::cout));
}

int runChecked(const std::vector<std::string>& args)
{
    try {
        return run(args);
    } catch (const std::invalid_argument& e) {
        std::cerr << e.what() << "\n" << kUsage << "\n";
        return 2;
    } catch (const core::CoreException& e) {
        std::cerr << "bench train: " << e.what() << "\n";
        return 1;
    }
}

const SubcommandRegistrar kBenchTrainRegistrar({"bench", "train", "SFT tokens/s and PPO s/iteration (rollout vs learning)",
                                                runChecked});

}  // namespace bench_train_detail

}  // namespace recalign::cli
