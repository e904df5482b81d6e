// SasRecRng: the small, fast, checkpointable PRNG (xoshiro256**) behind SASRec's user shuffling,
// negative sampling, dropout masks and the sampled-evaluation negatives. Torch-free; one stream
// per purpose, never shared between threads, so a seed fixes a run bit for bit.
#pragma once

#include <array>
#include <cstdint>

namespace recalign::core {

class SasRecRng {
public:
    explicit SasRecRng(uint64_t seed = 0) { reseed(seed); }

    // SplitMix64 expands the seed into the 256-bit state (never all zero).
    void reseed(uint64_t seed)
    {
        uint64_t x = seed;
        for (auto& s : m_state) {
            x += 0x9E3779B97F4A7C15ULL;
            uint64_t z = x;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
            s = z ^ (z >> 31);
        }
    }

    uint64_t next()
    {
        const uint64_t result = rotl(m_state[1] * 5, 7) * 9;
        const uint64_t t = m_state[1] << 17;
        m_state[2] ^= m_state[0];
        m_state[3] ^= m_state[1];
        m_state[1] ^= m_state[2];
        m_state[0] ^= m_state[3];
        m_state[2] ^= t;
        m_state[3] = rotl(m_state[3], 45);
        return result;
    }

    // Uniform integer in [lo, hi] (inclusive), by Lemire's multiply-shift (bias < 2^-32 for
    // ranges below 2^32, which is all SASRec needs).
    int64_t uniformInt(int64_t lo, int64_t hi)
    {
        const uint64_t range = static_cast<uint64_t>(hi - lo) + 1;
        const uint64_t r = next() >> 32;
        return lo + static_cast<int64_t>((r * range) >> 32);
    }

    // Uniform double in [0, 1).
    double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

    using State = std::array<uint64_t, 4>;
    const State& state() const { return m_state; }
    void setState(const State& s) { m_state = s; }

    // A stream derived from (seed, a, b) without touching any other stream: used for the
    // sampled-evaluation negatives of user `a` on split `b`, independent of batching.
    static SasRecRng derived(uint64_t seed, uint64_t a, uint64_t b)
    {
        return SasRecRng(seed ^ (a * 0xD1B54A32D192ED03ULL) ^ (b * 0x8CB92BA72F3D8DD7ULL) ^ 0x5851F42D4C957F2DULL);
    }

private:
    static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    State m_state{};
};

}  // namespace recalign::core
