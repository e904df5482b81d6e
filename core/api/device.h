// DeviceSpec: a compute device named in configuration ("cpu", "cuda", "cuda:N", "auto"),
// parsed without torch so configs and the GUI can validate it.
#pragma once

#include "core/api/error.h"

#include <string>

namespace recalign::core {

struct DeviceSpec {
    enum class Kind { Cpu, Cuda, Auto };
    Kind kind = Kind::Cpu;
    int index = -1;  // -1 = default device of that kind
    std::string toString() const;
};

// Parses "cpu", "cuda", "cuda:N", "auto" (case-insensitive). Errors name what was expected.
Result<DeviceSpec> parseDevice(const std::string& text);

}  // namespace recalign::core
