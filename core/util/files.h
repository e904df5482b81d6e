// Whole files: reading one into memory and replacing one atomically. Torch-free.
#pragma once

#include "core/api/error.h"

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace recalign::core {

// The file's bytes. Throws CoreException(code, "cannot read <what> '<path>'", path) when it
// cannot be opened or read; `what` names the file for the message ("the MMLU file").
std::string readFile(const std::string& path, ErrorCode code = ErrorCode::DataLoad,
                     const std::string& what = "file");
// The file's bytes, or nullopt when it cannot be opened or read (for files that may be missing).
std::optional<std::string> tryReadFile(const std::string& path);

// Replaces `path` atomically: `write(tmp)` fills a temporary file beside it (a name unique to
// this process and call), which is synced to disk and renamed over `path`; the folder is synced
// too. Missing parent folders are created. On any failure the temporary is removed and an
// existing `path` is left intact: a CoreException from `write` propagates as it is, any other
// exception becomes CoreException(code, "cannot write '<path>': <what>", path).
void replaceFileAtomic(const std::string& path, const std::function<void(const std::string& tmp)>& write,
                       ErrorCode code = ErrorCode::Internal);
// replaceFileAtomic with `bytes` as the content.
void writeFileAtomic(const std::string& path, std::string_view bytes, ErrorCode code = ErrorCode::Internal);

}  // namespace recalign::core
