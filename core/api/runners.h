// Runner entry points: what app/ and the CLI call to run an experiment or probe a checkpoint.
// Every function here catches everything and returns an Error ("never throws"); Cancelled is
// not a failure. Implemented in core/pipeline (torch); this header is torch-free.
#pragma once

#include "core/api/error.h"
#include "core/api/observer.h"

#include <string>
#include <utility>
#include <vector>

namespace recalign::core {

struct RunRequest {
    std::string experiment_path;    // YAML file
    std::string workspace;          // folder holding store.sqlite and artifacts ("" = ./workspace)
    std::string resume_run;         // run id to resume ("" = new run)
    std::vector<std::string> only_stages;  // e.g. {"ppo_full"}; empty = all
    long seed = -1;                 // -1 = the experiment's first seed
};

struct RunOutcome {
    Error error;        // None, Cancelled or a failure
    long run_id = 0;    // the run's id in the workspace store
    std::vector<std::pair<std::string, double>> stage_seconds;  // wall time per stage
};

// Runs (or resumes) an experiment end to end, writing the workspace store. Called on a worker
// thread; progress goes to `observer`, which is also polled for stop requests.
RunOutcome runExperiment(const RunRequest& request, Observer& observer);

}  // namespace recalign::core
