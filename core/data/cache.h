// Binary dataset cache and serialisation. A cache file records each source file's path, size,
// mtime and SHA-256; it is valid when every size matches and each file either has the same
// mtime or (touched but unchanged) the same content hash. The file name is derived from the
// import options, so different options never share a cache file.
#pragma once

#include "core/data/dataset.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace recalign::core {

// Compact, deterministic bytes of a whole dataset (items, categories, users with timestamps,
// stats, fingerprint). deserializeDataset throws CoreException(DataLoad) on corrupt input.
std::string serializeDataset(const Dataset& data);
Dataset deserializeDataset(std::string_view bytes);

// Reads `cacheFile` if it exists, is intact and matches `sources`; otherwise nullopt (a corrupt
// or stale cache is never an error). When only mtimes changed, the file is rewritten.
std::optional<Dataset> readDatasetCache(const std::string& cacheFile, const std::vector<std::string>& sources);
// Writes atomically (temporary file + rename). Returns false (and leaves no partial file) when
// the folder cannot be written.
bool writeDatasetCache(const std::string& cacheFile, const Dataset& data, const std::vector<std::string>& sources);

}  // namespace recalign::core
