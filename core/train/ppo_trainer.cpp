// PPO trainer: rollout (greedy + sampled, KV-cached, optionally constrained), rule-based token
// rewards minus eta * KL, GAE, clipped PPO epochs, TRL-named metrics, resumable checkpoints.
// One iteration is five named steps: rollout (generate and score), evaluate the rollout (old,
// reference and value forwards; the KL once; token rewards; GAE), learn, metrics, validate.
#include "core/train/ppo_trainer.h"

#include "core/api/error.h"
#include "core/dist/dist.h"
#include "core/llm/generation.h"
#include "core/llm/loaders.h"
#include "core/rules/rng.h"
#include "core/runtime/runtime.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <numeric>

namespace recalign::core {

namespace ppo_trainer_detail {

constexpr const char* kStateFile = "ppo_state.safetensors";
// Padded tokens per no-grad scoring forward on the CPU (PpoTrainer::Impl::scoringBatchEnd).
constexpr size_t kScoringCells = 512;

using Clock = std::chrono::steady_clock;
using Metrics = std::vector<std::pair<std::string, double>>;

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
    const PpoConfig& h = c.hyper;
    return "seed=" + std::to_string(c.seed) + ";ppb=" + std::to_string(h.prompts_per_batch)
        + ";spp=" + std::to_string(h.samples_per_prompt) + ";actor_r=" + std::to_string(h.actor_lora.r)
        + ";critic_r=" + std::to_string(h.critic_lora.r) + ";vh=" + std::to_string(c.value_head_inner)
        + ";lm_head=" + std::to_string(h.lm_head_trainable ? 1 : 0)
        + (h.algorithm == RlAlgorithm::Ppo ? std::string() : std::string(";alg=") + rlAlgorithmName(h.algorithm));
}

bool hasCritic(const PpoConfig& h) { return h.algorithm == RlAlgorithm::Ppo; }

// ppo.kl_in: auto puts the KL into grpo's loss and every other algorithm's token rewards.
bool klInLoss(const PpoConfig& h)
{
    return h.kl_in == KlPlacement::Loss || (h.kl_in == KlPlacement::Auto && h.algorithm == RlAlgorithm::Grpo);
}

// What the schema cannot check for callers that build the struct in code (tests, benchmarks).
void validateConfig(const PpoTrainConfig& c)
{
    const PpoConfig& h = c.hyper;
    auto bad = [](const std::string& key, const std::string& what) {
        throw CoreException(ErrorCode::InvalidConfig, "ppo." + key + ": " + what, "ppo." + key);
    };
    if (h.prompts_per_batch < 1)
        bad("prompts_per_batch", "must be >= 1");
    if (h.samples_per_prompt < (hasCritic(h) ? 1 : 2))
        bad("samples_per_prompt", hasCritic(h) ? "must be >= 1"
                                               : std::string("must be >= 2 with algorithm ") + rlAlgorithmName(h.algorithm));
    if (h.dr_grpo && h.algorithm != RlAlgorithm::Grpo)
        bad("dr_grpo", "applies to algorithm grpo only");
    if (c.max_new_tokens < 1)
        bad("max_new_tokens", "must be >= 1");
    if (h.ppo_epochs < 1)
        bad("ppo_epochs", "must be >= 1");
    if (c.mini_batch < 1 || h.grad_accum < 1 || c.forward_batch < 1)
        bad("grad_accum", "mini_batch, grad_accum and forward_batch must be >= 1");
    if (h.clip_eps <= 0.0)
        bad("clip_eps", "must be > 0");
    if (h.gamma < 0.0 || h.gamma > 1.0 || h.lam < 0.0 || h.lam > 1.0)
        bad("gamma", "gamma and lam must lie in [0, 1]");
    if (h.episodes < 1 && h.max_iterations <= 0)
        bad("episodes", "must be >= 1 (or set max_iterations)");
    if (!c.first_sample_greedy && h.temperature <= 0.0)
        bad("temperature", "sampled responses need a temperature > 0");
    // Data parallel: each rank generates for a share of the prompts and learns on a share of each
    // optimizer step's micro-batches.
    const int ranks = dist::world();
    if (h.prompts_per_batch % ranks != 0)
        bad("prompts_per_batch", std::to_string(h.prompts_per_batch) + " prompts per rollout do not divide among "
                                     + std::to_string(ranks) + " processes (use a multiple of the world size)");
    if (h.grad_accum % ranks != 0)
        bad("grad_accum", std::to_string(h.grad_accum) + " micro-batches per optimizer step do not divide among "
                              + std::to_string(ranks) + " processes (use a multiple of the world size)");
}

// ---- data parallelism: a rank's rollout rows as bytes (every rank gathers every rank's) --------------

class Bytes {
public:
    std::string data;
    void putInt(int64_t v) { data.append(reinterpret_cast<const char*>(&v), sizeof v); }
    void putDouble(double v) { data.append(reinterpret_cast<const char*>(&v), sizeof v); }
    void putString(const std::string& v)
    {
        putInt(static_cast<int64_t>(v.size()));
        data += v;
    }
    template <typename T>
    void putVector(const std::vector<T>& v)
    {
        putInt(static_cast<int64_t>(v.size()));
        data.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
    }
};

class BytesReader {
public:
    explicit BytesReader(const std::string& d) : m_data(d) {}
    int64_t getInt() { return get<int64_t>(); }
    double getDouble() { return get<double>(); }
    size_t position() const { return m_pos; }
    std::string getString()
    {
        const size_t n = static_cast<size_t>(getInt());
        need(n);
        std::string out = m_data.substr(m_pos, n);
        m_pos += n;
        return out;
    }
    template <typename T>
    std::vector<T> getVector()
    {
        const size_t n = static_cast<size_t>(getInt());
        need(n * sizeof(T));
        std::vector<T> out(n);
        std::memcpy(out.data(), m_data.data() + m_pos, n * sizeof(T));
        m_pos += n * sizeof(T);
        return out;
    }

private:
    template <typename T>
    T get()
    {
        need(sizeof(T));
        T v;
        std::memcpy(&v, m_data.data() + m_pos, sizeof(T));
        m_pos += sizeof(T);
        return v;
    }
    void need(size_t n) const
    {
        if (m_pos + n > m_data.size())
            throw CoreException(ErrorCode::Internal, "ppo: a rank's rollout arrived truncated", "distributed");
    }
    const std::string& m_data;
    size_t m_pos = 0;
};

void putRow(Bytes& b, const PpoResponse& r, const PpoScore& s)
{
    b.putInt(static_cast<int64_t>(r.prompt));
    b.putInt(r.greedy ? 1 : 0);
    b.putVector(r.tokens);
    b.putVector(s.token_scores);
    b.putDouble(s.item_reward);
    b.putDouble(s.list_reward);
    for (int v : {s.items, s.non_exist, s.repeat, s.in_history, s.beyond_k})
        b.putInt(v);
    b.putString(s.text);
    b.putString(s.details_json);
    b.putVector(s.actions);
}

void getRow(BytesReader& b, PpoResponse& r, PpoScore& s)
{
    r.prompt = static_cast<size_t>(b.getInt());
    r.greedy = b.getInt() != 0;
    r.tokens = b.getVector<int32_t>();
    s.token_scores = b.getVector<float>();
    s.item_reward = b.getDouble();
    s.list_reward = b.getDouble();
    for (int* v : {&s.items, &s.non_exist, &s.repeat, &s.in_history, &s.beyond_k})
        *v = static_cast<int>(b.getInt());
    s.text = b.getString();
    s.details_json = b.getString();
    s.actions = b.getVector<int32_t>();
}

// Per-row scoring temperature: the generation temperature (greedy: 1), unless overridden.
float scoringTemperature(const PpoTrainConfig& c, bool greedy)
{
    if (c.score_temperature > 0.0)
        return static_cast<float>(c.score_temperature);
    return greedy || c.hyper.temperature <= 0.0 ? 1.0f : static_cast<float>(c.hyper.temperature);
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

// One rollout with every per-row quantity the learning step needs.
struct PpoRollout {
    std::vector<PpoPrompt> prompts;
    std::vector<PpoResponse> responses;
    std::vector<PpoScore> scores;
    std::vector<std::vector<int32_t>> promptIds;  // per row
    std::vector<std::vector<int32_t>> actions;    // per row: the tokens PPO trains on
    std::vector<float> temperatures;              // per row: scoring temperature
    std::vector<int64_t> groups;                  // per row: its prompt (the group of grpo / rloo)
    std::vector<torch::Tensor> oldLogp, refLogp, oldValues, advantages, returns;  // per row, (L_r)
    int64_t Tmax = 1;
    torch::Tensor mask;                           // (N, Tmax)
    torch::Tensor klK1, klK3;                     // (N, Tmax), masked: the reported estimates
    torch::Tensor klPenalty;                      // (N, Tmax), masked: ppo.kl_estimator's (one of the above or k2)
    torch::Tensor values, returnsAll, rewards;    // (N, Tmax)
    double seconds = 0.0;             // the whole rollout step (the three below and the rest)
    double generationSeconds = 0.0;   // llm::generate, every sample of every prompt
    double rewardSeconds = 0.0;       // the task's reward
    double scoringSeconds = 0.0;      // evaluateRollout: old, reference and value forwards, KL, GAE
    size_t rows() const { return responses.size(); }
};

// What the learning step reports (sums over accepted micro-batches and applied steps).
struct LearnStats {
    double sumKlLoss = 0, sumPg = 0, sumVf = 0, sumEnt = 0, sumClip = 0, sumApprox = 0, sumPolicyKl = 0, sumVfClip = 0,
           sumRatio = 0, sumGrad = 0, sumLr = 0, firstRatioDev = 0, lastLr = 0;
    long nMicro = 0, nSteps = 0;
    int epochsDone = 0;
    bool earlyStopped = false;
    double seconds = 0.0;
};

}  // namespace ppo_trainer_detail

using namespace ppo_trainer_detail;

// ---- trainer state -----------------------------------------------------------------------------

struct PpoTrainer::Impl {
    llm::LlamaModelImpl& model;
    const Tokenizer* tokenizer;
    std::function<std::vector<PpoPrompt>(int)> episodePrompts;
    PpoReward& reward;
    Observer& observer;
    const PpoTrainConfig& c;
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
         Observer& o, const PpoTrainConfig& config)
        : model(m), tokenizer(t), episodePrompts(std::move(ep)), reward(r), observer(o), c(config)
    {
    }

