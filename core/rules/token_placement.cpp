// Token placement: the token that completes each parsed title, found by binary search over
// decoded prefix lengths.
#include "core/rules/token_placement.h"

namespace recalign::core {

TokenPlacement placeItemTokens(const std::vector<int32_t>& ids, const DecodeFn& decode,
                               const std::vector<ParsedLine>& parsed)
{
    TokenPlacement out;
    const int n = static_cast<int>(ids.size());
    out.final_token = n - 1;
    out.item_tokens.assign(parsed.size(), n - 1);
    if (n == 0)
        return out;
    // Decoded length of ids[0..m) (m tokens), memoised.
    std::vector<long> memo(static_cast<size_t>(n) + 1, -1);
    memo[0] = 0;
    auto prefixLength = [&](int m) -> long {
        long& v = memo[static_cast<size_t>(m)];
        if (v < 0)
            v = static_cast<long>(decode(std::vector<int32_t>(ids.begin(), ids.begin() + m)).size());
        return v;
    };
    int lo = 1;  // items are in text order, so each search starts where the previous ended
    for (size_t j = 0; j < parsed.size(); ++j) {
        const ParsedLine& p = parsed[j];
        const long endByte = static_cast<long>(p.title_end > p.title_begin ? p.title_end : p.end);
        if (endByte <= 0) {
            out.item_tokens[j] = 0;
            continue;
        }
        // Smallest m in [lo, n] with prefixLength(m) >= endByte (decoded prefixes grow with m).
        int a = lo, b = n;
        if (prefixLength(n) < endByte) {
            out.item_tokens[j] = n - 1;
            continue;
        }
        while (a < b) {
            const int mid = a + (b - a) / 2;
            if (prefixLength(mid) >= endByte)
                b = mid;
            else
                a = mid + 1;
        }
        out.item_tokens[j] = a - 1;
        lo = a;
    }
    return out;
}

}  // namespace recalign::core
