// SasRecModel: embeddings, causal self-attention blocks (qonly / pre / post layer norm), the
// seeded dropout, weight initialisation and last-position scoring.
#include "core/sasrec/sasrec_model.h"

#include "core/api/error.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/functional/activation.h>

#include <cmath>
#include <cstring>
#include <limits>

namespace recalign::core {

namespace sasrec_model_detail {

constexpr float kMaskedLogit = -1e9f;  // finite: fully masked (padding) rows stay NaN-free

torch::nn::LayerNorm makeNorm(const SasRecConfig& c)
{
    return torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hidden}).eps(c.layer_norm_eps));
}

// Additive attention mask [B or 1, W, W]: causal, and padding keys masked.
torch::Tensor attentionMask(const torch::Tensor& seqs)
{
    const int64_t w = seqs.size(1);
    const auto opts = torch::TensorOptions().dtype(torch::kFloat32).device(seqs.device());
    torch::Tensor causal = torch::full({w, w}, kMaskedLogit, opts).triu_(1).unsqueeze(0);  // [1,W,W]
    const torch::Tensor pad = seqs.eq(0);
    if (!pad.any().item<bool>())
        return causal;
    const torch::Tensor keyPad = pad.to(torch::kFloat32).mul_(kMaskedLogit).unsqueeze(1);  // [B,1,W]
    return causal + keyPad;
}

}  // namespace sasrec_model_detail

using namespace sasrec_model_detail;

torch::Tensor sasrecDropout(const torch::Tensor& x, double p, SasRecRng* rng)
{
    if (rng == nullptr || p <= 0.0)
        return x;
    // 16-bit uniforms: keep when u >= threshold; the scale makes the expectation exact.
    const auto threshold = std::min<uint32_t>(static_cast<uint32_t>(std::lround(p * 65536.0)), 65535u);
    const auto t16 = static_cast<uint16_t>(threshold);
    const float scale = 65536.0f / static_cast<float>(65536u - threshold);
    torch::Tensor mask = torch::empty(x.sizes(), torch::TensorOptions().dtype(torch::kFloat32));
    float* m = mask.data_ptr<float>();
    const int64_t n = mask.numel();
    // Element i uses bits 16*(i%4).. of the (i/4)-th draw; blocks keep the select loop vectorisable.
    constexpr int64_t kBlock = 1024;
    uint64_t draws[kBlock / 4];
    uint16_t u[kBlock];
    for (int64_t start = 0; start < n; start += kBlock) {
        const int64_t len = std::min(kBlock, n - start);
        const int64_t words = (len + 3) / 4;
        for (int64_t w = 0; w < words; ++w)
            draws[w] = rng->next();
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        std::memcpy(u, draws, static_cast<size_t>(words) * sizeof(uint64_t));
#else
        for (int64_t j = 0; j < words * 4; ++j)
            u[j] = static_cast<uint16_t>(draws[j >> 2] >> (16 * (j & 3)));
#endif
        float* out = m + start;
        for (int64_t j = 0; j < len; ++j)
            out[j] = u[j] >= t16 ? scale : 0.0f;
    }
    if (x.device() != mask.device())
        mask = mask.to(x.device());
    return x * mask;
}

SasRecBlockImpl::SasRecBlockImpl(const SasRecConfig& config)
    : m_config(config)
{
    const int64_t d = config.hidden;
    attn_norm = register_module("attn_norm", makeNorm(config));
    q_proj = register_module("q_proj", torch::nn::Linear(d, d));
    kv_proj = register_module("kv_proj", torch::nn::Linear(d, 2 * d));
    out_proj = register_module("out_proj", torch::nn::Linear(d, d));
    ffn_norm = register_module("ffn_norm", makeNorm(config));
    ffn1 = register_module("ffn1", torch::nn::Linear(d, config.ffnHidden()));
    ffn2 = register_module("ffn2", torch::nn::Linear(config.ffnHidden(), d));
}