    int32_t padId() const { return tokenizer ? tokenizer->padId() : 0; }

    void save(const std::string& path);
    void load(const std::string& path);

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

    // The critic's values (the "critic" adapter and the value head) for packed sequences.
    ScoreResult criticValues(const PackedSequences& packed)
    {
        ScoreOptions vo;
        vo.adapter = kPpoCriticAdapter;
        vo.want_logprobs = false;
        vo.value_head = head.get();
        vo.checkpoint_layers = c.hyper.gradient_checkpointing;  // only where grad is on (learning)
        return scoreSequences(model, packed, vo);
    }

    // The actor's and the critic's passes (and the rollout's actor vs reference + critic) run at
    // once on two threads, each single-threaded, where the CPU budget has two or more threads: at
    // the quickstart's size one pass leaves the second core idle (the products are too small to
    // split well). Not with gradient checkpointing or LoRA dropout on the actor or critic (both
    // use torch's shared generator, whose draws would then depend on the threads' timing), nor
    // with a trainable LM head.
    bool concurrentPasses() const
    {
        // A trainable LM head may be tied to the embedding both passes read: one gradient, two writers.
        if (!device.is_cpu() || c.hyper.gradient_checkpointing || c.hyper.lm_head_trainable)
            return false;
        for (const char* a : {kPpoActorAdapter, kPpoCriticAdapter})
            if ((hasCritic(c.hyper) || a == kPpoActorAdapter) && model.adapterSpec(a).dropout > 0.0)
                return false;
        return std::max(at::get_num_threads(), openBlasThreadCount()) >= 2;
    }

    // The end of the rollout's scoring batch that starts at row b0: at most `forward_batch` rows;
    // on the CPU also no more rows than keep the batch within kScoringCells padded tokens (one
    // row at least). Measured at the quickstart's size (~300-token rows, 16 of them): the no-grad
    // scoring of a rollout took 0.50 s in one batch, 0.44 s in batches of 8 and 0.35 s row by
    // row: the (rows x heads x width^2) attention tensors of a large batch leave the caches, and
    // the products gain nothing from more rows once a batch has a few hundred tokens.
    size_t scoringBatchEnd(const PpoRollout& ro, size_t b0) const
    {
        const size_t N = ro.rows();
        const size_t most = std::min(N, b0 + static_cast<size_t>(c.forward_batch));
        if (!device.is_cpu())
            return most;
        size_t prompt = 0, response = 0, b1 = b0;
        while (b1 < most) {
            const size_t p = std::max(prompt, ro.promptIds[b1].size());
            const size_t r = std::max(response, ro.actions[b1].size());
            if (b1 > b0 && (b1 + 1 - b0) * (p + r) > kScoringCells)
                break;
            prompt = p;
            response = r;
            ++b1;
        }
        return b1;
    }

    // The five steps of an iteration.
    void rollout(PpoRollout& ro, long it);
    void evaluateRollout(PpoRollout& ro);
    LearnStats learn(const PpoRollout& ro, long it);
    Metrics metrics(const PpoRollout& ro, const LearnStats& ls, PpoResult& result);
    void recordSamples(const PpoRollout& ro);
    void validate(const PpoValidator& validator, Metrics& metrics);
};

