// SFT trainer: LoRA / full fine-tuning on the rules layer's task mixture, reply-only loss,
// generation-based validation, best-adapter selection, resumable checkpoints.
#include "core/train/sft_trainer.h"

#include "core/api/error.h"
#include "core/dist/dist.h"
#include "core/llm/loaders.h"
#include "core/rules/rng.h"
#include "core/rules/title_lookup.h"
#include "core/runtime/runtime.h"
#include "core/util/length_groups.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <numeric>

namespace recalign::core {

namespace sft_trainer_detail {

constexpr const char* kStateFile = "sft_state.safetensors";

using Clock = std::chrono::steady_clock;

std::string signature(const SftTrainConfig& c)
{
    return "seed=" + std::to_string(c.seed) + ";data_seed=" + std::to_string(c.data.task.seed)
        + ";batch=" + std::to_string(c.hyper.batch) + ";accum=" + std::to_string(c.hyper.grad_accum)
        + ";full=" + std::to_string(c.hyper.full_finetune ? 1 : 0) + ";adapter=" + c.adapter
        + ";r=" + std::to_string(c.hyper.lora.r) + ";targets=" + std::to_string(llm::parseLoraTargets(c.hyper.lora.targets));
}

void validateConfig(const SftTrainConfig& c)
{
    auto bad = [](const std::string& key, const std::string& what) {
        throw CoreException(ErrorCode::InvalidConfig, "sft." + key + ": " + what, "sft." + key);
    };
    if (c.hyper.batch < 1)
        bad("batch", "must be >= 1");
    if (c.hyper.grad_accum < 1)
        bad("grad_accum", "must be >= 1");
    if (c.hyper.epochs < 1)
        bad("epochs", "must be >= 1");
    if (c.hyper.max_output_tokens < 0 || c.hyper.max_prompt_tokens < 0)
        bad("max_output_tokens", "token limits must be >= 0 (0 = none)");
    if (c.hyper.max_output_tokens == 1)
        bad("max_output_tokens", "must leave room for at least one reply token besides EOS (>= 2, or 0)");
    if (!c.hyper.full_finetune && c.adapter.empty())
        bad("adapter", "LoRA training needs an adapter name");
    if (c.hyper.batch % dist::world() != 0)
        bad("batch", std::to_string(c.hyper.batch) + " samples per micro-batch do not divide among "
                         + std::to_string(dist::world()) + " processes (data parallelism splits each micro-batch; "
                         "use a multiple of the world size)");
}

std::vector<std::pair<std::string, torch::Tensor>> trainableOf(llm::LlamaModelImpl& model, const SftTrainConfig& c)
{
    std::vector<std::pair<std::string, torch::Tensor>> out;
    if (c.hyper.full_finetune) {
        for (const auto& p : model.named_parameters(/*recurse=*/true))
            if (p.value().requires_grad())
                out.emplace_back(p.key(), p.value());
    } else {
        out = model.namedAdapterParameters(c.adapter);
    }
    return out;
}

}  // namespace sft_trainer_detail

using namespace sft_trainer_detail;


// ---- batches and loss ------------------------------------------------------------------------------

namespace sft_trainer_detail {

struct Encoded {
    std::vector<std::vector<int32_t>> prompts, replies;
};

Encoded encodeSamples(const std::vector<const Sample*>& samples, const Tokenizer& tokenizer, const SftTrainConfig& config)
{
    Encoded e;
    for (const Sample* s : samples) {
        e.prompts.push_back(encodePrompt(tokenizer, s->prompt, config.chat_template, config.hyper.max_prompt_tokens));
        e.replies.push_back(encodeReply(tokenizer, s->output_text, config.hyper.max_output_tokens));
    }
    return e;
}

SftBatch pack(const Encoded& e, const std::vector<size_t>& rows, int32_t padId, const torch::Device& device)
{
    std::vector<std::vector<int32_t>> prompts, replies;
    SftBatch b;
    for (size_t r : rows) {
        prompts.push_back(e.prompts[r]);
        replies.push_back(e.replies[r]);
        b.reply_tokens += static_cast<long>(e.replies[r].size());
        b.tokens += static_cast<long>(e.prompts[r].size() + e.replies[r].size());
    }
    b.rows = static_cast<long>(rows.size());
    b.packed = packSequencesTight(prompts, replies, padId, device);  // the loss is per row
    return b;
}

// A sub-batch costs about this many positions of work beyond its rows' (its operator calls and
// smaller products). An estimate, not tuned: at the quickstart's size a forward and backward's
// few hundred operator calls take ~2 ms and a position ~0.1 ms (bench train's SFT, Zen 3).
constexpr double kSubBatchOverhead = 256.0;

}  // namespace sft_trainer_detail

SftBatch makeSftBatch(const std::vector<const Sample*>& samples, const Tokenizer& tokenizer,
                      const SftTrainConfig& config, const torch::Device& device)
{
    std::vector<size_t> all(samples.size());
    std::iota(all.begin(), all.end(), size_t(0));
    return sft_trainer_detail::pack(sft_trainer_detail::encodeSamples(samples, tokenizer, config), all,
                                    tokenizer.padId(), device);
}

std::vector<SftBatch> makeSftSubBatches(const std::vector<const Sample*>& samples, const Tokenizer& tokenizer,
                                        const SftTrainConfig& config, const llm::LlamaConfig& model,
                                        const torch::Device& device)
{
    using namespace sft_trainer_detail;
    const Encoded e = encodeSamples(samples, tokenizer, config);
    std::vector<size_t> order(samples.size());
    std::iota(order.begin(), order.end(), size_t(0));
    auto width = [&](size_t r) { return static_cast<int64_t>(e.prompts[r].size() + e.replies[r].size()); };
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return width(a) < width(b); });
    std::vector<int64_t> widths;
    for (size_t r : order)
        widths.push_back(width(r));
    // Per position and layer, attention's products take 2 * width * dim multiply-adds against the
    // linear layers' dim * (2 * dim + 2 * kv_dim) + 3 * dim * hidden_dim.
    const double linear = static_cast<double>(model.dim) * (2.0 * model.dim + 2.0 * model.kvDim() + 3.0 * model.hidden_dim);
    const auto groups = planLengthGroups(widths, paddedCost(linear / (2.0 * model.dim), kSubBatchOverhead));
    std::vector<SftBatch> out;
    for (const auto& [g0, g1] : groups)
        out.push_back(pack(e, std::vector<size_t>(order.begin() + static_cast<long>(g0), order.begin() + static_cast<long>(g1)),
                           tokenizer.padId(), device));
    return out;
}

