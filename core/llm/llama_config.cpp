// LlamaConfig / LoraSpec validation and their JSON forms (ours, Hugging Face's and PEFT's).
#include "core/llm/llama_config.h"

#include "core/api/error.h"
#include "core/util/strings.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

namespace recalign::core::llm {

namespace llama_config_detail {

using nlohmann::json;

json parseJson(const std::string& text, const std::string& where)
{
    try {
        json j = json::parse(text);
        if (!j.is_object())
            throw CoreException(ErrorCode::InvalidConfig, where + ": expected a JSON object", where);
        return j;
    } catch (const json::exception& e) {
        throw CoreException(ErrorCode::InvalidConfig, where + ": invalid JSON: " + e.what(), where);
    }
}

template <typename T>
void readField(const json& j, const char* key, T& out, const std::string& where, bool required)
{
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) {
        if (required)
            throw CoreException(ErrorCode::InvalidConfig,
                                where + ": missing key '" + key + "'", where + ":" + key);
        return;
    }
    try {
        out = it->get<T>();
    } catch (const json::exception&) {
        throw CoreException(ErrorCode::InvalidConfig,
                            where + ": key '" + key + "' has the wrong type (" + it->dump() + ")",
                            where + ":" + key);
    }
}

}  // namespace llama_config_detail

using llama_config_detail::json;
using llama_config_detail::parseJson;
using llama_config_detail::readField;

namespace llama_config_detail {

json ropeScalingJson(const LlamaConfig::RopeScaling& s)
{
    json j{{"rope_type", s.type}, {"factor", s.factor}};
    if (s.type == "llama3") {
        j["low_freq_factor"] = s.low_freq_factor;
        j["high_freq_factor"] = s.high_freq_factor;
        j["original_max_position_embeddings"] = s.original_max_position_embeddings;
    }
    return j;
}

LlamaConfig::RopeScaling ropeScalingFromJson(const json& j, const std::string& where)
{
    LlamaConfig::RopeScaling s;
    if (j.is_null())
        return s;
    if (!j.is_object())
        throw CoreException(ErrorCode::InvalidConfig, where + ": rope_scaling must be an object or null",
                            where + ":rope_scaling");
    // transformers writes "rope_type" (older files "type").
    std::string type = j.value("rope_type", j.value("type", std::string("default")));
    if (type == "default")
        return s;
    if (type != "linear" && type != "llama3")
        throw CoreException(ErrorCode::InvalidConfig,
                            where + ": rope_scaling type '" + type + "' is not supported (default, linear or llama3)",
                            where + ":rope_scaling");
    s.type = type;
    readField(j, "factor", s.factor, where, true);
    if (type == "llama3") {
        readField(j, "low_freq_factor", s.low_freq_factor, where, true);
        readField(j, "high_freq_factor", s.high_freq_factor, where, true);
        readField(j, "original_max_position_embeddings", s.original_max_position_embeddings, where, true);
    }
    return s;
}

}  // namespace llama_config_detail

using llama_config_detail::ropeScalingFromJson;
using llama_config_detail::ropeScalingJson;


const char* ropeLayoutName(RopeLayout layout)
{
    return layout == RopeLayout::Interleaved ? "interleaved" : "rotate_half";
}

RopeLayout parseRopeLayout(const std::string& name)
{
    if (name == "interleaved")
        return RopeLayout::Interleaved;
    if (name == "rotate_half")
        return RopeLayout::RotateHalf;
    throw CoreException(ErrorCode::InvalidConfig,
                        "rope_layout '" + name + "': expected interleaved or rotate_half", "rope_layout");
}

