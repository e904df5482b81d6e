// LLM core: the stories260K golden outputs, KV cache and the fused decoder, batched, sampled and
// constrained generation, log-prob recomputation, LoRA semantics, chat templates, pre-training.
#include "tst_llm.h"

#include "core/llm/chat_template.h"
#include "core/llm/fast_decode.h"
#include "core/llm/generation.h"
#include "core/llm/loaders.h"
#include "core/llm/pretrain.h"
#include "core/llm/title_constraint.h"
#include "core/tokenizer/tokenizer.h"
#include "core/util/strings.h"

#include <QTemporaryDir>
#include <QtTest>

#include <numeric>
#include <regex>
#include <set>

using namespace tst_llm_util;

void TstLlm::stories260KGreedyReproducesLlama2cReference()
{
    LoadedModel lm = loadAnyModel(kStories + "stories260K.bin", kStories + "tok512.model");
    QCOMPARE(lm.format, CheckpointFormat::Llama2c);
    const LlamaConfig& c = lm.model->config();
    QCOMPARE(c.dim, 64);
    QCOMPARE(c.n_layers, 5);
    QCOMPARE(c.n_kv_heads, 4);
    QVERIFY(c.tie_embeddings);
    lm.model->eval();
    for (const auto& [steps, file] : {std::pair<int, std::string>{256, "reference-greedy-256.txt"},
                                      std::pair<int, std::string>{512, "reference-greedy-512.txt"}}) {
        const std::string want = readText(kStories + file);
        QVERIFY(!want.empty());
        for (bool fast : {true, false}) {
            GenerationConfig g;
            // llama2.c's `-n steps` samples `steps` tokens after BOS (one per forward pass).
            g.max_new_tokens = steps;
            g.temperature = 0.0;
            g.stop_token_ids = {lm.tokenizer.bosId()};  // llama2.c stops at BOS
            g.fast_path = fast;
            GenerationResult r = generate(*lm.model, {{lm.tokenizer.bosId()}}, g, &lm.tokenizer);
            std::vector<int32_t> out = r.tokens[0];
            if (r.finish[0] == FinishReason::StopToken)
                out.pop_back();
            const std::string got = lm.tokenizer.decode(out) + "\n";
            QVERIFY2(got == want, (file + (fast ? " (fast)" : " (generic)") + " differs:\n" + got).c_str());
        }
    }
}

void TstLlm::kvCachedLogitsEqualFullForward()
{
    for (RopeLayout layout : {RopeLayout::Interleaved, RopeLayout::RotateHalf}) {
        LlamaModel m = randomModel(tinyConfig(layout, false), 3);
        torch::NoGradGuard ng;
        // Three rows, the last two left-padded by 3 and 5.
        torch::manual_seed(5);
        torch::Tensor tokens = torch::randint(3, 97, {3, 12}, torch::kLong);
        torch::Tensor mask = torch::ones({3, 12}, torch::kLong);
        mask[1].narrow(0, 0, 3).zero_();
        mask[2].narrow(0, 0, 5).zero_();
        const torch::Tensor full = m->forward(tokens, mask).logits;
        KvCache cache = m->makeCache(3, 16);
        ForwardOptions fo;
        torch::Tensor first = m->forwardCached(tokens.narrow(1, 0, 7), cache, mask.narrow(1, 0, 7), fo).logits;
        // Real positions of the prefill agree.
        for (int b = 0; b < 3; ++b) {
            const int lead = b == 0 ? 0 : (b == 1 ? 3 : 5);
            QVERIFY(torch::allclose(first[b].narrow(0, lead, 7 - lead), full[b].narrow(0, lead, 7 - lead), 1e-4, 1e-5));
        }
        for (int t = 7; t < 12; ++t) {
            torch::Tensor step = m->forwardCached(tokens.narrow(1, t, 1), cache, {}, fo).logits.select(1, 0);
            QVERIFY2(torch::allclose(step, full.select(1, t), 1e-4, 1e-5),
                     ("position " + std::to_string(t) + " differs").c_str());
        }
        // Left padding does not change a row: row 2 alone equals row 2 padded.
        const torch::Tensor alone = m->forward(tokens[2].narrow(0, 5, 7).unsqueeze(0)).logits[0];
        QVERIFY(torch::allclose(alone, full[2].narrow(0, 5, 7), 1e-4, 1e-5));
    }
}

void TstLlm::chunkedCausalAttentionEqualsTheFullSquare()
{
    // From 128 positions on, the attention runs in query chunks that skip the masked keys. Values:
    // a 200-position forward (3 chunks, grouped-query heads, left padding) against the cached
    // path (a 150-position prefill in 2 chunks, then one position at a time, unchunked).
    // Gradients: the loss on the first 100 positions through the chunked 200-position forward
    // against the same loss through a 100-position forward (one chunk), which the later
    // positions cannot change (on real positions: a padding position has no key and averages
    // the keys its chunk sees).
    LlamaConfig c = tinyConfig(RopeLayout::RotateHalf, true);
    c.max_seq_len = 256;
    LlamaModel m = randomModel(c, 7);
    addRandomAdapter(m, "actor", 3);
    torch::manual_seed(11);
    const int64_t T = 200;
    const torch::Tensor tokens = torch::randint(3, 97, {2, T}, torch::kLong);
    torch::Tensor mask = torch::ones({2, T}, torch::kLong);
    mask[1].narrow(0, 0, 9).zero_();
    {
        torch::NoGradGuard ng;
        const torch::Tensor full = m->forward(tokens, mask).logits;
        KvCache cache = m->makeCache(2, T);
        const torch::Tensor first = m->forwardCached(tokens.narrow(1, 0, 150), cache, mask.narrow(1, 0, 150), {}).logits;
        for (int b = 0; b < 2; ++b) {
            const int lead = b == 0 ? 0 : 9;
            QVERIFY(torch::allclose(first[b].narrow(0, lead, 150 - lead), full[b].narrow(0, lead, 150 - lead), 1e-4, 1e-5));
        }
        for (int64_t t = 150; t < T; ++t) {
            const torch::Tensor step = m->forwardCached(tokens.narrow(1, t, 1), cache, {}, {}).logits.select(1, 0);
            QVERIFY2(torch::allclose(step, full.select(1, t), 1e-4, 1e-5), ("position " + std::to_string(t)).c_str());
        }
    }
    auto gradients = [&](int64_t length) {
        for (auto& [name, p] : m->namedAdapterParameters("actor"))
            p.mutable_grad() = torch::Tensor();
        const torch::Tensor logits = m->forward(tokens.narrow(1, 0, length), mask.narrow(1, 0, length)).logits;
        (logits.narrow(1, 0, 100).pow(2).mean(-1) * mask.narrow(1, 0, 100)).sum().backward();
        std::vector<torch::Tensor> out;
        for (auto& [name, p] : m->namedAdapterParameters("actor"))
            out.push_back(p.grad().clone());
        return out;
    };
    const auto chunked = gradients(T), whole = gradients(100);
    QCOMPARE(chunked.size(), whole.size());
    for (size_t i = 0; i < whole.size(); ++i) {
        QVERIFY(whole[i].abs().max().item<double>() > 0.0);
        // Against the gradient's scale: the two paths sum in different orders (float32).
        const double scale = whole[i].abs().max().item<double>(), gap = (chunked[i] - whole[i]).abs().max().item<double>();
        QVERIFY2(gap <= 1e-5 * scale, (std::to_string(i) + ": " + std::to_string(gap) + " of " + std::to_string(scale)).c_str());
    }
}

