// Checkpoint formats: llama2.c, Hugging Face safetensors folders, our own folders, PEFT adapters.
#include "core/llm/loaders.h"

#include "core/api/error.h"
#include "core/runtime/state_file.h"
#include "core/util/files.h"

#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace recalign::core::llm {

namespace loaders_detail {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr uint32_t kAk42Magic = 0x616b3432;

[[noreturn]] void ioFail(const std::string& path, const std::string& what)
{
    throw CoreException(ErrorCode::CheckpointIO, "'" + path + "': " + what, path);
}

// A read-only memory map of a whole file.
class MappedFile {
public:
    explicit MappedFile(const std::string& path) : m_path(path)
    {
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            ioFail(path, std::string("cannot open: ") + std::strerror(errno));
        struct stat st {};
        if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            ::close(fd);
            ioFail(path, "not a regular file");
        }
        m_size = static_cast<size_t>(st.st_size);
        if (m_size > 0) {
            m_map = mmap(nullptr, m_size, PROT_READ, MAP_PRIVATE, fd, 0);
            if (m_map == MAP_FAILED) {
                ::close(fd);
                m_map = nullptr;
                ioFail(path, std::string("mmap failed: ") + std::strerror(errno));
            }
        }
        ::close(fd);
    }
    ~MappedFile()
    {
        if (m_map)
            munmap(m_map, m_size);
    }
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;
    const uint8_t* data() const { return static_cast<const uint8_t*>(m_map); }
    size_t size() const { return m_size; }

private:
    std::string m_path;
    void* m_map = nullptr;
    size_t m_size = 0;
};

std::string hfName(const std::string& param)
{
    return param.rfind("lm_head", 0) == 0 ? param : "model." + param;
}

// The base (non-adapter) parameters in registration order; a tied head is not among them.
std::vector<std::pair<std::string, torch::Tensor>> baseParameters(const LlamaModelImpl& model)
{
    std::vector<std::pair<std::string, torch::Tensor>> out;
    for (const auto& p : model.named_parameters(true))
        if (p.key().find("lora_") == std::string::npos)
            out.emplace_back(p.key(), p.value());
    return out;
}

torch::Dtype torchDtype(StDtype d, const std::string& path, const std::string& name)
{
    if (d != StDtype::F32 && d != StDtype::F16 && d != StDtype::BF16)
        ioFail(path, std::string("tensor '") + name + "' has dtype " + stDtypeName(d) + "; expected F32, F16 or BF16");
    return torchDtypeFor(d);
}

StDtype stDtype(torch::Dtype d)
{
    return d == torch::kHalf || d == torch::kBFloat16 ? stDtypeFor(d) : StDtype::F32;
}

// Copies a safetensors tensor into `dst` (shape checked, dtype converted).
void fillFrom(const SafetensorsFile& f, const std::string& key, torch::Tensor dst)
{
    const StTensorInfo& info = f.info(key);
    torchDtype(info.dtype, f.path(), key);  // weights are floating point
    if (info.shape != dst.sizes().vec()) {
        std::string want, got;
        for (auto v : dst.sizes())
            want += (want.empty() ? "" : ", ") + std::to_string(v);
        for (auto v : info.shape)
            got += (got.empty() ? "" : ", ") + std::to_string(v);
        ioFail(f.path(), "tensor '" + key + "' has shape [" + got + "]; the model expects [" + want + "]");
    }
    torch::NoGradGuard noGrad;
    dst.copy_(tensorFromSafetensors(f, info));
}

json readJsonFile(const std::string& path)
{
    const std::string text = readFile(path, ErrorCode::CheckpointIO);
    try {
        return json::parse(text);
    } catch (const json::exception& e) {
        throw CoreException(ErrorCode::CheckpointIO, "'" + path + "': invalid JSON: " + e.what(), path);
    }
}

// Opens the weights of a Hugging Face / own folder: name → file.
struct WeightFiles {
    std::vector<SafetensorsFile> files;
    std::map<std::string, size_t> where;  // tensor name → index into files
};

WeightFiles openWeights(const std::string& dir)
{
    WeightFiles w;
    const fs::path d(dir);
    const fs::path index = d / "model.safetensors.index.json";
    if (fs::exists(index)) {
        const json j = readJsonFile(index.string());
        auto wm = j.find("weight_map");
        if (wm == j.end() || !wm->is_object())
            ioFail(index.string(), "no weight_map object");
        std::map<std::string, size_t> fileIndex;
        for (auto it = wm->begin(); it != wm->end(); ++it) {
            if (!it.value().is_string())
                ioFail(index.string(), "weight_map entry '" + it.key() + "' is not a file name");
            const std::string file = it.value().get<std::string>();
            if (file.find('/') != std::string::npos || file.find("..") != std::string::npos)
                ioFail(index.string(), "weight_map file '" + file + "' is outside the folder");
            if (!fileIndex.count(file)) {
                fileIndex[file] = w.files.size();
                w.files.push_back(SafetensorsFile::open((d / file).string()));
            }
            const SafetensorsFile& f = w.files[fileIndex[file]];
            if (!f.has(it.key()))
                ioFail(f.path(), "missing tensor '" + it.key() + "' (listed in model.safetensors.index.json)");
            w.where[it.key()] = fileIndex[file];
        }
        return w;
    }
    const fs::path single = d / "model.safetensors";
    if (!fs::exists(single)) {
        if (fs::exists(d / "pytorch_model.bin") || fs::exists(d / "pytorch_model.bin.index.json"))
            ioFail(dir, "only safetensors weights are supported (convert pytorch_model.bin with "
                        "transformers' save_pretrained(safe_serialization=True))");
        ioFail(dir, "no model.safetensors or model.safetensors.index.json");
    }
    w.files.push_back(SafetensorsFile::open(single.string()));
    for (const auto& n : w.files[0].names())
        w.where[n] = 0;
    return w;
}

