// CpuDecoder: fused CPU float32 decode step (see fast_decode.h).
#include "core/llm/fast_decode.h"

#include "core/api/error.h"
#include "core/runtime/runtime.h"

#include <ATen/Parallel.h>

#include <dlfcn.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <cmath>
#include <climits>
#include <cstring>
#include <limits>

namespace recalign::core::llm {

namespace fast_decode_detail {

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define RECALIGN_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define RECALIGN_VECTOR_CLONES
#endif

// o = w · (x / rms(x)), as llama2.c's rmsnorm.
RECALIGN_VECTOR_CLONES
void rmsnormRow(float* __restrict o, const float* __restrict x, const float* __restrict w, int64_t n, float eps)
{
    float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t j = 0;
    for (; j + 8 <= n; j += 8)
        for (int k = 0; k < 8; ++k)
            lane[k] += x[j + k] * x[j + k];
    float ss = ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
    for (; j < n; ++j)
        ss += x[j] * x[j];
    ss = 1.0f / std::sqrt(ss / static_cast<float>(n) + eps);
    for (j = 0; j < n; ++j)
        o[j] = w[j] * (ss * x[j]);
}

// ---- exp-based row kernels: AVX2+FMA when the CPU has them, scalar otherwise ----

#if defined(__x86_64__) && defined(__GNUC__)
#define RECALIGN_HAVE_AVX2_PATH 1

bool cpuHasAvx2()
{
    static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return has;
}

// exp of 8 floats (Cephes expf: Cody-Waite reduction, degree-6 polynomial; ~1 ulp).
__attribute__((target("avx2,fma"))) inline __m256 exp8(__m256 x)
{
    x = _mm256_min_ps(x, _mm256_set1_ps(88.3762626647949f));
    x = _mm256_max_ps(x, _mm256_set1_ps(-88.3762626647949f));
    __m256 fx = _mm256_floor_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f)));
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
    const __m256 z = _mm256_mul_ps(x, x);
    __m256 y = _mm256_set1_ps(1.9875691500e-4f);
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507e-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073e-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894e-2f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459e-1f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201e-1f));
    y = _mm256_fmadd_ps(y, z, _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
    const __m256i n = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(fx), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(y, _mm256_castsi256_ps(n));
}

__attribute__((target("avx2,fma"))) float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

__attribute__((target("avx2,fma"))) float hmax8(__m256 v)
{
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

__attribute__((target("avx2,fma"))) void softmaxAvx2(float* x, int64_t n)
{
    int64_t i = 0;
    __m256 vm = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
    for (; i + 8 <= n; i += 8)
        vm = _mm256_max_ps(vm, _mm256_loadu_ps(x + i));
    float m = hmax8(vm);
    for (; i < n; ++i)
        m = std::max(m, x[i]);
    const __m256 mm = _mm256_set1_ps(m);
    __m256 vs = _mm256_setzero_ps();
    for (i = 0; i + 8 <= n; i += 8) {
        const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), mm));
        _mm256_storeu_ps(x + i, e);
        vs = _mm256_add_ps(vs, e);
    }
    float sum = hsum8(vs);
    for (; i < n; ++i) {
        x[i] = std::exp(x[i] - m);
        sum += x[i];
    }
    const __m256 inv = _mm256_set1_ps(1.0f / sum);
    for (i = 0; i + 8 <= n; i += 8)
        _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), inv));
    for (; i < n; ++i)
        x[i] *= 1.0f / sum;
}

__attribute__((target("avx2,fma"))) void swigluAvx2(float* act, const float* gate, const float* up, int64_t n)
{
    int64_t i = 0;
    const __m256 one = _mm256_set1_ps(1.0f);
    for (; i + 8 <= n; i += 8) {
        const __m256 g = _mm256_loadu_ps(gate + i);
        const __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), g));
        _mm256_storeu_ps(act + i, _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(one, e)), _mm256_loadu_ps(up + i)));
    }
    for (; i < n; ++i)
        act[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}
#endif

