// ToolStatus: how the command-line tools behind core/api (data_tools.h, rules_tools.h,
// teacher_tools.h, llm_tools.h) report back. Like every core/api entry point they never throw;
// besides the Error, the status says which kind of exception it came from, so the CLI can report
// a bad option value (exit 2), a core failure and anything else the way it always has.
// Torch-free and Qt-free.
#pragma once

#include "core/api/error.h"

#include <stdexcept>

namespace recalign::core {

enum class ToolFailure {
    None,
    Argument,  // std::invalid_argument: a bad option value, found while running (e.g. an unknown user)
    Core,      // CoreException: error.code tells which
    Other,     // any other exception (error.code is Internal)
};

struct ToolStatus {
    Error error;
    ToolFailure failure = ToolFailure::None;
    int exit_code = 0;  // the tool's own exit status when it did not fail (e.g. 1 = "not found")
    bool ok() const { return failure == ToolFailure::None; }
};

// Runs `f` (returning the exit code) and turns any exception into a ToolStatus. For the tools'
// implementations in core/tools.
template <typename F>
ToolStatus catchTool(F&& f)
{
    ToolStatus s;
    try {
        s.exit_code = f();
    } catch (const CoreException& e) {
        s.error = e.error();
        s.failure = ToolFailure::Core;
    } catch (const std::invalid_argument& e) {
        s.error = Error{ErrorCode::InvalidConfig, e.what(), {}};
        s.failure = ToolFailure::Argument;
    } catch (const std::exception& e) {
        s.error = Error{ErrorCode::Internal, e.what(), {}};
        s.failure = ToolFailure::Other;
    } catch (...) {
        s.error = Error{ErrorCode::Internal, "unknown exception", {}};
        s.failure = ToolFailure::Other;
    }
    return s;
}

}  // namespace recalign::core
