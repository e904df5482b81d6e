// The experiment pipeline: data -> teacher -> tokenizer/base model -> SFT (v1, v2, palr) ->
// PPO (v3, full) -> evaluation of every variant and baseline -> tables. Each stage's outputs are
// content-addressed (hash of its config section and its inputs' hashes) under
// <workspace>/artifacts/<stage>-<hash>/ and reused by any later run; training stages resume from
// their own checkpoints in that folder after a kill. Implements core/api/runners.h.
#include "core/api/experiment.h"
#include "core/api/runners.h"
#include "core/api/store_api.h"
#include "core/api/tables.h"
#include "core/data/importers.h"
#include "core/llm/loaders.h"
#include "core/llm/pretrain.h"
#include "core/llm/title_constraint.h"
#include "core/pipeline/corpus.h"
#include "core/pipeline/evaluation.h"
#include "core/pipeline/general_eval.h"
#include "core/pipeline/pipeline_internal.h"
#include "core/pipeline/store_observer.h"
#include "core/rules/title_lookup.h"
#include "core/runtime/runtime.h"
#include "core/sasrec/sasrec_teacher.h"
#include "core/sasrec/sasrec_trainer.h"
#include "core/train/ppo_trainer.h"
#include "core/train/sft_trainer.h"
#include "core/util/hash.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>

namespace fs = std::filesystem;

