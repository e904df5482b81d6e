// Rng: the rules layer's own deterministic PRNG (splitmix64-seeded xoshiro256**). No std
// distributions, so samples are bit-identical across compilers and standard libraries.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <utility>
#include <vector>

namespace recalign::core {

// splitmix64 step: also used to derive independent stream seeds from (seed, epoch, task, index).
inline uint64_t splitmix64(uint64_t& state)
{
    uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

// Mixes several integers into one seed (order matters).
inline uint64_t mixSeed(std::initializer_list<uint64_t> parts)
{
    uint64_t state = 0x243F6A8885A308D3ULL;
    uint64_t acc = 0;
    for (uint64_t p : parts) {
        state ^= p + 0x9E3779B97F4A7C15ULL + (acc << 6) + (acc >> 2);
        acc = splitmix64(state);
    }
    return acc;
}

class Rng {
public:
    explicit Rng(uint64_t seed = 0) { reseed(seed); }
    void reseed(uint64_t seed)
    {
        uint64_t sm = seed;
        for (auto& w : m_s)
            w = splitmix64(sm);
    }
    uint64_t next()
    {
        const uint64_t result = rotl(m_s[1] * 5, 7) * 9;
        const uint64_t t = m_s[1] << 17;
        m_s[2] ^= m_s[0];
        m_s[3] ^= m_s[1];
        m_s[1] ^= m_s[2];
        m_s[0] ^= m_s[3];
        m_s[2] ^= t;
        m_s[3] = rotl(m_s[3], 45);
        return result;
    }
    // Uniform integer in [0, n) (n > 0), unbiased (rejection on the top range).
    uint64_t below(uint64_t n)
    {
        if (n <= 1)
            return 0;
        const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
        uint64_t x;
        do
            x = next();
        while (x >= limit);
        return x % n;
    }
    // Uniform integer in [lo, hi] (inclusive); returns lo when hi < lo.
    int64_t uniformInt(int64_t lo, int64_t hi)
    {
        if (hi <= lo)
            return lo;
        return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo) + 1));
    }
    // Uniform double in [0, 1) with 53 random bits.
    double uniform01() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
    bool bernoulli(double p) { return uniform01() < p; }
    template <typename T>
    const T& pick(const std::vector<T>& v) { return v[static_cast<size_t>(below(v.size()))]; }
    // Fisher-Yates.
    template <typename T>
    void shuffle(std::vector<T>& v)
    {
        for (size_t i = v.size(); i > 1; --i)
            std::swap(v[i - 1], v[static_cast<size_t>(below(i))]);
    }

private:
    static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    uint64_t m_s[4];
};

}  // namespace recalign::core
