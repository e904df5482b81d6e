// Safetensors reader and writer (see safetensors.h). Torch-free.
#include "core/util/safetensors.h"

#include "core/api/error.h"
#include "core/util/files.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace recalign::core {

namespace safetensors_detail {

constexpr uint64_t kMaxHeaderBytes = 100ull * 1024 * 1024;  // the reference implementation's limit

[[noreturn]] void fail(const std::string& path, const std::string& what)
{
    throw CoreException(ErrorCode::CheckpointIO, "safetensors '" + path + "': " + what, path);
}

bool parseDtype(const std::string& s, StDtype& out)
{
    static const std::pair<const char*, StDtype> kNames[] = {
        {"F64", StDtype::F64}, {"F32", StDtype::F32}, {"F16", StDtype::F16}, {"BF16", StDtype::BF16},
        {"I64", StDtype::I64}, {"I32", StDtype::I32}, {"I16", StDtype::I16}, {"I8", StDtype::I8},
        {"U8", StDtype::U8},   {"BOOL", StDtype::Bool}};
    for (const auto& [n, d] : kNames)
        if (s == n) {
            out = d;
            return true;
        }
    return false;
}

bool hostIsLittleEndian()
{
    const uint16_t one = 1;
    uint8_t first = 0;
    std::memcpy(&first, &one, 1);
    return first == 1;
}

}  // namespace safetensors_detail

using safetensors_detail::fail;

const char* stDtypeName(StDtype d)
{
    switch (d) {
    case StDtype::F64: return "F64";
    case StDtype::F32: return "F32";
    case StDtype::F16: return "F16";
    case StDtype::BF16: return "BF16";
    case StDtype::I64: return "I64";
    case StDtype::I32: return "I32";
    case StDtype::I16: return "I16";
    case StDtype::I8: return "I8";
    case StDtype::U8: return "U8";
    case StDtype::Bool: return "BOOL";
    }
    return "?";
}

size_t stDtypeSize(StDtype d)
{
    switch (d) {
    case StDtype::F64:
    case StDtype::I64: return 8;
    case StDtype::F32:
    case StDtype::I32: return 4;
    case StDtype::F16:
    case StDtype::BF16:
    case StDtype::I16: return 2;
    case StDtype::I8:
    case StDtype::U8:
    case StDtype::Bool: return 1;
    }
    return 1;
}

int64_t StTensorInfo::numel() const
{
    int64_t n = 1;
    for (int64_t d : shape)
        n *= d;
    return n;
}

SafetensorsFile::~SafetensorsFile() { release(); }

SafetensorsFile::SafetensorsFile(SafetensorsFile&& o) noexcept { *this = std::move(o); }

SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&& o) noexcept
{
    if (this != &o) {
        release();
        m_path = std::move(o.m_path);
        m_map = o.m_map;
        m_size = o.m_size;
        m_dataStart = o.m_dataStart;
        m_tensors = std::move(o.m_tensors);
        m_index = std::move(o.m_index);
        m_metadata = std::move(o.m_metadata);
        o.m_map = nullptr;
        o.m_size = 0;
        o.m_dataStart = nullptr;
    }
    return *this;
}

void SafetensorsFile::release()
{
    if (m_map)
        munmap(m_map, m_size);
    m_map = nullptr;
    m_size = 0;
    m_dataStart = nullptr;
}