torch::Tensor sftLoss(llm::LlamaModelImpl& model, const SftBatch& batch, bool checkpointLayers)
{
    const auto& p = batch.packed;
    const int64_t T = p.response_columns;
    llm::ForwardOptions fo;
    fo.outputs_last = T + 1;  // columns P-1 .. P+T-1; the last one predicts nothing we train on
    fo.checkpoint_layers = checkpointLayers;
    const auto out = model.forward(p.tokens, p.attention, fo);
    const auto logits = out.logits.slice(1, 0, T).to(torch::kFloat);  // (B, T, V)
    const auto nll = -torch::log_softmax(logits, -1).gather(-1, p.response.unsqueeze(-1)).squeeze(-1);
    const auto perSample = (nll * p.mask).sum(1) / p.mask.sum(1).clamp_min(1.0);  // (B)
    return perSample.mean();
}

// ---- trainer ---------------------------------------------------------------------------------------

// One optimizer step's micro-batches, forward and backward.
struct SftGroup {
    bool accepted = true;  // false: a non-finite loss dropped the step's batch
    bool non_finite = false;  // data parallel: this rank saw a non-finite loss (decided after the reduction)
    double loss = 0.0;     // sample-weighted mean loss
    long tokens = 0;
};

struct SftTrainer::Impl {
    llm::LlamaModelImpl& model;
    const Tokenizer& tokenizer;
    const Dataset& data;
    const Teacher* teacher;
    const TitleLookup& lookup;
    SftTrainConfig config;
    Observer& observer;
    torch::Device device{torch::kCPU};
    std::vector<std::pair<std::string, torch::Tensor>> trainable;
    std::unique_ptr<torch::optim::AdamW> optimizer;
    std::unique_ptr<TrainLoop> loop;
    std::function<std::vector<Sample>(int)> epochSource;
    bool haveValidation = false;
    std::vector<Sample> validation;
    // Progress (saved in checkpoints).
    int epoch = 0;
    long micro = 0;  // micro-batches of `epoch` consumed
    double bestMetric = -1.0;
    long bestStep = 0;
    std::vector<torch::Tensor> bestWeights;  // clones of `trainable` at the best validation
    double lastLoss = 0.0;
    // The current epoch's samples.
    int cachedEpoch = -1;
    std::vector<Sample> samples;

