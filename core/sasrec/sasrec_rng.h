// SasRecRng: the stream behind SASRec's user shuffling, negative sampling, dropout masks and the
// sampled-evaluation negatives: core/util/rng.h's xoshiro256** with the multiply-shift (high 32
// bits) integer mapping. Torch-free; one stream per purpose, never shared between threads, so a
// seed fixes a run bit for bit. Checkpoints store state() as four int64 words.
#pragma once

#include "core/util/rng.h"

#include <cstdint>

namespace recalign::core {

class SasRecRng : public Xoshiro256 {
public:
    using Xoshiro256::Xoshiro256;

    // Uniform integer in [lo, hi] (inclusive): uniformIntMultiplyShift32.
    int64_t uniformInt(int64_t lo, int64_t hi) { return uniformIntMultiplyShift32(lo, hi); }

    // A stream derived from (seed, a, b) without touching any other stream: used for the
    // sampled-evaluation negatives of user `a` on split `b`, independent of batching.
    static SasRecRng derived(uint64_t seed, uint64_t a, uint64_t b)
    {
        return SasRecRng(seed ^ (a * 0xD1B54A32D192ED03ULL) ^ (b * 0x8CB92BA72F3D8DD7ULL) ^ 0x5851F42D4C957F2DULL);
    }
};

}  // namespace recalign::core
