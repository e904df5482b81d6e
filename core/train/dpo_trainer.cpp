// DPO / S-DPO trainer (see dpo_trainer.h): sample and rank lists with the rule-based reward, the
// reference log-probs once, then epochs of preference groups under the "actor" adapter.
#include "core/train/dpo_trainer.h"

#include "core/api/error.h"
#include "core/llm/generation.h"
#include "core/llm/llama_config.h"
#include "core/rules/rng.h"
#include "core/runtime/state_file.h"
#include "core/train/ppo_math.h"
#include "core/train/ppo_trainer.h"
#include "core/train/schedule.h"
#include "core/train/sequences.h"
#include "core/train/train_state.h"
#include "core/util/files.h"
#include "core/util/json_text.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <numeric>

namespace recalign::core {

namespace dpo_trainer_detail {

constexpr const char* kStateFile = "dpo_state.safetensors";
constexpr const char* kPreferenceFile = "preferences.json";
using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t0)
{
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string signature(const DpoTrainConfig& c)
{
    return "seed=" + std::to_string(c.seed) + ";sdpo=" + std::to_string(c.sdpo ? 1 : 0) + ";r="
        + std::to_string(c.ppo.actor_lora.r) + ";negatives=" + std::to_string(c.sdpo ? c.hyper.negatives : 1)
        + ";samples=" + std::to_string(c.hyper.samples_per_prompt);
}

nlohmann::json toJson(const std::vector<PreferenceGroup>& groups, const PreferenceStats& s)
{
    nlohmann::json j;
    j["stats"] = {{"prompts", s.prompts},         {"groups", s.groups},
                  {"ties", s.ties},               {"all_illegal", s.all_illegal},
                  {"short_groups", s.short_groups}, {"negatives", s.negatives}};
    nlohmann::json gs = nlohmann::json::array();
    for (const auto& g : groups)
        gs.push_back({{"prompt", g.prompt},
                      {"chosen", g.chosen},
                      {"chosen_score", g.chosen_score},
                      {"rejected", g.rejected},
                      {"rejected_scores", g.rejected_scores}});
    j["groups"] = gs;
    return j;
}

void fromJson(const nlohmann::json& j, std::vector<PreferenceGroup>& groups, PreferenceStats& s)
{
    const auto& st = j.at("stats");
    s.prompts = st.at("prompts").get<long>();
    s.groups = st.at("groups").get<long>();
    s.ties = st.at("ties").get<long>();
    s.all_illegal = st.at("all_illegal").get<long>();
    s.short_groups = st.at("short_groups").get<long>();
    s.negatives = st.at("negatives").get<long>();
    for (const auto& g : j.at("groups")) {
        PreferenceGroup p;
        p.prompt = g.at("prompt").get<size_t>();
        p.chosen = g.at("chosen").get<std::vector<int32_t>>();
        p.chosen_score = g.at("chosen_score").get<double>();
        p.rejected = g.at("rejected").get<std::vector<std::vector<int32_t>>>();
        p.rejected_scores = g.at("rejected_scores").get<std::vector<double>>();
        groups.push_back(std::move(p));
    }
}

}  // namespace dpo_trainer_detail

using namespace dpo_trainer_detail;

bool buildPreferenceGroup(const std::vector<std::vector<int32_t>>& lists, const std::vector<double>& totals,
                          const std::vector<int>& legalItems, int negatives, PreferenceGroup& out,
                          PreferenceStats& stats)
{
    if (lists.size() != totals.size() || lists.size() != legalItems.size() || lists.size() < 2)
        throw CoreException(ErrorCode::Internal, "buildPreferenceGroup: " + std::to_string(lists.size()) + " lists, "
                                                     + std::to_string(totals.size()) + " scores, "
                                                     + std::to_string(legalItems.size()) + " legal counts");
    ++stats.prompts;
    if (std::all_of(legalItems.begin(), legalItems.end(), [](int n) { return n <= 0; })) {
        ++stats.all_illegal;
        return false;
    }
    const auto [lo, hi] = std::minmax_element(totals.begin(), totals.end());
    if (*lo == *hi) {
        ++stats.ties;
        return false;
    }
    const size_t best = static_cast<size_t>(hi - totals.begin());  // the first of the highest
    std::vector<size_t> order(lists.size());
    std::iota(order.begin(), order.end(), size_t(0));
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return totals[a] < totals[b]; });
    out = PreferenceGroup{};
    out.chosen = lists[best];
    out.chosen_score = totals[best];
    for (size_t i : order) {
        if (static_cast<int>(out.rejected.size()) == negatives || totals[i] >= totals[best])
            break;
        if (std::find(out.rejected.begin(), out.rejected.end(), lists[i]) != out.rejected.end())
            continue;  // the same list twice would count its gradient twice
        out.rejected.push_back(lists[i]);
        out.rejected_scores.push_back(totals[i]);
    }
    ++stats.groups;
    stats.negatives += static_cast<long>(out.rejected.size());
    if (static_cast<int>(out.rejected.size()) < negatives)
        ++stats.short_groups;
    return true;
}