    Impl(llm::LlamaModelImpl& m, const Tokenizer& t, const Dataset& d, const Teacher* te, const TitleLookup& l,
         SftTrainConfig c, Observer& o)
        : model(m), tokenizer(t), data(d), teacher(te), lookup(l), config(std::move(c)), observer(o)
    {
    }

    std::string dir(const std::string& name) const
    {
        return (std::filesystem::path(config.output_dir) / name).string();
    }

    const std::vector<Sample>& epochSamples(int e)
    {
        if (cachedEpoch != e) {
            samples = epochSource(e);
            cachedEpoch = e;
            if (samples.empty())
                throw CoreException(ErrorCode::InvalidConfig,
                                    config.stage + ": epoch " + std::to_string(e) + " has no training samples",
                                    "sft");
        }
        return samples;
    }

    void save(const std::string& path)
    {
        loop->requireFiniteParameters(trainable);
        if (!dist::isWriter()) {  // rank 0 writes; every rank holds the same state
            loop->setLastCheckpoint(path);
            return;
        }
        StateWriter w;
        w.putString("sft/signature", signature(config));
        w.putInt("sft/epoch", epoch);
        w.putInt("sft/micro", micro);
        w.putInt("sft/step", loop->step());
        w.putInt("sft/skipped", loop->skipped());
        w.putDouble("sft/best_metric", bestMetric);
        w.putInt("sft/best_step", bestStep);
        w.putDouble("sft/last_loss", lastLoss);
        w.putTorchRng("rng/torch");
        w.putNamedTensors("params", trainable);
        if (!config.hyper.full_finetune)
            putAdapterDescription(w, "", model.adapterSpec(config.adapter), loop->step());
        w.putOptimizer("optimizer", *optimizer);
        if (!bestWeights.empty()) {
            std::vector<std::pair<std::string, torch::Tensor>> best;
            for (size_t i = 0; i < trainable.size(); ++i)
                best.emplace_back(trainable[i].first, bestWeights[i]);
            w.putNamedTensors("best", best);
        }
        observer.onCheckpoint(config.stage, loop->step());
        w.commit(path);
        loop->setLastCheckpoint(path);
    }

    void load(const std::string& path)
    {
        StateReader r(path);
        const std::string sig = r.getString("sft/signature");
        if (sig != signature(config))
            throw CoreException(ErrorCode::InvalidConfig,
                                config.stage + ": checkpoint '" + path + "' was written by a different configuration ("
                                    + sig + " vs " + signature(config) + "); use another output folder or resume = false",
                                "sft.resume");
        epoch = static_cast<int>(r.getInt("sft/epoch"));
        micro = r.getInt("sft/micro");
        loop->setStep(r.getInt("sft/step"));
        loop->setSkipped(r.getInt("sft/skipped"));
        bestMetric = r.getDouble("sft/best_metric");
        bestStep = r.getInt("sft/best_step");
        lastLoss = r.getDouble("sft/last_loss");
        r.loadTorchRng("rng/torch");
        copyNamedTensors(r.getNamedTensors("params"), trainable, "checkpoint '" + path + "' (params)");
        r.loadOptimizer("optimizer", *optimizer);
        bestWeights.clear();
        if (r.has("best/names"))
            for (auto& [n, t] : r.getNamedTensors("best"))
                bestWeights.push_back(t.to(device));
        loop->setLastCheckpoint(path);
    }

