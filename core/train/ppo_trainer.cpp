// PPO trainer: rollout (greedy + sampled, KV-cached, optionally constrained), rule-based token
// rewards minus eta * KL, GAE, clipped PPO epochs, TRL-named metrics, resumable checkpoints.
#include "core/train/ppo_trainer.h"

#include "core/api/error.h"
#include "core/llm/generation.h"
#include "core/rules/rng.h"
#include "core/rules/templates.h"
#include "core/rules/title_lookup.h"
#include "core/rules/token_placement.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <numeric>

namespace recalign::core {

namespace ppo_trainer_detail {

constexpr const char* kActor = "actor";
constexpr const char* kCritic = "critic";
constexpr const char* kStateFile = "ppo_state.pt";

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t0)
{
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Right-pads 1-D row tensors into (N, T) float32.
torch::Tensor padRows(const std::vector<torch::Tensor>& rows, int64_t T, const torch::Device& device)
{
    auto out = torch::zeros({static_cast<int64_t>(rows.size()), T}, torch::dtype(torch::kFloat).device(device));
    for (size_t i = 0; i < rows.size(); ++i) {
        const int64_t n = std::min<int64_t>(T, rows[i].size(0));
        if (n > 0)
            out[static_cast<int64_t>(i)].slice(0, 0, n).copy_(rows[i].slice(0, 0, n));
    }
    return out;
}

std::string signature(const PpoTrainConfig& c)
{
    return "seed=" + std::to_string(c.seed) + ";ppb=" + std::to_string(c.prompts_per_batch)
        + ";spp=" + std::to_string(c.samples_per_prompt) + ";actor_r=" + std::to_string(c.actor_lora.r)
        + ";critic_r=" + std::to_string(c.critic_lora.r) + ";vh=" + std::to_string(c.value_head_inner)
        + ";lm_head=" + std::to_string(c.lm_head_trainable ? 1 : 0);
}

void validateConfig(const PpoTrainConfig& c)
{
    auto bad = [](const std::string& key, const std::string& what) {
        throw CoreException(ErrorCode::InvalidConfig, "ppo." + key + ": " + what, "ppo." + key);
    };
    if (c.prompts_per_batch < 1)
        bad("prompts_per_batch", "must be >= 1");
    if (c.samples_per_prompt < 1)
        bad("samples_per_prompt", "must be >= 1");
    if (c.max_new_tokens < 1)
        bad("max_new_tokens", "must be >= 1");
    if (c.ppo_epochs < 1)
        bad("ppo_epochs", "must be >= 1");
    if (c.mini_batch < 1 || c.grad_accum < 1 || c.forward_batch < 1)
        bad("mini_batch", "mini_batch, grad_accum and forward_batch must be >= 1");
    if (c.clip_eps <= 0.0)
        bad("clip_eps", "must be > 0");
    if (c.gamma < 0.0 || c.gamma > 1.0 || c.lambda < 0.0 || c.lambda > 1.0)
        bad("gamma", "gamma and lambda must lie in [0, 1]");
    if (c.episodes < 1 && c.max_iterations <= 0)
        bad("episodes", "must be >= 1 (or set max_iterations)");
    if (!c.first_sample_greedy && c.temperature <= 0.0)
        bad("temperature", "sampled responses need a temperature > 0");
}

}  // namespace ppo_trainer_detail

using namespace ppo_trainer_detail;

llm::LoraSpec releasedPpoLoraSpec()
{
    llm::LoraSpec s;
    s.r = 4;
    s.alpha = 2.0;
    s.dropout = 0.0;
    s.targets = llm::parseLoraTargets({"all-linear"});
    s.init = llm::LoraInit::Orthogonal;
    return s;
}

// ---- the rules layer's reward --------------------------------------------------------------------

RecommendationReward::RecommendationReward(const Dataset& data, const Teacher& teacher, const TitleLookup& lookup,
                                           const Tokenizer& tokenizer, RewardOptions options, bool rerenderActions)
    : m_data(data), m_teacher(teacher), m_lookup(lookup), m_tokenizer(tokenizer), m_options(options),
      m_rerender(rerenderActions)
{
}

std::vector<PpoScore> RecommendationReward::score(const std::vector<PpoPrompt>& prompts,
                                                  const std::vector<PpoResponse>& responses)
{
    std::vector<std::vector<ItemId>> histories;
    for (size_t i = 0; i < prompts.size(); ++i) {
        if (!prompts[i].sample)
            throw CoreException(ErrorCode::Internal, "recommendation reward: prompt " + std::to_string(i)
                                                         + " carries no sample");
        histories.push_back(prompts[i].sample->history);
    }
    const auto scores = m_teacher.scoreBatch(histories);
    const DecodeFn decode = [this](const std::vector<int32_t>& ids) { return decodeReply(m_tokenizer, ids); };
    ParseOptions parse;  // exact titles only: the reward does not vague-map (RECLM-GEN §3.7)
    std::vector<PpoScore> out;
    out.reserve(responses.size());
    for (const auto& r : responses) {
        const Sample& s = *prompts.at(r.prompt).sample;
        PpoScore ps;
        ps.text = decodeReply(m_tokenizer, r.tokens);
        auto parsed = parseOutput(ps.text, m_lookup, parse);
        const RewardResult rr = rewardForOutput(s, m_data, parsed, scores.at(r.prompt), m_options);
        const std::vector<int32_t>* placed = &r.tokens;
        if (m_rerender) {
            // The released code trains on the canonical rendering of the parsed titles (§5.2).
            std::vector<std::string> titles;
            for (const auto& p : parsed)
                titles.push_back(p.title);
            ps.actions = encodeReply(m_tokenizer, formatOutputList(titles) + "\n", 0);
            parsed = parseOutput(decodeReply(m_tokenizer, ps.actions), m_lookup, parse);
            placed = &ps.actions;
        }
        const auto itemRewards = rr.itemRewards();
        auto placement = placeItemTokens(*placed, decode, parsed);
        if (placement.item_tokens.size() != itemRewards.size())
            placement.item_tokens.resize(itemRewards.size(), static_cast<int>(placed->size()) - 1);
        ps.token_scores = placeTokenScores(static_cast<int>(placed->size()), placement.item_tokens, itemRewards,
                                           rr.list_reward);
        ps.item_reward = rr.itemRewardSum();
        ps.list_reward = rr.list_reward;
        ps.items = static_cast<int>(rr.items.size());
        for (const auto& it : rr.items) {
            switch (it.legality) {
            case Legality::NonExistent: ++ps.non_exist; break;
            case Legality::Duplicate: ++ps.repeat; break;
            case Legality::InHistory: ++ps.in_history; break;
            case Legality::BeyondCount: ++ps.beyond_k; break;
            case Legality::Legal: break;
            }
        }
        ps.details_json = rewardToJson(rr).dump();
        out.push_back(std::move(ps));
    }
    return out;
}

std::vector<PpoPrompt> recommendationPrompts(const std::vector<Sample>& samples, const Tokenizer& tokenizer,
                                             llm::ChatTemplate tmpl, int maxPromptTokens)
{
    std::vector<PpoPrompt> out;
    out.reserve(samples.size());
    for (const auto& s : samples) {
        PpoPrompt p;
        p.ids = encodePrompt(tokenizer, s.prompt, tmpl, maxPromptTokens);
        p.text = llm::renderChat(toConversation(s.prompt), tmpl);
        p.task = s.task_name.empty() ? taskKindName(s.task) : s.task_name;
        p.sample = std::make_shared<const Sample>(s);
        out.push_back(std::move(p));
    }
    return out;
}

PpoValidator recommendationValidator(const Tokenizer& tokenizer, const Dataset& data, const Teacher& teacher,
                                     const TitleLookup& lookup, std::vector<Sample> samples, RewardOptions reward,
                                     GenerationEvalOptions options, Observer& observer)
{
    options.generation.temperature = 0.0;
    options.generation.adapter = std::string(kActor);
    if (options.generation.stop_token_ids.empty())
        options.generation.stop_token_ids = {tokenizer.eosId()};
    auto shared = std::make_shared<const std::vector<Sample>>(std::move(samples));
    return [&tokenizer, &data, &teacher, &lookup, &observer, shared, reward, options](
               llm::LlamaModelImpl& model, long iteration, std::vector<std::pair<std::string, double>>& metrics) {
        GenerationEvalOptions o = options;
        o.step = iteration;
        const auto& samples = *shared;
        const auto res = evaluateByGeneration(model, tokenizer, data, lookup, samples, o, observer);
        std::vector<std::vector<ItemId>> histories;
        for (const auto& s : samples)
            histories.push_back(s.history);
        const auto scores = teacher.scoreBatch(histories);
        std::map<std::string, std::pair<double, long>> perTask;
        double listSum = 0, itemSum = 0;
        for (size_t i = 0; i < samples.size(); ++i) {
            const auto parsed = parseOutput(res.outputs[i], lookup, ParseOptions{});
            const auto rr = rewardForOutput(samples[i], data, parsed, scores[i], reward);
            listSum += rr.list_reward;
            itemSum += rr.itemRewardSum();
            const std::string task = samples[i].task_name.empty() ? taskKindName(samples[i].task) : samples[i].task_name;
            perTask[task].first += rr.list_reward;
            perTask[task].second += 1;
        }
        const double n = std::max<double>(1.0, static_cast<double>(samples.size()));
        metrics.emplace_back("val/list_reward", listSum / n);
        metrics.emplace_back("val/item_reward", itemSum / n);
        metrics.emplace_back("val/hr", res.mean("hr"));
        metrics.emplace_back("val/ndcg", res.mean("ndcg"));
        for (const auto& [task, v] : perTask)
            metrics.emplace_back("val/" + task + "/list_reward", v.first / static_cast<double>(std::max(1L, v.second)));
        return listSum / n;
    };
}

// ---- trainer state -----------------------------------------------------------------------------

struct PpoTrainer::Impl {
    llm::LlamaModelImpl& model;
    const Tokenizer* tokenizer;
    std::function<std::vector<PpoPrompt>(int)> episodePrompts;
    PpoReward& reward;
    Observer& observer;
    torch::Device device{torch::kCPU};
    ValueHead head{nullptr};
    std::vector<std::pair<std::string, torch::Tensor>> trainable;
    std::unique_ptr<torch::optim::AdamW> optimizer;
    std::unique_ptr<TrainLoop> loop;
    KlController kl = KlController::fixed(0.3);
    TrainRng rng;
    long iteration = 0;   // iterations done
    int episode = 0;
    size_t cursor = 0;    // next prompt of `episode`
    int cachedEpisode = -1;
    std::vector<PpoPrompt> prompts;
    long totalIterations = 0;
    double bestValidation = -1e300;
    long bestIteration = 0;

