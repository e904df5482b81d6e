// The Llama decoder with LoRA layers and a KV cache (see llama_model.h).
#include "core/llm/llama_model.h"

#include "core/api/error.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <torch/nn/functional/linear.h>
#include <torch/nn/init.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/version.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <mutex>

namespace recalign::core::llm {

namespace llama_model_detail {

// RECALIGN_COMPOSITE_OPS=1: the rotary embedding and RMSNorm through torch's operators everywhere,
// the float32 attention's backward through autograd and the LoRA linears adapter by adapter (the
// fused CPU float32 kernels, the backwards by hand and the merged products below are compared
// with them in tests).
bool compositeOps()
{
    const char* e = std::getenv("RECALIGN_COMPOSITE_OPS");
    return e && *e && std::string(e) != "0";
}

// RMSNorm of the rows of x (N, D), float32 on the CPU, contiguous: y = x · r · w with
// r = 1 / sqrt(mean(x²) + eps) per row (kept for the backward), in one pass instead of six
// operators; the backward is dx = r · (g w) − x · r³ · mean(g w x) in one pass, dw (when the
// weight trains) Σ_rows g · x · r.
struct RmsNormFunction : public torch::autograd::Function<RmsNormFunction> {
    static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& w,
                                 double eps)
    {
        const int64_t D = x.size(-1), N = x.numel() / D;
        torch::Tensor y = torch::empty_like(x), r = torch::empty({N}, x.options().requires_grad(false));
        const torch::Tensor wc = w.detach().contiguous();
        const float* xp = x.data_ptr<float>();
        const float* wp = wc.data_ptr<float>();
        float* yp = y.data_ptr<float>();
        float* rp = r.data_ptr<float>();
        at::parallel_for(0, N, 64, [&](int64_t r0, int64_t r1) {
            for (int64_t n = r0; n < r1; ++n) {
                const float* in = xp + n * D;
                double sq = 0.0;
                for (int64_t j = 0; j < D; ++j)
                    sq += static_cast<double>(in[j]) * in[j];
                const float inv = static_cast<float>(1.0 / std::sqrt(sq / static_cast<double>(D) + eps));
                rp[n] = inv;
                float* out = yp + n * D;
                for (int64_t j = 0; j < D; ++j)
                    out[j] = in[j] * inv * wp[j];
            }
        });
        ctx->save_for_backward({x, w, r});
        return y;
    }
    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list grads)
    {
        const auto saved = ctx->get_saved_variables();
        const torch::Tensor& x = saved[0];
        const torch::Tensor w = saved[1].contiguous(), r = saved[2];
        const torch::Tensor g = grads[0].contiguous();
        const int64_t D = x.size(-1), N = x.numel() / D;
        torch::Tensor dx = torch::empty_like(x);
        const float* xp = x.data_ptr<float>();
        const float* wp = w.data_ptr<float>();
        const float* gp = g.data_ptr<float>();
        const float* rp = r.data_ptr<float>();
        float* dp = dx.data_ptr<float>();
        at::parallel_for(0, N, 64, [&](int64_t r0, int64_t r1) {
            for (int64_t n = r0; n < r1; ++n) {
                const float* in = xp + n * D;
                const float* gr = gp + n * D;
                double dot = 0.0;
                for (int64_t j = 0; j < D; ++j)
                    dot += static_cast<double>(gr[j]) * wp[j] * in[j];
                const float inv = rp[n];
                const float c = static_cast<float>(dot / static_cast<double>(D)) * inv * inv * inv;
                float* out = dp + n * D;
                for (int64_t j = 0; j < D; ++j)
                    out[j] = inv * gr[j] * wp[j] - in[j] * c;
            }
        });
        torch::Tensor dw;
        if (ctx->needs_input_grad(1))
            dw = (g.reshape({N, D}) * x.reshape({N, D}) * r.view({N, 1})).sum(0);
        return {dx, dw, torch::Tensor()};
    }
};

constexpr double kMaskedScore = -1e30;  // additive bias of a disallowed key (finite: no NaN rows)

// torch >= 2.1: attention through scaled_dot_product_attention (flash / memory-efficient kernels
// on CUDA, the fused kernel on CPU) unless RECALIGN_SDPA=0; Debian's torch 1.13 keeps the
// explicit products below.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
#define RECALIGN_TORCH_SDPA 1
bool sdpaEnabled()
{
    static const bool on = [] {
        const char* v = std::getenv("RECALIGN_SDPA");
        return !(v && std::string(v) == "0");
    }();
    return on;
}
#endif

bool validAdapterName(const std::string& n)
{
    if (n.empty() || n.size() > 64)
        return false;
    for (char c : n)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_'))
            return false;
    return true;
}

torch::Tensor orthogonalInit(int64_t rows, int64_t cols, double gain, at::Generator& gen)
{
    // torch.nn.init.orthogonal_: QR of a Gaussian matrix, signs fixed by diag(R).
    torch::Tensor flat = torch::empty({rows, cols}, torch::kFloat).normal_(0.0, 1.0, gen);
    const bool transposed = rows < cols;
    if (transposed)
        flat = flat.t();
    auto [q, r] = at::linalg_qr(flat);
    q = q * torch::diagonal(r, 0).sign();
    if (transposed)
        q = q.t();
    return (q * gain).contiguous();
}

const char* shortName(const std::string& prefix)
{
    const auto dot = prefix.rfind('.');
    return prefix.c_str() + (dot == std::string::npos ? 0 : dot + 1);
}

}  // namespace llama_model_detail

using llama_model_detail::kMaskedScore;

namespace llama_model_detail {

// W + scaling · B A, the one merge of an adapter into a weight for a product (LoRA linears'
// forwards and backwards below, effectiveWeight's for the decoders).
torch::Tensor mergedWeight(const torch::Tensor& w, const torch::Tensor& a, const torch::Tensor& b, double scaling)
{
    return torch::addmm(w, b, a, 1.0, scaling);
}

// The frozen adapters of a LoRA linear beneath its last one (PPO's SFT adapter stacked beneath
// the actor's and the critic's): A and B of each, in applied()'s order, and their scalings.
struct FrozenAdapters {
    std::vector<torch::Tensor> ab;
    std::vector<double> scaling;
};

// W with the frozen adapters and then (a, b) merged in, in that order.
torch::Tensor loraWeight(const torch::Tensor& w, const FrozenAdapters& frozen, const torch::Tensor& a,
                         const torch::Tensor& b, double scaling)
{
    torch::Tensor m = w;
    for (size_t k = 0; k < frozen.scaling.size(); ++k)
        m = mergedWeight(m, frozen.ab[2 * k], frozen.ab[2 * k + 1], frozen.scaling[k]);
    return mergedWeight(m, a, b, scaling);
}

// y = x (W + Σ s_k B_k A_k + scaling · B A)ᵀ: the adapters merged into a copy of the frozen base
// weight, then one product (the (out, in) merges cost a fraction of the (rows, r) and (rows, out)
// products of x Aᵀ and of adding (x Aᵀ)(scaling · B)ᵀ, which at r = 8 run far below the GEMM
// rate). A zero B (a fresh adapter) merges exactly. The forward with and without the graph, so
// that both give the same values (a fresh PPO ratio is exactly 1).
torch::Tensor loraForward(const torch::Tensor& x, const torch::Tensor& w, const FrozenAdapters& frozen,
                          const torch::Tensor& a, const torch::Tensor& b, double scaling)
{
    return torch::nn::functional::linear(x, loraWeight(w, frozen, a, b, scaling));
}

// The last adapter trainable, the backward by hand in five products (one node instead of
// autograd's dozen of views, transposes and sums): dx = dy W', du = dy (sB), dA = duᵀ x,
// dB = s dyᵀ (x Aᵀ), with W' the merged weight, merged again here rather than kept from the
// forward (a copy of every linear's weight held until the backward would double the model's
// memory at scale).
struct LoraLinearFunction : public torch::autograd::Function<LoraLinearFunction> {
    static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& w,
                                 const torch::Tensor& a, const torch::Tensor& b, double scaling,
                                 const FrozenAdapters& frozen)
    {
        std::vector<torch::Tensor> saved{x, w, a, b};
        saved.insert(saved.end(), frozen.ab.begin(), frozen.ab.end());
        ctx->save_for_backward(saved);
        ctx->saved_data["scaling"] = scaling;
        ctx->saved_data["frozen_scaling"] = frozen.scaling;
        return loraForward(x, w, frozen, a, b, scaling);
    }
    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list grads)
    {
        const auto saved = ctx->get_saved_variables();
        const torch::Tensor &x = saved[0], &w = saved[1], &a = saved[2], &b = saved[3];
        const double scaling = ctx->saved_data["scaling"].toDouble();
        FrozenAdapters frozen;
        frozen.ab.assign(saved.begin() + 4, saved.end());
        frozen.scaling = ctx->saved_data["frozen_scaling"].toDoubleVector();
        const int64_t in = x.size(-1), out = w.size(0);
        const torch::Tensor dy = grads[0].reshape({-1, out});
        const torch::Tensor x2 = x.reshape({-1, in});
        torch::Tensor dx, da, db;
        if (ctx->needs_input_grad(0))
            dx = torch::mm(dy, loraWeight(w, frozen, a, b, scaling)).view(x.sizes());
        if (ctx->needs_input_grad(2))
            da = torch::mm(torch::mm(dy, b * scaling).t(), x2);
        if (ctx->needs_input_grad(3))
            db = torch::mm(dy.t(), torch::mm(x2, a.t())).mul_(scaling);
        return {dx, torch::Tensor(), da, db, torch::Tensor(), torch::Tensor()};
    }
};

}  // namespace llama_model_detail