namespace recalign::core {

namespace pipeline_detail {

struct Ctx {
    ExperimentConfig cfg;
    RunStore store;
    int64_t run = 0;
    uint64_t seed = 0;
    std::string workspace;
    std::set<std::string> only;
    Observer* user = nullptr;
    std::unique_ptr<StoreObserver> obs;
    RunOutcome* outcome = nullptr;
    torch::Device device{torch::kCPU};
    GeneralSuite general;      // MMLU / GSM8K files (evaluation.mmlu_path / gsm8k_path)
    std::string general_hash;  // their content hash ("" = none): an input of the LLM eval stages
};

std::string readText(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

void writeText(const std::string& path, const std::string& text)
{
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out << text;
        if (!out)
            throw CoreException(ErrorCode::CheckpointIO, "cannot write '" + tmp + "'");
    }
    fs::rename(tmp, path);
}

// The content address of a stage: its name, config section(s), seed and input hashes.
std::string stageHash(const std::string& name, const std::string& configJson, const std::vector<std::string>& inputs,
                      uint64_t seed)
{
    Sha256 h;
    h.update(name);
    h.update("\n");
    h.update(configJson);
    h.update("\nseed=" + std::to_string(seed) + "\n");
    for (const auto& i : inputs) {
        h.update(i);
        h.update("\n");
    }
    return h.hexDigest();
}

// Runs `body(dir)` unless the stage's outputs exist (DONE marker); returns the marker's JSON.
template <typename F>
nlohmann::json runStage(Ctx& ctx, const std::string& name, const std::string& hash, F body)
{
    const std::string dir = ctx.workspace + "/artifacts/" + name + "-" + hash.substr(0, 16);
    const std::string marker = dir + "/DONE.json";
    const bool forced = ctx.only.count(name) > 0;
    if (!ctx.only.empty() && !forced && !fs::exists(marker))
        throw CoreException(ErrorCode::InvalidConfig,
                            "stage '" + name + "' has no cached output for this configuration; run it too (--only)", name);
    if (forced && fs::exists(marker))
        fs::remove(marker);
    const auto start = std::chrono::steady_clock::now();
    auto stageId = ctx.store.beginStage(ctx.run, name, hash, dir);
    nlohmann::json done;
    if (fs::exists(marker)) {
        done = nlohmann::json::parse(readText(marker));
        ctx.obs->onLog(LogLevel::Info, "stage " + name + ": reusing " + dir);
    } else {
        fs::create_directories(dir);
        ctx.obs->onStageBegin(name, 0);
        // torch's global RNG (dropout) starts from the stage's own seed, so its outputs do not
        // depend on which earlier stages this process ran or reused (a resumed run reuses them).
        seedTorch(fnv1a64(name + "#seed=" + std::to_string(ctx.seed)));
        try {
            done = body(dir);
        } catch (...) {
            if (stageId)
                ctx.store.endStage(stageId.value(), StageStatus::Failed);
            ctx.obs->flush();
            throw;
        }
        done["stage"] = name;
        done["hash"] = hash;
        writeText(marker, done.dump(2));
        ctx.obs->onStageEnd(name);
    }
    if (stageId)
        ctx.store.endStage(stageId.value(), StageStatus::Finished);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ctx.outcome->stage_seconds.emplace_back(name, secs);
    done["dir"] = dir;
    return done;
}

// ---- stage inputs from the experiment ----------------------------------------------------------

SasRecTrainConfig teacherConfig(const Ctx& ctx, const Dataset& data)
{
    const TeacherConfig& t = ctx.cfg.teacher;
    SasRecTrainConfig c;
    c.model.num_items = data.numItems();
    c.model.hidden = t.hidden;
    c.model.blocks = t.blocks;
    c.model.heads = t.heads;
    c.model.maxlen = t.maxlen;
    c.model.dropout = t.dropout;
    if (t.layer_norm == TeacherConfig::LayerNorm::Post) {  // RecBole / UniRec, the released teacher
        c.model.norm = "post";
        c.model.activation = "gelu";
        c.model.scale_embedding = false;
        c.model.layer_norm_eps = 1e-12;
        c.model.init = "normal";
        c.model.ffn_hidden = 2 * t.hidden;
    } else {
        c.model.norm = t.layer_norm == TeacherConfig::LayerNorm::Pre ? "pre" : "qonly";
    }
    c.loss = t.loss == TeacherConfig::Loss::Ce ? "ce" : "bce";
    c.lr = t.lr;
    c.batch_size = t.batch;
    c.epochs = t.epochs;
    c.patience = t.patience;
    c.valid_protocol = "full";
    c.eval_every = 1;
    c.lr_plateau = t.plateau > 0;
    if (t.plateau > 0)
        c.plateau_factor = t.plateau;
    c.seed = ctx.seed;
    c.device = ctx.cfg.device.toString();
    return c;
}

llm::LoraSpec loraSpec(const LoraConfig& l, uint64_t seed)
{
    llm::LoraSpec s;
    s.r = l.r;
    s.alpha = l.alpha;
    s.dropout = l.dropout;
    s.targets = llm::parseLoraTargets(l.targets);
    s.init = l.init == LoraConfig::Init::Orthogonal ? llm::LoraInit::Orthogonal : llm::LoraInit::Kaiming;
    s.seed = seed;
    return s;
}

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

// ---- general ability (MMLU / GSM8K) ---------------------------------------------------------------

// The config sections as canonical JSON without the general-ability keys: the MMLU / GSM8K files
// and settings change only the LLM variants' evaluation, not SFT nor the recommenders' evaluation.
std::string configJsonWithoutGeneral(const ExperimentConfig& cfg, const std::vector<std::string>& sections)
{
    nlohmann::json j = nlohmann::json::parse(canonicalJson(cfg, sections));
    if (j.contains("evaluation"))
        for (const char* key : {"mmlu_path", "gsm8k_path", "mmlu_k_shot", "gsm8k_k_shot", "general_limit",
                                "gsm8k_max_new_tokens"})
            j["evaluation"].erase(key);
    return j.dump();
}

// Reads the MMLU / GSM8K files before any stage runs (a bad file fails the run up front) and
// hashes their content.
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
    load(e.mmlu_path, loadMmlu, ctx.general.mmlu, e.mmlu_k_shot, "mmlu", "evaluation.mmlu_k_shot", "rows");
    load(e.gsm8k_path, loadGsm8k, ctx.general.gsm8k, e.gsm8k_k_shot, "gsm8k", "evaluation.gsm8k_k_shot", "problems");
    ctx.general_hash = key.empty() ? std::string() : sha256Hex(key);
}

// An LLM variant's evaluation plus its MMLU / GSM8K rows when the experiment names the files.
VariantEvalResult withGeneralAbility(Ctx& ctx, const std::string& variant, llm::LoadedModel& m, VariantEvalResult r)
{
    if (ctx.general.empty())
        return r;
    const EvaluationConfig& e = ctx.cfg.evaluation;
    GeneralEvalOptions o;
    o.mmlu_k_shot = e.mmlu_k_shot;
    o.gsm8k_k_shot = e.gsm8k_k_shot;
    o.limit = e.general_limit;
    o.batch = e.batch;
    o.max_new_tokens = e.gsm8k_max_new_tokens;
    o.seed = ctx.seed;
    o.stage = "eval_" + variant;
    const auto start = std::chrono::steady_clock::now();
    GeneralEvalResult g = evaluateGeneralAbility(variant, *m.model, m.tokenizer, ctx.general, o, *ctx.obs);
    std::string line = "eval_" + variant + ":";
    for (const auto& rec : g.records)
        line += " " + rec.task + " accuracy " + std::to_string(rec.value) + " (n " + std::to_string(rec.n) + ")";
    ctx.obs->onLog(LogLevel::Info, line);
    r.records.insert(r.records.end(), g.records.begin(), g.records.end());
    r.samples.insert(r.samples.end(), g.samples.begin(), g.samples.end());
    r.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return r;
}

// ---- models --------------------------------------------------------------------------------------

struct BaseModel {
    std::string dir;       // our checkpoint folder, or the external model path
    std::string tokenizer; // tokenizer.model path
    bool external = false;
    std::string hash;
};

pipeline_internal::VariantWeights weights(const Ctx& ctx, const BaseModel& base)
{
    pipeline_internal::VariantWeights w;
    w.base_dir = base.dir;
    w.tokenizer = base.tokenizer;
    w.full_finetune = ctx.cfg.sft.full_finetune;
    return w;
}

llm::LoadedModel loadBase(const Ctx& ctx, const BaseModel& base)
{
    return pipeline_internal::loadVariantModel(weights(ctx, base), ctx.device);
}

}  // namespace pipeline_detail

