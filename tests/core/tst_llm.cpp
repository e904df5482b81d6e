// LLM core: the stories260K golden outputs, checkpoint formats (llama2.c, Hugging Face
// safetensors, our own, PEFT) and their corruption errors, LoRA semantics, KV cache, batched and
// constrained generation, log-prob recomputation, chat templates, pre-training.
#include "core/api/error.h"
#include "core/llm/chat_template.h"
#include "core/llm/fast_decode.h"
#include "core/llm/generation.h"
#include "core/llm/llama_config.h"
#include "core/llm/llama_model.h"
#include "core/llm/loaders.h"
#include "core/llm/pretrain.h"
#include "core/llm/safetensors.h"
#include "core/llm/title_constraint.h"
#include "core/tokenizer/tokenizer.h"
#include "core/util/strings.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <QTemporaryDir>
#include <QtTest>

#include <fstream>
#include <numeric>
#include <random>
#include <regex>
#include <set>

using namespace recalign::core;
using namespace recalign::core::llm;

namespace {

const std::string kStories = std::string(RECALIGN_SHARED_DIR) + "/models/stories260K/";

std::string readText(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

LlamaConfig tinyConfig(RopeLayout layout, bool tied)
{
    LlamaConfig c;
    c.dim = 32;
    c.hidden_dim = 64;
    c.n_layers = 2;
    c.n_heads = 4;
    c.n_kv_heads = 2;
    c.vocab_size = 97;
    c.max_seq_len = 64;
    c.rope_layout = layout;
    c.tie_embeddings = tied;
    return c;
}

LlamaModel randomModel(const LlamaConfig& c, uint64_t seed)
{
    LlamaModel m(c);
    initLlamaWeights(*m, seed);
    // Larger weights than training init, so logits vary and comparisons are meaningful.
    torch::NoGradGuard ng;
    for (auto& p : m->parameters())
        if (p.dim() == 2)
            p.mul_(5.0);
    m->eval();
    return m;
}

torch::Tensor logitsOf(LlamaModel& m, const torch::Tensor& tokens)
{
    torch::NoGradGuard ng;
    return m->forward(tokens).logits;
}

void randomizeAdapter(LlamaModel& m, const std::string& name, uint64_t seed)
{
    torch::NoGradGuard ng;
    torch::manual_seed(seed);
    for (auto& t : m->adapterParameters(name))
        t.copy_(torch::randn(t.sizes()) * 0.3);
}

template <typename F>
ErrorCode errorOf(F&& f, std::string* message = nullptr)
{
    try {
        f();
    } catch (const CoreException& e) {
        if (message)
            *message = e.what();
        return e.error().code;
    }
    return ErrorCode::None;
}

// Random made-up titles for the constrained-decoding test.
std::vector<std::string> randomTitles(int n, uint64_t seed)
{
    static const char* syll[] = {"ka", "zor", "bli", "mun", "tep", "ra", "vo", "quin", "del", "sha", "po", "lix"};
    std::mt19937_64 rng(seed);
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) {
        std::string t;
        const int words = 1 + static_cast<int>(rng() % 3);
        for (int w = 0; w < words; ++w) {
            std::string word;
            const int s = 1 + static_cast<int>(rng() % 3);
            for (int k = 0; k < s; ++k)
                word += syll[rng() % 12];
            word[0] = static_cast<char>(std::toupper(word[0]));
            t += (w ? " " : "") + word;
        }
        t += " (" + std::to_string(1950 + rng() % 70) + ")";
        out.push_back(t);
    }
    return out;
}

}  // namespace

class TstLlm : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void stories260KGreedyReproducesLlama2cReference();
    void kvCachedLogitsEqualFullForward();
    void fastDecoderMatchesGenericPath();
    void batchedGenerationEqualsOneByOne();
    void generationLogprobsEqualRecomputation();
    void samplingIsSeededAndHonoursTopK();
    void constrainedDecodingNeverEmitsUnknownTitles();
    void hfLayoutRoundTripKeepsLogits();
    void llama2cAndOwnCheckpointsRoundTrip();
    void safetensorsCorruptionGivesClearErrors();
    void llama2cCorruptionGivesClearErrors();
    void loraWithZeroBEqualsBase();
    void loraMergeEqualsAdaptedAndDisableGivesBase();
    void namedAdaptersAreIndependentAndOnlyTheyTrain();
    void loraInitialisationFollowsPeft();
    void peftAdapterRoundTripsKeysShapesAndOutputs();
    void llama2ChatTemplateMatchesReclmGen();
    void pretrainingLowersLossAndCanBeCancelled();
};

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