// ---------------------------------------------------------------------------------------------
// LoraLinear

LoraLinearImpl::LoraLinearImpl(int64_t inFeatures, int64_t outFeatures, std::shared_ptr<const LinearSettings> sw,
                               const torch::TensorOptions& options, bool randomInit)
    : m_in(inFeatures), m_out(outFeatures), m_shared(std::move(sw))
{
    m_weight = register_parameter("weight", torch::empty({outFeatures, inFeatures}, options));
    if (randomInit) {
        torch::NoGradGuard noGrad;
        torch::nn::init::kaiming_uniform_(m_weight, std::sqrt(5.0));
    }
}

namespace {

// AdapterScope's choice is per thread: two threads may run forwards of one model under different
// adapters at once (PPO's actor and critic passes), so a scope never touches the shared setting.
thread_local std::vector<std::pair<const LinearSettings*, std::string>> t_adapterScopes;

const std::string& activeFor(const LinearSettings& s)
{
    for (auto it = t_adapterScopes.rbegin(); it != t_adapterScopes.rend(); ++it)
        if (it->first == &s)
            return it->second;
    return s.active;
}

// Lazily built caches shared by concurrent forwards (bf16 weight copies, RoPE tables).
std::mutex g_modelCacheMutex;

}  // namespace

torch::Tensor LoraLinearImpl::computeWeight(torch::ScalarType dtype) const
{
    // Under the lock: two threads' forwards may share this layer.
    std::lock_guard<std::mutex> lock(g_modelCacheMutex);
    if ((m_weight.requires_grad() && torch::GradMode::is_enabled()) || m_weight.is_inference())
        return m_weight.to(dtype);  // part of the graph: the gradient flows back to the float32 weight
    if (!m_castWeight.defined() || m_castVersion != static_cast<int64_t>(m_weight._version())
        || m_castData != m_weight.data_ptr() || m_castWeight.device() != m_weight.device()) {
        c10::InferenceMode normalTensor(false);  // usable later by autograd (LoRA training)
        torch::NoGradGuard noGrad;
        m_castWeight = m_weight.to(dtype);
        m_castVersion = static_cast<int64_t>(m_weight._version());
        m_castData = m_weight.data_ptr();
    }
    return m_castWeight;
}

std::vector<std::pair<const LoraAdapter*, bool>> LoraLinearImpl::applied(const std::string& active) const
{
    std::vector<std::pair<const LoraAdapter*, bool>> out;
    if (m_adapters.empty())
        return out;
    for (const auto& name : m_shared->stacked)
        if (auto it = m_adapters.find(name); it != m_adapters.end() && !it->second.merged)
            out.emplace_back(&it->second, false);
    if (!active.empty()
        && std::find(m_shared->stacked.begin(), m_shared->stacked.end(), active) == m_shared->stacked.end())
        if (auto it = m_adapters.find(active); it != m_adapters.end() && !it->second.merged)
            out.emplace_back(&it->second, true);
    return out;
}

torch::Tensor LoraLinearImpl::forward(const torch::Tensor& x)
{
    const torch::ScalarType cd = m_shared->compute;
    // Reduced-precision products on float32 tensors (LinearSettings): cast in, float32 out.
    const bool cast = cd != torch::kFloat && x.scalar_type() == torch::kFloat && m_weight.scalar_type() == torch::kFloat;
    const auto adapters = applied(activeFor(*m_shared));
    if (!cast && !adapters.empty() && !m_weight.requires_grad() && !llama_model_detail::compositeOps()) {
        // A frozen base, frozen stacked adapters (PPO's SFT adapter beneath the actor's and the
        // critic's) and a last adapter, trainable or not, in float32 products without dropout:
        // the frozen ones merged into the weight in applied()'s order (effectiveWeight's merge),
        // the last one through loraForward.
        const auto dt = x.scalar_type();
        const LoraAdapter& last = *adapters.back().first;
        bool fusable = !(adapters.back().second && last.dropout > 0.0 && is_training());
        for (size_t i = 0; i < adapters.size() && fusable; ++i) {
            const LoraAdapter& a = *adapters[i].first;
            fusable = a.A.scalar_type() == dt && a.B.scalar_type() == dt
                && (i + 1 == adapters.size() || !(a.A.requires_grad() || a.B.requires_grad()));
        }
        if (fusable) {
            llama_model_detail::FrozenAdapters frozen;
            for (size_t i = 0; i + 1 < adapters.size(); ++i) {
                frozen.ab.push_back(adapters[i].first->A);
                frozen.ab.push_back(adapters[i].first->B);
                frozen.scaling.push_back(adapters[i].first->scaling);
            }
            // Under the graph the backward by hand (RECALIGN_COMPOSITE_OPS=1: the loop below,
            // adapter by adapter through autograd, for the tests).
            const bool graph = torch::GradMode::is_enabled()
                && (x.requires_grad() || last.A.requires_grad() || last.B.requires_grad());
            return graph
                ? llama_model_detail::LoraLinearFunction::apply(x, m_weight, last.A, last.B, last.scaling, frozen)
                : llama_model_detail::loraForward(x, m_weight, frozen, last.A, last.B, last.scaling);
        }
    }
    const torch::Tensor xc = cast ? x.to(cd) : x;
    torch::Tensor y = cast ? torch::nn::functional::linear(xc, computeWeight(cd))
                           : torch::nn::functional::linear(x, m_weight);
    const auto dt = xc.scalar_type();
    for (const auto& [a, withDropout] : adapters) {
        torch::Tensor h = xc;
        if (withDropout && a->dropout > 0.0 && is_training())
            h = torch::dropout(h, a->dropout, /*train=*/true);
        const torch::Tensor A = a->A.scalar_type() == dt ? a->A : a->A.to(dt);
        const torch::Tensor B = a->B.scalar_type() == dt ? a->B : a->B.to(dt);
        // y + (h A^T) (scaling B)^T in one product that accumulates into y: the scaling goes to the
        // (out, r) matrix, not to the (rows, out) output, and no separate sum is written.
        const torch::Tensor u = torch::nn::functional::linear(h, A);
        y = torch::addmm(y.reshape({-1, m_out}), u.reshape({-1, u.size(-1)}), (B * a->scaling).t()).view(y.sizes());
    }
    return cast ? y.to(torch::kFloat) : y;
}

void LoraLinearImpl::tie(const torch::Tensor& w)
{
    if (w.size(0) != m_out || w.size(1) != m_in)
        throw CoreException(ErrorCode::Internal, "tied weight has the wrong shape");
    if (!m_tied)
        parameters_.erase("weight");
    m_weight = w;
    m_tied = true;
}

void LoraLinearImpl::untie()
{
    if (!m_tied)
        return;
    const bool grad = m_weight.requires_grad();
    torch::Tensor own;
    {
        torch::NoGradGuard noGrad;
        own = m_weight.detach().clone();
    }
    m_weight = register_parameter("weight", own, grad);
    m_tied = false;
}