void LlamaConfig::validate() const
{
    auto bad = [](const std::string& field, const std::string& why) {
        throw CoreException(ErrorCode::InvalidConfig, "model config: " + field + " " + why, field);
    };
    if (dim <= 0)
        bad("dim", "must be positive (got " + std::to_string(dim) + ")");
    if (hidden_dim <= 0)
        bad("hidden_dim", "must be positive (got " + std::to_string(hidden_dim) + ")");
    if (n_layers <= 0)
        bad("n_layers", "must be positive (got " + std::to_string(n_layers) + ")");
    if (n_heads <= 0 || dim % n_heads != 0)
        bad("n_heads", "must divide dim (" + std::to_string(dim) + " / " + std::to_string(n_heads) + ")");
    if (headDim() % 2 != 0)
        bad("n_heads", "must leave an even head size for rotary embeddings (head size "
                           + std::to_string(headDim()) + ")");
    if (n_kv_heads <= 0 || n_heads % n_kv_heads != 0)
        bad("n_kv_heads", "must divide n_heads (" + std::to_string(n_heads) + " / "
                              + std::to_string(n_kv_heads) + ")");
    if (vocab_size <= 0)
        bad("vocab_size", "must be positive (got " + std::to_string(vocab_size) + ")");
    if (max_seq_len <= 0)
        bad("max_seq_len", "must be positive (got " + std::to_string(max_seq_len) + ")");
    if (!(norm_eps > 0.0) || !std::isfinite(norm_eps))
        bad("norm_eps", "must be positive");
    if (!(rope_theta > 0.0) || !std::isfinite(rope_theta))
        bad("rope_theta", "must be positive");
    if (!rope_scaling.type.empty()) {
        if (rope_scaling.type != "linear" && rope_scaling.type != "llama3")
            bad("rope_scaling", "type '" + rope_scaling.type + "': expected linear or llama3");
        if (!(rope_scaling.factor > 0.0))
            bad("rope_scaling", "factor must be positive");
        if (rope_scaling.type == "llama3"
            && (!(rope_scaling.low_freq_factor > 0.0) || !(rope_scaling.high_freq_factor > rope_scaling.low_freq_factor)
                || rope_scaling.original_max_position_embeddings < 1))
            bad("rope_scaling", "llama3 needs 0 < low_freq_factor < high_freq_factor and original_max_position_embeddings >= 1");
    }
}

int64_t LlamaConfig::parameterCount() const
{
    const int64_t d = dim, h = hidden_dim, kv = kvDim(), v = vocab_size;
    const int64_t perLayer = d * d * 2 + d * kv * 2 + 3 * d * h + 2 * d;
    return v * d + n_layers * perLayer + d + (tie_embeddings ? 0 : v * d);
}

bool LlamaConfig::RopeScaling::operator==(const RopeScaling& o) const
{
    return type == o.type && (type.empty()
                              || (factor == o.factor && low_freq_factor == o.low_freq_factor
                                  && high_freq_factor == o.high_freq_factor
                                  && original_max_position_embeddings == o.original_max_position_embeddings));
}

std::vector<float> ropeFrequencies(const LlamaConfig& c)
{
    const int64_t half = c.headDim() / 2;
    const float theta = static_cast<float>(c.rope_theta);
    const float hd = static_cast<float>(c.headDim());
    std::vector<float> f(static_cast<size_t>(half));
    for (int64_t i = 0; i < half; ++i)
        f[static_cast<size_t>(i)] = 1.0f / std::pow(theta, static_cast<float>(2 * i) / hd);
    const auto& s = c.rope_scaling;
    const float factor = static_cast<float>(s.factor);
    if (s.type == "linear") {
        for (auto& v : f)
            v /= factor;
    } else if (s.type == "llama3") {
        const float old = static_cast<float>(s.original_max_position_embeddings);
        const float low = static_cast<float>(s.low_freq_factor), high = static_cast<float>(s.high_freq_factor);
        const float lowWavelen = old / low, highWavelen = old / high;
        const float twoPi = static_cast<float>(2.0 * M_PI);
        for (auto& v : f) {
            const float wavelen = twoPi / v;
            if (wavelen > lowWavelen) {
                v /= factor;  // long wavelengths: interpolated
            } else if (!(wavelen < highWavelen)) {
                const float smooth = (old / wavelen - low) / (high - low);
                v = (1.0f - smooth) * v / factor + smooth * v;
            }  // short wavelengths: unchanged
        }
    }
    return f;
}

bool LlamaConfig::operator==(const LlamaConfig& o) const
{
    return dim == o.dim && hidden_dim == o.hidden_dim && n_layers == o.n_layers && n_heads == o.n_heads
           && n_kv_heads == o.n_kv_heads && vocab_size == o.vocab_size && max_seq_len == o.max_seq_len
           && norm_eps == o.norm_eps && rope_theta == o.rope_theta && tie_embeddings == o.tie_embeddings
           && rope_layout == o.rope_layout && rope_scaling == o.rope_scaling && sliding_window == o.sliding_window;
}

