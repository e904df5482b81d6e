// SASRec training: user stream, length-bucketed batches, BCE / CE losses, Adam, validation,
// early stopping, ReduceLROnPlateau, checkpoints and exact resume.
#include "core/sasrec/sasrec_trainer.h"

#include "core/dist/dist.h"

#include "core/api/error.h"
#include "core/runtime/runtime.h"
#include "core/sasrec/sasrec_model.h"
#include "core/sasrec/sasrec_teacher.h"
#include "core/util/length_groups.h"
#include "core/util/strings.h"

#include <c10/core/InferenceMode.h>
#include <nlohmann/json.hpp>
#include <torch/nn/functional/loss.h>
#include <torch/optim/adam.h>

#include <ATen/Parallel.h>

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <limits>
#include <numeric>

namespace recalign::core {

namespace sasrec_trainer_detail {

using Clock = std::chrono::steady_clock;
double secondsSince(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }
double processCpuSeconds()
{
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}
double wallNow()
{
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// While training, freed tensors stay in the heap instead of going back to the kernel: the
// per-batch attention buffers (MBs each) otherwise cost a page fault per 4 KiB on every batch
// (a third of the epoch time on ml-latest-small). Restores glibc's defaults and trims at the end.
class AllocatorGuard {
public:
    AllocatorGuard()
    {
        mallopt(M_MMAP_THRESHOLD, 1 << 30);
        mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max());
    }
    ~AllocatorGuard()
    {
        mallopt(M_MMAP_THRESHOLD, 128 * 1024);
        mallopt(M_TRIM_THRESHOLD, 128 * 1024);
        malloc_trim(0);
    }
    AllocatorGuard(const AllocatorGuard&) = delete;
    AllocatorGuard& operator=(const AllocatorGuard&) = delete;
};

// Cost model of one sub-batch (in "positions of linear work"): n rows of width w cost
// n*w*(1 + w/kAttnWidth) (attention grows with w^2), plus a fixed per-sub-batch overhead.
// Measured on ml-latest-small (d 50, maxlen 200): anything in 60..120 / 100..1500 is within 3%.
constexpr double kAttnWidth = 120.0;
constexpr double kChunkOverhead = 400.0;
constexpr int64_t kCePositionsPerChunk = 4096;  // CE logits [positions, N] per sub-batch

// One training sequence: inputs S[m-1-w .. m-2], targets S[m-w .. m-1], w = min(m-1, maxlen).
struct Row {
    UserIndex user;
    int width;
};

// Splits rows sorted by width into contiguous sub-batches minimising the cost model; without
// buckets, the fewest sub-batches under the positions cap.
std::vector<std::pair<size_t, size_t>> planChunks(const std::vector<Row>& rows, bool buckets, int64_t maxPositions)
{
    if (!buckets && maxPositions <= 0)
        return {{0, rows.size()}};
    std::vector<int64_t> widths;
    for (const Row& r : rows)
        widths.push_back(r.width);
    return planLengthGroups(widths, buckets ? paddedCost(kAttnWidth, kChunkOverhead) : GroupCost([](size_t, double) { return 1.0; }),
                            maxPositions);
}

torch::Tensor rngTensor(const SasRecRng& rng)
{
    torch::Tensor t = torch::empty({4}, torch::kLong);
    std::memcpy(t.data_ptr<int64_t>(), rng.state().data(), sizeof(uint64_t) * 4);
    return t;
}

void rngFromTensor(SasRecRng& rng, const torch::Tensor& t, const std::string& path)
{
    if (t.scalar_type() != torch::kLong || t.numel() != 4)
        throw CoreException(ErrorCode::CheckpointIO, "checkpoint '" + path + "': bad RNG state", path);
    SasRecRng::State s;
    std::memcpy(s.data(), t.contiguous().data_ptr<int64_t>(), sizeof(uint64_t) * 4);
    rng.setState(s);
}

// Parameters by position ("0", "1", ...), for the current and best weights.
std::vector<std::pair<std::string, torch::Tensor>> numbered(const std::vector<torch::Tensor>& params)
{
    std::vector<std::pair<std::string, torch::Tensor>> out;
    for (size_t i = 0; i < params.size(); ++i)
        out.emplace_back(std::to_string(i), params[i]);
    return out;
}

nlohmann::json metricsJson(const RankingMetrics& m)
{
    return nlohmann::json{{"users", m.users}, {"hr", m.hr}, {"ndcg", m.ndcg}, {"mrr", m.mrr}};
}

RankingMetrics metricsFromJson(const nlohmann::json& j)
{
    RankingMetrics m;
    m.users = j.at("users").get<long>();
    m.hr = j.at("hr").get<std::array<double, 3>>();
    m.ndcg = j.at("ndcg").get<std::array<double, 3>>();
    m.mrr = j.at("mrr").get<double>();
    return m;
}

void addMetrics(StepRecord& r, const std::string& prefix, const RankingMetrics& m)
{
    for (size_t k = 0; k < kEvalCutoffs.size(); ++k) {
        r.metrics.emplace_back(prefix + "/hr@" + std::to_string(kEvalCutoffs[k]), m.hr[k]);
        r.metrics.emplace_back(prefix + "/ndcg@" + std::to_string(kEvalCutoffs[k]), m.ndcg[k]);
    }
    r.metrics.emplace_back(prefix + "/mrr", m.mrr);
}

double median(std::vector<double> v)
{
    if (v.empty())
        return 0.0;
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

class Trainer {
public:
    Trainer(const Dataset& data, const SasRecTrainConfig& config, Observer& observer);
    SasRecTrainResult run();

private:
    void buildUserData();
    UserIndex nextUser();
    double trainBatch(int epoch, int batchIndex);
    RankingMetrics validate();
    void setLearningRate(double lr);
    double learningRate();
    void saveCheckpoint(const std::string& path, bool final);
    void resume(const std::string& path);
    std::vector<torch::Tensor> cloneParams();
    void loadParams(const std::vector<torch::Tensor>& params);

    const Dataset& m_data;
    SasRecTrainConfig m_config;
    Observer& m_observer;
    torch::Device m_device{torch::kCPU};
    SasRecModel m_model{nullptr};
    std::unique_ptr<torch::optim::Adam> m_optimizer;
    SasRecRng m_sampleRng;
    SasRecRng m_dropoutRng;
    std::vector<std::vector<ItemId>> m_train;        // per user: train sequence
    std::vector<std::vector<ItemId>> m_trainSorted;  // per user: sorted unique (negative sampling)
    std::vector<UserIndex> m_stream;                 // shuffled stream of users with >= 2 train items
    size_t m_streamPos = 0;
    // Progress (checkpointed).
    int m_epoch = 0;
    double m_bestNdcg = -1.0;
    int m_bestEpoch = 0;
    int m_badEvals = 0;
    int m_plateauBad = 0;
    bool m_stoppedEarly = false;
    std::vector<torch::Tensor> m_bestParams;      // best-validation weights (early stopping)
    std::vector<torch::Tensor> m_trainingParams;  // last training weights when "model" holds the best
    std::vector<SasRecEpochRecord> m_history;
};

Trainer::Trainer(const Dataset& data, const SasRecTrainConfig& config, Observer& observer)
    : m_data(data), m_config(config), m_observer(observer)
{
    m_config.model.num_items = data.numItems();
    m_config.validate();
    if (data.fingerprint.empty())
        throw CoreException(ErrorCode::InvalidConfig, "dataset '" + data.name + "' has no fingerprint (call finalize())",
                            "dataset");
    m_device = resolveDevice(m_config.device);
    m_model = SasRecModel(m_config.model);
    m_model->initWeights(m_config.seed);
    m_model->to(m_device);
    torch::optim::AdamOptions opts(m_config.lr);
    opts.betas({m_config.beta1, m_config.beta2}).eps(m_config.adam_eps).weight_decay(m_config.weight_decay);
    m_optimizer = std::make_unique<torch::optim::Adam>(m_model->parameters(), opts);
    m_sampleRng = SasRecRng::derived(m_config.seed, 0x5A5, 1);
    m_dropoutRng = SasRecRng::derived(m_config.seed, 0xD0D, 2);
    buildUserData();
}

void Trainer::buildUserData()
{
    const auto users = static_cast<size_t>(m_data.numUsers());
    m_train.resize(users);
    m_trainSorted.resize(users);
    for (UserIndex u = 0; u < m_data.numUsers(); ++u) {
        auto& t = m_train[static_cast<size_t>(u)];
        t = m_data.trainSequence(u);
        auto& s = m_trainSorted[static_cast<size_t>(u)];
        s = t;
        std::sort(s.begin(), s.end());
        s.erase(std::unique(s.begin(), s.end()), s.end());
        if (t.size() >= 2)
            m_stream.push_back(u);
    }
    if (m_stream.empty())
        throw CoreException(ErrorCode::InvalidConfig,
                            "dataset '" + m_data.name + "' has no user with 2+ training interactions", "dataset");
    m_streamPos = m_stream.size();  // the first draw shuffles
}

UserIndex Trainer::nextUser()
{
    if (m_streamPos >= m_stream.size()) {
        for (size_t i = m_stream.size() - 1; i > 0; --i) {
            const auto j = static_cast<size_t>(m_sampleRng.uniformInt(0, static_cast<int64_t>(i)));
            std::swap(m_stream[i], m_stream[j]);
        }
        m_streamPos = 0;
    }
    return m_stream[m_streamPos++];
}

double Trainer::trainBatch(int epoch, int batchIndex)
{
    const SasRecConfig& mc = m_config.model;
    const int maxlen = mc.maxlen;
    std::vector<Row> rows;
    rows.reserve(static_cast<size_t>(m_config.batch_size));
    int64_t totalPositions = 0;
    for (int i = 0; i < m_config.batch_size; ++i) {
        const UserIndex u = nextUser();
        const int m = static_cast<int>(m_train[static_cast<size_t>(u)].size());
        const int w = std::min(m - 1, maxlen);
        rows.push_back({u, w});
        totalPositions += w;
    }
    std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.width < b.width; });
    const bool ce = m_config.loss == SasRecLoss::Ce;
    const auto chunks = planChunks(rows, m_config.length_buckets, ce ? kCePositionsPerChunk : 0);
    const int k = m_config.negatives;
    const int32_t numItems = m_data.numItems();
    const double norm = static_cast<double>(totalPositions);
    // Every chunk draws its negatives and dropout masks from its own stream, derived from one word
    // of each trainer stream per batch and the chunk's index: the same draws whichever rank of a
    // data-parallel job computes the chunk (chunks go to ranks by their share of the positions;
    // a batch of one chunk is computed by rank 0 alone).
    const uint64_t negBase = m_sampleRng.next(), dropBase = m_dropoutRng.next();
    const int ranks = dist::world();
    int64_t before = 0;

