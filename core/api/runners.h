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
    std::string resume_run;         // run id to resume ("" = new run)
    std::vector<std::string> only_stages;  // e.g. {"ppo_full"}; empty = all
    long seed = -1;                 // -1 = the experiment's first seed
    // The thread budget when neither RECALIGN_THREADS nor the experiment's `threads` says (the
    // GUI's Settings); 0 = the machine's cores (divided among local processes). planThreads
    // (core/api/info.h) splits it between torch and OpenBLAS.
    int default_threads = 0;
};

// Reads and validates the experiment file into a request (missing data or model files are
// errors); the caller fills in the rest.
Result<RunRequest> runRequestFromFile(const std::string& path);

// The thread budget a run uses: $RECALIGN_THREADS when set, else the experiment's `threads`
// when > 0, else `defaultThreads` when > 0, else localCoreBudget().
int effectiveThreads(int experimentThreads, int defaultThreads);

struct RunOutcome {
    Error error;        // None, Cancelled or a failure
    long run_id = 0;    // the run's id in the workspace store
    std::vector<std::pair<std::string, double>> stage_seconds;  // wall time per stage
};

// Runs (or resumes) an experiment end to end, writing the workspace store. Called on a worker
// thread; progress goes to `observer`, which is also polled for stop requests.
RunOutcome runExperiment(const RunRequest& request, Observer& observer);

}  // namespace recalign::core