// Fills every base parameter of `model` from HF-named tensors, file by file: each tensor's mapped
// pages are dropped once it is copied and each shard is unmapped when done, so beside the model
// the process holds about one tensor of the file. Unknown tensors are an error (except rotary inv_freq
// buffers and a tied lm_head).
void loadWeights(LlamaModelImpl& model, const std::string& dir, bool permuteQk, const LoadProgress& progress = {})
{
    WeightFiles w = openWeights(dir);
    std::vector<std::string> paths;
    for (const auto& f : w.files)
        paths.push_back(f.path());
    const LlamaConfig& c = model.config();
    const auto params = baseParameters(model);
    std::vector<std::vector<size_t>> byFile(w.files.size());
    int64_t total = 0, done = 0;
    for (size_t i = 0; i < params.size(); ++i) {
        const std::string key = hfName(params[i].first);
        auto it = w.where.find(key);
        if (it == w.where.end())
            ioFail(w.files.size() == 1 ? paths[0] : dir, "missing tensor '" + key + "'");
        byFile[it->second].push_back(i);
        total += params[i].second.numel() * static_cast<int64_t>(params[i].second.element_size());
    }
    for (size_t fi = 0; fi < w.files.size(); ++fi) {
        const SafetensorsFile& f = w.files[fi];
        for (size_t i : byFile[fi]) {
            const auto& [name, param] = params[i];
            const std::string key = hfName(name);
            const bool isQ = name.find("q_proj.weight") != std::string::npos;
            const bool isK = name.find("k_proj.weight") != std::string::npos;
            if (permuteQk && (isQ || isK)) {
                torch::Tensor tmp = torch::empty(param.sizes(), param.options().requires_grad(false));
                fillFrom(f, key, tmp);
                torch::NoGradGuard noGrad;
                param.copy_(permuteRotaryRows(tmp, isQ ? c.n_heads : c.n_kv_heads, /*inverse=*/true));
            } else {
                fillFrom(f, key, param);
            }
            f.releasePages(f.info(key));
            done += param.numel() * static_cast<int64_t>(param.element_size());
            if (progress)
                progress(done, total);
        }
        w.files[fi] = SafetensorsFile();  // unmap: its pages leave the process
    }
    std::set<std::string> used;
    for (const auto& [name, param] : params)
        used.insert(hfName(name));
    for (const auto& [key, idx] : w.where) {
        if (used.count(key) || key.find("rotary_emb.inv_freq") != std::string::npos)
            continue;
        if (key == "lm_head.weight" && c.tie_embeddings)
            continue;
        ioFail(paths[idx], "unexpected tensor '" + key + "' (not a weight of this Llama config)");
    }
}

// The Hugging Face Llama layout of `c`: every weight's name and shape, in file order.
std::vector<std::pair<std::string, std::vector<int64_t>>> hfTensorLayout(const LlamaConfig& c)
{
    const int64_t D = c.dim, Hd = c.hidden_dim, V = c.vocab_size, q = int64_t(c.n_heads) * c.headDim(),
                  kv = c.kvDim();
    std::vector<std::pair<std::string, std::vector<int64_t>>> out;
    out.push_back({"model.embed_tokens.weight", {V, D}});
    for (int l = 0; l < c.n_layers; ++l) {
        const std::string p = "model.layers." + std::to_string(l) + ".";
        out.push_back({p + "input_layernorm.weight", {D}});
        out.push_back({p + "self_attn.q_proj.weight", {q, D}});
        out.push_back({p + "self_attn.k_proj.weight", {kv, D}});
        out.push_back({p + "self_attn.v_proj.weight", {kv, D}});
        out.push_back({p + "self_attn.o_proj.weight", {D, q}});
        out.push_back({p + "post_attention_layernorm.weight", {D}});
        out.push_back({p + "mlp.gate_proj.weight", {Hd, D}});
        out.push_back({p + "mlp.up_proj.weight", {Hd, D}});
        out.push_back({p + "mlp.down_proj.weight", {D, Hd}});
    }
    out.push_back({"model.norm.weight", {D}});
    if (!c.tie_embeddings)
        out.push_back({"lm_head.weight", {V, D}});
    return out;
}

