// The Llama decoder (torch::nn): token embedding, decoder layers (RMSNorm, rotary attention with
// grouped-query heads, SwiGLU), final RMSNorm, tied or untied LM head; every linear layer is a
// LoraLinear that carries any number of named LoRA adapters (PEFT semantics). A KvCache gives
// incremental decoding of left-padded batches. Parameter names follow Hugging Face without the
// "model." prefix ("layers.0.self_attn.q_proj.weight", "lm_head.weight").
//
// Shape legend: B batch, T new positions, S cache slots, D dim, H heads, Hkv kv heads,
// d head size, V vocabulary.
#pragma once

#include "core/llm/llama_config.h"

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace recalign::core::llm {

// What the linear layers of one model share: the adapter they apply ("" = adapters disabled: the
// base model) and the dtype their matrix products run in. A compute dtype other than float32
// (bfloat16) applies to float32 weights and activations: inputs and weights are cast for the
// product (float32 accumulation inside the kernel) and the result comes back as float32, so
// norms, softmax, residuals, log-probs and losses stay float32 and the weights (the optimizer's
// master copy) are never rounded. Models stored in bfloat16 / float16 compute in their own dtype.
struct LinearSettings {
    std::string active;
    torch::ScalarType compute = torch::kFloat;
    // Frozen adapters applied under every forward, beneath the active one and also when adapters
    // are "disabled" (LlamaModelImpl::stackAdapter): the PPO reference is base + SFT adapter
    // without merging the adapter into the base.
    std::vector<std::string> stacked;
};

struct LoraAdapter {
    torch::Tensor A;  // (r, in), parameter
    torch::Tensor B;  // (out, r), parameter, zeros at creation
    double scaling = 1.0;
    double dropout = 0.0;
    bool merged = false;  // ΔW is folded into the base weight
};

// y = x Wᵀ + Σ scaling · B(A(x)) over the stacked adapters + scaling · B(A(dropout(x))) for the
// active adapter (none when disabled or merged; a stacked adapter is applied once, without dropout).
class LoraLinearImpl : public torch::nn::Module {
public:
    // `randomInit` false leaves the weight uninitialised (a loader fills it).
    LoraLinearImpl(int64_t inFeatures, int64_t outFeatures, std::shared_ptr<const LinearSettings> sw,
                   const torch::TensorOptions& options = {}, bool randomInit = true);
    torch::Tensor forward(const torch::Tensor& x);

    int64_t inFeatures() const { return m_in; }
    int64_t outFeatures() const { return m_out; }
    const torch::Tensor& weight() const { return m_weight; }  // (out, in)
    // Shares `w` (e.g. the token embedding) as the weight; the shared tensor is not registered here.
    void tie(const torch::Tensor& w);
    void untie();  // gives the layer its own copy, registered as "weight"
    bool tied() const { return m_tied; }

    void addAdapter(const std::string& name, const LoraSpec& spec, uint64_t seed);
    void removeAdapter(const std::string& name);
    bool hasAdapter(const std::string& name) const { return m_adapters.count(name) > 0; }
    LoraAdapter& adapter(const std::string& name);
    const std::map<std::string, LoraAdapter>& adapters() const { return m_adapters; }
    torch::Tensor delta(const std::string& name) const;  // scaling · B A, (out, in), no grad
    void merge(const std::string& name);    // W += ΔW (in fp32, as PEFT)
    void unmerge(const std::string& name);  // W -= ΔW
    // The weight this layer applies under adapter `active` ("" = base): W plus the ΔW of every
    // stacked adapter and of `active` when present and not merged. No grad.
    torch::Tensor effectiveWeight(const std::string& active) const;

private:
    int64_t m_in, m_out;
    torch::Tensor m_weight;
    bool m_tied = false;
    std::map<std::string, LoraAdapter> m_adapters;
    std::shared_ptr<const LinearSettings> m_shared;
    // The weight cast to the compute dtype, reused while the weight is frozen and unchanged
    // (its version counter and storage): generation and LoRA training cast the base once.
    mutable torch::Tensor m_castWeight;
    mutable int64_t m_castVersion = -1;
    mutable const void* m_castData = nullptr;
    torch::Tensor computeWeight(torch::ScalarType dtype) const;
    // The adapters a forward under `active` applies, in order, with whether dropout applies.
    std::vector<std::pair<const LoraAdapter*, bool>> applied(const std::string& active) const;
};
TORCH_MODULE(LoraLinear);

class RmsNormImpl : public torch::nn::Module {
public:
    RmsNormImpl(int64_t dim, double eps, const torch::TensorOptions& options = {});
    torch::Tensor forward(const torch::Tensor& x);
    torch::Tensor weight;  // (D)
    double eps;
};
TORCH_MODULE(RmsNorm);

class LlamaAttentionImpl : public torch::nn::Module {
public:
    LlamaAttentionImpl(const LlamaConfig& c, const std::shared_ptr<const LinearSettings>& sw,
                       const torch::TensorOptions& options, bool randomInit);
    LoraLinear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
};
TORCH_MODULE(LlamaAttention);

class LlamaMlpImpl : public torch::nn::Module {
public:
    LlamaMlpImpl(const LlamaConfig& c, const std::shared_ptr<const LinearSettings>& sw,
                 const torch::TensorOptions& options, bool randomInit);
    torch::Tensor forward(const torch::Tensor& x);  // down(silu(gate x) · up x)
    LoraLinear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};
TORCH_MODULE(LlamaMlp);

class LlamaLayerImpl : public torch::nn::Module {
public:
    LlamaLayerImpl(const LlamaConfig& c, const std::shared_ptr<const LinearSettings>& sw,
                   const torch::TensorOptions& options, bool randomInit);
    RmsNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
    LlamaAttention self_attn{nullptr};
    LlamaMlp mlp{nullptr};
};
TORCH_MODULE(LlamaLayer);

// Preallocated keys and values for incremental decoding. Rows are left-padded: row b's real
// tokens occupy slots [row_start[b], length). Created by LlamaModelImpl::makeCache without a
// zero fill: forwardCached writes every slot it later reads.
struct KvCache {
    torch::Tensor k, v;              // (n_layers, B, Hkv, capacity, d)
    int64_t length = 0;              // slots filled (the same for every row)
    std::vector<int64_t> row_start;  // first real slot of each row
    std::vector<int64_t> next_pos;   // rotary position of each row's next token
    int64_t batch() const { return static_cast<int64_t>(row_start.size()); }
    int64_t capacity() const { return k.defined() ? k.size(3) : 0; }
};

struct ForwardOptions {
    bool return_hidden = false;  // also return the hidden states after the final norm (B, T, D)
    bool skip_logits = false;    // hidden states only (a value head needs no logits)
    // > 0: logits and hidden states for the last n positions only. The last decoder layer then
    // computes its queries, attention, output projection and MLP for those rows alone (its keys
    // and values for every row), as llama.cpp computes only the output tokens in its last layer.
    int64_t outputs_last = 0;
    std::optional<std::string> adapter;  // per-call adapter ("" = disabled); unset = the active one
    // Gradient checkpointing: keep only each decoder layer's input and recompute the layer in the
    // backward pass (same adapter, compute dtype and dropout masks). Applies where grad mode is on
    // (not to cached forwards).
    bool checkpoint_layers = false;
};

struct ForwardOutput {
    torch::Tensor logits;  // (B, T or outputs_last, V), float32
    torch::Tensor hidden;  // (B, T or outputs_last, D) when requested
};

// model.dtype as a torch dtype (float32 | bfloat16 | float16).
torch::Dtype storageScalarType(ModelConfig::DType dtype);

class AdapterScope;

class LlamaModelImpl : public torch::nn::Module {
public:
    // Parameters are created with `dtype` on the CPU. `randomInit` false skips the (slow, for
    // large models) default initialisation when a loader fills every weight anyway.
    explicit LlamaModelImpl(const LlamaConfig& config, torch::Dtype dtype = torch::kFloat, bool randomInit = true);

    const LlamaConfig& config() const { return m_config; }

    // Full-sequence forward (training, log-prob recomputation). `tokens` (B, T) int64;
    // `attentionMask` (B, T), 1 = real token, 0 = padding (left or right), undefined = all real.
    // Positions count real tokens only, so a left-padded row gets the same positions as unpadded.
    ForwardOutput forward(const torch::Tensor& tokens, const torch::Tensor& attentionMask = {},
                          const ForwardOptions& options = {});

    // Incremental forward: appends `tokens` (B, T) to `cache`. Padding (mask 0) is allowed only on
    // the left of the first chunk. Throws InvalidConfig when the cache is too small.
    ForwardOutput forwardCached(const torch::Tensor& tokens, KvCache& cache,
                                const torch::Tensor& attentionMask = {}, const ForwardOptions& options = {});
    KvCache makeCache(int64_t batch, int64_t capacity) const;

    // ---- adapters ----
    // Adds a LoRA adapter on the layers `spec.targets` names. Names are [A-Za-z0-9_]+.
    void addAdapter(const std::string& name, const LoraSpec& spec);
    void removeAdapter(const std::string& name);
    bool hasAdapter(const std::string& name) const { return m_adapterSpecs.count(name) > 0; }
    std::vector<std::string> adapterNames() const;
    const LoraSpec& adapterSpec(const std::string& name) const;
    // The adapter every forward applies ("" = disabled = the base / reference policy).
    void setActiveAdapter(const std::string& name);
    // The adapter forwards on this thread use: the innermost AdapterScope's, else the active one.
    const std::string& activeAdapter() const;
    // The dtype of every matrix product (LinearSettings): float32 (the default) or bfloat16 for a
    // float32 model; a half-precision model always computes in its own dtype.
    void setComputeDtype(torch::ScalarType dtype);
    // The same from the experiment's key, resolved for the device the model is on.
    void setComputeDtype(ModelConfig::ComputeDType dtype);
    torch::ScalarType computeDtype() const { return m_shared->compute; }
    // Whether the matrix products run in float32 (a float32 model computing in float32).
    bool float32Products() const
    {
        return m_shared->compute == torch::kFloat && embed_tokens->weight.scalar_type() == torch::kFloat;
    }
    // The trainable tensors of one adapter (every A and B), and the same with PEFT-style names
    // without prefix ("layers.0.self_attn.q_proj.lora_A.weight").
    std::vector<torch::Tensor> adapterParameters(const std::string& name) const;
    std::vector<std::pair<std::string, torch::Tensor>> namedAdapterParameters(const std::string& name) const;
    void mergeAdapter(const std::string& name);    // W += ΔW; forward under this adapter skips the branch
    void unmergeAdapter(const std::string& name);  // W -= ΔW
    void mergeAndUnload(const std::string& name);  // merge, then drop the adapter (it becomes the base)
    // Freezes adapter `name` and applies it under every forward, beneath the active adapter and
    // also with adapters disabled: the model's base becomes base + this adapter without touching
    // the base weights (which may be bf16: merging would round the update away). Stacking an
    // active adapter deactivates it. unstackAdapter undoes it (the adapter stays frozen).
    void stackAdapter(const std::string& name);
    void unstackAdapter(const std::string& name);
    const std::vector<std::string>& stackedAdapters() const { return m_shared->stacked; }
    // Throws InvalidConfig when an adapter other than the active one is merged (the weights would
    // not be the requested model). Every forward checks it.
    void checkMergedState() const;
    // requires_grad of every non-adapter parameter (trainers freeze the base for LoRA).
    void setBaseTrainable(bool trainable);

    // Every linear layer by its parameter prefix ("layers.0.self_attn.q_proj", "lm_head").
    std::vector<std::pair<std::string, LoraLinear>> linears() const;
    torch::Tensor embeddingWeight() const { return embed_tokens->weight; }
    // Unties the LM head from the embedding (used before merging an lm_head adapter).
    void untieHead();

    // One decoder layer: x (B, T, D) → x (B, T, D), with the rotary cos/sin (B, T, 1, d/2) and the
    // attention bias of the forward; with a cache, k/v are appended at `cacheStart`. `queryLast`
    // > 0: only the last queryLast rows come out (B, queryLast, D), keys and values still cover
    // every row. The body of every forward, and what gradient checkpointing recomputes.
    torch::Tensor decoderLayer(size_t layer, const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                               const torch::Tensor& bias, KvCache* cache = nullptr, int64_t cacheStart = 0,
                               int64_t queryLast = 0);

    // Rotary tables for positions [0, n) on `device`: cos and sin (n, d/2), float32.
    std::pair<torch::Tensor, torch::Tensor> ropeTables(int64_t n, const torch::Device& device);

    torch::nn::Embedding embed_tokens{nullptr};
    torch::nn::ModuleList layers{nullptr};
    RmsNorm norm{nullptr};
    LoraLinear lm_head{nullptr};

private:
    friend class AdapterScope;
    LlamaConfig m_config;
    std::shared_ptr<LinearSettings> m_shared;
    std::map<std::string, LoraSpec> m_adapterSpecs;
    std::set<std::string> m_merged;
    std::vector<LlamaLayer> m_layers;
    torch::Tensor m_ropeCos, m_ropeSin;

    ForwardOutput run(const torch::Tensor& tokens, const torch::Tensor& positions, const torch::Tensor& bias,
                      KvCache* cache, const ForwardOptions& options);
    torch::Tensor applyRope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) const;
};
TORCH_MODULE(LlamaModel);