SafetensorsFile SafetensorsFile::open(const std::string& path)
{
    using nlohmann::json;
    if (!safetensors_detail::hostIsLittleEndian())
        fail(path, "big-endian hosts are not supported");
    SafetensorsFile f;
    f.m_path = path;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        fail(path, std::string("cannot open: ") + std::strerror(errno));
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        fail(path, "not a regular file");
    }
    const uint64_t size = static_cast<uint64_t>(st.st_size);
    if (size < 8) {
        ::close(fd);
        fail(path, "truncated: " + std::to_string(size) + " bytes, shorter than the 8-byte header length");
    }
    void* map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (map == MAP_FAILED)
        fail(path, std::string("mmap failed: ") + std::strerror(errno));
    f.m_map = map;
    f.m_size = size;
    const auto* bytes = static_cast<const uint8_t*>(map);

    uint64_t headerLen = 0;
    for (int i = 7; i >= 0; --i)
        headerLen = (headerLen << 8) | bytes[i];
    if (headerLen > safetensors_detail::kMaxHeaderBytes)
        fail(path, "bad header length " + std::to_string(headerLen) + " (over the 100 MB limit; not a safetensors file?)");
    if (headerLen > size - 8)
        fail(path, "bad header length " + std::to_string(headerLen) + ": the file has only "
                       + std::to_string(size - 8) + " bytes after it (truncated?)");
    if (headerLen < 2)
        fail(path, "bad header length " + std::to_string(headerLen) + " (too short for a JSON object)");
    const uint64_t dataSize = size - 8 - headerLen;
    f.m_dataStart = bytes + 8 + headerLen;

    json header;
    try {
        header = json::parse(reinterpret_cast<const char*>(bytes + 8),
                             reinterpret_cast<const char*>(bytes + 8 + headerLen));
    } catch (const json::exception& e) {
        fail(path, std::string("header is not valid JSON: ") + e.what());
    }
    if (!header.is_object())
        fail(path, "header is not a JSON object");

    for (auto it = header.begin(); it != header.end(); ++it) {
        const std::string& name = it.key();
        const json& v = it.value();
        if (name == "__metadata__") {
            if (!v.is_object())
                fail(path, "__metadata__ is not an object");
            for (auto m = v.begin(); m != v.end(); ++m) {
                if (!m.value().is_string())
                    fail(path, "__metadata__ value '" + m.key() + "' is not a string");
                f.m_metadata[m.key()] = m.value().get<std::string>();
            }
            continue;
        }
        if (!v.is_object())
            fail(path, "tensor '" + name + "': entry is not an object");
        StTensorInfo t;
        t.name = name;
        auto d = v.find("dtype");
        if (d == v.end() || !d->is_string())
            fail(path, "tensor '" + name + "': missing dtype");
        if (!safetensors_detail::parseDtype(d->get<std::string>(), t.dtype))
            fail(path, "tensor '" + name + "': unknown dtype '" + d->get<std::string>() + "'");
        auto s = v.find("shape");
        if (s == v.end() || !s->is_array())
            fail(path, "tensor '" + name + "': missing shape");
        uint64_t numel = 1;
        for (const auto& dim : *s) {
            if (!dim.is_number_integer() || dim.get<int64_t>() < 0)
                fail(path, "tensor '" + name + "': shape " + s->dump() + " is not a list of non-negative integers");
            const uint64_t n = dim.get<uint64_t>();
            if (n != 0 && numel > (uint64_t(1) << 62) / n)
                fail(path, "tensor '" + name + "': shape " + s->dump() + " overflows");
            numel *= n;
            t.shape.push_back(static_cast<int64_t>(n));
        }
        auto o = v.find("data_offsets");
        if (o == v.end() || !o->is_array() || o->size() != 2 || !(*o)[0].is_number_unsigned()
            || !(*o)[1].is_number_unsigned())
            fail(path, "tensor '" + name + "': data_offsets must be two non-negative integers");
        t.begin = (*o)[0].get<uint64_t>();
        t.end = (*o)[1].get<uint64_t>();
        if (t.end < t.begin)
            fail(path, "tensor '" + name + "': data_offsets [" + std::to_string(t.begin) + ", "
                           + std::to_string(t.end) + ") are reversed");
        if (t.end > dataSize)
            fail(path, "tensor '" + name + "': data_offsets [" + std::to_string(t.begin) + ", "
                           + std::to_string(t.end) + ") are out of range: the data block has "
                           + std::to_string(dataSize) + " bytes (truncated file?)");
        const uint64_t want = numel * stDtypeSize(t.dtype);
        if (t.end - t.begin != want)
            fail(path, "tensor '" + name + "': " + std::to_string(t.end - t.begin) + " bytes for shape "
                           + s->dump() + " of " + stDtypeName(t.dtype) + " (expected " + std::to_string(want) + ")");
        f.m_tensors.push_back(std::move(t));
    }
    // Tensors must not overlap (the format requires a dense, ordered layout; we only require
    // disjointness).
    std::vector<const StTensorInfo*> byOffset;
    for (const auto& t : f.m_tensors)
        byOffset.push_back(&t);
    std::sort(byOffset.begin(), byOffset.end(),
              [](const StTensorInfo* a, const StTensorInfo* b) { return a->begin < b->begin; });
    for (size_t i = 1; i < byOffset.size(); ++i)
        if (byOffset[i]->begin < byOffset[i - 1]->end && byOffset[i]->begin != byOffset[i]->end)
            fail(path, "tensors '" + byOffset[i - 1]->name + "' and '" + byOffset[i]->name + "' overlap");
    std::sort(f.m_tensors.begin(), f.m_tensors.end(),
              [](const StTensorInfo& a, const StTensorInfo& b) { return a.begin < b.begin; });
    for (size_t i = 0; i < f.m_tensors.size(); ++i)
        f.m_index[f.m_tensors[i].name] = i;
    return f;
}