void LoraLinearImpl::addAdapter(const std::string& name, const LoraSpec& spec, uint64_t seed)
{
    if (m_adapters.count(name))
        throw CoreException(ErrorCode::InvalidConfig, "adapter '" + name + "' already exists", "lora");
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    torch::Tensor A;
    if (spec.init == LoraInit::Orthogonal) {
        A = llama_model_detail::orthogonalInit(spec.r, m_in, spec.init_gain, gen);
    } else {
        // kaiming_uniform_(a = sqrt 5) on (r, in): bound = 1 / sqrt(fan_in), as nn.Linear.
        const double bound = 1.0 / std::sqrt(static_cast<double>(m_in));
        A = torch::empty({spec.r, m_in}, torch::kFloat).uniform_(-bound, bound, gen);
    }
    // Adapters train in float32 on a half-precision base (PEFT's autocast_adapter_dtype).
    auto opts = m_weight.options();
    if (m_weight.scalar_type() == torch::kHalf || m_weight.scalar_type() == torch::kBFloat16)
        opts = opts.dtype(torch::kFloat);
    LoraAdapter a;
    a.A = register_parameter("lora_A_" + name, A.to(opts));
    a.B = register_parameter("lora_B_" + name, torch::zeros({m_out, spec.r}, opts));
    a.scaling = spec.scaling();
    a.dropout = spec.dropout;
    m_adapters.emplace(name, std::move(a));
}

void LoraLinearImpl::removeAdapter(const std::string& name)
{
    auto it = m_adapters.find(name);
    if (it == m_adapters.end())
        return;
    if (it->second.merged)
        unmerge(name);
    parameters_.erase("lora_A_" + name);
    parameters_.erase("lora_B_" + name);
    m_adapters.erase(it);
}

LoraAdapter& LoraLinearImpl::adapter(const std::string& name)
{
    auto it = m_adapters.find(name);
    if (it == m_adapters.end())
        throw CoreException(ErrorCode::InvalidConfig, "no adapter '" + name + "' on this layer", "lora");
    return it->second;
}

torch::Tensor LoraLinearImpl::delta(const std::string& name) const
{
    auto it = m_adapters.find(name);
    if (it == m_adapters.end())
        throw CoreException(ErrorCode::InvalidConfig, "no adapter '" + name + "' on this layer", "lora");
    torch::NoGradGuard noGrad;
    const auto& a = it->second;
    return torch::mm(a.B.to(torch::kFloat), a.A.to(torch::kFloat)) * a.scaling;
}

void LoraLinearImpl::merge(const std::string& name)
{
    LoraAdapter& a = adapter(name);
    if (a.merged)
        return;
    if (m_tied)
        throw CoreException(ErrorCode::Internal, "merging into a tied weight (untie the head first)");
    torch::NoGradGuard noGrad;
    m_weight.copy_((m_weight.to(torch::kFloat) + delta(name)).to(m_weight.scalar_type()));
    a.merged = true;
}

void LoraLinearImpl::unmerge(const std::string& name)
{
    LoraAdapter& a = adapter(name);
    if (!a.merged)
        return;
    torch::NoGradGuard noGrad;
    m_weight.copy_((m_weight.to(torch::kFloat) - delta(name)).to(m_weight.scalar_type()));
    a.merged = false;
}

torch::Tensor LoraLinearImpl::effectiveWeight(const std::string& active) const
{
    torch::NoGradGuard noGrad;
    const auto adapters = applied(active);
    if (adapters.empty())
        return m_weight.detach();
    torch::Tensor w = m_weight.to(torch::kFloat);
    for (const auto& [a, withDropout] : adapters)
        w = llama_model_detail::mergedWeight(w, a->A.to(torch::kFloat), a->B.to(torch::kFloat), a->scaling);
    return w.to(m_weight.scalar_type());
}

// ---------------------------------------------------------------------------------------------
// Layers

RmsNormImpl::RmsNormImpl(int64_t dim, double eps_, const torch::TensorOptions& options) : eps(eps_)
{
    weight = register_parameter("weight", torch::ones({dim}, options));
}

torch::Tensor RmsNormImpl::forward(const torch::Tensor& x)
{
    if (x.is_cpu() && x.scalar_type() == torch::kFloat && weight.scalar_type() == torch::kFloat && x.is_contiguous()
        && x.numel() > 0 && !llama_model_detail::compositeOps())
        return llama_model_detail::RmsNormFunction::apply(x, weight, eps);
    if (x.scalar_type() == torch::kFloat)
        return x * torch::rsqrt(x.pow(2).mean(-1, /*keepdim=*/true) + eps) * weight;
    // Half precision: normalise in float32, then scale in the input dtype (as Hugging Face).
    const torch::Tensor xf = x.to(torch::kFloat);
    return weight * (xf * torch::rsqrt(xf.pow(2).mean(-1, true) + eps)).to(x.scalar_type());
}

LlamaAttentionImpl::LlamaAttentionImpl(const LlamaConfig& c, const std::shared_ptr<const LinearSettings>& sw,
                                       const torch::TensorOptions& o, bool init)
{
    q_proj = register_module("q_proj", LoraLinear(c.dim, c.n_heads * c.headDim(), sw, o, init));
    k_proj = register_module("k_proj", LoraLinear(c.dim, c.kvDim(), sw, o, init));
    v_proj = register_module("v_proj", LoraLinear(c.dim, c.kvDim(), sw, o, init));
    o_proj = register_module("o_proj", LoraLinear(c.n_heads * c.headDim(), c.dim, sw, o, init));
}

LlamaMlpImpl::LlamaMlpImpl(const LlamaConfig& c, const std::shared_ptr<const LinearSettings>& sw,
                           const torch::TensorOptions& o, bool init)
{
    gate_proj = register_module("gate_proj", LoraLinear(c.dim, c.hidden_dim, sw, o, init));
    up_proj = register_module("up_proj", LoraLinear(c.dim, c.hidden_dim, sw, o, init));
    down_proj = register_module("down_proj", LoraLinear(c.hidden_dim, c.dim, sw, o, init));
}

torch::Tensor LlamaMlpImpl::forward(const torch::Tensor& x)
{
    return down_proj(torch::silu(gate_proj(x)) * up_proj(x));
}

LlamaLayerImpl::LlamaLayerImpl(const LlamaConfig& c, const std::shared_ptr<const LinearSettings>& sw,
                               const torch::TensorOptions& o, bool init)
{
    input_layernorm = register_module("input_layernorm", RmsNorm(c.dim, c.norm_eps, o));
    self_attn = register_module("self_attn", LlamaAttention(c, sw, o, init));
    post_attention_layernorm = register_module("post_attention_layernorm", RmsNorm(c.dim, c.norm_eps, o));
    mlp = register_module("mlp", LlamaMlp(c, sw, o, init));
}

// ---------------------------------------------------------------------------------------------
// Model

LlamaModelImpl::LlamaModelImpl(const LlamaConfig& config, torch::Dtype dtype, bool randomInit) : m_config(config)
{
    m_config.validate();
    m_shared = std::make_shared<LinearSettings>();
    const auto o = torch::TensorOptions().dtype(dtype);
    torch::Tensor emb = torch::empty({m_config.vocab_size, m_config.dim}, o);
    if (randomInit) {
        torch::NoGradGuard noGrad;
        emb.normal_(0.0, 1.0);  // nn.Embedding's default
    }
    embed_tokens = register_module(
        "embed_tokens",
        torch::nn::Embedding(torch::nn::EmbeddingOptions(m_config.vocab_size, m_config.dim)._weight(emb)));
    layers = register_module("layers", torch::nn::ModuleList());
    for (int l = 0; l < m_config.n_layers; ++l) {
        LlamaLayer layer(m_config, m_shared, o, randomInit);
        layers->push_back(layer);
        m_layers.push_back(layer);
    }
    norm = register_module("norm", RmsNorm(m_config.dim, m_config.norm_eps, o));
    lm_head = register_module("lm_head", LoraLinear(m_config.dim, m_config.vocab_size, m_shared, o,
                                                    randomInit && !m_config.tie_embeddings));
    if (m_config.tie_embeddings)
        lm_head->tie(embed_tokens->weight);
}