// Writes tensors as Hugging Face weights in `dir`: model.safetensors, or shards of at most
// `maxShardBytes` ("model-00001-of-0000N.safetensors") with model.safetensors.index.json. The
// shards are planned from the names and shapes, then `produce(i)` makes tensor i (in `dtype`, on
// the CPU, contiguous) while its shard is written: at most one shard's tensors exist at once.
void writeShards(const std::string& dir, const std::vector<std::pair<std::string, std::vector<int64_t>>>& layout,
                 StDtype dtype, int64_t maxShardBytes, const std::function<torch::Tensor(size_t)>& produce,
                 const LoadProgress& progress)
{
    const int64_t elem = static_cast<int64_t>(stDtypeSize(dtype));
    std::vector<std::vector<size_t>> shards(1);
    int64_t bytes = 0, total = 0;
    for (size_t i = 0; i < layout.size(); ++i) {
        int64_t nb = elem;
        for (int64_t v : layout[i].second)
            nb *= v;
        if (maxShardBytes > 0 && bytes > 0 && bytes + nb > maxShardBytes) {
            shards.emplace_back();
            bytes = 0;
        }
        shards.back().push_back(i);
        bytes += nb;
        total += nb;
    }
    const fs::path d(dir);
    json weightMap = json::object();
    int64_t done = 0;
    for (size_t s = 0; s < shards.size(); ++s) {
        char name[64];
        if (shards.size() == 1)
            std::snprintf(name, sizeof name, "model.safetensors");
        else
            std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", s + 1, shards.size());
        std::vector<torch::Tensor> tensors;
        std::vector<StWriteTensor> w;
        for (size_t i : shards[s]) {
            tensors.push_back(produce(i));
            w.push_back({layout[i].first, dtype, layout[i].second, tensors.back().data_ptr()});
            weightMap[layout[i].first] = name;
            done += tensors.back().numel() * elem;
        }
        writeSafetensors((d / name).string(), w);
        if (progress)
            progress(done, total);
    }
    if (shards.size() > 1) {
        json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weightMap}};
        writeFileAtomic((d / "model.safetensors.index.json").string(), index.dump(2), ErrorCode::CheckpointIO);
    }
}

// Writes HF-named tensors into dir (one file or shards with an index).
void writeWeights(LlamaModelImpl& model, const std::string& dir, StDtype dtype, int64_t maxShardBytes, bool permuteQk)
{
    torch::NoGradGuard noGrad;
    const LlamaConfig& c = model.config();
    const torch::Dtype td = dtype == StDtype::F16 ? torch::kHalf : dtype == StDtype::BF16 ? torch::kBFloat16 : torch::kFloat;
    if (dtype != StDtype::F32 && dtype != StDtype::F16 && dtype != StDtype::BF16)
        ioFail(dir, std::string("cannot write weights as ") + stDtypeName(dtype));
    std::vector<std::pair<std::string, torch::Tensor>> tensors;
    for (auto& [name, param] : baseParameters(model)) {
        torch::Tensor t = param.detach();
        const bool isQ = name.find("q_proj.weight") != std::string::npos;
        const bool isK = name.find("k_proj.weight") != std::string::npos;
        if (permuteQk && (isQ || isK))
            t = permuteRotaryRows(t, isQ ? c.n_heads : c.n_kv_heads, /*inverse=*/false);
        tensors.emplace_back(hfName(name), t.to(torch::kCPU).to(td).contiguous());
    }
    std::vector<std::pair<std::string, std::vector<int64_t>>> layout;
    for (const auto& [name, t] : tensors)
        layout.emplace_back(name, t.sizes().vec());
    writeShards(dir, layout, dtype, maxShardBytes, [&](size_t i) { return tensors[i].second; }, {});
}

void makeDir(const std::string& dir)
{
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec)
        ioFail(dir, "cannot create folder: " + ec.message());
}

// llama2.c readers.
struct BinReader {
    const uint8_t* p;
    size_t left;
    const std::string& path;
    void take(torch::Tensor dst, const char* what)
    {
        const size_t bytes = static_cast<size_t>(dst.numel()) * 4;
        if (bytes > left)
            ioFail(path, std::string("truncated while reading ") + what);
        torch::NoGradGuard noGrad;
        std::memcpy(dst.data_ptr<float>(), p, bytes);
        p += bytes;
        left -= bytes;
    }
    void skip(size_t bytes, const char* what)
    {
        if (bytes > left)
            ioFail(path, std::string("truncated while reading ") + what);
        p += bytes;
        left -= bytes;
    }
};

void checkLlama2cHeader(const std::string& path, const int32_t h[7])
{
    const char* names[7] = {"dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"};
    const int32_t limits[7] = {1 << 16, 1 << 20, 1 << 10, 1 << 10, 1 << 10, 1 << 23, 1 << 24};
    for (int i = 0; i < 7; ++i) {
        const int64_t v = i == 5 ? std::abs(static_cast<int64_t>(h[i])) : h[i];
        if (v <= 0 || v > limits[i])
            ioFail(path, std::string("llama2.c header: ") + names[i] + " = " + std::to_string(h[i])
                             + " is implausible (not a llama2.c checkpoint?)");
    }
}

