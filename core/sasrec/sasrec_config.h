// SASRec settings: the model's hyperparameters (saved in every checkpoint) and the trainer's
// settings, with JSON round trip and `--key value` style setters for the CLI and experiment
// files. Torch-free. Defaults are the reference settings of kang205/pmixer (ANCHORS §A.1).
#pragma once

#include "core/api/device.h"
#include "core/api/experiment.h"
#include "core/sasrec/evaluation.h"

#include <cstdint>
#include <string>
#include <vector>

namespace recalign::core {

// The SASRec settings that name a choice, as enums parsed once (JSON, CLI options, the experiment's
// teacher section); their text names are the JSON and CLI spelling.
using SasRecNorm = TeacherConfig::LayerNorm;  // qonly: kang205/pmixer original (only Q normalised,
                                              // final LN); pre: pre-LN blocks + final LN; post:
                                              // RecBole/UniRec (input LN, post-LN)
using SasRecLoss = TeacherConfig::Loss;       // bce: one positive + sampled negatives; ce: full softmax
enum class SasRecActivation { Relu, Gelu };   // relu (kang205/pmixer) | gelu (RecBole/UniRec)
enum class SasRecInit { Xavier, Normal };     // xavier (pmixer) | normal N(0, 0.02) (RecBole/UniRec)
const char* choiceName(SasRecNorm v);         // "qonly" | "pre" | "post"
const char* choiceName(SasRecLoss v);         // "bce" | "ce"
const char* choiceName(SasRecActivation v);   // "relu" | "gelu"
const char* choiceName(SasRecInit v);         // "xavier" | "normal"

struct SasRecConfig {
    int64_t num_items = 0;        // catalogue size N from the dataset; the table has N+1 rows (0 = padding)
    int hidden = 50;              // d (pmixer 50, UniRec 128)
    int blocks = 2;               // transformer blocks
    int heads = 1;                // attention heads; must divide hidden
    int maxlen = 200;             // history window; the most recent item sits at position maxlen-1
    int ffn_hidden = 0;           // inner width of the point-wise FFN; 0 = hidden (pmixer), UniRec 256
    double dropout = 0.2;         // embedding and FFN dropout (post: also the attention output)
    double attn_dropout = -1.0;   // dropout on attention probabilities; < 0 = same as dropout
    SasRecNorm norm = SasRecNorm::QOnly;
    SasRecActivation activation = SasRecActivation::Relu;
    bool scale_embedding = true;  // item embedding × sqrt(d) (kang205/pmixer); RecBole/UniRec: false
    double layer_norm_eps = 1e-8; // pmixer 1e-8, RecBole 1e-12
    SasRecInit init = SasRecInit::Xavier;

    double attnDropout() const { return attn_dropout < 0 ? dropout : attn_dropout; }
    int ffnHidden() const { return ffn_hidden > 0 ? ffn_hidden : hidden; }
    // Throws CoreException(InvalidConfig) naming the key when a value is out of range.
    void validate() const;
};

struct SasRecTrainConfig {
    SasRecConfig model;
    SasRecLoss loss = SasRecLoss::Bce;  // bce: one positive + `negatives` sampled negatives per position
                                        // (original); ce: full softmax over the catalogue (released teacher)
    int negatives = 1;            // bce negatives per position, uniform over items not in the user's train sequence
    double lr = 1e-3;
    double beta1 = 0.9;
    double beta2 = 0.98;          // pmixer/kang205 0.98; torch default 0.999
    double adam_eps = 1e-8;
    double weight_decay = 0.0;
    int batch_size = 128;         // users per step; an epoch is ceil(users / batch) full batches
    int epochs = 200;
    int eval_every = 20;          // validate every N epochs and after the last; 0 = only after the last
    EvalProtocol valid_protocol = EvalProtocol::Sampled;  // the validation metric for early stopping
    int patience = 0;             // early stopping after N validations without valid NDCG@10 gain; 0 = off
    bool restore_best = true;     // with early stopping, end with the best-validation weights
    bool lr_plateau = false;      // ReduceLROnPlateau on valid NDCG@10
    double plateau_factor = 0.5;
    int plateau_patience = 2;     // validations without gain before the lr is multiplied by the factor
    double min_lr = 0.0;
    bool length_buckets = true;   // split each batch into length-sorted sub-batches (same samples, same loss;
                                  // padding columns are not computed)
    uint64_t seed = 42;
    DeviceSpec device;            // cpu (default) | cuda | cuda:N | auto
    int eval_negatives = 100;     // sampled protocol: target + N uniform negatives the user never interacted with
    int eval_batch = 128;         // users per scoring batch in evaluation
    uint64_t eval_seed = 2024;    // sampled-protocol negatives (fixed, so epochs are comparable)
    std::string checkpoint_path;  // written every `checkpoint_every` epochs and at the end; empty = none
    int checkpoint_every = 0;     // 0 = only at the end
    std::string resume_from;      // continue a run from its checkpoint (same model config and dataset)

    void validate() const;
};

// The experiment's `teacher:` section as the trainer's settings: layer_norm post is the released
// teacher's RecBole / UniRec recipe (GELU, no embedding scaling, LN eps 1e-12, N(0, 0.02) init, FFN
// 2 x hidden); validation by the full-ranking protocol every epoch.
SasRecTrainConfig sasRecTrainConfig(const TeacherConfig& teacher, int64_t numItems, uint64_t seed, DeviceSpec device);

// JSON text of the configs (the checkpoint's "config" entry) and back. fromJson throws
// CoreException(InvalidConfig / CheckpointIO) naming the key; unknown keys are errors.
std::string toJson(const SasRecConfig& c);
SasRecConfig sasRecConfigFromJson(const std::string& json);
std::string toJson(const SasRecTrainConfig& c);
SasRecTrainConfig sasRecTrainConfigFromJson(const std::string& json);

// `--key value` setters shared by the CLI commands: keys use dashes ("hidden", "attn-dropout",
// "beta2", "loss", ...). Throws CoreException(InvalidConfig) for an unknown key or bad value.
void setSasRecOption(SasRecTrainConfig& c, const std::string& key, const std::string& value);
// Boolean options that take no value on the command line ("no-buckets", "lr-plateau", ...).
void setSasRecFlag(SasRecTrainConfig& c, const std::string& flag);
const std::vector<std::string>& sasRecOptionKeys();  // keys taking a value
const std::vector<std::string>& sasRecFlagKeys();    // flags
// One line: "hidden 50, blocks 2, heads 1, maxlen 200, dropout 0.2, norm qonly, ...".
std::string describe(const SasRecTrainConfig& c);

}  // namespace recalign::core
