// LLM core checkpoint formats: llama2.c (legacy, v1), Hugging Face safetensors folders (single
// and sharded, F32/BF16), our own folders, PEFT adapters; corrupt files give clear errors.
#include "tst_llm.h"

#include "core/llm/loaders.h"
#include "core/util/safetensors.h"
#include "core/tokenizer/tokenizer.h"
#include "core/util/files.h"

#include <nlohmann/json.hpp>

#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>

#include <cstring>

using namespace tst_llm_util;

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

void TstLlm::randomGeometryStreamsIntoTheStorageDtype()
{
    // The named geometries are the published configs (parameter counts as published).
    QCOMPARE(namedGeometry("llama-2-7b").parameterCount(), int64_t(6738415616));
    QCOMPARE(namedGeometry("tinyllama-1.1b").parameterCount(), int64_t(1100048384));
    QCOMPARE(namedGeometry("tinyllama-1.1b").n_kv_heads, 4);  // grouped-query attention
    try {
        namedGeometry("llama-9b");
        QFAIL("an unknown geometry must be refused");
    } catch (const CoreException& e) {
        QVERIFY2(std::string(e.what()).find("tinyllama-1.1b") != std::string::npos, e.what());
    }
    // A small geometry of the same kind (GQA, untied head), written shard by shard in bf16 with a
    // tokenizer, loads in bf16 (exactly the stored values) and in float32, with progress.
    LlamaConfig c = tinyConfig(RopeLayout::RotateHalf, false);
    c.vocab_size = 512;  // stories260K's tokenizer fits
    QTemporaryDir dir;
    const std::string path = dir.filePath(QStringLiteral("random")).toStdString();
    writeRandomHfModel(c, path, StDtype::BF16, 30000, kStories + "tok512.model", 7);
    QVERIFY(QFileInfo::exists(QString::fromStdString(path + "/model.safetensors.index.json")));
    int shards = 0;
    for (const auto& e : std::filesystem::directory_iterator(path))
        shards += e.path().filename().string().rfind("model-0", 0) == 0;
    QVERIFY(shards > 1);
    int64_t lastDone = -1, lastTotal = 0;
    int calls = 0;
    LlamaModel h = loadHfModel(path, torch::kBFloat16, [&](int64_t done, int64_t total) {
        QVERIFY(done > lastDone);
        lastDone = done;
        lastTotal = total;
        ++calls;
    });
    QCOMPARE(lastDone, lastTotal);
    QVERIFY(calls > 1);
    for (const auto& p : h->parameters())
        QCOMPARE(p.scalar_type(), torch::kBFloat16);
    QCOMPARE(h->config(), c);
    const auto& q0 = h->linears()[0].second->weight();
    QVERIFY(q0.std().item<float>() > 0.015f && q0.std().item<float>() < 0.025f);  // normal(0, 0.02)
    QVERIFY(torch::equal(h->norm->weight, torch::ones({c.dim}, torch::kBFloat16)));
    LlamaModel f = loadHfModel(path, torch::kFloat);
    QCOMPARE(f->embeddingWeight().scalar_type(), torch::kFloat);
    QVERIFY(torch::equal(f->embeddingWeight().to(torch::kBFloat16), h->embeddingWeight()));
    const auto loaded = loadAnyModel(path);
    QVERIFY(loaded.tokenizer.isLoaded());
    const torch::Tensor tokens = torch::arange(1, 9).view({1, 8});
    QVERIFY(torch::isfinite(logitsOf(h, tokens)).all().item<bool>());
}