bool plausibleLegacyHeader(const uint8_t* p, size_t size)
{
    if (size < 28)
        return false;
    int32_t h[7];
    std::memcpy(h, p, 28);
    try {
        checkLlama2cHeader("", h);
    } catch (const CoreException&) {
        return false;
    }
    return h[0] % h[3] == 0 && h[3] % h[4] == 0;
}

}  // namespace loaders_detail

using namespace loaders_detail;

const char* checkpointFormatName(CheckpointFormat f)
{
    switch (f) {
    case CheckpointFormat::Llama2c: return "llama2.c";
    case CheckpointFormat::HuggingFace: return "huggingface";
    case CheckpointFormat::Recalign: return "recalign";
    case CheckpointFormat::Unknown: break;
    }
    return "unknown";
}

CheckpointFormat detectCheckpointFormat(const std::string& path)
{
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
        const fs::path cfg = fs::path(path) / "config.json";
        if (!fs::exists(cfg))
            return CheckpointFormat::Unknown;
        json j;
        try {
            j = json::parse(readFile(cfg.string(), ErrorCode::CheckpointIO));
        } catch (const json::exception&) {
            return CheckpointFormat::Unknown;
        }
        if (j.is_object() && j.value("format", std::string()) == "recalign-llama")
            return CheckpointFormat::Recalign;
        if (j.is_object() && j.contains("model_type"))
            return CheckpointFormat::HuggingFace;
        return CheckpointFormat::Unknown;
    }
    if (!fs::is_regular_file(path, ec))
        return CheckpointFormat::Unknown;
    std::ifstream in(path, std::ios::binary);
    uint8_t head[28] = {};
    in.read(reinterpret_cast<char*>(head), sizeof head);
    const size_t got = static_cast<size_t>(in.gcount());
    uint32_t magic = 0;
    if (got >= 4)
        std::memcpy(&magic, head, 4);
    if (magic == kAk42Magic || plausibleLegacyHeader(head, got))
        return CheckpointFormat::Llama2c;
    return CheckpointFormat::Unknown;
}

LlamaModel loadLlama2c(const std::string& path)
{
    MappedFile file(path);
    if (file.size() < 28)
        ioFail(path, "truncated: " + std::to_string(file.size()) + " bytes, shorter than the llama2.c header");
    uint32_t magic = 0;
    std::memcpy(&magic, file.data(), 4);
    int32_t h[7];
    bool shared = true;
    size_t offset = 0;
    int version = 0;
    if (magic == kAk42Magic) {
        if (file.size() < 256)
            ioFail(path, "truncated: shorter than the 256-byte v1 header");
        std::memcpy(&version, file.data() + 4, 4);
        if (version != 1)
            ioFail(path, "llama2.c export version " + std::to_string(version)
                             + " is not supported (only fp32: legacy and version 1; version 2 is int8-quantised)");
        std::memcpy(h, file.data() + 8, 28);
        shared = file.data()[36] != 0;
        offset = 256;
    } else {
        std::memcpy(h, file.data(), 28);
        offset = 28;
    }
    checkLlama2cHeader(path, h);
    LlamaConfig c;
    c.dim = h[0];
    c.hidden_dim = h[1];
    c.n_layers = h[2];
    c.n_heads = h[3];
    c.n_kv_heads = h[4];
    if (version == 0)
        shared = h[5] > 0;
    c.vocab_size = std::abs(h[5]);
    c.max_seq_len = h[6];
    c.norm_eps = 1e-5;
    c.rope_theta = 10000.0;
    c.tie_embeddings = shared;
    c.rope_layout = RopeLayout::Interleaved;
    try {
        c.validate();
    } catch (const CoreException& e) {
        ioFail(path, std::string("llama2.c header: ") + e.what());
    }
    // Expected size, checked before reading anything.
    const int64_t L = c.n_layers, D = c.dim, Hd = c.hidden_dim, kv = c.kvDim(), V = c.vocab_size;
    int64_t floats = V * D + L * D * 2 + L * D * D * 2 + L * D * kv * 2 + L * D * Hd * 3 + D + (shared ? 0 : V * D);
    if (version == 0)
        floats += static_cast<int64_t>(c.max_seq_len) * c.headDim();  // RoPE cos + sin tables
    const size_t expected = offset + static_cast<size_t>(floats) * 4;
    if (file.size() != expected)
        ioFail(path, "size " + std::to_string(file.size()) + " bytes does not match the header ("
                         + std::to_string(expected) + " expected" + (file.size() < expected ? "; truncated?" : "") + ")");

    LlamaModel model(c, torch::kFloat, /*randomInit=*/false);
    BinReader r{file.data() + offset, file.size() - offset, path};
    std::vector<LlamaLayerImpl*> layers;
    for (auto& m : *model->layers)
        layers.push_back(m->as<LlamaLayerImpl>());
    auto each = [&](auto get, const char* what) {
        for (auto* l : layers)
            r.take(get(*l), what);
    };
    auto attNorm = [](LlamaLayerImpl& l) { return l.input_layernorm->weight; };
    auto ffnNorm = [](LlamaLayerImpl& l) { return l.post_attention_layernorm->weight; };
    auto wq = [](LlamaLayerImpl& l) { return l.self_attn->q_proj->weight(); };
    auto wk = [](LlamaLayerImpl& l) { return l.self_attn->k_proj->weight(); };
    auto wv = [](LlamaLayerImpl& l) { return l.self_attn->v_proj->weight(); };
    auto wo = [](LlamaLayerImpl& l) { return l.self_attn->o_proj->weight(); };
    auto w1 = [](LlamaLayerImpl& l) { return l.mlp->gate_proj->weight(); };
    auto w2 = [](LlamaLayerImpl& l) { return l.mlp->down_proj->weight(); };
    auto w3 = [](LlamaLayerImpl& l) { return l.mlp->up_proj->weight(); };
    if (version == 0) {
        r.take(model->embed_tokens->weight, "token embedding");
        each(attNorm, "attention norms");
        each(wq, "wq");
        each(wk, "wk");
        each(wv, "wv");
        each(wo, "wo");
        each(ffnNorm, "ffn norms");
        each(w1, "w1");
        each(w2, "w2");
        each(w3, "w3");
        r.take(model->norm->weight, "final norm");
        r.skip(static_cast<size_t>(c.max_seq_len) * c.headDim() * 4, "RoPE tables");
    } else {
        each(attNorm, "attention norms");
        each(ffnNorm, "ffn norms");
        r.take(model->norm->weight, "final norm");
        r.take(model->embed_tokens->weight, "token embedding");
        each(wq, "wq");
        each(wk, "wk");
        each(wv, "wv");
        each(wo, "wo");
        each(w1, "w1");
        each(w2, "w2");
        each(w3, "w3");
    }
    if (!shared)
        r.take(model->lm_head->weight(), "classifier");
    model->eval();
    return model;
}

