// trainSasRec: trains the SASRec teacher on a Dataset's leave-one-out train sequences (BCE with
// sampled negatives or full-softmax CE), validates, early-stops, checkpoints and resumes, and
// reports every epoch through the Observer (stage "teacher"). Torch-free header.
//
// Determinism: on CPU a seed fixes the run bit for bit for a given thread count. Users are
// drawn from a shuffled stream (pmixer HEAD), negatives and dropout masks come from the
// trainer's own SasRecRng streams, initialisation from its own torch generator; no sampler
// threads. A resumed run continues exactly as the uninterrupted one.
#pragma once

#include "core/api/observer.h"
#include "core/sasrec/evaluation.h"
#include "core/sasrec/sasrec_config.h"

#include <string>
#include <vector>

namespace recalign::core {

struct SasRecEpochRecord {
    int epoch = 0;             // 1-based
    double loss = 0.0;         // mean training loss over the epoch's batches
    double seconds = 0.0;      // training wall time of the epoch (sampling + forward + backward + step)
    double cpu_seconds = 0.0;  // process CPU time of the same (all threads; robust on a busy machine)
    double learning_rate = 0.0;
    bool evaluated = false;
    RankingMetrics valid;      // when evaluated, under SasRecTrainResult::valid_protocol
};

struct SasRecTrainResult {
    int epochs_run = 0;             // epochs completed in total (resumed runs count earlier ones)
    int best_epoch = 0;             // epoch of the best validation NDCG@10 (0 = never validated)
    double best_valid_ndcg10 = 0.0;
    bool stopped_early = false;
    bool restored_best = false;     // the final weights are the best-validation ones
    EvalProtocol valid_protocol = EvalProtocol::Sampled;
    std::vector<SasRecEpochRecord> history;  // every epoch, in order (including resumed ones)
    long sequences_per_epoch = 0;   // training sequences per epoch (batches × batch size)
    double median_epoch_seconds = 0.0;   // wall, over the epochs run in this call
    double median_epoch_cpu_seconds = 0.0;  // process CPU time, same epochs
    double sequences_per_second = 0.0;   // training throughput of this call
    EvalResult full;                // final weights, full ranking, valid and test
    EvalResult sampled;             // final weights, sampled protocol, valid and test
    std::string checkpoint_path;    // written at the end (empty if none)
};

// Observer: stage "teacher" gets one StepRecord per epoch (loss, epoch_time_s, epoch_cpu_s,
// train_seqs_per_s, learning_rate and, when validated, valid_<protocol>/{hr,ndcg}@{5,10,20}
// and /mrr); stage "teacher_eval" gets one record with the final valid_/test_ x full/sampled
// metrics. Log lines: settings, resume, lr changes, early stop.
// Throws CoreException: InvalidConfig (bad settings), CheckpointIO (resume file unreadable or
// from another dataset/model), Diverged (NaN/Inf loss, naming the epoch and batch), Cancelled
// (observer.stopRequested(); the last periodic checkpoint stays valid for resuming).
SasRecTrainResult trainSasRec(const Dataset& data, const SasRecTrainConfig& config, Observer& observer);

// Threads: torch's intra-op count as set by the application (setComputeThreads); while it is
// > 1, training runs OpenBLAS single-threaded (restored afterwards), because the two pools spin
// against each other.

}  // namespace recalign::core