#ifdef RECALIGN_HAVE_AVX2_PATH
__attribute__((target("avx2,fma"))) double logSumExpAvx2(const float* x, int64_t n)
{
    int64_t i = 0;
    __m256 vm = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
    for (; i + 8 <= n; i += 8)
        vm = _mm256_max_ps(vm, _mm256_loadu_ps(x + i));
    float m = hmax8(vm);
    for (; i < n; ++i)
        m = std::max(m, x[i]);
    if (m == -std::numeric_limits<float>::infinity())
        return m;
    const __m256 mm = _mm256_set1_ps(m);
    __m256 vs = _mm256_setzero_ps();
    for (i = 0; i + 8 <= n; i += 8) {
        // exp(-inf - m) must be 0, not exp8's clamped 1e-38.
        const __m256 xv = _mm256_loadu_ps(x + i);
        const __m256 e = exp8(_mm256_sub_ps(xv, mm));
        vs = _mm256_add_ps(vs, _mm256_and_ps(e, _mm256_cmp_ps(xv, _mm256_set1_ps(-std::numeric_limits<float>::infinity()), _CMP_NEQ_OQ)));
    }
    double sum = hsum8(vs);
    for (; i < n; ++i)
        sum += std::exp(static_cast<double>(x[i] - m));
    return static_cast<double>(m) + std::log(sum);
}
#endif

// In place: x = softmax(x) over n >= 1 values.
void softmaxRow(float* x, int64_t n)
{
#ifdef RECALIGN_HAVE_AVX2_PATH
    if (cpuHasAvx2())
        return softmaxAvx2(x, n);
#endif
    float m = x[0];
    for (int64_t i = 1; i < n; ++i)
        m = std::max(m, x[i]);
    float sum = 0.0f;
    for (int64_t i = 0; i < n; ++i) {
        x[i] = std::exp(x[i] - m);
        sum += x[i];
    }
    for (int64_t i = 0; i < n; ++i)
        x[i] /= sum;
}

