// Data tools: what `recalign data` and `recalign bench data` run. DatasetRequest is the plain
// description of a dataset that every command-line tool takes (the core turns it into its own
// dataset spec). Torch-free; implemented in core/tools. Never throws (see tools.h).
#pragma once

#include "core/api/experiment.h"
#include "core/api/tools.h"

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

namespace recalign::core {

struct DatasetRequest {
    std::string source;               // movielens | amazon | steam | native | synthetic | recbole
    std::string path;                 // the folder holding the source files (unused for synthetic)
    std::optional<double> min_rating; // unset = every rating counts
    int user_core = -1, item_core = -1;  // -1 = the source's default
    bool lenient = false;             // skip bad lines instead of stopping
    bool steam_tags_as_categories = false;
    std::string uncategorized = "drop";  // drop | other
    std::string items_file;           // "" = detected
    std::string interactions_file;    // "" = detected
    std::string cache_dir;            // "" = no cache
    std::optional<RecBoleFieldsConfig> recbole;  // unset = dataset.recbole's defaults
    // Synthetic generator settings; unset = the generator's default.
    std::optional<uint64_t> seed;
    std::optional<int> items, users, top_categories, subcategories_per_top;
    std::optional<int> min_sequence_length, max_sequence_length;
    std::optional<double> preference_concentration, sequential_strength, popularity_skew;
};

// `recalign data stats|export-native|lookup`.
struct DataToolRequest {
    std::string command;               // stats | export-native | lookup
    DatasetRequest dataset;
    std::string out;                   // export-native: the folder to write
    std::optional<std::string> title;  // lookup: the title to look up
    std::optional<int> distance;       // lookup: maximum edit distance (unset = the index's default)
};
// Loads the dataset and prints the statistics, the export summary or the lookup's match to `out`.
// exit_code 1: lookup found no title within the distance.
ToolStatus runDataTool(const DataToolRequest& request, std::ostream& out);

// `recalign bench data`: most-popular vs transition baselines on the synthetic default and
// ml-latest-small, with import, cache and fuzzy-lookup timings.
struct BenchDataRequest {
    long seed = 1;          // synthetic generator seed
    std::string movielens;  // ml-latest-small folder ("" = not found: skipped)
};
ToolStatus runBenchData(const BenchDataRequest& request, std::ostream& out);

}  // namespace recalign::core
