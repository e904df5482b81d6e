// SasRecModel: the SASRec network (Kang & McAuley 2018) in libtorch. Item + learned position
// embeddings, N causal self-attention blocks with a point-wise FFN, three layer-norm layouts
// (qonly = kang205/pmixer original, pre, post = RecBole/UniRec), user state = last position,
// scores = dot product with the item table. Torch header: only core/sasrec TUs include it.
//
// Shapes: B users, W window columns (W <= maxlen), d hidden, H heads, N items (+1 padding row).
// Sequences are LEFT padded with 0; column j of a W-wide batch has position maxlen - W + j, so a
// history gets the same positions (and the same outputs) whatever the batch width. Padding keys
// are masked out of attention and padding rows are zeroed after every block, so padding never
// reaches a real position.
#pragma once

#include "core/data/dataset.h"
#include "core/runtime/state_file.h"
#include "core/sasrec/sasrec_config.h"
#include "core/sasrec/sasrec_rng.h"

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/types.h>

namespace recalign::core {

// Inverted dropout with masks from a SasRecRng (fast, seeded, checkpointable; torch's global
// generator is never touched). `rng == nullptr` or p == 0 is the identity (evaluation).
torch::Tensor sasrecDropout(const torch::Tensor& x, double p, SasRecRng* rng);

class SasRecBlockImpl : public torch::nn::Module {
public:
    SasRecBlockImpl(const SasRecConfig& config);
    // x [B,W,d]; attnMask [B or 1, W, W] additive (0 keep, -1e9 masked); keep [B,W,1] (1 real, 0 pad).
    // lastOnly: only the last position's output is computed ([B,1,d]; keys still span all W).
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& attnMask, const torch::Tensor& keep,
                          SasRecRng* rng, bool lastOnly = false);

    torch::nn::LayerNorm attn_norm{nullptr};
    torch::nn::Linear q_proj{nullptr};
    torch::nn::Linear kv_proj{nullptr};  // K and V in one matmul: [2d, d]
    torch::nn::Linear out_proj{nullptr};
    torch::nn::LayerNorm ffn_norm{nullptr};
    torch::nn::Linear ffn1{nullptr};
    torch::nn::Linear ffn2{nullptr};

private:
    // queryIn [B,Wq,d] (Wq = W, or 1 for the last row), keyIn [B,W,d], attnMask [B or 1, Wq, W].
    torch::Tensor attention(const torch::Tensor& queryIn, const torch::Tensor& keyIn, const torch::Tensor& attnMask,
                            SasRecRng* rng);
    torch::Tensor ffn(const torch::Tensor& x, SasRecRng* rng);
    SasRecConfig m_config;
};
TORCH_MODULE(SasRecBlock);

class SasRecModelImpl : public torch::nn::Module {
public:
    explicit SasRecModelImpl(const SasRecConfig& config);
    const SasRecConfig& config() const { return m_config; }

    // Weight initialisation from the config's scheme with its own generator (deterministic for
    // a seed); rows 0 (padding) of the item table are zero.
    void initWeights(uint64_t seed);

    // seqs [B,W] int64 left-padded ids (on the model's device) -> hidden states [B,W,d], padding
    // rows zero. `rng` null = evaluation (no dropout).
    torch::Tensor encode(const torch::Tensor& seqs, SasRecRng* rng);

    // Hidden state of the last position only, [B,d] (evaluation: the last block computes one
    // query row instead of W).
    torch::Tensor encodeLast(const torch::Tensor& seqs);

    // Scores of every item for the last position: [B, N+1]; column 0 (padding) is -inf.
    torch::Tensor scoreLast(const torch::Tensor& seqs);

    torch::Tensor itemTable() const { return item_emb->weight; }  // [N+1, d]

    torch::nn::Embedding item_emb{nullptr};
    torch::nn::Embedding pos_emb{nullptr};   // [maxlen, d]
    torch::nn::LayerNorm input_norm{nullptr};  // post layout only
    torch::nn::LayerNorm final_norm{nullptr};  // qonly and pre layouts
    torch::nn::ModuleList blocks{nullptr};

private:
    torch::Tensor encodeImpl(const torch::Tensor& seqs, SasRecRng* rng, bool lastOnly);
    SasRecConfig m_config;
};
TORCH_MODULE(SasRecModel);

// Left-pads histories (oldest first; only the last maxlen items are kept) into [B, W] int64,
// W = the longest kept history (at least 1).
torch::Tensor padHistories(const std::vector<std::vector<int32_t>>& histories, int maxlen);

// Checkpoint pieces shared by the trainer and the teacher (file layout: sasrec_teacher.h).
inline constexpr const char* kSasRecCheckpointFormat = "recalign-sasrec-2";
void writeSasRecCheckpointHeader(StateWriter& writer, const SasRecModelImpl& model, const Dataset& data);
// Reads and checks format, config, fingerprint and catalogue size against `data`; throws
// CoreException(CheckpointIO) naming the file and what differs.
SasRecConfig readSasRecCheckpointHeader(const StateReader& reader, const Dataset& data);

}  // namespace recalign::core
