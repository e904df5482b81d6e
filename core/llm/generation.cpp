// Batched generation with logit processing, sampling, log-probs and constrained decoding
// (see generation.h).
#include "core/llm/generation.h"

#include "core/api/error.h"
#include "core/llm/fast_decode.h"
#include "core/util/rng.h"

#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <set>

namespace recalign::core::llm {

namespace generation_detail {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

struct RowState {
    std::vector<int32_t> out;
    std::vector<float> logprobs;
    std::vector<uint8_t> seen;  // repetition penalty: tokens in prompt + output
    std::optional<RowConstraintState> walk;  // constrained decoding: the row's walk
    SplitMix64Rng rng;  // one splitmix64 stream per row
    bool finished = false;
    FinishReason reason = FinishReason::Length;
};

// Applies the processing shared by sampling and log-probs to one row's logits, in place:
// constraint mask, min-length mask, repetition penalty, temperature.
void processRow(float* z, int64_t V, const std::vector<int32_t>* allowed, bool maskStops,
                const std::vector<int32_t>& stops, const std::vector<uint8_t>& seen, double penalty, double temperature)
{
    if (allowed) {
        std::vector<float> keep(allowed->size());
        for (size_t i = 0; i < allowed->size(); ++i)
            keep[i] = z[(*allowed)[i]];
        std::fill(z, z + V, kNegInf);
        for (size_t i = 0; i < allowed->size(); ++i)
            z[(*allowed)[i]] = keep[i];
    }
    if (maskStops) {
        // Never mask every remaining token (a constraint may allow only EOS).
        int64_t finite = 0, finiteStops = 0;
        for (int64_t v = 0; v < V; ++v)
            finite += z[v] != kNegInf;
        for (int32_t s : stops)
            if (s >= 0 && s < V && z[s] != kNegInf)
                ++finiteStops;
        if (finite > finiteStops)
            for (int32_t s : stops)
                if (s >= 0 && s < V)
                    z[s] = kNegInf;
    }
    if (penalty != 1.0 && !seen.empty()) {
        const float p = static_cast<float>(penalty);
        for (int64_t v = 0; v < V; ++v)
            if (seen[static_cast<size_t>(v)] && z[v] != kNegInf)
                z[v] = z[v] > 0 ? z[v] / p : z[v] * p;
    }
    if (temperature > 0.0 && temperature != 1.0) {
        const float t = static_cast<float>(temperature);
        for (int64_t v = 0; v < V; ++v)
            z[v] = z[v] / t;
    }
}

double logSumExp(const float* z, int64_t V) { return logSumExpRow(z, V); }

int32_t argmaxRow(const float* z, int64_t V)
{
    int64_t best = 0;
    for (int64_t v = 1; v < V; ++v)
        if (z[v] > z[best])
            best = v;
    return static_cast<int32_t>(best);
}

// Samples from softmax(z) restricted by top-k then top-p.
int32_t sampleRow(const float* z, int64_t V, int topK, double topP, double lse, SplitMix64Rng& rng)
{
    std::vector<int32_t> cand;
    cand.reserve(static_cast<size_t>(V));
    for (int64_t v = 0; v < V; ++v)
        if (z[v] != kNegInf)
            cand.push_back(static_cast<int32_t>(v));
    if (cand.empty())
        return 0;
    auto byLogit = [&](int32_t a, int32_t b) { return z[a] > z[b] || (z[a] == z[b] && a < b); };
    if (topK > 0 && static_cast<size_t>(topK) < cand.size()) {
        std::nth_element(cand.begin(), cand.begin() + (topK - 1), cand.end(), byLogit);
        const float kth = z[cand[static_cast<size_t>(topK - 1)]];
        // HF keeps every token whose logit is >= the k-th largest.
        std::vector<int32_t> kept;
        for (int64_t v = 0; v < V; ++v)
            if (z[v] != kNegInf && z[v] >= kth)
                kept.push_back(static_cast<int32_t>(v));
        cand.swap(kept);
    }
    std::sort(cand.begin(), cand.end(), byLogit);
    std::vector<double> p(cand.size());
    double total = 0.0;
    for (size_t i = 0; i < cand.size(); ++i) {
        p[i] = std::exp(static_cast<double>(z[cand[i]]) - lse);
        total += p[i];
    }
    size_t keep = cand.size();
    if (topP < 1.0) {
        double cum = 0.0;
        for (size_t i = 0; i < cand.size(); ++i) {
            if (cum >= topP * total) {
                keep = i;
                break;
            }
            cum += p[i];
        }
        keep = std::max<size_t>(keep, 1);
    }
    double mass = 0.0;
    for (size_t i = 0; i < keep; ++i)
        mass += p[i];
    const double u = rng.uniform01() * mass;
    double acc = 0.0;
    for (size_t i = 0; i < keep; ++i) {
        acc += p[i];
        if (u < acc)
            return cand[i];
    }
    return cand[keep - 1];
}

void validate(const GenerationConfig& c, const std::vector<std::vector<int32_t>>& prompts, int64_t V)
{
    auto bad = [](const std::string& m) { throw CoreException(ErrorCode::InvalidConfig, "generation: " + m, "generation"); };
    if (prompts.empty())
        bad("no prompts");
    for (size_t i = 0; i < prompts.size(); ++i) {
        if (prompts[i].empty())
            bad("prompt " + std::to_string(i) + " is empty (start it with BOS)");
        for (int32_t t : prompts[i])
            if (t < 0 || t >= V)
                bad("prompt " + std::to_string(i) + " has token " + std::to_string(t) + " outside the vocabulary");
    }
    if (c.max_new_tokens < 1)
        bad("max_new_tokens must be >= 1");
    if (c.min_new_tokens < 0 || c.min_new_tokens > c.max_new_tokens)
        bad("min_new_tokens must be in [0, max_new_tokens]");
    if (!std::isfinite(c.temperature))
        bad("temperature must be finite");
    if (c.top_k < 0)
        bad("top_k must be >= 0");
    if (!(c.top_p > 0.0 && c.top_p <= 1.0))
        bad("top_p must be in (0, 1]");
    if (!(c.repetition_penalty > 0.0))
        bad("repetition_penalty must be positive");
    if (!c.row_constraints.empty() && !c.constraint)
        bad("row_constraints need a constraint");
    if (!c.row_constraints.empty() && c.row_constraints.size() != prompts.size())
        bad(std::to_string(c.row_constraints.size()) + " row constraints for " + std::to_string(prompts.size())
            + " prompts (one per prompt, or none)");
}

// Row b's walk through the constraint, under its row constraint when there are any; the row is
// named in errors (too few allowed titles).
RowConstraintState rowWalk(const TitleConstraint& constraint, const std::vector<RowConstraint>& rows, size_t b)
{
    if (rows.empty())
        return RowConstraintState(constraint);
    try {
        return RowConstraintState(constraint, rows.at(b));
    } catch (const CoreException& e) {
        throw CoreException(e.error().code, "generation row " + std::to_string(b) + ": " + e.what(),
                            e.error().where);
    }
}

std::vector<int32_t> stopTokens(const GenerationConfig& c, const Tokenizer* tok)
{
    if (!c.stop_token_ids.empty())
        return c.stop_token_ids;
    return {tok && tok->isLoaded() ? tok->eosId() : 2};
}

// Greedy decoding with the tokens kept on the model's device: each step's argmax and log-prob are
// computed there and the chosen tokens go straight back into the model, so a step costs no host
// round trip; whether every row has stopped is asked every kSyncEvery steps (the steps run past it
// are dropped). Rows are then cut after their first stop token on the host, as the host loop cuts
// them. `logits`: (B, V), the prefill's last position.
void decodeOnDevice(LlamaModelImpl& model, KvCache& cache, torch::Tensor logits,
                    const std::vector<std::vector<int32_t>>& prompts, const GenerationConfig& config,
                    const std::vector<int32_t>& stops, std::vector<RowState>& rows, GenerationResult& res)
{
    constexpr int kSyncEvery = 16;
    const auto device = logits.device();
    const int64_t B = static_cast<int64_t>(prompts.size()), V = logits.size(-1);
    std::vector<int64_t> stopIds, lastIds;
    for (int32_t s : stops)
        if (s >= 0 && s < V)
            stopIds.push_back(s);
    for (const auto& p : prompts)
        lastIds.push_back(p.back());
    const torch::Tensor stopTensor = torch::tensor(stopIds, torch::kLong).to(device);
    torch::Tensor last = torch::tensor(lastIds, torch::kLong).to(device);
    torch::Tensor finished = torch::zeros({B}, torch::TensorOptions().dtype(torch::kBool).device(device));
    // As processRow: the stop tokens are masked before min_new_tokens unless they are all there is.
    const bool canMaskStops = !stopIds.empty() && V > static_cast<int64_t>(stopIds.size());
    std::vector<torch::Tensor> chosen, logprobs;
    for (int step = 0; step < config.max_new_tokens; ++step) {
        torch::Tensor z = logits.to(torch::kFloat);
        if (step < config.min_new_tokens && canMaskStops)
            z = z.index_fill(1, stopTensor, -std::numeric_limits<float>::infinity());
        torch::Tensor tok = z.argmax(1);  // the first of equal maxima, as argmaxRow
        chosen.push_back(torch::where(finished, last, tok));
        logprobs.push_back(z.gather(1, tok.unsqueeze(1)).squeeze(1) - z.logsumexp(1));
        last = chosen.back();
        if (!stopIds.empty())
            finished = finished.logical_or((last.unsqueeze(1) == stopTensor.unsqueeze(0)).any(1));
        if (step + 1 == config.max_new_tokens)
            break;
        if ((step + 1) % kSyncEvery == 0 && finished.all().item<bool>())
            break;
        ForwardOptions fo;
        logits = model.forwardCached(last.view({B, 1}), cache, {}, fo).logits.select(1, 0);
    }
    const torch::Tensor tokens = torch::stack(chosen, 1).to(torch::kCPU).contiguous();
    const torch::Tensor lps = torch::stack(logprobs, 1).to(torch::kCPU).to(torch::kFloat).contiguous();
    const int64_t S = tokens.size(1);
    const std::set<int32_t> stopSet(stops.begin(), stops.end());
    res.steps = 0;
    for (int64_t b = 0; b < B; ++b) {
        RowState& r = rows[static_cast<size_t>(b)];
        const int64_t* tp = tokens.data_ptr<int64_t>() + b * S;
        const float* lp = lps.data_ptr<float>() + b * S;
        for (int64_t t = 0; t < S && !r.finished; ++t) {
            const auto tok = static_cast<int32_t>(tp[t]);
            r.out.push_back(tok);
            r.logprobs.push_back(lp[t]);
            if (stopSet.count(tok)) {
                r.finished = true;
                r.reason = FinishReason::StopToken;
            }
        }
        res.steps = std::max<int64_t>(res.steps, static_cast<int64_t>(r.out.size()));
    }
}

}  // namespace generation_detail

using namespace generation_detail;

std::pair<torch::Tensor, torch::Tensor> leftPad(const std::vector<std::vector<int32_t>>& rows, int32_t padId)
{
    size_t maxLen = 0;
    for (const auto& r : rows)
        maxLen = std::max(maxLen, r.size());
    const int64_t B = static_cast<int64_t>(rows.size()), T = static_cast<int64_t>(maxLen);
    torch::Tensor tokens = torch::full({B, T}, padId, torch::kLong);
    torch::Tensor mask = torch::zeros({B, T}, torch::kLong);
    auto tp = tokens.accessor<int64_t, 2>();
    auto mp = mask.accessor<int64_t, 2>();
    for (int64_t b = 0; b < B; ++b) {
        const auto& r = rows[static_cast<size_t>(b)];
        const int64_t off = T - static_cast<int64_t>(r.size());
        for (size_t i = 0; i < r.size(); ++i) {
            tp[b][off + static_cast<int64_t>(i)] = r[i];
            mp[b][off + static_cast<int64_t>(i)] = 1;
        }
    }
    return {tokens, mask};
}

GenerationResult generate(LlamaModelImpl& model, const std::vector<std::vector<int32_t>>& prompts,
                          const GenerationConfig& config, const Tokenizer* tokenizer)
{
    using Clock = std::chrono::steady_clock;
    const int64_t V = model.config().vocab_size;
    validate(config, prompts, V);
    if (!config.stop_strings.empty() && (!tokenizer || !tokenizer->isLoaded()))
        throw CoreException(ErrorCode::InvalidConfig, "generation: stop strings need a tokenizer", "generation");
    std::optional<AdapterScope> scope;
    if (config.adapter)
        scope.emplace(model, *config.adapter);
    model.checkMergedState();
    c10::InferenceMode inference;
    struct EvalScope {  // dropout off while generating; the previous mode comes back
        LlamaModelImpl& m;
        bool was;
        ~EvalScope() { m.train(was); }
    } evalScope{model, model.is_training()};
    model.eval();
    const std::vector<int32_t> stops = stopTokens(config, tokenizer);
    const std::set<int32_t> stopSet(stops.begin(), stops.end());
    const bool greedy = config.temperature <= 0.0;
    const bool penalise = config.repetition_penalty != 1.0;
    const int64_t B = static_cast<int64_t>(prompts.size());

    std::vector<RowState> rows(static_cast<size_t>(B));
    for (int64_t b = 0; b < B; ++b) {
        RowState& r = rows[static_cast<size_t>(b)];
        r.rng = SplitMix64Rng(config.seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(b + config.first_row) * 0xD1B54A32D192ED03ull + 1);
        if (penalise) {
            r.seen.assign(static_cast<size_t>(V), 0);
            for (int32_t t : prompts[static_cast<size_t>(b)])
                r.seen[static_cast<size_t>(t)] = 1;
        }
        if (config.constraint)
            r.walk = rowWalk(*config.constraint, config.row_constraints, static_cast<size_t>(b));
        r.out.reserve(static_cast<size_t>(config.max_new_tokens));
    }

    GenerationResult res;
    const auto t0 = Clock::now();
    auto [tokens, mask] = leftPad(prompts);
    const auto device = model.embed_tokens->weight.device();
    const int64_t P = tokens.size(1);
    KvCache cache = model.makeCache(B, P + config.max_new_tokens);
    torch::Tensor logits;
    std::unique_ptr<CpuDecoder> fast;
    SharedPrefill* shared = config.shared_prefill;
    const bool reuse = shared && shared->logits.defined() && shared->model == &model
        && shared->adapter == model.activeAdapter() && shared->prompts == prompts
        && shared->cache.capacity() == cache.capacity();
    const bool useFast = config.fast_path && CpuDecoder::supports(model);
    if (reuse) {
        // The stored prefill: its keys and values, row starts and positions, and last logits.
        cache.k.copy_(shared->cache.k);
        cache.v.copy_(shared->cache.v);
        cache.length = shared->cache.length;
        cache.row_start = shared->cache.row_start;
        cache.next_pos = shared->cache.next_pos;
        logits = shared->logits.clone();
        ++shared->reused;
        if (useFast)
            fast = std::make_unique<CpuDecoder>(model, cache);
    } else if (useFast) {
        // Prefill token by token through the fused decoder (llama2.c-style): no per-op overhead
        // and no thread wake-ups for short prompts.
        for (int64_t b = 0; b < B; ++b)
            cache.row_start[static_cast<size_t>(b)] = P - static_cast<int64_t>(prompts[static_cast<size_t>(b)].size());
        fast = std::make_unique<CpuDecoder>(model, cache);
        std::vector<int32_t> col(static_cast<size_t>(B));
        std::vector<uint8_t> real(static_cast<size_t>(B));
        const int64_t* tp = tokens.data_ptr<int64_t>();
        for (int64_t t = 0; t < P; ++t) {
            for (int64_t b = 0; b < B; ++b) {
                col[static_cast<size_t>(b)] = static_cast<int32_t>(tp[b * P + t]);
                real[static_cast<size_t>(b)] = t >= cache.row_start[static_cast<size_t>(b)];
            }
            logits = fast->step(col, &real);
        }
    } else {
        ForwardOptions prefill;
        prefill.outputs_last = 1;
        logits = model.forwardCached(tokens.to(device), cache, mask.to(device), prefill).logits.select(1, 0);
    }
    if (shared && !reuse) {
        shared->model = &model;
        shared->adapter = model.activeAdapter();
        shared->prompts = prompts;
        shared->cache = cache;
        shared->cache.k = cache.k.clone();
        shared->cache.v = cache.v.clone();
        shared->logits = logits.clone();
    }
    const auto t1 = Clock::now();

    const bool deviceLoop = !fast && greedy && !config.constraint && !penalise && config.stop_strings.empty()
        && (config.decode_loop == GenerationConfig::DecodeLoop::Device
            || (config.decode_loop == GenerationConfig::DecodeLoop::Auto && !device.is_cpu()));
    if (deviceLoop)
        decodeOnDevice(model, cache, logits, prompts, config, stops, rows, res);
    else {
        std::vector<float> z(static_cast<size_t>(V));
        std::vector<int32_t> allowed, next(static_cast<size_t>(B));
        std::vector<uint8_t> live(static_cast<size_t>(B), 1);
        for (int step = 0; step < config.max_new_tokens; ++step) {
            const torch::Tensor host = logits.to(torch::kCPU).to(torch::kFloat).contiguous();
            const float* lp = host.data_ptr<float>();
            bool anyActive = false;
            for (int64_t b = 0; b < B; ++b) {
                RowState& r = rows[static_cast<size_t>(b)];
                if (r.finished) {
                    next[static_cast<size_t>(b)] = r.out.empty() ? prompts[static_cast<size_t>(b)].back() : r.out.back();
                    continue;
                }
                std::copy(lp + b * V, lp + (b + 1) * V, z.begin());
                const std::vector<int32_t>* allow = nullptr;
                if (r.walk) {
                    r.walk->allowed(allowed);
                    allow = &allowed;
                }
                processRow(z.data(), V, allow, step < config.min_new_tokens, stops, r.seen, config.repetition_penalty,
                           config.temperature);
                const double lse = logSumExp(z.data(), V);
                const int32_t tok = greedy ? argmaxRow(z.data(), V)
                                           : sampleRow(z.data(), V, config.top_k, config.top_p, lse, r.rng);
                r.out.push_back(tok);
                r.logprobs.push_back(static_cast<float>(static_cast<double>(z[static_cast<size_t>(tok)]) - lse));
                if (penalise)
                    r.seen[static_cast<size_t>(tok)] = 1;
                if (r.walk)
                    r.walk->advance(tok);
                next[static_cast<size_t>(b)] = tok;
                if (stopSet.count(tok) || (r.walk && r.walk->done())) {
                    r.finished = true;
                    r.reason = FinishReason::StopToken;
                } else if (!config.stop_strings.empty()) {
                    const std::string text = tokenizer->decode(r.out);
                    for (const auto& s : config.stop_strings)
                        if (!s.empty() && text.find(s) != std::string::npos) {
                            r.finished = true;
                            r.reason = FinishReason::StopString;
                            break;
                        }
                }
                anyActive = anyActive || !r.finished;
            }
            res.steps = step + 1;
            if (!anyActive || step + 1 == config.max_new_tokens)
                break;
            if (fast) {
                for (int64_t b = 0; b < B; ++b)
                    live[static_cast<size_t>(b)] = !rows[static_cast<size_t>(b)].finished;
                logits = fast->step(next, &live);
            } else {
                const torch::Tensor in = torch::tensor(std::vector<int64_t>(next.begin(), next.end()), torch::kLong)
                                             .view({B, 1})
                                             .to(device);
                ForwardOptions fo;
                logits = model.forwardCached(in, cache, {}, fo).logits.select(1, 0);
            }
        }
    }
    const auto t2 = Clock::now();
    res.prefill_seconds = std::chrono::duration<double>(t1 - t0).count();
    res.decode_seconds = std::chrono::duration<double>(t2 - t1).count();
    for (auto& r : rows) {
        res.tokens.push_back(std::move(r.out));
        res.logprobs.push_back(std::move(r.logprobs));
        res.finish.push_back(r.reason);
    }
    return res;
}

torch::Tensor constraintMasks(const TitleConstraint& constraint, const std::vector<std::vector<int32_t>>& generated,
                              int64_t vocab, int64_t length, const std::vector<RowConstraint>& rows)
{
    if (!rows.empty() && rows.size() != generated.size())
        throw CoreException(ErrorCode::InvalidConfig,
                            "constraintMasks: " + std::to_string(rows.size()) + " row constraints for "
                                + std::to_string(generated.size()) + " rows",
                            "generation");
    int64_t T = length;
    if (T < 0) {
        T = 0;
        for (const auto& g : generated)
            T = std::max<int64_t>(T, static_cast<int64_t>(g.size()));
    }
    const int64_t B = static_cast<int64_t>(generated.size());
    torch::Tensor m = torch::ones({B, T, vocab}, torch::kBool);
    bool* p = m.data_ptr<bool>();
    std::vector<int32_t> allowed;
    for (int64_t b = 0; b < B; ++b) {
        RowConstraintState walk = rowWalk(constraint, rows, static_cast<size_t>(b));
        const auto& g = generated[static_cast<size_t>(b)];
        for (int64_t t = 0; t < std::min<int64_t>(T, static_cast<int64_t>(g.size())); ++t) {
            bool* row = p + (b * T + t) * vocab;
            walk.allowed(allowed);
            std::fill(row, row + vocab, false);
            for (int32_t a : allowed)
                if (a >= 0 && a < vocab)
                    row[a] = true;
            const int32_t tok = g[static_cast<size_t>(t)];
            if (!walk.isAllowed(tok))
                break;  // not a constrained output past here: leave the rest unmasked
            walk.advance(tok);
        }
    }
    return m;
}

torch::Tensor seenMasks(const std::vector<std::vector<int32_t>>& prompts, const std::vector<std::vector<int32_t>>& generated,
                        int64_t vocab, int64_t length)
{
    int64_t T = length;
    if (T < 0) {
        T = 0;
        for (const auto& g : generated)
            T = std::max<int64_t>(T, static_cast<int64_t>(g.size()));
    }
    const int64_t B = static_cast<int64_t>(generated.size());
    torch::Tensor m = torch::zeros({B, T, vocab}, torch::kBool);
    bool* p = m.data_ptr<bool>();
    std::vector<uint8_t> seen(static_cast<size_t>(vocab));
    for (int64_t b = 0; b < B; ++b) {
        std::fill(seen.begin(), seen.end(), 0);
        for (int32_t t : prompts[static_cast<size_t>(b)])
            if (t >= 0 && t < vocab)
                seen[static_cast<size_t>(t)] = 1;
        const auto& g = generated[static_cast<size_t>(b)];
        for (int64_t t = 0; t < T; ++t) {
            bool* row = p + (b * T + t) * vocab;
            for (int64_t v = 0; v < vocab; ++v)
                row[v] = seen[static_cast<size_t>(v)] != 0;
            if (t < static_cast<int64_t>(g.size()) && g[static_cast<size_t>(t)] >= 0 && g[static_cast<size_t>(t)] < vocab)
                seen[static_cast<size_t>(g[static_cast<size_t>(t)])] = 1;
        }
    }
    return m;
}

std::vector<std::vector<float>> recomputeLogprobs(LlamaModelImpl& model, const std::vector<std::vector<int32_t>>& prompts,
                                                  const std::vector<std::vector<int32_t>>& generated,
                                                  const GenerationConfig& config)
{
    if (prompts.size() != generated.size())
        throw CoreException(ErrorCode::InvalidConfig, "recomputeLogprobs: prompts and outputs differ in number");
    std::optional<AdapterScope> scope;
    if (config.adapter)
        scope.emplace(model, *config.adapter);
    c10::InferenceMode inference;
    const int64_t B = static_cast<int64_t>(prompts.size()), V = model.config().vocab_size;
    int64_t T = 0;
    std::vector<std::vector<int32_t>> full(prompts.size());
    for (size_t i = 0; i < prompts.size(); ++i) {
        full[i] = prompts[i];
        // The last generated token is a target, never an input.
        if (!generated[i].empty())
            full[i].insert(full[i].end(), generated[i].begin(), generated[i].end() - 1);
        T = std::max<int64_t>(T, static_cast<int64_t>(generated[i].size()));
    }
    std::vector<std::vector<float>> out(prompts.size());
    if (T == 0)
        return out;
    auto [tokens, mask] = leftPad(full);
    const auto device = model.embed_tokens->weight.device();
    const int64_t S = tokens.size(1);
    // Right-align: the last T positions of every row predict the generated tokens; rows with
    // fewer outputs are left-padded further, so their targets are also right-aligned.
    ForwardOptions fo;
    fo.outputs_last = T;
    const torch::Tensor logits = model.forward(tokens.to(device), mask.to(device), fo).logits.to(torch::kCPU);  // (B, T, V)
    (void)S;
    std::vector<std::vector<int32_t>> aligned(prompts.size());
    torch::Tensor targets = torch::zeros({B, T}, torch::kLong);
    std::vector<std::vector<int32_t>> padOut(prompts.size());
    for (int64_t b = 0; b < B; ++b) {
        const auto& g = generated[static_cast<size_t>(b)];
        const int64_t off = T - static_cast<int64_t>(g.size());
        for (size_t i = 0; i < g.size(); ++i)
            targets[b][off + static_cast<int64_t>(i)] = g[i];
    }
    // Masks are built per row on the row's own positions, then right-aligned like the logits.
    torch::Tensor allowed, seen;
    if (config.constraint || config.repetition_penalty != 1.0) {
        const torch::Tensor a = config.constraint
                                    ? constraintMasks(*config.constraint, generated, V, T, config.row_constraints)
                                    : torch::Tensor();
        const torch::Tensor s = config.repetition_penalty != 1.0 ? seenMasks(prompts, generated, V, T) : torch::Tensor();
        if (a.defined())
            allowed = torch::ones({B, T, V}, torch::kBool);
        if (s.defined())
            seen = torch::zeros({B, T, V}, torch::kBool);
        for (int64_t b = 0; b < B; ++b) {
            const int64_t n = static_cast<int64_t>(generated[static_cast<size_t>(b)].size());
            if (n == 0)
                continue;
            if (a.defined())
                allowed[b].narrow(0, T - n, n).copy_(a[b].narrow(0, 0, n));
            if (s.defined())
                seen[b].narrow(0, T - n, n).copy_(s[b].narrow(0, 0, n));
        }
    }
    // min_new_tokens masks stop tokens at the first positions, as generate() did.
    if (config.min_new_tokens > 0) {
        const auto stops = stopTokens(config, nullptr);
        if (!allowed.defined())
            allowed = torch::ones({B, T, V}, torch::kBool);
        for (int64_t b = 0; b < B; ++b) {
            const int64_t n = static_cast<int64_t>(generated[static_cast<size_t>(b)].size());
            for (int64_t t = 0; t < std::min<int64_t>(n, config.min_new_tokens); ++t) {
                bool* row = allowed[b][T - n + t].data_ptr<bool>();
                int64_t finite = 0, finiteStops = 0;
                for (int64_t v = 0; v < V; ++v)
                    finite += row[v];
                for (int32_t s : stops)
                    if (s >= 0 && s < V && row[s])
                        ++finiteStops;
                if (finite > finiteStops)
                    for (int32_t s : stops)
                        if (s >= 0 && s < V)
                            row[s] = false;
            }
        }
    }
    const torch::Tensor lp = processedTokenLogprobs(logits, targets, config.temperature, allowed, seen,
                                                    config.repetition_penalty);
    for (int64_t b = 0; b < B; ++b) {
        const int64_t n = static_cast<int64_t>(generated[static_cast<size_t>(b)].size());
        const torch::Tensor row = lp[b].narrow(0, T - n, n).contiguous();
        out[static_cast<size_t>(b)].assign(row.data_ptr<float>(), row.data_ptr<float>() + n);
    }
    return out;
}

}  // namespace recalign::core::llm
