// A safetensors reader (memory-mapped, every length and offset validated) and writer. Torch-free:
// tensors are raw little-endian bytes plus dtype and shape; loaders.cpp turns them into tensors.
// Format: u64 little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets}}
// plus an optional "__metadata__" string map, then the data block.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace recalign::core {

enum class StDtype { F64, F32, F16, BF16, I64, I32, I16, I8, U8, Bool };

const char* stDtypeName(StDtype dtype);  // "F32", "BF16", ...
size_t stDtypeSize(StDtype dtype);

struct StTensorInfo {
    std::string name;
    StDtype dtype = StDtype::F32;
    std::vector<int64_t> shape;
    uint64_t begin = 0;  // byte offsets into the data block
    uint64_t end = 0;
    int64_t numel() const;
};

// A validated, memory-mapped safetensors file. Move-only; data pointers live as long as it does.
// Every failure (missing file, truncated, bad header length or JSON, unknown dtype, offsets out
// of range or overlapping, size mismatch) throws CoreException(CheckpointIO) naming the file.
class SafetensorsFile {
public:
    static SafetensorsFile open(const std::string& path);
    SafetensorsFile() = default;
    ~SafetensorsFile();
    SafetensorsFile(SafetensorsFile&& o) noexcept;
    SafetensorsFile& operator=(SafetensorsFile&& o) noexcept;
    SafetensorsFile(const SafetensorsFile&) = delete;
    SafetensorsFile& operator=(const SafetensorsFile&) = delete;

    const std::string& path() const { return m_path; }
    bool has(const std::string& name) const { return m_index.count(name) > 0; }
    // Throws CheckpointIO "missing tensor 'name' in <path>".
    const StTensorInfo& info(const std::string& name) const;
    std::vector<std::string> names() const;  // in file order
    const std::map<std::string, std::string>& metadata() const { return m_metadata; }
    // Start of the tensor's bytes (not necessarily aligned: copy before typed access).
    const uint8_t* data(const StTensorInfo& t) const { return m_dataStart + t.begin; }
    // Drops the mapped pages of `t` from this process (they stay in the page cache; a later read
    // faults them in again): a loader that copied the tensor keeps its RSS at about one tensor.
    void releasePages(const StTensorInfo& t) const;

private:
    std::string m_path;
    void* m_map = nullptr;
    size_t m_size = 0;
    const uint8_t* m_dataStart = nullptr;
    std::vector<StTensorInfo> m_tensors;
    std::map<std::string, size_t> m_index;
    std::map<std::string, std::string> m_metadata;
    void release();
};

struct StWriteTensor {
    std::string name;
    StDtype dtype = StDtype::F32;
    std::vector<int64_t> shape;
    const void* data = nullptr;  // numel · dtype size bytes, little-endian
};

// Writes a safetensors file (header padded to 8 bytes; tensors in the given order), atomically
// through a temporary file. Throws CheckpointIO.
void writeSafetensors(const std::string& path, const std::vector<StWriteTensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

}  // namespace recalign::core