void TstLlm::outputsLastEqualTheFullForwardsLastRows()
{
    // outputs_last = n: the last decoder layer computes its queries, attention and MLP for the
    // last n rows only. Against the full forward's last n rows: logits and hidden states
    // (left-padded rows, 150 positions so the attention runs in chunks, and a short one), the
    // adapter's gradients of a loss on those rows (plain and with gradient checkpointing), and a
    // cached prefill's last logits.
    LlamaConfig c = tinyConfig(RopeLayout::RotateHalf, true);
    c.max_seq_len = 256;
    LlamaModel m = randomModel(c, 5);
    addRandomAdapter(m, "actor", 2);
    torch::manual_seed(3);
    for (const int64_t T : {int64_t(150), int64_t(20)}) {
        const torch::Tensor tokens = torch::randint(3, 97, {3, T}, torch::kLong);
        torch::Tensor mask = torch::ones({3, T}, torch::kLong);
        mask[1].narrow(0, 0, 7).zero_();
        mask[2].narrow(0, 0, T / 3).zero_();  // every row of the last n is real
        for (const int64_t n : {int64_t(1), int64_t(9), T / 2 + 1}) {
            const std::string at = "T " + std::to_string(T) + ", last " + std::to_string(n);
            ForwardOptions last;
            last.outputs_last = n;
            last.return_hidden = true;
            ForwardOptions all;
            all.return_hidden = true;
            {
                torch::NoGradGuard ng;
                const ForwardOutput full = m->forward(tokens, mask, all), cut = m->forward(tokens, mask, last);
                QCOMPARE(cut.logits.sizes(), (std::vector<int64_t>{3, n, c.vocab_size}));
                QCOMPARE(cut.hidden.sizes(), (std::vector<int64_t>{3, n, c.dim}));
                QVERIFY2(torch::allclose(cut.logits, full.logits.narrow(1, T - n, n), 1e-4, 1e-5), at.c_str());
                QVERIFY2(torch::allclose(cut.hidden, full.hidden.narrow(1, T - n, n), 1e-4, 1e-5), at.c_str());
                KvCache cache = m->makeCache(3, T);
                const torch::Tensor prefill = m->forwardCached(tokens, cache, mask, last).logits;
                QCOMPARE(cache.length, T);
                QVERIFY2(torch::allclose(prefill, full.logits.narrow(1, T - n, n), 1e-4, 1e-5), at.c_str());
            }
            for (const bool checkpoint : {false, true}) {
                auto gradients = [&](ForwardOptions fo, bool cutRows) {
                    fo.checkpoint_layers = checkpoint;
                    for (auto& [name, p] : m->namedAdapterParameters("actor"))
                        p.mutable_grad() = torch::Tensor();
                    torch::Tensor logits = m->forward(tokens, mask, fo).logits;
                    if (!cutRows)
                        logits = logits.narrow(1, T - n, n);
                    logits.pow(2).mean().backward();
                    std::vector<torch::Tensor> out;
                    for (auto& [name, p] : m->namedAdapterParameters("actor"))
                        out.push_back(p.grad().clone());
                    return out;
                };
                const auto cut = gradients(last, true), whole = gradients(all, false);
                QCOMPARE(cut.size(), whole.size());
                for (size_t i = 0; i < whole.size(); ++i) {
                    const double scale = whole[i].abs().max().item<double>();
                    const double gap = (cut[i] - whole[i]).abs().max().item<double>();
                    QVERIFY2(scale > 0.0 && gap <= 1e-5 * scale,
                             (at + ", parameter " + std::to_string(i) + ": " + std::to_string(gap) + " of "
                              + std::to_string(scale))
                                 .c_str());
                }
            }
        }
    }
}

void TstLlm::fusedKernelsEqualTheComposite()
{
    // The CPU float32 rotary and RMSNorm kernels (one pass forward, one backward), the attention's
    // and the LoRA linear's merged product and backward by hand (a frozen base) against torch's
    // operators and autograd (RECALIGN_COMPOSITE_OPS=1): logits and every parameter's gradient (an
    // adapter, the base, the norms' weights) of a left-padded batch, both rotary layouts,
    // grouped-query heads, 24 positions (one attention chunk) and 150 (two), the base trainable,
    // frozen, and frozen with a stacked adapter beneath the active one, and a cached prefill +
    // decode step.
    for (RopeLayout layout : {RopeLayout::Interleaved, RopeLayout::RotateHalf})
        for (const int64_t T : {24, 150})
            for (const int base : {0, 1, 2}) {  // trainable, frozen, frozen with a stacked adapter
                const bool frozen = base > 0;
                LlamaConfig c = tinyConfig(layout, true);
                c.max_seq_len = 256;
                LlamaModel m = randomModel(c, 6);
                LoraSpec spec;
                spec.r = 4;
                spec.alpha = 12.0;  // scaling 3: a backward that drops it is seen
                if (base == 2) {
                    addRandomAdapter(m, "sft", 5, spec);
                    m->stackAdapter("sft");
                }
                addRandomAdapter(m, "actor", 4, spec);
                m->setActiveAdapter("actor");
                m->setBaseTrainable(!frozen);
                torch::manual_seed(8);
                const torch::Tensor tokens = torch::randint(3, 97, {2, T}, torch::kLong);
                torch::Tensor mask = torch::ones({2, T}, torch::kLong);
                mask[1].narrow(0, 0, 5).zero_();
                auto run = [&](bool composite) {
                    if (composite)
                        setenv("RECALIGN_COMPOSITE_OPS", "1", 1);
                    else
                        unsetenv("RECALIGN_COMPOSITE_OPS");
                    for (auto& p : m->parameters())
                        p.mutable_grad() = torch::Tensor();
                    const torch::Tensor logits = m->forward(tokens, mask).logits;
                    (logits.pow(2).mean(-1) * mask).sum().backward();
                    std::vector<torch::Tensor> out{logits.detach()};
                    // Every trainable parameter: the adapter's and (unless frozen) the base's.
                    for (auto& p : m->parameters())
                        if (p.grad().defined())
                            out.push_back(p.grad().clone());
                    torch::NoGradGuard ng;
                    KvCache cache = m->makeCache(2, T + 1);
                    m->forwardCached(tokens, cache, mask, {});
                    out.push_back(m->forwardCached(tokens.narrow(1, 0, 1), cache, {}, {}).logits);
                    unsetenv("RECALIGN_COMPOSITE_OPS");
                    return out;
                };
                const auto fused = run(false), composite = run(true);
                const std::string where = std::string(layout == RopeLayout::Interleaved ? "interleaved" : "rotate-half")
                    + ", " + std::to_string(T) + " positions, base "
                    + (base == 0 ? "trainable" : base == 1 ? "frozen" : "frozen under a stacked adapter");
                QVERIFY2(fused.size() == composite.size() && fused.size() > (frozen ? 2u : 10u), where.c_str());
                for (size_t i = 0; i < fused.size(); ++i) {
                    const double scale = composite[i].abs().max().item<double>();
                    const double gap = (fused[i] - composite[i]).abs().max().item<double>();
                    // float32 sums in another order (the kernels accumulate a row in double, the
                    // LoRA products run against the merged weight): up to ~3e-5 of the largest
                    // entry with one adapter, ~1.2e-4 under a stacked one, whose gradients here reach
                    // ~2e3 (squared logits of random weights). A wrong term is off by ~0.1-1.
                    QVERIFY2(scale > 0.0 && gap <= 5e-4 * scale, (where + ", tensor " + std::to_string(i) + ": "
                                                                  + std::to_string(gap) + " of " + std::to_string(scale))
                                                                     .c_str());
                }
            }
}

void TstLlm::fastDecoderMatchesGenericPath()
{
    // Head sizes 8 and 16 (AVX2 kernels), 12 (portable kernel); both rotary layouts; nine rows of
    // different prompt lengths so the row-parallel split is used.
    for (const auto& [dim, heads, kvHeads] : {std::tuple<int, int, int>{32, 4, 2}, {64, 4, 4}, {48, 4, 2}})
        for (RopeLayout layout : {RopeLayout::Interleaved, RopeLayout::RotateHalf}) {
            LlamaConfig c = tinyConfig(layout, true);
            c.dim = dim;
            c.n_heads = heads;
            c.n_kv_heads = kvHeads;
            LlamaModel m = randomModel(c, 4);
            addRandomAdapter(m, "actor", 9);
            c10::InferenceMode im;
            std::vector<std::vector<int32_t>> prompts;
            for (int r = 0; r < 9; ++r) {
                std::vector<int32_t> p = {1};
                for (int t = 0; t < (r * 5) % 11; ++t)
                    p.push_back(3 + (r * 13 + t * 7) % 90);
                prompts.push_back(p);
            }
            auto [tokens, mask] = leftPad(prompts);
            KvCache a = m->makeCache(9, 40), b = m->makeCache(9, 40);
            ForwardOptions fo;
            fo.outputs_last = 1;
            m->forwardCached(tokens, a, mask, fo);
            m->forwardCached(tokens, b, mask, fo);
            CpuDecoder fast(*m, b);
            std::vector<int32_t> next(9);
            for (int r = 0; r < 9; ++r)
                next[static_cast<size_t>(r)] = 10 + r;
            for (int s = 0; s < 20; ++s) {
                torch::Tensor in = torch::tensor(std::vector<int64_t>(next.begin(), next.end())).view({9, 1});
                const torch::Tensor g = m->forwardCached(in, a, {}, fo).logits.select(1, 0);
                const torch::Tensor f = fast.step(next).clone();
                QVERIFY2(torch::allclose(g, f, 1e-4, 1e-4),
                         ("head size " + std::to_string(dim / heads) + ", step " + std::to_string(s)).c_str());
                for (auto& t : next)
                    t = (t * 7 + 3) % 97;
            }
        }
}

