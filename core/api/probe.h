// Probe: one prompt through one checkpoint of a finished run (any variant), with the parsed,
// judged list and its reward breakdown; what the GUI's Probe tab and `recalign probe` show.
// Torch-free; implemented in core/pipeline. Never throws.
#pragma once

#include "core/api/error.h"

#include <string>
#include <utility>
#include <vector>

namespace recalign::core {

struct ProbeRequest {
    std::string workspace;       // folder with runs.sqlite
    long run_id = 0;
    std::string variant;         // v1 | v2 | v3 | full | palr | zeroshot | sasrec | mostpop
    // Instead of a variant's weights: any model (a llama2.c file, a Hugging Face folder, our own
    // checkpoint folder such as a run's full fine-tuning output) and PEFT adapter folders (a
    // run's SFT adapter or PPO actor, one trained elsewhere). "" = the run's base model. With
    // several adapters, all but the last are stacked beneath the last (as PPO trains an actor on
    // the SFT adapter). An adapter may also be a trainer checkpoint file a run kept
    // (ProbeCatalogue::checkpoints). Either field set makes the variant "custom".
    std::string model_path;
    std::vector<std::string> adapters;
    std::string task = "i0";     // i0 | i1+ | i1- | i2le | i2ge | i2approx | i3 | free
    long user = -1;              // dataset user index whose test history is used (-1 = `history`)
    std::vector<std::string> history;  // item titles, oldest first (when user < 0)
    std::string category;        // target category name (I1, I2, I3)
    int proportion_percent = 20; // I2
    int k = 10;                  // items requested
    std::string free_text;       // task "free": the user's own instruction
    // Decoding.
    double temperature = 0.0;    // 0 = greedy
    int top_k = 0;
    double top_p = 1.0;
    bool constrained = false;    // trie over catalogue titles
    int max_new_tokens = 256;
    long seed = 0;
    std::string reward_variant = "paper";  // paper | recai
};

struct ProbeItem {
    std::string title;
    long item = 0;               // 0 = not in the catalogue
    std::string legality;        // legal | beyond_k | non_existent | duplicate | in_history
    bool in_category = false;
    bool has_category = false;   // the task has a target category
    bool is_target = false;
    long rank = -1;              // teacher's 0-based catalogue rank (-1 = none)
    double reward = 0.0;         // item reward
};

struct ProbeResult {
    Error error;
    std::string prompt;                       // the rendered chat prompt
    std::string output;                       // the raw generated text
    std::vector<std::string> tokens;          // generated pieces
    std::vector<double> logprobs;             // one per generated piece
    std::vector<ProbeItem> items;
    double list_reward = 0.0;
    std::vector<std::pair<std::string, double>> breakdown;  // every reward term
    std::string details_json;                 // the same, as the inspector's JSON
    double seconds = 0.0;
};

// Runs on the caller's thread (the GUI calls it on a worker).
ProbeResult runProbe(const ProbeRequest& request);

// A trainer state a run kept (the latest of a stage, finished or not, and PPO's best), as the
// model and adapters a ProbeRequest takes to probe it.
struct ProbeCheckpoint {
    std::string stage;                  // sft_v2, ppo_full, ...
    std::string kind;                   // latest | best
    long step = 0;                      // SFT optimizer step or PPO iteration it holds
    std::string model_path;             // "" = the run's base
    std::vector<std::string> adapters;  // the state file last, what it trained on beneath it
};

// Catalogue titles, category names and the number of users of a run's dataset (for completers).
struct ProbeCatalogue {
    Error error;
    std::vector<std::string> titles;
    std::vector<std::string> categories;
    long users = 0;
    std::vector<std::string> variants;  // variants with a checkpoint in this run
    std::vector<ProbeCheckpoint> checkpoints;
};
ProbeCatalogue probeCatalogue(const std::string& workspace, long runId);

}  // namespace recalign::core