torch::Tensor SasRecBlockImpl::attention(const torch::Tensor& queryIn, const torch::Tensor& keyIn,
                                         const torch::Tensor& attnMask, SasRecRng* rng)
{
    const int64_t b = queryIn.size(0), wq = queryIn.size(1), w = keyIn.size(1), d = m_config.hidden;
    const int64_t h = m_config.heads, dh = d / h;
    const double alpha = 1.0 / std::sqrt(static_cast<double>(dh));
    torch::Tensor q = q_proj(queryIn);                // [B,W,d]
    const torch::Tensor kv = kv_proj(keyIn);          // [B,W,2d]
    torch::Tensor k = kv.narrow(2, 0, d);
    torch::Tensor v = kv.narrow(2, d, d);
    torch::Tensor mask = attnMask;
    if (h > 1) {
        auto split = [&](const torch::Tensor& t, int64_t rows) {
            return t.reshape({b, rows, h, dh}).transpose(1, 2).reshape({b * h, rows, dh});
        };
        q = split(q, wq);
        k = split(k, w);
        v = split(v, w);
        mask = attnMask.unsqueeze(1).expand({b, h, wq, w}).reshape({b * h, wq, w});
    }
    // scores = mask + alpha * q k^T, one fused call: [B*H, W, W]
    torch::Tensor scores = torch::baddbmm(mask, q, k.transpose(1, 2), /*beta=*/1.0, /*alpha=*/alpha);
    torch::Tensor probs = torch::softmax(scores, -1);
    probs = sasrecDropout(probs, m_config.attnDropout(), rng);
    torch::Tensor out = torch::bmm(probs, v);  // [B*H, Wq, dh]
    if (h > 1)
        out = out.reshape({b, h, wq, dh}).transpose(1, 2).reshape({b, wq, d});
    return out_proj(out);
}

torch::Tensor SasRecBlockImpl::ffn(const torch::Tensor& x, SasRecRng* rng)
{
    torch::Tensor y = ffn1(x);
    y = m_config.activation == SasRecActivation::Gelu ? torch::gelu(y) : torch::relu(y);
    if (m_config.norm != SasRecNorm::Post)  // pmixer: dropout after both convolutions; RecBole: after the second only
        y = sasrecDropout(y, m_config.dropout, rng);
    return sasrecDropout(ffn2(y), m_config.dropout, rng);
}

torch::Tensor SasRecBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& attnMask, const torch::Tensor& keep,
                                       SasRecRng* rng, bool lastOnly)
{
    const int64_t w = x.size(1);
    auto last = [&](const torch::Tensor& t) { return lastOnly ? t.narrow(1, w - 1, 1) : t; };
    const torch::Tensor mask = lastOnly ? attnMask.narrow(1, w - 1, 1) : attnMask;
    torch::Tensor y;
    if (m_config.norm == SasRecNorm::QOnly) {
        // kang205/pmixer original: Q = LN(x); x = Q + MHA(Q, x, x); x = LN(x); x = x + FFN(x).
        const torch::Tensor qn = attn_norm(last(x));
        y = qn + attention(qn, x, mask, rng);
        y = ffn_norm(y);
        y = y + ffn(y, rng);
    } else if (m_config.norm == SasRecNorm::Pre) {
        const torch::Tensor hn = attn_norm(x);
        y = last(x) + attention(last(hn), hn, mask, rng);
        y = y + ffn(ffn_norm(y), rng);
    } else {  // post (RecBole/UniRec): LN(x + Dropout(MHA(x))); LN(y + FFN(y))
        y = attn_norm(last(x) + sasrecDropout(attention(last(x), x, mask, rng), m_config.dropout, rng));
        y = ffn_norm(y + ffn(y, rng));
    }
    return y * last(keep);
}

SasRecModelImpl::SasRecModelImpl(const SasRecConfig& config)
    : m_config(config)
{
    config.validate();
    item_emb = register_module("item_emb", torch::nn::Embedding(torch::nn::EmbeddingOptions(config.num_items + 1, config.hidden).padding_idx(0)));
    pos_emb = register_module("pos_emb", torch::nn::Embedding(config.maxlen, config.hidden));
    if (config.norm == SasRecNorm::Post)
        input_norm = register_module("input_norm", makeNorm(config));
    else
        final_norm = register_module("final_norm", makeNorm(config));
    blocks = register_module("blocks", torch::nn::ModuleList());
    for (int i = 0; i < config.blocks; ++i)
        blocks->push_back(SasRecBlock(config));
    initWeights(0);
}