// act = silu(gate) · up for one row.
void swigluRow(float* act, const float* gate, const float* up, int64_t n)
{
#ifdef RECALIGN_HAVE_AVX2_PATH
    if (cpuHasAvx2())
        return swigluAvx2(act, gate, up, n);
#endif
    for (int64_t i = 0; i < n; ++i)
        act[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

// Rotates one head in place at the position whose tables are `c`, `s` (d/2 each).
void ropeHead(float* v, const float* c, const float* s, int64_t d, bool interleaved)
{
    const int64_t half = d / 2;
    for (int64_t i = 0; i < half; ++i) {
        float* a = interleaved ? v + 2 * i : v + i;
        float* b = interleaved ? v + 2 * i + 1 : v + i + half;
        const float v0 = *a, v1 = *b;
        *a = v0 * c[i] - v1 * s[i];
        *b = v0 * s[i] + v1 * c[i];
    }
}

// One query head over slots [start, len): out = softmax(q·k_j / sqrt(d)) · v_j. keysT is
// (d, capacity) (positions contiguous), values (capacity, d); sc is scratch for len floats.
template <int D>
RECALIGN_VECTOR_CLONES void attendHead(float* __restrict out, const float* __restrict q, const float* __restrict keysT,
                                        int64_t capacity, const float* __restrict values, int64_t start, int64_t len,
                                        float scaleDiv, float* __restrict sc, int64_t dRuntime)
{
    const int64_t d = D > 0 ? D : dRuntime;
    for (int64_t j = start; j < len; ++j)
        sc[j] = 0.0f;
    for (int64_t i = 0; i < d; ++i) {
        const float qi = q[i];
        const float* __restrict kr = keysT + i * capacity;
        for (int64_t j = start; j < len; ++j)
            sc[j] += qi * kr[j];
    }
    for (int64_t j = start; j < len; ++j)
        sc[j] /= scaleDiv;
    softmaxRow(sc + start, len - start);
    int64_t j = start;
    if constexpr (D > 0) {
        float acc0[D], acc1[D];
        for (int i = 0; i < D; ++i)
            acc0[i] = acc1[i] = 0.0f;
        j = start;
        for (; j + 2 <= len; j += 2) {
            const float a0 = sc[j], a1 = sc[j + 1];
            const float* __restrict v0 = values + j * D;
            for (int i = 0; i < D; ++i) {
                acc0[i] += a0 * v0[i];
                acc1[i] += a1 * v0[D + i];
            }
        }
        if (j < len)
            for (int i = 0; i < D; ++i)
                acc0[i] += sc[j] * values[j * D + i];
        for (int i = 0; i < D; ++i)
            out[i] = acc0[i] + acc1[i];
    } else {
        for (int64_t i = 0; i < d; ++i)
            out[i] = 0.0f;
        for (j = start; j < len; ++j) {
            const float a = sc[j];
            const float* __restrict v = values + j * d;
            for (int64_t i = 0; i < d; ++i)
                out[i] += a * v[i];
        }
    }
}

using AttendFn = void (*)(float*, const float*, const float*, int64_t, const float*, int64_t, int64_t, float, float*,
                          int64_t);

#ifdef RECALIGN_HAVE_AVX2_PATH
// attendHead for head size NV·8 with AVX2/FMA: scores four 8-position blocks at a time with the
// keys read once, softmax, then values accumulated in registers over independent chains.
template <int NV>
__attribute__((target("avx2,fma"))) void attendAvx2(float* __restrict out, const float* __restrict q,
                                                     const float* __restrict keysT, int64_t capacity,
                                                     const float* __restrict values, int64_t start, int64_t len,
                                                     float scaleDiv, float* __restrict sc, int64_t)
{
    constexpr int D = NV * 8;
    const __m256 div = _mm256_set1_ps(scaleDiv);
    int64_t j = start;
    for (; j + 32 <= len; j += 32) {
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int i = 0; i < D; ++i) {
            const __m256 qi = _mm256_set1_ps(q[i]);
            const float* kr = keysT + i * capacity + j;
            a0 = _mm256_fmadd_ps(qi, _mm256_loadu_ps(kr), a0);
            a1 = _mm256_fmadd_ps(qi, _mm256_loadu_ps(kr + 8), a1);
            a2 = _mm256_fmadd_ps(qi, _mm256_loadu_ps(kr + 16), a2);
            a3 = _mm256_fmadd_ps(qi, _mm256_loadu_ps(kr + 24), a3);
        }
        _mm256_storeu_ps(sc + j, _mm256_div_ps(a0, div));
        _mm256_storeu_ps(sc + j + 8, _mm256_div_ps(a1, div));
        _mm256_storeu_ps(sc + j + 16, _mm256_div_ps(a2, div));
        _mm256_storeu_ps(sc + j + 24, _mm256_div_ps(a3, div));
    }
    for (; j + 8 <= len; j += 8) {
        __m256 a0 = _mm256_setzero_ps();
        for (int i = 0; i < D; ++i)
            a0 = _mm256_fmadd_ps(_mm256_set1_ps(q[i]), _mm256_loadu_ps(keysT + i * capacity + j), a0);
        _mm256_storeu_ps(sc + j, _mm256_div_ps(a0, div));
    }
    for (; j < len; ++j) {
        float a = 0.0f;
        for (int i = 0; i < D; ++i)
            a += q[i] * keysT[i * capacity + j];
        sc[j] = a / scaleDiv;
    }
    softmaxAvx2(sc + start, len - start);
    constexpr int C = NV == 1 ? 4 : (NV <= 4 ? 2 : 1);  // independent accumulator chains
    __m256 acc[C][NV];
    for (int c = 0; c < C; ++c)
        for (int v = 0; v < NV; ++v)
            acc[c][v] = _mm256_setzero_ps();
    j = start;
    for (; j + C <= len; j += C)
        for (int c = 0; c < C; ++c) {
            const __m256 p = _mm256_set1_ps(sc[j + c]);
            const float* vr = values + (j + c) * D;
            for (int v = 0; v < NV; ++v)
                acc[c][v] = _mm256_fmadd_ps(p, _mm256_loadu_ps(vr + 8 * v), acc[c][v]);
        }
    for (; j < len; ++j) {
        const __m256 p = _mm256_set1_ps(sc[j]);
        for (int v = 0; v < NV; ++v)
            acc[0][v] = _mm256_fmadd_ps(p, _mm256_loadu_ps(values + j * D + 8 * v), acc[0][v]);
    }
    for (int v = 0; v < NV; ++v) {
        __m256 t = acc[0][v];
        for (int c = 1; c < C; ++c)
            t = _mm256_add_ps(t, acc[c][v]);
        _mm256_storeu_ps(out + 8 * v, t);
    }
}
#endif

AttendFn attendFor(int64_t d)
{
#ifdef RECALIGN_HAVE_AVX2_PATH
    if (cpuHasAvx2()) {
        switch (d) {
        case 8: return &attendAvx2<1>;
        case 16: return &attendAvx2<2>;
        case 32: return &attendAvx2<4>;
        case 64: return &attendAvx2<8>;
        case 128: return &attendAvx2<16>;
        default: break;
        }
    }
#endif
    switch (d) {
    case 8: return &attendHead<8>;
    case 16: return &attendHead<16>;
    case 32: return &attendHead<32>;
    case 64: return &attendHead<64>;
    case 128: return &attendHead<128>;
    default: return &attendHead<0>;
    }
}

// Row-major out (m, n) = a (m, k) · b (k, n) (+ out when accumulate), through the Fortran BLAS
// symbol when the process has one (no dispatcher overhead), else at::mm_out / addmm_.
using SgemmFn = void (*)(const char*, const char*, const int*, const int*, const int*, const float*, const float*,
                         const int*, const float*, const int*, const float*, float*, const int*);

SgemmFn sgemm()
{
    static const SgemmFn fn = reinterpret_cast<SgemmFn>(dlsym(RTLD_DEFAULT, "sgemm_"));
    return fn;
}

// Rows [r0, r1) of row-major out = a · b (+ out when accumulating).
void matmulRows(const torch::Tensor& out, const torch::Tensor& a, const torch::Tensor& b, int64_t r0, int64_t r1,
                bool accumulate)
{
    const SgemmFn f = sgemm();
    const int64_t m = r1 - r0, k = a.size(1), n = b.size(1);
    if (m <= 0)
        return;
    if (!f || m > INT32_MAX || n > INT32_MAX || k > INT32_MAX) {
        torch::Tensor o = out.narrow(0, r0, m);
        if (accumulate)
            o.addmm_(a.narrow(0, r0, m), b);
        else
            at::mm_out(o, a.narrow(0, r0, m), b);
        return;
    }
    // Column-major view: outᵀ (n, m) = bᵀ (n, k) · aᵀ (k, m).
    const int M = static_cast<int>(n), N = static_cast<int>(m), K = static_cast<int>(k);
    const float one = 1.0f, beta = accumulate ? 1.0f : 0.0f;
    f("N", "N", &M, &N, &K, &one, b.data_ptr<float>(), &M, a.data_ptr<float>() + r0 * k, &K, &beta,
      out.data_ptr<float>() + r0 * n, &M);
}

torch::Tensor transposedContiguous(const torch::Tensor& w) { return w.t().contiguous(); }

}  // namespace fast_decode_detail

