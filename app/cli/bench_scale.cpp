// `recalign bench scale`: a real model geometry (random weights) on this machine: load time and
// peak RSS, forward and decode speed, one LoRA SFT step with and without gradient checkpointing.
#include "app/cli/command.h"

#include "core/api/llm_tools.h"
#include "core/util/strings.h"

#include <cstdlib>
#include <iostream>

namespace recalign::cli {

namespace bench_scale_detail {

const char* const kUsage =
    "usage: recalign bench scale [--shape tinyllama-1.1b|llama-3.2-1b|llama-2-7b] [--dtype float32|bfloat16]\n"
    "                            [--dir DIR] [--device cpu|cuda|auto] [--threads N] [--tokens N]\n"
    "                            [--batch B] [--new-tokens N] [--gen-prompt-tokens N] [--gen-batches B,B,...]\n"
    "                            [--ppo-prompts N] [--ppo-samples N] [--ppo-micro-batch N]\n"
    "                            [--peak-tflops X] [--bandwidth-gbs X] [--shard-mib N] [--json OUT]\n"
    "  A real geometry with random weights: written once into DIR (default\n"
    "  $XDG_CACHE_HOME/recalign/random-SHAPE-DTYPE; shard by shard, never the whole model in\n"
    "  memory), then loaded in DTYPE (default bfloat16) as a run loads a Hugging Face folder: load\n"
    "  time and peak RSS, a forward of --batch (default 1) x --tokens (default 128), greedy decode\n"
    "  of --new-tokens (default 8) after --gen-prompt-tokens (default 128) at each of --gen-batches\n"
    "  (default 1; batch 1 against the memory-bandwidth bound), one LoRA SFT step on the batch (r 16\n"
    "  on every linear layer but the head) with and without gradient checkpointing, and one\n"
    "  PPO-shaped iteration (rollout: --ppo-prompts (1) x --ppo-samples (2) sampled responses + 3\n"
    "  scoring forwards; learning at --ppo-micro-batch (1)). Rates are against the CPU's matmul rate\n"
    "  at the model's shapes, or on a GPU as MFU against its dense peak (known for H100, H200, A100;\n"
    "  else --peak-tflops), with peak GPU memory (max_memory_reserved). The JSON is rewritten after\n"
    "  each part. The generated folder is several GB (llama-2-7b in bfloat16: 13.5 GB); delete it\n"
    "  when done.";

int run(const std::vector<std::string>& args)
{
    const Args a(args,
                 {"shape", "dtype", "dir", "device", "threads", "tokens", "batch", "new-tokens", "gen-prompt-tokens",
                  "gen-batches", "ppo-prompts", "ppo-samples", "ppo-micro-batch", "peak-tflops", "bandwidth-gbs",
                  "shard-mib", "json"},
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
    request.batch = static_cast<int>(a.getInt("batch", request.batch));
    request.new_tokens = static_cast<int>(a.getInt("new-tokens", 8));
    request.gen_prompt_tokens = static_cast<int>(a.getInt("gen-prompt-tokens", request.gen_prompt_tokens));
    if (a.has("gen-batches")) {
        request.gen_batches.clear();
        for (long v : a.getIntList("gen-batches", 1, 65536, "1,32,128"))
            request.gen_batches.push_back(static_cast<int>(v));
    }
    request.ppo_prompts = static_cast<int>(a.getInt("ppo-prompts", request.ppo_prompts));
    request.ppo_samples = static_cast<int>(a.getInt("ppo-samples", request.ppo_samples));
    request.ppo_micro_batch = static_cast<int>(a.getInt("ppo-micro-batch", request.ppo_micro_batch));
    request.peak_tflops = a.getDouble("peak-tflops", 0.0);
    request.bandwidth_gbs = a.getDouble("bandwidth-gbs", 0.0);
    request.shard_mib = a.getInt("shard-mib", 2048);
    request.json_out = a.get("json");
    if (request.tokens < 2 || request.new_tokens < 1 || request.shard_mib < 1 || request.batch < 1
        || request.gen_prompt_tokens < 1 || request.ppo_prompts < 1 || request.ppo_samples < 1
        || request.ppo_micro_batch < 1 || request.peak_tflops < 0 || request.bandwidth_gbs < 0)
        throw std::invalid_argument("--tokens must be >= 2; --batch, --new-tokens, --gen-prompt-tokens, --ppo-prompts, "
                                    "--ppo-samples, --ppo-micro-batch and --shard-mib >= 1; --peak-tflops and "
                                    "--bandwidth-gbs >= 0");
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