void SafetensorsFile::releasePages(const StTensorInfo& t) const
{
    if (!m_map || t.end <= t.begin)
        return;
    const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
    const auto base = reinterpret_cast<uintptr_t>(m_map);
    const uintptr_t from = (reinterpret_cast<uintptr_t>(m_dataStart + t.begin) - base) / page * page;
    const uintptr_t to = std::min<uintptr_t>(reinterpret_cast<uintptr_t>(m_dataStart + t.end) - base, m_size);
    if (to > from)
        madvise(reinterpret_cast<void*>(base + from), to - from, MADV_DONTNEED);
}

const StTensorInfo& SafetensorsFile::info(const std::string& name) const
{
    auto it = m_index.find(name);
    if (it == m_index.end())
        fail(m_path, "missing tensor '" + name + "'");
    return m_tensors[it->second];
}

std::vector<std::string> SafetensorsFile::names() const
{
    std::vector<std::string> out;
    for (const auto& t : m_tensors)
        out.push_back(t.name);
    return out;
}

void writeSafetensors(const std::string& path, const std::vector<StWriteTensor>& tensors,
                      const std::map<std::string, std::string>& metadata)
{
    using nlohmann::json;
    json header = json::object();
    if (!metadata.empty())
        header["__metadata__"] = metadata;
    uint64_t offset = 0;
    for (const auto& t : tensors) {
        if (t.name.empty() || t.name == "__metadata__" || header.contains(t.name))
            fail(path, "bad or duplicate tensor name '" + t.name + "'");
        uint64_t numel = 1;
        for (int64_t d : t.shape) {
            if (d < 0)
                fail(path, "tensor '" + t.name + "' has a negative dimension");
            numel *= static_cast<uint64_t>(d);
        }
        const uint64_t bytes = numel * stDtypeSize(t.dtype);
        if (bytes > 0 && !t.data)
            fail(path, "tensor '" + t.name + "' has no data");
        header[t.name] = {{"dtype", stDtypeName(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
        offset += bytes;
    }
    std::string text = header.dump();
    while (text.size() % 8 != 0)
        text.push_back(' ');
    replaceFileAtomic(
        path,
        [&](const std::string& tmp) {
            std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
            if (!out)
                fail(path, "cannot write '" + tmp + "'");
            uint64_t n = text.size();
            unsigned char len[8];
            for (int i = 0; i < 8; ++i)
                len[i] = static_cast<unsigned char>((n >> (8 * i)) & 0xFF);
            out.write(reinterpret_cast<const char*>(len), 8);
            out.write(text.data(), static_cast<std::streamsize>(text.size()));
            for (const auto& t : tensors) {
                uint64_t numel = 1;
                for (int64_t d : t.shape)
                    numel *= static_cast<uint64_t>(d);
                const uint64_t bytes = numel * stDtypeSize(t.dtype);
                if (bytes)
                    out.write(static_cast<const char*>(t.data), static_cast<std::streamsize>(bytes));
            }
            out.flush();
            if (!out)
                fail(path, "write failed (disk full?)");
        },
        ErrorCode::CheckpointIO);
}

}  // namespace recalign::core