std::pair<torch::Tensor, torch::Tensor> LlamaModelImpl::ropeTables(int64_t n, const torch::Device& device)
{
    std::lock_guard<std::mutex> lock(g_modelCacheMutex);
    if (!m_ropeCos.defined() || m_ropeCos.size(0) < n || m_ropeCos.device() != device) {
        // Normal tensors even when called under inference mode (training reuses them).
        c10::InferenceMode notInference(false);
        torch::NoGradGuard noGrad;
        const int64_t rows = std::max<int64_t>({n, m_config.max_seq_len, m_ropeCos.defined() ? m_ropeCos.size(0) : 0});
        const int64_t half = m_config.headDim() / 2;
        torch::Tensor c = torch::empty({rows, half}, torch::kFloat);
        torch::Tensor s = torch::empty({rows, half}, torch::kFloat);
        float* cp = c.data_ptr<float>();
        float* sp = s.data_ptr<float>();
        // Computed in float exactly as llama2.c's run.c and Hugging Face's inv_freq do.
        const std::vector<float> freqs = ropeFrequencies(m_config);
        for (int64_t i = 0; i < half; ++i) {
            const float freq = freqs[static_cast<size_t>(i)];
            for (int64_t p = 0; p < rows; ++p) {
                const float val = static_cast<float>(p) * freq;
                cp[p * half + i] = std::cos(val);
                sp[p * half + i] = std::sin(val);
            }
        }
        m_ropeCos = c.to(device);
        m_ropeSin = s.to(device);
    }
    return {m_ropeCos, m_ropeSin};
}

namespace llama_model_detail {

// The rotation of x (B, T, Hx, d) by the angles of cos, sin (B, T, 1, d/2) into out, float32 on
// the CPU, contiguous: one pass instead of the composite's eight operators (and their backward).
// With -sin it is the inverse rotation, which is the backward (a rotation's transpose).
void rotateCpu(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin, float sign,
               bool interleaved, torch::Tensor& out)
{
    const int64_t B = x.size(0), T = x.size(1), H = x.size(2), d = x.size(3), half = d / 2;
    const float* xp = x.data_ptr<float>();
    const float* cp = cos.data_ptr<float>();
    const float* sp = sin.data_ptr<float>();
    float* op = out.data_ptr<float>();
    at::parallel_for(0, B * T, 16, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
            const float* c = cp + r * half;
            const float* s = sp + r * half;
            for (int64_t h = 0; h < H; ++h) {
                const float* in = xp + (r * H + h) * d;
                float* o = op + (r * H + h) * d;
                if (interleaved) {
                    for (int64_t i = 0; i < half; ++i) {
                        const float a = in[2 * i], b = in[2 * i + 1], si = sign * s[i];
                        o[2 * i] = a * c[i] - b * si;
                        o[2 * i + 1] = a * si + b * c[i];
                    }
                } else {
                    for (int64_t i = 0; i < half; ++i) {
                        const float a = in[i], b = in[i + half], si = sign * s[i];
                        o[i] = a * c[i] - b * si;
                        o[i + half] = a * si + b * c[i];
                    }
                }
            }
        }
    });
}

struct RotaryFunction : public torch::autograd::Function<RotaryFunction> {
    static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& cos,
                                 const torch::Tensor& sin, bool interleaved)
    {
        ctx->saved_data["cos"] = cos;
        ctx->saved_data["sin"] = sin;
        ctx->saved_data["interleaved"] = interleaved;
        torch::Tensor out = torch::empty_like(x);
        rotateCpu(x, cos, sin, 1.0f, interleaved, out);
        return out;
    }
    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list grads)
    {
        const torch::Tensor g = grads[0].contiguous();
        torch::Tensor gx = torch::empty_like(g);
        rotateCpu(g, ctx->saved_data["cos"].toTensor(), ctx->saved_data["sin"].toTensor(), -1.0f,
                  ctx->saved_data["interleaved"].toBool(), gx);
        return {gx, torch::Tensor(), torch::Tensor(), torch::Tensor()};
    }
};

}  // namespace llama_model_detail

torch::Tensor LlamaModelImpl::applyRope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) const
{
    // x (B, T, Hx, d); cos, sin (B, T, 1, d/2).
    const int64_t d = x.size(-1);
    if (x.is_cpu() && x.scalar_type() == torch::kFloat && cos.scalar_type() == torch::kFloat && x.is_contiguous()
        && !llama_model_detail::compositeOps()) {
        // cos and sin never need a gradient (they are tables of the positions).
        return llama_model_detail::RotaryFunction::apply(x, cos.detach().contiguous(), sin.detach().contiguous(),
                                                         m_config.rope_layout == RopeLayout::Interleaved);
    }
    if (m_config.rope_layout == RopeLayout::Interleaved) {
        const torch::Tensor xs = x.reshape({x.size(0), x.size(1), x.size(2), d / 2, 2});
        const torch::Tensor a = xs.select(-1, 0), b = xs.select(-1, 1);
        return torch::stack({a * cos - b * sin, a * sin + b * cos}, -1).flatten(-2);
    }
    const torch::Tensor xs = x.reshape({x.size(0), x.size(1), x.size(2), 2, d / 2});
    const torch::Tensor a = xs.select(-2, 0), b = xs.select(-2, 1);
    return torch::cat({a * cos - b * sin, a * sin + b * cos}, -1);
}

const std::string& LlamaModelImpl::activeAdapter() const { return activeFor(*m_shared); }

void LlamaModelImpl::checkMergedState() const
{
    const std::string& active = activeAdapter();
    for (const auto& m : m_merged)
        if (m != active)
            throw CoreException(ErrorCode::InvalidConfig,
                                "adapter '" + m + "' is merged into the base weights, so a forward under '"
                                    + (active.empty() ? std::string("disabled adapters") : active)
                                    + "' would be wrong; unmerge it first",
                                "lora");
}

namespace llama_model_detail {

// Gradient checkpointing of one decoder layer (the reentrant scheme): the forward runs without
// grad and keeps only the layer's input; the backward replays the forward under grad with the
// same adapter, compute dtype and generator state (so dropout draws the same masks), and
// back-propagates through it, which accumulates the layer's parameter gradients and returns the
// input's.
struct LayerCheckpoint : public torch::autograd::Function<LayerCheckpoint> {
    static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, torch::Tensor x,
                                                  torch::Tensor cos, torch::Tensor sin, torch::Tensor bias,
                                                  LlamaModelImpl* model, int64_t layer, int64_t queryLast)
    {
        ctx->saved_data["model"] = reinterpret_cast<int64_t>(model);
        ctx->saved_data["layer"] = layer;
        ctx->saved_data["query_last"] = queryLast;
        ctx->saved_data["adapter"] = model->activeAdapter();
        ctx->saved_data["compute"] = static_cast<int64_t>(model->computeDtype());
        ctx->saved_data["cos"] = cos;
        ctx->saved_data["sin"] = sin;
        ctx->saved_data["bias"] = bias;
        auto gen = at::globalContext().defaultGenerator(x.device());
        {
            std::lock_guard<std::mutex> lock(gen.mutex());
            ctx->saved_data["rng"] = gen.get_state();
        }
        ctx->save_for_backward({x});
        return {model->decoderLayer(static_cast<size_t>(layer), x, cos, sin, bias, nullptr, 0, queryLast)};
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list grads)
    {
        auto* model = reinterpret_cast<LlamaModelImpl*>(ctx->saved_data["model"].toInt());
        const torch::Tensor x = ctx->get_saved_variables()[0];
        const torch::Tensor input = x.detach().requires_grad_(true);
        // The forward's context, restored around the replay.
        AdapterScope scope(*model, ctx->saved_data["adapter"].toStringRef());
        const torch::ScalarType compute = model->computeDtype();
        const auto wanted = static_cast<torch::ScalarType>(ctx->saved_data["compute"].toInt());
        if (wanted != compute)
            model->setComputeDtype(wanted);
        auto gen = at::globalContext().defaultGenerator(x.device());
        torch::Tensor now;
        {
            std::lock_guard<std::mutex> lock(gen.mutex());
            now = gen.get_state();
            gen.set_state(ctx->saved_data["rng"].toTensor());
        }
        torch::Tensor out;
        {
            torch::AutoGradMode grad(true);
            out = model->decoderLayer(static_cast<size_t>(ctx->saved_data["layer"].toInt()), input,
                                      ctx->saved_data["cos"].toTensor(), ctx->saved_data["sin"].toTensor(),
                                      ctx->saved_data["bias"].toTensor(), nullptr, 0,
                                      ctx->saved_data["query_last"].toInt());
        }
        {
            std::lock_guard<std::mutex> lock(gen.mutex());
            gen.set_state(now);
        }
        if (wanted != compute)
            model->setComputeDtype(compute);
        torch::autograd::backward({out}, {grads[0]});
        return {input.grad(), torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor(),
                torch::Tensor()};
    }
};