PpoTrainer::PpoTrainer(llm::LlamaModelImpl& model, const Tokenizer* tokenizer, PpoTrainConfig config,
                       std::function<std::vector<PpoPrompt>(int)> episodePrompts, PpoReward& reward,
                       Observer& observer)
    : m_config(std::move(config))
{
    m = std::make_unique<Impl>(model, tokenizer, std::move(episodePrompts), reward, observer, m_config);
    const PpoConfig& h = m_config.hyper;
    validateConfig(m_config);
    m->device = model.embeddingWeight().device();
    // The reference is the base with adapters disabled: an SFT adapter becomes part of that base,
    // stacked (frozen, beneath the actor's and the critic's) or, when asked, merged (float32 only).
    for (const auto& name : model.adapterNames()) {
        if (name == kPpoActorAdapter || name == kPpoCriticAdapter) {
            model.removeAdapter(name);
            continue;
        }
        if (m_config.merge_existing_adapters) {
            if (model.embeddingWeight().scalar_type() != torch::kFloat)
                throw CoreException(ErrorCode::InvalidConfig,
                                    "ppo: merging adapter '" + name + "' into a "
                                        + std::string(c10::toString(model.embeddingWeight().scalar_type()))
                                        + " base would round its update away; stack it instead",
                                    "ppo.merge_existing_adapters");
            model.mergeAndUnload(name);
            observer.onLog(LogLevel::Info, m_config.stage + ": merged adapter '" + name + "' into the base model");
        } else {
            model.stackAdapter(name);
            observer.onLog(LogLevel::Info, m_config.stage + ": adapter '" + name
                                               + "' stays a frozen adapter beneath the actor's and the critic's (the reference is base + '"
                                               + name + "')");
        }
    }
    model.setBaseTrainable(false);
    if (h.init_adapter.empty()) {
        model.addAdapter(kPpoActorAdapter, llm::loraSpec(h.actor_lora, m_config.seed + 1));
    } else {
        llm::importPeftAdapter(model, h.init_adapter, kPpoActorAdapter);
        observer.onLog(LogLevel::Info, m_config.stage + ": the actor starts from '" + h.init_adapter
                                           + "' (its settings replace ppo.actor_lora's)");
    }
    // The critic-free algorithms train no value head and add no critic adapter.
    if (hasCritic(h)) {
        model.addAdapter(kPpoCriticAdapter, llm::loraSpec(h.critic_lora, m_config.seed + 2));
        m->head = ValueHead(model.config().dim, m_config.value_head_inner, mixSeed({m_config.seed, 0x5E}));
        m->head->to(m->device);
    } else {
        observer.onLog(LogLevel::Info, m_config.stage + ": " + rlAlgorithmName(h.algorithm)
                                           + " is critic-free: no critic adapter, no value head; KL in the "
                                           + (klInLoss(h) ? "loss (k3)" : "token rewards"));
    }
    model.setActiveAdapter("");

    for (auto& [n, t] : model.namedAdapterParameters(kPpoActorAdapter))
        m->trainable.emplace_back(std::string("actor/") + n, t);
    if (m->head) {
        for (auto& [n, t] : model.namedAdapterParameters(kPpoCriticAdapter))
            m->trainable.emplace_back(std::string("critic/") + n, t);
        for (const auto& p : m->head->named_parameters()) {
            p.value().set_requires_grad(h.train_value_head);
            if (h.train_value_head)
                m->trainable.emplace_back("value_head/" + p.key(), p.value());
        }
    }
    if (h.lm_head_trainable) {
        model.untieHead();
        auto w = model.lm_head->weight();
        w.set_requires_grad(true);
        m->trainable.emplace_back("lm_head/weight", w);
    }
    // AdamW without weight decay, eps 1e-5 (the released code's).
    m->optimizer = makeAdamW(m->trainable, AdamWSettings{h.lr, 0.0, 0.9, 0.999, 1e-5});
    m->kl = h.adaptive_kl ? KlController::adaptive(h.kl_coef, h.target_kl, static_cast<double>(h.horizon))
                          : KlController::fixed(h.kl_coef);
    m->rng = TrainRng(mixSeed({m_config.seed, 0x5F}));
}

PpoTrainer::~PpoTrainer() = default;

ValueHeadImpl& PpoTrainer::valueHead()
{
    if (!m->head)
        throw CoreException(ErrorCode::Internal, std::string("ppo: ") + rlAlgorithmName(m_config.hyper.algorithm)
                                                     + " has no value head");
    return *m->head;
}

bool PpoTrainer::restoreBest()
{
    if (m_config.output_dir.empty())
        return false;
    const auto path = (std::filesystem::path(m_config.output_dir) / "best" / "ppo_best.safetensors").string();
    if (!std::filesystem::exists(path))
        return false;
    StateReader r(path);
    copyNamedTensors(r.getNamedTensors("params"), m->trainable, "checkpoint '" + path + "' (params)");
    if (m->head)
        r.loadModule("value_head", *m->head);
    return true;
}

std::string PpoTrainer::checkpointPath() const
{
    return m_config.output_dir.empty() ? std::string() : (std::filesystem::path(m_config.output_dir) / kStateFile).string();
}

void PpoTrainer::Impl::save(const std::string& path)
{
    loop->requireFiniteParameters(trainable);
    if (!dist::isWriter()) {  // rank 0 writes; every rank holds the same state
        loop->setLastCheckpoint(path);
        return;
    }
    StateWriter w;
    w.putString("ppo/signature", signature(c));
    w.putInt("ppo/iteration", iteration);
    w.putInt("ppo/episode", episode);
    w.putInt("ppo/cursor", static_cast<int64_t>(cursor));
    w.putInt("ppo/optimizer_steps", loop->step());
    w.putInt("ppo/skipped", loop->skipped());
    w.putDouble("ppo/kl_coef", kl.value());
    w.putDouble("ppo/best_validation", bestValidation);
    w.putInt("ppo/best_iteration", bestIteration);
    w.putString("rng/data", rng.state());
    w.putTorchRng("rng/torch");
    w.putNamedTensors("params", trainable);
    putAdapterDescription(w, "actor/", model.adapterSpec(kPpoActorAdapter), iteration);
    if (head)
        w.putModule("value_head", *head);
    w.putOptimizer("optimizer", *optimizer);
    observer.onCheckpoint(c.stage, iteration);
    w.commit(path);
    loop->setLastCheckpoint(path);
}

