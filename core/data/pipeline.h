// The import pipeline shared by every source (RECLM-GEN §1.2, §1.5): raw catalogue + raw
// interactions in file order → rating filter → (user, item) de-duplication keeping the first
// occurrence → stable time sort → iterative k-core → dense ids → categories → Dataset.
#pragma once

#include "core/api/experiment.h"

#include "core/data/dataset.h"

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace recalign::core {

// One catalogue entry as read (title not yet normalised; categories as names, in the order the
// source gives them: Amazon prefixes shallow to deep, MovieLens genres as listed).
struct RawItem {
    std::string raw_id;
    std::string title;
    std::vector<std::string> categories;
    std::map<std::string, std::string> extra;
};

struct RawInteraction {
    int32_t user = 0;      // index into RawData::user_ids
    int32_t item = -1;     // index into RawData::items; -1 = not in the catalogue
    double rating = 0;
    int64_t timestamp = 0;
};

// What an importer hands the pipeline. Interactions stay in file order.
struct RawData {
    std::string name;                 // dataset name (folder name, "synthetic(seed=1)")
    std::string source;
    std::vector<RawItem> items;       // catalogue, file order, unique raw ids
    std::unordered_map<std::string, int32_t> item_index;  // raw id → index into items
    std::vector<std::string> user_ids;                    // first-appearance order
    std::unordered_map<std::string, int32_t> user_index;
    std::vector<RawInteraction> interactions;
    long raw_category_labels = 0;     // distinct category labels as written in the catalogue
    long interactions_unknown_item = 0;

    // Adds a catalogue item; false when the raw id is already present.
    bool addItem(RawItem item);
    int32_t userIndex(const std::string& rawUser);
    // Adds an interaction in file order; the item is looked up in the catalogue.
    void addInteraction(const std::string& rawUser, const std::string& rawItem, double rating, int64_t timestamp);
};

struct PipelineOptions {
    double min_rating = -1e300;  // interactions with rating < min_rating are dropped
    int user_core = 1;           // iterative k-core: users need >= user_core interactions
    int item_core = 1;           // ... and items >= item_core (<= 1 disables)
    // Items whose title is empty or that have no category after import: Drop (default; their
    // interactions are removed and counted) or Other (they join a category named "Other").
    DatasetConfig::Uncategorized uncategorized = DatasetConfig::Uncategorized::Drop;
};

// Runs the pipeline. Throws CoreException(DataLoad) when nothing is left (naming the step that
// emptied the data) and CoreException(InvalidConfig) for bad options.
Dataset buildDataset(RawData raw, const PipelineOptions& options);

}  // namespace recalign::core