struct DpoTrainer::Impl {
    llm::LlamaModelImpl& model;
    const Tokenizer* tokenizer;
    DpoTrainConfig c;
    std::vector<PpoPrompt> prompts;
    PpoReward& reward;
    Observer& observer;
    torch::Device device{torch::kCPU};
    std::vector<std::pair<std::string, torch::Tensor>> trainable;
    std::unique_ptr<torch::optim::AdamW> optimizer;
    std::unique_ptr<TrainLoop> loop;
    TrainRng rng;
    int epoch = 0;  // epochs done

    Impl(llm::LlamaModelImpl& m, const Tokenizer* t, DpoTrainConfig config, std::vector<PpoPrompt> p, PpoReward& r,
         Observer& o)
        : model(m), tokenizer(t), c(std::move(config)), prompts(std::move(p)), reward(r), observer(o)
    {
    }

    int32_t padId() const { return tokenizer ? tokenizer->padId() : 0; }
    int negatives() const { return c.sdpo ? c.hyper.negatives : 1; }
    std::string path(const char* file) const
    {
        return c.output_dir.empty() ? std::string() : (std::filesystem::path(c.output_dir) / file).string();
    }

    // Samples dpo.samples_per_prompt lists per prompt from the SFT policy (adapters disabled) and
    // ranks them.
    std::vector<PreferenceGroup> samplePreferences(PreferenceStats& stats)
    {
        const int N = c.hyper.samples_per_prompt;
        std::vector<PreferenceGroup> groups;
        model.eval();
        for (size_t b0 = 0; b0 < prompts.size(); b0 += static_cast<size_t>(c.generation_batch)) {
            loop->checkCancel();
            const size_t b1 = std::min(prompts.size(), b0 + static_cast<size_t>(c.generation_batch));
            std::vector<PpoPrompt> batch(prompts.begin() + static_cast<long>(b0), prompts.begin() + static_cast<long>(b1));
            std::vector<std::vector<int32_t>> ids;
            for (const auto& p : batch)
                ids.push_back(p.ids);
            std::vector<PpoResponse> responses;
            for (int k = 0; k < N; ++k) {
                llm::GenerationConfig g;
                g.max_new_tokens = c.max_new_tokens;
                g.temperature = c.ppo.temperature;
                g.top_k = c.ppo.top_k;
                g.top_p = c.ppo.top_p;
                g.seed = mixSeed({c.seed, static_cast<uint64_t>(b0), static_cast<uint64_t>(k), 0xD0});
                g.adapter = std::string();
                if (tokenizer)
                    g.stop_token_ids = {tokenizer->eosId()};
                const auto gen = llm::generate(model, ids, g, tokenizer);
                for (size_t i = 0; i < ids.size(); ++i)
                    responses.push_back({i, false, gen.tokens[i]});
            }
            const auto scores = reward.score(batch, responses);
            if (scores.size() != responses.size())
                throw CoreException(ErrorCode::Internal, "dpo: the reward scored " + std::to_string(scores.size())
                                                             + " of " + std::to_string(responses.size()) + " lists");
            for (size_t i = 0; i < batch.size(); ++i) {
                std::vector<std::vector<int32_t>> lists;
                std::vector<double> totals;
                std::vector<int> legal;
                for (size_t r = 0; r < responses.size(); ++r) {
                    if (responses[r].prompt != i)
                        continue;
                    const PpoScore& s = scores[r];
                    lists.push_back(responses[r].tokens);
                    totals.push_back(s.item_reward + s.list_reward);
                    legal.push_back(s.items - s.non_exist - s.repeat - s.in_history - s.beyond_k);
                }
                PreferenceGroup g;
                if (buildPreferenceGroup(lists, totals, legal, negatives(), g, stats)) {
                    g.prompt = b0 + i;
                    groups.push_back(std::move(g));
                }
            }
        }
        return groups;
    }