void PpoTrainer::Impl::load(const std::string& path)
{
    StateReader r(path);
    const std::string sig = r.getString("ppo/signature");
    if (sig != signature(c))
        throw CoreException(ErrorCode::InvalidConfig,
                            "ppo: checkpoint '" + path + "' was written by a different configuration (" + sig
                                + " vs " + signature(c) + "); use another output folder or resume = false",
                            "ppo.resume");
    iteration = r.getInt("ppo/iteration");
    episode = static_cast<int>(r.getInt("ppo/episode"));
    cursor = static_cast<size_t>(r.getInt("ppo/cursor"));
    loop->setStep(r.getInt("ppo/optimizer_steps"));
    loop->setSkipped(r.getInt("ppo/skipped"));
    kl.setValue(r.getDouble("ppo/kl_coef"));
    bestValidation = r.getDouble("ppo/best_validation");
    bestIteration = r.getInt("ppo/best_iteration");
    rng.setState(r.getString("rng/data"));
    r.loadTorchRng("rng/torch");
    copyNamedTensors(r.getNamedTensors("params"), trainable, "checkpoint '" + path + "' (params)");
    if (head)
        r.loadModule("value_head", *head);
    r.loadOptimizer("optimizer", *optimizer);
    loop->setLastCheckpoint(path);
}

// ---- step 1: rollout (generate, then the task's reward) ---------------------------------------------

void PpoTrainer::Impl::rollout(PpoRollout& ro, long it)
{
    const PpoConfig& h = c.hyper;
    std::vector<std::vector<int32_t>> promptIds;
    for (const auto& p : ro.prompts)
        promptIds.push_back(p.ids);
    // Data parallel: this rank generates and scores a contiguous share of the prompts (every
    // row's sampling stream is its global row's), then every rank gathers the whole rollout in
    // the one-process order (sample k of every prompt, k = 0, 1, ...).
    const size_t P = promptIds.size(), ranks = static_cast<size_t>(dist::world());
    const size_t share = (P + ranks - 1) / ranks;
    const size_t p0 = std::min(P, share * static_cast<size_t>(dist::rank())), p1 = std::min(P, p0 + share);
    const std::vector<std::vector<int32_t>> myPrompts(promptIds.begin() + static_cast<long>(p0),
                                                      promptIds.begin() + static_cast<long>(p1));
    // Every sample k generates from the same prompts: they are prefilled once.
    llm::SharedPrefill prefill;
    for (int k = 0; k < h.samples_per_prompt && !myPrompts.empty(); ++k) {
        // The released "1 greedy + n - 1 sampled" rule is PPO's; a critic-free group is all sampled.
        const bool greedy = c.first_sample_greedy && k == 0 && hasCritic(h);
        llm::GenerationConfig g;
        g.max_new_tokens = c.max_new_tokens;
        g.temperature = greedy ? 0.0 : h.temperature;
        g.top_k = greedy ? 0 : h.top_k;
        g.top_p = greedy ? 1.0 : h.top_p;
        g.seed = mixSeed({c.seed, static_cast<uint64_t>(it), static_cast<uint64_t>(k), 0x6E});
        g.first_row = static_cast<int64_t>(p0);
        g.constraint = c.constraint;
        g.adapter = std::string(kPpoActorAdapter);
        g.shared_prefill = &prefill;
        if (tokenizer)
            g.stop_token_ids = {tokenizer->eosId()};
        const auto tGen = Clock::now();
        const auto gen = llm::generate(model, myPrompts, g, tokenizer);
        ro.generationSeconds += secondsSince(tGen);
        for (size_t i = 0; i < myPrompts.size(); ++i)
            ro.responses.push_back({p0 + i, greedy, gen.tokens[i]});
    }
    const auto tReward = Clock::now();
    ro.scores = ro.responses.empty() ? std::vector<PpoScore>{} : reward.score(ro.prompts, ro.responses);
    ro.rewardSeconds = secondsSince(tReward);
    if (ro.scores.size() != ro.responses.size())
        throw CoreException(ErrorCode::Internal, "ppo: the reward scored " + std::to_string(ro.scores.size()) + " of "
                                                     + std::to_string(ro.responses.size()) + " responses");
    if (dist::active()) {
        Bytes mine;
        for (size_t r = 0; r < ro.responses.size(); ++r)
            putRow(mine, ro.responses[r], ro.scores[r]);
        const std::vector<std::string> all = dist::allgather(mine.data);
        std::vector<std::vector<PpoResponse>> responses(ranks);
        std::vector<std::vector<PpoScore>> scores(ranks);
        for (size_t q = 0; q < ranks; ++q) {
            BytesReader in(all[q]);
            const size_t q0 = std::min(P, share * q), q1 = std::min(P, q0 + share);
            for (size_t n = 0; n < (q1 - q0) * static_cast<size_t>(h.samples_per_prompt); ++n) {
                responses[q].emplace_back();
                scores[q].emplace_back();
                getRow(in, responses[q].back(), scores[q].back());
            }
        }
        ro.responses.clear();
        ro.scores.clear();
        for (size_t k = 0; k < static_cast<size_t>(h.samples_per_prompt); ++k)
            for (size_t q = 0; q < ranks; ++q) {
                const size_t n = responses[q].size() / static_cast<size_t>(h.samples_per_prompt);
                for (size_t i = 0; i < n; ++i) {
                    ro.responses.push_back(std::move(responses[q][k * n + i]));
                    ro.scores.push_back(std::move(scores[q][k * n + i]));
                }
            }
    }
    for (size_t r = 0; r < ro.rows(); ++r) {
        const auto& act = ro.scores[r].actions.empty() ? ro.responses[r].tokens : ro.scores[r].actions;
        if (act.empty())
            throw CoreException(ErrorCode::Internal, "ppo: empty response in row " + std::to_string(r));
        if (ro.scores[r].token_scores.size() != act.size())
            throw CoreException(ErrorCode::Internal,
                                "ppo: the reward gave " + std::to_string(ro.scores[r].token_scores.size())
                                    + " token scores for a response of " + std::to_string(act.size()) + " tokens (row "
                                    + std::to_string(r) + ")");
        ro.actions.push_back(act);
        ro.promptIds.push_back(promptIds[ro.responses[r].prompt]);
        ro.temperatures.push_back(scoringTemperature(c, ro.responses[r].greedy));
        ro.groups.push_back(static_cast<int64_t>(ro.responses[r].prompt));
        ro.Tmax = std::max<int64_t>(ro.Tmax, static_cast<int64_t>(act.size()));
    }
}

// ---- step 2: old / reference log-probs and values, the KL once, token rewards, GAE ---------------------