    // Micro-batches [g0, g1) of `samples`: losses weighted by their share of the step's samples.
    SftGroup forwardBackward(const std::vector<Sample>& samples, long g0, long g1, size_t perMicro);

    void keepBest(double metric, long step)
    {
        bestMetric = metric;
        bestStep = step;
        bestWeights.clear();
        for (auto& [n, t] : trainable)
            bestWeights.push_back(t.detach().clone());
        if (config.output_dir.empty() || !dist::isWriter())
            return;
        const std::string bestDir = dir("best");
        if (config.hyper.full_finetune)
            llm::saveCheckpoint(model, bestDir, &tokenizer);
        else
            llm::exportPeftAdapter(model, config.adapter, bestDir);
    }
};

SftTrainer::SftTrainer(llm::LlamaModelImpl& model, const Tokenizer& tokenizer, const Dataset& data,
                       const Teacher* teacher, const TitleLookup& lookup, SftTrainConfig config, Observer& observer)
    : m(std::make_unique<Impl>(model, tokenizer, data, teacher, lookup, std::move(config), observer))
{
    SftTrainConfig& c = m->config;
    validateConfig(c);
    m->device = model.embeddingWeight().device();
    if (c.hyper.full_finetune) {
        model.setBaseTrainable(true);
    } else {
        if (model.hasAdapter(c.adapter))
            model.removeAdapter(c.adapter);
        model.setBaseTrainable(false);
        if (c.hyper.init_adapter.empty()) {
            model.addAdapter(c.adapter, llm::loraSpec(c.hyper.lora, mixSeed({c.seed, 0x5F7})));
        } else {
            llm::importPeftAdapter(model, c.hyper.init_adapter, c.adapter);
            const llm::LoraSpec& s = model.adapterSpec(c.adapter);
            observer.onLog(LogLevel::Info, c.stage + ": the adapter starts from '" + c.hyper.init_adapter + "' (r "
                                               + std::to_string(s.r) + ", alpha " + std::to_string(s.alpha)
                                               + "; its settings replace sft.lora's)");
        }
        model.setActiveAdapter(c.adapter);
    }
    m->trainable = trainableOf(model, c);
    m->optimizer = makeAdamW(m->trainable, AdamWSettings{c.hyper.lr, c.hyper.weight_decay, 0.9, 0.999, 1e-5});
    m->epochSource = [this](int e) {
        if (!m->teacher && m->config.data.mix != SftMix::Palr)
            throw CoreException(ErrorCode::InvalidConfig, m->config.stage + ": the v1/v2 mixtures need a teacher",
                                "sft.teacher");
        SftOptions o = m->config.data;
        o.share_gpt_ratio = m->config.hyper.share_chat_ratio;
        return buildSftEpoch(m->data, m->teacher, o, e);
    };
}

SftTrainer::~SftTrainer() = default;

void SftTrainer::setEpochSource(std::function<std::vector<Sample>(int)> source) { m->epochSource = std::move(source); }

void SftTrainer::setValidationSamples(std::vector<Sample> samples)
{
    m->validation = std::move(samples);
    m->haveValidation = true;
}

std::string SftTrainer::checkpointPath() const
{
    return m->config.output_dir.empty() ? std::string() : m->dir(kStateFile);
}