// Query chunks of a causal attention over T positions: one below 128, then one per ~64 rows
// (at most 8). RECALIGN_ATTENTION_CHUNKS=N fixes N (1: the full square).
int64_t attentionChunks(int64_t T)
{
    static const int64_t fixed = [] {
        const char* e = std::getenv("RECALIGN_ATTENTION_CHUNKS");
        return e ? std::max<int64_t>(1, std::atoll(e)) : 0;
    }();
    if (fixed > 0)
        return std::min(fixed, T);
    return T < 128 ? 1 : std::min<int64_t>(8, T / 64);
}

// The query chunks of a causal attention of Tq query rows over S keys, `rows` each: f(c, t0, n,
// keyEnd) for chunk c = rows [t0, t0 + n), whose keys are [0, keyEnd) (every later key is masked
// for all of its rows; the last Tq keys belong to the query rows).
template <typename F>
void forEachAttentionChunk(int64_t Tq, int64_t S, int64_t rows, F&& f)
{
    for (int64_t t0 = 0, c = 0; t0 < Tq; t0 += rows, ++c) {
        const int64_t n = std::min(rows, Tq - t0);
        f(c, t0, n, S - Tq + t0 + n);
    }
}

// Causal attention of float32 products in query chunks (decoderLayer): chunk [t0, t0 + n) of the
// Tq query rows attends to keys [0, S - Tq + t0 + n), every later key being masked for all its rows.
// q (B, Hkv, G·Tq, d) contiguous, heads h = kv·G + g folded into the rows; keys and values
// (B·Hkv, S, d); bias (B or 1, 1, 1, Tq, S) additive. Returns (B, Hkv, G, Tq, d); `probs`, when
// given, receives each chunk's softmax for the backward.
torch::Tensor chunkedAttentionForward(const torch::Tensor& q, const torch::Tensor& keys, const torch::Tensor& values,
                                      const torch::Tensor& bias, double scale, int64_t rows,
                                      std::vector<torch::Tensor>* probs)
{
    const int64_t B = q.size(0), Hkv = q.size(1), d = q.size(3), S = keys.size(1), Tq = bias.size(3);
    const int64_t G = q.size(2) / Tq;
    const torch::Tensor q5 = q.reshape({B, Hkv, G, Tq, d});
    torch::Tensor out = torch::empty({B, Hkv, G, Tq, d}, q.options().requires_grad(false));
    forEachAttentionChunk(Tq, S, rows, [&](int64_t, int64_t t0, int64_t n, int64_t keyEnd) {
        const torch::Tensor qc = q5.narrow(3, t0, n).reshape({B * Hkv, G * n, d});
        // The mask is the product's accumulator and the scale its alpha: the scores are written
        // once and read once by the softmax.
        torch::Tensor scores = torch::empty({B * Hkv, G * n, keyEnd}, qc.options().requires_grad(false));
        scores.view({B, Hkv, G, n, keyEnd}).copy_(bias.narrow(3, t0, n).narrow(4, 0, keyEnd).expand({B, Hkv, G, n, keyEnd}));
        scores.baddbmm_(qc, keys.narrow(1, 0, keyEnd).transpose(1, 2), 1.0, 1.0 / scale);
        torch::Tensor p = torch::softmax(scores, -1);
        out.narrow(3, t0, n).copy_(torch::bmm(p, values.narrow(1, 0, keyEnd)).view({B, Hkv, G, n, d}));
        if (probs)
            probs->push_back(std::move(p));
    });
    return out;
}

// Its backward by hand, chunk by chunk: dP = dO V^T, dS = softmax'(dP), dQ = dS K / scale, and
// dK += dS^T Q / scale, dV += P^T dO in place over the chunk's keys (autograd's slices of K and V would
// each write a zeroed full-size gradient and then add it; here nothing is written twice).
struct ChunkedAttentionFunction : public torch::autograd::Function<ChunkedAttentionFunction> {
    static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& q,
                                 const torch::Tensor& keys, const torch::Tensor& values, const torch::Tensor& bias,
                                 double scale, int64_t rows)
    {
        std::vector<torch::Tensor> probs;
        torch::Tensor out = chunkedAttentionForward(q, keys, values, bias, scale, rows, &probs);
        probs.insert(probs.begin(), {q, keys, values, bias});
        ctx->save_for_backward(probs);
        ctx->saved_data["scale"] = scale;
        ctx->saved_data["rows"] = rows;
        return out;
    }
    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list grads)
    {
        const auto saved = ctx->get_saved_variables();
        const torch::Tensor &q = saved[0], &keys = saved[1], &values = saved[2], &bias = saved[3];
        const double scale = ctx->saved_data["scale"].toDouble();
        const int64_t rows = ctx->saved_data["rows"].toInt();
        const int64_t B = q.size(0), Hkv = q.size(1), d = q.size(3), S = keys.size(1), Tq = bias.size(3);
        const int64_t G = q.size(2) / Tq;
        const torch::Tensor q5 = q.reshape({B, Hkv, G, Tq, d});
        const torch::Tensor& dOut = grads[0];
        torch::Tensor dq = torch::empty({B, Hkv, G, Tq, d}, q.options());
        torch::Tensor dk = torch::zeros({B * Hkv, S, d}, keys.options());
        torch::Tensor dv = torch::zeros({B * Hkv, S, d}, values.options());
        forEachAttentionChunk(Tq, S, rows, [&](int64_t c, int64_t t0, int64_t n, int64_t keyEnd) {
            const torch::Tensor& p = saved[4 + static_cast<size_t>(c)];
            const torch::Tensor qc = q5.narrow(3, t0, n).reshape({B * Hkv, G * n, d});
            const torch::Tensor dOc = dOut.narrow(3, t0, n).reshape({B * Hkv, G * n, d});
            const torch::Tensor kc = keys.narrow(1, 0, keyEnd), vc = values.narrow(1, 0, keyEnd);
            // The scores' gradient; the scale goes to the (n, d) products, not to the (n, keys) one.
            const torch::Tensor dS = torch::_softmax_backward_data(torch::bmm(dOc, vc.transpose(1, 2)), p, -1, torch::kFloat);
            dq.narrow(3, t0, n).copy_(torch::bmm(dS, kc).mul_(1.0 / scale).view({B, Hkv, G, n, d}));
            dk.narrow(1, 0, keyEnd).baddbmm_(dS.transpose(1, 2), qc, 1.0, 1.0 / scale);
            dv.narrow(1, 0, keyEnd).baddbmm_(p.transpose(1, 2), dOc);
        });
        return {dq.view(q.sizes()), dk, dv, torch::Tensor(), torch::Tensor(), torch::Tensor()};
    }
};

}  // namespace llama_model_detail

