// `recalign general`: MMLU and GSM8K accuracy of any model (the paper's general-ability columns).
#include "app/cli/command.h"

#include "core/api/llm_tools.h"

#include <iostream>

namespace recalign::cli {

namespace cmd_general_detail {

const char* kUsage =
    "usage: recalign general --model PATH [--tokenizer PATH] [--adapter PEFT_DIR]\n"
    "           [--mmlu FILE|DIR] [--gsm8k FILE] [--mmlu-k-shot K] [--gsm8k-k-shot K] [--limit N]\n"
    "           [--batch N] [--gsm8k-max-new-tokens N] [--device D] [--dtype float32|bfloat16|float16]\n"
    "           [--samples FILE]\n"
    "MMLU: a CSV whose first K rows are the examples, or a folder as MMLU is published (test/ and dev/:\n"
    "per-subject and macro-averaged accuracy, each subject's examples the first K rows of its dev file).\n"
    "GSM8K: JSON lines, the first K problems the worked examples. Accuracy with its standard error and\n"
    "n, and how many prompts were cut to fit the model's context. Defaults as the experiment's\n"
    "evaluation section (5-shot MMLU, 8-shot GSM8K, every question). --samples writes every scored\n"
    "question as a JSON line (prompt, answer, MMLU's per-choice log-likelihoods and token ids).\n";

int run(const std::vector<std::string>& args)
{
    Args a(args,
           {"model", "tokenizer", "adapter", "mmlu", "gsm8k", "mmlu-k-shot", "gsm8k-k-shot", "limit", "batch",
            "gsm8k-max-new-tokens", "device", "dtype", "samples"},
           {"help"});
    if (a.has("help")) {
        std::cout << kUsage;
        return 0;
    }
    if (!a.has("model"))
        throw std::invalid_argument("--model is required\n" + std::string(kUsage));
    core::GeneralRequest r;
    r.model = a.get("model");
    r.tokenizer = a.get("tokenizer");
    r.adapter = a.optional("adapter");
    r.mmlu = a.get("mmlu");
    r.gsm8k = a.get("gsm8k");
    r.mmlu_k_shot = optionalAs<int>(a.optionalInt("mmlu-k-shot"));
    r.gsm8k_k_shot = optionalAs<int>(a.optionalInt("gsm8k-k-shot"));
    r.limit = optionalAs<int>(a.optionalInt("limit"));
    r.batch = optionalAs<int>(a.optionalInt("batch"));
    r.gsm8k_max_new_tokens = optionalAs<int>(a.optionalInt("gsm8k-max-new-tokens"));
    r.device = a.get("device", "cpu");
    r.dtype = a.get("dtype", "float32");
    r.samples = a.get("samples");
    return toolExitCode(core::runGeneral(r, std::cout));
}

const CommandRegistrar kGeneralRegistrar({"general", "MMLU / GSM8K accuracy of any model (general ability)", run});

}  // namespace cmd_general_detail
}  // namespace recalign::cli
