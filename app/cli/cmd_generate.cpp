// `recalign generate`: loads any supported checkpoint (llama2.c .bin, Hugging Face folder, our
// own folder) and prints the prompt and its continuation, like llama2.c's `run` and llama.cpp's
// CLI. --temperature 0 is greedy; timing goes to stderr.
#include "app/cli/command.h"

#include "core/api/error.h"
#include "core/llm/chat_template.h"
#include "core/llm/generation.h"
#include "core/llm/loaders.h"
#include "core/runtime/runtime.h"
#include "core/util/strings.h"

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

torch::Dtype parseDtype(const std::string& s)
{
    if (s == "float32" || s == "fp32" || s == "f32")
        return torch::kFloat;
    if (s == "bfloat16" || s == "bf16")
        return torch::kBFloat16;
    if (s == "float16" || s == "fp16" || s == "f16")
        return torch::kHalf;
    throw std::invalid_argument("--dtype '" + s + "': expected float32, bfloat16 or float16");
}

int runGenerate(const std::vector<std::string>& args)
{
    using namespace core::llm;
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
    const torch::Device device = core::resolveDevice(a.get("device", "cpu"));
    const torch::Dtype dtype = parseDtype(a.get("dtype", "float32"));
    LoadedModel lm = loadAnyModel(a.get("model"), a.get("tokenizer"), dtype);
    if (!lm.tokenizer.isLoaded())
        throw core::CoreException(core::ErrorCode::InvalidConfig,
                                  "no tokenizer: pass --tokenizer PATH (a sentencepiece .model file)", "tokenizer");
    lm.model->to(device);
    if (a.has("adapter")) {
        importPeftAdapter(*lm.model, a.get("adapter"), "cli");
        lm.model->setActiveAdapter("cli");
    }
    const core::Tokenizer& tok = lm.tokenizer;

    std::vector<int32_t> prompt;
    const std::string text = a.get("prompt");
    if (a.has("chat")) {
        Conversation c;
        c.system = a.get("system");
        c.turns.push_back({text, ""});
        prompt = encodeChatPrompt(tok, c, parseChatTemplate(a.get("chat")));
    } else {
        prompt.push_back(tok.bosId());
        if (!text.empty()) {
            const auto ids = tok.encode(text);
            prompt.insert(prompt.end(), ids.begin(), ids.end());
        }
    }

    GenerationConfig g;
    g.max_new_tokens = static_cast<int>(a.getInt("max-new-tokens", 256));
    if (a.has("steps")) {
        const long steps = a.getInt("steps", 256);
        g.max_new_tokens = static_cast<int>(steps - static_cast<long>(prompt.size()) + 1);
        if (g.max_new_tokens < 1)
            throw std::invalid_argument("--steps " + std::to_string(steps) + " leaves no room after the prompt");
    }
    g.min_new_tokens = static_cast<int>(a.getInt("min-new-tokens", 0));
    g.temperature = a.getDouble("temperature", 1.0);
    g.top_k = static_cast<int>(a.getInt("top-k", 0));
    g.top_p = a.getDouble("top-p", 0.9);
    g.repetition_penalty = a.getDouble("repetition-penalty", 1.0);
    g.seed = static_cast<uint64_t>(a.getInt("seed", 0));
    g.fast_path = !a.has("generic");
    g.stop_token_ids = {tok.eosId()};
    if (lm.format == CheckpointFormat::Llama2c)
        g.stop_token_ids.push_back(tok.bosId());
    const long num = a.getInt("num", 1);
    if (num < 1)
        throw std::invalid_argument("--num must be >= 1");

    const GenerationResult r = generate(*lm.model, std::vector<std::vector<int32_t>>(static_cast<size_t>(num), prompt), g, &tok);
    long total = 0;
    for (size_t i = 0; i < r.tokens.size(); ++i) {
        std::vector<int32_t> ids(prompt.begin() + (a.has("chat") ? static_cast<long>(prompt.size()) : 1), prompt.end());
        std::vector<int32_t> out = r.tokens[i];
        if (r.finish[i] == FinishReason::StopToken && !out.empty())
            out.pop_back();
        total += static_cast<long>(r.tokens[i].size());
        ids.insert(ids.end(), out.begin(), out.end());
        if (num > 1)
            std::cout << "--- sample " << i + 1 << "\n";
        std::cout << tok.decode(ids) << "\n";
    }
    std::cout.flush();
    const double secs = r.prefill_seconds + r.decode_seconds;
    std::cerr << "achieved tok/s: " << core::str::fixed(secs > 0 ? static_cast<double>(total) / secs : 0.0, 1) << " ("
              << total << " tokens, " << core::str::fixed(secs, 3) << " s, " << checkpointFormatName(lm.format)
              << ", " << (g.fast_path ? "fast path" : "generic path") << ")\n";
    return 0;
}

const CommandRegistrar kGenerateRegistrar({"generate", "generate text from a llama2.c, Hugging Face or recalign model",
                                           runGenerate});

}  // namespace cmd_generate_detail
}  // namespace recalign::cli