torch::Tensor LlamaModelImpl::decoderLayer(size_t l, const torch::Tensor& xIn, const torch::Tensor& cos,
                                           const torch::Tensor& sin, const torch::Tensor& bias, KvCache* cache,
                                           int64_t start, int64_t queryLast)
{
    const int64_t B = xIn.size(0), T = xIn.size(1);
    const int64_t H = m_config.n_heads, Hkv = m_config.n_kv_heads, d = m_config.headDim(), G = H / Hkv;
    // The query rows: [q0, T), every row unless only the last queryLast come out.
    const int64_t Tq = queryLast > 0 && queryLast < T ? queryLast : T, q0 = T - Tq;
    const auto dt = xIn.scalar_type();
    const double scale = std::sqrt(static_cast<double>(d));
    // The attention products' dtype: the model's own, or the compute dtype of a float32 model.
    const torch::ScalarType mm = dt == torch::kFloat ? m_shared->compute : dt;
    LlamaLayerImpl& layer = *m_layers[l];
    LlamaAttentionImpl& att = *layer.self_attn;
    torch::Tensor x = q0 > 0 ? xIn.narrow(1, q0, Tq) : xIn;
    const torch::Tensor h = layer.input_layernorm(xIn);
    const torch::Tensor hq = q0 > 0 ? h.narrow(1, q0, Tq) : h;
    torch::Tensor q = applyRope(att.q_proj(hq).view({B, Tq, H, d}), q0 > 0 ? cos.narrow(1, q0, Tq) : cos,
                                q0 > 0 ? sin.narrow(1, q0, Tq) : sin);
    torch::Tensor k = applyRope(att.k_proj(h).view({B, T, Hkv, d}), cos, sin).transpose(1, 2);
    torch::Tensor v = att.v_proj(h).view({B, T, Hkv, d}).transpose(1, 2);
    torch::Tensor keys = k, values = v;
    if (cache) {
        const auto li = static_cast<int64_t>(l);
        cache->k.select(0, li).narrow(2, start, T).copy_(k);
        cache->v.select(0, li).narrow(2, start, T).copy_(v);
        keys = cache->k.select(0, li).narrow(2, 0, start + T);
        values = cache->v.select(0, li).narrow(2, 0, start + T);
    }
    const int64_t S = keys.size(2);
    // The bias rows of the query rows: (B or 1, 1, 1, Tq, S).
    const torch::Tensor qBias = bias.defined() && q0 > 0 ? bias.narrow(3, q0, Tq) : bias;
    // Heads h = kv·G + g share kv head kv: fold G into the query rows.
    q = q.transpose(1, 2).reshape({B, Hkv, G * Tq, d});
#ifdef RECALIGN_TORCH_SDPA
    if (llama_model_detail::sdpaEnabled()) {
        torch::Tensor mask; // (B or 1, 1, G·Tq, S), the same additive bias in the products' dtype
        if (qBias.defined()) {
            mask = qBias.expand({qBias.size(0), 1, G, Tq, S}).reshape({qBias.size(0), 1, G * Tq, S}).to(mm);
            if (mm == torch::kHalf)
                mask = mask.clamp_min(-65504.0); // -1e30 is -inf in float16: fully masked rows would be NaN
        }
        const torch::Tensor attn = at::scaled_dot_product_attention(q.to(mm), keys.to(mm), values.to(mm), mask, 0.0,
                                                                    false, 1.0 / scale)
                                       .to(dt)
                                       .view({B, H, Tq, d})
                                       .transpose(1, 2)
                                       .reshape({B, Tq, H * d});
        x = x + att.o_proj(attn);
        return x + layer.mlp(layer.post_attention_layernorm(x));
    }
#endif
    // Causal attention in query chunks: the rows of chunk [t0, t1) attend to keys [0, start + t1)
    // only, every later key being masked for all of them, so the products and the softmax skip
    // most of the masked upper triangle (at ~450 positions in 6 chunks, 7/12 of the full work). The
    // skipped keys' weights are exp(-1e30 - max) = 0 for every row that has a key, so the result
    // is the same up to the summation order; a padding row without keys averages fewer of them.
    const int64_t chunks = bias.defined() ? llama_model_detail::attentionChunks(Tq) : 1;
    const int64_t rows = (Tq + chunks - 1) / chunks;
    const torch::Tensor kAll = keys.to(mm).reshape({B * Hkv, S, d});
    const torch::Tensor vAll = values.to(mm).reshape({B * Hkv, S, d});
    torch::Tensor heads;
    if (mm == torch::kFloat && qBias.defined()) {
        // float32 (the same products with or without the graph: a fresh PPO ratio stays exactly 1).
        // Under the graph the backward by hand, unless RECALIGN_COMPOSITE_OPS=1 (autograd's own
        // through the same products, for the tests).
        const bool graph = torch::GradMode::is_enabled() && (q.requires_grad() || kAll.requires_grad() || vAll.requires_grad());
        heads = graph && !llama_model_detail::compositeOps()
            ? llama_model_detail::ChunkedAttentionFunction::apply(q, kAll, vAll, qBias, scale, rows)
            : llama_model_detail::chunkedAttentionForward(q, kAll, vAll, qBias, scale, rows, nullptr);
    } else {
        const torch::Tensor q5 = q.view({B, Hkv, G, Tq, d});
        std::vector<torch::Tensor> parts;
        llama_model_detail::forEachAttentionChunk(Tq, S, rows, [&](int64_t, int64_t t0, int64_t n, int64_t keyEnd) {
            const torch::Tensor qc = q5.narrow(3, t0, n).reshape({B * Hkv, G * n, d});
            const torch::Tensor kc = kAll.narrow(1, 0, keyEnd), vc = vAll.narrow(1, 0, keyEnd);
            torch::Tensor scores = torch::bmm(qc.to(mm), kc.transpose(1, 2));
            if (mm != torch::kFloat)
                scores = scores.to(torch::kFloat);
            scores = scores.div_(scale);
            if (qBias.defined())
                scores.view({B, Hkv, G, n, keyEnd}).add_(qBias.narrow(3, t0, n).narrow(4, 0, keyEnd));
            torch::Tensor probs = torch::softmax(scores, -1);
            if (mm != torch::kFloat)
                probs = probs.to(mm);
            parts.push_back(torch::bmm(probs, vc).view({B, Hkv, G, n, d}));
        });
        heads = parts.size() == 1 ? parts.front() : torch::cat(parts, 3);
    }
    torch::Tensor attn = heads.to(dt).view({B, H, Tq, d}).transpose(1, 2).reshape({B, Tq, H * d});
    x = x + att.o_proj(attn);
    return x + layer.mlp(layer.post_attention_layernorm(x));
}

ForwardOutput LlamaModelImpl::run(const torch::Tensor& tokens, const torch::Tensor& positions,
                                  const torch::Tensor& bias, KvCache* cache, const ForwardOptions& options)
{
    const int64_t B = tokens.size(0), T = tokens.size(1);
    if (m_config.sliding_window > 0 && (cache ? cache->length : 0) + T > m_config.sliding_window)
        throw CoreException(ErrorCode::InvalidConfig,
                            "a sequence of " + std::to_string((cache ? cache->length : 0) + T)
                                + " positions is longer than the model's sliding window ("
                                + std::to_string(m_config.sliding_window)
                                + "); sliding-window attention is not implemented",
                            "sliding_window");
    const int64_t d = m_config.headDim();
    torch::Tensor x = embed_tokens(tokens);
    const auto dt = x.scalar_type();
    const int64_t maxPos = cache ? *std::max_element(cache->next_pos.begin(), cache->next_pos.end()) + T : T;
    auto [cosTab, sinTab] = ropeTables(maxPos + 1, x.device());
    const torch::Tensor flatPos = positions.reshape({-1});
    torch::Tensor cos = cosTab.index_select(0, flatPos).view({B, T, 1, d / 2});
    torch::Tensor sin = sinTab.index_select(0, flatPos).view({B, T, 1, d / 2});
    if (dt != torch::kFloat) {
        cos = cos.to(dt);
        sin = sin.to(dt);
    }
    const int64_t start = cache ? cache->length : 0;
    const bool checkpoint = options.checkpoint_layers && !cache && torch::GradMode::is_enabled();
    // Only the last layer's query rows can be cut: every earlier layer's rows are keys and values
    // of the next.
    const int64_t outputs = options.outputs_last > 0 && options.outputs_last < T ? options.outputs_last : 0;
    for (size_t l = 0; l < m_layers.size(); ++l) {
        const int64_t queryLast = l + 1 == m_layers.size() ? outputs : 0;
        if (checkpoint) {
            // A frozen embedding's output needs grad too, or the replay (and with it every
            // adapter's gradient) would never run.
            const torch::Tensor in = x.requires_grad() ? x : x.detach().requires_grad_(true);
            x = llama_model_detail::LayerCheckpoint::apply(in, cos, sin, bias, this, static_cast<int64_t>(l),
                                                           queryLast)[0];
        } else {
            x = decoderLayer(l, x, cos, sin, bias, cache, start, queryLast);
        }
    }
    if (cache)
        cache->length += T;
    ForwardOutput out;
    const torch::Tensor hn = norm(x);
    if (options.return_hidden || options.skip_logits)
        out.hidden = hn;
    if (!options.skip_logits)
        out.logits = lm_head(hn).to(torch::kFloat);
    return out;
}