GenerationEvalResult SftTrainer::validate(long step)
{
    Impl& s = *m;
    const SftTrainConfig& c = s.config;
    if (!s.haveValidation) {
        if (!s.teacher)
            throw CoreException(ErrorCode::InvalidConfig,
                                c.stage + ": validation needs a teacher or explicit validation samples", "sft.teacher");
        SuiteOptions eo;
        eo.task = c.data.task;
        eo.split = Stage::Valid;
        eo.users_per_task = c.hyper.val_users_per_task;
        eo.disjoint_slices = true;
        std::vector<EvalTask> tasks = c.val_tasks;
        if (tasks.empty())
            for (const char* name : {"i0", "i1+", "i1-", "i2le_20"})
                tasks.push_back(EvalTask::parse(name));
        s.validation = buildEvalSuite(s.data, *s.teacher, eo, tasks);
        s.haveValidation = true;
    }
    GenerationEvalOptions go;
    go.chat_template = c.chat_template;
    go.max_prompt_tokens = c.hyper.max_prompt_tokens;
    go.batch = c.val_batch;
    go.generation.max_new_tokens = c.val_max_new_tokens > 0 ? c.val_max_new_tokens : c.hyper.max_output_tokens;
    go.generation.temperature = 0.0;
    go.generation.stop_token_ids = {s.tokenizer.eosId()};
    go.parse.fuzzy = c.val_fuzzy;
    go.stage = c.stage;
    go.step = step;
    const bool wasTraining = s.model.is_training();
    s.model.eval();
    auto res = evaluateByGeneration(s.model, s.tokenizer, s.data, s.lookup, s.validation, go, s.observer);
    s.model.train(wasTraining);
    return res;
}

SftGroup SftTrainer::Impl::forwardBackward(const std::vector<Sample>& samples, long g0, long g1, size_t perMicro)
{
    SftGroup g;
    const size_t first = static_cast<size_t>(g0) * perMicro;
    const size_t last = std::min(samples.size(), static_cast<size_t>(g1) * perMicro);
    const double groupSamples = static_cast<double>(last - first);
    // Data parallel: each rank takes a contiguous share of every micro-batch, its loss weighted by
    // its rows' share of the whole step's samples, so the summed gradients are one process's.
    const bool parallel = loop->config().data_parallel;
    const size_t ranks = static_cast<size_t>(dist::world()), me = static_cast<size_t>(dist::rank());
    // Thousands of rows per product: the budget to OpenBLAS's threads in float32 (core/api/info.h).
    ScopedLargeProductThreads productThreads(device, model.float32Products());
    for (long mb = g0; mb < g1; ++mb) {
        const size_t b0 = static_cast<size_t>(mb) * perMicro;
        const size_t b1 = std::min(samples.size(), static_cast<size_t>(mb + 1) * perMicro);
        const size_t share = (b1 - b0 + ranks - 1) / ranks;
        const size_t r0 = std::min(b1, b0 + me * share), r1 = std::min(b1, r0 + share);
        std::vector<const Sample*> rows;
        for (size_t i = r0; i < r1; ++i)
            rows.push_back(&samples[i]);
        if (rows.empty())
            continue;  // a short last micro-batch: this rank has no rows of it
        for (const auto& batch : makeSftSubBatches(rows, tokenizer, config, model.config(), device)) {
            const auto loss = sftLoss(model, batch, config.hyper.gradient_checkpointing);
            const double lv = loss.item<double>();
            if (parallel && !std::isfinite(lv)) {
                g.non_finite = true;  // every rank decides together after the reduction
                return g;
            }
            if (!parallel && !loop->acceptLoss(lv)) {
                g.accepted = false;  // the whole optimizer step's batch is dropped
                return g;
            }
            const double weight = static_cast<double>(batch.rows) / groupSamples;
            (loss * weight).backward();
            g.loss += lv * weight;
            g.tokens += batch.tokens;
        }
    }
    return g;
}