void PpoTrainer::Impl::evaluateRollout(PpoRollout& ro)
{
    const PpoConfig& h = c.hyper;
    const int64_t V = model.config().vocab_size;
    const size_t N = ro.rows();
    torch::NoGradGuard noGrad;
    model.eval();
    if (head)
        head->eval();
    // The same threading as the learning passes, so that a fresh rollout's ratio is exactly 1.
    const bool parallel = concurrentPasses();
    ScopedComputeThreads oneThreadEach(parallel ? 1 : 0, parallel ? 1 : 0);
    // Tasks on two threads (with two or more in the budget), each single-threaded:
    // - the actor's old and the reference's log-probs over the rows in the scoring batches
    //   (packSequences, the packing of the learning step's micro-batches: a fresh rollout's ratio
    //   is exactly 1, and a fresh actor's KL to the reference exactly 0);
    // - per prompt, the critic's values of its samples, the prompt's forward shared between them
    //   (scoreWithSharedPrompt).
    ro.oldLogp.assign(N, {});
    ro.refLogp.assign(N, {});
    ro.oldValues.assign(N, {});
    enum Quantity : int64_t { OldLogp, RefLogp, OldValues };
    std::vector<std::function<void(std::vector<std::pair<size_t, int64_t>>&)>> tasks;
    auto rowsOf = [](const auto& all, const std::vector<size_t>& rows) {
        std::decay_t<decltype(all)> out;
        for (size_t r : rows)
            out.push_back(all[r]);
        return out;
    };
    std::vector<size_t> cost;  // per task: the positions its forwards run
    for (size_t b0 = 0; b0 < N;) {
        const size_t b1 = scoringBatchEnd(ro, b0);
        size_t prompt = 0, response = 0;
        for (size_t r = b0; r < b1; ++r) {
            prompt = std::max(prompt, ro.promptIds[r].size());
            response = std::max(response, ro.actions[r].size());
        }
        cost.push_back(2 * (b1 - b0) * (prompt + response));  // the actor's and the reference's
        tasks.push_back([&, b0, b1](std::vector<std::pair<size_t, int64_t>>& done) {
            std::vector<size_t> rows(b1 - b0);
            std::iota(rows.begin(), rows.end(), b0);
            const auto ac = rowsOf(ro.actions, rows);
            const auto packed = packSequences(rowsOf(ro.promptIds, rows), ac, padId(), device);
            ScoreOptions so;
            so.temperatures = torch::tensor(rowsOf(ro.temperatures, rows));
            so.allowed = constraintMasksFor(c, ac, V, packed.response_columns, device);
            so.adapter = kPpoActorAdapter;
            const auto actor = scoreSequences(model, packed, so);
            so.adapter = "";
            const auto ref = scoreSequences(model, packed, so);
            for (size_t r = b0; r < b1; ++r) {
                const int64_t L = static_cast<int64_t>(ro.actions[r].size()), row = static_cast<int64_t>(r - b0);
                ro.oldLogp[r] = actor.logprobs[row].slice(0, 0, L).clone();
                ro.refLogp[r] = ref.logprobs[row].slice(0, 0, L).clone();
                done.emplace_back(r, OldLogp);
                done.emplace_back(r, RefLogp);
            }
        });
        b0 = b1;
    }
    std::vector<std::vector<size_t>> byPrompt;  // rows per prompt, in row order
    {
        std::map<int64_t, size_t> index;
        for (size_t r = 0; r < N; ++r) {
            const auto [it, fresh] = index.emplace(ro.groups[r], byPrompt.size());
            if (fresh)
                byPrompt.emplace_back();
            byPrompt[it->second].push_back(r);
        }
    }
    for (const auto& rows : head ? byPrompt : std::vector<std::vector<size_t>>{}) {
        size_t response = 0;
        for (size_t r : rows)
            response = std::max(response, ro.actions[r].size());
        cost.push_back(ro.promptIds[rows.front()].size() + rows.size() * response);
        tasks.push_back([&, rows](std::vector<std::pair<size_t, int64_t>>& done) {
            ScoreOptions vo;
            vo.adapter = kPpoCriticAdapter;
            vo.want_logprobs = false;
            vo.value_head = head.get();
            const auto critic =
                scoreWithSharedPrompt(model, ro.promptIds[rows.front()], rowsOf(ro.actions, rows), padId(), vo);
            for (size_t i = 0; i < rows.size(); ++i) {
                const size_t r = rows[i];
                const int64_t L = static_cast<int64_t>(ro.actions[r].size());
                ro.oldValues[r] = critic.values[static_cast<int64_t>(i)].slice(0, 0, L).clone();
                done.emplace_back(r, OldValues);
            }
        });
    }
    // Data parallel: the tasks go round-robin to the ranks, which then exchange what they computed.
    const bool dataParallel = dist::active();
    std::vector<size_t> mine;
    for (size_t i = 0; i < tasks.size(); ++i)
        if (!dataParallel || i % static_cast<size_t>(dist::world()) == static_cast<size_t>(dist::rank()))
            mine.push_back(i);
    // Largest first, each taken by whichever of the two threads is free (the tasks' sizes differ
    // with their rows' lengths: in fixed pairs one thread would wait for the other).
    std::stable_sort(mine.begin(), mine.end(), [&](size_t a, size_t b) { return cost[a] > cost[b]; });
    std::vector<std::vector<std::pair<size_t, int64_t>>> done(mine.size());
    runTasks(parallel ? 2 : 1, mine.size(), [&](size_t i) { tasks[mine[i]](done[i]); });
    auto slot = [&](size_t r, int64_t q) -> torch::Tensor& {
        return q == OldLogp ? ro.oldLogp[r] : q == RefLogp ? ro.refLogp[r] : ro.oldValues[r];
    };
    if (dataParallel) {
        Bytes out;
        for (const auto& list : done)
            for (const auto& [r, q] : list) {
                const auto t = slot(r, q).to(torch::kCPU, torch::kFloat).contiguous();
                out.putInt(static_cast<int64_t>(r));
                out.putInt(q);
                out.putVector(std::vector<float>(t.data_ptr<float>(), t.data_ptr<float>() + t.numel()));
            }
        for (const std::string& part : dist::allgather(out.data)) {
            BytesReader in(part);
            for (size_t used = 0; used < part.size();) {
                const size_t before = in.position();
                const auto r = static_cast<size_t>(in.getInt());
                const int64_t q = in.getInt();
                slot(r, q) = torch::tensor(in.getVector<float>(), torch::kFloat).to(device);
                used += in.position() - before;
            }
        }
    }
    if (!head)
        for (size_t r = 0; r < N; ++r)
            ro.oldValues[r] = torch::zeros({static_cast<int64_t>(ro.actions[r].size())},
                                           torch::dtype(torch::kFloat).device(device));
    std::vector<torch::Tensor> maskRows, scoreRows;
    for (size_t r = 0; r < N; ++r) {
        const int64_t L = static_cast<int64_t>(ro.actions[r].size());
        maskRows.push_back(torch::ones({L}, torch::dtype(torch::kFloat).device(device)));
        scoreRows.push_back(torch::tensor(ro.scores[r].token_scores).to(device));
    }
    ro.mask = padRows(maskRows, ro.Tmax, device);
    const auto old = padRows(ro.oldLogp, ro.Tmax, device);
    const auto ref = padRows(ro.refLogp, ro.Tmax, device);
    ro.values = padRows(ro.oldValues, ro.Tmax, device);
    ro.klK1 = klEstimate(old, ref, KlEstimator::K1) * ro.mask;
    ro.klK3 = klEstimate(old, ref, KlEstimator::K3) * ro.mask;
    ro.klPenalty = h.kl_estimator == KlEstimator::K1 ? ro.klK1
        : h.kl_estimator == KlEstimator::K3          ? ro.klK3
                                                     : klEstimate(old, ref, h.kl_estimator) * ro.mask;
    // With the KL in the loss the token rewards are the rule-based scores alone.
    ro.rewards = assembleTokenRewards(padRows(scoreRows, ro.Tmax, device), ro.klPenalty, ro.mask,
                                      klInLoss(h) ? 0.0 : kl.value());
    torch::Tensor adv;
    if (head) {
        auto rewards = h.whiten_rewards ? maskedWhiten(ro.rewards, ro.mask, /*shiftMean=*/false) : ro.rewards;
        const auto gae = computeGae(rewards, ro.values, ro.mask, h.gamma, h.lam);
        ro.returnsAll = gae.returns;
        adv = h.whiten_advantages ? maskedWhiten(gae.advantages, ro.mask, true) : gae.advantages;
    } else {
        // Critic-free: returns-to-go against the group's (or batch's) baseline; whiten_* are PPO's.
        adv = criticFreeAdvantages(ro.rewards, ro.mask, ro.groups, h.algorithm, h.gamma, !h.dr_grpo);
        ro.returnsAll = torch::zeros_like(ro.rewards);
    }
    for (size_t r = 0; r < N; ++r) {
        const int64_t L = static_cast<int64_t>(ro.actions[r].size());
        ro.advantages.push_back(adv[static_cast<int64_t>(r)].slice(0, 0, L).clone());
        ro.returns.push_back(ro.returnsAll[static_cast<int64_t>(r)].slice(0, 0, L).clone());
    }
}