void saveLlama2c(LlamaModelImpl& model, const std::string& path, int version)
{
    if (version != 0 && version != 1)
        ioFail(path, "llama2.c export version " + std::to_string(version) + " is not supported (0 or 1)");
    torch::NoGradGuard noGrad;
    const LlamaConfig& c = model.config();
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out)
        ioFail(path, "cannot write");
    auto put = [&](const torch::Tensor& t) {
        const torch::Tensor f = t.detach().to(torch::kCPU).to(torch::kFloat).contiguous();
        out.write(reinterpret_cast<const char*>(f.data_ptr<float>()), static_cast<std::streamsize>(f.numel() * 4));
    };
    const bool shared = c.tie_embeddings;
    const int32_t h[7] = {c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads,
                          version == 0 && !shared ? -c.vocab_size : c.vocab_size, c.max_seq_len};
    if (version == 1) {
        const uint32_t magic = kAk42Magic;
        const int32_t v = 1;
        out.write(reinterpret_cast<const char*>(&magic), 4);
        out.write(reinterpret_cast<const char*>(&v), 4);
        out.write(reinterpret_cast<const char*>(h), 28);
        const char flag = shared ? 1 : 0;
        out.write(&flag, 1);
        const std::string pad(256 - 37, '\0');
        out.write(pad.data(), static_cast<std::streamsize>(pad.size()));
    } else {
        out.write(reinterpret_cast<const char*>(h), 28);
    }
    std::vector<LlamaLayerImpl*> layers;
    for (auto& m : *model.layers)
        layers.push_back(m->as<LlamaLayerImpl>());
    const bool toInterleaved = c.rope_layout == RopeLayout::RotateHalf;
    auto each = [&](auto get) {
        for (auto* l : layers)
            put(get(*l));
    };
    auto attNorm = [](LlamaLayerImpl& l) { return l.input_layernorm->weight; };
    auto ffnNorm = [](LlamaLayerImpl& l) { return l.post_attention_layernorm->weight; };
    auto wq = [&](LlamaLayerImpl& l) {
        const torch::Tensor w = l.self_attn->q_proj->weight();
        return toInterleaved ? permuteRotaryRows(w, c.n_heads, true) : w;
    };
    auto wk = [&](LlamaLayerImpl& l) {
        const torch::Tensor w = l.self_attn->k_proj->weight();
        return toInterleaved ? permuteRotaryRows(w, c.n_kv_heads, true) : w;
    };
    auto wv = [](LlamaLayerImpl& l) { return l.self_attn->v_proj->weight(); };
    auto wo = [](LlamaLayerImpl& l) { return l.self_attn->o_proj->weight(); };
    auto w1 = [](LlamaLayerImpl& l) { return l.mlp->gate_proj->weight(); };
    auto w2 = [](LlamaLayerImpl& l) { return l.mlp->down_proj->weight(); };
    auto w3 = [](LlamaLayerImpl& l) { return l.mlp->up_proj->weight(); };
    if (version == 0) {
        put(model.embed_tokens->weight);
        each(attNorm);
        each(wq);
        each(wk);
        each(wv);
        each(wo);
        each(ffnNorm);
        each(w1);
        each(w2);
        each(w3);
        put(model.norm->weight);
        auto [cosT, sinT] = model.ropeTables(c.max_seq_len, torch::kCPU);
        put(cosT.narrow(0, 0, c.max_seq_len));
        put(sinT.narrow(0, 0, c.max_seq_len));
    } else {
        each(attNorm);
        each(ffnNorm);
        put(model.norm->weight);
        put(model.embed_tokens->weight);
        each(wq);
        each(wk);
        each(wv);
        each(wo);
        each(w1);
        each(w2);
        each(w3);
    }
    if (!shared)
        put(model.lm_head->weight());
    out.flush();
    if (!out)
        ioFail(path, "write failed");
}