void TstLlm::batchedGenerationEqualsOneByOne()
{
    LlamaModel m = randomModel(tinyConfig(RopeLayout::RotateHalf, false), 11);
    const std::vector<std::vector<int32_t>> prompts = {{1}, {1, 40, 41}, {1, 5, 6, 7, 8, 9, 10}, {1, 60, 2, 61, 62, 63, 64, 65, 66, 67, 68, 69}};
    for (bool fast : {true, false})
        for (double temperature : {0.0, 0.9}) {
            GenerationConfig g;
            g.max_new_tokens = 20;
            g.temperature = temperature;
            g.top_k = temperature > 0 ? 30 : 0;
            g.seed = 17;
            g.stop_token_ids = {96};
            g.fast_path = fast;
            const GenerationResult all = generate(*m, prompts, g);
            for (size_t i = 0; i < prompts.size(); ++i) {
                // One by one: row i of the batch used seed stream i, so give it the same stream.
                GenerationConfig gi = g;
                const GenerationResult one = generate(*m, {prompts[i]}, gi);
                if (i == 0)
                    QCOMPARE(one.tokens[0], all.tokens[0]);
                else if (temperature == 0.0)
                    QCOMPARE(one.tokens[0], all.tokens[i]);
                if (temperature == 0.0 || i == 0)
                    for (size_t t = 0; t < one.logprobs[0].size(); ++t)
                        QVERIFY(std::abs(one.logprobs[0][t] - all.logprobs[i][t]) < 1e-4);
            }
        }
}

// A prefill shared between calls over the same prompts (PPO's greedy and sampled samples) gives
// each call exactly what it gives alone, on both paths, and is reused only where it applies.
void TstLlm::sharedPrefillGivesWhatEachCallGivesAlone()
{
    LlamaModel m = randomModel(tinyConfig(RopeLayout::RotateHalf, false), 11);
    addRandomAdapter(m, "actor", 9);
    const std::vector<std::vector<int32_t>> prompts = {{1}, {1, 40, 41}, {1, 5, 6, 7, 8, 9, 10}, {1, 60, 2, 61, 62, 63, 64, 65, 66, 67, 68, 69}};
    for (bool fast : {true, false}) {
        SharedPrefill shared;
        for (double temperature : {0.0, 0.9, 0.7}) {
            GenerationConfig g;
            g.max_new_tokens = 20;
            g.temperature = temperature;
            g.top_k = temperature > 0 ? 30 : 0;
            g.seed = 17 + static_cast<uint64_t>(temperature * 10);
            g.stop_token_ids = {96};
            g.fast_path = fast;
            g.adapter = std::string("actor");
            const GenerationResult alone = generate(*m, prompts, g);
            g.shared_prefill = &shared;
            const GenerationResult withShared = generate(*m, prompts, g);
            QCOMPARE(withShared.tokens, alone.tokens);
            QCOMPARE(withShared.logprobs, alone.logprobs);
        }
        QCOMPARE(shared.reused, int64_t(2));  // the first call stored it, the two others reused it
        // Another adapter, other prompts or another length: prefilled afresh (and the store replaced).
        GenerationConfig g;
        g.max_new_tokens = 20;
        g.temperature = 0.0;
        g.fast_path = fast;
        g.shared_prefill = &shared;
        g.adapter = std::string("");
        QCOMPARE(generate(*m, prompts, g).tokens, [&] { GenerationConfig a = g; a.shared_prefill = nullptr; return generate(*m, prompts, a).tokens; }());
        QCOMPARE(shared.reused, int64_t(2));
        g.max_new_tokens = 12;
        generate(*m, prompts, g);
        const std::vector<std::vector<int32_t>> other = {{1, 40}, {1, 5, 6}};
        generate(*m, other, g);
        QCOMPARE(shared.reused, int64_t(2));
        QCOMPARE(shared.prompts, other);
    }
}

// The device loop (argmax and log-prob where the model is, a stop check every 16 steps, rows cut on
// the host) gives the host loop's tokens, finish reasons, step count and log-probs: rows that stop
// early, rows that run to the length limit, min_new_tokens masking the stops.
void TstLlm::deviceDecodeLoopEqualsHostLoop()
{
    LlamaModel m = randomModel(tinyConfig(RopeLayout::RotateHalf, false), 11);
    const std::vector<std::vector<int32_t>> prompts = {{1}, {1, 40, 41}, {1, 5, 6, 7, 8, 9, 10}, {1, 60, 2, 61, 62, 63, 64, 65, 66, 67, 68, 69}};
    GenerationConfig g;
    g.max_new_tokens = 40;
    g.temperature = 0.0;
    g.fast_path = false;
    g.decode_loop = GenerationConfig::DecodeLoop::Host;
    // Stop tokens the rows actually produce: row 0's 5th token and row 2's 30th (one row stops
    // early, one late, the others may run to the limit).
    GenerationConfig unstopped = g;
    unstopped.stop_token_ids = {static_cast<int32_t>(m->config().vocab_size - 1)};
    const GenerationResult free = generate(*m, prompts, unstopped);
    QVERIFY(free.tokens[0].size() > 5 && free.tokens[2].size() > 30);
    for (int minNew : {0, 12}) {
        GenerationConfig h = g;
        h.stop_token_ids = {free.tokens[0][4], free.tokens[2][29]};
        h.min_new_tokens = minNew;
        const GenerationResult host = generate(*m, prompts, h);
        h.decode_loop = GenerationConfig::DecodeLoop::Device;
        const GenerationResult dev = generate(*m, prompts, h);
        QCOMPARE(dev.tokens, host.tokens);
        QCOMPARE(dev.finish, host.finish);
        QCOMPARE(dev.steps, host.steps);
        bool someStopped = false, someRan = false;
        for (size_t r = 0; r < prompts.size(); ++r) {
            someStopped = someStopped || host.finish[r] == FinishReason::StopToken;
            someRan = someRan || host.finish[r] == FinishReason::Length;
            QCOMPARE(dev.logprobs[r].size(), host.logprobs[r].size());
            for (size_t t = 0; t < host.logprobs[r].size(); ++t)
                QVERIFY2(std::abs(dev.logprobs[r][t] - host.logprobs[r][t]) < 1e-4,
                         qPrintable(QStringLiteral("row %1 token %2: %3 vs %4").arg(r).arg(t).arg(dev.logprobs[r][t]).arg(host.logprobs[r][t])));
        }
        QVERIFY(someStopped);
        QVERIFY(someRan || minNew == 0);
    }
}

void TstLlm::generationLogprobsEqualRecomputation()
{
    Tokenizer tok = Tokenizer::load(kStories + "tok512.model");
    LoadedModel lm = loadAnyModel(kStories + "stories260K.bin", kStories + "tok512.model");
    const std::vector<std::vector<int32_t>> prompts = {{1}, {1, 403, 261}, {1, 70, 71, 72}};
    for (double temperature : {0.0, 0.7}) {
        GenerationConfig g;
        g.max_new_tokens = 40;
        g.temperature = temperature;
        g.top_k = 20;
        g.top_p = 0.9;
        g.repetition_penalty = 1.3;
        g.min_new_tokens = 5;
        g.seed = 3;
        const GenerationResult r = generate(*lm.model, prompts, g, &tok);
        const auto re = recomputeLogprobs(*lm.model, prompts, r.tokens, g);
        for (size_t b = 0; b < prompts.size(); ++b) {
            QCOMPARE(re[b].size(), r.logprobs[b].size());
            for (size_t t = 0; t < re[b].size(); ++t)
                QVERIFY2(std::abs(re[b][t] - r.logprobs[b][t]) < 2e-4,
                         ("row " + std::to_string(b) + " token " + std::to_string(t) + ": "
                          + std::to_string(re[b][t]) + " vs " + std::to_string(r.logprobs[b][t]))
                             .c_str());
        }
    }
}

void TstLlm::samplingIsSeededAndHonoursTopK()
{
    LoadedModel lm = loadAnyModel(kStories + "stories260K.bin", kStories + "tok512.model");
    GenerationConfig g;
    g.max_new_tokens = 30;
    g.temperature = 1.0;
    g.top_k = 1;  // top-1 sampling is greedy
    const auto a = generate(*lm.model, {{1}}, g).tokens[0];
    g.temperature = 0.0;
    g.top_k = 0;
    QCOMPARE(generate(*lm.model, {{1}}, g).tokens[0], a);
    g.temperature = 1.0;
    g.seed = 123;
    const auto s1 = generate(*lm.model, {{1}, {1}}, g);
    const auto s2 = generate(*lm.model, {{1}, {1}}, g);
    QCOMPARE(s1.tokens, s2.tokens);
    QVERIFY(s1.tokens[0] != s1.tokens[1]);  // per-row streams differ
    g.seed = 124;
    QVERIFY(generate(*lm.model, {{1}}, g).tokens[0] != s1.tokens[0]);
    // Stop strings end the row at the token that completes them.
    g.temperature = 0.0;
    g.stop_strings = {"little"};
    const auto st = generate(*lm.model, {{1}}, g, &lm.tokenizer);
    QCOMPARE(st.finish[0], FinishReason::StopString);
    QVERIFY(lm.tokenizer.decode(st.tokens[0]).find("little") != std::string::npos);
    QVERIFY(st.tokens[0].size() < 30u);
}

