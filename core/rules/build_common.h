// Helpers shared by the sample builders (internal to core/rules).
#pragma once

#include "core/rules/builders.h"

#include <functional>

namespace recalign::core::build_detail {

// Stream tags that keep every task's random draws independent.
enum : uint64_t {
    kTagSeqRec = 0x10, kTagPalr, kTagControl, kTagRate, kTagSearch, kTagGeneral, kTagShuffle,
    kTagRl = 0x40, kTagEval = 0x80
};

inline uint64_t streamSeed(uint64_t seed, int epoch, uint64_t tag, uint64_t datum)
{
    return mixSeed({seed, static_cast<uint64_t>(static_cast<int64_t>(epoch)), tag, datum});
}

std::vector<std::string> titlesOf(const Dataset& data, const std::vector<ItemId>& ids);

// Scores every history with the teacher in batches of `batch` and calls fn(i, scores[i]).
void forEachScored(const Teacher& teacher, const std::vector<std::vector<ItemId>>& histories, int batch,
                   const std::function<void(size_t, const ItemScores&)>& fn);

// `labels` plus distinct random other items (not labels, not history) up to `total`, shuffled.
std::vector<ItemId> candidateList(const Dataset& data, const std::vector<ItemId>& labels,
                                  const std::vector<ItemId>& history, int total, Rng& rng);

// Non-empty categories, ascending id.
std::vector<CategoryId> nonEmptyCategories(const Dataset& data);

int categorySize(const Dataset& data, CategoryId c);
const std::string& categoryName(const Dataset& data, CategoryId c);

}  // namespace recalign::core::build_detail
