// The stage bodies of an experiment: each builds its trainer's settings from the experiment's
// section as it is (no field-by-field copies), hashes its config section and inputs, and runs
// through the stage cache. Also the variants' model loading shared with the probe.
#include "core/pipeline/stages.h"

#include "core/api/tables.h"
#include "core/data/importers.h"
#include "core/dist/dist.h"
#include "core/llm/loaders.h"
#include "core/llm/pretrain.h"
#include "core/llm/title_constraint.h"
#include "core/pipeline/corpus.h"
#include "core/pipeline/pipeline_internal.h"
#include "core/rules/title_lookup.h"
#include "core/sasrec/sasrec_model.h"
#include "core/sasrec/sasrec_trainer.h"
#include "core/train/dpo_trainer.h"
#include "core/train/ppo_trainer.h"
#include "core/train/recommendation_rl.h"
#include "core/train/sft_trainer.h"
#include "core/util/files.h"
#include "core/util/hash.h"
#include "core/util/json_text.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>

namespace fs = std::filesystem;

namespace recalign::core::pipeline_stages {

using namespace pipeline_detail;

namespace {


llm::ChatTemplate chatTemplate(const Ctx& ctx) { return pipeline_internal::chatTemplate(ctx.cfg); }

TaskOptions taskOptions(const Ctx& ctx)
{
    TaskOptions t;
    t.seed = ctx.seed;
    if (ctx.cfg.dataset.max_history > 0)
        t.max_history = ctx.cfg.dataset.max_history;
    t.topk = ctx.cfg.evaluation.topk;
    return t;
}

// The reward of the experiment's ppo section; item rewards off for Ours_v3's list-only reward.
RewardOptions rewardOptions(const PpoConfig& p, bool itemLevel)
{
    RewardOptions ro;
    ro.variant = p.reward_variant;
    ro.item_level = itemLevel;
    ro.alpha = p.reward_alpha;
    return ro;
}

}  // namespace

VariantEvalOptions evalOptions(const Ctx& ctx)
{
    const EvaluationConfig& e = ctx.cfg.evaluation;
    VariantEvalOptions eo;
    eo.eval = e;
    eo.max_prompt_tokens = ctx.cfg.sft.max_prompt_tokens;
    eo.max_new_tokens = ctx.cfg.sft.max_output_tokens;
    eo.task = taskOptions(ctx);
    eo.chat_template = chatTemplate(ctx);
    eo.reward = rewardOptions(ctx.cfg.ppo, /*itemLevel=*/true);
    return eo;
}

namespace {

// I4's conversations: sft.sharegpt_path, else the built-in ones when sft.builtin_conversations,
// else none (I4 is skipped).
std::shared_ptr<const std::vector<Conversation>> generalConversations(const Ctx& ctx, const Dataset& data)
{
    const SftConfig& s = ctx.cfg.sft;
    if (!s.sharegpt_path.empty())
        return std::make_shared<const std::vector<Conversation>>(loadShareGpt(resolvePath(ctx.cfg, s.sharegpt_path)));
    if (s.builtin_conversations)
        return std::make_shared<const std::vector<Conversation>>(catalogueConversations(data, ctx.seed));
    return std::make_shared<const std::vector<Conversation>>();
}

}  // namespace

void loadGeneralSuite(Ctx& ctx)
{
    const EvaluationConfig& e = ctx.cfg.evaluation;
    std::string key;
    // Loads one file into `rows`; the k-shot examples must leave something to score.
    auto load = [&](const std::string& relPath, auto loader, auto& rows, int kShot, const char* name,
                    const std::string& kShotKey, const char* what) {
        if (relPath.empty())
            return;
        const std::string path = resolvePath(ctx.cfg, relPath);
        rows = loader(path);
        if (rows.size() <= static_cast<size_t>(kShot))
            throw CoreException(ErrorCode::InvalidConfig, kShotKey + ": " + std::to_string(kShot)
                                    + " examples leave none of the " + std::to_string(rows.size()) + " " + what
                                    + " of '" + path + "' to score", kShotKey);
        key += std::string(name) + "=" + sha256File(path) + "\n";
    };
    if (!e.mmlu_path.empty()) {
        // A file or a folder of subjects (MMLU's test/ + dev/ layout): every file is an input.
        std::vector<std::string> files;
        ctx.general.mmlu = loadMmluSubjects(resolvePath(ctx.cfg, e.mmlu_path), e.mmlu_k_shot, &files);
        for (const auto& s : ctx.general.mmlu)
            if (s.rows.size() <= static_cast<size_t>(std::max(0, e.mmlu_k_shot)))
                throw CoreException(ErrorCode::InvalidConfig, "evaluation.mmlu_k_shot: " + std::to_string(e.mmlu_k_shot)
                                        + " examples leave none of the " + std::to_string(s.rows.size()) + " rows of MMLU subject '"
                                        + s.name + "' to score", "evaluation.mmlu_k_shot");
        for (const auto& f : files)
            key += "mmlu=" + sha256File(f) + "\n";
    }
    load(e.gsm8k_path, loadGsm8k, ctx.general.gsm8k, e.gsm8k_k_shot, "gsm8k", "evaluation.gsm8k_k_shot", "problems");
    ctx.general_hash = key.empty() ? std::string() : sha256Hex(key);
}

// An LLM variant's evaluation plus its MMLU / GSM8K rows when the experiment names the files.
VariantEvalResult withGeneralAbility(Ctx& ctx, const std::string& variant, llm::LoadedModel& m, VariantEvalResult r)
{
    if (ctx.general.empty())
        return r;
    GeneralEvalOptions o;
    o.eval = ctx.cfg.evaluation;
    o.seed = ctx.seed;
    o.stage = "eval_" + variant;
    const auto start = std::chrono::steady_clock::now();
    GeneralEvalResult g = evaluateGeneralAbility(variant, *m.model, m.tokenizer, ctx.general, o, *ctx.obs);
    std::string line = "eval_" + variant + ":";
    for (const auto& rec : g.records)
        line += rec.metric == metric_name::kAccuracy
            ? " " + rec.task + " accuracy " + std::to_string(rec.value) + " (n " + std::to_string(rec.n) + ")"
            : " (" + rec.task + ": " + std::to_string(static_cast<long>(rec.value)) + " of " + std::to_string(rec.n)
                + " prompts shortened to fit the context)";
    ctx.obs->onLog(LogLevel::Info, line);
    r.records.insert(r.records.end(), g.records.begin(), g.records.end());
    r.samples.insert(r.samples.end(), g.samples.begin(), g.samples.end());
    r.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return r;
}

namespace {

pipeline_internal::VariantWeights weights(const Ctx& ctx, const BaseModel& base)
{
    pipeline_internal::VariantWeights w;
    w.base_dir = base.dir;
    w.tokenizer = base.tokenizer;
    w.full_finetune = ctx.cfg.sft.full_finetune;
    return w;
}

// Loading progress in the run's log: a line per quarter for models of at least 1 GiB (a 7B model
// takes a while), nothing for small ones.
llm::LoadProgress loadLog(const Ctx& ctx)
{
    auto last = std::make_shared<int>(-1);
    return [&ctx, last](int64_t done, int64_t total) {
        if (total < (int64_t(1) << 30))
            return;
        const int quarter = static_cast<int>(4 * done / total);
        if (quarter == *last)
            return;
        *last = quarter;
        char text[128];
        std::snprintf(text, sizeof text, "loading the base model: %.2f of %.2f GiB", done / 1073741824.0,
                      total / 1073741824.0);
        ctx.obs->onLog(LogLevel::Info, text);
    };
}

}  // namespace

llm::LoadedModel loadBase(const Ctx& ctx, const BaseModel& base)
{
    return pipeline_internal::loadVariantModel(weights(ctx, base), ctx.device, ctx.cfg.model, loadLog(ctx));
}


Dataset stageData(Ctx& ctx, std::string& hash)
{
    const auto start = std::chrono::steady_clock::now();
    ctx.obs->onStageBegin("data", 0);
    Dataset data = pipeline_internal::loadExperimentDataset(ctx.cfg, ctx.workspace);
    hash = data.fingerprint;
    ctx.obs->onLog(LogLevel::Info, "data: " + std::to_string(data.numUsers()) + " users, "
                                       + std::to_string(data.numItems()) + " items, "
                                       + std::to_string(data.stats.interactions) + " interactions, "
                                       + std::to_string(data.numCategories()) + " categories");
    ctx.obs->onStageEnd("data");
    ctx.outcome->stage_seconds.emplace_back(
        "data", std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    return data;
}

std::unique_ptr<SasRecTeacher> stageTeacher(Ctx& ctx, const Dataset& data, const std::string& dataHash, std::string& hash)
{
    // teacher.seed >= 0 (the default, as released): one teacher for every run of a seed group.
    const uint64_t seed = ctx.cfg.teacher.seed >= 0 ? static_cast<uint64_t>(ctx.cfg.teacher.seed) : ctx.seed;
    SasRecTrainConfig tc = sasRecTrainConfig(ctx.cfg.teacher, data.numItems(), seed, ctx.cfg.device);
    // The checkpoint format is an input: a workspace from before a format change retrains the
    // teacher (and what depends on it) instead of failing to read its old file.
    hash = stageHash("teacher", canonicalJson(ctx.cfg, {"teacher"}),
                     {dataHash, std::string("checkpoint=") + kSasRecCheckpointFormat}, seed);
    const auto done = runStage(ctx, "teacher", hash, seed, [&](const std::string& dir) {
        tc.checkpoint_path = dir + "/teacher.safetensors";
        tc.checkpoint_every = 1;
        if (fs::exists(tc.checkpoint_path))
            tc.resume_from = tc.checkpoint_path;
        const SasRecTrainResult r = trainSasRec(data, tc, *ctx.obs);
        nlohmann::json j;
        j["checkpoint"] = tc.checkpoint_path;
        j["best_epoch"] = r.best_epoch;
        j["full_test_hr10"] = r.full.test.hrAt(10);
        j["full_test_ndcg10"] = r.full.test.ndcgAt(10);
        j["sampled_test_hr10"] = r.sampled.test.hrAt(10);
        j["sampled_test_ndcg10"] = r.sampled.test.ndcgAt(10);
        return j;
    });
    ctx.obs->onLog(LogLevel::Info, "teacher: full-ranking test HR@10 " + std::to_string(done.value("full_test_hr10", 0.0))
                                       + ", NDCG@10 " + std::to_string(done.value("full_test_ndcg10", 0.0))
                                       + " (history items excluded)");
    return loadSasRecTeacherTyped(done["checkpoint"].get<std::string>(), data, ctx.cfg.device);
}

BaseModel stageBaseModel(Ctx& ctx, const Dataset& data, const std::string& dataHash)
{
    const ModelConfig& m = ctx.cfg.model;
    BaseModel base;
    if (m.source != ModelConfig::Source::FromScratch) {
        base.external = true;
        base.dir = resolvePath(ctx.cfg, m.path);
        base.tokenizer = resolvePath(ctx.cfg, ctx.cfg.tokenizer.path);
        // The products' dtype changes every result computed from the model (SFT, PPO, evaluation).
        base.hash = sha256Hex(base.dir + "\n" + base.tokenizer + "\ncompute_dtype="
                              + llm::computeDtypeName(m.compute_dtype) + "\ndtype="
                              + c10::toString(llm::storageScalarType(m.dtype)));
        return base;
    }
    // model.pretrain.seed >= 0 (the default): one base model for every run of a seed group.
    const uint64_t seed = m.pretrain.seed >= 0 ? static_cast<uint64_t>(m.pretrain.seed) : ctx.seed;
    // The instruction corpus renders prompts with the history window and K: both are inputs.
    base.hash = stageHash("base_model", canonicalJson(ctx.cfg, {"model", "tokenizer"}),
                          {dataHash, "max_history=" + std::to_string(taskOptions(ctx).max_history),
                           "topk=" + std::to_string(ctx.cfg.evaluation.topk)},
                          seed);
    const auto done = runStage(ctx, "base_model", base.hash, seed, [&](const std::string& dir) {
        CorpusOptions co;
        co.seed = seed;
        co.list_documents = m.pretrain.history_lists;
        auto corpus = catalogueCorpus(data, co);
        InstructionCorpusOptions io;
        io.task = taskOptions(ctx);
        io.task.seed = seed;
        io.chat_template = chatTemplate(ctx);
        for (auto& doc : instructionCorpus(data, io))
            corpus.push_back(std::move(doc));
        auto topts = llm::llamaTokenizerOptions(ctx.cfg.tokenizer.vocab_size, llm::chatTemplateSymbols(chatTemplate(ctx)));
        topts.model_type = ctx.cfg.tokenizer.model_type == TokenizerConfig::ModelType::Bpe ? "bpe" : "unigram";
        // Data parallel: rank 0 trains the tokenizer, the others read it; all pretrain together.
        Tokenizer tok;
        if (dist::isWriter())
            tok = llm::trainTokenizerOnCorpus(corpus, dir + "/tokenizer", topts);
        dist::barrier();
        if (!dist::isWriter())
            tok = Tokenizer::load(dir + "/tokenizer.model");
        const llm::PretrainOptions po = llm::pretrainOptions(m, seed, ctx.cfg.device.toString());
        auto r = llm::pretrainModel(tok, corpus, po, ctx.obs.get());
        if (dist::isWriter())
            llm::saveCheckpoint(*r.model, dir + "/model", &tok);
        nlohmann::json j;
        j["model"] = dir + "/model";
        j["tokenizer"] = dir + "/tokenizer.model";
        j["final_loss"] = r.final_loss;
        j["corpus_documents"] = corpus.size();
        return j;
    });
    base.dir = done["model"].get<std::string>();
    base.tokenizer = done["tokenizer"].get<std::string>();
    return base;
}


TrainedAdapter stageSft(Ctx& ctx, const std::string& variant, const Dataset& data, const Teacher& teacher,
                        const TitleLookup& lookup, const BaseModel& base, const std::string& teacherHash)
{
    TrainedAdapter out;
    const std::string name = "sft_" + variant;
    out.hash = stageHash(name, configJsonWithoutGeneral(ctx.cfg, {"sft", "evaluation"}), {base.hash, teacherHash}, ctx.seed);
    const auto done = runStage(ctx, name, out.hash, [&](const std::string& dir) {
        auto loaded = loadBase(ctx, base);
        SftTrainConfig c;
        c.hyper = ctx.cfg.sft;
        if (!c.hyper.init_adapter.empty())
            c.hyper.init_adapter = resolvePath(ctx.cfg, c.hyper.init_adapter);
        c.stage = name;
        c.adapter = "sft";
        c.chat_template = chatTemplate(ctx);
        c.seed = ctx.seed;
        c.data.task = taskOptions(ctx);
        c.data.mix = parseSftMix(variant);
        c.data.general = generalConversations(ctx, data);
        c.output_dir = dir;
        SftTrainer trainer(*loaded.model, loaded.tokenizer, data, &teacher, lookup, c, *ctx.obs);
        const SftResult r = trainer.run();
        nlohmann::json j;
        j["adapter"] = r.best_dir;
        j["full_finetune"] = c.hyper.full_finetune;
        j["steps"] = r.steps;
        j["last_loss"] = r.last_loss;
        j["best_metric"] = r.best_metric;
        j["tokens_per_second"] = r.tokens_per_second;
        return j;
    });
    out.dir = done["adapter"].get<std::string>();
    return out;
}

// The SFT policy of a variant: the base with the SFT adapter active (or the fully tuned model).
llm::LoadedModel loadSftModel(const Ctx& ctx, const BaseModel& base, const TrainedAdapter& sft)
{
    auto w = weights(ctx, base);
    w.sft_dir = sft.dir;
    return pipeline_internal::loadVariantModel(w, ctx.device, ctx.cfg.model, loadLog(ctx));
}

std::string rlStageName(const VariantRecipe& recipe)
{
    return (recipe.algorithm_set ? "rl_" : "ppo_") + recipe.trainedName();
}

TrainedAdapter stageRl(Ctx& ctx, const VariantRecipe& recipe, const Dataset& data, const Teacher& teacher,
                       const TitleLookup& lookup, const BaseModel& base, const TrainedAdapter& sft,
                       const std::string& teacherHash)
{
    TrainedAdapter out;
    const std::string name = rlStageName(recipe);
    std::vector<std::string> inputs{sft.hash, teacherHash};
    if (recipe.algorithm_set)  // the row's algorithm replaces ppo.algorithm
        inputs.push_back(std::string("algorithm=") + rlAlgorithmName(recipe.algorithm)
                         + (recipe.dr_grpo ? ";dr_grpo" : "") + (recipe.item_reward ? "" : ";list_reward_only"));
    out.hash = stageHash(name, canonicalJson(ctx.cfg, {"ppo"}), inputs, ctx.seed);
    const auto done = runStage(ctx, name, out.hash, [&](const std::string& dir) {
        auto loaded = loadSftModel(ctx, base, sft);
        PpoConfig p = ctx.cfg.ppo;
        if (recipe.algorithm_set) {
            p.algorithm = recipe.algorithm;
            p.dr_grpo = recipe.dr_grpo;
        }
        PpoTrainConfig c;
        c.hyper = p;
        if (!c.hyper.init_adapter.empty())
            c.hyper.init_adapter = resolvePath(ctx.cfg, c.hyper.init_adapter);
        c.stage = name;
        c.seed = ctx.seed;
        c.max_new_tokens = ctx.cfg.sft.max_output_tokens;
        c.output_dir = dir;
        std::unique_ptr<llm::TitleConstraint> constraint;
        if (p.constrained_decoding) {
            constraint = pipeline_internal::catalogueConstraint(loaded.tokenizer, data, chatTemplate(ctx),
                                                                llm::TitleConstraintOptions{}.max_items);
            c.constraint = constraint.get();
        }
        const RewardOptions ro = rewardOptions(p, recipe.item_reward);  // Ours_v3: list-level reward only
        RecommendationReward reward(data, teacher, lookup, loaded.tokenizer, ro, p.rerender_actions);
        const TaskOptions to = taskOptions(ctx);
        const llm::ChatTemplate tmpl = chatTemplate(ctx);
        const int maxPrompt = ctx.cfg.sft.max_prompt_tokens;
        const Tokenizer& tok = loaded.tokenizer;
        PpoValidator validator;
        auto prompts = [&](int episode) {
            return recommendationPrompts(buildRlPrompts(data, teacher, to, episode), tok, tmpl, maxPrompt);
        };
        // Validation (RECLM-GEN §6.3): greedy lists on the RL validation tasks every val_every
        // iterations; the best mean list reward is kept and, with selection list_reward, exported.
        if (p.val_every > 0 && p.val_users_per_task > 0) {
            SuiteOptions so;
            so.task = to;
            so.split = Stage::Valid;
            so.users_per_task = p.val_users_per_task;
            so.disjoint_slices = true;
            GenerationEvalOptions go;
            go.chat_template = tmpl;
            go.max_prompt_tokens = maxPrompt;
            go.batch = ctx.cfg.evaluation.batch;
            go.generation.max_new_tokens = ctx.cfg.sft.max_output_tokens;
            go.generation.stop_token_ids = {tok.eosId()};
            go.stage = name;
            validator = recommendationValidator(tok, data, teacher, lookup,
                                                buildEvalSuite(data, teacher, so, rlValidationTasks()), ro, go,
                                                *ctx.obs);
        }
        PpoTrainer trainer(*loaded.model, &loaded.tokenizer, c, prompts, reward, *ctx.obs);
        if (validator)
            trainer.setValidator(validator);
        const PpoResult r = trainer.run();
        // Data parallel: rank 0 exports; the other ranks' results are not kept.
        const bool restored = dist::isWriter() && validator && p.selection_metric == PpoConfig::Selection::ListReward
            && trainer.restoreBest();
        if (dist::isWriter())
            llm::exportPeftAdapter(*loaded.model, kPpoActorAdapter, dir + "/actor");
        nlohmann::json j;
        j["adapter"] = dir + "/actor";
        j["iterations"] = r.iterations;
        j["last_reward_mean"] = r.last_reward_mean;
        j["rollout_seconds"] = r.rollout_seconds;
        j["learn_seconds"] = r.learn_seconds;
        j["best_validation"] = validator ? r.best_validation : 0.0;
        j["best_iteration"] = validator ? r.best_iteration : 0;
        j["exported_iteration"] = restored ? r.best_iteration : r.iterations;
        return j;
    });
    out.dir = done["adapter"].get<std::string>();
    return out;
}

TrainedAdapter stageDpo(Ctx& ctx, const VariantRecipe& recipe, const Dataset& data, const Teacher& teacher,
                        const TitleLookup& lookup, const BaseModel& base, const TrainedAdapter& sft,
                        const std::string& teacherHash)
{
    TrainedAdapter out;
    const std::string name = "dpo_" + recipe.trainedName();
    // The lists are sampled with ppo's temperature / top-k / top-p and scored with its reward
    // settings, and the adapter has ppo.actor_lora's shape: both sections are inputs.
    out.hash = stageHash(name, canonicalJson(ctx.cfg, {"dpo", "ppo"}), {sft.hash, teacherHash}, ctx.seed);
    const auto done = runStage(ctx, name, out.hash, [&](const std::string& dir) {
        auto loaded = loadSftModel(ctx, base, sft);
        const PpoConfig& p = ctx.cfg.ppo;
        DpoTrainConfig c;
        c.hyper = ctx.cfg.dpo;
        c.ppo = p;
        c.sdpo = recipe.align == VariantRecipe::Align::Sdpo;
        c.stage = name;
        c.seed = ctx.seed;
        c.max_new_tokens = ctx.cfg.sft.max_output_tokens;
        c.output_dir = dir;
        c.generation_batch = ctx.cfg.evaluation.batch;
        const RewardOptions ro = rewardOptions(p, /*itemLevel=*/true);
        RecommendationReward reward(data, teacher, lookup, loaded.tokenizer, ro, /*rerenderActions=*/false);
        // The prompts of one RL episode (the ones PPO's first episode uses), or the first max_prompts.
        auto prompts = recommendationPrompts(buildRlPrompts(data, teacher, taskOptions(ctx), 0), loaded.tokenizer,
                                             chatTemplate(ctx), ctx.cfg.sft.max_prompt_tokens);
        if (c.hyper.max_prompts > 0 && prompts.size() > static_cast<size_t>(c.hyper.max_prompts))
            prompts.resize(static_cast<size_t>(c.hyper.max_prompts));
        DpoTrainer trainer(*loaded.model, &loaded.tokenizer, c, std::move(prompts), reward, *ctx.obs);
        const DpoResult r = trainer.run();
        llm::exportPeftAdapter(*loaded.model, kPpoActorAdapter, dir + "/actor");
        nlohmann::json j;
        j["adapter"] = dir + "/actor";
        j["steps"] = r.steps;
        j["groups"] = r.data.groups;
        j["prompts"] = r.data.prompts;
        j["ties"] = r.data.ties;
        j["all_illegal"] = r.data.all_illegal;
        j["short_groups"] = r.data.short_groups;
        j["last_loss"] = r.last_loss;
        j["last_margin"] = r.last_margin;
        j["last_accuracy"] = r.last_accuracy;
        j["sampling_seconds"] = r.sampling_seconds;
        j["training_seconds"] = r.training_seconds;
        return j;
    });
    out.dir = done["adapter"].get<std::string>();
    return out;
}

// The aligned policy: the SFT adapter stacked beneath the actor adapter (as PPO trained it).
llm::LoadedModel loadPpoModel(const Ctx& ctx, const BaseModel& base, const TrainedAdapter& sft,
                              const TrainedAdapter& ppo)
{
    auto w = weights(ctx, base);
    w.sft_dir = sft.dir;
    w.ppo_dir = ppo.dir;
    return pipeline_internal::loadVariantModel(w, ctx.device, ctx.cfg.model, loadLog(ctx));
}

namespace {

nlohmann::json evalToJson(const VariantEvalResult& r)
{
    nlohmann::json j;
    nlohmann::json recs = nlohmann::json::array();
    for (const auto& e : r.records)
        recs.push_back({e.variant, e.task, e.metric, e.value, e.n, e.std_error});
    nlohmann::json samples = nlohmann::json::array();
    for (const auto& s : r.samples)
        samples.push_back({s.stage, s.variant, s.task, s.step, s.prompt, s.output, s.details_json});
    nlohmann::json units = nlohmann::json::array();
    for (const auto& u : r.units)
        units.push_back({u.variant, u.task, u.metric, u.users, u.values});
    j["records"] = recs;
    j["samples"] = samples;
    j["units"] = units;
    j["seconds"] = r.seconds;
    return j;
}

VariantEvalResult evalFromJson(const nlohmann::json& j)
{
    VariantEvalResult r;
    for (const auto& e : j.at("records"))
        r.records.push_back({0, e[0].get<std::string>(), e[1].get<std::string>(), e[2].get<std::string>(),
                             e[3].get<double>(), e[4].get<int64_t>(), e[5].get<double>()});
    for (const auto& s : j.at("samples")) {
        SampleRecord rec;
        rec.stage = s[0].get<std::string>();
        rec.variant = s[1].get<std::string>();
        rec.task = s[2].get<std::string>();
        rec.step = s[3].get<long>();
        rec.prompt = s[4].get<std::string>();
        rec.output = s[5].get<std::string>();
        rec.details_json = s[6].get<std::string>();
        r.samples.push_back(std::move(rec));
    }
    if (j.contains("units"))
        for (const auto& u : j.at("units"))
            r.units.push_back({0, u[0].get<std::string>(), u[1].get<std::string>(), u[2].get<std::string>(),
                               u[3].get<std::vector<int64_t>>(), u[4].get<std::vector<double>>()});
    r.seconds = j.value("seconds", 0.0);
    return r;
}

}  // namespace

void stageEval(Ctx& ctx, const std::string& variant, const std::string& modelHash,
               const std::function<VariantEvalResult()>& evaluate)
{
    const std::string name = "eval_" + variant;
    // LLM variants also answer the MMLU / GSM8K files: their settings and content are inputs.
    const bool general = variant != variant_name::kSasRec && variant != variant_name::kMostPop;
    // "units": the results carry per-user values (paired tests across variants) and, since 2,
    // the list length and illegal items per generated item; older results are computed again.
    std::vector<std::string> inputs{modelHash, "units=2"};
    if (general && !ctx.general_hash.empty())
        inputs.push_back("general=" + ctx.general_hash);
    const std::string hash = stageHash(name, general ? canonicalJson(ctx.cfg, {"evaluation"})
                                                     : configJsonWithoutGeneral(ctx.cfg, {"evaluation"}),
                                       inputs, ctx.seed);
    const auto done = runStage(ctx, name, hash, [&](const std::string& dir) {
        ctx.obs->setVariant(variant);
        const VariantEvalResult r = evaluate();
        writeFileAtomic(dir + "/results.json", jsonText(evalToJson(r)), ErrorCode::CheckpointIO);
        nlohmann::json j;
        j["results"] = dir + "/results.json";
        return j;
    });
    VariantEvalResult r = evalFromJson(nlohmann::json::parse(readFile(done.at("results").get<std::string>(), ErrorCode::CheckpointIO)));
    for (auto& e : r.records)
        e.run_id = ctx.run;
    for (auto& u : r.units)
        u.run_id = ctx.run;
    if (auto err = ctx.store.putEvalResults(r.records))
        ctx.obs->onLog(LogLevel::Warning, "run store: " + err.toString());
    if (auto err = ctx.store.putEvalUnits(r.units))
        ctx.obs->onLog(LogLevel::Warning, "run store: " + err.toString());
    if (auto err = ctx.store.addSamples(ctx.run, r.samples))
        ctx.obs->onLog(LogLevel::Warning, "run store: " + err.toString());
}

}  // namespace recalign::core::pipeline_stages

namespace recalign::core::pipeline_internal {

DatasetSpec datasetSpec(const ExperimentConfig& cfg, const std::string& workspace)
{
    DatasetSpec s = cfg.dataset;
    s.path = resolvePath(cfg, cfg.dataset.path);
    s.cache_dir = workspace + "/cache/data";
    return s;
}

Dataset loadExperimentDataset(const ExperimentConfig& cfg, const std::string& workspace)
{
    return loadDataset(datasetSpec(cfg, workspace));
}

llm::ChatTemplate chatTemplate(const ExperimentConfig& cfg)
{
    return cfg.model.chat_template == ModelConfig::ChatTemplate::Llama2 ? llm::ChatTemplate::Llama2
                                                                        : llm::ChatTemplate::Compact;
}

std::unique_ptr<llm::TitleConstraint> catalogueConstraint(const Tokenizer& tokenizer, const Dataset& data,
                                                          llm::ChatTemplate tmpl, int maxItems)
{
    std::vector<std::string> titles;
    titles.reserve(static_cast<size_t>(data.numItems()));
    for (ItemId id = 1; id <= data.numItems(); ++id)
        titles.push_back(data.title(id));
    llm::TitleConstraintOptions o;
    o.context = tmpl == llm::ChatTemplate::Llama2 ? "[/INST]" : "]";
    o.max_items = maxItems;
    return std::make_unique<llm::TitleConstraint>(tokenizer, titles, o);
}

llm::LoadedModel loadVariantModel(const VariantWeights& w, const torch::Device& device, const ModelConfig& model,
                                  const llm::LoadProgress& progress)
{
    const bool tuned = w.full_finetune && !w.sft_dir.empty();
    if (model.dtype == ModelConfig::DType::Float16 && device.is_cpu())
        throw CoreException(ErrorCode::InvalidConfig,
                            "model.dtype float16 needs a GPU (torch has no float16 matrix product on the CPU); "
                            "the run resolved device " + device.str() + ": use bfloat16 or float32",
                            "model.dtype");
    const torch::Dtype storage = w.full_finetune ? torch::kFloat : llm::storageScalarType(model.dtype);
    llm::LoadedModel m = llm::loadAnyModel(tuned ? w.sft_dir : w.base_dir, w.tokenizer, storage, progress);
    if (!m.tokenizer.isLoaded())
        throw CoreException(ErrorCode::CheckpointIO, "no tokenizer found for the model '" + w.base_dir + "'",
                            "tokenizer.path");
    m.model->to(device);
    if (model.dtype != ModelConfig::DType::Float32)
        m.model->setComputeDtype(llm::storageScalarType(model.dtype));  // full fine-tuning: float32 masters
    else
        m.model->setComputeDtype(model.compute_dtype);
    if (!w.sft_dir.empty() && !tuned) {
        llm::importPeftAdapter(*m.model, w.sft_dir, "sft");
        m.model->setActiveAdapter("sft");
    }
    if (!w.ppo_dir.empty()) {
        if (!tuned)
            m.model->stackAdapter("sft");  // as PPO trained the actor on it
        llm::importPeftAdapter(*m.model, w.ppo_dir, "actor");
        m.model->setActiveAdapter("actor");
    }
    return m;
}

}  // namespace recalign::core::pipeline_internal