void SftTrainer::validateAndKeep(long step, double epochPos, long totalSteps, SftResult& result)
{
    Impl& s = *m;
    const SftTrainConfig& c = s.config;
    if (!s.haveValidation && c.hyper.val_users_per_task <= 0)
        return;  // no validation users and no explicit samples: nothing to validate on
    const auto v = validate(step);
    result.last_validation = v.tasks;
    double metric = 0.0;
    switch (c.hyper.selection_metric) {
    case SftConfig::Selection::Ndcg: metric = v.mean("ndcg"); break;
    case SftConfig::Selection::Hr: metric = v.mean("hr"); break;
    case SftConfig::Selection::Last: metric = static_cast<double>(step); break;
    }
    std::vector<std::pair<std::string, double>> metrics;
    for (const auto& t : v.tasks)
        for (const char* key : {"hr", "ndcg", "non_exist", "repeat", "in_history", "correct_count", "tcp_ratio", "cpa"}) {
            const auto it = t.values.find(key);
            if (it != t.values.end())
                metrics.emplace_back("val/" + t.task + "/" + key, it->second.mean);
        }
    metrics.emplace_back("val/hr", v.mean("hr"));
    metrics.emplace_back("val/ndcg", v.mean("ndcg"));
    metrics.emplace_back("val/selection", metric);
    s.loop->emit(step, totalSteps, epochPos, std::move(metrics));
    if (s.bestWeights.empty() || metric > s.bestMetric)
        s.keepBest(metric, step);
}

