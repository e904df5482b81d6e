// Sample builders: SFT epochs (RECLM-GEN §3.5, §3.6; labels per §2.4), RL prompts (§3.5 RL
// rows) and the validation/test suite (§3.5, §6.1). Deterministic given (seed, epoch): every
// sample draws from its own stream mixSeed(seed, epoch, task, datum), so results do not depend
// on batching, and every epoch re-samples. Teacher calls are batched (scoreBatch over
// `teacher_batch` histories at once). Torch-free: any Teacher implementation works.
#pragma once

#include "core/rules/general.h"
#include "core/rules/sample.h"
#include "core/sasrec/teacher.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace recalign::core {

struct TaskOptions {
    uint64_t seed = 0;
    int max_history = 10;        // history window (§1.5)
    int topk = 10;               // the "10" of every sampling rule
    LeWording le_wording = LeWording::Seed;  // ≤ templates: "less than or equal to" (seed) / "less than"
    int teacher_batch = 256;     // histories per Teacher::scoreBatch call
    // RECLM-GEN §9.4: reproduce the RL CategoryRate bug (stated p = floor(10·tcic/k)·10 %, which
    // disagrees with category_count when k ≠ 10). Off: p = tcic/k exactly (text rounded to 1 %).
    bool released_rl_rate_bug = false;
};

// Throws CoreException(InvalidConfig) naming the field when an option is out of range.
void validateTaskOptions(const TaskOptions& options);

// Why datums produced no sample, and how many samples each task produced.
struct BuildReport {
    std::map<std::string, long> produced;  // task name → samples
    std::map<std::string, long> skipped;   // "task: reason" → datums
};

// ---- SFT -----------------------------------------------------------------------------------
enum class SftTask { SeqRec, SeqRecPalr, PersonalControl, CategoryRate, ControlRecRe, ShareGpt };
const char* sftTaskName(SftTask t);  // the released names: "SFTSeqRec", "SFTSeqRecPALR", ...

// The released recipes (§5.6): v1 = I0 only; v2 = I0–I4 with the ShareGPT ratio; palr = the
// PALR baseline (real next items, no teacher).
enum class SftMix { V1, V2, Palr };
SftMix parseSftMix(const std::string& name);  // "v1" | "v2" | "palr"

struct SftOptions {
    TaskOptions task;
    SftMix mix = SftMix::V2;
    double share_gpt_ratio = 0.5;   // I4 samples = int(ratio · recommendation samples) (v2)
    // I4 conversations; null = catalogueConversations(data, seed) (built once per call); an empty
    // set = no I4 samples.
    std::shared_ptr<const std::vector<Conversation>> general;
    GeneralSampleOptions general_options;
    bool shuffle = true;            // shuffle the epoch (deterministically per epoch)
};

// One SFT task for one epoch: one datum per user (I0, I1, I2, PALR) or per item with a
// category (I3). ShareGpt needs `count` (ignored otherwise).
std::vector<Sample> buildSftTask(SftTask task, const Dataset& data, const Teacher* teacher, const SftOptions& options,
                                 int epoch, long count = 0, BuildReport* report = nullptr);

// The whole SFT epoch of `options.mix` (§3.6).
std::vector<Sample> buildSftEpoch(const Dataset& data, const Teacher* teacher, const SftOptions& options, int epoch,
                                  BuildReport* report = nullptr);

// ---- RL --------------------------------------------------------------------------------------
// The six RL train tasks (scripts/rl_train.sh): one datum per user per task, k ~ U{6..10}.
enum class RlTask { SeqRec, ControlInclude, ControlExclude, RateLP, RateMP, RateEP };
const char* rlTaskName(RlTask t);  // "RLSeqRec", "RL+PersonalControlRec", ...
std::vector<RlTask> allRlTasks();

std::vector<Sample> buildRlPrompts(const Dataset& data, const Teacher& teacher, const TaskOptions& options, int epoch,
                                   const std::vector<RlTask>& tasks = allRlTasks(), BuildReport* report = nullptr);

// ---- validation / test -----------------------------------------------------------------------
struct EvalTask {
    TaskKind kind = TaskKind::SeqRec;
    Control control = Control::None;
    TemplateId template_id = TemplateId::SeqRec0;
    int percent = 0;             // I2: p of "p %"
    std::string name() const;    // "SFTTestSeqRec", "SFT+TestPersonalControlRec", "SFTTestPersonalCategoryRateLP1_20", ...
    // Accepts the released names (SFTTest…, RL… validation names) and the short forms
    // i0, i1+, i1-, i2le[_P], i2ge[_P], i2approx[_P], i2lp[_P], itemcount, i3, i3-.
    static EvalTask parse(const std::string& name);
};
// scripts/tasks_test.sh: I0, I1 +C, I1 −C, I2 ≤ 20 % (LP1), I2 ≈ 30 % (EP), I2 ≥ 30 % (MP), ItemCount.
std::vector<EvalTask> defaultTestTasks();
// RL validation: I0, +C, −C, LP_20, MP_30, EP_50, ItemCount.
std::vector<EvalTask> rlValidationTasks();

struct SuiteOptions {
    TaskOptions task;
    Stage split = Stage::Test;       // Test: history seq[-11:-1], target seq[-1]; Valid: seq[-12:-2], seq[-2]
    long users_per_task = 0;         // 0 = every user with evaluation targets
    bool disjoint_slices = false;    // task j takes users [j·n, (j+1)·n) of the eligible users (§6.3)
    // ref_list for −C / LP categories: the model's own I0 outputs (test); missing users fall
    // back to the teacher's top-k.
    std::shared_ptr<const std::map<UserIndex, std::vector<ItemId>>> ref_lists;
};

// Overrides for a single eval sample (the CLI's --category / --proportion / --k).
struct EvalOverrides {
    CategoryId category = -1;
    int percent = -1;
    int item_count = -1;
};

// One eval sample for user u; `refList` picks the −C / LP category (ignored by other tasks).
// Returns false (with `why`) when the user cannot make this sample (no targets, no category).
bool buildEvalSample(const Dataset& data, const EvalTask& task, UserIndex u, const SuiteOptions& options,
                     const std::vector<ItemId>& refList, long index, const EvalOverrides& overrides, Sample& out,
                     std::string* why = nullptr);

std::vector<Sample> buildEvalSuite(const Dataset& data, const Teacher& teacher, const SuiteOptions& options,
                                   const std::vector<EvalTask>& tasks = defaultTestTasks(), BuildReport* report = nullptr);

// find_maximum_category (§3.5): per category not containing `target`, the number of ref
// items in it. Sft: all categories tied at the maximum; Rl: all with count ≥ min(minCount, max).
// Empty categories are never returned; ascending category id (so .back() = the released [-1]).
std::vector<CategoryId> findMaximumCategories(const Dataset& data, const std::vector<ItemId>& refList, ItemId target,
                                              bool rlSemantics, int minCount = 2);

// The train-mode window of §1.5 for user u: t ~ U{1..|S|−1}, s ~ U{max(0, t−maxHistory)..t−1}.
// False when the training sequence has fewer than 2 items.
bool drawTrainWindow(const Dataset& data, UserIndex u, Rng& rng, int maxHistory, std::vector<ItemId>& history,
                     ItemId& target, size_t* targetIndex = nullptr);

}  // namespace recalign::core
