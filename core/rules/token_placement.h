// Token placement of the rewards (PAPER.md §3: "the item-level reward of item i lands on the
// token that ends item i; the list-level reward lands on the final token"), for any tokenizer
// and template: no newline id is assumed (the released code's id-13 bug, RECLM-GEN §9.3).
//
// Choice: item i ends at the token that *completes its title*, i.e. the first token t whose
// decoded prefix ids[0..t] covers the title's last byte (an item whose title is empty uses its
// line's end). This needs no newline after the last item and works when a token spans the
// title's end and the newline. Torch-free: decoding is a callback.
#pragma once

#include "core/rules/parse.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace recalign::core {

// Decodes a prefix of the generated ids to text, exactly as the text that was parsed
// (special tokens skipped).
using DecodeFn = std::function<std::string(const std::vector<int32_t>&)>;

struct TokenPlacement {
    std::vector<int> item_tokens;  // per parsed line: index into ids of the token ending it
    int final_token = -1;          // ids.size() - 1 (-1 when there are no ids)
};

// `parsed` must come from parseOutput(decode(ids), ...). Several items may end on one token
// (the caller sums their rewards there).
TokenPlacement placeItemTokens(const std::vector<int32_t>& ids, const DecodeFn& decode,
                               const std::vector<ParsedLine>& parsed);

}  // namespace recalign::core
