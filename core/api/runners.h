// Runner entry points: what app/ and the CLI call to run an experiment or probe a checkpoint.
// Every function here catches everything and returns an Error ("never throws"); Cancelled is
// not a failure. Implemented in core/pipeline (torch); this header is torch-free.
#pragma once

#include "core/api/error.h"
#include "core/api/experiment.h"
#include "core/api/observer.h"

#include <string>
#include <utility>
#include <vector>

namespace recalign::core {

struct RunRequest {
    // The experiment, read and validated once by the caller (loadExperiment / loadExperimentText);
    // nothing downstream reads the file again.
    ExperimentConfig config;
    std::string experiment_text;    // the file's text, stored with the run
    std::string experiment_path;    // where it came from (stored and shown; "" = not from a file)
    std::string workspace;          // folder holding runs.sqlite and artifacts ("" = the experiment's, else ./workspace)
    // Run id to resume ("" = new run). A run of a seed group resumes the whole group: the run,
    // then every other seed of the group that has not finished (created when never started).
    std::string resume_run;
    std::vector<std::string> only_stages;  // e.g. {"ppo_full"}; empty = all
    long seed = -1;                 // -1 = every seed of the experiment (one group); S = that seed alone
    // The thread budget when neither RECALIGN_THREADS nor the experiment's `threads` says (the
    // GUI's Settings); 0 = the machine's cores (divided among local processes). planThreads
    // (core/api/info.h) splits it between torch and OpenBLAS.
    int default_threads = 0;
    // Local data-parallel processes (core/dist). > 1: the run is `recalign run FILE --nproc N` in a
    // child process (needs experiment_path: the workers read the file), followed through the run
    // store: its stages and metric points reach the observer as they are written, its output lines
    // as log lines, and a stop request interrupts it (it cancels and checkpoints as one process
    // does). The GUI's way to use several processes; the CLI launches with --nproc itself.
    int processes = 1;
    std::string cli_executable;     // the `recalign` CLI for processes > 1 ("" = the one beside this executable)
};

// Reads and validates the experiment file into a request (missing data or model files are
// errors); the caller fills in the rest.
Result<RunRequest> runRequestFromFile(const std::string& path);

// The thread budget a run uses: $RECALIGN_THREADS when set, else the experiment's `threads`
// when > 0, else `defaultThreads` when > 0, else localCoreBudget().
int effectiveThreads(int experimentThreads, int defaultThreads);

struct RunOutcome {
    Error error;        // None, Cancelled or a failure
    long run_id = 0;    // the id of the run that ran last (the failed or cancelled one on an error)
    long group_id = 0;  // the seed group (0 = none)
    std::vector<long> run_ids;  // every run of the group, in seed order (those not reached: absent)
    std::vector<std::pair<std::string, double>> stage_seconds;  // wall time per stage
};

// Runs (or resumes) an experiment end to end, once per seed as one seed group, writing the
// workspace store. Stages whose inputs do not depend on the seed (the data, and with the default
// teacher.seed / model.pretrain.seed the teacher and the base model) are computed by the first
// run and reused by the others. Called on a worker
// thread; progress goes to `observer`, which is also polled for stop requests.
RunOutcome runExperiment(const RunRequest& request, Observer& observer);

}  // namespace recalign::core
