// Pre-training a small Llama from scratch on a text corpus (the catalogue's titles, categories and
// item-category statements), and training its tokenizer on the same corpus, so the default
// experiment has a base model without downloading weights.
#pragma once

#include "core/api/observer.h"
#include "core/llm/llama_model.h"
#include "core/tokenizer/tokenizer.h"

#include <cstdint>
#include <string>
#include <vector>

namespace recalign::core::llm {

struct PretrainOptions {
    LlamaConfig model;           // vocab_size is taken from the tokenizer
    int64_t steps = 0;           // 0 = derived from `epochs`
    double epochs = 1.0;         // passes over the corpus tokens (when steps == 0)
    int batch_size = 16;
    int seq_len = 128;           // tokens per training window
    double lr = 1e-3;
    double min_lr = 1e-4;        // end of the decay
    int64_t warmup_steps = -1;   // -1 = 5% of the steps
    std::string schedule = "cosine";  // cosine | linear | constant
    double weight_decay = 0.1;   // on matrices only
    double beta1 = 0.9, beta2 = 0.95, adam_eps = 1e-8;
    double grad_clip = 1.0;      // 0 = off
    uint64_t seed = 0;
    std::string device = "cpu";  // cpu | cuda | cuda:N | auto
    ModelConfig::ComputeDType compute_dtype = ModelConfig::ComputeDType::Float32;  // the products' dtype
    int log_every = 10;          // observer step records every n steps (and the last)
};

// The pre-training of the experiment's from-scratch model (`model:` and `model.pretrain:`):
// fromScratchLlamaConfig, epochs, lr decaying to lr / 10, batch, windows of min(128, max_seq_len)
// tokens; seed and device are the run's.
PretrainOptions pretrainOptions(const ModelConfig& model, uint64_t seed, const std::string& device);

struct PretrainResult {
    LlamaModel model{nullptr};
    int64_t steps = 0;
    int64_t corpus_tokens = 0;
    double final_loss = 0.0;     // mean over the last log window
    double tokens_per_second = 0.0;
    std::vector<double> losses;  // every step
};

// Trains a fresh model (initLlamaWeights(seed)) with AdamW and a warmup + cosine/linear/constant
// schedule on random windows of the packed corpus (BOS doc EOS BOS doc EOS ...). Reports to
// `observer` as stage "pretrain" (loss, learning_rate, grad_norm, tokens_per_second); throws
// CoreException(Cancelled) when it asks to stop and CoreException(Diverged) on a NaN loss.
PretrainResult pretrainModel(const Tokenizer& tokenizer, const std::vector<std::string>& documents,
                             const PretrainOptions& options, Observer* observer = nullptr);

// The learning rate at `step` (0-based) of `total` under the options' schedule.
double pretrainLearningRate(const PretrainOptions& options, int64_t step, int64_t total);

// Tokenizer options for a from-scratch Llama: BPE, byte fallback, identity normalization (keeps
// "\n", which list outputs need), split digits, and the chat template's markers as single pieces.
TokenizerTrainOptions llamaTokenizerOptions(int vocabSize, const std::vector<std::string>& userSymbols = {});

// Trains a sentencepiece model on the documents (one sentence each; newlines inside a document
// become spaces) and returns it loaded from <modelPrefix>.model. Throws InvalidConfig when the
// result cannot round-trip "\n" (use normalization_rule "identity").
Tokenizer trainTokenizerOnCorpus(const std::vector<std::string>& documents, const std::string& modelPrefix,
                                 const TokenizerTrainOptions& options);

// Times `steps` forward+backward passes (next-token cross-entropy, random tokens, seeded) of a
// freshly initialised model on `device` (cpu | cuda | cuda:N | auto) after two warm-up steps;
// returns seconds per step (for benchmarks; CUDA work is synchronised before each reading).
std::vector<double> timeTrainingSteps(const LlamaConfig& config, int seqLen, int batch, int steps,
                                      const std::string& device = "cpu");

}  // namespace recalign::core::llm
