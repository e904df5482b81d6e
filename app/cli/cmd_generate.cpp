// `recalign generate`: loads any supported checkpoint (llama2.c .bin, Hugging Face folder, our
// own folder) and prints the prompt and its continuation, like llama2.c's `run` and llama.cpp's
// CLI. --temperature 0 is greedy; timing goes to stderr.
#include "app/cli/command.h"

#include "core/api/llm_tools.h"

#include <iostream>

namespace recalign::cli {

namespace cmd_generate_detail {

const char* kUsage =
    "usage: recalign generate --model PATH [--tokenizer PATH] [--prompt TEXT] [--max-new-tokens N]\n"
    "           [--steps N] [--min-new-tokens N] [--temperature T] [--top-k K] [--top-p P]\n"
    "           [--repetition-penalty R] [--seed S] [--device D] [--dtype float32|bfloat16|float16]\n"
    "           [--adapter PEFT_DIR] [--chat llama2|compact] [--system TEXT] [--num N] [--generic]\n"
    "PATH is a llama2.c .bin file, a Hugging Face Llama folder or a recalign checkpoint folder; the\n"
    "tokenizer defaults to the folder's tokenizer.model. --temperature 0 is greedy (default 1.0,\n"
    "top-p 0.9 as llama2.c). --steps N is llama2.c's -n: N positions counted from the prompt's first\n"
    "token (max new tokens = N - prompt tokens + 1). Generation stops at EOS (and at BOS for\n"
    "llama2.c files, as llama2.c's run does). --num N generates N samples in one batch.\n";

int runGenerate(const std::vector<std::string>& args)
{
    Args a(args,
           {"model", "tokenizer", "prompt", "max-new-tokens", "steps", "min-new-tokens", "temperature", "top-k",
            "top-p", "repetition-penalty", "seed", "device", "dtype", "adapter", "chat", "system", "num"},
           {"help", "generic"});
    if (a.has("help")) {
        std::cout << kUsage;
        return 0;
    }
    if (!a.has("model"))
        throw std::invalid_argument("--model is required\n" + std::string(kUsage));
    core::GenerateRequest request;
    request.model = a.get("model");
    request.tokenizer = a.get("tokenizer");
    request.prompt = a.get("prompt");
    request.max_new_tokens = a.getInt("max-new-tokens", 256);
    request.steps = a.optionalInt("steps");
    request.min_new_tokens = a.getInt("min-new-tokens", 0);
    request.temperature = a.getDouble("temperature", 1.0);
    request.top_k = a.getInt("top-k", 0);
    request.top_p = a.getDouble("top-p", 0.9);
    request.repetition_penalty = a.getDouble("repetition-penalty", 1.0);
    request.seed = static_cast<uint64_t>(a.getInt("seed", 0));
    request.device = a.get("device", "cpu");
    request.dtype = a.get("dtype", "float32");
    request.adapter = a.optional("adapter");
    request.chat = a.optional("chat");
    request.system = a.get("system");
    request.num = a.getInt("num", 1);
    request.fast_path = !a.has("generic");
    return toolExitCode(core::runGenerate(request, std::cout, std::cerr));
}

const CommandRegistrar kGenerateRegistrar({"generate", "generate text from a llama2.c, Hugging Face or recalign model",
                                           runGenerate});

}  // namespace cmd_generate_detail
}  // namespace recalign::cli