void TstLlm::fastDecoderMatchesGenericPath()
{
    for (RopeLayout layout : {RopeLayout::Interleaved, RopeLayout::RotateHalf}) {
        LlamaModel m = randomModel(tinyConfig(layout, true), 4);
        LoraSpec spec;
        spec.targets = parseLoraTargets({"all"});
        m->addAdapter("actor", spec);
        randomizeAdapter(m, "actor", 9);
        m->setActiveAdapter("actor");
        c10::InferenceMode im;
        const std::vector<std::vector<int32_t>> prompts = {{1, 5, 9, 20}, {1, 7}, {1, 30, 31, 32, 33, 34}};
        auto [tokens, mask] = leftPad(prompts);
        KvCache a = m->makeCache(3, 12), b = m->makeCache(3, 12);
        ForwardOptions fo;
        fo.logits_last = 1;
        m->forwardCached(tokens, a, mask, fo);
        m->forwardCached(tokens, b, mask, fo);
        CpuDecoder fast(*m, b);
        std::vector<int32_t> next = {11, 12, 13};
        for (int s = 0; s < 5; ++s) {
            torch::Tensor in = torch::tensor(std::vector<int64_t>(next.begin(), next.end())).view({3, 1});
            const torch::Tensor g = m->forwardCached(in, a, {}, fo).logits.select(1, 0);
            const torch::Tensor f = fast.step(next).clone();
            QVERIFY2(torch::allclose(g, f, 1e-4, 1e-4), ("step " + std::to_string(s)).c_str());
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

void TstLlm::hfLayoutRoundTripKeepsLogits()
{
    QTemporaryDir dir;
    for (bool tied : {false, true}) {
        LlamaModel m = randomModel(tinyConfig(RopeLayout::Interleaved, tied), 5);
        const std::string path = dir.filePath(tied ? QStringLiteral("hf_tied") : QStringLiteral("hf")).toStdString();
        // Small shards force model.safetensors.index.json.
        saveHfModel(*m, path, nullptr, StDtype::F32, tied ? 0 : 20000);
        QCOMPARE(detectCheckpointFormat(path), CheckpointFormat::HuggingFace);
        QCOMPARE(QFileInfo::exists(QString::fromStdString(path + "/model.safetensors.index.json")), !tied);
        LlamaModel h = loadHfModel(path);
        QCOMPARE(h->config().rope_layout, RopeLayout::RotateHalf);
        QCOMPARE(h->config().tie_embeddings, tied);
        // The stored q weight is HF's permutation of ours, not a copy.
        const auto& q0 = m->linears()[0].second->weight();
        const auto& hq0 = h->linears()[0].second->weight();
        QVERIFY(!torch::equal(q0, hq0));
        QVERIFY(torch::equal(permuteRotaryRows(q0, 4, false), hq0));
        torch::manual_seed(1);
        const torch::Tensor tokens = torch::randint(0, 97, {2, 9}, torch::kLong);
        QVERIFY(torch::allclose(logitsOf(m, tokens), logitsOf(h, tokens), 1e-4, 1e-5));
    }
    // BF16 storage: close, not equal.
    LlamaModel m = randomModel(tinyConfig(RopeLayout::RotateHalf, false), 6);
    const std::string bf = dir.filePath(QStringLiteral("hf_bf16")).toStdString();
    saveHfModel(*m, bf, nullptr, StDtype::BF16);
    QCOMPARE(SafetensorsFile::open(bf + "/model.safetensors").info("model.norm.weight").dtype, StDtype::BF16);
    LlamaModel h = loadHfModel(bf);
    const torch::Tensor tokens = torch::arange(1, 9).view({1, 8});
    const torch::Tensor a = logitsOf(m, tokens), b = logitsOf(h, tokens);
    QVERIFY((a - b).abs().max().item<float>() < 0.05f * a.abs().max().item<float>() + 0.05f);
}

void TstLlm::llama2cAndOwnCheckpointsRoundTrip()
{
    QTemporaryDir dir;
    Tokenizer tok = Tokenizer::load(kStories + "tok512.model");
    for (bool tied : {true, false})
        for (int version : {0, 1}) {
            LlamaModel m = randomModel(tinyConfig(RopeLayout::Interleaved, tied), 8);
            const std::string p = dir.filePath(QStringLiteral("m%1_%2.bin").arg(int(tied)).arg(version)).toStdString();
            saveLlama2c(*m, p, version);
            if (version == 0) {
                int32_t header[7];
                std::ifstream(p, std::ios::binary).read(reinterpret_cast<char*>(header), 28);
                QCOMPARE(header[5], tied ? 97 : -97);  // negative vocab = untied head
            }
            QCOMPARE(detectCheckpointFormat(p), CheckpointFormat::Llama2c);
            LlamaModel l = loadLlama2c(p);
            QCOMPARE(l->config(), m->config());
            const torch::Tensor tokens = torch::arange(3, 15).view({2, 6});
            QVERIFY(torch::equal(logitsOf(m, tokens), logitsOf(l, tokens)));
        }
    // Own format: config, weights, tokenizer and adapters.
    LlamaConfig oc = tinyConfig(RopeLayout::Interleaved, true);
    oc.vocab_size = 512;
    LlamaModel m = randomModel(oc, 9);
    LoraSpec spec;
    spec.r = 3;
    spec.alpha = 6;
    spec.targets = parseLoraTargets({"q", "v", "down", "lm_head"});
    m->addAdapter("sft", spec);
    randomizeAdapter(m, "sft", 2);
    const std::string own = dir.filePath(QStringLiteral("own")).toStdString();
    saveCheckpoint(*m, own, &tok);
    QCOMPARE(detectCheckpointFormat(own), CheckpointFormat::Recalign);
    LoadedModel l = loadAnyModel(own);
    QVERIFY(l.tokenizer.isLoaded());
    QCOMPARE(l.tokenizer.vocabSize(), 512);
    QCOMPARE(l.model->config(), m->config());
    QCOMPARE(l.model->adapterNames(), std::vector<std::string>{"sft"});
    const torch::Tensor tokens = torch::arange(3, 15).view({2, 6});
    QVERIFY(torch::equal(logitsOf(m, tokens), logitsOf(l.model, tokens)));
    m->setActiveAdapter("sft");
    l.model->setActiveAdapter("sft");
    QVERIFY(torch::allclose(logitsOf(m, tokens), logitsOf(l.model, tokens), 1e-5, 1e-6));
    m->mergeAdapter("sft");
    QCOMPARE(errorOf([&] { saveCheckpoint(*m, own, &tok); }), ErrorCode::InvalidConfig);
}

void TstLlm::safetensorsCorruptionGivesClearErrors()
{
    QTemporaryDir dir;
    LlamaModel m = randomModel(tinyConfig(RopeLayout::RotateHalf, true), 12);
    const std::string good = dir.filePath(QStringLiteral("good")).toStdString();
    saveHfModel(*m, good);
    const std::string bytes = readText(good + "/model.safetensors");
    uint64_t headerLen = 0;
    std::memcpy(&headerLen, bytes.data(), 8);
    const std::string header = bytes.substr(8, headerLen);
    auto variant = [&](const std::string& name, const std::string& content) {
        const std::string d = dir.filePath(QString::fromStdString(name)).toStdString();
        QDir().mkpath(QString::fromStdString(d));
        writeFileBytes(d + "/config.json", readText(good + "/config.json"));
        writeFileBytes(d + "/model.safetensors", content);
        return d;
    };
    auto expectError = [&](const std::string& d, const std::string& needle) {
        std::string msg;
        const ErrorCode code = errorOf([&] { loadHfModel(d); }, &msg);
        QVERIFY2(code == ErrorCode::CheckpointIO, (d + ": " + msg).c_str());
        QVERIFY2(msg.find(needle) != std::string::npos, (needle + " not in: " + msg).c_str());
    };
    auto withHeader = [&](std::string h) {
        while (h.size() % 8)
            h += ' ';
        std::string out(8, '\0');
        const uint64_t n = h.size();
        std::memcpy(out.data(), &n, 8);
        return out + h + bytes.substr(8 + headerLen);
    };
    auto replaceOnce = [](std::string s, const std::string& from, const std::string& to) {
        const auto at = s.find(from);
        return at == std::string::npos ? s : s.replace(at, from.size(), to);
    };
    expectError(variant("truncated", bytes.substr(0, bytes.size() - 100)), "out of range");
    expectError(variant("tiny", bytes.substr(0, 5)), "truncated");
    std::string badLen = bytes;
    const uint64_t huge = 1ull << 40;
    std::memcpy(badLen.data(), &huge, 8);
    expectError(variant("badlen", badLen), "header length");
    std::string pastEnd = bytes;
    const uint64_t past = bytes.size();
    std::memcpy(pastEnd.data(), &past, 8);
    expectError(variant("pastend", pastEnd), "header length");
    expectError(variant("badjson", withHeader("{\"a\": [1, 2")), "JSON");
    // Offsets beyond the data block.
    {
        nlohmann::json j = nlohmann::json::parse(header);
        j["model.norm.weight"]["data_offsets"] = {1000000, 1000128};
        expectError(variant("offsets", withHeader(j.dump())), "out of range");
    }
    // Wrong dtype: an integer tensor where a float weight is expected; and an unknown dtype.
    {
        nlohmann::json j = nlohmann::json::parse(header);
        j["model.norm.weight"]["dtype"] = "I32";
        expectError(variant("wrongdtype", withHeader(j.dump())), "dtype I32");
        expectError(variant("unknowndtype", withHeader(replaceOnce(header, "\"F32\"", "\"F99\""))), "unknown dtype");
    }
    // Size mismatch between shape and offsets.
    {
        nlohmann::json j = nlohmann::json::parse(header);
        j["model.norm.weight"]["shape"] = {31};
        expectError(variant("sizemismatch", withHeader(j.dump())), "expected");
    }
    // Missing tensor.
    {
        nlohmann::json j = nlohmann::json::parse(header);
        j.erase("model.layers.1.mlp.up_proj.weight");
        expectError(variant("missing", withHeader(j.dump())), "missing tensor 'model.layers.1.mlp.up_proj.weight'");
    }
    // Overlapping tensors.
    {
        nlohmann::json j = nlohmann::json::parse(header);
        auto other = j["model.layers.0.input_layernorm.weight"]["data_offsets"];
        j["model.norm.weight"]["data_offsets"] = other;
        expectError(variant("overlap", withHeader(j.dump())), "overlap");
    }
    // Missing folder pieces.
    QCOMPARE(errorOf([&] { loadHfModel(dir.filePath(QStringLiteral("nowhere")).toStdString()); }), ErrorCode::CheckpointIO);
    QCOMPARE(errorOf([&] { loadAnyModel(dir.filePath(QStringLiteral("nowhere")).toStdString()); }), ErrorCode::CheckpointIO);
    // The writer's own output reads back.
    QCOMPARE(SafetensorsFile::open(good + "/model.safetensors").metadata().at("format"), std::string("pt"));
}

void TstLlm::llama2cCorruptionGivesClearErrors()
{
    QTemporaryDir dir;
    const std::string bytes = readText(kStories + "stories260K.bin");
    const std::string cut = dir.filePath(QStringLiteral("cut.bin")).toStdString();
    writeFileBytes(cut, bytes.substr(0, bytes.size() - 1000));
    std::string msg;
    QCOMPARE(errorOf([&] { loadLlama2c(cut); }, &msg), ErrorCode::CheckpointIO);
    QVERIFY(msg.find("truncated") != std::string::npos);
    std::string v2 = bytes;
    const uint32_t magic = 0x616b3432;
    const int32_t version = 2;
    std::memcpy(v2.data(), &magic, 4);
    std::memcpy(v2.data() + 4, &version, 4);
    const std::string v2p = dir.filePath(QStringLiteral("v2.bin")).toStdString();
    writeFileBytes(v2p, v2);
    QCOMPARE(errorOf([&] { loadLlama2c(v2p); }, &msg), ErrorCode::CheckpointIO);
    QVERIFY(msg.find("version 2") != std::string::npos);
    const std::string junk = dir.filePath(QStringLiteral("junk.bin")).toStdString();
    writeFileBytes(junk, std::string(64, '\xff'));
    QCOMPARE(detectCheckpointFormat(junk), CheckpointFormat::Unknown);
    QCOMPARE(errorOf([&] { loadLlama2c(junk); }), ErrorCode::CheckpointIO);
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
        spec.targets = parseLoraTargets({"all"});
        m->addAdapter("sft", spec);
        randomizeAdapter(m, "sft", 4);
        m->setActiveAdapter("sft");
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

void TstLlm::peftAdapterRoundTripsKeysShapesAndOutputs()
{
    QTemporaryDir dir;
    // An interleaved (llama2.c-layout) model exported to HF + PEFT must match when both are read
    // back in HF layout: the adapter's q/k B rows follow HF's permutation.
    LlamaModel m = randomModel(tinyConfig(RopeLayout::Interleaved, false), 17);
    LoraSpec spec;
    spec.r = 16;
    spec.alpha = 8;
    spec.dropout = 0.1;
    spec.targets = parseLoraTargets({"all"});
    spec.init = LoraInit::Orthogonal;
    m->addAdapter("sft", spec);
    randomizeAdapter(m, "sft", 6);
    const std::string base = dir.filePath(QStringLiteral("base")).toStdString();
    const std::string ad = dir.filePath(QStringLiteral("adapter")).toStdString();
    saveHfModel(*m, base);
    exportPeftAdapter(*m, "sft", ad, "base");
    const SafetensorsFile f = SafetensorsFile::open(ad + "/adapter_model.safetensors");
    QCOMPARE(f.names().size(), 2u * (2u * 7u + 1u));
    const StTensorInfo& qa = f.info("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight");
    QCOMPARE(qa.shape, (std::vector<int64_t>{16, 32}));
    QCOMPARE(f.info("base_model.model.model.layers.1.self_attn.k_proj.lora_B.weight").shape,
             (std::vector<int64_t>{16, 16}));
    QCOMPARE(f.info("base_model.model.model.layers.1.mlp.down_proj.lora_A.weight").shape,
             (std::vector<int64_t>{16, 64}));
    QCOMPARE(f.info("base_model.model.lm_head.lora_B.weight").shape, (std::vector<int64_t>{97, 16}));
    const nlohmann::json cfg = nlohmann::json::parse(readText(ad + "/adapter_config.json"));
    QCOMPARE(cfg["peft_type"].get<std::string>(), std::string("LORA"));
    QCOMPARE(cfg["r"].get<int>(), 16);
    QCOMPARE(cfg["lora_alpha"].get<double>(), 8.0);
    QCOMPARE(cfg["target_modules"].size(), 8u);

    LlamaModel h = loadHfModel(base);
    importPeftAdapter(*h, ad, "sft");
    QCOMPARE(h->adapterSpec("sft").r, 16);
    QCOMPARE(h->adapterSpec("sft").scaling(), 0.5);
    const torch::Tensor tokens = torch::arange(5, 17).view({2, 6});
    m->setActiveAdapter("sft");
    h->setActiveAdapter("sft");
    QVERIFY(torch::allclose(logitsOf(m, tokens), logitsOf(h, tokens), 1e-4, 1e-5));
    // And back: export from the HF-layout model, import into the interleaved one.
    const std::string ad2 = dir.filePath(QStringLiteral("adapter2")).toStdString();
    exportPeftAdapter(*h, "sft", ad2);
    importPeftAdapter(*m, ad2, "again");
    for (const auto& [n, t] : m->namedAdapterParameters("sft")) {
        bool found = false;
        for (const auto& [n2, t2] : m->namedAdapterParameters("again"))
            if (n2 == n) {
                QVERIFY(torch::allclose(t, t2));
                found = true;
            }
        QVERIFY(found);
    }
    // A wrong-shaped or foreign adapter is refused before touching the model.
    LlamaConfig other = tinyConfig(RopeLayout::RotateHalf, false);
    other.dim = 48;
    other.n_heads = 4;
    LlamaModel wrong = randomModel(other, 1);
    QCOMPARE(errorOf([&] { importPeftAdapter(*wrong, ad, "sft"); }), ErrorCode::CheckpointIO);
    QVERIFY(wrong->adapterNames().empty());
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

QTEST_GUILESS_MAIN(TstLlm)
#include "tst_llm.moc"
