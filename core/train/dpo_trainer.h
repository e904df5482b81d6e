// Offline preference optimisation from the SFT model: DPO (Rafailov et al. 2023) and S-DPO (Chen
// et al. 2024, several rejected lists per chosen one), on preferences built from the paper's
// rule-based reward. Per prompt, dpo.samples_per_prompt lists are sampled from the SFT policy and
// ranked by their total reward (sum of item rewards + list reward); the best is chosen, the
// lowest-scored one (DPO) or dpo.negatives (S-DPO) are rejected. The reference is the SFT model
// itself (the SFT adapter stays stacked beneath a new "actor" LoRA: adapters disabled = the SFT
// policy), so there is no second copy of the base. Reference log-probs are computed once.
// Checkpoints after every epoch resume exactly (a killed epoch reruns from its start); the
// sampled preferences are kept beside them, so a resumed stage does not sample again.
#pragma once

#include "core/api/experiment.h"
#include "core/api/observer.h"
#include "core/llm/llama_model.h"
#include "core/tokenizer/tokenizer.h"
#include "core/train/rl_types.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace recalign::core {

// One prompt's preference: the chosen list and its rejected ones (token ids, EOS included).
struct PreferenceGroup {
    size_t prompt = 0;  // index into the trainer's prompts
    std::vector<int32_t> chosen;
    double chosen_score = 0.0;
    std::vector<std::vector<int32_t>> rejected;
    std::vector<double> rejected_scores;
};

// What building the preferences kept and dropped, by reason.
struct PreferenceStats {
    long prompts = 0;       // prompts sampled
    long groups = 0;        // preference groups kept
    long ties = 0;          // dropped: every list scored the same (nothing to prefer)
    long all_illegal = 0;   // dropped: no list holds a legal item (no positive example)
    long short_groups = 0;  // kept with fewer rejected lists than asked (too few scored lower)
    long negatives = 0;     // rejected lists kept, in all
};

// The preference of one prompt from its sampled lists and their scores, or false when the prompt
// is dropped (counted in `stats`). Chosen: the highest total (the first sampled on a tie); rejected:
// up to `negatives` of the lowest totals strictly below it, distinct token sequences, lowest
// first. `legalItems[i]`: list i's legal items (all-illegal groups are dropped).
bool buildPreferenceGroup(const std::vector<std::vector<int32_t>>& lists, const std::vector<double>& totals,
                          const std::vector<int>& legalItems, int negatives, PreferenceGroup& out,
                          PreferenceStats& stats);

struct DpoTrainConfig {
    DpoConfig hyper = defaultExperiment().dpo;
    // The experiment's ppo: section as it is: actor_lora shapes the adapter trained, temperature /
    // top_k / top_p sample the lists.
    PpoConfig ppo = defaultExperiment().ppo;
    bool sdpo = false;              // false: DPO, one rejected list per group
    std::string stage = "dpo";
    uint64_t seed = 0;
    int max_new_tokens = 256;
    std::string output_dir;         // "" = no checkpoints
    int generation_batch = 16;      // prompts per generate() call
};

struct DpoResult {
    long steps = 0;          // optimizer steps
    PreferenceStats data;
    double last_loss = 0.0;
    double last_margin = 0.0;
    double last_accuracy = 0.0;
    double sampling_seconds = 0.0;
    double training_seconds = 0.0;
};

class DpoTrainer {
public:
    // The model is modified: existing adapters are stacked beneath a new "actor" adapter
    // (kPpoActorAdapter, so the aligned model loads as a PPO one). `tokenizer` may be null (toy
    // tasks: EOS 2, no text).
    DpoTrainer(llm::LlamaModelImpl& model, const Tokenizer* tokenizer, DpoTrainConfig config,
               std::vector<PpoPrompt> prompts, PpoReward& reward, Observer& observer);
    ~DpoTrainer();
    // Samples, ranks and trains to the end. Throws CoreException (Cancelled, Diverged, InvalidConfig
    // when no prompt gives a preference).
    DpoResult run();

private:
    struct Impl;
    std::unique_ptr<Impl> m;
};

}  // namespace recalign::core