double logSumExpRow(const float* x, int64_t n)
{
#ifdef RECALIGN_HAVE_AVX2_PATH
    if (fast_decode_detail::cpuHasAvx2())
        return fast_decode_detail::logSumExpAvx2(x, n);
#endif
    float m = -std::numeric_limits<float>::infinity();
    for (int64_t i = 0; i < n; ++i)
        m = std::max(m, x[i]);
    if (m == -std::numeric_limits<float>::infinity())
        return m;
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i)
        sum += std::exp(static_cast<double>(x[i] - m));
    return static_cast<double>(m) + std::log(sum);
}

using namespace fast_decode_detail;

bool CpuDecoder::supports(const LlamaModelImpl& model)
{
    const torch::Tensor& w = model.embed_tokens->weight;
    return w.device().is_cpu() && w.scalar_type() == torch::kFloat && model.config().headDim() % 2 == 0
        && model.config().parameterCount() <= kMaxParameters;
}

CpuDecoder::CpuDecoder(LlamaModelImpl& model, KvCache& cache) : m_c(model.config()), m_cache(cache)
{
    if (!supports(model))
        throw CoreException(ErrorCode::Internal, "CpuDecoder: the model is not float32 on the CPU");
    // OpenBLAS's own threads fight the decoder's row threads (and busy-wait on a loaded machine):
    // BLAS stays single-threaded while a decoder lives.
    m_blasGuard = std::make_shared<ScopedBlasThreads>(1);
    const std::string active = model.activeAdapter();
    const int64_t L = m_c.n_layers, B = cache.batch(), D = m_c.dim, H = m_c.n_heads, Hkv = m_c.n_kv_heads,
                  d = m_c.headDim(), Hd = m_c.hidden_dim, V = m_c.vocab_size, cap = cache.capacity();
    for (auto& m : *model.layers) {
        auto* layer = m->as<LlamaLayerImpl>();
        auto& att = *layer->self_attn;
        auto& mlp = *layer->mlp;
        Layer ly;
        ly.attn_norm = layer->input_layernorm->weight.detach().contiguous();
        ly.ffn_norm = layer->post_attention_layernorm->weight.detach().contiguous();
        ly.wqkv_t = transposedContiguous(torch::cat({att.q_proj->effectiveWeight(active),
                                                     att.k_proj->effectiveWeight(active),
                                                     att.v_proj->effectiveWeight(active)},
                                                    0));
        ly.wo_t = transposedContiguous(att.o_proj->effectiveWeight(active));
        ly.w13_t = transposedContiguous(
            torch::cat({mlp.gate_proj->effectiveWeight(active), mlp.up_proj->effectiveWeight(active)}, 0));
        ly.w2_t = transposedContiguous(mlp.down_proj->effectiveWeight(active));
        m_layers.push_back(std::move(ly));
    }
    m_embed = model.embed_tokens->weight.detach().contiguous();
    m_finalNorm = model.norm->weight.detach().contiguous();
    m_head_t = transposedContiguous(model.lm_head->effectiveWeight(active));
    int64_t maxPos = 0;
    for (int64_t p : cache.next_pos)
        maxPos = std::max(maxPos, p);
    auto [c, s] = model.ropeTables(maxPos + (cap - cache.length) + 1, torch::kCPU);
    m_ropeCos = c;
    m_ropeSin = s;
    // Keys transposed per head, so scores vectorise over positions.
    // Only filled slots are ever read, so no zero fill (a large fill wakes the thread pool).
    m_keysT = torch::empty({L, B, Hkv, d, cap}, cache.k.options());
    if (cache.length > 0) {
        const float* src = cache.k.data_ptr<float>();
        float* dst = m_keysT.data_ptr<float>();
        for (int64_t head = 0; head < L * B * Hkv; ++head)
            for (int64_t j = 0; j < cache.length; ++j)
                for (int64_t e = 0; e < d; ++e)
                    dst[(head * d + e) * cap + j] = src[(head * cap + j) * d + e];
    }
    const auto f = torch::TensorOptions().dtype(torch::kFloat);
    m_x = torch::empty({B, D}, f);
    m_h = torch::empty({B, D}, f);
    m_qkv = torch::empty({B, (H + 2 * Hkv) * d}, f);
    m_scores = torch::empty({B, H, cap}, f);
    m_att = torch::empty({B, H * d}, f);
    m_ff = torch::empty({B, 2 * Hd}, f);
    m_act = torch::empty({B, Hd}, f);
    m_logits = torch::empty({B, V}, f);
}