void SasRecModelImpl::initWeights(uint64_t seed)
{
    torch::NoGradGuard noGrad;
    auto gen = at::detail::createCPUGenerator(seed);
    for (auto& item : named_parameters(/*recurse=*/true)) {
        torch::Tensor p = item.value();
        const std::string& name = item.key();
        const bool isNorm = name.find("norm") != std::string::npos;
        torch::Tensor init;
        if (p.dim() >= 2) {
            double std = 0.02;
            if (m_config.init == SasRecInit::Xavier) {
                const double fanIn = static_cast<double>(p.size(1)), fanOut = static_cast<double>(p.size(0));
                std = std::sqrt(2.0 / (fanIn + fanOut));
            }
            init = torch::empty(p.sizes(), torch::kFloat32).normal_(0.0, std, gen);
        } else if (isNorm && name.size() >= 6 && name.compare(name.size() - 6, 6, "weight") == 0) {
            init = torch::ones(p.sizes(), torch::kFloat32);
        } else {
            init = torch::zeros(p.sizes(), torch::kFloat32);
        }
        p.copy_(init);
    }
    item_emb->weight[0].zero_();
}

torch::Tensor SasRecModelImpl::encode(const torch::Tensor& seqs, SasRecRng* rng)
{
    return encodeImpl(seqs, rng, false);
}

torch::Tensor SasRecModelImpl::encodeImpl(const torch::Tensor& seqs, SasRecRng* rng, bool lastOnly)
{
    const int64_t w = seqs.size(1);
    if (w > m_config.maxlen)
        throw CoreException(ErrorCode::Internal, "SASRec input is " + std::to_string(w) + " wide; maxlen is "
                                                     + std::to_string(m_config.maxlen));
    torch::Tensor x = item_emb(seqs);
    if (m_config.scale_embedding)
        x = x * std::sqrt(static_cast<double>(m_config.hidden));
    const torch::Tensor positions = torch::arange(m_config.maxlen - w, m_config.maxlen,
                                                  torch::TensorOptions().dtype(torch::kInt64).device(seqs.device()));
    x = x + pos_emb(positions);
    if (input_norm)
        x = input_norm(x);
    x = sasrecDropout(x, m_config.dropout, rng);
    const torch::Tensor keep = seqs.ne(0).unsqueeze(-1).to(torch::kFloat32);
    x = x * keep;
    const torch::Tensor mask = attentionMask(seqs);
    const size_t n = blocks->size();
    for (size_t i = 0; i < n; ++i)
        x = blocks[i]->as<SasRecBlockImpl>()->forward(x, mask, keep, rng, lastOnly && i + 1 == n);
    if (lastOnly && n == 0)
        x = x.narrow(1, w - 1, 1);
    if (final_norm)
        x = final_norm(x) * (lastOnly ? keep.narrow(1, w - 1, 1) : keep);
    return x;
}

torch::Tensor SasRecModelImpl::encodeLast(const torch::Tensor& seqs)
{
    return encodeImpl(seqs, nullptr, /*lastOnly=*/true).select(1, 0);
}

torch::Tensor SasRecModelImpl::scoreLast(const torch::Tensor& seqs)
{
    const torch::Tensor h = encodeLast(seqs);  // [B,d]
    torch::Tensor scores = torch::matmul(h, item_emb->weight.t());             // [B,N+1]
    scores.select(1, 0).fill_(-std::numeric_limits<float>::infinity());
    return scores;
}

torch::Tensor padHistories(const std::vector<std::vector<int32_t>>& histories, int maxlen)
{
    size_t width = 1;
    for (const auto& h : histories)
        width = std::max(width, std::min(h.size(), static_cast<size_t>(maxlen)));
    torch::Tensor out = torch::zeros({static_cast<int64_t>(histories.size()), static_cast<int64_t>(width)}, torch::kInt64);
    int64_t* p = out.data_ptr<int64_t>();
    for (size_t r = 0; r < histories.size(); ++r) {
        const auto& h = histories[r];
        const size_t keep = std::min(h.size(), width);
        int64_t* row = p + static_cast<int64_t>(r * width + (width - keep));
        for (size_t j = 0; j < keep; ++j)
            row[j] = h[h.size() - keep + j];
    }
    return out;
}

}  // namespace recalign::core
