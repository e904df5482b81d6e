// Launching a data-parallel job from the CLI or the GUI without torchrun (torch-free header;
// implemented in core/dist). `recalign run FILE --nproc N` starts N local workers of itself, as
// torchrun's standalone mode does: it hosts the job's TCPStore, gives every worker RANK,
// WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT, and waits for them.
#pragma once

#include <string>
#include <vector>

namespace recalign::core {

struct LocalLaunch {
    int nproc = 2;
    std::vector<std::string> argv;  // the worker's command line (argv[0] = the executable to run)
    double timeout_s = 300.0;       // after one worker fails, how long the others get to stop by themselves
};

struct LaunchOutcome {
    int status = 0;               // 0 when every worker succeeded, else the first failing worker's exit status
    int failed_rank = -1;         // the first worker that failed (-1 = none)
    std::string message;          // what happened, naming the rank and how it ended
};

// Starts the workers, records each one's end in the job's store (so the survivors name a dead
// rank) and stops the rest with SIGTERM, then SIGKILL, when one fails and they do not follow
// within the timeout. SIGINT / SIGTERM to the launcher are passed on to the workers.
LaunchOutcome launchLocalWorkers(const LocalLaunch& launch);

// This process's rank in a data-parallel job from the launcher's environment (RANK, or Slurm's
// SLURM_PROCID when SLURM_NTASKS > 1); 0 when not in one.
int launchedRank();

}  // namespace recalign::core