    m_optimizer->zero_grad();
    double lossSum = 0.0;
    for (size_t ci = 0; ci < chunks.size(); ++ci) {
        const auto [begin, end] = chunks[ci];
        int64_t chunkPositions = 0;
        for (size_t r = begin; r < end; ++r)
            chunkPositions += rows[r].width;
        const int owner = static_cast<int>(
            std::min<int64_t>(ranks - 1, (2 * before + chunkPositions) * ranks / std::max<int64_t>(1, 2 * totalPositions)));
        before += chunkPositions;
        if (owner != dist::rank())
            continue;
        SasRecRng negRng = SasRecRng::derived(negBase, ci, 1);
        SasRecRng dropRng = SasRecRng::derived(dropBase, ci, 2);
        const int width = rows[end - 1].width;
        const auto n = static_cast<int64_t>(end - begin);
        torch::Tensor seqs = torch::zeros({n, width}, torch::kInt64);
        int64_t* sp = seqs.data_ptr<int64_t>();
        int64_t positions = 0;
        for (size_t r = begin; r < end; ++r)
            positions += rows[r].width;
        torch::Tensor validIdx = torch::empty({positions}, torch::kInt64);
        torch::Tensor posIds = torch::empty({positions}, torch::kInt64);
        torch::Tensor negIds = torch::empty({ce ? 0 : positions * k}, torch::kInt64);
        int64_t* vp = validIdx.data_ptr<int64_t>();
        int64_t* pp = posIds.data_ptr<int64_t>();
        int64_t* np = negIds.data_ptr<int64_t>();
        int64_t cursor = 0;
        for (size_t r = begin; r < end; ++r) {
            const auto& seq = m_train[static_cast<size_t>(rows[r].user)];
            const auto& seen = m_trainSorted[static_cast<size_t>(rows[r].user)];
            const int m = static_cast<int>(seq.size());
            const int w = rows[r].width;
            const int64_t rowBase = static_cast<int64_t>(r - begin) * width + (width - w);
            for (int j = 0; j < w; ++j) {
                sp[rowBase + j] = seq[static_cast<size_t>(m - 1 - w + j)];
                vp[cursor] = rowBase + j;
                pp[cursor] = seq[static_cast<size_t>(m - w + j)];
                if (!ce) {
                    for (int q = 0; q < k; ++q) {
                        ItemId neg = 0;
                        // Uniform over items outside the user's train sequence (pmixer random_neq).
                        if (static_cast<int64_t>(seen.size()) >= numItems) {
                            neg = static_cast<ItemId>(negRng.uniformInt(1, numItems));
                        } else {
                            do
                                neg = static_cast<ItemId>(negRng.uniformInt(1, numItems));
                            while (std::binary_search(seen.begin(), seen.end(), neg));
                        }
                        np[cursor * k + q] = neg;
                    }
                }
                ++cursor;
            }
        }
        if (m_device != torch::Device(torch::kCPU)) {
            seqs = seqs.to(m_device);
            validIdx = validIdx.to(m_device);
            posIds = posIds.to(m_device);
            negIds = negIds.to(m_device);
        }
        const torch::Tensor feats = m_model->encode(seqs, &dropRng);  // [n, W, d]
        const torch::Tensor fv = feats.reshape({-1, mc.hidden}).index_select(0, validIdx);  // [P, d]
        const torch::Tensor table = m_model->itemTable();
        torch::Tensor loss;
        if (!ce) {
            const torch::Tensor pe = table.index_select(0, posIds);                                  // [P, d]
            const torch::Tensor ne = table.index_select(0, negIds).view({positions, k, mc.hidden});  // [P, k, d]
            const torch::Tensor posLogit = (fv * pe).sum(-1);                                        // [P]
            const torch::Tensor negLogit = (fv.unsqueeze(1) * ne).sum(-1);                           // [P, k]
            // BCE(pos, 1) + mean over negatives of BCE(neg, 0), averaged over the batch's positions.
            loss = (torch::softplus(-posLogit).sum() + torch::softplus(negLogit).sum() / static_cast<double>(k)) / norm;
        } else {
            const torch::Tensor logits = torch::matmul(fv, table.narrow(0, 1, numItems).t());  // [P, N]
            loss = torch::nn::functional::cross_entropy(
                       logits, posIds - 1, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                   / norm;
        }
        loss.backward();
        lossSum += loss.item<double>();
    }
    if (dist::active()) {  // the ranks' gradients and losses, summed: one optimizer step everywhere
        std::vector<torch::Tensor> grads;
        for (auto& p : m_model->parameters()) {
            if (!p.grad().defined())
                p.mutable_grad() = torch::zeros_like(p);
            grads.push_back(p.grad());
        }
        grads.push_back(torch::tensor({lossSum}, torch::kFloat));
        dist::allreduceSum(grads);
        lossSum = grads.back().item<double>();
    }
    if (!std::isfinite(lossSum))
        throw CoreException(ErrorCode::Diverged, "SASRec loss is " + std::to_string(lossSum) + " at epoch "
                                                     + std::to_string(epoch) + ", batch " + std::to_string(batchIndex + 1)
                                                     + " (lower the learning rate?)",
                            "epoch " + std::to_string(epoch));
    m_optimizer->step();
    return lossSum;
}

RankingMetrics Trainer::validate()
{
    SasRecTeacher teacher(m_model.ptr(), m_config.eval_batch);
    EvalOptions o;
    o.protocol = m_config.valid_protocol;
    o.negatives = m_config.eval_negatives;
    o.seed = m_config.eval_seed;
    o.batch = m_config.eval_batch;
    return evaluateSplit(teacher, m_data, EvalSplit::Valid, o);
}

void Trainer::setLearningRate(double lr)
{
    for (auto& group : m_optimizer->param_groups())
        static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
}

double Trainer::learningRate()
{
    return static_cast<torch::optim::AdamOptions&>(m_optimizer->param_groups().front().options()).lr();
}

std::vector<torch::Tensor> Trainer::cloneParams()
{
    std::vector<torch::Tensor> out;
    for (const auto& p : m_model->parameters())
        out.push_back(p.detach().clone());
    return out;
}

void Trainer::loadParams(const std::vector<torch::Tensor>& params)
{
    torch::NoGradGuard noGrad;
    auto ps = m_model->parameters();
    for (size_t i = 0; i < ps.size() && i < params.size(); ++i)
        ps[i].copy_(params[i]);
}

void Trainer::saveCheckpoint(const std::string& path, bool final)
{
    if (!dist::isWriter())
        return;  // rank 0 writes; every rank holds the same state
    StateWriter w;
    writeSasRecCheckpointHeader(w, *m_model, m_data);
    // "model": the teacher's weights; the current ones unless the final weights were restored.
    w.putModule("model", *m_model);
    w.putString("train/config", toJson(m_config));
    w.putOptimizer("train/optimizer", *m_optimizer);
    w.putTensor("train/sample_rng", rngTensor(m_sampleRng));
    w.putTensor("train/dropout_rng", rngTensor(m_dropoutRng));
    w.putTensor("train/stream", torch::tensor(std::vector<int64_t>(m_stream.begin(), m_stream.end()), torch::kLong));
    nlohmann::json state{{"epoch", m_epoch}, {"stream_pos", m_streamPos}, {"best_ndcg", m_bestNdcg},
                         {"best_epoch", m_bestEpoch}, {"bad_evals", m_badEvals}, {"plateau_bad", m_plateauBad},
                         {"stopped_early", m_stoppedEarly}, {"lr", learningRate()}, {"final", final}};
    nlohmann::json hist = nlohmann::json::array();
    for (const auto& h : m_history) {
        nlohmann::json e{{"epoch", h.epoch}, {"loss", h.loss}, {"seconds", h.seconds}, {"cpu_seconds", h.cpu_seconds},
                         {"lr", h.learning_rate},
                         {"evaluated", h.evaluated}};
        if (h.evaluated)
            e["valid"] = metricsJson(h.valid);
        hist.push_back(e);
    }
    state["history"] = hist;
    w.putString("train/state", state.dump());
    // Resuming needs the weights training continues from, and the best ones when kept.
    if (final && !m_trainingParams.empty())
        w.putNamedTensors("train/current", numbered(m_trainingParams));
    if (!m_bestParams.empty())
        w.putNamedTensors("train/best", numbered(m_bestParams));
    m_observer.onCheckpoint("teacher", m_epoch);  // the store catches up before the checkpoint exists
    w.commit(path);
}

void Trainer::resume(const std::string& path)
{
    const StateReader r(path);
    const SasRecConfig saved = readSasRecCheckpointHeader(r, m_data);
    if (toJson(saved) != toJson(m_config.model))
        throw CoreException(ErrorCode::CheckpointIO, "checkpoint '" + path + "' has model config " + toJson(saved)
                                                         + "; this run asks for " + toJson(m_config.model), path);
    if (!r.has("train/state"))
        throw CoreException(ErrorCode::CheckpointIO,
                            "checkpoint '" + path + "' holds weights only (no training state to resume)", path);
    r.loadModule("model", *m_model);
    try {
        if (r.has("train/current/names"))
            copyNamedTensors(r.getNamedTensors("train/current"), numbered(m_model->parameters()),
                             "checkpoint '" + path + "' (train/current)");
        r.loadOptimizer("train/optimizer", *m_optimizer);  // moments land on each parameter's device
        rngFromTensor(m_sampleRng, r.getTensor("train/sample_rng"), path);
        rngFromTensor(m_dropoutRng, r.getTensor("train/dropout_rng"), path);
        const torch::Tensor stream = r.getTensor("train/stream").contiguous();
        if (stream.scalar_type() != torch::kLong || static_cast<size_t>(stream.numel()) != m_stream.size())
            throw CoreException(ErrorCode::CheckpointIO, "checkpoint '" + path + "': user stream size differs", path);
        const int64_t* sp = stream.data_ptr<int64_t>();
        for (size_t i = 0; i < m_stream.size(); ++i)
            m_stream[i] = static_cast<UserIndex>(sp[i]);
        const nlohmann::json state = nlohmann::json::parse(r.getString("train/state"));
        m_epoch = state.at("epoch").get<int>();
        m_streamPos = state.at("stream_pos").get<size_t>();
        m_bestNdcg = state.at("best_ndcg").get<double>();
        m_bestEpoch = state.at("best_epoch").get<int>();
        m_badEvals = state.at("bad_evals").get<int>();
        m_plateauBad = state.at("plateau_bad").get<int>();
        m_stoppedEarly = state.at("stopped_early").get<bool>();
        setLearningRate(state.at("lr").get<double>());
        for (const auto& e : state.at("history")) {
            SasRecEpochRecord rec;
            rec.epoch = e.at("epoch").get<int>();
            rec.loss = e.at("loss").get<double>();
            rec.seconds = e.at("seconds").get<double>();
            rec.cpu_seconds = e.at("cpu_seconds").get<double>();
            rec.learning_rate = e.at("lr").get<double>();
            rec.evaluated = e.at("evaluated").get<bool>();
            if (rec.evaluated)
                rec.valid = metricsFromJson(e.at("valid"));
            m_history.push_back(rec);
        }
        if (r.has("train/best/names")) {
            m_bestParams.clear();
            const auto best = r.getNamedTensors("train/best");
            if (best.size() != m_model->parameters().size())
                throw CoreException(ErrorCode::CheckpointIO, "checkpoint '" + path + "': best weights do not fit the model",
                                    path);
            for (const auto& [name, t] : best)
                m_bestParams.push_back(t.to(m_device));
        }
    } catch (const CoreException&) {
        throw;
    } catch (const std::exception& e) {
        throw CoreException(ErrorCode::CheckpointIO, "checkpoint '" + path + "': training state unreadable: "
                                                         + std::string(e.what()).substr(0, 300), path);
    }
    m_observer.onLog(LogLevel::Info, "SASRec: resumed '" + path + "' after epoch " + std::to_string(m_epoch));
}

SasRecTrainResult Trainer::run()
{
    if (!m_config.resume_from.empty())
        resume(m_config.resume_from);
    const int batches = static_cast<int>((m_stream.size() + static_cast<size_t>(m_config.batch_size) - 1)
                                         / static_cast<size_t>(m_config.batch_size));
    const EvalProtocol validProtocol = m_config.valid_protocol;
    const std::string validKey = std::string("valid_") + protocolKey(validProtocol);
    const bool earlyStopping = m_config.patience > 0;
    m_observer.onStageBegin("teacher", m_config.epochs);
    m_observer.onLog(LogLevel::Info, "SASRec on '" + m_data.name + "': " + describe(m_config) + "; "
                                         + std::to_string(batches) + " batches of " + std::to_string(m_config.batch_size)
                                         + " per epoch; validation: " + protocolLabel(validProtocol, m_config.eval_negatives, m_data.numItems()));
    std::vector<double> times, cpuTimes;
    double trainSeconds = 0.0;
    const int firstEpoch = m_epoch + 1;
    for (int epoch = firstEpoch; epoch <= m_config.epochs && !m_stoppedEarly; ++epoch) {
        const auto t0 = Clock::now();
        const double cpu0 = processCpuSeconds();
        double loss = 0.0;
        for (int b = 0; b < batches; ++b) {
            if (m_observer.stopRequested())
                throw CoreException(ErrorCode::Cancelled, "SASRec training stopped during epoch " + std::to_string(epoch)
                                                              + (m_config.checkpoint_path.empty() ? std::string()
                                                                 : "; resume from '" + m_config.checkpoint_path + "'"),
                                    "epoch " + std::to_string(epoch));
            loss += trainBatch(epoch, b);
        }
        const double seconds = secondsSince(t0);
        const double cpuSeconds = processCpuSeconds() - cpu0;
        times.push_back(seconds);
        cpuTimes.push_back(cpuSeconds);
        trainSeconds += seconds;
        m_epoch = epoch;
        SasRecEpochRecord rec;
        rec.epoch = epoch;
        rec.loss = loss / batches;
        rec.seconds = seconds;
        rec.cpu_seconds = cpuSeconds;
        rec.learning_rate = learningRate();
        const bool due = epoch == m_config.epochs || (m_config.eval_every > 0 && epoch % m_config.eval_every == 0);
        if (due) {
            rec.evaluated = true;
            rec.valid = validate();
            const double ndcg = rec.valid.ndcgAt(10);
            if (ndcg > m_bestNdcg) {
                m_bestNdcg = ndcg;
                m_bestEpoch = epoch;
                m_badEvals = 0;
                m_plateauBad = 0;
                if (earlyStopping && m_config.restore_best)
                    m_bestParams = cloneParams();
            } else {
                ++m_badEvals;
                ++m_plateauBad;
                if (m_config.lr_plateau && m_plateauBad > m_config.plateau_patience) {
                    const double lr = std::max(learningRate() * m_config.plateau_factor, m_config.min_lr);
                    setLearningRate(lr);
                    m_plateauBad = 0;
                    m_observer.onLog(LogLevel::Info, "SASRec: epoch " + std::to_string(epoch)
                                                         + ": no validation gain, learning rate -> " + str::fixed(lr, 7));
                }
                if (earlyStopping && m_badEvals >= m_config.patience) {
                    m_stoppedEarly = true;
                    m_observer.onLog(LogLevel::Info, "SASRec: early stop at epoch " + std::to_string(epoch)
                                                         + " (best valid NDCG@10 " + str::fixed(m_bestNdcg, 4)
                                                         + " at epoch " + std::to_string(m_bestEpoch) + ")");
                }
            }
        }
        m_history.push_back(rec);
        StepRecord r;
        r.stage = "teacher";
        r.step = epoch;
        r.total_steps = m_config.epochs;
        r.epoch = epoch;
        r.wall_time = wallNow();
        r.metrics = {{"loss", rec.loss}, {"epoch_time_s", seconds}, {"epoch_cpu_s", cpuSeconds},
                     {"train_seqs_per_s", seconds > 0 ? batches * m_config.batch_size / seconds : 0.0},
                     {"learning_rate", rec.learning_rate}};
        if (rec.evaluated)
            addMetrics(r, validKey, rec.valid);
        m_observer.onStep(r);
        if (!m_config.checkpoint_path.empty() && m_config.checkpoint_every > 0 && epoch % m_config.checkpoint_every == 0
            && epoch != m_config.epochs && !m_stoppedEarly)
            saveCheckpoint(m_config.checkpoint_path, false);
    }

    SasRecTrainResult result;
    m_trainingParams.clear();
    if (earlyStopping && m_config.restore_best && !m_bestParams.empty() && m_bestEpoch != m_epoch) {
        m_trainingParams = cloneParams();
        loadParams(m_bestParams);
        result.restored_best = true;
        m_observer.onLog(LogLevel::Info, "SASRec: final weights are epoch " + std::to_string(m_bestEpoch)
                                             + "'s (best valid NDCG@10)");
    }
    if (!m_config.checkpoint_path.empty()) {
        saveCheckpoint(m_config.checkpoint_path, true);
        result.checkpoint_path = m_config.checkpoint_path;
    }
    SasRecTeacher teacher(m_model.ptr(), m_config.eval_batch);
    EvalOptions o;
    o.negatives = m_config.eval_negatives;
    o.seed = m_config.eval_seed;
    o.batch = m_config.eval_batch;
    o.protocol = EvalProtocol::Full;
    result.full = evaluateTeacher(teacher, m_data, o);
    o.protocol = EvalProtocol::Sampled;
    result.sampled = evaluateTeacher(teacher, m_data, o);

    m_observer.onStageEnd("teacher");
    m_observer.onStageBegin("teacher_eval", 1);
    StepRecord fin;
    fin.stage = "teacher_eval";
    fin.step = 1;
    fin.total_steps = 1;
    fin.epoch = m_epoch;
    fin.wall_time = wallNow();
    addMetrics(fin, "valid_full", result.full.valid);
    addMetrics(fin, "test_full", result.full.test);
    addMetrics(fin, "valid_sampled", result.sampled.valid);
    addMetrics(fin, "test_sampled", result.sampled.test);
    m_observer.onStep(fin);
    m_observer.onStageEnd("teacher_eval");

    result.epochs_run = m_epoch;
    result.best_epoch = m_bestEpoch;
    result.best_valid_ndcg10 = std::max(m_bestNdcg, 0.0);
    result.stopped_early = m_stoppedEarly;
    result.valid_protocol = validProtocol;
    result.history = m_history;
    result.sequences_per_epoch = static_cast<long>(batches) * m_config.batch_size;
    result.median_epoch_seconds = median(times);
    result.median_epoch_cpu_seconds = median(cpuTimes);
    result.sequences_per_second = trainSeconds > 0
                                      ? static_cast<double>(result.sequences_per_epoch) * static_cast<double>(times.size()) / trainSeconds
                                      : 0.0;
    return result;
}

}  // namespace sasrec_trainer_detail

SasRecTrainResult trainSasRec(const Dataset& data, const SasRecTrainConfig& config, Observer& observer)
{
    sasrec_trainer_detail::AllocatorGuard allocatorGuard;
    // With several torch (OpenMP) threads the trainer runs OpenBLAS single-threaded: the two
    // pools spin against each other (see ScopedBlasThreads).
    ScopedBlasThreads blasThreads(at::get_num_threads() > 1 ? 1 : 0);
    sasrec_trainer_detail::Trainer trainer(data, config, observer);
    return trainer.run();
}

}  // namespace recalign::core