void TstLlm::constrainedDecodingNeverEmitsUnknownTitles()
{
    QTemporaryDir dir;
    const std::vector<std::string> titles = randomTitles(200, 7);
    std::vector<std::string> corpus;
    for (size_t i = 0; i < titles.size(); ++i)
        corpus.push_back(std::to_string(i % 20 + 1) + ". " + titles[i] + " [/INST]");
    const TokenizerTrainOptions to = llamaTokenizerOptions(400, chatTemplateSymbols(ChatTemplate::Llama2));
    Tokenizer tok = trainTokenizerOnCorpus(corpus, dir.filePath(QStringLiteral("tok")).toStdString(), to);
    QCOMPARE(tok.decode(tok.encode("a\n 2. b")), std::string("a\n 2. b"));
    TitleConstraintOptions co;
    co.max_items = 10;
    co.context = "[/INST]";
    const TitleConstraint constraint(tok, titles, co);
    QCOMPARE(constraint.titleCount(), titles.size());
    LlamaConfig c = tinyConfig(RopeLayout::RotateHalf, true);
    c.vocab_size = tok.vocabSize();
    LlamaModel m = randomModel(c, 21);
    const std::set<std::string> known(titles.begin(), titles.end());
    const std::vector<int32_t> prompt = encodeWithSpecialTokens(tok, "[INST] recommend [/INST]");
    const std::regex index("^(\\d+)\\. *");
    int lines = 0, finished = 0;
    for (uint64_t seed = 0; seed < 4; ++seed) {
        GenerationConfig g;
        g.max_new_tokens = 160;
        g.temperature = 1.5;
        g.seed = seed;
        g.constraint = &constraint;
        const GenerationResult r = generate(*m, std::vector<std::vector<int32_t>>(8, prompt), g, &tok);
        for (size_t b = 0; b < r.tokens.size(); ++b) {
            std::vector<int32_t> out = r.tokens[b];
            const bool complete = r.finish[b] == FinishReason::StopToken;
            finished += complete;
            if (complete) {
                QCOMPARE(out.back(), tok.eosId());
                out.pop_back();
            }
            const std::string text = tok.decode(out);
            const auto parts = recalign::core::str::split(text, '\n');
            for (size_t k = 0; k < parts.size(); ++k) {
                const std::string line = recalign::core::str::trim(parts[k]);
                if (line.empty() || (!complete && k + 1 == parts.size()))
                    continue;  // an unfinished last line
                std::smatch mm;
                QVERIFY2(std::regex_search(line, mm, index), line.c_str());
                QCOMPARE(std::stoi(mm[1].str()), static_cast<int>(k) + 1);
                const std::string title = std::regex_replace(line, index, "", std::regex_constants::format_first_only);
                QVERIFY2(known.count(title), ("unknown title: '" + title + "'").c_str());
                ++lines;
            }
        }
    }
    QVERIFY(lines > 50);
    QVERIFY(finished > 0);
    // The masks can be rebuilt from the tokens: every generated token is allowed at its position.
    GenerationConfig g;
    g.max_new_tokens = 60;
    g.temperature = 1.0;
    g.seed = 99;
    g.constraint = &constraint;
    const GenerationResult r = generate(*m, {prompt, prompt}, g, &tok);
    const torch::Tensor masks = constraintMasks(constraint, r.tokens, c.vocab_size);
    for (size_t b = 0; b < r.tokens.size(); ++b)
        for (size_t t = 0; t < r.tokens[b].size(); ++t) {
            QVERIFY(masks[static_cast<int64_t>(b)][static_cast<int64_t>(t)][r.tokens[b][t]].item<bool>());
            QVERIFY(masks[static_cast<int64_t>(b)][static_cast<int64_t>(t)].sum().item<int64_t>() < c.vocab_size);
        }
    const auto re = recomputeLogprobs(*m, {prompt, prompt}, r.tokens, g);
    for (size_t b = 0; b < 2; ++b)
        for (size_t t = 0; t < re[b].size(); ++t)
            QVERIFY(std::abs(re[b][t] - r.logprobs[b][t]) < 2e-4);
}

namespace {

// Titles of the row-constraint tests: "The Big Dog" is a prefix of "The Big Dog Park", and
// "A Little Cat" comes twice (one trie path): 6 titles, 5 distinct.
const std::vector<std::string> kRowTitles = {"The Big Dog", "The Big Dog Park", "A Little Cat",
                                             "Tim and Sue", "A Little Cat", "The Red Ball"};

// Depth-first over every allowed token of a title: the token paths of the titles the row can
// complete from `row`. A state inside a title that allows nothing (a dead end) adds the empty
// path, which no expected set holds.
void collectTitles(const RowConstraintState& row, std::vector<int32_t>& path, std::set<std::vector<int32_t>>& out)
{
    std::vector<int32_t> allowed;
    row.allowed(allowed);
    if (allowed.empty())
        out.insert({});
    for (int32_t t : allowed) {
        RowConstraintState next = row;
        next.advance(t);
        path.push_back(t);
        if (next.state().phase == 1)
            collectTitles(next, path, out);
        else
            out.insert(path);  // the line ended: a whole title
        path.pop_back();
    }
}

// The titles the row's next line can list (the row at a line start): its index prefix, then
// every allowed completion.
std::set<std::vector<int32_t>> nextLineTitles(const TitleConstraint& c, RowConstraintState row)
{
    for (int32_t t : c.indexTokens(row.state().line))
        row.advance(t);
    std::set<std::vector<int32_t>> out;
    std::vector<int32_t> path;
    collectTitles(row, path, out);
    return out;
}

// Writes " k. title\n" into the row.
void writeLine(const Tokenizer& tok, const TitleConstraint& c, RowConstraintState& row, const std::string& title)
{
    for (int32_t t : c.indexTokens(row.state().line))
        row.advance(t);
    for (int32_t t : TitleConstraint::titleTokens(tok, title))
        row.advance(t);
}

}  // namespace

void TstLlm::rowConstraintForbidsTitlesWithoutDeadEnds()
{
    const Tokenizer tok = Tokenizer::load(kStories + "tok512.model");
    TitleConstraintOptions co;
    co.max_items = 4;
    const TitleConstraint c(tok, kRowTitles, co);
    QCOMPARE(c.titleCount(), size_t(6));
    QCOMPARE(c.distinctTitleCount(), size_t(5));
    auto T = [&](const std::string& title) { return TitleConstraint::titleTokens(tok, title); };
    using Titles = std::set<std::vector<int32_t>>;
    const auto dog = T("The Big Dog"), park = T("The Big Dog Park"), cat = T("A Little Cat");
    const auto tim = T("Tim and Sue"), red = T("The Red Ball");
    // The premise: "The Big Dog" ends ("\n") where "The Big Dog Park" goes on.
    QVERIFY(park.size() > dog.size());
    QVERIFY(std::equal(dog.begin(), dog.end() - 1, park.begin()));
    QVERIFY(dog.back() != park[dog.size() - 1]);

    // No restrictions: the constraint's own walk, token for token.
    {
        RowConstraintState plain(c);
        TitleConstraint::State s = c.initial();
        std::vector<int32_t> a, b;
        std::vector<int32_t> line = c.indexTokens(1);
        line.insert(line.end(), tim.begin(), tim.end());
        line.push_back(tok.eosId());
        for (int32_t t : line) {
            plain.allowed(a);
            c.allowed(s, b);
            QCOMPARE(a, b);
            plain.advance(t);
            s = c.advance(s, t);
        }
        QVERIFY(plain.done() && c.done(s));
        QCOMPARE(nextLineTitles(c, RowConstraintState(c)), (Titles{dog, park, cat, tim, red}));
    }

    // The longer title forbidden: the shared prefix stays open (its shorter title is allowed),
    // and past it only the shorter title's end ("\n") is.
    {
        RowConstraint r;
        r.items = 2;
        r.forbidden = {"The Big Dog Park", "Tim and Sue"};
        RowConstraintState row(c, r);
        QCOMPARE(row.allowedTitles(), 3);
        QCOMPARE(nextLineTitles(c, row), (Titles{dog, cat, red}));
        for (int32_t t : c.indexTokens(1))
            row.advance(t);
        for (size_t i = 0; i + 1 < dog.size(); ++i)
            row.advance(dog[i]);
        std::vector<int32_t> a;
        row.allowed(a);
        QCOMPARE(a, std::vector<int32_t>{dog.back()});
        QVERIFY(!row.isAllowed(park[dog.size() - 1]));
    }
    // The shorter title forbidden: past the prefix only the longer title goes on.
    {
        RowConstraint r;
        r.forbidden = {"The Big Dog"};
        RowConstraintState row(c, r);
        QCOMPARE(nextLineTitles(c, row), (Titles{park, cat, tim, red}));
        for (int32_t t : c.indexTokens(1))
            row.advance(t);
        for (size_t i = 0; i + 1 < dog.size(); ++i)
            row.advance(dog[i]);
        std::vector<int32_t> a;
        row.allowed(a);
        QCOMPARE(a, std::vector<int32_t>{park[dog.size() - 1]});
    }
    // Both forbidden: the path they share is not offered past the point where "The Red Ball"
    // leaves it (a dead end would add an empty path to nextLineTitles).
    {
        RowConstraint r;
        r.forbidden = {"The Big Dog", "The Big Dog Park"};
        RowConstraintState row(c, r);
        QCOMPARE(row.allowedTitles(), 3);
        QCOMPARE(nextLineTitles(c, row), (Titles{cat, tim, red}));
        for (int32_t t : c.indexTokens(1))
            row.advance(t);
        size_t shared = 0;
        while (shared < dog.size() && shared < red.size() && dog[shared] == red[shared])
            ++shared;
        for (size_t i = 0; i < shared; ++i)
            row.advance(dog[i]);
        QVERIFY(!row.isAllowed(dog[shared]));
        std::vector<int32_t> a;
        row.allowed(a);
        QVERIFY(std::find(a.begin(), a.end(), dog[shared]) == a.end());
    }
    // A duplicate title is one path: forbidding it (twice, once untrimmed) removes one title.
    {
        RowConstraint r;
        r.forbidden = {"A Little Cat", "  A Little Cat ", "Not In The Catalogue"};
        RowConstraintState row(c, r);
        QCOMPARE(row.allowedTitles(), 4);
        QCOMPARE(nextLineTitles(c, row), (Titles{dog, park, tim, red}));
    }
}

