// Internal to core/pipeline: what one experiment run carries through its stages (the validated
// configuration, the store, the workspace, the observer, the resolved device) and the stage
// cache's entry points. Torch (included only by core/pipeline .cpp files).
#pragma once

#include "core/api/experiment.h"
#include "core/api/runners.h"
#include "core/api/store_api.h"
#include "core/pipeline/general_eval.h"
#include "core/pipeline/store_observer.h"

#include <nlohmann/json_fwd.hpp>
#include <torch/types.h>

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace recalign::core::pipeline_detail {

struct Ctx {
    ExperimentConfig cfg;
    RunStore store;
    int64_t run = 0;
    uint64_t seed = 0;
    std::string workspace;
    std::set<std::string> only;
    std::unique_ptr<StoreObserver> obs;
    RunOutcome* outcome = nullptr;
    torch::Device device{torch::kCPU};
    GeneralSuite general;      // MMLU / GSM8K files (evaluation.mmlu_path / gsm8k_path)
    std::string general_hash;  // their content hash ("" = none): an input of the LLM eval stages
    // Data parallel (core/dist): a rank other than 0 follows rank 0 through the stages: it joins
    // the data-parallel ones (dataParallelStage), waits for the rest, and writes nothing shared
    // (its own store lives under <workspace>/ranks/<rank>/). `dist_seq` numbers the stages.
    bool follower = false;
    long dist_seq = 0;
};

// RunRequest::processes > 1 (process_run.cpp): the CLI with --nproc in a child process, followed
// through the store and its output.
RunOutcome runInProcesses(const RunRequest& request, Observer& observer);

// Stages whose batches are split over the ranks of a data-parallel job (the SASRec teacher, the
// from-scratch base model's pre-training, SFT, the RL stages); rank 0 runs the others (DPO,
// evaluation) alone while the other ranks wait for its outcome.
bool dataParallelStage(const std::string& name);

// ---- the content-addressed stage cache (stage_cache.cpp) -------------------------------------------

// The content address of a stage: its name, config section(s), seed and input hashes.
std::string stageHash(const std::string& name, const std::string& configJson, const std::vector<std::string>& inputs,
                      uint64_t seed);

// The config sections as canonical JSON without the general-ability keys: the MMLU / GSM8K files
// and settings change only the LLM variants' evaluation, not SFT nor the recommenders' evaluation.
std::string configJsonWithoutGeneral(const ExperimentConfig& cfg, const std::vector<std::string>& sections);

// Runs `body(dir)` in <workspace>/artifacts/<name>-<hash16>/ unless the stage's outputs exist
// (DONE.json); records the stage in the store; returns the marker's JSON plus "dir".
// The stage's torch RNG starts from (name, ctx.seed); the overload names the seed of a stage
// that a seed group shares (teacher.seed, model.pretrain.seed).
nlohmann::json runStage(Ctx& ctx, const std::string& name, const std::string& hash,
                        const std::function<nlohmann::json(const std::string& dir)>& body);
nlohmann::json runStage(Ctx& ctx, const std::string& name, const std::string& hash, uint64_t seed,
                        const std::function<nlohmann::json(const std::string& dir)>& body);

}  // namespace recalign::core::pipeline_detail