// Selects an adapter ("" = disabled) for the forwards this thread runs while the scope lives;
// other threads keep their own choice (scopes nest; the shared active adapter is untouched).
class AdapterScope {
public:
    AdapterScope(LlamaModelImpl& model, const std::string& adapter);
    ~AdapterScope();
    AdapterScope(const AdapterScope&) = delete;
    AdapterScope& operator=(const AdapterScope&) = delete;
};

// Initialises a fresh model like Llama / llama2.c training: normal(0, 0.02) for linear and
// embedding weights, residual projections (o_proj, down_proj) scaled by 1/sqrt(2·n_layers),
// norms at 1. Deterministic for a seed.
void initLlamaWeights(LlamaModelImpl& model, uint64_t seed);

// Hugging Face's q/k permutation (convert_llama_weights_to_hf.py): maps a weight (rows =
// heads · d) from the interleaved rotary layout to rotate-half; `inverse` undoes it. Works on
// any tensor whose first dimension is heads · d (q/k weights and LoRA B matrices).
torch::Tensor permuteRotaryRows(const torch::Tensor& w, int64_t heads, bool inverse);

// Per-token log-probs of `targets` (B, T) under `logits` (B, T, V) after the same processing
// generation applies: disallowed tokens (allowedMask false) removed, repetition penalty on the
// tokens in `seenMask`, division by temperature (<= 0 means 1, i.e. greedy), log-softmax.
// Differentiable in `logits`. Masks are (B, T, V) bool or undefined.
torch::Tensor processedTokenLogprobs(const torch::Tensor& logits, const torch::Tensor& targets, double temperature,
                                     const torch::Tensor& allowedMask = {}, const torch::Tensor& seenMask = {},
                                     double repetitionPenalty = 1.0);

}  // namespace recalign::core::llm
