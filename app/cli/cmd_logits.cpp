// `recalign logits`: a model's logits for given token ids at every position, as JSON (the
// interop tests compare them with transformers' and peft's).
#include "app/cli/command.h"

#include "core/api/llm_tools.h"
#include "core/util/strings.h"

#include <iostream>

namespace recalign::cli {

namespace cmd_logits_detail {

const char* kUsage =
    "usage: recalign logits --model PATH --tokens ID,ID,... [--adapter PEFT_DIR]\n"
    "           [--export-adapter DIR] [--dtype float32|bfloat16|float16]\n"
    "Prints {\"vocab\": V, \"logits\": [[V floats] per position]} for the token ids (no BOS is added).\n"
    "PATH is any checkpoint `recalign generate` reads; --adapter applies a PEFT LoRA adapter and\n"
    "--export-adapter writes that adapter again through the project's own PEFT writer.\n";

int run(const std::vector<std::string>& args)
{
    Args a(args, {"model", "tokens", "adapter", "export-adapter", "dtype"}, {"help"});
    if (a.has("help") || !a.has("model") || !a.has("tokens")) {
        std::cout << kUsage;
        return a.has("help") ? 0 : 2;
    }
    core::LogitsRequest r;
    r.model = a.get("model");
    r.adapter = a.optional("adapter");
    r.export_adapter = a.get("export-adapter");
    r.dtype = a.get("dtype", "float32");
    for (const auto& t : core::str::split(a.get("tokens"), ',')) {
        try {
            r.tokens.push_back(std::stoll(t));
        } catch (const std::exception&) {
            throw std::invalid_argument("--tokens: '" + t + "' is not a token id");
        }
    }
    return toolExitCode(core::runLogits(r, std::cout));
}

int runChecked(const std::vector<std::string>& args)
{
    return runWithUsage([&] { return run(args); }, kUsage);
}

const CommandRegistrar kLogitsRegistrar({"logits", "a model's logits for token ids, as JSON", runChecked});

}  // namespace cmd_logits_detail

}  // namespace recalign::cli
