// Batched, KV-cached generation: greedy, temperature, top-k, top-p, repetition penalty, min/max
// new tokens, stop tokens and stop strings, optional constrained decoding over catalogue titles
// (with per-row restrictions: exact length, forbidden titles, no repeats); seeded per row (a
// row's output does not depend on its batch), with the log-prob of every generated token. Logit
// processing order (HF's): constraint mask → min-length mask → repetition penalty → temperature
// → top-k → top-p → sample. The returned log-probs are those of the processed distribution
// before top-k/top-p truncation (TRL's convention, so PPO's recomputation via
// processedTokenLogprobs() reproduces them).
#pragma once

#include "core/llm/llama_model.h"
#include "core/llm/title_constraint.h"
#include "core/tokenizer/tokenizer.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace recalign::core::llm {

// A prompts' prefill kept for a later generate() call over the same prompts (PPO's greedy and
// sampled samples of one batch): the first call with it stores its KV cache and last logits; a
// later call with the same model, adapter, prompts and cache capacity (prompt + max_new_tokens)
// starts from a copy of them instead of prefilling again: the same tokens, log-probs and draws
// (tested). The caller keeps the model's weights unchanged between the calls.
struct SharedPrefill {
    const void* model = nullptr;
    std::string adapter;
    std::vector<std::vector<int32_t>> prompts;
    KvCache cache;         // after the prefill
    torch::Tensor logits;  // (B, V): the prefill's last position
    int64_t reused = 0;    // calls that started from it
};

struct GenerationConfig {
    int max_new_tokens = 256;
    int min_new_tokens = 0;          // stop tokens are masked before this many new tokens
    double temperature = 1.0;        // <= 0: greedy (log-probs then use temperature 1)
    int top_k = 0;                   // 0 = off
    double top_p = 1.0;              // 1 = off
    double repetition_penalty = 1.0; // 1 = off; CTRL/HF: positive logits ÷ p, negative × p, over prompt + output
    std::vector<int32_t> stop_token_ids;  // empty = {EOS} (the tokenizer's, or 2 without one)
    std::vector<std::string> stop_strings;  // need a tokenizer
    uint64_t seed = 0;
    // Row b samples from the stream of row first_row + b: a call that generates a share of a larger
    // batch (a rank of a data-parallel job) draws what the whole batch would have drawn.
    int64_t first_row = 0;
    const TitleConstraint* constraint = nullptr;  // constrained decoding (off by default)
    // Per-row restrictions of `constraint`, one per prompt in order (needs `constraint`); empty =
    // every row walks the constraint as it is. See RowConstraint: exactly k items, forbidden
    // titles, no repeats. A row whose restrictions leave too few titles throws InvalidConfig.
    std::vector<RowConstraint> row_constraints;
    std::optional<std::string> adapter;  // which adapter generates ("" = base); unset = the active one
    // CPU float32: prefill and decode through the fused CpuDecoder (llama2.c-style loops, one
    // fork/join per step, finished rows skipped); otherwise, or when false, the generic torch path.
    bool fast_path = true;
    // Where greedy decoding without constraint, repetition penalty or stop strings picks its tokens:
    // Auto = on the model's device when that is not the CPU (argmax and log-prob there, the next
    // token fed back without a host round trip, a host check of the stop tokens every 16 steps);
    // Host = every step's logits copied to the host (the path every other setting takes); Device =
    // the device loop on any device (tests compare it with Host on the CPU).
    enum class DecodeLoop { Auto, Host, Device } decode_loop = DecodeLoop::Auto;
    SharedPrefill* shared_prefill = nullptr;  // see SharedPrefill; null = prefill every call
};

enum class FinishReason { StopToken, StopString, Length };

struct GenerationResult {
    std::vector<std::vector<int32_t>> tokens;  // per row: generated ids, the stop token included
    std::vector<std::vector<float>> logprobs;  // per row, one per generated token
    std::vector<FinishReason> finish;
    int64_t steps = 0;         // decode steps run (the longest row)
    double prefill_seconds = 0.0;
    double decode_seconds = 0.0;
};

// Generates continuations of `prompts` (token ids, each non-empty, usually starting with BOS),
// left-padded into one batch. `tokenizer` is needed for stop strings. Throws InvalidConfig on bad
// settings. Runs under inference mode; the model's train/eval mode is left as is (use eval()).
GenerationResult generate(LlamaModelImpl& model, const std::vector<std::vector<int32_t>>& prompts,
                          const GenerationConfig& config, const Tokenizer* tokenizer = nullptr);

// Per-position allowed tokens of constrained decoding, rebuilt from the generated tokens:
// (B, T, V) bool, T = the longest row (or `length`); positions past a row's end allow all.
// `rows`: the generation's row_constraints (empty = none; else one per row of `generated`).
torch::Tensor constraintMasks(const TitleConstraint& constraint, const std::vector<std::vector<int32_t>>& generated,
                              int64_t vocab, int64_t length = -1, const std::vector<RowConstraint>& rows = {});
// Tokens seen before each generated position (prompt + earlier output), for the repetition
// penalty: (B, T, V) bool.
torch::Tensor seenMasks(const std::vector<std::vector<int32_t>>& prompts,
                        const std::vector<std::vector<int32_t>>& generated, int64_t vocab, int64_t length = -1);

// The log-probs generate() returned, recomputed by one full forward over prompt + generated
// (left-padded), with the same masks, penalty and temperature. For checks and PPO.
std::vector<std::vector<float>> recomputeLogprobs(LlamaModelImpl& model, const std::vector<std::vector<int32_t>>& prompts,
                                                  const std::vector<std::vector<int32_t>>& generated,
                                                  const GenerationConfig& config);

// Left-pads rows into (B, maxLen) int64 tokens and a (B, maxLen) int64 mask.
std::pair<torch::Tensor, torch::Tensor> leftPad(const std::vector<std::vector<int32_t>>& rows, int32_t padId = 0);

}  // namespace recalign::core::llm