void TstLlm::rowConstraintListsExactlyKNewTitles()
{
    const Tokenizer tok = Tokenizer::load(kStories + "tok512.model");
    TitleConstraintOptions co;
    co.max_items = 4;
    const TitleConstraint c(tok, kRowTitles, co);
    auto T = [&](const std::string& title) { return TitleConstraint::titleTokens(tok, title); };
    using Titles = std::set<std::vector<int32_t>>;
    const int32_t eos = tok.eosId();
    std::vector<int32_t> a;

    // k = 3, "Tim and Sue" forbidden, no repeats.
    RowConstraint r;
    r.items = 3;
    r.forbidden = {"Tim and Sue"};
    RowConstraintState row(c, r);
    row.allowed(a);
    QCOMPARE(a, std::vector<int32_t>{c.indexTokens(1)[0]});  // no EOS before k lines
    QVERIFY(!row.isAllowed(eos));
    writeLine(tok, c, row, "A Little Cat");
    row.allowed(a);
    QCOMPARE(a, std::vector<int32_t>{c.indexTokens(2)[0]});
    // The title just listed cannot come again.
    QCOMPARE(nextLineTitles(c, row), (Titles{T("The Big Dog"), T("The Big Dog Park"), T("The Red Ball")}));
    RowConstraintState copy = row;
    QCOMPARE(errorOf([&] { writeLine(tok, c, copy, "A Little Cat"); }), ErrorCode::InvalidConfig);
    writeLine(tok, c, row, "The Big Dog");
    writeLine(tok, c, row, "The Red Ball");
    // After k lines only EOS, though the constraint has a 4th line.
    row.allowed(a);
    QCOMPARE(a, std::vector<int32_t>{eos});
    QVERIFY(!row.isAllowed(c.indexTokens(4)[0]));
    row.advance(eos);
    QVERIFY(row.done());
    row.allowed(a);
    QVERIFY(a.empty());

    // Repeats allowed: one title left is enough for any k.
    RowConstraint rep;
    rep.items = 3;
    rep.no_repeats = false;
    rep.forbidden = {"The Big Dog", "The Big Dog Park", "A Little Cat", "Tim and Sue"};
    RowConstraintState again(c, rep);
    for (int i = 0; i < 3; ++i) {
        QCOMPARE(nextLineTitles(c, again), (Titles{T("The Red Ball")}));
        writeLine(tok, c, again, "The Red Ball");
    }
    again.allowed(a);
    QCOMPARE(a, std::vector<int32_t>{eos});

    // Too few allowed titles: the error names the row and the numbers.
    RowConstraint few;
    few.items = 4;
    few.forbidden = {"Tim and Sue", "The Red Ball"};
    few.label = "user 7 (i0)";
    std::string message;
    QCOMPARE(errorOf([&] { RowConstraintState(c, few); }, &message), ErrorCode::InvalidConfig);
    QVERIFY2(message.find("user 7 (i0)") != std::string::npos, message.c_str());
    QVERIFY2(message.find("asks for 4 items") != std::string::npos, message.c_str());
    QVERIFY2(message.find("only 3 of the catalogue's 5") != std::string::npos, message.c_str());
    few.forbidden.pop_back();
    RowConstraintState(c, few);  // 4 left: enough
    few.items = 5;               // beyond the constraint's lines
    QCOMPARE(errorOf([&] { RowConstraintState(c, few); }, &message), ErrorCode::InvalidConfig);
    QVERIFY2(message.find("lines 1..4") != std::string::npos, message.c_str());
}

void TstLlm::rowConstraintsShapeGeneratedLists()
{
    const Tokenizer tok = Tokenizer::load(kStories + "tok512.model");
    TitleConstraintOptions co;
    co.max_items = 4;
    const TitleConstraint c(tok, kRowTitles, co);
    LlamaConfig lc = tinyConfig(RopeLayout::RotateHalf, true);
    lc.vocab_size = tok.vocabSize();
    lc.max_seq_len = 256;
    LlamaModel m = randomModel(lc, 31);
    std::vector<int32_t> prompt = tok.encode("Once upon a time");
    prompt.insert(prompt.begin(), tok.bosId());
    const std::vector<std::vector<int32_t>> prompts(4, prompt);
    std::vector<RowConstraint> rows(4);
    rows[0].items = 2;
    rows[0].forbidden = {"The Big Dog"};
    rows[1].items = 3;
    rows[1].forbidden = {"A Little Cat", "Tim and Sue"};
    rows[2].items = 1;
    rows[3].items = 4;
    GenerationConfig g;
    g.max_new_tokens = 160;
    g.temperature = 1.5;  // a flat distribution: repeats and forbidden titles would come up
    g.constraint = &c;
    const std::set<std::string> known(kRowTitles.begin(), kRowTitles.end());
    const std::regex index("^(\\d+)\\. (.*)$");
    for (uint64_t seed = 0; seed < 6; ++seed) {
        g.seed = seed;
        g.row_constraints = rows;
        const GenerationResult res = generate(*m, prompts, g, &tok);
        for (size_t b = 0; b < rows.size(); ++b) {
            QCOMPARE(res.finish[b], FinishReason::StopToken);
            std::vector<int32_t> out = res.tokens[b];
            QCOMPARE(out.back(), tok.eosId());
            out.pop_back();
            const auto lines = recalign::core::str::split(recalign::core::str::trim(tok.decode(out)), '\n');
            QCOMPARE(static_cast<int>(lines.size()), rows[b].items);
            std::set<std::string> listed;
            for (size_t k = 0; k < lines.size(); ++k) {
                std::smatch mm;
                const std::string line = recalign::core::str::trim(lines[k]);
                QVERIFY2(std::regex_match(line, mm, index), line.c_str());
                QCOMPARE(std::stoi(mm[1].str()), static_cast<int>(k) + 1);
                const std::string title = mm[2].str();
                QVERIFY2(known.count(title), title.c_str());
                QVERIFY2(listed.insert(title).second, ("repeated: " + title).c_str());
                for (const auto& f : rows[b].forbidden)
                    QVERIFY2(title != f, ("forbidden: " + title).c_str());
            }
        }
        // The masks and log-probs can be rebuilt with the same row constraints.
        const torch::Tensor masks = constraintMasks(c, res.tokens, lc.vocab_size, -1, rows);
        for (size_t b = 0; b < res.tokens.size(); ++b)
            for (size_t t = 0; t < res.tokens[b].size(); ++t)
                QVERIFY(masks[static_cast<int64_t>(b)][static_cast<int64_t>(t)][res.tokens[b][t]].item<bool>());
        const auto re = recomputeLogprobs(*m, prompts, res.tokens, g);
        for (size_t b = 0; b < re.size(); ++b)
            for (size_t t = 0; t < re[b].size(); ++t)
                QVERIFY(std::abs(re[b][t] - res.logprobs[b][t]) < 2e-4);
        // Unrestricted row constraints are today's decoding, token for token.
        g.row_constraints.assign(4, RowConstraint{0, {}, false, {}});
        const GenerationResult loose = generate(*m, prompts, g, &tok);
        g.row_constraints.clear();
        const GenerationResult plain = generate(*m, prompts, g, &tok);
        QCOMPARE(loose.tokens, plain.tokens);
        QCOMPARE(loose.logprobs, plain.logprobs);
    }
    // One row constraint per prompt, and a constraint to restrict.
    g.row_constraints = {rows[0]};
    QCOMPARE(errorOf([&] { generate(*m, prompts, g, &tok); }), ErrorCode::InvalidConfig);
    g.row_constraints = rows;
    g.constraint = nullptr;
    QCOMPARE(errorOf([&] { generate(*m, prompts, g, &tok); }), ErrorCode::InvalidConfig);
    // A row with too few titles is named with its index.
    g.constraint = &c;
    g.row_constraints[2].items = 4;
    g.row_constraints[2].forbidden = {"Tim and Sue", "The Red Ball"};
    std::string message;
    QCOMPARE(errorOf([&] { generate(*m, prompts, g, &tok); }, &message), ErrorCode::InvalidConfig);
    QVERIFY2(message.find("generation row 2") != std::string::npos, message.c_str());
}