ForwardOutput LlamaModelImpl::forward(const torch::Tensor& tokensIn, const torch::Tensor& attentionMask,
                                      const ForwardOptions& options)
{
    if (tokensIn.dim() != 2 || tokensIn.size(1) == 0)
        throw CoreException(ErrorCode::InvalidConfig, "forward: tokens must be (batch, length) with length > 0");
    std::optional<AdapterScope> scope;
    if (options.adapter)
        scope.emplace(*this, *options.adapter);
    checkMergedState();
    const torch::Tensor tokens = tokensIn.to(torch::kLong);
    const int64_t B = tokens.size(0), T = tokens.size(1);
    const auto dev = tokens.device();
    torch::Tensor positions;
    torch::Tensor allowed = torch::ones({T, T}, torch::TensorOptions().dtype(torch::kBool).device(dev)).tril();
    if (attentionMask.defined()) {
        if (attentionMask.sizes() != tokens.sizes())
            throw CoreException(ErrorCode::InvalidConfig, "forward: attention mask shape differs from tokens");
        const torch::Tensor m = attentionMask.to(dev).to(torch::kLong);
        positions = (m.cumsum(1) - 1).clamp_min(0);
        allowed = allowed.unsqueeze(0) & m.to(torch::kBool).unsqueeze(1);  // (B, T, S)
    } else {
        positions = torch::arange(T, torch::TensorOptions().dtype(torch::kLong).device(dev)).unsqueeze(0).expand({B, T});
        allowed = allowed.unsqueeze(0);
    }
    const torch::Tensor bias = torch::zeros(allowed.sizes(), torch::TensorOptions().dtype(torch::kFloat).device(dev))
                                   .masked_fill_(allowed.logical_not(), kMaskedScore)
                                   .unsqueeze(1)
                                   .unsqueeze(1);  // (B or 1, 1, 1, T, S)
    return run(tokens, positions.contiguous(), bias, nullptr, options);
}

KvCache LlamaModelImpl::makeCache(int64_t batch, int64_t capacity) const
{
    if (batch <= 0 || capacity <= 0)
        throw CoreException(ErrorCode::InvalidConfig, "KV cache: batch and capacity must be positive");
    KvCache c;
    const auto opts = embed_tokens->weight.options().requires_grad(false);
    // Slots are written before they are read (padding slots too), so no zero fill.
    c.k = torch::empty({m_config.n_layers, batch, m_config.n_kv_heads, capacity, m_config.headDim()}, opts);
    c.v = torch::empty_like(c.k);
    c.row_start.assign(static_cast<size_t>(batch), 0);
    c.next_pos.assign(static_cast<size_t>(batch), 0);
    return c;
}

ForwardOutput LlamaModelImpl::forwardCached(const torch::Tensor& tokensIn, KvCache& cache,
                                            const torch::Tensor& attentionMask, const ForwardOptions& options)
{
    if (tokensIn.dim() != 2 || tokensIn.size(1) == 0)
        throw CoreException(ErrorCode::InvalidConfig, "forwardCached: tokens must be (batch, length) with length > 0");
    const int64_t B = tokensIn.size(0), T = tokensIn.size(1);
    if (B != cache.batch())
        throw CoreException(ErrorCode::InvalidConfig, "forwardCached: batch " + std::to_string(B)
                                                          + " differs from the cache's " + std::to_string(cache.batch()));
    if (cache.length + T > cache.capacity())
        throw CoreException(ErrorCode::InvalidConfig, "forwardCached: the KV cache holds "
                                                          + std::to_string(cache.capacity()) + " slots; "
                                                          + std::to_string(cache.length + T) + " needed");
    std::optional<AdapterScope> scope;
    if (options.adapter)
        scope.emplace(*this, *options.adapter);
    checkMergedState();
    const torch::Tensor tokens = tokensIn.to(torch::kLong);
    const int64_t L0 = cache.length;
    std::vector<int64_t> realCount(static_cast<size_t>(B), T);
    if (attentionMask.defined()) {
        if (attentionMask.sizes() != tokensIn.sizes())
            throw CoreException(ErrorCode::InvalidConfig, "forwardCached: attention mask shape differs from tokens");
        const torch::Tensor m = attentionMask.to(torch::kCPU).to(torch::kLong).contiguous();
        const int64_t* mp = m.data_ptr<int64_t>();
        for (int64_t b = 0; b < B; ++b) {
            int64_t lead = 0;
            while (lead < T && mp[b * T + lead] == 0)
                ++lead;
            for (int64_t t = lead; t < T; ++t)
                if (mp[b * T + t] == 0)
                    throw CoreException(ErrorCode::InvalidConfig,
                                        "forwardCached: row " + std::to_string(b)
                                            + " is not left-padded (padding after a real token)");
            if (lead > 0 && L0 > 0)
                throw CoreException(ErrorCode::InvalidConfig, "forwardCached: padding is allowed only in the first chunk");
            if (lead == T)
                throw CoreException(ErrorCode::InvalidConfig, "forwardCached: row " + std::to_string(b) + " is empty");
            if (L0 == 0)
                cache.row_start[static_cast<size_t>(b)] = lead;
            realCount[static_cast<size_t>(b)] = T - lead;
        }
    }
    std::vector<int64_t> pos(static_cast<size_t>(B * T));
    bool padded = false;
    for (int64_t b = 0; b < B; ++b) {
        const int64_t lead = T - realCount[static_cast<size_t>(b)];
        padded = padded || cache.row_start[static_cast<size_t>(b)] > 0;
        for (int64_t t = 0; t < T; ++t)
            pos[static_cast<size_t>(b * T + t)] = t < lead ? 0 : cache.next_pos[static_cast<size_t>(b)] + (t - lead);
    }
    const auto dev = embed_tokens->weight.device();
    const torch::Tensor positions = torch::tensor(pos, torch::kLong).view({B, T}).to(dev);
    torch::Tensor bias;
    if (padded || T > 1) {
        const auto lopts = torch::TensorOptions().dtype(torch::kLong).device(dev);
        const torch::Tensor s = torch::arange(L0 + T, lopts).view({1, 1, L0 + T});
        const torch::Tensor qslot = torch::arange(L0, L0 + T, lopts).view({1, T, 1});
        const torch::Tensor rs = torch::tensor(cache.row_start, torch::kLong).to(dev).view({B, 1, 1});
        const torch::Tensor allowed = (s >= rs) & (s <= qslot);  // (B, T, S)
        bias = torch::zeros(allowed.sizes(), torch::TensorOptions().dtype(torch::kFloat).device(dev))
                   .masked_fill_(allowed.logical_not(), kMaskedScore)
                   .unsqueeze(1)
                   .unsqueeze(1);
    }
    ForwardOutput out = run(tokens.to(dev), positions, bias, &cache, options);
    for (int64_t b = 0; b < B; ++b)
        cache.next_pos[static_cast<size_t>(b)] += realCount[static_cast<size_t>(b)];
    return out;
}

// ---- adapters ----

std::vector<std::pair<std::string, LoraLinear>> LlamaModelImpl::linears() const
{
    std::vector<std::pair<std::string, LoraLinear>> out;
    for (size_t l = 0; l < m_layers.size(); ++l) {
        const std::string p = "layers." + std::to_string(l) + ".";
        const auto& layer = *m_layers[l];
        out.emplace_back(p + "self_attn.q_proj", layer.self_attn->q_proj);
        out.emplace_back(p + "self_attn.k_proj", layer.self_attn->k_proj);
        out.emplace_back(p + "self_attn.v_proj", layer.self_attn->v_proj);
        out.emplace_back(p + "self_attn.o_proj", layer.self_attn->o_proj);
        out.emplace_back(p + "mlp.gate_proj", layer.mlp->gate_proj);
        out.emplace_back(p + "mlp.up_proj", layer.mlp->up_proj);
        out.emplace_back(p + "mlp.down_proj", layer.mlp->down_proj);
    }
    out.emplace_back("lm_head", lm_head);
    return out;
}

void LlamaModelImpl::addAdapter(const std::string& name, const LoraSpec& spec)
{
    if (!llama_model_detail::validAdapterName(name))
        throw CoreException(ErrorCode::InvalidConfig,
                            "adapter name '" + name + "': expected 1-64 letters, digits or _", "lora");
    if (hasAdapter(name))
        throw CoreException(ErrorCode::InvalidConfig, "adapter '" + name + "' already exists", "lora");
    spec.validate();
    uint64_t index = 0;
    for (auto& [prefix, lin] : linears()) {
        ++index;
        if (spec.targets & loraTargetBit(llama_model_detail::shortName(prefix)))
            lin->addAdapter(name, spec, spec.seed * 1000003ull + index);
    }
    m_adapterSpecs[name] = spec;
}

