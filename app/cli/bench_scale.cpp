// `recalign bench scale`: a real model geometry (random weights) on this machine: load time and
// peak RSS, forward and decode speed, one LoRA SFT step with and without gradient checkpointing.
#include "app/cli/command.h"

#include "core/api/llm_tools.h"

#include <iostream>

namespace recalign::cli {

namespace bench_scale_detail {

const char* const kUsage =
    "usage: recalign bench scale [--shape tinyllama-1.1b|llama-3.2-1b|llama-2-7b] [--dtype float32|bfloat16]\n"
    "                            [--dir DIR] [--device cpu|cuda|auto] [--threads N] [--tokens N]\n"
    "                            [--new-tokens N] [--shard-mib N] [--json OUT]\n"
    "  A real geometry with random weights: written once into DIR (default\n"
    "  $XDG_CACHE_HOME/recalign/random-SHAPE-DTYPE; shard by shard, never the whole model in\n"
    "  memory), then loaded in DTYPE (default bfloat16) as a run loads a Hugging Face folder: load\n"
    "  time and peak RSS, forward tokens/s at --tokens (default 128), greedy decode of --new-tokens\n"
    "  (default 8), one LoRA SFT step (r 16 on every linear layer but the head) with and without\n"
    "  gradient checkpointing, each against the machine's matmul rate at the model's shapes, and\n"
    "  one PPO-shaped iteration (rollout: 2 sampled responses + 3 scoring forwards; learning). The\n"
    "  generated folder is several GB (llama-2-7b in bfloat16: 13.5 GB); delete it when done.";

int run(const std::vector<std::string>& args)
{
    const Args a(args, {"shape", "dtype", "dir", "device", "threads", "tokens", "new-tokens", "shard-mib", "json"},
                 {"help"});
    if (a.has("help")) {
        std::cout << kUsage << "\n";
        return 0;
    }
    core::BenchScaleRequest request;
    request.shape = a.get("shape", request.shape);
    request.dtype = a.get("dtype", request.dtype);
    request.dir = a.get("dir");
    request.device = a.get("device", "cpu");
    request.threads = static_cast<int>(a.getInt("threads", 0));
    request.tokens = static_cast<int>(a.getInt("tokens", 128));
    request.new_tokens = static_cast<int>(a.getInt("new-tokens", 8));
    request.shard_mib = a.getInt("shard-mib", 2048);
    request.json_out = a.get("json");
    if (request.tokens < 2 || request.new_tokens < 1 || request.shard_mib < 1)
        throw std::invalid_argument("--tokens must be >= 2, --new-tokens and --shard-mib >= 1");
    return toolExitCode(core::runBenchScale(request, std::cout));
}

int runChecked(const std::vector<std::string>& args)
{
    return runWithUsage([&] { return run(args); }, kUsage);
}

const SubcommandRegistrar kBenchScaleRegistrar({"bench", "scale",
                                                "a real geometry (random weights): load, memory, speed, LoRA step",
                                                runChecked});

}  // namespace bench_scale_detail

}  // namespace recalign::cli