LlamaConfig fromScratchLlamaConfig(const ModelConfig& m)
{
    LlamaConfig c;
    c.dim = m.dim;
    c.n_layers = m.n_layers;
    c.n_heads = m.n_heads;
    c.n_kv_heads = m.n_kv_heads > 0 ? m.n_kv_heads : m.n_heads;
    c.hidden_dim = m.hidden_dim > 0 ? m.hidden_dim : llamaHiddenDim(m.dim);
    c.max_seq_len = m.max_seq_len;
    if (m.vocab_size > 0)
        c.vocab_size = m.vocab_size;
    if (m.norm_eps > 0)
        c.norm_eps = m.norm_eps;
    if (m.rope_theta > 0)
        c.rope_theta = m.rope_theta;
    c.tie_embeddings = true;
    c.rope_layout = RopeLayout::RotateHalf;
    return c;
}

ModelConfig::ComputeDType resolveComputeDtype(ModelConfig::ComputeDType requested, bool cuda)
{
    if (requested != ModelConfig::ComputeDType::Auto)
        return requested;
    if (cuda)
        return ModelConfig::ComputeDType::BFloat16;
    const auto simd = machineInfo().simd;
    const bool bf16 = std::find(simd.begin(), simd.end(), "avx512_bf16") != simd.end()
        || std::find(simd.begin(), simd.end(), "amx_bf16") != simd.end();
    return bf16 ? ModelConfig::ComputeDType::BFloat16 : ModelConfig::ComputeDType::Float32;
}

const char* computeDtypeName(ModelConfig::ComputeDType dtype)
{
    switch (dtype) {
    case ModelConfig::ComputeDType::Float32: return "float32";
    case ModelConfig::ComputeDType::BFloat16: return "bfloat16";
    case ModelConfig::ComputeDType::Auto: return "auto";
    }
    return "?";
}

ModelConfig::ComputeDType parseComputeDtype(const std::string& text)
{
    for (auto d : {ModelConfig::ComputeDType::Float32, ModelConfig::ComputeDType::BFloat16, ModelConfig::ComputeDType::Auto})
        if (text == computeDtypeName(d))
            return d;
    throw CoreException(ErrorCode::InvalidConfig,
                        "compute_dtype: expected one of float32, bfloat16, auto, found '" + text + "'", "compute_dtype");
}

int llamaHiddenDim(int dim, int multipleOf)
{
    int hidden = (2 * 4 * dim) / 3;
    return multipleOf * ((hidden + multipleOf - 1) / multipleOf);
}

std::string llamaConfigToJson(const LlamaConfig& c)
{
    json j;
    j["format"] = "recalign-llama";
    j["format_version"] = 1;
    j["dim"] = c.dim;
    j["hidden_dim"] = c.hidden_dim;
    j["n_layers"] = c.n_layers;
    j["n_heads"] = c.n_heads;
    j["n_kv_heads"] = c.n_kv_heads;
    j["vocab_size"] = c.vocab_size;
    j["max_seq_len"] = c.max_seq_len;
    j["norm_eps"] = c.norm_eps;
    j["rope_theta"] = c.rope_theta;
    j["tie_embeddings"] = c.tie_embeddings;
    j["rope_layout"] = ropeLayoutName(c.rope_layout);
    if (!c.rope_scaling.type.empty())
        j["rope_scaling"] = ropeScalingJson(c.rope_scaling);
    if (c.sliding_window > 0)
        j["sliding_window"] = c.sliding_window;
    return j.dump(2);
}

