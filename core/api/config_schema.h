// The experiment-file schema as data: every field with its type, default, range, choices and
// meaning. The CLI validates against it; the GUI generates its Configure form from it.
// Torch-free and Qt-free.
#pragma once

#include <string>
#include <vector>

namespace recalign::core {

struct ConfigField {
    enum class Type { Bool, Int, Double, String, Enum, Path, StringList, IntList, DoubleList };
    std::string key;            // dotted path, e.g. "ppo.kl_coef"
    Type type = Type::String;
    std::string default_value;  // YAML scalar text ("0.3", "true", "cpu", "[1, 2]")
    double min = 0.0;           // for Int/Double when has_range
    double max = 0.0;
    bool has_range = false;
    std::vector<std::string> choices;  // for Enum
    std::string doc;            // one line: meaning, unit, special values
    std::string group;          // form section: "dataset", "teacher", "model", "sft", "ppo", ...
};

// One problem found by validation, naming the key (dotted path) and what was expected.
struct ConfigIssue {
    std::string key;
    std::string message;
    int line = 0;  // 1-based line in the YAML text when known, else 0
};

}  // namespace recalign::core
