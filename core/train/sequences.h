// What SFT and PPO share around the LLM: prompt/output tokenisation with the released truncation
// rules, packing prompt + response rows into one batch, per-token log-probs, entropy and values
// of the response tokens under a chosen adapter, the value head, and generation-based validation
// with the rules layer's metrics.
#pragma once

#include "core/api/observer.h"
#include "core/llm/chat_template.h"
#include "core/llm/generation.h"
#include "core/llm/llama_model.h"
#include "core/rules/metrics.h"
#include "core/rules/parse.h"
#include "core/rules/sample.h"

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace recalign::core {

class TitleLookup;

// ---- tokenisation --------------------------------------------------------------------------

// The rules layer's prompt as the LLM layer's conversation: (U1, A1), the extra turns, then the
// instruction as the open last turn.
llm::Conversation toConversation(const ChatPrompt& prompt);

// BOS + the rendered prompt, left-truncated to its last `maxTokens` tokens (0 = no limit), as the
// released code (which can cut the system header, RECLM-GEN §9.13).
std::vector<int32_t> encodePrompt(const Tokenizer& tokenizer, const ChatPrompt& prompt,
                                  llm::ChatTemplate tmpl, int maxTokens);

// The reply tokens: `text` ("</s>"/"<s>" are special ids) + EOS, right-truncated to `maxTokens`
// (0 = no limit). Encoded on its own, so sentencepiece's dummy prefix gives the space between
// the prompt and the reply (the released layout "[prompt][output without its BOS]").
std::vector<int32_t> encodeReply(const Tokenizer& tokenizer, const std::string& text, int maxTokens);

// Decoded reply text without BOS/EOS/pad ids (what the parser and token placement see).
std::string decodeReply(const Tokenizer& tokenizer, const std::vector<int32_t>& ids);

// ---- packing ---------------------------------------------------------------------------------

// Rows laid out as [left pads][prompt][response][right pads], every prompt ending at column P,
// so response token j of every row sits at column P + j and is predicted by the logits at P + j - 1.
struct PackedSequences {
    torch::Tensor tokens;     // (B, P + T) int64
    torch::Tensor attention;  // (B, P + T) int64, 1 = real token
    torch::Tensor response;   // (B, T) int64, 0 on padding
    torch::Tensor mask;       // (B, T) float32, 1 on response tokens
    int64_t prompt_columns = 0;  // P
    int64_t response_columns = 0;  // T
};
PackedSequences packSequences(const std::vector<std::vector<int32_t>>& prompts,
                              const std::vector<std::vector<int32_t>>& responses, int32_t padId,
                              const torch::Device& device);
// The same with less padding, for losses that only sum over each row's response: rows laid out as
// [left pads][prompt][response], every response ENDING at the last column; the row is
// max(prompt + response) wide instead of max(prompt) + max(response). `response` / `mask` are
// right-aligned in their T = max(response) columns the same way, so the logits of the last T + 1
// columns (slice 0..T) still predict `response`; prompt_columns = width - T. Positions come from
// the attention mask (cumsum), so each row computes what it computes in packSequences.
PackedSequences packSequencesTight(const std::vector<std::vector<int32_t>>& prompts,
                                   const std::vector<std::vector<int32_t>>& responses, int32_t padId,
                                   const torch::Device& device);

// ---- scoring -----------------------------------------------------------------------------------

// Value head on the last hidden state (RECLM-GEN §5.1): Linear(D -> 64), GELU, Linear(64 -> 1),
// orthogonal init with gains sqrt(2) and 1, zero biases.
class ValueHeadImpl : public torch::nn::Module {
public:
    ValueHeadImpl(int64_t hidden, int64_t inner = 64, uint64_t seed = 0);
    torch::Tensor forward(const torch::Tensor& hidden);  // (..., D) -> (...)
    torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(ValueHead);

struct ScoreOptions {
    std::string adapter;           // "" = adapters disabled (the reference policy)
    torch::Tensor temperatures;    // (B) float32: divide logits by this per row (<= 0 treated as 1)
    torch::Tensor allowed;         // (B, T, V) bool: constrained-decoding masks, undefined = none
    bool want_logprobs = true;
    bool want_entropy = false;
    ValueHeadImpl* value_head = nullptr;  // non-null: values from the hidden states
    bool checkpoint_layers = false;       // gradient checkpointing (llm::ForwardOptions)
};
struct ScoreResult {
    torch::Tensor logprobs;  // (B, T) log-prob of each response token
    torch::Tensor entropy;   // (B, T) entropy of the distribution that produced each token
    torch::Tensor values;    // (B, T) V_t = value of the prefix before token t
};
// One forward over the packed rows under `options.adapter` (differentiable unless the caller
// disables grad). Log-probs use the same processing as generation: masked tokens removed, then
// the row's temperature (llm::processedTokenLogprobs, per row).
ScoreResult scoreSequences(llm::LlamaModelImpl& model, const PackedSequences& packed,
                           const ScoreOptions& options);

// The same quantities for several responses to one prompt (no grad): the prompt's forward runs
// once into a KV cache, then every response continues from it. Equal to scoreSequences over the
// packed rows up to the summation order (the products see other row counts).
ScoreResult scoreWithSharedPrompt(llm::LlamaModelImpl& model, const std::vector<int32_t>& prompt,
                                  const std::vector<std::vector<int32_t>>& responses, int32_t padId,
                                  const ScoreOptions& options);

// ---- validation by generation --------------------------------------------------------------

struct GenerationEvalOptions {
    llm::ChatTemplate chat_template = llm::ChatTemplate::Llama2;
    int max_prompt_tokens = 512;
    int batch = 16;                // prompts per generate() call
    llm::GenerationConfig generation;  // greedy by default below
    ParseOptions parse;            // fuzzy mapping for metrics (released: on)
    std::string stage;             // for sample records
    int samples_to_report = 2;     // Observer::onSample per evaluation
    long step = 0;
};
struct GenerationEvalResult {
    std::vector<TaskMetrics> tasks;
    std::vector<std::string> outputs;  // decoded reply per sample
    double mean(const std::string& metric) const;  // mean of the task means (0 when absent)
};
// Greedy (or configured) generation for each sample, parsed with `lookup`, scored with the
// rules layer's metrics per task name. Cancellation is polled between batches.
GenerationEvalResult evaluateByGeneration(llm::LlamaModelImpl& model, const Tokenizer& tokenizer,
                                          const Dataset& data, const TitleLookup& lookup,
                                          const std::vector<Sample>& samples,
                                          GenerationEvalOptions options, Observer& observer);

}  // namespace recalign::core
