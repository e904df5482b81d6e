#include "core/util/length_groups.h"

#include <algorithm>

namespace recalign::core {

std::vector<std::pair<size_t, size_t>> planLengthGroups(const std::vector<int64_t>& sortedWidths, const GroupCost& cost,
                                                        int64_t maxPositions)
{
    const size_t n = sortedWidths.size();
    if (n == 0)
        return {};
    std::vector<double> best(n + 1, 1e300);
    std::vector<size_t> from(n + 1, 0);
    best[0] = 0.0;
    for (size_t j = 1; j <= n; ++j) {
        const double w = static_cast<double>(sortedWidths[j - 1]);
        for (size_t i = 0; i < j; ++i) {
            const double cnt = static_cast<double>(j - i);
            if (maxPositions > 0 && j - i > 1 && static_cast<int64_t>(cnt * w) > maxPositions)
                continue;
            const double c = best[i] + cost(j - i, w);
            if (c < best[j]) {
                best[j] = c;
                from[j] = i;
            }
        }
    }
    std::vector<std::pair<size_t, size_t>> groups;
    for (size_t j = n; j > 0; j = from[j])
        groups.emplace_back(from[j], j);
    std::reverse(groups.begin(), groups.end());
    return groups;
}

GroupCost paddedCost(double attentionWidth, double overhead)
{
    return [attentionWidth, overhead](size_t rows, double width) {
        return static_cast<double>(rows) * width * (1.0 + width / attentionWidth) + overhead;
    };
}

}  // namespace recalign::core
