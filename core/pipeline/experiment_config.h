// The experiment schema table behind core/api/experiment.h: one FieldDef per YAML key, binding
// the key to its ExperimentConfig member with type, default, range, choices and doc. Internal
// to core/pipeline (experiment_config.cpp builds the table, experiment_io.cpp reads and writes
// files with it). Torch-free.
#pragma once

#include "core/api/experiment.h"

#include <functional>
#include <string>
#include <vector>

namespace recalign::core::experiment_detail {

// A field's value as YAML scalar text: one item for scalars, any number for lists.
struct FieldValue {
    bool list = false;
    std::vector<std::string> items;
};

enum class PathKind { None, File, Dir, Any };

struct FieldDef {
    ConfigField field;
    bool min_exclusive = false;         // range is (min, max] instead of [min, max]
    PathKind path_kind = PathKind::None;  // what a path names (validation checks existence)
    std::function<void(ExperimentConfig&, const FieldValue&)> set;  // value already checked
    std::function<FieldValue(const ExperimentConfig&)> get;

    // Fluent helpers used while building the table.
    FieldDef& range(double lo, double hi, bool exclusiveLow = false);
    FieldDef& choices(std::vector<std::string> values);
    FieldDef& path(PathKind kind);
};

// Every field, in file order (sections contiguous, so toYaml nests them).
const std::vector<FieldDef>& fieldTable();
// The field with this dotted key, or nullptr.
const FieldDef* findField(const std::string& key);
// True when `key` names a section ("ppo", "sft.lora") rather than a field.
bool isSection(const std::string& key);

// "" when `text` is a valid element for the field (type, choices, device syntax), else what was
// expected ("expected an integer, got 'abc'").
std::string checkElement(const FieldDef& def, const std::string& text);
// true/false, yes/no, on/off in any case.
bool isBoolText(const std::string& text);
// Parses scalar text. Only call after checkElement said it is valid.
bool parseBoolText(const std::string& text);
long long parseIntText(const std::string& text);
double parseDoubleText(const std::string& text);

}  // namespace recalign::core::experiment_detail
