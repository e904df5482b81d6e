// Evaluation of one variant on the test-task suite (RECLM-GEN §6): builds the suite with the
// teacher, produces each sample's output (an LLM's greedy reply, or a recommender's top-k
// rendered as the same numbered list), parses it, and aggregates the paper's metrics per task;
// every sample is kept with its parse, legality and reward breakdown for the inspector.
#pragma once

#include "core/api/experiment.h"
#include "core/api/observer.h"
#include "core/api/store_api.h"
#include "core/data/dataset.h"
#include "core/llm/chat_template.h"
#include "core/rules/builders.h"
#include "core/rules/reward.h"
#include "core/sasrec/teacher.h"

#include <string>
#include <vector>

namespace recalign::core {
class TitleLookup;
class Tokenizer;
namespace llm {
class LlamaModelImpl;
}

struct VariantEvalOptions {
    // The experiment's evaluation section as it is: tasks, topk, users per task (0 = every user with
    // a test target), fuzzy mapping and distance, batch (prompts per generation call).
    EvaluationConfig eval = defaultExperiment().evaluation;
    int max_prompt_tokens = 512;
    int max_new_tokens = 256;
    // The suite's seed and history window (its K is eval.topk's).
    TaskOptions task;
    llm::ChatTemplate chat_template = llm::ChatTemplate::Llama2;
    // The reward of the sample details' breakdown: the experiment's (ppo.reward_variant and
    // reward_alpha, item rewards on), built where PPO's is (rewardOptions, stages.cpp).
    RewardOptions reward;
    long samples_kept = -1;          // samples stored per task (-1 = all)
    // Per-row constrained decoding (a +cd row): catalogue titles only, none repeated or from the
    // user's history, exactly the task's k; with constrained_exclude_category, I1 -C rows also
    // exclude the titles of the category.
    bool constrained_decoding = false;
    bool constrained_exclude_category = false;
};

struct VariantEvalResult {
    std::vector<EvalRecord> records;    // run_id left 0: the caller sets it
    std::vector<SampleRecord> samples;  // stage "eval", variant and task set
    std::vector<EvalUnits> units;       // per-user values behind the records (run_id left 0)
    double seconds = 0.0;
};

// The rules' task name for a table task name ("i0" -> "SFTTestSeqRec"); throws InvalidConfig.
std::string suiteTaskName(const std::string& tableTask);
// The table task name for a rules task name ("" when it is not a test task).
std::string tableTaskName(const std::string& suiteTask);

// A recommender that ignores the instruction: its top-k (history excluded) as the reply.
VariantEvalResult evaluateRecommender(const std::string& variant, const Teacher& recommender,
                                      const Dataset& data, const Teacher& teacher, const TitleLookup& lookup,
                                      const VariantEvalOptions& options, Observer& observer);

// An LLM with its currently active adapter. With options.constrained_decoding, throws
// InvalidConfig naming the user when a sample's restrictions leave fewer titles than its k.
VariantEvalResult evaluateModel(const std::string& variant, llm::LlamaModelImpl& model, const Tokenizer& tokenizer,
                                const Dataset& data, const Teacher& teacher, const TitleLookup& lookup,
                                const VariantEvalOptions& options, Observer& observer);

}  // namespace recalign::core