// ---- step 3: clipped PPO epochs over the rollout ----------------------------------------------------

LearnStats PpoTrainer::Impl::learn(const PpoRollout& ro, long it)
{
    const PpoConfig& h = c.hyper;
    const int64_t V = model.config().vocab_size;
    const size_t N = ro.rows();
    const auto t0 = Clock::now();
    LearnStats ls;
    model.train();
    if (head)
        head->train();
    loop->zeroGrad();
    std::vector<size_t> order(N);
    std::iota(order.begin(), order.end(), size_t(0));
    // Critic-free: one pass per micro-batch, on every thread.
    const bool parallel = head && concurrentPasses();
    const bool klLoss = klInLoss(h);
    // Dr. GRPO sums each response's token losses over the generation budget instead of averaging them.
    const double tokenNorm = h.dr_grpo ? static_cast<double>(c.max_new_tokens) : 0.0;
    ScopedComputeThreads oneThreadEach(parallel ? 1 : 0, parallel ? 1 : 0);
    for (int epoch = 0; epoch < h.ppo_epochs; ++epoch) {
        loop->checkCancel();
        for (size_t i = order.size(); i > 1; --i)
            std::swap(order[i - 1], order[static_cast<size_t>(rng.uniformInt(0, static_cast<int>(i) - 1))]);
        const size_t mb = static_cast<size_t>(c.mini_batch);
        const size_t nMb = (N + mb - 1) / mb;
        const size_t A = static_cast<size_t>(h.grad_accum);
        double epochPolicyKl = 0;
        long epochMicro = 0;
        // Data parallel: every rank holds the whole rollout and the same order; micro-batch j of an
        // optimizer step is computed by one rank (contiguous shares of the step's grad_accum), and
        // the step's gradients and statistics are summed over the ranks before it is taken.
        const bool dataParallel = loop->config().data_parallel;
        const size_t ranks = static_cast<size_t>(dist::world()), me = static_cast<size_t>(dist::rank());
        enum Stat { Accepted, NonFinite, KlLoss, Pg, Vf, Ent, Clip, Approx, PolicyKl, VfClip, Ratio, FirstRatio, NStats };
        std::vector<double> step(NStats, 0.0);
        for (size_t j = 0; j < nMb; ++j) {
            const bool stepEnds = (j + 1) % A == 0 || j + 1 == nMb;
            if (!dataParallel || (j % A) * ranks / A == me) {  // this rank's micro-batch
                std::vector<size_t> rows(order.begin() + static_cast<long>(j * mb),
                                         order.begin() + static_cast<long>(std::min(N, (j + 1) * mb)));
                // In rollout order: a micro-batch holding a scoring batch's rows packs them as that
                // batch did, so its products are the same ones whether or not the BLAS kernels
                // round a row the same at every position of the matrix (OpenBLAS's Zen ones do not).
                std::sort(rows.begin(), rows.end());
                std::vector<std::vector<int32_t>> pr, ac;
                std::vector<float> temps;
                std::vector<torch::Tensor> oldR, advR, retR, valR, refR;
                for (size_t r : rows) {
                    refR.push_back(ro.refLogp[r]);
                    pr.push_back(ro.promptIds[r]);
                    ac.push_back(ro.actions[r]);
                    temps.push_back(ro.temperatures[r]);
                    oldR.push_back(ro.oldLogp[r]);
                    advR.push_back(ro.advantages[r]);
                    retR.push_back(ro.returns[r]);
                    valR.push_back(ro.oldValues[r]);
                }
                const auto packed = packSequences(pr, ac, padId(), device);
                const int64_t T = packed.response_columns;
                ScoreOptions so;
                so.adapter = kPpoActorAdapter;
                so.temperatures = torch::tensor(temps);
                so.allowed = constraintMasksFor(c, ac, V, T, device);
                so.want_entropy = true;
                so.checkpoint_layers = c.hyper.gradient_checkpointing;
                const auto oldLogp = padRows(oldR, T, device), adv = padRows(advR, T, device);
                const auto oldValues = padRows(valR, T, device), returns = padRows(retR, T, device);
                // The actor's and the critic's passes share no parameter: their losses (and below,
                // their backward passes) may run at once.
                PolicyLossResult pl;
                ValueLossResult vl;
                vl.loss = torch::zeros({}, oldLogp.options());
                torch::Tensor ent, actorLoss, criticLoss = torch::zeros({}, oldLogp.options()), klTerm;
                runPair(
                    parallel,
                    [&] {
                        const auto actor = scoreSequences(model, packed, so);
                        pl = clippedPolicyLoss(actor.logprobs, oldLogp, adv, packed.mask, h.clip_eps, tokenNorm);
                        ent = maskedMean(actor.entropy, packed.mask);
                        actorLoss = pl.loss - h.ent_coef * ent;
                        if (klLoss) {
                            // GRPO's KL term: k3 of the current policy against the reference, per token.
                            klTerm = aggregateTokenLoss(
                                klEstimate(actor.logprobs, padRows(refR, T, device), KlEstimator::K3), packed.mask,
                                tokenNorm);
                            actorLoss = actorLoss + kl.value() * klTerm;
                        }
                    },
                    [&] {
                        if (!head)
                            return;
                        const auto critic = criticValues(packed);
                        vl = clippedValueLoss(critic.values, oldValues, returns, packed.mask, h.value_clip);
                        criticLoss = h.vf_coef * vl.loss;
                    });
                if (epoch == 0 && j == 0)
                    step[FirstRatio] = pl.ratio_max - 1.0;
                const size_t group = j / A;
                const double groupSize = static_cast<double>(std::min(A, nMb - group * A));
                const double lossValue = actorLoss.item<double>() + criticLoss.item<double>();
                if (dataParallel && !std::isfinite(lossValue)) {
                    step[NonFinite] += 1.0;  // every rank decides together at the step
                } else if (dataParallel || loop->acceptLoss(lossValue)) {
                    runPair(
                        parallel, [&] { (actorLoss / groupSize).backward(); },
                        [&] {
                            if (head)
                                (criticLoss / groupSize).backward();
                        });
                    if (klLoss)
                        step[KlLoss] += klTerm.item<double>();
                    step[Pg] += pl.loss.item<double>();
                    step[Vf] += vl.loss.item<double>();
                    step[Ent] += ent.item<double>();
                    step[Clip] += pl.clipfrac;
                    step[Approx] += pl.approxkl;
                    step[PolicyKl] += pl.policykl;
                    step[VfClip] += vl.clipfrac;
                    step[Ratio] += pl.ratio_mean;
                    step[Accepted] += 1.0;
                }
            }
            if (stepEnds) {
                loop->reduceGradients(step);
                if (epoch == 0 && j + 1 <= A)
                    ls.firstRatioDev = step[FirstRatio];
                const bool dropped = step[NonFinite] > 0.0 && !loop->acceptLoss(std::numeric_limits<double>::quiet_NaN());
                if (!dropped) {
                    ls.sumKlLoss += step[KlLoss];
                    ls.sumPg += step[Pg];
                    ls.sumVf += step[Vf];
                    ls.sumEnt += step[Ent];
                    ls.sumClip += step[Clip];
                    ls.sumApprox += step[Approx];
                    ls.sumPolicyKl += step[PolicyKl];
                    ls.sumVfClip += step[VfClip];
                    ls.sumRatio += step[Ratio];
                    epochPolicyKl += step[PolicyKl];
                    ls.nMicro += static_cast<long>(step[Accepted]);
                    epochMicro += static_cast<long>(step[Accepted]);
                }
                std::fill(step.begin(), step.end(), 0.0);
                if (dropped)
                    continue;
                const auto st = loop->optimizerStep(it);
                if (st.applied) {
                    ls.sumGrad += st.grad_norm;
                    ls.sumLr += st.learning_rate;
                    ls.lastLr = st.learning_rate;
                    ++ls.nSteps;
                }
            }
        }
        ++ls.epochsDone;
        if (h.policy_kl_threshold > 0 && epochMicro > 0
            && epochPolicyKl / static_cast<double>(epochMicro) > h.policy_kl_threshold) {
            ls.earlyStopped = epoch + 1 < h.ppo_epochs;
            break;
        }
    }
    model.eval();
    if (head)
        head->eval();
    ls.seconds = secondsSince(t0);
    return ls;
}