void TstLlm::loraWithZeroBEqualsBase()
{
    LlamaModel m = randomModel(tinyConfig(RopeLayout::RotateHalf, true), 13);
    const torch::Tensor tokens = torch::arange(2, 14).view({2, 6});
    const torch::Tensor base = logitsOf(m, tokens);
    LoraSpec spec;
    spec.r = 4;
    spec.alpha = 2;
    spec.targets = parseLoraTargets({"all"});
    m->addAdapter("sft", spec);
    m->setActiveAdapter("sft");
    QVERIFY(torch::equal(base, logitsOf(m, tokens)));
}

void TstLlm::loraMergeEqualsAdaptedAndDisableGivesBase()
{
    for (bool tied : {true, false}) {
        LlamaModel m = randomModel(tinyConfig(RopeLayout::Interleaved, tied), 14);
        const torch::Tensor tokens = torch::arange(2, 14).view({2, 6});
        const torch::Tensor base = logitsOf(m, tokens);
        LoraSpec spec;
        spec.r = 8;
        spec.alpha = 16;
        addRandomAdapter(m, "sft", 4, spec);
        const torch::Tensor adapted = logitsOf(m, tokens);
        QVERIFY(!torch::allclose(adapted, base, 1e-3, 1e-3));
        m->setActiveAdapter("");
        QVERIFY(torch::equal(logitsOf(m, tokens), base));  // disabled = base
        QVERIFY(torch::equal(m->forward(tokens, {}, ForwardOptions{false, false, 0, std::string("sft")}).logits, adapted));
        m->setActiveAdapter("sft");
        m->mergeAdapter("sft");
        QVERIFY((logitsOf(m, tokens) - adapted).abs().max().item<float>() < 1e-5f * std::max(1.0f, adapted.abs().max().item<float>()));
        m->setActiveAdapter("");
        QCOMPARE(errorOf([&] { logitsOf(m, tokens); }), ErrorCode::InvalidConfig);  // merged ≠ base
        m->unmergeAdapter("sft");
        QVERIFY(torch::allclose(logitsOf(m, tokens), base, 1e-5, 1e-5));
        // merge-and-unload: the adapter becomes the base.
        m->mergeAndUnload("sft");
        QVERIFY(m->adapterNames().empty());
        QVERIFY((logitsOf(m, tokens) - adapted).abs().max().item<float>() < 1e-5f * std::max(1.0f, adapted.abs().max().item<float>()));
        QCOMPARE(m->config().tie_embeddings, false);  // lm_head adapter merged → head untied
    }
}

void TstLlm::namedAdaptersAreIndependentAndOnlyTheyTrain()
{
    LlamaModel m = randomModel(tinyConfig(RopeLayout::RotateHalf, false), 15);
    LoraSpec actor;
    actor.r = 4;
    actor.alpha = 2;
    actor.targets = parseLoraTargets({"all-linear"});
    m->addAdapter("actor", actor);
    m->addAdapter("critic", actor);
    QCOMPARE(errorOf([&] { m->addAdapter("actor", actor); }), ErrorCode::InvalidConfig);
    QCOMPARE(errorOf([&] { m->addAdapter("bad.name", actor); }), ErrorCode::InvalidConfig);
    QCOMPARE(m->adapterParameters("actor").size(), 2u * 7u * 2u);  // 7 linears × 2 layers × (A, B); no lm_head
    for (const auto& [n, t] : m->namedAdapterParameters("actor"))
        QVERIFY(n.find("lm_head") == std::string::npos);
    m->setBaseTrainable(false);
    int trainable = 0;
    for (const auto& p : m->named_parameters())
        if (p.value().requires_grad()) {
            QVERIFY(p.key().find("lora_") != std::string::npos);
            ++trainable;
        }
    QCOMPARE(trainable, 2 * 2 * 7 * 2);
    randomizeAdapter(m, "critic", 5);
    // A backward under "actor" reaches only actor parameters.
    m->train();
    m->setActiveAdapter("actor");
    const torch::Tensor tokens = torch::arange(2, 14).view({2, 6});
    m->forward(tokens).logits.sum().backward();
    for (const auto& t : m->adapterParameters("actor"))
        QVERIFY(t.grad().defined());
    bool anyNonZero = false;
    for (const auto& t : m->adapterParameters("actor"))
        anyNonZero = anyNonZero || t.grad().abs().sum().item<float>() > 0;
    QVERIFY(anyNonZero);
    for (const auto& t : m->adapterParameters("critic"))
        QVERIFY(!t.grad().defined() || t.grad().abs().sum().item<float>() == 0.0f);
    for (const auto& p : m->named_parameters())
        if (p.key().find("lora_") == std::string::npos)
            QVERIFY(!p.value().grad().defined());
    // Critic outputs differ from actor outputs; the value head can read hidden states.
    m->eval();
    ForwardOptions fo;
    fo.return_hidden = true;
    fo.adapter = "critic";
    const ForwardOutput critic = m->forward(tokens, {}, fo);
    QCOMPARE(critic.hidden.sizes(), (std::vector<int64_t>{2, 6, 32}));
    fo.adapter = "actor";
    QVERIFY(!torch::allclose(m->forward(tokens, {}, fo).hidden, critic.hidden));
    QCOMPARE(m->activeAdapter(), std::string("actor"));
    m->removeAdapter("critic");
    QCOMPARE(m->adapterNames(), std::vector<std::string>{"actor"});
    for (const auto& p : m->named_parameters())
        QVERIFY(p.key().find("critic") == std::string::npos);
}

void TstLlm::loraInitialisationFollowsPeft()
{
    LlamaModel m = randomModel(tinyConfig(RopeLayout::RotateHalf, false), 16);
    LoraSpec k;
    k.r = 4;
    k.alpha = 2;
    k.targets = parseLoraTargets({"q", "gate"});
    k.seed = 1;
    m->addAdapter("k", k);
    LoraSpec o = k;
    o.init = LoraInit::Orthogonal;
    m->addAdapter("o", o);
    for (const auto& [prefix, lin] : m->linears()) {
        const bool targeted = prefix.find("q_proj") != std::string::npos || prefix.find("gate_proj") != std::string::npos;
        QCOMPARE(lin->hasAdapter("k"), targeted);
        if (!targeted)
            continue;
        const LoraAdapter& a = lin->adapters().at("k");
        QCOMPARE(a.scaling, 0.5);
        QVERIFY(torch::equal(a.B, torch::zeros_like(a.B)));
        const double bound = 1.0 / std::sqrt(static_cast<double>(lin->inFeatures()));
        QVERIFY(a.A.abs().max().item<double>() <= bound + 1e-7);
        QVERIFY(a.A.std().item<double>() > 0.3 * bound);
        const LoraAdapter& b = lin->adapters().at("o");
        // Rows of A are orthogonal with norm = gain (sqrt 2).
        const torch::Tensor gram = torch::mm(b.A, b.A.t());
        QVERIFY(torch::allclose(gram, 2.0 * torch::eye(4), 1e-4, 1e-4));
    }
    LoraSpec rs = k;
    rs.use_rslora = true;
    QCOMPARE(rs.scaling(), 2.0 / 2.0);
    QCOMPARE(errorOf([] { parseLoraTargets({"qq"}); }), ErrorCode::InvalidConfig);
}

