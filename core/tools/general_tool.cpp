// `recalign general`: MMLU / GSM8K for any model through the evaluators the pipeline uses.
#include "core/api/error.h"
#include "core/api/llm_tools.h"
#include "core/llm/loaders.h"
#include "core/pipeline/general_eval.h"
#include "core/runtime/runtime.h"
#include "core/util/strings.h"

#include <ostream>

namespace recalign::core {

namespace {

torch::Dtype dtypeOf(const std::string& s)
{
    if (s == "float32" || s == "fp32" || s == "f32")
        return torch::kFloat;
    if (s == "bfloat16" || s == "bf16")
        return torch::kBFloat16;
    if (s == "float16" || s == "fp16" || s == "f16")
        return torch::kHalf;
    throw std::invalid_argument("--dtype: expected float32, bfloat16 or float16, found '" + s + "'");
}

std::string percent(double v) { return str::fixed(100.0 * v, 2); }

int general(const GeneralRequest& r, std::ostream& out)
{
    if (r.mmlu.empty() && r.gsm8k.empty())
        throw std::invalid_argument("give --mmlu PATH and/or --gsm8k PATH");
    llm::LoadedModel lm = llm::loadAnyModel(r.model, r.tokenizer, dtypeOf(r.dtype));
    if (!lm.tokenizer.isLoaded())
        throw CoreException(ErrorCode::InvalidConfig, "no tokenizer: pass --tokenizer PATH (a sentencepiece .model file)",
                            "tokenizer");
    lm.model->to(resolveDevice(r.device));
    if (r.adapter) {
        llm::importPeftAdapter(*lm.model, *r.adapter, "cli");
        lm.model->setActiveAdapter("cli");
    }
    GeneralEvalOptions o;
    o.eval.mmlu_k_shot = r.mmlu_k_shot.value_or(o.eval.mmlu_k_shot);
    o.eval.gsm8k_k_shot = r.gsm8k_k_shot.value_or(o.eval.gsm8k_k_shot);
    o.eval.general_limit = r.limit.value_or(o.eval.general_limit);
    o.eval.batch = r.batch.value_or(o.eval.batch);
    o.eval.gsm8k_max_new_tokens = r.gsm8k_max_new_tokens.value_or(o.eval.gsm8k_max_new_tokens);
    o.samples_kept = 0;
    GeneralSuite suite;
    if (!r.mmlu.empty())
        suite.mmlu = loadMmluSubjects(r.mmlu, o.eval.mmlu_k_shot);
    if (!r.gsm8k.empty())
        suite.gsm8k = loadGsm8k(r.gsm8k);
    out << "model: " << r.model << " (" << lm.model->config().parameterCount() << " parameters, context "
        << lm.model->config().max_seq_len << " tokens)\n";
    Observer quiet;
    const GeneralEvalResult res = evaluateGeneralAbility("model", *lm.model, lm.tokenizer, suite, o, quiet);
    for (const auto& rec : res.records) {
        if (rec.metric == "prompts_truncated") {
            out << "  " << rec.task << ": " << static_cast<long>(rec.value) << " of " << rec.n
                << " prompts shortened to fit the context (fewer examples than k, the earliest dropped first, or cut)\n";
            continue;
        }
        const bool macro = rec.task == "mmlu" && suite.mmlu.size() > 1;
        out << rec.task << (macro ? " (macro average of " + std::to_string(suite.mmlu.size()) + " subjects)" : std::string())
            << ": accuracy " << percent(rec.value) << " % ± " << percent(rec.std_error) << " (n " << rec.n << ", "
            << (rec.task.rfind("gsm8k", 0) == 0 ? o.eval.gsm8k_k_shot : o.eval.mmlu_k_shot) << "-shot)\n";
    }
    return 0;
}

}  // namespace

ToolStatus runGeneral(const GeneralRequest& request, std::ostream& out)
{
    return catchTool([&] { return general(request, out); });
}

}  // namespace recalign::core
