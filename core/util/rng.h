// The core's pseudo-random generators, one module: splitmix64 (seeding, seed mixing, and the
// per-row generation stream), xoshiro256** (data, rules, SASRec) and the 64-bit Mersenne twister
// (the trainers' checkpointed data stream). No std distributions except where named below, so
// sequences are bit-identical across compilers. Torch-free; one stream per purpose, never shared
// between threads.
//
// How a draw becomes a number decides the sequence, so each range mapping has its own name and a
// stream keeps the one it has always used (tests/core/tst_foundation.cpp pins them):
//   uniform01               [0, 1) from the top 53 bits of one draw (every generator)
//   belowMultiplyShift      [0, n) as floor(draw * n / 2^64) (synthetic dataset)
//   uniformIntMultiplyShift32  [lo, hi] as floor((draw >> 32) * range / 2^32), range < 2^32 (SASRec)
//   belowRejection / uniformIntRejection  [0, n) / [lo, hi], unbiased: rejects draws in the top
//                           partial range, then draw % n (rules: sample builders)
//   MersenneRng::uniformIntStd  std::uniform_int_distribution (trainers, pre-training)
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace recalign::core {

// splitmix64 step: seeds xoshiro256** and derives independent stream seeds.
inline uint64_t splitmix64(uint64_t& state)
{
    uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

// Mixes several integers into one seed (order matters).
uint64_t mixSeed(std::initializer_list<uint64_t> parts);

// [0, 1) from the top 53 bits of a 64-bit draw.
inline double unitDouble53(uint64_t draw)
{
    return static_cast<double>(draw >> 11) * (1.0 / 9007199254740992.0);
}

// xoshiro256** seeded by splitmix64 (the 256-bit state is never all zero).
class Xoshiro256 {
public:
    using State = std::array<uint64_t, 4>;

    explicit Xoshiro256(uint64_t seed = 0) { reseed(seed); }
    void reseed(uint64_t seed)
    {
        uint64_t sm = seed;
        for (auto& w : m_state)
            w = splitmix64(sm);
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
    // The raw state, for checkpoints (SASRec stores it as four int64 words).
    const State& state() const { return m_state; }
    void setState(const State& s) { m_state = s; }

    // ---- Range mappings (see the file comment) ----
    double uniform01() { return unitDouble53(next()); }
    bool bernoulli(double p) { return uniform01() < p; }
    // [0, n): floor(draw * n / 2^64); one draw, bias below n / 2^64.
    uint64_t belowMultiplyShift(uint64_t n)
    {
        return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
    }
    // [lo, hi] (inclusive) by Lemire's multiply-shift on the high 32 bits: one draw, bias below
    // 2^-32 for ranges below 2^32.
    int64_t uniformIntMultiplyShift32(int64_t lo, int64_t hi)
    {
        const uint64_t range = static_cast<uint64_t>(hi - lo) + 1;
        const uint64_t r = next() >> 32;
        return lo + static_cast<int64_t>((r * range) >> 32);
    }
    // [0, n) (n > 0; 0 when n <= 1, without a draw), unbiased: draws until one falls below the
    // largest multiple of n, then takes it modulo n.
    uint64_t belowRejection(uint64_t n)
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
    // [lo, hi] (inclusive) by belowRejection; lo (without a draw) when hi <= lo.
    int64_t uniformIntRejection(int64_t lo, int64_t hi)
    {
        if (hi <= lo)
            return lo;
        return lo + static_cast<int64_t>(belowRejection(static_cast<uint64_t>(hi - lo) + 1));
    }
    // An element chosen by belowRejection.
    template <typename T>
    const T& pickRejection(const std::vector<T>& v)
    {
        return v[static_cast<size_t>(belowRejection(v.size()))];
    }
    // Fisher-Yates by belowRejection.
    template <typename T>
    void shuffleRejection(std::vector<T>& v)
    {
        for (size_t i = v.size(); i > 1; --i)
            std::swap(v[i - 1], v[static_cast<size_t>(belowRejection(i))]);
    }
    // Index drawn with probability proportional to weights[i] (all >= 0, sum > 0) from one
    // uniform01 draw.
    size_t weightedIndex(const std::vector<double>& weights);

private:
    static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    State m_state{};
};

// A bare splitmix64 stream (one per generated row): cheap to seed, 64-bit state.
class SplitMix64Rng {
public:
    explicit SplitMix64Rng(uint64_t seed = 0) : m_state(seed) {}
    uint64_t next() { return splitmix64(m_state); }
    double uniform01() { return unitDouble53(next()); }

private:
    uint64_t m_state;
};

// The 64-bit Mersenne twister (std::mt19937_64) whose full state round-trips through text, so
// checkpoints resume the exact stream.
class MersenneRng {
public:
    explicit MersenneRng(uint64_t seed = 0) : m_engine(seed) {}
    std::mt19937_64& engine() { return m_engine; }
    uint64_t next() { return m_engine(); }
    double uniform01() { return unitDouble53(m_engine()); }
    // [lo, hi] (inclusive) by std::uniform_int_distribution<Int> (libstdc++'s algorithm: the
    // sequences are those of this standard library).
    template <typename Int>
    Int uniformIntStd(Int lo, Int hi)
    {
        std::uniform_int_distribution<Int> dist(lo, hi);
        return dist(m_engine);
    }
    // The engine's text state ("x0 x1 ... x311 index", as operator<< writes it).
    std::string state() const;
    // Throws CoreException(CheckpointIO) on malformed text.
    void setState(const std::string& text);

private:
    std::mt19937_64 m_engine;
};

}  // namespace recalign::core