    // Summed response log-probs of the chosen list and the rejected ones (rows: chosen first).
    torch::Tensor sequenceLogprobs(const PreferenceGroup& g, const std::string& adapter)
    {
        std::vector<std::vector<int32_t>> pr(1 + g.rejected.size(), prompts[g.prompt].ids);
        std::vector<std::vector<int32_t>> rows{g.chosen};
        rows.insert(rows.end(), g.rejected.begin(), g.rejected.end());
        const auto packed = packSequencesTight(pr, rows, padId(), device);
        ScoreOptions so;
        so.adapter = adapter;
        const auto sc = scoreSequences(model, packed, so);
        return (sc.logprobs * packed.mask).sum(1);
    }

    void save(const std::string& file, long step)
    {
        loop->requireFiniteParameters(trainable);
        StateWriter w;
        w.putString("dpo/signature", signature(c));
        w.putInt("dpo/epoch", epoch);
        w.putInt("dpo/optimizer_steps", step);
        w.putString("rng/data", rng.state());
        w.putTorchRng("rng/torch");
        w.putNamedTensors("params", trainable);
        putAdapterDescription(w, "actor/", model.adapterSpec(kPpoActorAdapter), step);
        w.putOptimizer("optimizer", *optimizer);
        observer.onCheckpoint(c.stage, step);
        w.commit(file);
        loop->setLastCheckpoint(file);
    }

    void load(const std::string& file)
    {
        StateReader r(file);
        if (r.getString("dpo/signature") != signature(c))
            throw CoreException(ErrorCode::InvalidConfig,
                                "dpo: checkpoint '" + file + "' was written by a different configuration ("
                                    + r.getString("dpo/signature") + " vs " + signature(c) + ")",
                                "dpo");
        epoch = static_cast<int>(r.getInt("dpo/epoch"));
        loop->setStep(r.getInt("dpo/optimizer_steps"));
        rng.setState(r.getString("rng/data"));
        r.loadTorchRng("rng/torch");
        copyNamedTensors(r.getNamedTensors("params"), trainable, "checkpoint '" + file + "' (params)");
        r.loadOptimizer("optimizer", *optimizer);
        loop->setLastCheckpoint(file);
    }
};

