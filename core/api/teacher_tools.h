// Teacher tools: what `recalign teacher` and `recalign bench sasrec` run. Torch-free;
// implemented in core/tools. Never throws (see tools.h).
#pragma once

#include "core/api/tools.h"

#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace recalign::core {

// SASRec training options as `--key value` / `--flag` (keys use dashes: "hidden", "attn-dropout").
// Defined in core/sasrec; declared here too so torch-free callers can build their option sets.
const std::vector<std::string>& sasRecOptionKeys();  // keys taking a value
const std::vector<std::string>& sasRecFlagKeys();    // flags
struct SasRecOptions {
    std::vector<std::pair<std::string, std::string>> values;  // {key, value} in any order
    std::vector<std::string> flags;
};

// `recalign teacher train|eval|topk`.
struct TeacherRequest {
    std::string command;                 // train | eval | topk
    std::string source;                  // dataset source
    std::string data;                    // dataset path
    std::optional<int> kcore;            // user and item k-core (unset = the source's)
    std::string uncategorized = "drop";
    std::optional<int> threads;          // torch threads (unset = 1 unless $RECALIGN_THREADS)
    SasRecOptions options;               // train
    std::string out;                     // train: the checkpoint to write ("" = missing)
    std::string checkpoint;              // eval, topk ("" = missing)
    std::string protocol = "both";       // eval: full | sampled | both
    std::string history;                 // topk: item ids "1,2,3"
    int k = 10;                          // topk
    std::optional<std::string> include;  // topk: category constraint
    std::optional<std::string> exclude;
    std::optional<std::string> rank;     // topk: item ids whose catalogue ranks to print
};
// Prints the dataset line, progress and results to `out`. exit_code 2: `command` is none of the
// three (the dataset and checkpoint were loaded first, as the CLI always did).
ToolStatus runTeacherTool(const TeacherRequest& request, std::ostream& out);

// `recalign bench sasrec`: trains SASRec with the reference settings and prints speed and metrics.
struct BenchSasRecRequest {
    std::string source = "movielens";
    std::string data;               // dataset path ("" = movielens_default for movielens)
    std::string movielens_default;  // ml-latest-small as found by the caller ("" = none)
    int threads = 1;
    int blas_threads = 1;
    int kcore = 1;
    std::string uncategorized = "other";
    bool most_popular = true;       // also evaluate most-popular
    SasRecOptions options;
};
// exit_code 2: no dataset path for a source that needs one (nothing printed).
ToolStatus runBenchSasRec(const BenchSasRecRequest& request, std::ostream& out);

}  // namespace recalign::core