LlamaConfig llamaConfigFromJson(const std::string& text, const std::string& where)
{
    const json j = parseJson(text, where);
    std::string format;
    readField(j, "format", format, where, true);
    if (format != "recalign-llama")
        throw CoreException(ErrorCode::InvalidConfig,
                            where + ": format '" + format + "' is not recalign-llama", where + ":format");
    LlamaConfig c;
    readField(j, "dim", c.dim, where, true);
    readField(j, "hidden_dim", c.hidden_dim, where, true);
    readField(j, "n_layers", c.n_layers, where, true);
    readField(j, "n_heads", c.n_heads, where, true);
    readField(j, "n_kv_heads", c.n_kv_heads, where, true);
    readField(j, "vocab_size", c.vocab_size, where, true);
    readField(j, "max_seq_len", c.max_seq_len, where, true);
    readField(j, "norm_eps", c.norm_eps, where, true);
    readField(j, "rope_theta", c.rope_theta, where, true);
    readField(j, "tie_embeddings", c.tie_embeddings, where, true);
    std::string layout;
    readField(j, "rope_layout", layout, where, true);
    c.rope_layout = parseRopeLayout(layout);
    if (auto rs = j.find("rope_scaling"); rs != j.end())
        c.rope_scaling = ropeScalingFromJson(*rs, where);
    readField(j, "sliding_window", c.sliding_window, where, false);
    c.validate();
    return c;
}

std::string hfConfigToJson(const LlamaConfig& c, const std::string& torchDtype)
{
    json j;
    j["architectures"] = json::array({"LlamaForCausalLM"});
    j["model_type"] = "llama";
    j["hidden_act"] = "silu";
    j["hidden_size"] = c.dim;
    j["intermediate_size"] = c.hidden_dim;
    j["num_hidden_layers"] = c.n_layers;
    j["num_attention_heads"] = c.n_heads;
    j["num_key_value_heads"] = c.n_kv_heads;
    j["vocab_size"] = c.vocab_size;
    j["max_position_embeddings"] = c.max_seq_len;
    j["rms_norm_eps"] = c.norm_eps;
    j["rope_theta"] = c.rope_theta;
    j["rope_scaling"] = c.rope_scaling.type.empty() ? json(nullptr) : ropeScalingJson(c.rope_scaling);
    if (c.sliding_window > 0) {
        j["model_type"] = "mistral";
        j["architectures"] = json::array({"MistralForCausalLM"});
        j["sliding_window"] = c.sliding_window;
    }
    j["tie_word_embeddings"] = c.tie_embeddings;
    j["attention_bias"] = false;
    j["mlp_bias"] = false;
    j["bos_token_id"] = 1;
    j["eos_token_id"] = 2;
    j["torch_dtype"] = torchDtype;
    return j.dump(2);
}

LlamaConfig hfConfigFromJson(const std::string& text, const std::string& where)
{
    const json j = parseJson(text, where);
    std::string modelType;
    readField(j, "model_type", modelType, where, true);
    if (modelType != "llama" && modelType != "mistral")
        throw CoreException(ErrorCode::InvalidConfig,
                            where + ": model_type '" + modelType + "' is not a Llama architecture",
                            where + ":model_type");
    for (const char* key : {"attention_bias", "mlp_bias"}) {
        bool b = false;
        readField(j, key, b, where, false);
        if (b)
            throw CoreException(ErrorCode::InvalidConfig,
                                where + ": " + key + " = true is not supported", where + ":" + key);
    }
    std::string act = "silu";
    readField(j, "hidden_act", act, where, false);
    if (act != "silu")
        throw CoreException(ErrorCode::InvalidConfig,
                            where + ": hidden_act '" + act + "' is not supported (silu only)", where + ":hidden_act");
    LlamaConfig c;
    readField(j, "hidden_size", c.dim, where, true);
    readField(j, "intermediate_size", c.hidden_dim, where, true);
    readField(j, "num_hidden_layers", c.n_layers, where, true);
    readField(j, "num_attention_heads", c.n_heads, where, true);
    c.n_kv_heads = c.n_heads;
    readField(j, "num_key_value_heads", c.n_kv_heads, where, false);
    readField(j, "vocab_size", c.vocab_size, where, true);
    c.max_seq_len = 2048;
    readField(j, "max_position_embeddings", c.max_seq_len, where, false);
    c.norm_eps = 1e-6;
    readField(j, "rms_norm_eps", c.norm_eps, where, false);
    c.rope_theta = 10000.0;
    readField(j, "rope_theta", c.rope_theta, where, false);
    c.tie_embeddings = false;
    readField(j, "tie_word_embeddings", c.tie_embeddings, where, false);
    int headDim = 0;
    readField(j, "head_dim", headDim, where, false);
    if (headDim != 0 && headDim * c.n_heads != c.dim)
        throw CoreException(ErrorCode::InvalidConfig,
                            where + ": head_dim " + std::to_string(headDim) + " != hidden_size / heads",
                            where + ":head_dim");
    c.rope_layout = RopeLayout::RotateHalf;
    if (auto rs = j.find("rope_scaling"); rs != j.end())
        c.rope_scaling = ropeScalingFromJson(*rs, where);
    if (auto sw = j.find("sliding_window"); sw != j.end() && !sw->is_null()) {
        if (!sw->is_number_integer() || sw->get<int64_t>() < 1)
            throw CoreException(ErrorCode::InvalidConfig, where + ": sliding_window must be a positive integer or null",
                                where + ":sliding_window");
        c.sliding_window = static_cast<int>(sw->get<int64_t>());
    }
    c.validate();
    return c;
}

