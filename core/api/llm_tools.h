// LLM tools: what `recalign generate`, `recalign pretrain`, `recalign bench llm` and
// `recalign bench train` run. Torch-free; implemented in core/tools. Never throws (see tools.h).
#pragma once

#include "core/api/experiment.h"
#include "core/api/tools.h"

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace recalign::core {

// `recalign generate`: loads a llama2.c .bin, Hugging Face folder or recalign checkpoint folder
// and prints the prompt and its continuation.
struct GenerateRequest {
    std::string model;                   // checkpoint path
    std::string tokenizer;               // "" = the folder's tokenizer.model
    std::string prompt;
    long max_new_tokens = 256;
    std::optional<long> steps;           // llama2.c's -n: positions counted from the prompt's start
    long min_new_tokens = 0;
    double temperature = 1.0;            // 0 = greedy
    long top_k = 0;
    double top_p = 0.9;
    double repetition_penalty = 1.0;
    uint64_t seed = 0;
    std::string device = "cpu";
    std::string dtype = "float32";       // float32 | bfloat16 | float16 (and short forms)
    std::optional<std::string> adapter;  // PEFT LoRA folder
    std::optional<std::string> chat;     // chat template: llama2 | compact (unset = raw prompt)
    std::string system;                  // system prompt (with chat)
    long num = 1;                        // samples generated in one batch
    bool fast_path = true;               // false = the generic torch path
};
// The text goes to `out`, the achieved tokens/s line to `err`.
ToolStatus runGenerate(const GenerateRequest& request, std::ostream& out, std::ostream& err);

// `recalign general`: the general-ability columns (MMLU, GSM8K) for any model, as an experiment's
// evaluation computes them (core/pipeline/general_eval.h): MMLU from a file or a folder of subjects
// (test/ + dev/ as published: per-subject and macro-averaged accuracy), GSM8K from JSON lines;
// accuracy, n, standard error and how many prompts were cut to fit the context.
struct GeneralRequest {
    std::string model;                   // checkpoint path
    std::string tokenizer;               // "" = the folder's tokenizer.model
    std::optional<std::string> adapter;  // PEFT LoRA folder
    std::string mmlu;                    // "" = no MMLU
    std::string gsm8k;                   // "" = no GSM8K
    std::optional<int> mmlu_k_shot, gsm8k_k_shot, limit, batch, gsm8k_max_new_tokens;  // unset = evaluation.*'s defaults
    std::string device = "cpu";
    std::string dtype = "float32";
    std::string samples;                 // "" = none; else every scored question as a JSON line there
};
ToolStatus runGeneral(const GeneralRequest& request, std::ostream& out);

// `recalign pretrain`: trains a tokenizer and a small Llama on a corpus (one document per line).
struct PretrainRequest {
    std::string corpus;
    std::string out;                 // checkpoint folder to write
    int vocab_size = 512;
    std::string chat = "compact";
    // The architecture, as the experiment's `model:` keys: dim, n_layers, n_heads, n_kv_heads (0 =
    // n_heads), hidden_dim (0 = the Llama rule), max_seq_len; its pretrain section is not read.
    ModelConfig model;
    int seq = 128;
    int batch = 16;
    long steps = 0;                  // 0 = from epochs
    double epochs = 1.0;
    double lr = 1e-3;
    std::optional<double> min_lr;    // unset = lr / 10
    long warmup = -1;                // -1 = default
    std::string schedule = "cosine";
    double weight_decay = 0.1;
    uint64_t seed = 0;
    std::string device = "cpu";
};
ToolStatus runPretrain(const PretrainRequest& request, std::ostream& out);

// `recalign bench llm`: generation tokens/s and training throughput.
struct BenchLlmRequest {
    std::string model;              // checkpoint path
    int new_tokens = 256;
    int repeats = 5;
    std::vector<int> batches = {1, 32};
    std::string device = "cpu";
    bool generic = false;           // also time the generic path on the CPU
    bool train = true;              // time training steps too
    int train_seq = 256;
    int train_batch = 16;
    int train_steps = 5;
};
ToolStatus runBenchLlm(const BenchLlmRequest& request, std::ostream& out);

// `recalign logits`: the model's logits for given token ids (every position), as JSON — what the
// interop tests compare with transformers and peft. `export_adapter` re-exports the loaded
// adapter through the project's PEFT writer.
struct LogitsRequest {
    std::string model;                   // any supported checkpoint
    std::optional<std::string> adapter;  // a PEFT adapter folder applied on top
    std::string export_adapter;          // "" = none: write the loaded adapter here (PEFT format)
    std::vector<int64_t> tokens;
    std::string dtype = "float32";
};
ToolStatus runLogits(const LogitsRequest& request, std::ostream& out);

// `recalign random-model`: a Hugging Face folder with random weights of a named real geometry
// (llm::namedGeometry), written shard by shard in `dtype`, with `tokenizer` copied in.
struct RandomModelRequest {
    std::string shape;
    std::string dtype = "bfloat16";  // float32 | bfloat16 | float16
    std::string out;
    std::string tokenizer;           // a sentencepiece .model whose ids fit the vocabulary ("" = none)
    int64_t shard_mib = 2048;
    uint64_t seed = 0;
};
ToolStatus runRandomModel(const RandomModelRequest& request, std::ostream& out);

// `recalign bench train`: SFT tokens/s and PPO seconds per iteration on the quickstart-size model.
struct BenchTrainRequest {
    long sft_steps = 8;
    long ppo_iterations = 3;
    int threads = 0;                // the thread budget, split as a run splits it (0 = the cores)
    int dim = 64;
    int layers = 4;
    int heads = 4;
    int batch = 16;                 // SFT batch
    int max_new_tokens = 160;       // PPO responses
    std::string device = "cpu";
    std::string compute_dtype = "float32";  // the products' dtype: float32 | bfloat16 | auto
    bool gradient_checkpointing = false;    // sft/ppo.gradient_checkpointing for both parts
    std::string json_out;           // write the figures as JSON here ("" = no)
    std::string compare;            // an earlier run's JSON: print this run's ratios to it ("" = no)
};
ToolStatus runBenchTrain(const BenchTrainRequest& request, std::ostream& out);
// `recalign bench train --nproc N`: the benchmark measured in one run of the command as one
// process and then as N local data-parallel processes at the same global batches (`worker_argv`
// is the command each runs; "--json FILE" is appended): SFT tokens/s of both, the scaling
// efficiency (N-process tokens/s over N times the 1-process figure), the all-reduce time per
// step, and PPO seconds per iteration of both.
ToolStatus runBenchTrainScaling(const std::vector<std::string>& worker_argv, int nproc, std::ostream& out);

// `recalign bench scale`: a real geometry with random weights (written once, shard by shard, into
// `dir`), loaded in `dtype`: load time and peak RSS, forward and decode tokens/s, one LoRA SFT step
// with and without gradient checkpointing, against the machine's matmul rate at those shapes.
struct BenchScaleRequest {
    std::string shape = "tinyllama-1.1b";  // tinyllama-1.1b | llama-3.2-1b | llama-2-7b
    std::string dtype = "bfloat16";        // float32 | bfloat16 (the storage dtype)
    std::string dir;                       // "" = $XDG_CACHE_HOME/recalign/random-<shape>-<dtype>
    std::string device = "cpu";
    int threads = 0;                       // the thread budget (0 = the cores)
    int tokens = 128;                      // sequence length of the forward and the SFT step
    int batch = 1;                         // sequences per SFT step
    int new_tokens = 8;                    // generated tokens (generation and the PPO rollout)
    int gen_prompt_tokens = 128;           // prompt length of the generation part
    std::vector<int> gen_batches{1};       // generation batch sizes measured
    int ppo_prompts = 1;                   // PPO iteration: prompts x samples responses
    int ppo_samples = 2;
    int ppo_micro_batch = 1;               // responses per learning forward / backward
    // The device's dense peak (TFLOP/s, in the dtype) and memory bandwidth (GB/s) for utilisation
    // figures; 0 = known by its name (H100, H200, A100), none on the CPU (its matmul rate is used).
    double peak_tflops = 0.0;
    double bandwidth_gbs = 0.0;
    int64_t shard_mib = 2048;              // shard size of a generated checkpoint
    std::string json_out;
};
ToolStatus runBenchScale(const BenchScaleRequest& request, std::ostream& out);

}  // namespace recalign::core