LlamaModel loadHfModel(const std::string& dir, torch::Dtype dtype, const LoadProgress& progress)
{
    const std::string cfgPath = (fs::path(dir) / "config.json").string();
    const LlamaConfig c = hfConfigFromJson(readFile(cfgPath, ErrorCode::CheckpointIO), cfgPath);
    LlamaModel model(c, dtype, /*randomInit=*/false);
    loadWeights(*model, dir, /*permuteQk=*/false, progress);
    model->eval();
    return model;
}

std::vector<std::string> namedGeometries() { return {"tinyllama-1.1b", "llama-3.2-1b", "llama-2-7b"}; }

LlamaConfig namedGeometry(const std::string& name)
{
    LlamaConfig c;
    c.vocab_size = 32000;
    c.norm_eps = 1e-5;
    c.rope_theta = 10000.0;
    c.tie_embeddings = false;
    c.rope_layout = RopeLayout::RotateHalf;
    if (name == "tinyllama-1.1b") {  // TinyLlama/TinyLlama-1.1B-Chat-v1.0's config.json
        c.dim = 2048;
        c.hidden_dim = 5632;
        c.n_layers = 22;
        c.n_heads = 32;
        c.n_kv_heads = 4;
        c.max_seq_len = 2048;
    } else if (name == "llama-3.2-1b") {  // meta-llama/Llama-3.2-1B's config.json
        c.dim = 2048;
        c.hidden_dim = 8192;
        c.n_layers = 16;
        c.n_heads = 32;
        c.n_kv_heads = 8;
        c.vocab_size = 128256;
        c.max_seq_len = 131072;
        c.rope_theta = 500000.0;
        c.tie_embeddings = true;
        c.rope_scaling.type = "llama3";
        c.rope_scaling.factor = 32.0;
        c.rope_scaling.low_freq_factor = 1.0;
        c.rope_scaling.high_freq_factor = 4.0;
        c.rope_scaling.original_max_position_embeddings = 8192;
    } else if (name == "llama-2-7b") {  // meta-llama/Llama-2-7b-chat-hf's config.json
        c.dim = 4096;
        c.hidden_dim = 11008;
        c.n_layers = 32;
        c.n_heads = 32;
        c.n_kv_heads = 32;
        c.max_seq_len = 4096;
    } else {
        std::string choices;
        for (const auto& n : namedGeometries())
            choices += (choices.empty() ? "" : ", ") + n;
        throw CoreException(ErrorCode::InvalidConfig, "unknown geometry '" + name + "'; choices: " + choices, "shape");
    }
    c.validate();
    return c;
}

void writeRandomHfModel(const LlamaConfig& c, const std::string& dir, StDtype dtype, int64_t maxShardBytes,
                        const std::string& tokenizerPath, uint64_t seed, const LoadProgress& progress)
{
    if (dtype != StDtype::F32 && dtype != StDtype::F16 && dtype != StDtype::BF16)
        ioFail(dir, std::string("cannot write weights as ") + stDtypeName(dtype));
    c.validate();
    makeDir(dir);
    const fs::path d(dir);
    const char* dtypeName = dtype == StDtype::BF16 ? "bfloat16" : dtype == StDtype::F16 ? "float16" : "float32";
    writeFileAtomic((d / "config.json").string(), hfConfigToJson(c, dtypeName), ErrorCode::CheckpointIO);
    if (!tokenizerPath.empty())
        writeFileAtomic((d / "tokenizer.model").string(), readFile(tokenizerPath, ErrorCode::CheckpointIO),
                        ErrorCode::CheckpointIO);
    torch::NoGradGuard noGrad;
    auto gen = at::detail::createCPUGenerator(seed);
    const torch::Dtype td = torchDtypeFor(dtype);
    const auto layout = hfTensorLayout(c);
    writeShards(
        dir, layout, dtype, maxShardBytes,
        [&](size_t i) {
            const auto& shape = layout[i].second;
            torch::Tensor t = torch::empty(shape, torch::TensorOptions().dtype(td));
            if (shape.size() == 1)
                t.fill_(1.0);  // RMSNorm weights
            else
                t.normal_(0.0, 0.02, gen);
            return t;
        },
        progress);
}