void TstLlm::llama2ChatTemplateMatchesReclmGen()
{
    Conversation c;
    c.system = "You are an expert recommender engine. ";
    c.turns = {{"You need to generate a recommendation list considering user's preference from historical interactions. ",
                "Ok, I will consider user's preference. "},
               {"The historical interactions are provided as follows: 'Title A' \u2192 'Title B'. Please generate a "
                "recommendation list with 10 different items. ",
                ""}};
    const std::string want =
        "[INST] <<SYS>>\nYou are an expert recommender engine. \n<</SYS>>\n\nYou need to generate a recommendation "
        "list considering user's preference from historical interactions.  [/INST] Ok, I will consider user's "
        "preference.  </s><s>[INST] The historical interactions are provided as follows: 'Title A' \u2192 'Title B'. "
        "Please generate a recommendation list with 10 different items.  [/INST]";
    const std::string got = renderChat(c, ChatTemplate::Llama2);
    QCOMPARE(got, want);
    QCOMPARE(std::count(got.begin(), got.end(), '\n'), 4L);
    Tokenizer tok = Tokenizer::load(kStories + "tok512.model");
    const auto ids = encodeChatPrompt(tok, c, ChatTemplate::Llama2);
    QCOMPARE(ids.front(), tok.bosId());
    QCOMPARE(std::count(ids.begin(), ids.end(), tok.bosId()), 2L);
    QCOMPARE(std::count(ids.begin(), ids.end(), tok.eosId()), 1L);
    const auto eos = std::find(ids.begin(), ids.end(), tok.eosId());
    QCOMPARE(*(eos + 1), tok.bosId());  // "</s><s>" → EOS, BOS
    const std::string text = tok.decode(std::vector<int32_t>(ids.begin() + 1, eos));
    QVERIFY(text.find("Ok, I will consider") != std::string::npos);
    // The compact template renders the same conversation.
    const std::string compact = renderChat(c, ChatTemplate::Compact);
    QCOMPARE(compact, std::string("[sys]You are an expert recommender engine.\n[u]You need to generate a recommendation "
                                  "list considering user's preference from historical interactions.\n[a] Ok, I will "
                                  "consider user's preference.</s><s>[u]The historical interactions are provided as "
                                  "follows: 'Title A' \u2192 'Title B'. Please generate a recommendation list with 10 "
                                  "different items.\n[a]"));
    const auto cids = encodeChatPrompt(tok, c, ChatTemplate::Compact);
    QCOMPARE(std::count(cids.begin(), cids.end(), tok.eosId()), 1L);
    QVERIFY(cids.size() < ids.size());
    // Without a system prompt: fastchat's "[INST] " opening.
    Conversation s;
    s.turns = {{"Hi", ""}};
    QCOMPARE(renderChat(s, ChatTemplate::Llama2), std::string("[INST] Hi [/INST]"));
    QCOMPARE(errorOf([] { parseChatTemplate("chatml"); }), ErrorCode::InvalidConfig);
}

void TstLlm::pretrainingLowersLossAndCanBeCancelled()
{
    QTemporaryDir dir;
    std::vector<std::string> docs;
    const auto titles = randomTitles(60, 3);
    for (const auto& t : titles)
        docs.push_back(t + " is a drama.");
    TokenizerTrainOptions nfkc;
    nfkc.vocab_size = 400;
    QCOMPARE(errorOf([&] { trainTokenizerOnCorpus(docs, dir.filePath(QStringLiteral("nfkc")).toStdString(), nfkc); }),
             ErrorCode::InvalidConfig);  // newlines would be lost
    Tokenizer tok = trainTokenizerOnCorpus(docs, dir.filePath(QStringLiteral("tok")).toStdString(),
                                           llamaTokenizerOptions(400));
    PretrainOptions o;
    o.model = tinyConfig(RopeLayout::RotateHalf, true);
    o.steps = 60;
    o.batch_size = 8;
    o.seq_len = 32;
    o.lr = 3e-3;
    o.log_every = 10;
    struct Recorder : Observer {
        std::vector<StepRecord> steps;
        bool began = false, ended = false;
        long stopAfter = -1;
        void onStageBegin(const std::string& s, long) override { began = s == "pretrain"; }
        void onStageEnd(const std::string&) override { ended = true; }
        void onStep(const StepRecord& r) override { steps.push_back(r); }
        bool stopRequested() const override { return stopAfter >= 0 && !steps.empty() && steps.back().step >= stopAfter; }
    } rec;
    const PretrainResult r = pretrainModel(tok, docs, o, &rec);
    QCOMPARE(r.steps, 60L);
    QVERIFY(rec.began && rec.ended);
    QCOMPARE(rec.steps.size(), 6u);
    QCOMPARE(rec.steps.back().metrics[0].first, std::string("loss"));
    const double first = std::accumulate(r.losses.begin(), r.losses.begin() + 5, 0.0) / 5;
    const double last = std::accumulate(r.losses.end() - 5, r.losses.end(), 0.0) / 5;
    QVERIFY2(last < 0.7 * first, (std::to_string(first) + " -> " + std::to_string(last)).c_str());
    QCOMPARE(r.model->config().vocab_size, tok.vocabSize());
    // Schedules.
    QCOMPARE(pretrainLearningRate(o, 0, 100), 3e-3 / 5);
    QVERIFY(std::abs(pretrainLearningRate(o, 99, 100) - o.min_lr) < 1e-5);
    Recorder stop;
    stop.stopAfter = 20;
    QCOMPARE(errorOf([&] { pretrainModel(tok, docs, o, &stop); }), ErrorCode::Cancelled);
    QCOMPARE(stop.steps.back().step, 20L);
}

void TstLlm::gradientCheckpointingReplaysDropout()
{
    // Gradient checkpointing recomputes each layer in the backward pass with the forward's
    // adapter and dropout masks: the gradients are those of the plain backward.
    LlamaModel m = randomModel(tinyConfig(RopeLayout::RotateHalf, false), 3);
    LoraSpec spec;
    spec.targets = parseLoraTargets({"q", "k", "v", "o", "gate", "up", "down"});
    spec.dropout = 0.3;
    m->addAdapter("actor", spec);
    m->setBaseTrainable(false);
    {
        torch::NoGradGuard ng;
        torch::manual_seed(11);
        for (auto& p : m->adapterParameters("actor"))
            if (p.abs().sum().item<float>() == 0.0f)
                p.normal_(0.0, 0.1);  // B starts at zero, which would leave A without gradient
    }
    m->train();
    m->setActiveAdapter("");  // the adapter is chosen per call, as PPO does: the replay must use it
    const torch::Tensor tokens = torch::tensor(std::vector<int64_t>{0, 5, 9, 17, 33, 65, 2, 40}).view({2, 4});
    const torch::Tensor mask = torch::tensor(std::vector<int64_t>{0, 1, 1, 1, 1, 1, 1, 1}).view({2, 4});
    struct Run {
        double loss = 0.0;
        std::vector<torch::Tensor> grads;
        double next = 0.0;  // the generator's next draw after the step
    };
    auto run = [&](bool checkpoint, uint64_t seed) {
        for (auto& p : m->parameters())
            p.mutable_grad() = torch::Tensor();
        torch::manual_seed(seed);
        ForwardOptions fo;
        fo.adapter = "actor";
        fo.checkpoint_layers = checkpoint;
        const auto loss = m->forward(tokens, mask, fo).logits.logsumexp(-1).sum();
        loss.backward();
        Run r;
        r.loss = loss.item<double>();
        for (const auto& p : m->adapterParameters("actor"))
            r.grads.push_back(p.grad().defined() ? p.grad().clone() : torch::Tensor());
        r.next = torch::rand({1}).item<double>();
        return r;
    };
    const Run plain = run(false, 5);
    const Run checkpointed = run(true, 5);
    const Run otherMasks = run(false, 6);
    QCOMPARE(checkpointed.loss, plain.loss);
    QCOMPARE(checkpointed.next, plain.next);  // the replay leaves the generator where it was
    QCOMPARE(checkpointed.grads.size(), plain.grads.size());
    double differsWithOtherMasks = 0.0;
    for (size_t i = 0; i < plain.grads.size(); ++i) {
        QVERIFY(plain.grads[i].defined() && checkpointed.grads[i].defined() && otherMasks.grads[i].defined());
        QVERIFY2(torch::allclose(checkpointed.grads[i], plain.grads[i], 1e-5, 1e-7), std::to_string(i).c_str());
        differsWithOtherMasks = std::max(differsWithOtherMasks,
                                         (otherMasks.grads[i] - plain.grads[i]).abs().max().item<double>());
    }
    QVERIFY2(differsWithOtherMasks > 1e-4, "dropout should change the gradients");
    QVERIFY(plain.grads.front().abs().sum().item<double>() > 0.0);
    // Full fine-tuning: every weight's gradient, the frozen-embedding case gone.
    m->setBaseTrainable(true);
    auto fullGrads = [&](bool checkpoint) {
        for (auto& p : m->parameters())
            p.mutable_grad() = torch::Tensor();
        torch::manual_seed(5);
        ForwardOptions fo;
        fo.checkpoint_layers = checkpoint;
        m->forward(tokens, mask, fo).logits.logsumexp(-1).sum().backward();
        std::vector<torch::Tensor> out;
        for (const auto& p : m->parameters())
            out.push_back(p.grad().defined() ? p.grad().clone() : torch::zeros_like(p));
        return out;
    };
    const auto a = fullGrads(false);
    const auto b = fullGrads(true);
    for (size_t i = 0; i < a.size(); ++i)
        QVERIFY2(torch::allclose(a[i], b[i], 1e-5, 1e-7), std::to_string(i).c_str());
}