void LlamaModelImpl::removeAdapter(const std::string& name)
{
    if (!hasAdapter(name))
        throw CoreException(ErrorCode::InvalidConfig, "no adapter '" + name + "'", "lora");
    for (auto& [prefix, lin] : linears())
        lin->removeAdapter(name);
    m_adapterSpecs.erase(name);
    m_merged.erase(name);
    unstackAdapter(name);
    if (m_shared->active == name)
        m_shared->active.clear();
}

std::vector<std::string> LlamaModelImpl::adapterNames() const
{
    std::vector<std::string> out;
    for (const auto& [n, s] : m_adapterSpecs)
        out.push_back(n);
    return out;
}

const LoraSpec& LlamaModelImpl::adapterSpec(const std::string& name) const
{
    auto it = m_adapterSpecs.find(name);
    if (it == m_adapterSpecs.end())
        throw CoreException(ErrorCode::InvalidConfig, "no adapter '" + name + "'", "lora");
    return it->second;
}

void LlamaModelImpl::setComputeDtype(torch::ScalarType dtype)
{
    if (dtype != torch::kFloat && dtype != torch::kBFloat16 && dtype != torch::kHalf)
        throw CoreException(ErrorCode::InvalidConfig, "compute dtype: expected float32, bfloat16 or float16",
                            "model.compute_dtype");
    m_shared->compute = dtype;
}

torch::Dtype storageScalarType(ModelConfig::DType dtype)
{
    switch (dtype) {
    case ModelConfig::DType::BFloat16: return torch::kBFloat16;
    case ModelConfig::DType::Float16: return torch::kHalf;
    case ModelConfig::DType::Float32: break;
    }
    return torch::kFloat;
}

void LlamaModelImpl::setComputeDtype(ModelConfig::ComputeDType dtype)
{
    const bool cuda = embed_tokens->weight.device().is_cuda();
    setComputeDtype(resolveComputeDtype(dtype, cuda) == ModelConfig::ComputeDType::BFloat16 ? torch::kBFloat16
                                                                                             : torch::kFloat);
}

void LlamaModelImpl::setActiveAdapter(const std::string& name)
{
    if (!name.empty() && !hasAdapter(name))
        throw CoreException(ErrorCode::InvalidConfig, "no adapter '" + name + "' to activate", "lora");
    m_shared->active = name;
}

std::vector<std::pair<std::string, torch::Tensor>> LlamaModelImpl::namedAdapterParameters(const std::string& name) const
{
    adapterSpec(name);
    std::vector<std::pair<std::string, torch::Tensor>> out;
    for (const auto& [prefix, lin] : linears()) {
        if (!lin->hasAdapter(name))
            continue;
        const LoraAdapter& a = lin->adapters().at(name);
        out.emplace_back(prefix + ".lora_A.weight", a.A);
        out.emplace_back(prefix + ".lora_B.weight", a.B);
    }
    return out;
}

std::vector<torch::Tensor> LlamaModelImpl::adapterParameters(const std::string& name) const
{
    std::vector<torch::Tensor> out;
    for (auto& [n, t] : namedAdapterParameters(name))
        out.push_back(t);
    return out;
}

void LlamaModelImpl::untieHead()
{
    if (!lm_head->tied())
        return;
    lm_head->untie();
    m_config.tie_embeddings = false;
}

void LlamaModelImpl::mergeAdapter(const std::string& name)
{
    adapterSpec(name);
    if (m_merged.count(name))
        return;
    if (!m_merged.empty())
        throw CoreException(ErrorCode::InvalidConfig,
                            "adapter '" + *m_merged.begin() + "' is already merged; unmerge it before merging '" + name + "'",
                            "lora");
    if (lm_head->hasAdapter(name))
        untieHead();
    for (auto& [prefix, lin] : linears())
        if (lin->hasAdapter(name))
            lin->merge(name);
    m_merged.insert(name);
}

void LlamaModelImpl::unmergeAdapter(const std::string& name)
{
    adapterSpec(name);
    for (auto& [prefix, lin] : linears())
        if (lin->hasAdapter(name))
            lin->unmerge(name);
    m_merged.erase(name);
}

void LlamaModelImpl::mergeAndUnload(const std::string& name)
{
    mergeAdapter(name);
    for (auto& [prefix, lin] : linears())
        if (lin->hasAdapter(name)) {
            lin->adapter(name).merged = false;  // the delta stays in W
            lin->removeAdapter(name);
        }
    m_adapterSpecs.erase(name);
    m_merged.erase(name);
    if (m_shared->active == name)
        m_shared->active.clear();
}

void LlamaModelImpl::stackAdapter(const std::string& name)
{
    adapterSpec(name);
    if (m_merged.count(name))
        throw CoreException(ErrorCode::InvalidConfig, "adapter '" + name + "' is merged; unmerge it before stacking it",
                            "lora");
    auto& stacked = m_shared->stacked;
    if (std::find(stacked.begin(), stacked.end(), name) != stacked.end())
        return;
    for (auto& p : adapterParameters(name))
        p.set_requires_grad(false);
    stacked.push_back(name);
    if (m_shared->active == name)
        m_shared->active.clear();
}

void LlamaModelImpl::unstackAdapter(const std::string& name)
{
    auto& stacked = m_shared->stacked;
    stacked.erase(std::remove(stacked.begin(), stacked.end(), name), stacked.end());
}

void LlamaModelImpl::setBaseTrainable(bool trainable)
{
    for (auto& p : named_parameters(/*recurse=*/true))
        if (p.key().find("lora_") == std::string::npos)
            p.value().set_requires_grad(trainable);
}

AdapterScope::AdapterScope(LlamaModelImpl& model, const std::string& adapter)
{
    if (!adapter.empty() && !model.hasAdapter(adapter))
        throw CoreException(ErrorCode::InvalidConfig, "no adapter '" + adapter + "' to activate", "lora");
    t_adapterScopes.emplace_back(model.m_shared.get(), adapter);
}

AdapterScope::~AdapterScope() { t_adapterScopes.pop_back(); }

// ---------------------------------------------------------------------------------------------
// Free functions

void initLlamaWeights(LlamaModelImpl& model, uint64_t seed)
{
    torch::NoGradGuard noGrad;
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    const double residualStd = 0.02 / std::sqrt(2.0 * model.config().n_layers);
    for (auto& p : model.named_parameters(true)) {
        const std::string& n = p.key();
        torch::Tensor& t = p.value();
        if (n.find("lora_") != std::string::npos)
            continue;
        torch::Tensor init;
        if (n.find("norm") != std::string::npos) {
            init = torch::ones(t.sizes(), torch::kFloat);
        } else {
            const bool residual = n.find("o_proj") != std::string::npos || n.find("down_proj") != std::string::npos;
            init = torch::empty(t.sizes(), torch::kFloat).normal_(0.0, residual ? residualStd : 0.02, gen);
        }
        t.copy_(init.to(t.options()));
    }
}

torch::Tensor permuteRotaryRows(const torch::Tensor& w, int64_t heads, bool inverse)
{
    const int64_t rows = w.size(0), rest = w.numel() / rows;
    const int64_t d = rows / heads;
    if (d * heads != rows || d % 2 != 0)
        throw CoreException(ErrorCode::CheckpointIO, "rotary permutation: " + std::to_string(rows)
                                                         + " rows do not split into " + std::to_string(heads)
                                                         + " heads of even size");
    const torch::Tensor v = inverse ? w.reshape({heads, 2, d / 2, rest}) : w.reshape({heads, d / 2, 2, rest});
    return v.transpose(1, 2).reshape(w.sizes()).contiguous();
}

torch::Tensor processedTokenLogprobs(const torch::Tensor& logits, const torch::Tensor& targets, double temperature,
                                     const torch::Tensor& allowedMask, const torch::Tensor& seenMask,
                                     double repetitionPenalty)
{
    torch::Tensor z = logits.to(torch::kFloat);
    if (allowedMask.defined())
        z = z.masked_fill(allowedMask.to(z.device()).logical_not(), -std::numeric_limits<float>::infinity());
    if (seenMask.defined() && repetitionPenalty != 1.0) {
        const torch::Tensor penalised = torch::where(z > 0, z / repetitionPenalty, z * repetitionPenalty);
        z = torch::where(seenMask.to(z.device()), penalised, z);
    }
    if (temperature > 0.0)
        z = z / temperature;
    return torch::log_softmax(z, -1).gather(-1, targets.to(z.device()).to(torch::kLong).unsqueeze(-1)).squeeze(-1);
}

}  // namespace recalign::core::llm