void saveHfModel(LlamaModelImpl& model, const std::string& dir, const Tokenizer* tokenizer, StDtype dtype,
                 int64_t maxShardBytes)
{
    makeDir(dir);
    const char* dtypeName = dtype == StDtype::BF16 ? "bfloat16" : dtype == StDtype::F16 ? "float16" : "float32";
    LlamaConfig c = model.config();
    c.rope_layout = RopeLayout::RotateHalf;
    writeFileAtomic((fs::path(dir) / "config.json").string(), hfConfigToJson(c, dtypeName), ErrorCode::CheckpointIO);
    writeWeights(model, dir, dtype, maxShardBytes, model.config().rope_layout == RopeLayout::Interleaved);
    if (tokenizer && tokenizer->isLoaded())
        writeFileAtomic((fs::path(dir) / "tokenizer.model").string(), tokenizer->serialize(), ErrorCode::CheckpointIO);
}

void saveCheckpoint(LlamaModelImpl& model, const std::string& dir, const Tokenizer* tokenizer)
{
    for (const auto& name : model.adapterNames())
        for (const auto& [prefix, lin] : model.linears())
            if (lin->hasAdapter(name) && lin->adapters().at(name).merged)
                throw CoreException(ErrorCode::InvalidConfig,
                                    "saving '" + dir + "': adapter '" + name
                                        + "' is merged; unmerge it or mergeAndUnload() first",
                                    dir);
    makeDir(dir);
    writeFileAtomic((fs::path(dir) / "config.json").string(), llamaConfigToJson(model.config()), ErrorCode::CheckpointIO);
    writeWeights(model, dir, stDtype(model.embed_tokens->weight.scalar_type()), 0, /*permuteQk=*/false);
    if (tokenizer && tokenizer->isLoaded())
        writeFileAtomic((fs::path(dir) / "tokenizer.model").string(), tokenizer->serialize(), ErrorCode::CheckpointIO);
    const fs::path adapters = fs::path(dir) / "adapters";
    std::error_code ec;
    fs::remove_all(adapters, ec);
    for (const auto& name : model.adapterNames())
        exportPeftAdapter(model, name, (adapters / name).string());
}

LlamaModel loadCheckpoint(const std::string& dir, torch::Dtype dtype)
{
    const std::string cfgPath = (fs::path(dir) / "config.json").string();
    const LlamaConfig c = llamaConfigFromJson(readFile(cfgPath, ErrorCode::CheckpointIO), cfgPath);
    LlamaModel model(c, dtype, /*randomInit=*/false);
    loadWeights(*model, dir, /*permuteQk=*/false);
    const fs::path adapters = fs::path(dir) / "adapters";
    std::error_code ec;
    if (fs::is_directory(adapters, ec)) {
        std::vector<std::string> names;
        for (const auto& e : fs::directory_iterator(adapters))
            if (e.is_directory())
                names.push_back(e.path().filename().string());
        std::sort(names.begin(), names.end());
        for (const auto& n : names)
            importPeftAdapter(*model, (adapters / n).string(), n);
    }
    model->eval();
    return model;
}

LoadedModel loadAnyModel(const std::string& path, const std::string& tokenizerPath, torch::Dtype dtype,
                         const LoadProgress& progress)
{
    LoadedModel out;
    out.format = detectCheckpointFormat(path);
    std::string folder = path;
    switch (out.format) {
    case CheckpointFormat::Llama2c:
        out.model = loadLlama2c(path);
        if (dtype != torch::kFloat)
            out.model->to(dtype);
        folder = fs::path(path).parent_path().string();
        break;
    case CheckpointFormat::HuggingFace:
        out.model = loadHfModel(path, dtype, progress);
        break;
    case CheckpointFormat::Recalign:
        out.model = loadCheckpoint(path, dtype);
        break;
    case CheckpointFormat::Unknown:
        throw CoreException(ErrorCode::CheckpointIO,
                            "'" + path + "': not a llama2.c file, a Hugging Face Llama folder (config.json + "
                                         "safetensors) or a recalign checkpoint folder",
                            path);
    }
    std::string tok = tokenizerPath;
    if (tok.empty()) {
        const fs::path candidate = fs::path(folder.empty() ? "." : folder) / "tokenizer.model";
        if (fs::exists(candidate))
            tok = candidate.string();
    }
    if (!tok.empty()) {
        out.tokenizer = Tokenizer::load(tok);
        out.tokenizer_path = tok;
        if (out.tokenizer.vocabSize() > out.model->config().vocab_size)
            throw CoreException(ErrorCode::InvalidConfig,
                                "tokenizer '" + tok + "' has " + std::to_string(out.tokenizer.vocabSize())
                                    + " pieces but the model only " + std::to_string(out.model->config().vocab_size),
                                tok);
    }
    return out;
}