SftResult SftTrainer::run()
{
    Impl& s = *m;
    const SftTrainConfig& c = s.config;
    const size_t perMicro = static_cast<size_t>(c.hyper.batch);
    const long accum = c.hyper.grad_accum;
    auto stepsIn = [&](size_t n) {
        const long micro = static_cast<long>((n + perMicro - 1) / perMicro);
        return (micro + accum - 1) / accum;
    };
    const long perEpoch = stepsIn(s.epochSamples(0).size());
    const long totalSteps = c.max_steps > 0 ? std::min<long>(c.max_steps, perEpoch * c.hyper.epochs) : perEpoch * c.hyper.epochs;

    TrainLoopConfig lc;
    lc.stage = c.stage;
    lc.schedule.base_lr = c.hyper.lr;
    lc.schedule.end_lr = c.hyper.end_lr;
    lc.schedule.power = c.hyper.lr_power;
    lc.schedule.total_steps = std::max(1L, perEpoch * c.hyper.epochs);
    lc.schedule.warmup_steps = warmupFromRatio(lc.schedule.total_steps, c.hyper.warmup_ratio);
    lc.max_grad_norm = c.hyper.grad_clip;
    lc.on_non_finite = c.on_non_finite;
    lc.data_parallel = dist::world() > 1;
    std::vector<torch::Tensor> params;
    for (auto& [n, t] : s.trainable)
        params.push_back(t);
    s.loop = std::make_unique<TrainLoop>(lc, s.observer, *s.optimizer, params);

    const std::string ckpt = checkpointPath();
    if (!ckpt.empty() && c.resume && std::filesystem::exists(ckpt)) {
        s.load(ckpt);
        s.observer.onLog(LogLevel::Info, c.stage + ": resumed from '" + ckpt + "' at step "
                                             + std::to_string(s.loop->step()));
    }
    if (lc.data_parallel && dist::rank() > 0) {
        // LoRA dropout: every rank its own stream of masks, derived from the stage's (rank 0 keeps
        // it), so a run is reproducible for a given world size; masks are not those of one process.
        const int64_t draw = torch::randint(std::numeric_limits<int32_t>::max(), {1}, torch::kLong).item<int64_t>();
        torch::manual_seed(mixSeed({static_cast<uint64_t>(draw), static_cast<uint64_t>(dist::rank())}));
    }
    s.observer.onStageBegin(c.stage, totalSteps);

    SftResult result;
    double tokenSeconds = 0.0;
    long tokenCount = 0;
    auto runValidation = [&](long step, double epochPos) { validateAndKeep(step, epochPos, totalSteps, result); };

    s.model.train();
    bool atBoundary = true;
    try {
        bool done = s.loop->step() >= totalSteps;
        while (!done && s.epoch < c.hyper.epochs) {
            const auto& samples = s.epochSamples(s.epoch);
            const long nMicro = static_cast<long>((samples.size() + perMicro - 1) / perMicro);
            while (s.micro < nMicro) {
                atBoundary = true;
                s.loop->checkCancel();
                atBoundary = false;
                const auto t0 = Clock::now();
                const long g1 = std::min(nMicro, s.micro + accum);
                const double comm0 = dist::commSeconds();
                const SftGroup group = s.forwardBackward(samples, s.micro, g1, perMicro);
                // Data parallel: the gradients, loss and tokens of every rank, summed.
                std::vector<double> stats{group.loss, static_cast<double>(group.tokens), group.non_finite ? 1.0 : 0.0};
                s.loop->reduceGradients(stats);
                const double lossSum = stats[0];
                const long tokens = static_cast<long>(stats[1]);
                s.micro = g1;
                if (!group.accepted)
                    continue;
                if (stats[2] > 0.0 && !s.loop->acceptLoss(std::numeric_limits<double>::quiet_NaN()))
                    continue;
                const auto st = s.loop->optimizerStep();
                if (!st.applied)
                    continue;
                const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
                tokenSeconds += secs;
                tokenCount += tokens;
                s.lastLoss = lossSum;
                const long step = s.loop->step();
                const double epochPos = s.epoch + static_cast<double>(s.micro) / static_cast<double>(nMicro);
                if (c.log_every <= 1 || step % c.log_every == 0 || step == totalSteps) {
                    std::vector<std::pair<std::string, double>> metrics{
                        {"loss", lossSum},
                        {"learning_rate", st.learning_rate},
                        {"grad_norm", st.grad_norm},
                        {"tokens_per_s", secs > 0 ? static_cast<double>(tokens) / secs : 0.0}};
                    if (lc.data_parallel)  // seconds of this step spent in collectives (rank 0's)
                        metrics.emplace_back("comm_s", dist::commSeconds() - comm0);
                    s.loop->emit(step, totalSteps, epochPos, std::move(metrics));
                }
                if (c.val_every_steps > 0 && step % c.val_every_steps == 0)
                    runValidation(step, epochPos);
                if (step >= totalSteps) {
                    done = true;
                    break;
                }
                if (!ckpt.empty() && c.checkpoint_every > 0 && step % c.checkpoint_every == 0)
                    s.save(ckpt);
                atBoundary = true;
            }
            if (s.micro >= nMicro) {
                ++s.epoch;
                s.micro = 0;
                result.epochs_done = s.epoch;
                if (c.val_every_epochs > 0 && s.epoch % c.val_every_epochs == 0)
                    runValidation(s.loop->step(), static_cast<double>(s.epoch));
                if (!ckpt.empty() && !done)
                    s.save(ckpt);
            }
        }
    } catch (const CoreException& e) {
        if (e.error().code == ErrorCode::Cancelled && atBoundary && !ckpt.empty() && c.checkpoint_on_cancel)
            s.save(ckpt);
        throw;
    }
    if (s.bestWeights.empty() && c.hyper.selection_metric == SftConfig::Selection::Last)
        s.keepBest(static_cast<double>(s.loop->step()), s.loop->step());
    if (!ckpt.empty())
        s.save(ckpt);
    if (c.load_best_at_end && !s.bestWeights.empty()) {
        torch::NoGradGuard noGrad;
        for (size_t i = 0; i < s.trainable.size(); ++i)
            s.trainable[i].second.copy_(s.bestWeights[i]);
    }
    s.model.eval();
    s.observer.onStageEnd(c.stage);
    result.steps = s.loop->step();
    result.epochs_done = s.epoch;
    result.last_loss = s.lastLoss;
    result.best_metric = s.bestMetric;
    result.best_step = s.bestStep;
    result.best_dir = c.output_dir.empty() ? std::string() : s.dir("best");
    result.tokens_per_second = tokenSeconds > 0 ? static_cast<double>(tokenCount) / tokenSeconds : 0.0;
    return result;
}

}  // namespace recalign::core
