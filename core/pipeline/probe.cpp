// Probe: one prompt through one variant of a finished run, judged by the rules layer
// (core/api/probe.h). Loads the run's experiment, dataset, teacher and the variant's weights
// from the stage outputs recorded in the store.
#include "core/api/probe.h"

#include "core/api/store_api.h"
#include "core/api/tables.h"
#include "core/llm/generation.h"
#include "core/llm/loaders.h"
#include "core/llm/title_constraint.h"
#include "core/pipeline/pipeline_internal.h"
#include "core/pipeline/stages.h"
#include "core/rules/metrics.h"
#include "core/rules/reward.h"
#include "core/rules/templates.h"
#include "core/rules/title_lookup.h"
#include "core/runtime/runtime.h"
#include "core/sasrec/sasrec_teacher.h"
#include "core/train/sequences.h"
#include "core/train/train_state.h"
#include "core/util/json_text.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

namespace fs = std::filesystem;

namespace recalign::core {

namespace probe_detail {

struct RunContext {
    ExperimentConfig cfg;
    std::map<std::string, nlohmann::json> stages;  // stage name -> DONE.json
    std::vector<std::pair<std::string, std::string>> outputs;  // every stage (any status): name, folder
};

RunContext openRun(const std::string& workspace, long runId)
{
    RunStore store;
    OpenOptions oo;
    oo.read_only = true;
    if (auto err = store.open(workspace + "/" + kStoreFileName, oo))
        throw CoreException(err.code, err.message, err.where);
    auto info = store.runInfo(runId);
    if (!info)
        throw CoreException(ErrorCode::InvalidConfig, "run " + std::to_string(runId) + ": " + info.error().message);
    auto exps = store.listExperiments();
    if (!exps)
        throw CoreException(exps.error().code, exps.error().message);
    RunContext ctx;
    bool found = false;
    for (const auto& e : exps.value()) {
        if (e.id != info.value().experiment_id)
            continue;
        ValidateOptions vo;
        vo.missing_files = FileCheck::Skip;
        auto check = checkExperimentText(e.config_yaml, fs::path(e.file_path).parent_path().string(), vo);
        if (!check.ok())
            throw CoreException(ErrorCode::InvalidConfig, "run " + std::to_string(runId) + ": its experiment no longer validates: "
                                                              + check.errors.front().key + ": " + check.errors.front().message);
        ctx.cfg = check.config;
        found = true;
    }
    if (!found)
        throw CoreException(ErrorCode::InvalidConfig, "run " + std::to_string(runId) + " has no experiment record");
    auto stages = store.stages(runId);
    if (!stages)
        throw CoreException(stages.error().code, stages.error().message);
    for (const auto& st : stages.value()) {
        if (!st.output_path.empty())
            ctx.outputs.emplace_back(st.name, st.output_path);
        const std::string marker = st.output_path + "/DONE.json";
        if (st.status != StageStatus::Finished || !fs::exists(marker))
            continue;
        std::ifstream in(marker);
        ctx.stages[st.name] = nlohmann::json::parse(in);
    }
    return ctx;
}

std::string stageField(const RunContext& r, const std::string& stage, const std::string& field)
{
    auto it = r.stages.find(stage);
    if (it == r.stages.end() || !it->second.contains(field))
        throw CoreException(ErrorCode::InvalidConfig, "this run has no finished stage '" + stage + "'");
    return it->second[field].get<std::string>();
}

pipeline_internal::VariantWeights weightsFor(const RunContext& r, const std::string& variant)
{
    pipeline_internal::VariantWeights w;
    if (r.cfg.model.source == ModelConfig::Source::FromScratch) {
        w.base_dir = stageField(r, "base_model", "model");
        w.tokenizer = stageField(r, "base_model", "tokenizer");
    } else {
        w.base_dir = resolvePath(r.cfg, r.cfg.model.path);
        w.tokenizer = resolvePath(r.cfg, r.cfg.tokenizer.path);
    }
    w.full_finetune = r.cfg.sft.full_finetune;
    VariantRecipe recipe;
    if (!parseVariantRecipe(variant, &recipe) || recipe.kind != VariantRecipe::Kind::Sft)
        return w;  // the base (zero-shot)
    w.sft_dir = stageField(r, "sft_" + recipe.sft, "adapter");
    if (recipe.align == VariantRecipe::Align::Rl)
        w.ppo_dir = stageField(r, pipeline_stages::rlStageName(recipe), "adapter");
    else if (recipe.align != VariantRecipe::Align::None)
        w.ppo_dir = stageField(r, "dpo_" + recipe.trainedName(), "adapter");
    return w;
}

// ProbeRequest::model_path / adapters: the given model (else the run's base), the run's
// tokenizer unless the model brings one, the adapters on top (all but the last stacked; each a
// PEFT folder or a trainer checkpoint file).
llm::LoadedModel customModel(const RunContext& run, const ProbeRequest& q)
{
    const pipeline_internal::VariantWeights base = weightsFor(run, variant_name::kZeroShot);
    const std::string path = q.model_path.empty() ? base.base_dir : q.model_path;
    // The model's own tokenizer.model when it has one (beside a file, inside a folder), else the run's.
    const std::filesystem::path p(path);
    const auto folder = std::filesystem::is_directory(p) ? p : p.parent_path();
    const std::string tokenizer = std::filesystem::exists(folder / "tokenizer.model") ? std::string() : base.tokenizer;
    llm::LoadedModel m = llm::loadAnyModel(path, tokenizer, llm::storageScalarType(run.cfg.model.dtype));
    if (!m.tokenizer.isLoaded())
        throw CoreException(ErrorCode::CheckpointIO, "no tokenizer for '" + path + "'", path);
    m.model->setComputeDtype(run.cfg.model.compute_dtype);
    for (size_t i = 0; i < q.adapters.size(); ++i) {
        const std::string name = "probe" + std::to_string(i);
        // A PEFT folder, or a trainer checkpoint file that describes its adapter.
        if (fs::is_regular_file(q.adapters[i]))
            importStateAdapter(*m.model, q.adapters[i], name);
        else
            llm::importPeftAdapter(*m.model, q.adapters[i], name);
        if (i + 1 < q.adapters.size())
            m.model->stackAdapter(name);
        else
            m.model->setActiveAdapter(name);
    }
    return m;
}

// The trainer states a run kept (latest and best, finished or not), each with what lies beneath
// it: an SFT state on the run's base; a PPO state on the base with the run's sft_v2 adapter (or
// its fully fine-tuned model).
std::vector<ProbeCheckpoint> keptCheckpoints(const RunContext& run)
{
    std::vector<ProbeCheckpoint> out;
    // What PPO trained on: the run's sft_v2 adapter or fully fine-tuned model (none while sft_v2
    // has not finished).
    std::optional<pipeline_internal::VariantWeights> sft;
    try {
        sft = weightsFor(run, "v2");
    } catch (const CoreException&) {
    }
    for (const auto& [stage, folder] : run.outputs) {
        // Aligned stages (PPO and the critic-free RL rows, DPO) train on sft_v2.
        const bool dpo = stage.rfind("dpo_", 0) == 0;
        const bool ppo = stage.rfind("ppo_", 0) == 0 || stage.rfind("rl_", 0) == 0 || dpo;
        if (!ppo && stage.rfind("sft_", 0) != 0)
            continue;
        const std::vector<std::pair<std::string, std::string>> files = dpo
            ? std::vector<std::pair<std::string, std::string>>{{"dpo_state.safetensors", "latest"}}
            : ppo ? std::vector<std::pair<std::string, std::string>>{{"ppo_state.safetensors", "latest"}, {"best/ppo_best.safetensors", "best"}}
                  : std::vector<std::pair<std::string, std::string>>{{"sft_state.safetensors", "latest"}};
        for (const auto& [file, kind] : files) {
            const std::string path = (fs::path(folder) / file).string();
            long step = 0;
            if (!describesAdapter(path, &step))
                continue;
            ProbeCheckpoint k;
            k.stage = stage;
            k.step = step;
            k.kind = kind;
            if (ppo) {
                if (!sft)
                    continue;
                if (sft->full_finetune)
                    k.model_path = sft->sft_dir;
                else
                    k.adapters.push_back(sft->sft_dir);
            }
            k.adapters.push_back(path);
            out.push_back(std::move(k));
        }
    }
    return out;
}

CategoryId findCategory(const Dataset& data, const std::string& name)
{
    for (CategoryId c = 0; c < data.numCategories(); ++c)
        if (data.categories[static_cast<size_t>(c)].name == name)
            return c;
    throw CoreException(ErrorCode::InvalidConfig, "unknown category '" + name + "'", "category");
}

Sample buildSample(const Dataset& data, const TitleLookup& lookup, const ProbeRequest& q, int maxHistory)
{
    Sample s;
    s.stage = Stage::Test;
    s.item_count = q.k;
    if (q.user >= 0) {
        if (q.user >= data.numUsers() || !data.hasEvalTargets(static_cast<UserIndex>(q.user)))
            throw CoreException(ErrorCode::InvalidConfig, "user " + std::to_string(q.user) + " has no test history", "user");
        s.user = static_cast<UserIndex>(q.user);
        s.history = data.testHistory(s.user, maxHistory);
        s.target = data.testTarget(s.user);
    } else {
        for (const auto& t : q.history) {
            ItemId id = lookup.exact(t);
            if (id == 0)
                id = lookup.fuzzy(t, 3);
            if (id == 0)
                throw CoreException(ErrorCode::InvalidConfig, "history title '" + t + "' is not in the catalogue", "history");
            s.history.push_back(id);
        }
    }
    std::vector<std::string> titles;
    for (ItemId id : s.history)
        titles.push_back(data.title(id));
    TemplateFields f;
    f.history = formatHistory(titles);
    f.item_count = q.k;
    const std::string& t = q.task;
    if (t == "free") {
        s.task = TaskKind::General;
        s.prompt.system = kRecSystem;
        s.prompt.instruction = q.free_text;
        return s;
    }
    if (t != "i0") {
        s.target_category = findCategory(data, q.category);
        f.category = q.category;
    }
    if (t == "i0") {
        s.task = TaskKind::SeqRec;
        s.template_id = TemplateId::SeqRec0;
    } else if (t == "i1+" || t == "i1-" || t == "i3") {
        const bool include = t != "i1-";
        s.task = t == "i3" ? TaskKind::ItemSearch : include ? TaskKind::ControlInclude : TaskKind::ControlExclude;
        s.control = include ? Control::Include : Control::Exclude;
        s.intention = include ? positiveIntention(0, q.category) : negativeIntention(0, q.category);
        f.intention = s.intention;
        s.template_id = t == "i3" ? TemplateId::ControlRec0 : TemplateId::PersonalControlRec0;
    } else if (t == "i2le" || t == "i2ge" || t == "i2approx") {
        s.task = TaskKind::CategoryRate;
        s.control = t == "i2le" ? Control::AtMost : t == "i2ge" ? Control::AtLeast : Control::About;
        s.template_id = t == "i2le" ? TemplateId::RateLP1 : t == "i2ge" ? TemplateId::RateMP : TemplateId::RateEP;
        s.proportion = q.proportion_percent / 100.0;
        s.category_count = q.proportion_percent * q.k / 100;
        f.proportion = formatPercent(q.proportion_percent);
        f.category_count = s.category_count;
    } else {
        throw CoreException(ErrorCode::InvalidConfig, "unknown probe task '" + t
                                                          + "' (expected i0, i1+, i1-, i2le, i2ge, i2approx, i3, free)", "task");
    }
    s.prompt = renderTemplate(s.template_id, f);
    return s;
}

}  // namespace probe_detail

ProbeResult runProbe(const ProbeRequest& q)
{
    using namespace probe_detail;
    ProbeResult out;
    const auto start = std::chrono::steady_clock::now();
    out.error = catchAll([&] {
        const RunContext run = openRun(q.workspace, q.run_id);
        const Dataset data = pipeline_internal::loadExperimentDataset(run.cfg, q.workspace);
        const TitleLookup lookup(data);
        const auto teacher = loadSasRecTeacherTyped(stageField(run, "teacher", "checkpoint"), data);
        const int maxHistory = run.cfg.dataset.max_history > 0 ? run.cfg.dataset.max_history : 10;
        const Sample s = buildSample(data, lookup, q, maxHistory);
        const llm::ChatTemplate tmpl = pipeline_internal::chatTemplate(run.cfg);
        out.prompt = renderLlama2Chat(s.prompt);
        if (q.variant == variant_name::kSasRec || q.variant == variant_name::kMostPop) {
            const MostPopTeacher pop(data);
            const Teacher& rec = q.variant == variant_name::kSasRec ? static_cast<const Teacher&>(*teacher) : pop;
            const auto scores = rec.scoreBatch({s.history});
            std::vector<std::string> titles;
            for (ItemId id : topkFromScores(data, scores[0], q.k, CategoryConstraint::none(), s.history, true))
                titles.push_back(data.title(id));
            out.output = formatOutputList(titles);
        } else {
            const bool custom = !q.model_path.empty() || !q.adapters.empty();
            llm::LoadedModel m = custom ? customModel(run, q)
                                        : pipeline_internal::loadVariantModel(weightsFor(run, q.variant),
                                                                              torch::Device(torch::kCPU), run.cfg.model);
            if (!custom && q.variant == variant_name::kZeroShot && !m.model->activeAdapter().empty())
                m.model->setActiveAdapter("");
            llm::GenerationConfig gen;
            gen.temperature = q.temperature;
            gen.top_k = q.top_k;
            gen.top_p = q.top_p;
            gen.max_new_tokens = q.max_new_tokens;
            gen.seed = static_cast<uint64_t>(q.seed);
            std::unique_ptr<llm::TitleConstraint> constraint;
            if (q.constrained) {
                constraint = pipeline_internal::catalogueConstraint(m.tokenizer, data, tmpl, std::max(q.k, 1));
                gen.constraint = constraint.get();
            }
            const auto prompt = encodePrompt(m.tokenizer, s.prompt, tmpl, run.cfg.sft.max_prompt_tokens);
            const auto res = llm::generate(*m.model, {prompt}, gen, &m.tokenizer);
            out.output = decodeReply(m.tokenizer, res.tokens[0]);
            for (size_t i = 0; i < res.tokens[0].size(); ++i) {
                out.tokens.push_back(m.tokenizer.idToPiece(res.tokens[0][i]));
                out.logprobs.push_back(i < res.logprobs[0].size() ? res.logprobs[0][i] : 0.0);
            }
        }
        if (s.task == TaskKind::General)
            return;
        ParseOptions po;
        po.fuzzy = true;
        const auto parsed = parseOutput(out.output, lookup, po);
        RewardOptions ro;
        ro.variant = parseRewardVariant(q.reward_variant);
        const auto scores = teacher->scoreBatch({s.history});
        const RewardResult r = rewardForOutput(s, data, parsed, scores[0], ro);
        for (size_t i = 0; i < r.items.size(); ++i) {
            const ItemReward& it = r.items[i];
            ProbeItem p;
            p.title = it.title;
            p.item = i < parsed.size() ? parsed[i].item : it.item;
            p.legality = legalityName(it.legality);
            p.in_category = it.in_category;
            p.has_category = s.target_category >= 0;
            p.is_target = it.is_target;
            p.rank = it.rank;
            p.reward = it.reward;
            out.items.push_back(p);
        }
        out.list_reward = r.list_reward;
        const nlohmann::json rj = rewardToJson(r);
        for (auto it = rj.begin(); it != rj.end(); ++it)
            if (it.value().is_number())
                out.breakdown.emplace_back(it.key(), it.value().get<double>());
        nlohmann::json details;
        details["reward"] = rj;
        details["metrics"] = sampleMetricsToJson(computeSampleMetrics(s, parsed, data));
        out.details_json = jsonText(details);
    });
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return out;
}

ProbeCatalogue probeCatalogue(const std::string& workspace, long runId)
{
    ProbeCatalogue c;
    c.error = catchAll([&] {
        const auto run = probe_detail::openRun(workspace, runId);
        const Dataset data = pipeline_internal::loadExperimentDataset(run.cfg, workspace);
        for (ItemId id = 1; id <= data.numItems(); ++id)
            c.titles.push_back(data.title(id));
        for (const auto& cat : data.categories)
            c.categories.push_back(cat.name);
        c.users = data.numUsers();
        // The paper's rows, then the run's other recipes.
        std::vector<std::string> rows = paperVariantOrder();
        for (const auto& v : run.cfg.variants)
            if (std::find(rows.begin(), rows.end(), v) == rows.end())
                rows.push_back(v);
        for (const auto& v : rows) {
            try {
                if (v != variant_name::kSasRec && v != variant_name::kMostPop && v != variant_name::kZeroShot)
                    probe_detail::weightsFor(run, v);
                else if (!run.stages.count("teacher"))
                    continue;
                c.variants.push_back(v);
            } catch (const CoreException&) {
            }
        }
        c.checkpoints = probe_detail::keptCheckpoints(run);
    });
    return c;
}

}  // namespace recalign::core
