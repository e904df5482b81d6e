// Internal to core/pipeline: the stage bodies of an experiment (data, teacher, base model, SFT,
// PPO, evaluation). Each builds its trainer's settings from the experiment's section as it is,
// hashes its inputs and runs through the stage cache (pipeline_context.h). Torch.
#pragma once

#include "core/llm/loaders.h"
#include "core/pipeline/evaluation.h"
#include "core/pipeline/pipeline_context.h"
#include "core/sasrec/sasrec_teacher.h"

#include <functional>
#include <memory>
#include <string>

namespace recalign::core {
class TitleLookup;
}

namespace recalign::core::pipeline_stages {

using pipeline_detail::Ctx;

struct BaseModel {
    std::string dir;       // our checkpoint folder, or the external model path
    std::string tokenizer; // tokenizer.model path
    bool external = false;
    std::string hash;
};

struct TrainedAdapter {
    std::string hash;
    std::string dir;  // PEFT adapter folder (or a full model folder with full fine-tuning)
};

// Reads the MMLU / GSM8K files before any stage runs (a bad file fails the run up front) and
// hashes their content.
void loadGeneralSuite(Ctx& ctx);
// The evaluation settings of every variant (evaluation.*, with sft's lengths and the history window).
VariantEvalOptions evalOptions(const Ctx& ctx);

Dataset stageData(Ctx& ctx, std::string& hash);
std::unique_ptr<SasRecTeacher> stageTeacher(Ctx& ctx, const Dataset& data, const std::string& dataHash,
                                            std::string& hash);
BaseModel stageBaseModel(Ctx& ctx, const Dataset& data, const std::string& dataHash);
TrainedAdapter stageSft(Ctx& ctx, const std::string& variant, const Dataset& data, const Teacher& teacher,
                        const TitleLookup& lookup, const BaseModel& base, const std::string& teacherHash);
// The RL stage of a row (v3, full and their _ALG recipes): "ppo_v3" / "ppo_full" for the paper's
// rows (ppo.algorithm decides), "rl_<row>" for a recipe naming its algorithm.
std::string rlStageName(const VariantRecipe& recipe);
TrainedAdapter stageRl(Ctx& ctx, const VariantRecipe& recipe, const Dataset& data, const Teacher& teacher,
                       const TitleLookup& lookup, const BaseModel& base, const TrainedAdapter& sft,
                       const std::string& teacherHash);
// The preference-optimisation stage of a dpo / sdpo row ("dpo_<row>"): lists sampled from the SFT
// model, ranked by the rule-based reward, then DPO / S-DPO against the SFT model.
TrainedAdapter stageDpo(Ctx& ctx, const VariantRecipe& recipe, const Dataset& data, const Teacher& teacher,
                        const TitleLookup& lookup, const BaseModel& base, const TrainedAdapter& sft,
                        const std::string& teacherHash);
// Runs (or reuses) eval_<variant> and puts its rows and samples into the store.
void stageEval(Ctx& ctx, const std::string& variant, const std::string& modelHash,
               const std::function<VariantEvalResult()>& evaluate);

// A variant's weights: the base (zero-shot), + SFT (v1, v2, palr), + the PPO actor (v3, full).
llm::LoadedModel loadBase(const Ctx& ctx, const BaseModel& base);
llm::LoadedModel loadSftModel(const Ctx& ctx, const BaseModel& base, const TrainedAdapter& sft);
llm::LoadedModel loadPpoModel(const Ctx& ctx, const BaseModel& base, const TrainedAdapter& sft,
                              const TrainedAdapter& ppo);
// An LLM variant's evaluation plus its MMLU / GSM8K rows when the experiment names the files.
VariantEvalResult withGeneralAbility(Ctx& ctx, const std::string& variant, llm::LoadedModel& m, VariantEvalResult r);

}  // namespace recalign::core::pipeline_stages