// ---- step 4: metrics (TRL's names) --------------------------------------------------------------------

Metrics PpoTrainer::Impl::metrics(const PpoRollout& ro, const LearnStats& ls, PpoResult& result)
{
    const size_t N = ro.rows();
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
    const double klCoefUsed = kl.value();
    const PpoConfig& h = c.hyper;
    const double nonScore = klInLoss(h) ? 0.0 : (-klCoefUsed * ro.klPenalty).sum().item<double>() / n;
    const double share = items > 0 ? 1.0 / static_cast<double>(items) : 0.0;
    const double mic = ls.nMicro > 0 ? 1.0 / static_cast<double>(ls.nMicro) : 0.0;
    Metrics out = {
        {"env/reward_mean", mean},
        {"env/reward_std", stdev},
        {"reward/item_mean", itemSum / n},
        {"reward/list_mean", listSum / n},
        {"objective/kl", klSeq},
        {"objective/kl_k3", klSeqK3},
        {"objective/kl_coef", klCoefUsed},
        {"ppo/mean_non_score_reward", nonScore},
        {"ppo/policy/clipfrac", ls.sumClip * mic},
        {"ppo/policy/approxkl", ls.sumApprox * mic},
        {"ppo/policy/policykl", ls.sumPolicyKl * mic},
        {"ppo/policy/entropy", ls.sumEnt * mic},
        {"ppo/policy/ratio", ls.sumRatio * mic},
        {"ppo/policy/first_ratio_dev", ls.firstRatioDev},
        {"ppo/loss/policy", ls.sumPg * mic},
        {"ppo/epochs", static_cast<double>(ls.epochsDone)},
        {"ppo/early_stop", ls.earlyStopped ? 1.0 : 0.0},
        {"tokens/responses_len_mean", lenSum / n},
        {"illegal/nonexist", nonExist * share},
        {"illegal/repeat", repeat * share},
        {"illegal/inhistory", inHistory * share},
        {"illegal/beyond_k", beyond * share},
        {"learning_rate", ls.nSteps > 0 ? ls.sumLr / static_cast<double>(ls.nSteps) : ls.lastLr},
        {"grad_norm", ls.nSteps > 0 ? ls.sumGrad / static_cast<double>(ls.nSteps) : 0.0},
        {"time/rollout_s", ro.seconds},
        {"time/generation_s", ro.generationSeconds},
        {"time/reward_s", ro.rewardSeconds},
        {"time/scoring_s", ro.scoringSeconds},
        {"time/learn_s", ls.seconds},
    };
    if (head) {
        out.push_back({"ppo/val/loss", ls.sumVf * mic});
        out.push_back({"ppo/val/clipfrac", ls.sumVfClip * mic});
        out.push_back({"ppo/val/var_explained", explainedVariance(ro.values, ro.returnsAll, ro.mask)});
        out.push_back({"ppo/returns/mean", maskedMean(ro.returnsAll, ro.mask).item<double>()});
    }
    if (klInLoss(h))
        out.push_back({"objective/kl_loss", ls.sumKlLoss * mic});
    if (h.samples_per_prompt > 1) {
        // The spread within each prompt's group: what grpo and rloo learn from (TRL's names).
        const GroupRewardStats g = groupRewardStats(total, ro.groups);
        out.push_back({"env/group_reward_std", g.std_mean});
        out.push_back({"env/frac_reward_zero_std", g.frac_zero_std});
    }
    kl.update(klSeq, static_cast<long>(N));
    result.early_stopped_any = result.early_stopped_any || ls.earlyStopped;
    result.rollout_seconds += ro.seconds;
    result.learn_seconds += ls.seconds;
    result.last_reward_mean = mean;
    return out;
}

