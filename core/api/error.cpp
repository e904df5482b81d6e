// Error names and formatting.
#include "core/api/error.h"

namespace recalign::core {

const char* errorCodeName(ErrorCode code)
{
    switch (code) {
    case ErrorCode::None: return "None";
    case ErrorCode::InvalidConfig: return "InvalidConfig";
    case ErrorCode::DataLoad: return "DataLoad";
    case ErrorCode::CheckpointIO: return "CheckpointIO";
    case ErrorCode::Diverged: return "Diverged";
    case ErrorCode::Cancelled: return "Cancelled";
    case ErrorCode::Internal: return "Internal";
    }
    return "Unknown";
}

std::string Error::toString() const
{
    if (ok())
        return "ok";
    std::string s = errorCodeName(code);
    s += ": ";
    if (!where.empty())
        s += where + ": ";
    s += message;
    return s;
}

}  // namespace recalign::core
