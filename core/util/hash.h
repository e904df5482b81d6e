// Hashing: SHA-256 (content addresses, artifact digests) and FNV-1a 64 (fast fingerprints).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace recalign::core {

class Sha256 {
public:
    Sha256();
    void update(const void* data, size_t size);
    void update(std::string_view s) { update(s.data(), s.size()); }
    std::string hexDigest();  // finalizes; the object must not be updated afterwards

private:
    void transform(const uint8_t* block);
    uint32_t m_state[8];
    uint64_t m_bits = 0;
    uint8_t m_buffer[64];
    size_t m_used = 0;
};

std::string sha256Hex(std::string_view data);
// SHA-256 of a file's bytes; throws CoreException(DataLoad) naming the file when unreadable.
std::string sha256File(const std::string& path);
uint64_t fnv1a64(std::string_view data, uint64_t seed = 1469598103934665603ULL);

}  // namespace recalign::core