using namespace pipeline_detail;

namespace pipeline_stages {

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
    SasRecTrainConfig tc = teacherConfig(ctx, data);
    hash = stageHash("teacher", canonicalJson(ctx.cfg, {"teacher"}), {dataHash}, ctx.seed);
    const auto done = runStage(ctx, "teacher", hash, [&](const std::string& dir) {
        tc.checkpoint_path = dir + "/teacher.pt";
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
    return loadSasRecTeacherTyped(done["checkpoint"].get<std::string>(), data, ctx.cfg.device.toString());
}

BaseModel stageBaseModel(Ctx& ctx, const Dataset& data, const std::string& dataHash)
{
    const ModelConfig& m = ctx.cfg.model;
    BaseModel base;
    if (m.source != ModelConfig::Source::FromScratch) {
        base.external = true;
        base.dir = resolvePath(ctx.cfg, m.path);
        base.tokenizer = resolvePath(ctx.cfg, ctx.cfg.tokenizer.path);
        base.hash = sha256Hex(base.dir + "\n" + base.tokenizer);
        return base;
    }
    // The instruction corpus renders prompts with the history window and K: both are inputs.
    base.hash = stageHash("base_model", canonicalJson(ctx.cfg, {"model", "tokenizer"}),
                          {dataHash, "max_history=" + std::to_string(taskOptions(ctx).max_history),
                           "topk=" + std::to_string(ctx.cfg.evaluation.topk)},
                          ctx.seed);
    const auto done = runStage(ctx, "base_model", base.hash, [&](const std::string& dir) {
        CorpusOptions co;
        co.seed = ctx.seed;
        co.list_documents = m.pretrain.history_lists;
        auto corpus = catalogueCorpus(data, co);
        InstructionCorpusOptions io;
        io.seed = ctx.seed;
        io.max_history = taskOptions(ctx).max_history;
        io.topk = ctx.cfg.evaluation.topk;
        io.chat_template = chatTemplate(ctx);
        for (auto& doc : instructionCorpus(data, io))
            corpus.push_back(std::move(doc));
        auto topts = llm::llamaTokenizerOptions(ctx.cfg.tokenizer.vocab_size, llm::chatTemplateSymbols(chatTemplate(ctx)));
        topts.model_type = ctx.cfg.tokenizer.model_type == TokenizerConfig::ModelType::Bpe ? "bpe" : "unigram";
        Tokenizer tok = llm::trainTokenizerOnCorpus(corpus, dir + "/tokenizer", topts);
        llm::PretrainOptions po;
        po.model.dim = m.dim;
        po.model.n_layers = m.n_layers;
        po.model.n_heads = m.n_heads;
        po.model.n_kv_heads = m.n_kv_heads > 0 ? m.n_kv_heads : m.n_heads;
        po.model.hidden_dim = m.hidden_dim > 0 ? m.hidden_dim : llm::llamaHiddenDim(m.dim);
        po.model.max_seq_len = m.max_seq_len;
        po.model.vocab_size = tok.vocabSize();
        if (m.norm_eps > 0)
            po.model.norm_eps = m.norm_eps;
        if (m.rope_theta > 0)
            po.model.rope_theta = m.rope_theta;
        po.model.tie_embeddings = true;
        po.model.rope_layout = llm::RopeLayout::RotateHalf;
        po.epochs = m.pretrain.epochs;
        po.lr = m.pretrain.lr;
        po.min_lr = m.pretrain.lr / 10.0;
        po.batch_size = m.pretrain.batch;
        po.seq_len = std::min(128, m.max_seq_len);
        po.seed = ctx.seed;
        po.device = ctx.cfg.device.toString();
        auto r = llm::pretrainModel(tok, corpus, po, ctx.obs.get());
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

struct TrainedAdapter {
    std::string hash;
    std::string dir;  // PEFT adapter folder (or a full model folder with full fine-tuning)
};

TrainedAdapter stageSft(Ctx& ctx, const std::string& variant, const Dataset& data, const Teacher& teacher,
                        const TitleLookup& lookup, const BaseModel& base, const std::string& teacherHash)
{
    TrainedAdapter out;
    const std::string name = "sft_" + variant;
    out.hash = stageHash(name, configJsonWithoutGeneral(ctx.cfg, {"sft", "evaluation"}), {base.hash, teacherHash}, ctx.seed);
    const auto done = runStage(ctx, name, out.hash, [&](const std::string& dir) {
        auto loaded = loadBase(ctx, base);
        const SftConfig& s = ctx.cfg.sft;
        SftTrainConfig c;
        c.stage = name;
        c.full_finetune = s.full_finetune;
        c.adapter = "sft";
        c.lora = loraSpec(s.lora, ctx.seed);
        c.chat_template = chatTemplate(ctx);
        c.optim.lr = s.lr;
        c.optim.weight_decay = s.weight_decay;
        c.warmup_ratio = s.warmup_ratio;
        c.lr_power = s.lr_power;
        c.end_lr = s.end_lr;
        c.grad_clip = s.grad_clip;
        c.batch = s.batch;
        c.grad_accum = s.grad_accum;
        c.epochs = s.epochs;
        c.max_prompt_tokens = s.max_prompt_tokens;
        c.max_output_tokens = s.max_output_tokens;
        c.seed = ctx.seed;
        c.data.task = taskOptions(ctx);
        c.data.mix = parseSftMix(variant == "palr" ? "palr" : variant);
        c.data.share_gpt_ratio = s.share_chat_ratio;
        if (!s.sharegpt_path.empty())
            c.data.general = std::make_shared<const std::vector<Conversation>>(loadShareGpt(resolvePath(ctx.cfg, s.sharegpt_path)));
        else
            c.data.general = std::make_shared<const std::vector<Conversation>>(catalogueConversations(data, ctx.seed));
        c.val_users_per_task = s.val_users_per_task;
        c.selection = s.selection_metric == SftConfig::Selection::Last ? SftSelection::Last : SftSelection::Ndcg;
        c.val_max_new_tokens = s.max_output_tokens;
        c.output_dir = dir;
        SftTrainer trainer(*loaded.model, loaded.tokenizer, data, &teacher, lookup, c, *ctx.obs);
        const SftResult r = trainer.run();
        nlohmann::json j;
        j["adapter"] = r.best_dir;
        j["full_finetune"] = s.full_finetune;
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
    return pipeline_internal::loadVariantModel(w, ctx.device);
}

TrainedAdapter stagePpo(Ctx& ctx, const std::string& variant, const Dataset& data, const Teacher& teacher,
                        const TitleLookup& lookup, const BaseModel& base, const TrainedAdapter& sft,
                        const std::string& teacherHash)
{
    TrainedAdapter out;
    const std::string name = "ppo_" + variant;
    out.hash = stageHash(name, canonicalJson(ctx.cfg, {"ppo"}), {sft.hash, teacherHash}, ctx.seed);
    const auto done = runStage(ctx, name, out.hash, [&](const std::string& dir) {
        auto loaded = loadSftModel(ctx, base, sft);
        const PpoConfig& p = ctx.cfg.ppo;
        PpoTrainConfig c;
        c.stage = name;
        c.actor_lora = loraSpec(p.actor_lora, ctx.seed + 1);
        c.critic_lora = loraSpec(p.critic_lora, ctx.seed + 2);
        c.train_value_head = p.train_value_head;
        c.lm_head_trainable = p.lm_head_trainable;
        c.prompts_per_batch = p.prompts_per_batch;
        c.samples_per_prompt = p.samples_per_prompt;
        c.temperature = p.temperature;
        c.top_k = p.top_k;
        c.top_p = p.top_p;
        c.max_new_tokens = ctx.cfg.sft.max_output_tokens;
        std::unique_ptr<llm::TitleConstraint> constraint;
        if (p.constrained_decoding) {
            constraint = pipeline_internal::catalogueConstraint(loaded.tokenizer, data, chatTemplate(ctx),
                                                                llm::TitleConstraintOptions{}.max_items);
            c.constraint = constraint.get();
        }
        c.kl_coef = p.kl_coef;
        c.kl_estimator = p.kl_estimator == PpoConfig::KlEstimator::K1 ? KlEstimator::K1 : KlEstimator::K3;
        c.adaptive_kl = p.adaptive_kl;
        c.target_kl = p.target_kl;
        c.kl_horizon = p.horizon;
        c.whiten_rewards = p.whiten_rewards;
        c.gamma = p.gamma;
        c.lambda = p.lam;
        c.optim.lr = p.lr;
        c.optim.weight_decay = 0.0;
        c.warmup_steps = p.warmup_steps;
        c.ppo_epochs = p.ppo_epochs;
        c.grad_accum = p.grad_accum;
        c.clip_eps = p.clip_eps;
        c.value_clip = p.value_clip;
        c.vf_coef = p.vf_coef;
        c.ent_coef = p.ent_coef;
        c.policy_kl_threshold = p.policy_kl_threshold;
        c.grad_clip = p.grad_clip;
        c.episodes = p.episodes;
        c.max_iterations = p.max_iterations;
        c.seed = ctx.seed;
        c.output_dir = dir;
        RewardOptions ro;
        ro.variant = p.reward_variant == PpoConfig::RewardVariant::Recai ? RewardVariant::Recai : RewardVariant::Paper;
        ro.item_level = variant != "v3";  // Ours_v3: list-level reward only
        ro.alpha = p.reward_alpha;
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
            c.validate_every = p.val_every;
            validator = recommendationValidator(tok, data, teacher, lookup,
                                                buildEvalSuite(data, teacher, so, rlValidationTasks()), ro, go,
                                                *ctx.obs);
        }
        PpoTrainer trainer(*loaded.model, &loaded.tokenizer, c, prompts, reward, *ctx.obs);
        if (validator)
            trainer.setValidator(validator);
        const PpoResult r = trainer.run();
        const bool restored = validator && p.selection_metric == PpoConfig::Selection::ListReward
            && trainer.restoreBest();
        llm::exportPeftAdapter(*loaded.model, "actor", dir + "/actor");
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

// The aligned policy: SFT merged into the base (the PPO reference), plus the actor adapter.
llm::LoadedModel loadPpoModel(const Ctx& ctx, const BaseModel& base, const TrainedAdapter& sft,
                              const TrainedAdapter& ppo)
{
    auto w = weights(ctx, base);
    w.sft_dir = sft.dir;
    w.ppo_dir = ppo.dir;
    return pipeline_internal::loadVariantModel(w, ctx.device);
}

nlohmann::json evalToJson(const VariantEvalResult& r)
{
    nlohmann::json j;
    nlohmann::json recs = nlohmann::json::array();
    for (const auto& e : r.records)
        recs.push_back({e.variant, e.task, e.metric, e.value, e.n, e.std_error});
    nlohmann::json samples = nlohmann::json::array();
    for (const auto& s : r.samples)
        samples.push_back({s.stage, s.variant, s.task, s.step, s.prompt, s.output, s.details_json});
    j["records"] = recs;
    j["samples"] = samples;
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
    r.seconds = j.value("seconds", 0.0);
    return r;
}

template <typename F>
void stageEval(Ctx& ctx, const std::string& variant, const std::string& modelHash, F evaluate)
{
    const std::string name = "eval_" + variant;
    // LLM variants also answer the MMLU / GSM8K files: their settings and content are inputs.
    const bool general = variant != variant_name::kSasRec && variant != variant_name::kMostPop;
    std::vector<std::string> inputs{modelHash};
    if (general && !ctx.general_hash.empty())
        inputs.push_back("general=" + ctx.general_hash);
    const std::string hash = stageHash(name, general ? canonicalJson(ctx.cfg, {"evaluation"})
                                                     : configJsonWithoutGeneral(ctx.cfg, {"evaluation"}),
                                       inputs, ctx.seed);
    const auto done = runStage(ctx, name, hash, [&](const std::string& dir) {
        ctx.obs->setVariant(variant);
        const VariantEvalResult r = evaluate();
        writeText(dir + "/results.json", evalToJson(r).dump());
        nlohmann::json j;
        j["results"] = dir + "/results.json";
        return j;
    });
    VariantEvalResult r = evalFromJson(nlohmann::json::parse(readText(done.at("results").template get<std::string>())));
    for (auto& e : r.records)
        e.run_id = ctx.run;
    if (auto err = ctx.store.putEvalResults(r.records))
        ctx.obs->onLog(LogLevel::Warning, "run store: " + err.toString());
    if (auto err = ctx.store.addSamples(ctx.run, r.samples))
        ctx.obs->onLog(LogLevel::Warning, "run store: " + err.toString());
}

}  // namespace pipeline_stages

namespace pipeline_detail {

void runAll(Ctx& ctx)
{
    using namespace pipeline_stages;
    seedTorch(ctx.seed);
    loadGeneralSuite(ctx);
    std::set<std::string> variants;
    for (Variant v : ctx.cfg.variants)
        variants.insert(variantName(v));

    std::string dataHash, teacherHash;
    const Dataset data = stageData(ctx, dataHash);
    const auto teacher = stageTeacher(ctx, data, dataHash, teacherHash);
    const TitleLookup lookup(data);

    VariantEvalOptions eo;
    for (TestTask t : ctx.cfg.evaluation.tasks)
        eo.tasks.push_back(testTaskName(t));
    eo.topk = ctx.cfg.evaluation.topk;
    eo.users = ctx.cfg.evaluation.users;
    eo.fuzzy = ctx.cfg.evaluation.fuzzy_mapping;
    eo.fuzzy_distance = ctx.cfg.evaluation.fuzzy_distance;
    eo.batch = ctx.cfg.evaluation.batch;
    eo.max_prompt_tokens = ctx.cfg.sft.max_prompt_tokens;
    eo.max_new_tokens = ctx.cfg.sft.max_output_tokens;
    eo.max_history = taskOptions(ctx).max_history;
    eo.seed = ctx.seed;
    eo.chat_template = chatTemplate(ctx);
    eo.recai_reward = ctx.cfg.ppo.reward_variant == PpoConfig::RewardVariant::Recai;

    if (variants.count(variant_name::kSasRec))
        stageEval(ctx, variant_name::kSasRec, teacherHash, [&] {
            return evaluateRecommender(variant_name::kSasRec, *teacher, data, *teacher, lookup, eo, *ctx.obs);
        });
    if (variants.count(variant_name::kMostPop)) {
        const MostPopTeacher pop(data);
        stageEval(ctx, variant_name::kMostPop, teacherHash + "/mostpop", [&] {
            return evaluateRecommender(variant_name::kMostPop, pop, data, *teacher, lookup, eo, *ctx.obs);
        });
    }

    const bool needLlm = std::any_of(variants.begin(), variants.end(), [](const std::string& v) {
        return v != variant_name::kSasRec && v != variant_name::kMostPop;
    });
    if (!needLlm)
        return;
    const BaseModel base = stageBaseModel(ctx, data, dataHash);
    if (variants.count(variant_name::kZeroShot))
        stageEval(ctx, variant_name::kZeroShot, base.hash + teacherHash, [&] {
            auto m = loadBase(ctx, base);
            return withGeneralAbility(ctx, variant_name::kZeroShot, m,
                                      evaluateModel(variant_name::kZeroShot, *m.model, m.tokenizer, data, *teacher, lookup, eo, *ctx.obs));
        });

    auto evalSft = [&](const std::string& variant, const TrainedAdapter& sft) {
        stageEval(ctx, variant, sft.hash, [&] {
            auto m = loadSftModel(ctx, base, sft);
            return withGeneralAbility(ctx, variant, m,
                                      evaluateModel(variant, *m.model, m.tokenizer, data, *teacher, lookup, eo, *ctx.obs));
        });
    };
    for (const char* v : {variant_name::kPalr, variant_name::kV1})
        if (variants.count(v))
            evalSft(v, stageSft(ctx, v, data, *teacher, lookup, base, teacherHash));

    const bool needV2 = variants.count(variant_name::kV2) || variants.count(variant_name::kV3)
        || variants.count(variant_name::kFull);
    if (!needV2)
        return;
    const TrainedAdapter v2 = stageSft(ctx, variant_name::kV2, data, *teacher, lookup, base, teacherHash);
    if (variants.count(variant_name::kV2))
        evalSft(variant_name::kV2, v2);
    for (const char* v : {variant_name::kV3, variant_name::kFull}) {
        if (!variants.count(v))
            continue;
        const TrainedAdapter ppo = stagePpo(ctx, v, data, *teacher, lookup, base, v2, teacherHash);
        stageEval(ctx, v, ppo.hash, [&] {
            auto m = loadPpoModel(ctx, base, v2, ppo);
            return withGeneralAbility(ctx, v, m, evaluateModel(v, *m.model, m.tokenizer, data, *teacher, lookup, eo, *ctx.obs));
        });
    }
}

}  // namespace pipeline_detail

namespace pipeline_internal {

DatasetSpec datasetSpec(const ExperimentConfig& cfg, const std::string& workspace)
{
    const DatasetConfig& d = cfg.dataset;
    DatasetSpec s;
    static const char* kSources[] = {"movielens", "amazon", "steam", "native", "synthetic"};
    s.source = kSources[static_cast<int>(d.source)];
    s.path = resolvePath(cfg, d.path);
    s.min_rating = d.min_rating > 0 ? d.min_rating : -1e300;
    s.user_core = d.user_core > 0 ? d.user_core : -1;
    s.item_core = d.item_core > 0 ? d.item_core : -1;
    s.lenient = d.lenient;
    s.steam_tags_as_categories = d.steam_tags_as_categories;
    s.interactions_file = d.interactions_file;
    s.items_file = d.items_file;
    s.uncategorized = d.uncategorized == DatasetConfig::Uncategorized::Other ? "other" : "drop";
    s.cache_dir = workspace + "/cache/data";
    const SyntheticDataConfig& y = d.synthetic;
    s.synthetic = SyntheticOptions{static_cast<uint64_t>(y.seed), y.items, y.users, y.top_categories,
                                   y.subcategories_per_top, y.min_sequence_length, y.max_sequence_length,
                                   y.preference_concentration, y.favourite_categories, y.sequential_strength,
                                   y.popularity_skew, y.franchise_share, y.subcategory_prob,
                                   y.secondary_category_prob, y.successors};
    return s;
}

Dataset loadExperimentDataset(const ExperimentConfig& cfg, const std::string& workspace)
{
    Dataset data = loadDataset(datasetSpec(cfg, workspace));
    if (cfg.dataset.max_users > 0 && data.numUsers() > cfg.dataset.max_users) {
        data.users.resize(static_cast<size_t>(cfg.dataset.max_users));
        data.finalize();
    }
    return data;
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

llm::LoadedModel loadVariantModel(const VariantWeights& w, const torch::Device& device)
{
    const bool tuned = w.full_finetune && !w.sft_dir.empty();
    llm::LoadedModel m = llm::loadAnyModel(tuned ? w.sft_dir : w.base_dir, w.tokenizer);
    if (!m.tokenizer.isLoaded())
        throw CoreException(ErrorCode::CheckpointIO, "no tokenizer found for the model '" + w.base_dir + "'",
                            "tokenizer.path");
    m.model->to(device);
    if (!w.sft_dir.empty() && !tuned) {
        llm::importPeftAdapter(*m.model, w.sft_dir, "sft");
        m.model->setActiveAdapter("sft");
    }
    if (!w.ppo_dir.empty()) {
        if (!tuned)
            m.model->mergeAndUnload("sft");
        llm::importPeftAdapter(*m.model, w.ppo_dir, "actor");
        m.model->setActiveAdapter("actor");
    }
    return m;
}

}  // namespace pipeline_internal

RunOutcome runExperiment(const RunRequest& request, Observer& observer)
{
    RunOutcome outcome;
    Ctx ctx;
    ctx.user = &observer;
    ctx.outcome = &outcome;
    outcome.error = catchAll([&] {
        auto loaded = loadExperiment(request.experiment_path);
        if (!loaded)
            throw CoreException(loaded.error().code, loaded.error().message, loaded.error().where);
        ctx.cfg = loaded.value();
        ctx.workspace = !request.workspace.empty() ? request.workspace
            : !ctx.cfg.workspace.empty()           ? resolvePath(ctx.cfg, ctx.cfg.workspace)
                                                   : std::string("workspace");
        fs::create_directories(ctx.workspace);
        ctx.workspace = fs::absolute(ctx.workspace).lexically_normal().string();
        ctx.only.insert(request.only_stages.begin(), request.only_stages.end());
        ctx.seed = static_cast<uint64_t>(request.seed >= 0 ? request.seed
                                                           : (ctx.cfg.seeds.empty() ? 0 : ctx.cfg.seeds.front()));
        ctx.device = resolveDevice(ctx.cfg.device);
        if (auto err = ctx.store.open(ctx.workspace + "/" + kStoreFileName))
            throw CoreException(err.code, err.message, err.where);
        if (!request.resume_run.empty()) {
            const int64_t resumeRun = std::stoll(request.resume_run);  // ctx.run once it may be marked
            auto info = ctx.store.runInfo(resumeRun);
            if (!info)
                throw CoreException(ErrorCode::InvalidConfig, "cannot resume run " + request.resume_run + ": "
                                                                  + info.error().message, "resume");
            ctx.seed = static_cast<uint64_t>(info.value().seed);
            if (info.value().config_json != canonicalJson(ctx.cfg))
                throw CoreException(ErrorCode::InvalidConfig, "cannot resume run " + request.resume_run
                                        + ": it was started with a different configuration than '"
                                        + request.experiment_path + "'", "resume");
            ctx.run = resumeRun;
            // Stages the interrupted process left running ended with it.
            if (auto stages = ctx.store.stages(ctx.run))
                for (const auto& st : stages.value())
                    if (st.status == StageStatus::Running)
                        ctx.store.endStage(st.id, StageStatus::Failed);
        } else {
            ExperimentRecord e;
            e.name = ctx.cfg.name;
            e.file_path = fs::absolute(request.experiment_path).string();
            e.config_yaml = readText(request.experiment_path);
            auto expId = ctx.store.addExperiment(e);
            NewRun nr;
            nr.experiment_id = expId ? expId.value() : 0;
            nr.name = ctx.cfg.name + " (seed " + std::to_string(ctx.seed) + ")";
            nr.config_json = canonicalJson(ctx.cfg);
            nr.seed = static_cast<int64_t>(ctx.seed);
            nr.status = RunStatus::Running;
            nr.env = captureEnvironment(RECALIGN_SOURCE_DIR_STR);
            nr.env.device = ctx.device.str();
            auto run = ctx.store.createRun(nr);
            if (!run)
                throw CoreException(run.error().code, "creating the run: " + run.error().message);
            ctx.run = run.value();
        }
        outcome.run_id = ctx.run;
        ctx.store.setRunStatus(ctx.run, RunStatus::Running);
        ctx.obs = std::make_unique<StoreObserver>(ctx.store, ctx.run, observer);
        ctx.obs->onLog(LogLevel::Info, "run " + std::to_string(ctx.run) + " in " + ctx.workspace);
        runAll(ctx);
        ctx.obs->flush();
    });
    if (ctx.obs)
        ctx.obs->flush();
    if (ctx.run > 0 && ctx.store.isOpen()) {
        const RunStatus status = outcome.error.ok() ? RunStatus::Finished
            : outcome.error.code == ErrorCode::Cancelled ? RunStatus::Cancelled
                                                         : RunStatus::Failed;
        ctx.store.setRunStatus(ctx.run, status, outcome.error.ok() ? std::string() : outcome.error.toString());
    }
    return outcome;
}

}  // namespace recalign::core