const torch::Tensor& CpuDecoder::step(const std::vector<int32_t>& tokens, const std::vector<uint8_t>* active)
{
    const int64_t B = m_cache.batch(), V = m_c.vocab_size;
    if (static_cast<int64_t>(tokens.size()) != B)
        throw CoreException(ErrorCode::Internal, "CpuDecoder: one token per row expected");
    if (m_cache.length >= m_cache.capacity())
        throw CoreException(ErrorCode::InvalidConfig, "CpuDecoder: the KV cache is full");
    for (int32_t t : tokens)
        if (t < 0 || t >= V)
            throw CoreException(ErrorCode::InvalidConfig, "token id " + std::to_string(t) + " outside the vocabulary");
    // Rows are independent during decoding: each thread runs whole rows through every layer, so
    // a step has one fork/join instead of several per layer.
    const int64_t threads = std::max<int64_t>(1, at::get_num_threads());
    const int64_t grain = std::max<int64_t>(4, (B + threads - 1) / threads);
    at::parallel_for(0, B, grain, [&](int64_t r0, int64_t r1) { runRows(tokens, active, r0, r1); });
    m_cache.length += 1;
    for (size_t b = 0; b < m_cache.next_pos.size(); ++b)
        if (!active || (*active)[b])
            m_cache.next_pos[b] += 1;
    return m_logits;
}