std::string peftKey(const std::string& modulePrefix, char matrix)
{
    return "base_model.model." + hfName(modulePrefix) + ".lora_" + std::string(1, matrix) + ".weight";
}

void exportPeftAdapter(const LlamaModelImpl& model, const std::string& adapter, const std::string& dir,
                       const std::string& baseModelName)
{
    const LoraSpec& spec = model.adapterSpec(adapter);
    const LlamaConfig& c = model.config();
    const bool permute = c.rope_layout == RopeLayout::Interleaved;
    std::vector<std::pair<std::string, torch::Tensor>> tensors;
    for (const auto& [prefix, lin] : model.linears()) {
        if (!lin->hasAdapter(adapter))
            continue;
        const LoraAdapter& a = lin->adapters().at(adapter);
        torch::Tensor A = a.A.detach().to(torch::kCPU).to(torch::kFloat).contiguous();
        torch::Tensor B = a.B.detach().to(torch::kCPU).to(torch::kFloat);
        const bool isQ = prefix.find("q_proj") != std::string::npos;
        const bool isK = prefix.find("k_proj") != std::string::npos;
        if (permute && (isQ || isK))
            B = permuteRotaryRows(B, isQ ? c.n_heads : c.n_kv_heads, /*inverse=*/false);
        tensors.emplace_back(peftKey(prefix, 'A'), A);
        tensors.emplace_back(peftKey(prefix, 'B'), B.contiguous());
    }
    makeDir(dir);
    std::vector<StWriteTensor> w;
    for (const auto& [k, t] : tensors)
        w.push_back({k, StDtype::F32, t.sizes().vec(), t.data_ptr()});
    writeSafetensors((fs::path(dir) / "adapter_model.safetensors").string(), w);
    writeFileAtomic((fs::path(dir) / "adapter_config.json").string(), loraSpecToPeftJson(spec, baseModelName), ErrorCode::CheckpointIO);
}

void importPeftAdapter(LlamaModelImpl& model, const std::string& dir, const std::string& name)
{
    const std::string cfgPath = (fs::path(dir) / "adapter_config.json").string();
    LoraSpec spec = loraSpecFromPeftJson(readFile(cfgPath, ErrorCode::CheckpointIO), cfgPath);
    const fs::path weights = fs::path(dir) / "adapter_model.safetensors";
    if (!fs::exists(weights) && fs::exists(fs::path(dir) / "adapter_model.bin"))
        ioFail(dir, "only adapter_model.safetensors is supported (not adapter_model.bin)");
    const SafetensorsFile f = SafetensorsFile::open(weights.string());
    const LlamaConfig& c = model.config();
    // Validate every key and shape before touching the model.
    std::set<std::string> expected;
    for (const auto& [prefix, lin] : model.linears()) {
        const auto dot = prefix.rfind('.');
        if (!(spec.targets & loraTargetBit(prefix.substr(dot == std::string::npos ? 0 : dot + 1))))
            continue;
        const std::string ka = peftKey(prefix, 'A'), kb = peftKey(prefix, 'B');
        const StTensorInfo& ia = f.info(ka);
        const StTensorInfo& ib = f.info(kb);
        torchDtype(ia.dtype, f.path(), ka);
        torchDtype(ib.dtype, f.path(), kb);
        if (ia.shape != std::vector<int64_t>{spec.r, lin->inFeatures()})
            ioFail(f.path(), "tensor '" + ka + "' has the wrong shape for r = " + std::to_string(spec.r));
        if (ib.shape != std::vector<int64_t>{lin->outFeatures(), spec.r})
            ioFail(f.path(), "tensor '" + kb + "' has the wrong shape for r = " + std::to_string(spec.r));
        expected.insert(ka);
        expected.insert(kb);
    }
    for (const auto& k : f.names())
        if (!expected.count(k))
            ioFail(f.path(), "unexpected tensor '" + k + "' (not a LoRA weight of this model and adapter config)");
    model.addAdapter(name, spec);
    const bool permute = c.rope_layout == RopeLayout::Interleaved;
    for (auto& [prefix, lin] : model.linears()) {
        if (!lin->hasAdapter(name))
            continue;
        LoraAdapter& a = lin->adapter(name);
        fillFrom(f, peftKey(prefix, 'A'), a.A);
        const bool isQ = prefix.find("q_proj") != std::string::npos;
        const bool isK = prefix.find("k_proj") != std::string::npos;
        if (permute && (isQ || isK)) {
            torch::Tensor tmp = torch::empty(a.B.sizes(), a.B.options().requires_grad(false));
            fillFrom(f, peftKey(prefix, 'B'), tmp);
            torch::NoGradGuard noGrad;
            a.B.copy_(permuteRotaryRows(tmp, isQ ? c.n_heads : c.n_kv_heads, /*inverse=*/true));
        } else {
            fillFrom(f, peftKey(prefix, 'B'), a.B);
        }
    }
}

}  // namespace recalign::core::llm
