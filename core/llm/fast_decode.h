// CpuDecoder: the decode step of LlamaModel for CPU float32, fused for small models where
// per-op overhead dominates (llama2.c-style loops for norms, rotary embeddings and attention;
// BLAS for the projections; preallocated buffers; weights of the active adapter folded in).
// Internal to core/llm: generation.cpp uses it, tests compare it with the generic path.
#pragma once

#include "core/llm/llama_model.h"

#include <memory>
#include <vector>

namespace recalign::core::llm {

// log Σ exp(x) over one row (vectorised where the CPU allows; -inf entries count as 0).
double logSumExpRow(const float* x, int64_t n);

class CpuDecoder {
public:
    // CPU, float32 weights, even head size, and a small model (at most kMaxParameters): the
    // decoder keeps transposed copies of every weight and prefills token by token, which for a
    // 1.1B model took 177 s for a 128-token prompt that the batched forward runs in 1.3 s.
    static constexpr int64_t kMaxParameters = 200'000'000;
    static bool supports(const LlamaModelImpl& model);

    // Snapshots the effective weights (base + the active adapter's ΔW unless merged) and takes
    // over `cache` (already holding the prompt). The model must not change while it lives.
    CpuDecoder(LlamaModelImpl& model, KvCache& cache);

    // Appends one token per row to the cache; returns the next-token logits (B, V), valid until
    // the next call. Rows whose `active` flag is 0 (padding while prefilling left-padded
    // prompts, finished rows) skip attention, keep their position and leave their slot unwritten
    // (padding slots lie before row_start and are never attended); their logits are garbage.
    const torch::Tensor& step(const std::vector<int32_t>& tokens, const std::vector<uint8_t>* active = nullptr);

private:
    struct Layer {
        torch::Tensor attn_norm, ffn_norm;  // (D)
        torch::Tensor wqkv_t;               // (D, (H + 2 Hkv) d)
        torch::Tensor wo_t;                 // (H d, D)
        torch::Tensor w13_t;                // (D, 2 Hd): gate | up
        torch::Tensor w2_t;                 // (Hd, D)
    };
    void runRows(const std::vector<int32_t>& tokens, const std::vector<uint8_t>* active, int64_t r0, int64_t r1);

    LlamaConfig m_c;
    KvCache& m_cache;
    std::shared_ptr<void> m_blasGuard;  // BLAS single-threaded while the decoder lives
    std::vector<Layer> m_layers;
    torch::Tensor m_embed, m_finalNorm, m_head_t;  // (V, D), (D), (D, V)
    torch::Tensor m_ropeCos, m_ropeSin;            // (n, d/2)
    torch::Tensor m_keysT;                         // (L, B, Hkv, d, capacity): keys transposed
    // Buffers.
    torch::Tensor m_x, m_h, m_qkv, m_scores, m_att, m_ff, m_act, m_logits;
};

}  // namespace recalign::core::llm
