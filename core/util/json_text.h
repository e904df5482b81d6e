// JSON text that never fails on bytes: model outputs (generated, or given to `recalign score`)
// may hold any bytes, and they reach the JSON layer inside sample details, evaluation results and
// the CLI's reports. The strings themselves keep their bytes (offsets into them, e.g. the spans
// that place item rewards on tokens, stay valid); only the text written replaces each invalid
// UTF-8 sequence with U+FFFD, so it stays visible.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <string>

namespace recalign::core {

// j.dump(indent) with invalid UTF-8 in strings written as U+FFFD (never throws type_error.316).
std::string jsonText(const nlohmann::json& j, int indent = -1);

}  // namespace recalign::core