DpoTrainer::DpoTrainer(llm::LlamaModelImpl& model, const Tokenizer* tokenizer, DpoTrainConfig config,
                       std::vector<PpoPrompt> prompts, PpoReward& reward, Observer& observer)
{
    m = std::make_unique<Impl>(model, tokenizer, std::move(config), std::move(prompts), reward, observer);
    const DpoTrainConfig& c = m->c;
    if (m->prompts.empty())
        throw CoreException(ErrorCode::InvalidConfig, "dpo: no prompts to build preferences from", "dpo.max_prompts");
    if (c.hyper.samples_per_prompt <= m->negatives())
        throw CoreException(ErrorCode::InvalidConfig,
                            "dpo.samples_per_prompt (" + std::to_string(c.hyper.samples_per_prompt)
                                + ") must exceed the rejected lists per group (" + std::to_string(m->negatives()) + ")",
                            "dpo.samples_per_prompt");
    m->device = model.embeddingWeight().device();
    // The reference is the SFT policy: existing adapters stay, frozen, beneath the new one.
    for (const auto& name : model.adapterNames()) {
        if (name == kPpoActorAdapter) {
            model.removeAdapter(name);
            continue;
        }
        model.stackAdapter(name);
    }
    model.setBaseTrainable(false);
    model.addAdapter(kPpoActorAdapter, llm::loraSpec(c.ppo.actor_lora, c.seed + 1));
    model.setActiveAdapter("");
    for (auto& [n, t] : model.namedAdapterParameters(kPpoActorAdapter))
        m->trainable.emplace_back(std::string("actor/") + n, t);
    m->optimizer = makeAdamW(m->trainable, AdamWSettings{c.hyper.lr, 0.0, 0.9, 0.999, 1e-8});
    m->rng = TrainRng(mixSeed({c.seed, 0xD1}));
}

DpoTrainer::~DpoTrainer() = default;

