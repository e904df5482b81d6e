// LlamaConfig (the architecture a checkpoint fixes) and LoraSpec (one adapter's settings), with
// their JSON forms: our own config.json and Hugging Face's LlamaConfig / PEFT adapter_config.json.
// Torch-free.
#pragma once

#include "core/api/experiment.h"
#include "core/api/info.h"

#include <cstdint>
#include <string>
#include <vector>

namespace recalign::core::llm {

// How rotary embeddings pair the dimensions of a head.
//   Interleaved: pairs (2i, 2i+1) share frequency i (Meta's and llama2.c's layout).
//   RotateHalf:  pairs (i, i + d/2) share frequency i (Hugging Face's layout, whose q/k weights are
//                permuted on conversion so both give the same model).
enum class RopeLayout { Interleaved, RotateHalf };

const char* ropeLayoutName(RopeLayout layout);
RopeLayout parseRopeLayout(const std::string& name);  // throws InvalidConfig

struct LlamaConfig {
    int dim = 64;            // e.g. 4096 for Llama-2-7b
    int hidden_dim = 172;    // SwiGLU width, e.g. 11008
    int n_layers = 5;
    int n_heads = 8;
    int n_kv_heads = 4;      // < n_heads = grouped-query attention
    int vocab_size = 512;
    int max_seq_len = 512;   // positions the model was trained for (generation may go beyond)
    double norm_eps = 1e-5;
    double rope_theta = 10000.0;
    // Hugging Face's rope_scaling: none, "linear" (frequencies ÷ factor) or "llama3" (Llama 3.1's
    // band-wise rule: long wavelengths ÷ factor, short ones kept, a smooth blend between).
    struct RopeScaling {
        std::string type;  // "" = none | linear | llama3
        double factor = 1.0;
        double low_freq_factor = 1.0;
        double high_freq_factor = 4.0;
        int original_max_position_embeddings = 8192;
        bool operator==(const RopeScaling& o) const;
    } rope_scaling;
    // Mistral's sliding_window (0 = none): attention limited to the last N positions. Within N
    // positions the model is exactly a Llama; a longer sequence is refused (not implemented).
    int sliding_window = 0;
    bool tie_embeddings = true;  // LM head shares the token embedding
    RopeLayout rope_layout = RopeLayout::RotateHalf;

    int headDim() const { return dim / n_heads; }
    int kvDim() const { return headDim() * n_kv_heads; }
    // Throws CoreException(InvalidConfig) naming the first bad field.
    void validate() const;
    // Parameter count (embedding + layers + norm + untied head).
    int64_t parameterCount() const;
    bool operator==(const LlamaConfig& o) const;
    bool operator!=(const LlamaConfig& o) const { return !(*this == o); }
};

// The rotary inverse frequencies of a head (headDim / 2 values), computed in float as Hugging Face
// computes inv_freq (and llama2.c its freq), then scaled by config.rope_scaling.
std::vector<float> ropeFrequencies(const LlamaConfig& config);

// The architecture of a from-scratch model (the experiment's `model:` section, also what
// `recalign pretrain` builds): tied embeddings, rotate-half RoPE; n_kv_heads 0 = n_heads,
// hidden_dim 0 = llamaHiddenDim(dim), norm_eps / rope_theta 0 = Llama's, vocab_size 0 = left for
// the tokenizer to fix.
LlamaConfig fromScratchLlamaConfig(const ModelConfig& model);

// model.compute_dtype for a device: auto = bfloat16 on CUDA and on a CPU whose SIMD features
// (machineInfo) include avx512_bf16 or amx_bf16, float32 otherwise; float32 / bfloat16 as asked.
ModelConfig::ComputeDType resolveComputeDtype(ModelConfig::ComputeDType requested, bool cuda);
const char* computeDtypeName(ModelConfig::ComputeDType dtype);  // float32 | bfloat16 | auto
ModelConfig::ComputeDType parseComputeDtype(const std::string& text);  // throws InvalidConfig naming the choices

// Llama's default SwiGLU width for `dim`: 2/3 · 4·dim rounded up to a multiple of `multipleOf`.
int llamaHiddenDim(int dim, int multipleOf = 32);

// Our own config.json (all fields, with "format": "recalign-llama"). Throws InvalidConfig.
std::string llamaConfigToJson(const LlamaConfig& c);
LlamaConfig llamaConfigFromJson(const std::string& json, const std::string& where);

// Hugging Face LlamaConfig (config.json of a `LlamaForCausalLM` folder). Reading accepts
// model_type "llama" (and "mistral" without sliding window); rope_layout is RotateHalf.
std::string hfConfigToJson(const LlamaConfig& c, const std::string& torchDtype = "float32");
LlamaConfig hfConfigFromJson(const std::string& json, const std::string& where);

// Which linear layers an adapter wraps, by the short names of RECLM-GEN §4.1.
enum class LoraTarget : unsigned { Q = 1, K = 2, V = 4, O = 8, Gate = 16, Up = 32, Down = 64, LmHead = 128 };
// Parses "q", "q_proj", "k", ..., "lm_head", "all" (every linear), "all-linear" (every linear
// but lm_head, as PEFT). Throws InvalidConfig.
unsigned parseLoraTargets(const std::vector<std::string>& names);
std::vector<std::string> loraTargetModuleNames(unsigned mask);  // HF names: "q_proj", ...
// Module short name ("q_proj", ..., "lm_head") → its LoraTarget bit (0 when unknown).
unsigned loraTargetBit(const std::string& moduleName);

enum class LoraInit { Kaiming, Orthogonal };

// One adapter (PEFT semantics, ANCHORS.md §C): scaling = alpha / r (alpha / sqrt(r) with rslora),
// A initialised kaiming-uniform(a = sqrt 5) or orthogonal with `init_gain`, B zeros, dropout on
// A's input.
struct LoraSpec {
    int r = 8;
    double alpha = 8.0;
    double dropout = 0.0;
    unsigned targets = static_cast<unsigned>(LoraTarget::Q) | static_cast<unsigned>(LoraTarget::V);
    LoraInit init = LoraInit::Kaiming;
    double init_gain = 1.4142135623730951;  // orthogonal only (released RecLM-gen code: sqrt 2)
    bool use_rslora = false;
    uint64_t seed = 0;  // initialisation of A

    double scaling() const;
    void validate() const;  // throws InvalidConfig
};

// Training work per token as the benchmarks count it: 6 x (matmul parameters) for forward and
// backward, plus attention's 12 x layers x dim x seq.
double trainingFlopsPerToken(const LlamaConfig& config, int seqLen);
// The GEMMs of one forward pass over `rows` tokens: q, k, v, o, gate, up, down per layer, and the
// head ({m, k, n} each), for measuring the machine's matmul rate at this model's shapes.
std::vector<GemmShape> forwardGemmShapes(const LlamaConfig& config, int rows);

// The adapter an experiment's LoRA section describes (sft.lora, ppo.actor_lora, ...), its A
// initialised from `seed`.
LoraSpec loraSpec(const LoraConfig& config, uint64_t seed);

// PEFT adapter_config.json ("peft_type": "LORA", "task_type": "CAUSAL_LM").
std::string loraSpecToPeftJson(const LoraSpec& s, const std::string& baseModel = {});
LoraSpec loraSpecFromPeftJson(const std::string& json, const std::string& where);

}  // namespace recalign::core::llm
