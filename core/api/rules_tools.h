// Rules tools: what `recalign score` and `recalign bench rules` run. Torch-free; implemented in
// core/tools. Never throws (see tools.h).
#pragma once

#include "core/api/data_tools.h"
#include "core/api/tools.h"

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

namespace recalign::core {

// `recalign score`: judges one model output for one user and task.
struct ScoreRequest {
    DatasetRequest dataset;
    std::string user;                       // raw user id, or the user's index
    std::string task;                       // i0 | i1+ | ... or a released task name
    std::string output_file;                // the model output to judge
    std::optional<std::string> category;    // name or id (unset = per the test rules)
    std::optional<std::string> proportion;  // "20", "20%" or "0.2" (unset = per task)
    std::optional<long> k;                  // requested item count (unset = default)
    std::string variant = "paper";          // paper | recai
    bool item_level = true;                 // false = the v3 ablation
    std::string teacher;                    // SASRec checkpoint ("" = most-popular)
    std::string split = "test";             // test | valid
    std::string le_wording = "seed";        // seed | released
};
// Prints the parsed items, their legality, ranks and rewards, the list reward and the metrics
// as JSON to `out`.
ToolStatus runScore(const ScoreRequest& request, std::ostream& out);

// `recalign bench rules`: SFT epoch, RL prompts and test-suite build timings, then judge
// throughput with the teacher's top-k lists standing in for model outputs.
struct BenchRulesRequest {
    std::string data_label;   // how the dataset is named in the report (the --data text)
    DatasetRequest dataset;
    int epochs = 2;
    uint64_t seed = 0;
    std::string teacher;      // SASRec checkpoint ("" = most-popular)
    std::string share_gpt;    // ShareGPT file ("" = the catalogue's general-instruction set)
    std::string variant = "paper";
};
ToolStatus runBenchRules(const BenchRulesRequest& request, std::ostream& out);

}  // namespace recalign::core
