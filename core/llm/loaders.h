// Checkpoint formats: llama2.c (.bin, legacy and v1 "ak42"), Hugging Face Llama folders
// (config.json + model.safetensors or sharded with model.safetensors.index.json), our own
// folder format, and PEFT LoRA adapters. Loaded models are in eval mode. Every failure throws CoreException(CheckpointIO or
// InvalidConfig) naming the file.
#pragma once

#include "core/llm/llama_model.h"
#include "core/util/safetensors.h"
#include "core/tokenizer/tokenizer.h"

#include <functional>
#include <string>
#include <vector>

namespace recalign::core::llm {

enum class CheckpointFormat { Llama2c, HuggingFace, Recalign, Unknown };
const char* checkpointFormatName(CheckpointFormat f);

// A file with the llama2.c header → Llama2c; a folder whose config.json says
// "format": "recalign-llama" → Recalign; a folder with a Hugging Face config.json → HuggingFace.
CheckpointFormat detectCheckpointFormat(const std::string& path);

// ---- llama2.c ----
// Legacy: 7 int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size (negative =
// untied head), seq_len), then fp32 tensors and the RoPE tables. v1: magic "ak42", version 1,
// the same 7 int32, a shared-classifier byte, padding to 256 bytes, then fp32 tensors.
// Both use interleaved rotary pairs, theta 10000, RMSNorm eps 1e-5.
LlamaModel loadLlama2c(const std::string& path);
// version 0 = legacy, 1 = "ak42" v1. A rotate-half model is converted to interleaved on the way.
void saveLlama2c(LlamaModelImpl& model, const std::string& path, int version = 0);

// ---- Hugging Face ----
// Reads config.json and model.safetensors (or the shards of model.safetensors.index.json);
// F32/F16/BF16 weights become `dtype`. Rotary layout: rotate-half (HF's q/k are permuted).
// Weights stream file by file straight into the model's tensors (created in `dtype`); each shard is
// unmapped when done, so peak memory is the model plus one shard's touched pages. `progress`
// (optional) hears bytes copied so far and in all.
using LoadProgress = std::function<void(int64_t doneBytes, int64_t totalBytes)>;
LlamaModel loadHfModel(const std::string& dir, torch::Dtype dtype = torch::kFloat, const LoadProgress& progress = {});
// Real geometries by name ("tinyllama-1.1b", "llama-3.2-1b", "llama-2-7b": their config.json
// values), for random-weight checkpoints. Throws InvalidConfig listing the choices.
std::vector<std::string> namedGeometries();
LlamaConfig namedGeometry(const std::string& name);
// A Hugging Face folder with random weights of `config` (normal(0, 0.02) matrices, norms 1),
// written shard by shard in `dtype` (at most one shard in memory: a 7B model needs no 7B of RAM),
// with `tokenizerPath` copied as tokenizer.model when given (its ids must fit the vocabulary).
void writeRandomHfModel(const LlamaConfig& config, const std::string& dir, StDtype dtype, int64_t maxShardBytes,
                        const std::string& tokenizerPath = {}, uint64_t seed = 0, const LoadProgress& progress = {});
// Writes config.json + model.safetensors (or shards of at most `maxShardBytes` with an index),
// permuting q/k when the model uses interleaved rotary pairs, and tokenizer.model when given.
void saveHfModel(LlamaModelImpl& model, const std::string& dir, const Tokenizer* tokenizer = nullptr,
                 StDtype dtype = StDtype::F32, int64_t maxShardBytes = 0);

// ---- our own format (models trained here) ----
// dir/config.json (LlamaConfig, "format": "recalign-llama"), dir/model.safetensors (HF tensor
// names, weights in the model's own rotary layout), dir/tokenizer.model, and every adapter as a
// PEFT folder dir/adapters/<name>/. Refuses a model with a merged adapter.
void saveCheckpoint(LlamaModelImpl& model, const std::string& dir, const Tokenizer* tokenizer = nullptr);
LlamaModel loadCheckpoint(const std::string& dir, torch::Dtype dtype = torch::kFloat);

// A model with its tokenizer, in any supported format.
struct LoadedModel {
    LlamaModel model{nullptr};
    Tokenizer tokenizer;  // isLoaded() false when none was found
    CheckpointFormat format = CheckpointFormat::Unknown;
    std::string tokenizer_path;
};
// `tokenizerPath` "" = the folder's tokenizer.model (HF / own), or tokenizer.model beside a
// llama2.c file. Checks the tokenizer's vocabulary fits the model's.
// `progress` hears a Hugging Face folder's bytes as they load.
LoadedModel loadAnyModel(const std::string& path, const std::string& tokenizerPath = {},
                         torch::Dtype dtype = torch::kFloat, const LoadProgress& progress = {});

// ---- PEFT adapters ----
// dir/adapter_config.json + dir/adapter_model.safetensors with keys such as
// "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight" (HF layout: q/k LoRA B rows
// are permuted when the model uses interleaved rotary pairs).
void exportPeftAdapter(const LlamaModelImpl& model, const std::string& adapter, const std::string& dir,
                       const std::string& baseModelName = {});
// Adds adapter `name` from a PEFT folder; shapes and key names must match the model.
void importPeftAdapter(LlamaModelImpl& model, const std::string& dir, const std::string& name);
// The PEFT key of a module prefix and matrix: ("layers.0.self_attn.q_proj", "A") →
// "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight".
std::string peftKey(const std::string& modulePrefix, char matrix);

}  // namespace recalign::core::llm