void CpuDecoder::runRows(const std::vector<int32_t>& tokens, const std::vector<uint8_t>* active, int64_t r0,
                         int64_t r1)
{
    const int64_t B = m_cache.batch(), D = m_c.dim, H = m_c.n_heads, Hkv = m_c.n_kv_heads, d = m_c.headDim(),
                  G = H / Hkv, Hd = m_c.hidden_dim, cap = m_cache.capacity();
    const int64_t slot = m_cache.length;
    const bool interleaved = m_c.rope_layout == RopeLayout::Interleaved;
    const float eps = static_cast<float>(m_c.norm_eps);
    const float scaleDiv = std::sqrt(static_cast<float>(d));
    const int64_t half = d / 2, qkvW = (H + 2 * Hkv) * d, len = slot + 1;
    const AttendFn attend = attendFor(d);
    float* x = m_x.data_ptr<float>();
    float* h = m_h.data_ptr<float>();
    float* qkv = m_qkv.data_ptr<float>();
    float* scores = m_scores.data_ptr<float>();
    float* att = m_att.data_ptr<float>();
    float* ff = m_ff.data_ptr<float>();
    float* act = m_act.data_ptr<float>();
    const float* cosT = m_ropeCos.data_ptr<float>();
    const float* sinT = m_ropeSin.data_ptr<float>();
    const float* emb = m_embed.data_ptr<float>();
    float* keysT0 = m_keysT.data_ptr<float>();  // (L, B, Hkv, d, cap)
    float* k0 = m_cache.k.data_ptr<float>();    // (L, B, Hkv, cap, d)
    float* v0 = m_cache.v.data_ptr<float>();
    for (int64_t b = r0; b < r1; ++b)
        std::memcpy(x + b * D, emb + static_cast<int64_t>(tokens[static_cast<size_t>(b)]) * D,
                    static_cast<size_t>(D) * sizeof(float));
    for (size_t l = 0; l < m_layers.size(); ++l) {
        const Layer& ly = m_layers[l];
        const float* an = ly.attn_norm.data_ptr<float>();
        for (int64_t b = r0; b < r1; ++b)
            rmsnormRow(h + b * D, x + b * D, an, D, eps);
        matmulRows(m_qkv, m_h, ly.wqkv_t, r0, r1, false);
        const int64_t layerOff = static_cast<int64_t>(l) * B * Hkv;
        for (int64_t b = r0; b < r1; ++b) {
            if (active && !(*active)[static_cast<size_t>(b)]) {
                // Padding before the row's first token, or a finished row: no slot, no attention.
                std::fill(att + b * H * d, att + (b + 1) * H * d, 0.0f);
                continue;
            }
            const int64_t p = m_cache.next_pos[static_cast<size_t>(b)];
            const float* c = cosT + p * half;
            const float* s = sinT + p * half;
            const int64_t start = m_cache.row_start[static_cast<size_t>(b)];
            float* row = qkv + b * qkvW;
            for (int64_t kv = 0; kv < Hkv; ++kv) {
                float* k = row + H * d + kv * d;
                const float* v = row + (H + Hkv) * d + kv * d;
                ropeHead(k, c, s, d, interleaved);
                const int64_t head0 = layerOff + b * Hkv + kv;
                float* kt = keysT0 + head0 * d * cap;
                float* kc = k0 + (head0 * cap + slot) * d;
                float* vals = v0 + head0 * cap * d;
                for (int64_t e = 0; e < d; ++e) {  // (loops: memcpy calls cost more for 8 floats)
                    kt[e * cap + slot] = k[e];
                    kc[e] = k[e];
                    vals[slot * d + e] = v[e];
                }
                for (int64_t g = 0; g < G; ++g) {
                    const int64_t head = kv * G + g;
                    float* q = row + head * d;
                    if (start >= len) {  // a padding slot before the row's first token
                        std::fill(att + b * H * d + head * d, att + b * H * d + head * d + d, 0.0f);
                        continue;
                    }
                    ropeHead(q, c, s, d, interleaved);
                    attend(att + b * H * d + head * d, q, kt, cap, vals, start, len, scaleDiv,
                           scores + (b * H + head) * cap, d);
                }
            }
        }
        matmulRows(m_x, m_att, ly.wo_t, r0, r1, true);
        const float* fn = ly.ffn_norm.data_ptr<float>();
        for (int64_t b = r0; b < r1; ++b)
            rmsnormRow(h + b * D, x + b * D, fn, D, eps);
        matmulRows(m_ff, m_h, ly.w13_t, r0, r1, false);
        for (int64_t b = r0; b < r1; ++b)
            swigluRow(act + b * Hd, ff + b * 2 * Hd, ff + b * 2 * Hd + Hd, Hd);
        matmulRows(m_x, m_act, ly.w2_t, r0, r1, true);
    }
    const float* fw = m_finalNorm.data_ptr<float>();
    for (int64_t b = r0; b < r1; ++b)
        rmsnormRow(h + b * D, x + b * D, fw, D, eps);
    matmulRows(m_logits, m_h, m_head_t, r0, r1, false);
}

}  // namespace recalign::core::llm