void TstLlm::stackedAdapterIsTheReferenceWithoutMerging()
{
    for (bool tied : {true, false}) {
        LlamaModel m = randomModel(tinyConfig(RopeLayout::RotateHalf, tied), 16);
        const torch::Tensor tokens = torch::arange(2, 14).view({2, 6});
        LoraSpec spec;
        spec.r = 4;
        spec.alpha = 8;
        spec.dropout = 0.2;
        addRandomAdapter(m, "sft", 5, spec);
        const torch::Tensor sft = logitsOf(m, tokens);
        const torch::Tensor headBefore = m->lm_head->weight().clone();
        m->stackAdapter("sft");
        QCOMPARE(m->activeAdapter(), std::string());
        QVERIFY(torch::allclose(logitsOf(m, tokens), sft, 1e-6, 1e-6));  // disabled = base + sft
        QVERIFY(torch::equal(m->lm_head->weight(), headBefore));         // the base is untouched
        for (const auto& p : m->adapterParameters("sft"))
            QVERIFY(!p.requires_grad());
        // The actor on top equals the actor on the merged SFT model.
        LoraSpec actor = spec;
        actor.targets = parseLoraTargets({"all-linear"});
        m->addAdapter("actor", actor);
        randomizeAdapter(m, "actor", 6);
        m->setActiveAdapter("actor");
        const torch::Tensor stacked = logitsOf(m, tokens);
        QVERIFY(!torch::allclose(stacked, sft, 1e-3, 1e-3));
        // What the fused decoder uses: W + ΔW(sft) + ΔW(actor).
        auto& q = *m->layers[0]->as<LlamaLayerImpl>()->self_attn->q_proj;
        QVERIFY(torch::allclose(q.effectiveWeight("actor"), q.weight() + q.delta("sft") + q.delta("actor"), 1e-6, 1e-6));
        QVERIFY(torch::allclose(q.effectiveWeight(""), q.weight() + q.delta("sft"), 1e-6, 1e-6));
        // Training in train mode: dropout only on the actor's branch, gradients only for the actor.
        m->train();
        m->setBaseTrainable(false);
        m->forward(tokens).logits.logsumexp(-1).sum().backward();
        for (const auto& p : m->adapterParameters("sft"))
            QVERIFY(!p.grad().defined());
        for (const auto& p : m->adapterParameters("actor"))
            QVERIFY(p.grad().defined());
        m->eval();
        m->unstackAdapter("sft");
        m->setActiveAdapter("sft");
        m->mergeAndUnload("sft");
        m->setActiveAdapter("actor");
        QVERIFY((logitsOf(m, tokens) - stacked).abs().max().item<float>()
                < 1e-5f * std::max(1.0f, stacked.abs().max().item<float>()));
    }
}

void TstLlm::bfloat16ProductsKeepFloat32WeightsAndOutputs()
{
    // model.compute_dtype bfloat16 on a float32 model: products in bf16, everything else float32.
    LlamaModel m = randomModel(tinyConfig(RopeLayout::RotateHalf, false), 3);
    const torch::Tensor tokens = torch::tensor(std::vector<int64_t>{1, 5, 9, 17, 33, 65, 2, 40}).view({2, 4});
    const torch::Tensor exact = logitsOf(m, tokens);
    m->setComputeDtype(torch::kBFloat16);
    QCOMPARE(m->computeDtype(), torch::kBFloat16);
    const torch::Tensor reduced = logitsOf(m, tokens);
    QCOMPARE(reduced.scalar_type(), torch::kFloat);
    QCOMPARE(m->embeddingWeight().scalar_type(), torch::kFloat);
    const float gap = (exact - reduced).abs().max().item<float>();
    QVERIFY2(gap > 0.0f, "bf16 products should round differently from float32");
    QVERIFY2(gap < 0.05f * exact.abs().max().item<float>(), std::to_string(gap).c_str());
    // The same inputs give the same outputs (the cast weights are reused, not re-rounded).
    QVERIFY(torch::equal(reduced, logitsOf(m, tokens)));
    // A changed base weight is seen at once: the cached bf16 copy follows the weight's version.
    {
        torch::NoGradGuard ng;
        m->lm_head->weight().mul_(0.5);
    }
    const torch::Tensor halved = logitsOf(m, tokens);
    QVERIFY(!torch::equal(halved, reduced));
    LlamaModel fresh = randomModel(tinyConfig(RopeLayout::RotateHalf, false), 3);
    {
        torch::NoGradGuard ng;
        fresh->lm_head->weight().mul_(0.5);
    }
    fresh->setComputeDtype(torch::kBFloat16);
    QVERIFY(torch::equal(halved, logitsOf(fresh, tokens)));
    // LoRA training: float32 adapter gradients through the frozen base's bf16 products.
    LoraSpec spec;
    spec.targets = parseLoraTargets({"q", "v", "down"});
    m->addAdapter("actor", spec);
    m->setActiveAdapter("actor");
    m->setBaseTrainable(false);
    m->train();
    m->forward(tokens).logits.logsumexp(-1).sum().backward();
    for (const auto& p : m->adapterParameters("actor")) {
        QCOMPARE(p.scalar_type(), torch::kFloat);
        QVERIFY(p.grad().defined() && p.grad().scalar_type() == torch::kFloat);
    }
    QVERIFY(!m->lm_head->weight().grad().defined());
    // Full fine-tuning: the float32 master weights receive float32 gradients.
    m->setActiveAdapter("");
    m->setBaseTrainable(true);
    m->forward(tokens).logits.logsumexp(-1).sum().backward();
    QVERIFY(m->lm_head->weight().grad().defined());
    QCOMPARE(m->lm_head->weight().grad().scalar_type(), torch::kFloat);
    QVERIFY(m->lm_head->weight().grad().abs().sum().item<float>() > 0.0f);
    // The experiment's key: auto resolves per device.
    QCOMPARE(resolveComputeDtype(ModelConfig::ComputeDType::Auto, /*cuda=*/true), ModelConfig::ComputeDType::BFloat16);
    const auto simd = machineInfo().simd;
    const bool native = std::count(simd.begin(), simd.end(), "avx512_bf16") + std::count(simd.begin(), simd.end(), "amx_bf16") > 0;
    QCOMPARE(resolveComputeDtype(ModelConfig::ComputeDType::Auto, false),
             native ? ModelConfig::ComputeDType::BFloat16 : ModelConfig::ComputeDType::Float32);
    QCOMPARE(resolveComputeDtype(ModelConfig::ComputeDType::Float32, true), ModelConfig::ComputeDType::Float32);
    QCOMPARE(parseComputeDtype("bfloat16"), ModelConfig::ComputeDType::BFloat16);
    try {
        parseComputeDtype("fp8");
        QFAIL("fp8 accepted");
    } catch (const CoreException& e) {
        QVERIFY2(std::string(e.what()).find("float32, bfloat16, auto") != std::string::npos, e.what());
    }
}

void TstLlm::halfPrecisionRunsTheGenericPath()
{
    // The CUDA configuration (bf16 weights) exercised on the CPU: generic path, float32 adapters.
    LoadedModel lm = loadAnyModel(kStories + "stories260K.bin", kStories + "tok512.model");
    LoadedModel half = loadAnyModel(kStories + "stories260K.bin", kStories + "tok512.model", torch::kBFloat16);
    QCOMPARE(half.model->embeddingWeight().scalar_type(), torch::kBFloat16);
    QVERIFY(!CpuDecoder::supports(*half.model));
    const torch::Tensor tokens = torch::tensor(std::vector<int64_t>{1, 403, 261, 70, 71, 72}).view({1, 6});
    const torch::Tensor a = logitsOf(lm.model, tokens), b = logitsOf(half.model, tokens);
    QCOMPARE(b.scalar_type(), torch::kFloat);
    QVERIFY((a - b).abs().max().item<float>() < 0.1f * a.abs().max().item<float>());
    QCOMPARE(a.argmax(-1)[0][5].item<int64_t>(), b.argmax(-1)[0][5].item<int64_t>());
    LoraSpec spec;
    spec.targets = parseLoraTargets({"q", "v"});
    half.model->addAdapter("actor", spec);
    QCOMPARE(half.model->adapterParameters("actor")[0].scalar_type(), torch::kFloat);
    half.model->setActiveAdapter("actor");
    GenerationConfig g;
    g.max_new_tokens = 12;
    g.temperature = 0.0;
    const GenerationResult r = generate(*half.model, {{1}, {1, 403}}, g);
    QCOMPARE(r.tokens[0].size(), 12u);
    const auto re = recomputeLogprobs(*half.model, {{1}, {1, 403}}, r.tokens, g);
    for (size_t t = 0; t < re[0].size(); ++t)
        QVERIFY(std::abs(re[0][t] - r.logprobs[0][t]) < 0.05);
    // A training step reaches the float32 adapter through the bf16 base.
    half.model->setBaseTrainable(false);
    half.model->forward(tokens).logits.sum().backward();
    QVERIFY(half.model->adapterParameters("actor")[1].grad().defined());
}

QTEST_GUILESS_MAIN(TstLlm)