void PpoTrainer::Impl::recordSamples(const PpoRollout& ro)
{
    for (int k = 0; k < std::min<int>(c.samples_per_iteration, static_cast<int>(ro.rows())); ++k) {
        const auto& r = ro.responses[static_cast<size_t>(k)];
        SampleRecord rec;
        rec.stage = c.stage;
        rec.variant = r.greedy ? "greedy" : "sampled";
        rec.task = ro.prompts[r.prompt].task;
        rec.step = iteration;
        rec.prompt = ro.prompts[r.prompt].text;
        rec.output = ro.scores[static_cast<size_t>(k)].text;
        rec.details_json = ro.scores[static_cast<size_t>(k)].details_json;
        observer.onSample(rec);
    }
}

// ---- step 5: validation (every ppo.val_every iterations; the best weights kept) ------------------------

void PpoTrainer::Impl::validate(const PpoValidator& validator, Metrics& metrics)
{
    const long every = c.hyper.val_every;
    if (!validator || every <= 0 || iteration % every != 0)
        return;
    Metrics vm;
    const double v = validator(model, iteration, vm);
    metrics.insert(metrics.end(), vm.begin(), vm.end());
    metrics.emplace_back("validation/score", v);
    if (v <= bestValidation)
        return;
    bestValidation = v;
    bestIteration = iteration;
    if (c.output_dir.empty() || !dist::isWriter())
        return;
    const auto dir = (std::filesystem::path(c.output_dir) / "best").string();
    StateWriter w;
    w.putNamedTensors("params", trainable);
    putAdapterDescription(w, "actor/", model.adapterSpec(kPpoActorAdapter), iteration);
    if (head)
        w.putModule("value_head", *head);
    w.putInt("iteration", iteration);
    w.putDouble("score", v);
    w.commit(dir + "/ppo_best.safetensors");
}

// ---- run -------------------------------------------------------------------------------------------

PpoResult PpoTrainer::run()
{
    Impl& s = *m;
    const PpoTrainConfig& c = m_config;
    const PpoConfig& h = c.hyper;
    const size_t episode0 = s.episodeData(0).size();
    const long perEpisode = static_cast<long>((episode0 + static_cast<size_t>(h.prompts_per_batch) - 1)
                                              / static_cast<size_t>(h.prompts_per_batch));
    s.totalIterations = h.max_iterations > 0 ? h.max_iterations : perEpisode * h.episodes;

    TrainLoopConfig lc;
    lc.stage = c.stage;
    lc.schedule.base_lr = h.lr;
    lc.schedule.end_lr = c.end_lr;
    lc.schedule.power = c.lr_power;
    lc.schedule.warmup_steps = h.warmup_steps;
    lc.schedule.total_steps = std::max(1L, s.totalIterations);
    lc.max_grad_norm = h.grad_clip;
    lc.on_non_finite = c.on_non_finite;
    lc.data_parallel = dist::world() > 1;
    std::vector<torch::Tensor> params;
    for (auto& [n, t] : s.trainable)
        params.push_back(t);
    s.loop = std::make_unique<TrainLoop>(lc, s.observer, *s.optimizer, params);

    const std::string ckpt = checkpointPath();
    if (!ckpt.empty() && c.resume && std::filesystem::exists(ckpt)) {
        s.load(ckpt);
        s.observer.onLog(LogLevel::Info, c.stage + ": resumed from '" + ckpt + "' after iteration "
                                             + std::to_string(s.iteration));
    }
    s.observer.onStageBegin(c.stage, s.totalIterations);
    if (s.concurrentPasses())
        s.observer.onLog(LogLevel::Info, c.stage + ": the actor's and the critic's passes run on two threads at once");

    PpoResult result;
    bool atBoundary = true;  // the state is a consistent "between iterations" state
    try {
        while (s.iteration < s.totalIterations) {
            atBoundary = true;
            s.loop->checkCancel();
            atBoundary = false;
            if (s.cursor >= s.episodeData(s.episode).size()) {
                ++s.episode;
                s.cursor = 0;
                if (h.max_iterations <= 0 && s.episode >= h.episodes)
                    break;
            }
            const auto& ep = s.episodeData(s.episode);
            PpoRollout ro;
            const size_t end = std::min(ep.size(), s.cursor + static_cast<size_t>(h.prompts_per_batch));
            ro.prompts.assign(ep.begin() + static_cast<long>(s.cursor), ep.begin() + static_cast<long>(end));
            const long it = s.iteration;  // 0-based index of this iteration
            s.loop->setStepLabel("step " + std::to_string(it + 1) + " (PPO iteration; optimizer step "
                                 + std::to_string(s.loop->step() + 1) + ")");

            const auto tRollout = Clock::now();
            s.rollout(ro, it);
            const auto tScoring = Clock::now();
            s.evaluateRollout(ro);
            ro.scoringSeconds = secondsSince(tScoring);
            ro.seconds = secondsSince(tRollout);
            const LearnStats ls = s.learn(ro, it);
            Metrics metrics = s.metrics(ro, ls, result);

            s.cursor = end;
            s.iteration = it + 1;
            const double epochProgress = static_cast<double>(s.episode)
                + static_cast<double>(s.cursor) / static_cast<double>(std::max<size_t>(1, ep.size()));
            s.recordSamples(ro);
            s.validate(m_validator, metrics);
            s.loop->emit(s.iteration, s.totalIterations, epochProgress, std::move(metrics));
            if (!ckpt.empty() && c.checkpoint_every > 0 && s.iteration % c.checkpoint_every == 0)
                s.save(ckpt);
            atBoundary = true;
        }
    } catch (const CoreException& e) {
        // A cancel inside an iteration keeps the last checkpoint (the half-done iteration reruns).
        if (e.error().code == ErrorCode::Cancelled && atBoundary && !ckpt.empty() && c.checkpoint_on_cancel) {
            s.model.eval();
            s.loop->zeroGrad();
            s.save(ckpt);
        }
        throw;
    }
    if (!ckpt.empty())
        s.save(ckpt);
    s.observer.onStageEnd(c.stage);
    result.iterations = s.iteration;
    result.optimizer_steps = s.loop->step();
    result.best_validation = s.bestValidation;
    result.best_iteration = s.bestIteration;
    result.checkpoint_path = ckpt;
    return result;
}

}  // namespace recalign::core
