// Rng: the rules layer's stream, core/util/rng.h's xoshiro256** with its unbiased rejection
// mapping (the sample builders' sequences depend on it). No std distributions, so samples are
// bit-identical across compilers and standard libraries.
#pragma once

#include "core/util/rng.h"

#include <cstdint>
#include <vector>

namespace recalign::core {

class Rng : public Xoshiro256 {
public:
    using Xoshiro256::Xoshiro256;
    // Uniform integer in [0, n) (n > 0), unbiased (belowRejection).
    uint64_t below(uint64_t n) { return belowRejection(n); }
    // Uniform integer in [lo, hi] (inclusive); returns lo when hi < lo.
    int64_t uniformInt(int64_t lo, int64_t hi) { return uniformIntRejection(lo, hi); }
    template <typename T>
    const T& pick(const std::vector<T>& v) { return pickRejection(v); }
    template <typename T>
    void shuffle(std::vector<T>& v) { shuffleRejection(v); }
};

}  // namespace recalign::core
