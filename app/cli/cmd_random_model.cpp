// `recalign random-model`: a Hugging Face folder with random weights of a real geometry, for
// testing loading, memory and speed at scale without downloading weights.
#include "app/cli/command.h"

#include "core/api/llm_tools.h"

#include <iostream>

namespace recalign::cli {

namespace cmd_random_model_detail {

const char* kUsage =
    "usage: recalign random-model --shape tinyllama-1.1b|llama-3.2-1b|llama-2-7b --out DIR\n"
    "           [--dtype float32|bfloat16|float16] [--tokenizer FILE] [--shard-mib N] [--seed S]\n"
    "Writes config.json (the geometry's published values) and sharded model.safetensors with random\n"
    "weights (normal 0.02, norms 1) in the dtype (default bfloat16), shard by shard: a 7B model never\n"
    "needs 7B of memory. --tokenizer copies a sentencepiece model whose ids fit the vocabulary\n"
    "(e.g. ../shared/models/stories260K/tok512.model). Several GB: never inside the repository.\n";

int run(const std::vector<std::string>& args)
{
    Args a(args, {"shape", "out", "dtype", "tokenizer", "shard-mib", "seed"}, {"help"});
    if (a.has("help") || !a.has("shape") || !a.has("out")) {
        std::cout << kUsage;
        return a.has("help") ? 0 : 2;
    }
    core::RandomModelRequest r;
    r.shape = a.get("shape");
    r.out = a.get("out");
    r.dtype = a.get("dtype", r.dtype);
    r.tokenizer = a.get("tokenizer");
    r.shard_mib = a.getInt("shard-mib", 2048);
    r.seed = static_cast<uint64_t>(a.getInt("seed", 0));
    if (r.shard_mib < 1)
        throw std::invalid_argument("--shard-mib must be >= 1");
    return toolExitCode(core::runRandomModel(r, std::cout));
}

int runChecked(const std::vector<std::string>& args)
{
    return runWithUsage([&] { return run(args); }, kUsage);
}

const CommandRegistrar kRandomModelRegistrar({"random-model", "write a real geometry with random weights (HF folder)",
                                              runChecked});

}  // namespace cmd_random_model_detail

}  // namespace recalign::cli
