// Tokenisation, packing, scoring and generation-based validation shared by SFT and PPO.
#include "core/train/sequences.h"

#include "core/api/error.h"
#include "core/rules/title_lookup.h"
#include "core/util/json_text.h"

#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>
#include <torch/nn/init.h>

#include <algorithm>
#include <cmath>

namespace recalign::core {

// ---- tokenisation --------------------------------------------------------------------------

llm::Conversation toConversation(const ChatPrompt& prompt)
{
    llm::Conversation c;
    c.system = prompt.system;
    if (!prompt.first_user.empty() || !prompt.first_assistant.empty())
        c.turns.push_back({prompt.first_user, prompt.first_assistant});
    for (const auto& t : prompt.more_turns)
        c.turns.push_back({t.user, t.assistant});
    c.turns.push_back({prompt.instruction, std::string()});
    return c;
}

std::vector<int32_t> encodePrompt(const Tokenizer& tokenizer, const ChatPrompt& prompt,
                                  llm::ChatTemplate tmpl, int maxTokens)
{
    auto ids = llm::encodeChatPrompt(tokenizer, toConversation(prompt), tmpl);
    if (maxTokens > 0 && static_cast<int>(ids.size()) > maxTokens)
        ids.erase(ids.begin(), ids.end() - maxTokens);
    return ids;
}

std::vector<int32_t> encodeReply(const Tokenizer& tokenizer, const std::string& text, int maxTokens)
{
    auto ids = llm::encodeWithSpecialTokens(tokenizer, text, /*addBos=*/false);
    ids.push_back(tokenizer.eosId());
    if (maxTokens > 0 && static_cast<int>(ids.size()) > maxTokens)
        ids.resize(static_cast<size_t>(maxTokens));
    return ids;
}

std::string decodeReply(const Tokenizer& tokenizer, const std::vector<int32_t>& ids)
{
    std::vector<int32_t> kept;
    kept.reserve(ids.size());
    for (int32_t t : ids)
        if (t != tokenizer.eosId() && t != tokenizer.bosId() && t != tokenizer.padId())
            kept.push_back(t);
    return tokenizer.decode(kept);
}

// ---- packing ---------------------------------------------------------------------------------

namespace sequences_detail {

// Both layouts: `tight` right-aligns whole rows (and their responses within T), otherwise prompts
// end at column P and responses start there.
PackedSequences packRows(const std::vector<std::vector<int32_t>>& prompts,
                         const std::vector<std::vector<int32_t>>& responses, int32_t padId,
                         const torch::Device& device, bool tight)
{
    const char* what = tight ? "packSequencesTight" : "packSequences";
    if (prompts.size() != responses.size() || prompts.empty())
        throw CoreException(ErrorCode::Internal, std::string(what) + ": " + std::to_string(prompts.size())
                                                     + " prompts and " + std::to_string(responses.size()) + " responses");
    int64_t P = 0;  // longest prompt
    int64_t T = 1;  // longest response
    int64_t L = 0;  // longest prompt + response
    for (size_t b = 0; b < prompts.size(); ++b) {
        if (prompts[b].empty())
            throw CoreException(ErrorCode::Internal, std::string(what) + ": empty prompt in row " + std::to_string(b));
        P = std::max<int64_t>(P, static_cast<int64_t>(prompts[b].size()));
        T = std::max<int64_t>(T, static_cast<int64_t>(responses[b].size()));
        L = std::max<int64_t>(L, static_cast<int64_t>(prompts[b].size() + responses[b].size()));
    }
    // Tight: the last T + 1 columns hold the logits for every response token.
    const int64_t W = tight ? std::max(L, T + 1) : P + T;
    const int64_t B = static_cast<int64_t>(prompts.size());
    auto tokens = torch::full({B, W}, static_cast<int64_t>(padId), torch::kLong);
    auto attention = torch::zeros({B, W}, torch::kLong);
    auto response = torch::zeros({B, T}, torch::kLong);
    auto mask = torch::zeros({B, T}, torch::kFloat);
    auto tok = tokens.accessor<int64_t, 2>();
    auto att = attention.accessor<int64_t, 2>();
    auto res = response.accessor<int64_t, 2>();
    auto msk = mask.accessor<float, 2>();
    for (int64_t b = 0; b < B; ++b) {
        const auto& p = prompts[static_cast<size_t>(b)];
        const auto& r = responses[static_cast<size_t>(b)];
        const auto pn = static_cast<int64_t>(p.size());
        const auto rn = static_cast<int64_t>(r.size());
        const int64_t start = tight ? W - pn - rn : P - pn;  // first prompt column
        const int64_t shift = tight ? T - rn : 0;            // response j's index in `response`
        for (int64_t i = 0; i < pn; ++i) {
            tok[b][start + i] = p[static_cast<size_t>(i)];
            att[b][start + i] = 1;
        }
        for (int64_t j = 0; j < rn; ++j) {
            tok[b][start + pn + j] = r[static_cast<size_t>(j)];
            att[b][start + pn + j] = 1;
            res[b][shift + j] = r[static_cast<size_t>(j)];
            msk[b][shift + j] = 1.0f;
        }
    }
    PackedSequences out;
    out.tokens = tokens.to(device);
    out.attention = attention.to(device);
    out.response = response.to(device);
    out.mask = mask.to(device);
    out.prompt_columns = W - T;
    out.response_columns = T;
    return out;
}

}  // namespace sequences_detail

PackedSequences packSequences(const std::vector<std::vector<int32_t>>& prompts,
                              const std::vector<std::vector<int32_t>>& responses, int32_t padId,
                              const torch::Device& device)
{
    return sequences_detail::packRows(prompts, responses, padId, device, false);
}

PackedSequences packSequencesTight(const std::vector<std::vector<int32_t>>& prompts,
                                   const std::vector<std::vector<int32_t>>& responses, int32_t padId,
                                   const torch::Device& device)
{
    return sequences_detail::packRows(prompts, responses, padId, device, true);
}

// ---- scoring -----------------------------------------------------------------------------------

ValueHeadImpl::ValueHeadImpl(int64_t hidden, int64_t inner, uint64_t seed)
{
    fc1 = register_module("fc1", torch::nn::Linear(hidden, inner));
    fc2 = register_module("fc2", torch::nn::Linear(inner, 1));
    torch::NoGradGuard noGrad;
    // A private generator keeps the initialisation independent of the global torch RNG stream.
    auto gen = at::detail::createCPUGenerator(seed);
    auto orthogonal = [&](torch::Tensor w, double gain) {
        // QR of a Gaussian matrix (torch::nn::init::orthogonal_ without the global generator).
        const int64_t rows = w.size(0), cols = w.size(1);
        auto flat = at::normal(0.0, 1.0, {std::max(rows, cols), std::min(rows, cols)}, gen);
        auto [q, r] = torch::linalg_qr(flat);
        q = q * torch::sign(torch::diagonal(r));
        if (rows < cols)
            q = q.t();
        w.copy_(gain * q.slice(0, 0, rows).slice(1, 0, cols));
    };
    orthogonal(fc1->weight, std::sqrt(2.0));
    orthogonal(fc2->weight, 1.0);
    fc1->bias.zero_();
    fc2->bias.zero_();
}

torch::Tensor ValueHeadImpl::forward(const torch::Tensor& hidden)
{
    return fc2->forward(torch::gelu(fc1->forward(hidden))).squeeze(-1);
}

namespace sequences_detail {

// The log-probs, entropies and values of the responses from the model's outputs for them:
// `logits` (B, T, V) and `hidden` (B, T, D) at the positions that predict response tokens 0..T-1.
ScoreResult scoreOutputs(const torch::Tensor& logits, const torch::Tensor& hidden, const torch::Tensor& response,
                         const torch::Tensor& mask, const ScoreOptions& options)
{
    const int64_t T = response.size(1);
    ScoreResult r;
    if (options.want_logprobs || options.want_entropy) {
        auto z = logits.to(torch::kFloat);  // (B, T, V)
        if (options.allowed.defined()) {
            TORCH_CHECK(options.allowed.size(1) >= T, "scoreSequences: constraint masks cover ",
                        options.allowed.size(1), " positions, the responses ", T);
            z = z.masked_fill(options.allowed.slice(1, 0, T).logical_not(),
                              -std::numeric_limits<float>::infinity());
        }
        if (options.temperatures.defined()) {
            auto t = options.temperatures.to(z.device(), torch::kFloat);
            t = torch::where(t > 0, t, torch::ones_like(t));
            z = z / t.view({-1, 1, 1});
        }
        const auto logp = torch::log_softmax(z, -1);
        if (options.want_logprobs)
            r.logprobs = logp.gather(-1, response.unsqueeze(-1)).squeeze(-1) * mask;
        if (options.want_entropy) {
            const auto safe = logp.masked_fill(torch::isinf(logp), 0.0);
            r.entropy = -(torch::exp(logp) * safe).sum(-1) * mask;
        }
    }
    if (options.value_head)
        r.values = options.value_head->forward(hidden.to(torch::kFloat)) * mask;
    return r;
}

// The forward's settings a score needs: the adapter, and logits and / or hidden states.
llm::ForwardOptions scoringForward(const ScoreOptions& options)
{
    llm::ForwardOptions fo;
    fo.adapter = options.adapter;
    fo.return_hidden = options.value_head != nullptr;
    fo.skip_logits = !(options.want_logprobs || options.want_entropy);
    return fo;
}

}  // namespace sequences_detail

ScoreResult scoreSequences(llm::LlamaModelImpl& model, const PackedSequences& packed,
                           const ScoreOptions& options)
{
    const int64_t T = packed.response_columns;
    llm::ForwardOptions fo = sequences_detail::scoringForward(options);
    fo.outputs_last = T + 1;  // columns P-1 .. P+T-1 (the last predicts past the response)
    fo.checkpoint_layers = options.checkpoint_layers;
    const auto out = model.forward(packed.tokens, packed.attention, fo);
    // Column P + j - 1 predicts response token j.
    return sequences_detail::scoreOutputs(fo.skip_logits ? torch::Tensor() : out.logits.slice(1, 0, T),
                                          options.value_head ? out.hidden.slice(1, 0, T) : torch::Tensor(),
                                          packed.response, packed.mask, options);
}

ScoreResult scoreWithSharedPrompt(llm::LlamaModelImpl& model, const std::vector<int32_t>& prompt,
                                  const std::vector<std::vector<int32_t>>& responses, int32_t padId,
                                  const ScoreOptions& options)
{
    if (prompt.empty() || responses.empty())
        throw CoreException(ErrorCode::Internal, "scoreWithSharedPrompt: an empty prompt or no responses");
    torch::NoGradGuard noGrad;
    const auto device = model.embeddingWeight().device();
    const int64_t n = static_cast<int64_t>(responses.size()), P = static_cast<int64_t>(prompt.size());
    const PackedSequences packed =
        packSequences(std::vector<std::vector<int32_t>>(responses.size(), prompt), responses, padId, device);
    const int64_t T = packed.response_columns;
    llm::ForwardOptions fo = sequences_detail::scoringForward(options);
    const bool needLogits = !fo.skip_logits;
    // The prompt once: its keys and values, and the outputs at its last position (they predict
    // every response's first token).
    llm::KvCache one = model.makeCache(1, P);
    fo.outputs_last = 1;
    const auto first = model.forwardCached(
        torch::tensor(std::vector<int64_t>(prompt.begin(), prompt.end()), torch::kLong).view({1, P}).to(device), one,
        {}, fo);
    std::vector<torch::Tensor> logits, hidden;
    if (needLogits)
        logits.push_back(first.logits.expand({n, 1, first.logits.size(2)}));
    if (options.value_head)
        hidden.push_back(first.hidden.expand({n, 1, first.hidden.size(2)}));
    if (T > 1) {
        // Every response's tokens but its last after the shared prompt, right-padded: a real
        // token never attends to the padding after it, and what the padding computes is masked.
        llm::KvCache cache = model.makeCache(n, P + T - 1);
        cache.k.narrow(3, 0, P).copy_(one.k.expand({one.k.size(0), n, one.k.size(2), P, one.k.size(4)}));
        cache.v.narrow(3, 0, P).copy_(one.v.expand({one.v.size(0), n, one.v.size(2), P, one.v.size(4)}));
        cache.length = P;
        cache.next_pos.assign(static_cast<size_t>(n), one.next_pos.front());
        fo.outputs_last = 0;
        const auto rest =
            model.forwardCached(packed.tokens.narrow(1, P, T - 1), cache, {}, fo);  // response columns 0..T-2
        if (needLogits)
            logits.push_back(rest.logits);
        if (options.value_head)
            hidden.push_back(rest.hidden);
    }
    auto joined = [](const std::vector<torch::Tensor>& parts) {
        return parts.empty() ? torch::Tensor() : parts.size() == 1 ? parts.front() : torch::cat(parts, 1);
    };
    return sequences_detail::scoreOutputs(joined(logits), joined(hidden), packed.response, packed.mask, options);
}

// ---- validation by generation --------------------------------------------------------------

double GenerationEvalResult::mean(const std::string& metric) const
{
    double sum = 0.0;
    int n = 0;
    for (const auto& t : tasks) {
        const auto it = t.values.find(metric);
        if (it == t.values.end())
            continue;
        sum += it->second.mean;
        ++n;
    }
    return n ? sum / n : 0.0;
}

GenerationEvalResult evaluateByGeneration(llm::LlamaModelImpl& model, const Tokenizer& tokenizer,
                                          const Dataset& data, const TitleLookup& lookup,
                                          const std::vector<Sample>& samples,
                                          GenerationEvalOptions options, Observer& observer)
{
    GenerationEvalResult result;
    result.outputs.resize(samples.size());
    MetricsAccumulator acc;
    const size_t batch = static_cast<size_t>(std::max(1, options.batch));
    int reported = 0;
    for (size_t begin = 0; begin < samples.size(); begin += batch) {
        if (observer.stopRequested())
            throw CoreException(ErrorCode::Cancelled, options.stage + ": stopped during validation",
                                options.stage);
        const size_t end = std::min(samples.size(), begin + batch);
        std::vector<std::vector<int32_t>> prompts;
        for (size_t i = begin; i < end; ++i)
            prompts.push_back(encodePrompt(tokenizer, samples[i].prompt, options.chat_template,
                                           options.max_prompt_tokens));
        const auto gen = llm::generate(model, prompts, options.generation, &tokenizer);
        for (size_t i = begin; i < end; ++i) {
            const Sample& s = samples[i];
            const std::string text = decodeReply(tokenizer, gen.tokens[i - begin]);
            result.outputs[i] = text;
            const auto parsed = parseOutput(text, lookup, options.parse);
            const auto m = computeSampleMetrics(s, parsed, data);
            const std::string task = s.task_name.empty() ? taskKindName(s.task) : s.task_name;
            acc.add(task, m);
            if (reported < options.samples_to_report) {
                ++reported;
                SampleRecord rec;
                rec.stage = options.stage;
                rec.variant = "validation";
                rec.task = task;
                rec.step = options.step;
                rec.prompt = llm::renderChat(toConversation(s.prompt), options.chat_template);
                rec.output = text;
                rec.details_json = jsonText(sampleMetricsToJson(m));
                observer.onSample(rec);
            }
        }
    }
    result.tasks = acc.results();
    return result;
}

}  // namespace recalign::core