    Impl(llm::LlamaModelImpl& m, const Tokenizer* t, std::function<std::vector<PpoPrompt>(int)> ep, PpoReward& r,
         Observer& o)
        : model(m), tokenizer(t), episodePrompts(std::move(ep)), reward(r), observer(o)
    {
    }

    int32_t padId() const { return tokenizer ? tokenizer->padId() : 0; }

    static void save(Impl& s, const PpoTrainConfig& c, const std::string& path);
    static void load(Impl& s, const PpoTrainConfig& c, const std::string& path);

    const std::vector<PpoPrompt>& episodeData(int e)
    {
        if (cachedEpisode != e) {
            prompts = episodePrompts(e);
            cachedEpisode = e;
            if (prompts.empty())
                throw CoreException(ErrorCode::InvalidConfig, "ppo: episode " + std::to_string(e) + " has no prompts",
                                    "ppo");
        }
        return prompts;
    }
};

// One rollout with every per-row quantity the learning phase needs.
struct PpoRollout {
    std::vector<PpoPrompt> prompts;
    std::vector<PpoResponse> responses;
    std::vector<PpoScore> scores;
    std::vector<std::vector<int32_t>> promptIds;  // per row
    std::vector<std::vector<int32_t>> actions;    // per row: the tokens PPO trains on
    std::vector<float> temperatures;              // per row: scoring temperature
    std::vector<torch::Tensor> oldLogp, refLogp, oldValues, advantages, returns;  // per row, (L_r)
    torch::Tensor mask;                           // (N, Tmax)
    torch::Tensor klK1, klK3;                     // (N, Tmax)
    torch::Tensor values, returnsAll, rewards;    // (N, Tmax)
};

PpoTrainer::PpoTrainer(llm::LlamaModelImpl& model, const Tokenizer* tokenizer, PpoTrainConfig config,
                       std::function<std::vector<PpoPrompt>(int)> episodePrompts, PpoReward& reward,
                       Observer& observer)
    : m(std::make_unique<Impl>(model, tokenizer, std::move(episodePrompts), reward, observer)),
      m_config(std::move(config))
{
    validateConfig(m_config);
    if (m_config.constraint && !m_config.first_sample_greedy && m_config.samples_per_prompt < 1)
        throw CoreException(ErrorCode::InvalidConfig, "ppo: no responses per prompt", "ppo.samples_per_prompt");
    m->device = model.embeddingWeight().device();
    // The reference is the base with adapters disabled: fold any SFT adapter into the base first.
    for (const auto& name : model.adapterNames()) {
        if (name == kActor || name == kCritic) {
            model.removeAdapter(name);
            continue;
        }
        if (!m_config.merge_existing_adapters)
            throw CoreException(ErrorCode::InvalidConfig,
                                "ppo: the model carries adapter '" + name
                                    + "'; merge it into the base first (merge_existing_adapters) so the "
                                      "reference policy is the SFT model",
                                "ppo.merge_existing_adapters");
        model.mergeAndUnload(name);
        observer.onLog(LogLevel::Info, m_config.stage + ": merged adapter '" + name + "' into the base model");
    }
    model.setBaseTrainable(false);
    auto actorSpec = m_config.actor_lora;
    auto criticSpec = m_config.critic_lora;
    if (actorSpec.seed == 0)
        actorSpec.seed = mixSeed({m_config.seed, 0xA1});
    if (criticSpec.seed == 0)
        criticSpec.seed = mixSeed({m_config.seed, 0xC1});
    model.addAdapter(kActor, actorSpec);
    model.addAdapter(kCritic, criticSpec);
    model.setActiveAdapter("");
    m->head = ValueHead(model.config().dim, m_config.value_head_inner, mixSeed({m_config.seed, 0x5E}));
    m->head->to(m->device);

    for (auto& [n, t] : model.namedAdapterParameters(kActor))
        m->trainable.emplace_back(std::string("actor/") + n, t);
    for (auto& [n, t] : model.namedAdapterParameters(kCritic))
        m->trainable.emplace_back(std::string("critic/") + n, t);
    for (const auto& p : m->head->named_parameters()) {
        p.value().set_requires_grad(m_config.train_value_head);
        if (m_config.train_value_head)
            m->trainable.emplace_back("value_head/" + p.key(), p.value());
    }
    if (m_config.lm_head_trainable) {
        model.untieHead();
        auto w = model.lm_head->weight();
        w.set_requires_grad(true);
        m->trainable.emplace_back("lm_head/weight", w);
    }
    m->optimizer = makeAdamW(m->trainable, m_config.optim);
    m->kl = m_config.adaptive_kl ? KlController::adaptive(m_config.kl_coef, m_config.target_kl, m_config.kl_horizon)
                                 : KlController::fixed(m_config.kl_coef);
    m->rng = TrainRng(mixSeed({m_config.seed, 0x5F}));
}

PpoTrainer::~PpoTrainer() = default;

ValueHeadImpl& PpoTrainer::valueHead() { return *m->head; }

bool PpoTrainer::restoreBest()
{
    if (m_config.output_dir.empty())
        return false;
    const auto path = (std::filesystem::path(m_config.output_dir) / "best" / "ppo_best.pt").string();
    if (!std::filesystem::exists(path))
        return false;
    StateReader r(path);
    copyNamedTensors(r.getNamedTensors("params"), m->trainable, "checkpoint '" + path + "' (params)");
    r.loadModule("value_head", *m->head);
    return true;
}

std::string PpoTrainer::checkpointPath() const
{
    return m_config.output_dir.empty() ? std::string() : (std::filesystem::path(m_config.output_dir) / kStateFile).string();
}

void PpoTrainer::Impl::save(Impl& s, const PpoTrainConfig& c, const std::string& path)
{
    s.loop->requireFiniteParameters(s.trainable);
    StateWriter w;
    w.putString("ppo/signature", signature(c));
    w.putInt("ppo/iteration", s.iteration);
    w.putInt("ppo/episode", s.episode);
    w.putInt("ppo/cursor", static_cast<int64_t>(s.cursor));
    w.putInt("ppo/optimizer_steps", s.loop->step());
    w.putInt("ppo/skipped", s.loop->skipped());
    w.putDouble("ppo/kl_coef", s.kl.value());
    w.putDouble("ppo/best_validation", s.bestValidation);
    w.putInt("ppo/best_iteration", s.bestIteration);
    w.putString("rng/data", s.rng.state());
    w.putTorchRng("rng/torch");
    w.putNamedTensors("params", s.trainable);
    w.putModule("value_head", *s.head);
    w.putOptimizer("optimizer", *s.optimizer);
    s.observer.onCheckpoint(c.stage, s.iteration);
    w.commit(path);
    s.loop->setLastCheckpoint(path);
}

void PpoTrainer::Impl::load(Impl& s, const PpoTrainConfig& c, const std::string& path)
{
    StateReader r(path);
    const std::string sig = r.getString("ppo/signature");
    if (sig != signature(c))
        throw CoreException(ErrorCode::InvalidConfig,
                            "ppo: checkpoint '" + path + "' was written by a different configuration (" + sig
                                + " vs " + signature(c) + "); use another output folder or resume = false",
                            "ppo.resume");
    s.iteration = r.getInt("ppo/iteration");
    s.episode = static_cast<int>(r.getInt("ppo/episode"));
    s.cursor = static_cast<size_t>(r.getInt("ppo/cursor"));
    s.loop->setStep(r.getInt("ppo/optimizer_steps"));
    s.loop->setSkipped(r.getInt("ppo/skipped"));
    s.kl.setValue(r.getDouble("ppo/kl_coef"));
    s.bestValidation = r.getDouble("ppo/best_validation");
    s.bestIteration = r.getInt("ppo/best_iteration");
    s.rng.setState(r.getString("rng/data"));
    r.loadTorchRng("rng/torch");
    copyNamedTensors(r.getNamedTensors("params"), s.trainable, "checkpoint '" + path + "' (params)");
    r.loadModule("value_head", *s.head);
    r.loadOptimizer("optimizer", *s.optimizer);
    s.loop->setLastCheckpoint(path);
}

namespace ppo_trainer_detail {

// Per-row scoring temperature: the generation temperature (greedy: 1), unless overridden.
float scoringTemperature(const PpoTrainConfig& c, bool greedy)
{
    if (c.score_temperature > 0.0)
        return static_cast<float>(c.score_temperature);
    return greedy || c.temperature <= 0.0 ? 1.0f : static_cast<float>(c.temperature);
}

torch::Tensor constraintMasksFor(const PpoTrainConfig& c, const std::vector<std::vector<int32_t>>& actions,
                                 int64_t vocab, int64_t T, const torch::Device& device)
{
    if (!c.constraint)
        return {};
    try {
        return llm::constraintMasks(*c.constraint, actions, vocab, T).to(device);
    } catch (const CoreException& e) {
        // Sampled tokens always follow the trie; re-rendered actions may tokenise differently.
        throw CoreException(ErrorCode::InvalidConfig,
                            "ppo: the actions leave the constrained-decoding token paths (" + std::string(e.what())
                                + "); turn off rerender_actions or constrained decoding",
                            "ppo.constrained_decoding");
    }
}

}  // namespace ppo_trainer_detail

// ---- run -------------------------------------------------------------------------------------------

PpoResult PpoTrainer::run()
{
    Impl& s = *m;
    const PpoTrainConfig& c = m_config;
    const int64_t V = s.model.config().vocab_size;
    const size_t episode0 = s.episodeData(0).size();
    const long perEpisode = static_cast<long>((episode0 + static_cast<size_t>(c.prompts_per_batch) - 1)
                                              / static_cast<size_t>(c.prompts_per_batch));
    s.totalIterations = c.max_iterations > 0 ? c.max_iterations : perEpisode * c.episodes;

    TrainLoopConfig lc;
    lc.stage = c.stage;
    lc.schedule.base_lr = c.optim.lr;
    lc.schedule.end_lr = c.end_lr;
    lc.schedule.power = c.lr_power;
    lc.schedule.warmup_steps = c.warmup_steps;
    lc.schedule.total_steps = std::max(1L, s.totalIterations);
    lc.max_grad_norm = c.grad_clip;
    lc.on_non_finite = c.on_non_finite;
    std::vector<torch::Tensor> params;
    for (auto& [n, t] : s.trainable)
        params.push_back(t);
    s.loop = std::make_unique<TrainLoop>(lc, s.observer, *s.optimizer, params);

    const std::string ckpt = checkpointPath();
    if (!ckpt.empty() && c.resume && std::filesystem::exists(ckpt)) {
        Impl::load(s, c, ckpt);
        s.observer.onLog(LogLevel::Info, c.stage + ": resumed from '" + ckpt + "' after iteration "
                                             + std::to_string(s.iteration));
    }
    s.observer.onStageBegin(c.stage, s.totalIterations);

    PpoResult result;
    bool atBoundary = true;  // the state is a consistent "between iterations" state
    try {
        while (s.iteration < s.totalIterations) {
            atBoundary = true;
            s.loop->checkCancel();
            atBoundary = false;
            // ---- next prompt batch -------------------------------------------------------------
            if (s.cursor >= s.episodeData(s.episode).size()) {
                ++s.episode;
                s.cursor = 0;
                if (c.max_iterations <= 0 && s.episode >= c.episodes)
                    break;
            }
            const auto& ep = s.episodeData(s.episode);
            PpoRollout ro;
            const size_t end = std::min(ep.size(), s.cursor + static_cast<size_t>(c.prompts_per_batch));
            ro.prompts.assign(ep.begin() + static_cast<long>(s.cursor), ep.begin() + static_cast<long>(end));
            const long it = s.iteration;  // 0-based index of this iteration
            s.loop->setStepLabel("step " + std::to_string(it + 1) + " (PPO iteration; optimizer step "
                                 + std::to_string(s.loop->step() + 1) + ")");

            // ---- rollout -----------------------------------------------------------------------
            const auto tRollout = Clock::now();
            std::vector<std::vector<int32_t>> promptIds;
            for (const auto& p : ro.prompts)
                promptIds.push_back(p.ids);
            for (int k = 0; k < c.samples_per_prompt; ++k) {
                const bool greedy = c.first_sample_greedy && k == 0;
                llm::GenerationConfig g;
                g.max_new_tokens = c.max_new_tokens;
                g.temperature = greedy ? 0.0 : c.temperature;
                g.top_k = greedy ? 0 : c.top_k;
                g.top_p = greedy ? 1.0 : c.top_p;
                g.seed = mixSeed({c.seed, static_cast<uint64_t>(it), static_cast<uint64_t>(k), 0x6E});
                g.constraint = c.constraint;
                g.adapter = std::string(kActor);
                if (s.tokenizer)
                    g.stop_token_ids = {s.tokenizer->eosId()};
                const auto gen = llm::generate(s.model, promptIds, g, s.tokenizer);
                for (size_t i = 0; i < promptIds.size(); ++i)
                    ro.responses.push_back({i, greedy, gen.tokens[i]});
            }
            ro.scores = s.reward.score(ro.prompts, ro.responses);
            if (ro.scores.size() != ro.responses.size())
                throw CoreException(ErrorCode::Internal, "ppo: the reward scored " + std::to_string(ro.scores.size())
                                                             + " of " + std::to_string(ro.responses.size())
                                                             + " responses");
            const size_t N = ro.responses.size();
            int64_t Tmax = 1;
            for (size_t r = 0; r < N; ++r) {
                const auto& act = ro.scores[r].actions.empty() ? ro.responses[r].tokens : ro.scores[r].actions;
                if (act.empty())
                    throw CoreException(ErrorCode::Internal, "ppo: empty response in row " + std::to_string(r));
                if (ro.scores[r].token_scores.size() != act.size())
                    throw CoreException(ErrorCode::Internal,
                                        "ppo: the reward gave " + std::to_string(ro.scores[r].token_scores.size())
                                            + " token scores for a response of " + std::to_string(act.size())
                                            + " tokens (row " + std::to_string(r) + ")");
                ro.actions.push_back(act);
                ro.promptIds.push_back(promptIds[ro.responses[r].prompt]);
                ro.temperatures.push_back(scoringTemperature(c, ro.responses[r].greedy));
                Tmax = std::max<int64_t>(Tmax, static_cast<int64_t>(act.size()));
            }
            // Old log-probs (actor), reference log-probs (adapters disabled), values (critic).
            {
                torch::NoGradGuard noGrad;
                s.model.eval();
                s.head->eval();
                for (size_t b0 = 0; b0 < N; b0 += static_cast<size_t>(c.forward_batch)) {
                    const size_t b1 = std::min(N, b0 + static_cast<size_t>(c.forward_batch));
                    std::vector<std::vector<int32_t>> pr(ro.promptIds.begin() + static_cast<long>(b0),
                                                         ro.promptIds.begin() + static_cast<long>(b1));
                    std::vector<std::vector<int32_t>> ac(ro.actions.begin() + static_cast<long>(b0),
                                                         ro.actions.begin() + static_cast<long>(b1));
                    const auto packed = packSequences(pr, ac, s.padId(), s.device);
                    ScoreOptions so;
                    so.temperatures = torch::tensor(std::vector<float>(ro.temperatures.begin() + static_cast<long>(b0),
                                                                       ro.temperatures.begin() + static_cast<long>(b1)));
                    so.allowed = constraintMasksFor(c, ac, V, packed.response_columns, s.device);
                    so.adapter = kActor;
                    const auto actor = scoreSequences(s.model, packed, so);
                    so.adapter = "";
                    const auto ref = scoreSequences(s.model, packed, so);
                    ScoreOptions vo;
                    vo.adapter = kCritic;
                    vo.want_logprobs = false;
                    vo.value_head = s.head.get();
                    const auto critic = scoreSequences(s.model, packed, vo);
                    for (size_t r = b0; r < b1; ++r) {
                        const int64_t L = static_cast<int64_t>(ro.actions[r].size());
                        const int64_t row = static_cast<int64_t>(r - b0);
                        ro.oldLogp.push_back(actor.logprobs[row].slice(0, 0, L).clone());
                        ro.refLogp.push_back(ref.logprobs[row].slice(0, 0, L).clone());
                        ro.oldValues.push_back(critic.values[row].slice(0, 0, L).clone());
                    }
                }
                std::vector<torch::Tensor> maskRows, scoreRows;
                for (size_t r = 0; r < N; ++r) {
                    const int64_t L = static_cast<int64_t>(ro.actions[r].size());
                    maskRows.push_back(torch::ones({L}, torch::dtype(torch::kFloat).device(s.device)));
                    scoreRows.push_back(torch::tensor(ro.scores[r].token_scores).to(s.device));
                }
                ro.mask = padRows(maskRows, Tmax, s.device);
                const auto old = padRows(ro.oldLogp, Tmax, s.device);
                const auto ref = padRows(ro.refLogp, Tmax, s.device);
                ro.values = padRows(ro.oldValues, Tmax, s.device);
                ro.klK1 = klEstimate(old, ref, KlEstimator::K1) * ro.mask;
                ro.klK3 = klEstimate(old, ref, KlEstimator::K3) * ro.mask;
                const auto penalty = klEstimate(old, ref, c.kl_estimator) * ro.mask;
                ro.rewards = assembleTokenRewards(padRows(scoreRows, Tmax, s.device), penalty, ro.mask, s.kl.value());
                auto rewards = c.whiten_rewards ? maskedWhiten(ro.rewards, ro.mask, /*shiftMean=*/false) : ro.rewards;
                const auto gae = computeGae(rewards, ro.values, ro.mask, c.gamma, c.lambda);
                ro.returnsAll = gae.returns;
                const auto adv = c.whiten_advantages ? maskedWhiten(gae.advantages, ro.mask, true) : gae.advantages;
                for (size_t r = 0; r < N; ++r) {
                    const int64_t L = static_cast<int64_t>(ro.actions[r].size());
                    ro.advantages.push_back(adv[static_cast<int64_t>(r)].slice(0, 0, L).clone());
                    ro.returns.push_back(gae.returns[static_cast<int64_t>(r)].slice(0, 0, L).clone());
                }
            }
            const double rolloutSeconds = secondsSince(tRollout);

            // ---- learning ----------------------------------------------------------------------
            const auto tLearn = Clock::now();
            s.model.train();
            s.head->train();
            s.loop->zeroGrad();
            double sumPg = 0, sumVf = 0, sumEnt = 0, sumClip = 0, sumApprox = 0, sumPolicyKl = 0, sumVfClip = 0,
                   sumRatio = 0, sumGrad = 0, sumLr = 0, firstRatioDev = 0, lastLr = 0;
            long nMicro = 0, nSteps = 0;
            int epochsDone = 0;
            bool earlyStopped = false;
            std::vector<size_t> order(N);
            std::iota(order.begin(), order.end(), size_t(0));
            for (int epoch = 0; epoch < c.ppo_epochs; ++epoch) {
                s.loop->checkCancel();
                for (size_t i = order.size(); i > 1; --i)
                    std::swap(order[i - 1], order[static_cast<size_t>(s.rng.uniformInt(0, static_cast<int>(i) - 1))]);
                const size_t mb = static_cast<size_t>(c.mini_batch);
                const size_t nMb = (N + mb - 1) / mb;
                const size_t A = static_cast<size_t>(c.grad_accum);
                double epochPolicyKl = 0;
                long epochMicro = 0;
                for (size_t j = 0; j < nMb; ++j) {
                    std::vector<size_t> rows(order.begin() + static_cast<long>(j * mb),
                                             order.begin() + static_cast<long>(std::min(N, (j + 1) * mb)));
                    std::vector<std::vector<int32_t>> pr, ac;
                    std::vector<float> temps;
                    std::vector<torch::Tensor> oldR, advR, retR, valR;
                    for (size_t r : rows) {
                        pr.push_back(ro.promptIds[r]);
                        ac.push_back(ro.actions[r]);
                        temps.push_back(ro.temperatures[r]);
                        oldR.push_back(ro.oldLogp[r]);
                        advR.push_back(ro.advantages[r]);
                        retR.push_back(ro.returns[r]);
                        valR.push_back(ro.oldValues[r]);
                    }
                    const auto packed = packSequences(pr, ac, s.padId(), s.device);
                    const int64_t T = packed.response_columns;
                    ScoreOptions so;
                    so.adapter = kActor;
                    so.temperatures = torch::tensor(temps);
                    so.allowed = constraintMasksFor(c, ac, V, T, s.device);
                    so.want_entropy = true;
                    const auto actor = scoreSequences(s.model, packed, so);
                    ScoreOptions vo;
                    vo.adapter = kCritic;
                    vo.want_logprobs = false;
                    vo.value_head = s.head.get();
                    const auto critic = scoreSequences(s.model, packed, vo);
                    const auto pl = clippedPolicyLoss(actor.logprobs, padRows(oldR, T, s.device),
                                                      padRows(advR, T, s.device), packed.mask, c.clip_eps);
                    const auto vl = clippedValueLoss(critic.values, padRows(valR, T, s.device),
                                                     padRows(retR, T, s.device), packed.mask, c.value_clip);
                    const auto ent = maskedMean(actor.entropy, packed.mask);
                    const auto loss = pl.loss + c.vf_coef * vl.loss - c.ent_coef * ent;
                    if (epoch == 0 && j == 0)
                        firstRatioDev = pl.ratio_max - 1.0;
                    const size_t group = j / A;
                    const size_t groupSize = std::min(A, nMb - group * A);
                    if (s.loop->acceptLoss(loss.item<double>())) {
                        (loss / static_cast<double>(groupSize)).backward();
                        sumPg += pl.loss.item<double>();
                        sumVf += vl.loss.item<double>();
                        sumEnt += ent.item<double>();
                        sumClip += pl.clipfrac;
                        sumApprox += pl.approxkl;
                        sumPolicyKl += pl.policykl;
                        sumVfClip += vl.clipfrac;
                        sumRatio += pl.ratio_mean;
                        epochPolicyKl += pl.policykl;
                        ++nMicro;
                        ++epochMicro;
                    }
                    if ((j + 1) % A == 0 || j + 1 == nMb) {
                        const auto st = s.loop->optimizerStep(it);
                        if (st.applied) {
                            sumGrad += st.grad_norm;
                            sumLr += st.learning_rate;
                            lastLr = st.learning_rate;
                            ++nSteps;
                        }
                    }
                }
                ++epochsDone;
                if (c.policy_kl_threshold > 0 && epochMicro > 0
                    && epochPolicyKl / static_cast<double>(epochMicro) > c.policy_kl_threshold) {
                    earlyStopped = epoch + 1 < c.ppo_epochs;
                    break;
                }
            }
            s.model.eval();
            s.head->eval();
            const double learnSeconds = secondsSince(tLearn);

            // ---- statistics ----------------------------------------------------------------------
            std::vector<double> total;
            double itemSum = 0, listSum = 0, lenSum = 0;
            long items = 0, nonExist = 0, repeat = 0, inHistory = 0, beyond = 0;
            for (size_t r = 0; r < N; ++r) {
                const auto& sc = ro.scores[r];
                total.push_back(sc.item_reward + sc.list_reward);
                itemSum += sc.item_reward;
                listSum += sc.list_reward;
                lenSum += static_cast<double>(ro.actions[r].size());
                items += sc.items;
                nonExist += sc.non_exist;
                repeat += sc.repeat;
                inHistory += sc.in_history;
                beyond += sc.beyond_k;
            }
            const double n = static_cast<double>(N);
            const double mean = std::accumulate(total.begin(), total.end(), 0.0) / n;
            double var = 0;
            for (double x : total)
                var += (x - mean) * (x - mean);
            const double stdev = N > 1 ? std::sqrt(var / (n - 1.0)) : 0.0;
            const double klSeq = ro.klK1.sum().item<double>() / n;
            const double klSeqK3 = ro.klK3.sum().item<double>() / n;
            const double klCoefUsed = s.kl.value();
            const double nonScore = (-klCoefUsed * klEstimate(padRows(ro.oldLogp, Tmax, s.device),
                                                              padRows(ro.refLogp, Tmax, s.device), c.kl_estimator)
                                     * ro.mask)
                                        .sum()
                                        .item<double>()
                / n;
            const double share = items > 0 ? 1.0 / static_cast<double>(items) : 0.0;
            const double mic = nMicro > 0 ? 1.0 / static_cast<double>(nMicro) : 0.0;
            std::vector<std::pair<std::string, double>> metrics = {
                {"env/reward_mean", mean},
                {"env/reward_std", stdev},
                {"reward/item_mean", itemSum / n},
                {"reward/list_mean", listSum / n},
                {"objective/kl", klSeq},
                {"objective/kl_k3", klSeqK3},
                {"objective/kl_coef", klCoefUsed},
                {"ppo/mean_non_score_reward", nonScore},
                {"ppo/policy/clipfrac", sumClip * mic},
                {"ppo/policy/approxkl", sumApprox * mic},
                {"ppo/policy/policykl", sumPolicyKl * mic},
                {"ppo/policy/entropy", sumEnt * mic},
                {"ppo/policy/ratio", sumRatio * mic},
                {"ppo/policy/first_ratio_dev", firstRatioDev},
                {"ppo/loss/policy", sumPg * mic},
                {"ppo/val/loss", sumVf * mic},
                {"ppo/val/clipfrac", sumVfClip * mic},
                {"ppo/val/var_explained", explainedVariance(ro.values, ro.returnsAll, ro.mask)},
                {"ppo/returns/mean", maskedMean(ro.returnsAll, ro.mask).item<double>()},
                {"ppo/epochs", static_cast<double>(epochsDone)},
                {"ppo/early_stop", earlyStopped ? 1.0 : 0.0},
                {"tokens/responses_len_mean", lenSum / n},
                {"illegal/nonexist", nonExist * share},
                {"illegal/repeat", repeat * share},
                {"illegal/inhistory", inHistory * share},
                {"illegal/beyond_k", beyond * share},
                {"learning_rate", nSteps > 0 ? sumLr / static_cast<double>(nSteps) : lastLr},
                {"grad_norm", nSteps > 0 ? sumGrad / static_cast<double>(nSteps) : 0.0},
                {"time/rollout_s", rolloutSeconds},
                {"time/learn_s", learnSeconds},
            };
            s.kl.update(klSeq, static_cast<long>(N));
            result.early_stopped_any = result.early_stopped_any || earlyStopped;
            result.rollout_seconds += rolloutSeconds;
            result.learn_seconds += learnSeconds;
            result.last_reward_mean = mean;

            s.cursor = end;
            s.iteration = it + 1;
            const double epochProgress = static_cast<double>(s.episode)
                + static_cast<double>(s.cursor) / static_cast<double>(std::max<size_t>(1, ep.size()));

            for (int k = 0; k < std::min<int>(c.samples_per_iteration, static_cast<int>(N)); ++k) {
                const auto& r = ro.responses[static_cast<size_t>(k)];
                SampleRecord rec;
                rec.stage = c.stage;
                rec.variant = r.greedy ? "greedy" : "sampled";
                rec.task = ro.prompts[r.prompt].task;
                rec.step = s.iteration;
                rec.prompt = ro.prompts[r.prompt].text;
                rec.output = ro.scores[static_cast<size_t>(k)].text;
                rec.details_json = ro.scores[static_cast<size_t>(k)].details_json;
                s.observer.onSample(rec);
            }
            if (m_validator && c.validate_every > 0 && s.iteration % c.validate_every == 0) {
                std::vector<std::pair<std::string, double>> vm;
                const double v = m_validator(s.model, s.iteration, vm);
                metrics.insert(metrics.end(), vm.begin(), vm.end());
                metrics.emplace_back("validation/score", v);
                if (v > s.bestValidation) {
                    s.bestValidation = v;
                    s.bestIteration = s.iteration;
                    if (!m_config.output_dir.empty()) {
                        const auto dir = (std::filesystem::path(m_config.output_dir) / "best").string();
                        StateWriter w;
                        w.putNamedTensors("params", s.trainable);
                        w.putModule("value_head", *s.head);
                        w.putInt("iteration", s.iteration);
                        w.putDouble("score", v);
                        w.commit(dir + "/ppo_best.pt");
                    }
                }
            }
            s.loop->emit(s.iteration, s.totalIterations, epochProgress, std::move(metrics));
            if (!ckpt.empty() && c.checkpoint_every > 0 && s.iteration % c.checkpoint_every == 0)
                Impl::save(s, c, ckpt);
            atBoundary = true;
        }
    } catch (const CoreException& e) {
        // A cancel inside an iteration keeps the last checkpoint (the half-done iteration reruns).
        if (e.error().code == ErrorCode::Cancelled && atBoundary && !ckpt.empty() && c.checkpoint_on_cancel) {
            s.model.eval();
            s.loop->zeroGrad();
            Impl::save(s, c, ckpt);
        }
        throw;
    }
    if (!ckpt.empty())
        Impl::save(s, c, ckpt);
    s.observer.onStageEnd(c.stage);
    result.iterations = s.iteration;
    result.optimizer_steps = s.loop->step();
    result.best_validation = s.bestValidation;
    result.best_iteration = s.bestIteration;
    result.checkpoint_path = ckpt;
    return result;
}

}  // namespace recalign::core
