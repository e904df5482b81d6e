// Data parallelism on PyTorch's own distributed engine (c10d): where this process sits in a job
// (read from torchrun's / torch.distributed's or Slurm's environment), the rendezvous through a
// TCPStore, the process group (ProcessGroupGloo on CPU; ProcessGroupNCCL where the libtorch has
// it), the few collectives the trainers need, and the store protocol by which rank 0 (the one
// writer) tells the other ranks what it did. One job per process, as torch's default group.
// With one process every call here is a no-op. Torch types; internal to core.
#pragma once

#include "core/api/experiment.h"

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace recalign::core::dist {

// Where this process sits in a job.
struct Placement {
    int rank = 0;
    int world = 1;
    int local_rank = 0;
    int local_world = 1;
    std::string master_addr = "127.0.0.1";
    int master_port = 29500;
    bool agent_store = false;  // the launcher hosts the store (torchrun, recalign run --nproc): connect as a client
    int restart = 0;           // TORCHELASTIC_RESTART_COUNT (the store's key prefix under torchrun)
    std::string launcher;      // "torchrun" (or torch.distributed's variables), "slurm", "recalign", "" = none
};

// Reads RANK / WORLD_SIZE / LOCAL_RANK / LOCAL_WORLD_SIZE / MASTER_ADDR / MASTER_PORT (torchrun,
// `recalign run --nproc`), else Slurm's SLURM_PROCID / SLURM_NTASKS / SLURM_LOCALID /
// SLURM_NTASKS_PER_NODE and the first host of SLURM_JOB_NODELIST (MASTER_ADDR / MASTER_PORT still
// win when set). Nothing set: one process. A malformed value throws InvalidConfig naming the
// variable and what was expected.
Placement placementFromEnvironment();

// Joins the job with the experiment's `distributed:` section (backend auto: nccl on CUDA when built
// with it, else gloo; timeout_s for collectives and waits on rank 0): TCPStore rendezvous, the
// process group, a heartbeat. No-op for world 1 and when already joined with the same placement.
// Throws CoreException (InvalidConfig for a backend this build lacks, Internal when the rendezvous
// fails, naming the address).
void init(const Placement& placement, const DistributedConfig& config, const torch::Device& device);
// Leaves the job (the heartbeat stops). Called at process exit; safe to call twice.
void shutdown();

bool active();    // joined a job of more than one process
int rank();       // 0 when not active
int world();      // 1 when not active
bool isWriter();  // rank 0: owns the run store, the artifacts and the checkpoints
std::string describe();  // "rank 1 of 2 (gloo, torchrun)" / "one process"
const Placement& placement();

// Collectives (no-ops when not active). A peer that died or hung turns into a CoreException
// naming the rank(s) that stopped, within the configured timeout.
// Sums the tensors over ranks in place, through one flat float32 buffer (all must be defined).
void allreduceSum(std::vector<torch::Tensor>& tensors);
// Sums the values over ranks in place.
void allreduceSum(std::vector<double>& values);
// Concatenates each rank's bytes in rank order (every rank gets all of them).
std::vector<std::string> allgather(const std::string& bytes);
void barrier();
// Seconds spent inside collectives since init (the communication time of the trainers' steps).
double commSeconds();

// The writer's store protocol: rank 0 publishes a value; the others wait for it while rank 0's
// heartbeat goes on (a stopped rank 0 is an error after the timeout).
void publish(const std::string& key, const std::string& value);
std::string awaitFromWriter(const std::string& key);

// A launcher's store (recalign run --nproc, as torchrun's agent): a TCPStore server the workers
// connect to; records a worker's exit so the others can name it.
class StoreHost {
public:
    explicit StoreHost(int port);  // 0 = a free port
    ~StoreHost();
    int port() const;
    void recordExit(int rank, int status);
private:
    struct Impl;
    std::unique_ptr<Impl> m;
};

}  // namespace recalign::core::dist