DpoResult DpoTrainer::run()
{
    Impl& s = *m;
    const DpoTrainConfig& c = s.c;
    DpoResult result;
    std::vector<torch::Tensor> params;
    for (auto& [n, t] : s.trainable)
        params.push_back(t);
    TrainLoopConfig lc;
    lc.stage = c.stage;
    lc.max_grad_norm = 1.0;
    lc.schedule.base_lr = c.hyper.lr;
    lc.schedule.end_lr = 0.0;
    lc.schedule.power = 1.0;
    lc.schedule.warmup_steps = c.hyper.warmup_steps;
    s.loop = std::make_unique<TrainLoop>(lc, s.observer, *s.optimizer, params);

    // 1. Preferences: kept beside the checkpoint, so a resumed stage does not sample again.
    const auto t0 = Clock::now();
    std::vector<PreferenceGroup> groups;
    const std::string prefFile = s.path(kPreferenceFile);
    if (!prefFile.empty() && std::filesystem::exists(prefFile)) {
        fromJson(nlohmann::json::parse(readFile(prefFile, ErrorCode::CheckpointIO)), groups, result.data);
        s.observer.onLog(LogLevel::Info, c.stage + ": " + std::to_string(groups.size()) + " preference groups from '"
                                             + prefFile + "'");
    } else {
        s.observer.onLog(LogLevel::Info, c.stage + ": sampling " + std::to_string(c.hyper.samples_per_prompt)
                                             + " lists for each of " + std::to_string(s.prompts.size()) + " prompts");
        groups = s.samplePreferences(result.data);
        if (!prefFile.empty())
            writeFileAtomic(prefFile, jsonText(toJson(groups, result.data)), ErrorCode::CheckpointIO);
    }
    result.sampling_seconds = secondsSince(t0);
    const PreferenceStats& st = result.data;
    s.observer.onLog(LogLevel::Info,
                     c.stage + ": " + std::to_string(st.groups) + " preference groups from " + std::to_string(st.prompts)
                         + " prompts (dropped: " + std::to_string(st.ties) + " all tied, " + std::to_string(st.all_illegal)
                         + " all illegal; " + std::to_string(st.short_groups) + " with fewer than "
                         + std::to_string(s.negatives()) + " rejected lists)");
    if (groups.empty())
        throw CoreException(ErrorCode::InvalidConfig,
                            c.stage + ": no prompt gave a preference (" + std::to_string(st.ties) + " tied, "
                                + std::to_string(st.all_illegal) + " all illegal of " + std::to_string(st.prompts)
                                + "); sample more lists per prompt (dpo.samples_per_prompt) or raise ppo.temperature",
                            "dpo.samples_per_prompt");

    // 2. The reference's log-probs, once (adapters disabled = the SFT policy).
    std::vector<torch::Tensor> refLogp;
    {
        torch::NoGradGuard noGrad;
        s.model.eval();
        for (const auto& g : groups)
            refLogp.push_back(s.sequenceLogprobs(g, ""));
    }

    // 3. Epochs of preference groups, dpo.grad_accum groups per optimiser step.
    const long A = c.hyper.grad_accum;
    const long perEpoch = (static_cast<long>(groups.size()) + A - 1) / A;
    const long total = perEpoch * c.hyper.epochs;
    const std::string ckpt = s.path(kStateFile);
    // The schedule needs the step count, known only now.
    lc.schedule.total_steps = std::max(1L, total);
    s.loop = std::make_unique<TrainLoop>(lc, s.observer, *s.optimizer, params);
    if (!ckpt.empty() && std::filesystem::exists(ckpt)) {
        s.load(ckpt);
        s.observer.onLog(LogLevel::Info, c.stage + ": resumed from '" + ckpt + "' after epoch " + std::to_string(s.epoch));
    }
    s.observer.onStageBegin(c.stage, total);
    const auto t1 = Clock::now();
    std::vector<size_t> order(groups.size());
    // A cancel inside an epoch keeps the last epoch's checkpoint: the epoch reruns exactly.
    while (s.epoch < c.hyper.epochs) {
        s.loop->checkCancel();
        std::iota(order.begin(), order.end(), size_t(0));
        for (size_t i = order.size(); i > 1; --i)
            std::swap(order[i - 1], order[static_cast<size_t>(s.rng.uniformInt(0, static_cast<int>(i) - 1))]);
        s.model.train();
        s.loop->zeroGrad();
        double sumLoss = 0, sumChosen = 0, sumRejected = 0, sumMargin = 0, sumAcc = 0, sumLpW = 0, sumLpL = 0;
        long n = 0;
        for (size_t j = 0; j < order.size(); ++j) {
            const PreferenceGroup& g = groups[order[j]];
            const auto lp = s.sequenceLogprobs(g, kPpoActorAdapter);
            const auto& ref = refLogp[order[j]];
            const auto pl = preferenceLoss(lp[0], ref[0], lp.slice(0, 1), ref.slice(0, 1), c.hyper.beta);
            const long inStep = std::min<long>(A, static_cast<long>(order.size()) - static_cast<long>(j / A) * A);
            if (s.loop->acceptLoss(pl.loss.item<double>())) {
                (pl.loss / static_cast<double>(inStep)).backward();
                sumLoss += pl.loss.item<double>();
                sumChosen += pl.chosen_reward;
                sumRejected += pl.rejected_reward;
                sumMargin += pl.margin;
                sumAcc += pl.accuracy;
                sumLpW += lp[0].item<double>();
                sumLpL += lp.slice(0, 1).mean().item<double>();
                ++n;
            }
            if ((j + 1) % static_cast<size_t>(A) != 0 && j + 1 != order.size())
                continue;
            const auto stp = s.loop->optimizerStep();
            const double k = n > 0 ? 1.0 / static_cast<double>(n) : 0.0;
            result.last_loss = sumLoss * k;
            result.last_margin = sumMargin * k;
            result.last_accuracy = sumAcc * k;
            const long step = s.loop->step();
            s.loop->emit(step, total, static_cast<double>(s.epoch) + static_cast<double>(j + 1) / order.size(),
                         {{"loss", sumLoss * k},
                          {"rewards/chosen", sumChosen * k},
                          {"rewards/rejected", sumRejected * k},
                          {"rewards/margins", sumMargin * k},
                          {"rewards/accuracies", sumAcc * k},
                          {"logps/chosen", sumLpW * k},
                          {"logps/rejected", sumLpL * k},
                          {"learning_rate", stp.learning_rate},
                          {"grad_norm", stp.grad_norm}});
            sumLoss = sumChosen = sumRejected = sumMargin = sumAcc = sumLpW = sumLpL = 0;
            n = 0;
            s.loop->checkCancel();
        }
        s.model.eval();
        ++s.epoch;
        if (!ckpt.empty())
            s.save(ckpt, s.loop->step());
    }
    s.observer.onStageEnd(c.stage);
    result.steps = s.loop->step();
    result.training_seconds = secondsSince(t1);
    return result;
}

}  // namespace recalign::core
