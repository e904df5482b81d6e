// The generators' out-of-line parts (see rng.h).
#include "core/util/rng.h"

#include "core/api/error.h"

#include <sstream>

namespace recalign::core {

uint64_t mixSeed(std::initializer_list<uint64_t> parts)
{
    uint64_t state = 0x243F6A8885A308D3ULL;
    uint64_t acc = 0;
    for (uint64_t p : parts) {
        state ^= p + 0x9E3779B97F4A7C15ULL + (acc << 6) + (acc >> 2);
        acc = splitmix64(state);
    }
    return acc;
}

size_t Xoshiro256::weightedIndex(const std::vector<double>& weights)
{
    double total = 0;
    for (double x : weights)
        total += x;
    double r = uniform01() * total;
    for (size_t i = 0; i < weights.size(); ++i) {
        r -= weights[i];
        if (r < 0)
            return i;
    }
    for (size_t i = weights.size(); i-- > 0;)
        if (weights[i] > 0)
            return i;
    return 0;
}

std::string MersenneRng::state() const
{
    std::ostringstream out;
    out << m_engine;
    return out.str();
}

void MersenneRng::setState(const std::string& text)
{
    std::istringstream in(text);
    std::mt19937_64 engine;
    in >> engine;
    if (in.fail())
        throw CoreException(ErrorCode::CheckpointIO, "checkpoint: the data RNG state is malformed");
    m_engine = engine;
}

}  // namespace recalign::core