unsigned loraTargetBit(const std::string& name)
{
    static const std::pair<const char*, LoraTarget> kNames[] = {
        {"q_proj", LoraTarget::Q},       {"k_proj", LoraTarget::K},   {"v_proj", LoraTarget::V},
        {"o_proj", LoraTarget::O},       {"gate_proj", LoraTarget::Gate}, {"up_proj", LoraTarget::Up},
        {"down_proj", LoraTarget::Down}, {"lm_head", LoraTarget::LmHead}};
    for (const auto& [n, t] : kNames)
        if (name == n)
            return static_cast<unsigned>(t);
    return 0;
}

unsigned parseLoraTargets(const std::vector<std::string>& names)
{
    unsigned mask = 0;
    for (const auto& raw : names) {
        const std::string n = str::toLower(str::trim(raw));
        if (n == "all" || n.empty()) {  // RecLM-gen's --lora_module_name '' matches every linear
            mask |= 0xFFu;
            continue;
        }
        if (n == "all-linear") {
            mask |= 0xFFu & ~static_cast<unsigned>(LoraTarget::LmHead);
            continue;
        }
        unsigned bit = loraTargetBit(n);
        if (!bit)
            bit = loraTargetBit(n + "_proj");
        if (!bit)
            throw CoreException(ErrorCode::InvalidConfig,
                                "lora target '" + raw
                                    + "': expected q, k, v, o, gate, up, down, lm_head, all or all-linear",
                                "lora.targets");
        mask |= bit;
    }
    return mask;
}

std::vector<std::string> loraTargetModuleNames(unsigned mask)
{
    std::vector<std::string> out;
    for (const char* n : {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "lm_head"})
        if (mask & loraTargetBit(n))
            out.emplace_back(n);
    return out;
}

double LoraSpec::scaling() const
{
    return use_rslora ? alpha / std::sqrt(static_cast<double>(r)) : alpha / static_cast<double>(r);
}

void LoraSpec::validate() const
{
    if (r <= 0)
        throw CoreException(ErrorCode::InvalidConfig, "lora r must be positive (got " + std::to_string(r) + ")", "lora.r");
    if (!(alpha > 0.0) || !std::isfinite(alpha))
        throw CoreException(ErrorCode::InvalidConfig, "lora alpha must be positive", "lora.alpha");
    if (!(dropout >= 0.0 && dropout < 1.0))
        throw CoreException(ErrorCode::InvalidConfig, "lora dropout must be in [0, 1)", "lora.dropout");
    if ((targets & 0xFFu) == 0)
        throw CoreException(ErrorCode::InvalidConfig, "lora targets are empty", "lora.targets");
}

std::string loraSpecToPeftJson(const LoraSpec& s, const std::string& baseModel)
{
    json j;
    j["peft_type"] = "LORA";
    j["task_type"] = "CAUSAL_LM";
    j["base_model_name_or_path"] = baseModel.empty() ? json(nullptr) : json(baseModel);
    j["r"] = s.r;
    j["lora_alpha"] = s.alpha;
    j["lora_dropout"] = s.dropout;
    j["target_modules"] = loraTargetModuleNames(s.targets);
    j["bias"] = "none";
    j["fan_in_fan_out"] = false;
    j["inference_mode"] = true;
    j["init_lora_weights"] = true;
    j["use_rslora"] = s.use_rslora;
    j["modules_to_save"] = nullptr;
    j["layers_to_transform"] = nullptr;
    j["layers_pattern"] = nullptr;
    j["rank_pattern"] = json::object();
    j["alpha_pattern"] = json::object();
    j["revision"] = nullptr;
    return j.dump(2);
}