void TstLlm::ropeScalingLlama3AndMistralFields()
{
    // Llama 3.1's rule, by hand for head size 8 and theta 500000 (frequencies 1, 0.0376060,
    // 0.00141421, 5.31830e-5; wavelengths 6.28, 167, 4443, 118143) with factor 8, low 1, high 4,
    // original context 8192 (wavelength bands 2048 and 8192): the first two are kept, the third is
    // blended (smooth = (8192 / 4442.88 - 1) / 3 = 0.281283: (1 - s) f / 8 + s f = 5.24846e-4), the
    // last divided by 8 (6.64787e-6).
    LlamaConfig c = tinyConfig(RopeLayout::RotateHalf, true);
    c.dim = 16;
    c.n_heads = 2;
    c.n_kv_heads = 1;
    c.rope_theta = 500000.0;
    c.rope_scaling.type = "llama3";
    c.rope_scaling.factor = 8.0;
    c.rope_scaling.low_freq_factor = 1.0;
    c.rope_scaling.high_freq_factor = 4.0;
    c.rope_scaling.original_max_position_embeddings = 8192;
    const auto f = ropeFrequencies(c);
    QCOMPARE(f.size(), size_t(4));
    const double want[] = {1.0, 0.0376060, 5.24846e-4, 6.64787e-6};
    for (size_t i = 0; i < 4; ++i)
        QVERIFY2(std::abs(f[i] - want[i]) < 1e-5 * want[i], (std::to_string(i) + ": " + std::to_string(f[i])).c_str());
    // Linear: every frequency divided by the factor.
    LlamaConfig lin = c;
    lin.rope_scaling.type = "linear";
    lin.rope_scaling.factor = 2.0;
    QVERIFY(std::abs(ropeFrequencies(lin)[1] - 0.0376060 / 2) < 1e-7);
    // The model's rotary tables use them.
    LlamaModel m(c);
    const auto [cosT, sinT] = m->ropeTables(100, torch::kCPU);
    QVERIFY(std::abs(cosT[99][2].item<float>() - std::cos(99.0 * 5.24846e-4)) < 1e-5);
    // Hugging Face config.json: written and read back; the transformers spellings; the refusals.
    const std::string json = hfConfigToJson(c);
    QCOMPARE(hfConfigFromJson(json, "config.json"), c);
    QCOMPARE(llamaConfigFromJson(llamaConfigToJson(c), "own.json"), c);
    auto with = [&](const std::string& extra) {
        return std::string("{\"model_type\": \"llama\", \"hidden_size\": 16, \"intermediate_size\": 64, "
                           "\"num_hidden_layers\": 2, \"num_attention_heads\": 2, \"vocab_size\": 97, "
                           "\"max_position_embeddings\": 64")
            + extra + "}";
    };
    QCOMPARE(hfConfigFromJson(with(", \"rope_scaling\": {\"type\": \"linear\", \"factor\": 2.0}"), "c").rope_scaling.type,
             std::string("linear"));
    QVERIFY(hfConfigFromJson(with(", \"rope_scaling\": {\"rope_type\": \"default\"}"), "c").rope_scaling.type.empty());
    QCOMPARE(errorOf([&] { hfConfigFromJson(with(", \"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4.0}"), "c"); }),
             ErrorCode::InvalidConfig);
    // Mistral: within its sliding window the model is a plain Llama; a longer sequence is refused.
    auto mistral = with(", \"sliding_window\": 12");
    mistral.replace(mistral.find("llama"), 5, "mistral");
    const LlamaConfig mc = hfConfigFromJson(mistral, "c");
    QCOMPARE(mc.sliding_window, 12);
    QCOMPARE(hfConfigFromJson(hfConfigToJson(mc), "c"), mc);
    QCOMPARE(hfConfigFromJson(with(", \"sliding_window\": null"), "c").sliding_window, 0);
    LlamaModel windowed(mc);
    QVERIFY(torch::isfinite(logitsOf(windowed, torch::arange(1, 13).view({1, 12}))).all().item<bool>());
    QCOMPARE(errorOf([&] { logitsOf(windowed, torch::arange(1, 14).view({1, 13})); }), ErrorCode::InvalidConfig);
    // The named geometry that uses it.
    const LlamaConfig l3 = namedGeometry("llama-3.2-1b");
    QCOMPARE(l3.rope_scaling.type, std::string("llama3"));
    QVERIFY(l3.parameterCount() > 1'230'000'000 && l3.parameterCount() < 1'240'000'000);
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
        writeFileAtomic(d + "/config.json", readText(good + "/config.json"));
        writeFileAtomic(d + "/model.safetensors", content);
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
    writeFileAtomic(cut, bytes.substr(0, bytes.size() - 1000));
    std::string msg;
    QCOMPARE(errorOf([&] { loadLlama2c(cut); }, &msg), ErrorCode::CheckpointIO);
    QVERIFY(msg.find("truncated") != std::string::npos);
    std::string v2 = bytes;
    const uint32_t magic = 0x616b3432;
    const int32_t version = 2;
    std::memcpy(v2.data(), &magic, 4);
    std::memcpy(v2.data() + 4, &version, 4);
    const std::string v2p = dir.filePath(QStringLiteral("v2.bin")).toStdString();
    writeFileAtomic(v2p, v2);
    QCOMPARE(errorOf([&] { loadLlama2c(v2p); }, &msg), ErrorCode::CheckpointIO);
    QVERIFY(msg.find("version 2") != std::string::npos);
    const std::string junk = dir.filePath(QStringLiteral("junk.bin")).toStdString();
    writeFileAtomic(junk, std::string(64, '\xff'));
    QCOMPARE(detectCheckpointFormat(junk), CheckpointFormat::Unknown);
    QCOMPARE(errorOf([&] { loadLlama2c(junk); }), ErrorCode::CheckpointIO);
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
