// Length groups: splitting a batch of sequences, sorted by length, into sub-batches that waste
// less on padding (SASRec's length buckets, SFT's sub-batches). Torch-free.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

namespace recalign::core {

// The cost of one sub-batch of `rows` sequences padded to `width` positions.
using GroupCost = std::function<double(size_t rows, double width)>;

// Splits rows sorted by width (ascending) into contiguous [begin, end) groups minimising the
// summed cost, a group's width being its last (widest) row's (O(n^2) dynamic programme).
// maxPositions > 0: a group of two or more rows holds at most that many padded positions.
std::vector<std::pair<size_t, size_t>> planLengthGroups(const std::vector<int64_t>& sortedWidths, const GroupCost& cost,
                                                        int64_t maxPositions = 0);

// The usual cost: rows * width * (1 + width / attentionWidth) + overhead, in positions of linear
// work: attention grows with width^2 (attentionWidth: the width at which it equals the linear
// layers' work), and each sub-batch costs a fixed `overhead` (its operator calls).
GroupCost paddedCost(double attentionWidth, double overhead);

}  // namespace recalign::core