LoraSpec loraSpecFromPeftJson(const std::string& text, const std::string& where)
{
    const json j = parseJson(text, where);
    std::string type;
    readField(j, "peft_type", type, where, true);
    if (type != "LORA")
        throw CoreException(ErrorCode::InvalidConfig, where + ": peft_type '" + type + "' is not LORA",
                            where + ":peft_type");
    LoraSpec s;
    readField(j, "r", s.r, where, true);
    readField(j, "lora_alpha", s.alpha, where, true);
    readField(j, "lora_dropout", s.dropout, where, false);
    readField(j, "use_rslora", s.use_rslora, where, false);
    std::string bias = "none";
    readField(j, "bias", bias, where, false);
    if (bias != "none")
        throw CoreException(ErrorCode::InvalidConfig, where + ": bias '" + bias + "' is not supported (none only)",
                            where + ":bias");
    bool fanInFanOut = false;
    readField(j, "fan_in_fan_out", fanInFanOut, where, false);
    if (fanInFanOut)
        throw CoreException(ErrorCode::InvalidConfig, where + ": fan_in_fan_out is not supported for Llama",
                            where + ":fan_in_fan_out");
    for (const char* key : {"rank_pattern", "alpha_pattern"}) {
        auto it = j.find(key);
        if (it != j.end() && it->is_object() && !it->empty())
            throw CoreException(ErrorCode::InvalidConfig, where + ": " + key + " is not supported",
                                where + ":" + key);
    }
    auto t = j.find("target_modules");
    if (t == j.end() || t->is_null())
        throw CoreException(ErrorCode::InvalidConfig, where + ": missing key 'target_modules'",
                            where + ":target_modules");
    std::vector<std::string> names;
    if (t->is_string()) {
        names.push_back(t->get<std::string>() == "all-linear" ? "all-linear" : t->get<std::string>());
    } else if (t->is_array()) {
        for (const auto& e : *t) {
            if (!e.is_string())
                throw CoreException(ErrorCode::InvalidConfig, where + ": target_modules must hold strings",
                                    where + ":target_modules");
            names.push_back(e.get<std::string>());
        }
    } else {
        throw CoreException(ErrorCode::InvalidConfig, where + ": target_modules must be a list",
                            where + ":target_modules");
    }
    s.targets = parseLoraTargets(names);
    s.validate();
    return s;
}

LoraSpec loraSpec(const LoraConfig& config, uint64_t seed)
{
    LoraSpec s;
    s.r = config.r;
    s.alpha = config.alpha;
    s.dropout = config.dropout;
    s.targets = parseLoraTargets(config.targets);
    s.init = config.init == LoraConfig::Init::Orthogonal ? LoraInit::Orthogonal : LoraInit::Kaiming;
    s.seed = seed;
    return s;
}

double trainingFlopsPerToken(const LlamaConfig& c, int seqLen)
{
    const double matmulParams = static_cast<double>(c.parameterCount()) - static_cast<double>(c.vocab_size) * c.dim
                                + (c.tie_embeddings ? static_cast<double>(c.vocab_size) * c.dim : 0.0)
                                - static_cast<double>(c.dim) * (2 * c.n_layers + 1);
    return 6.0 * matmulParams + 12.0 * c.n_layers * c.dim * seqLen;
}

std::vector<GemmShape> forwardGemmShapes(const LlamaConfig& c, int rows)
{
    const int kv = c.dim / c.n_heads * c.n_kv_heads;
    const int hidden = c.hidden_dim > 0 ? c.hidden_dim : llamaHiddenDim(c.dim);
    std::vector<GemmShape> out;
    for (int l = 0; l < c.n_layers; ++l) {
        out.push_back({rows, c.dim, c.dim});   // q
        out.push_back({rows, c.dim, kv});      // k
        out.push_back({rows, c.dim, kv});      // v
        out.push_back({rows, c.dim, c.dim});   // o
        out.push_back({rows, c.dim, hidden});  // gate
        out.push_back({rows, c.dim, hidden});  // up
        out.push_back({rows, hidden, c.dim});  // down
    }
    out.push_back({rows, c.dim, c.vocab_size});  // head
    return out;
}

}  // namespace recalign::core::llm
