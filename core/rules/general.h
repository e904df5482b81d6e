// I4 general instructions: ShareGPT-style conversations loaded from JSON
// (`[{"conversations": [{"from": "human"|"gpt", "value": "..."}]}]`), or, for datasets without
// one, a small deterministic set generated from the catalogue (category questions, counting),
// and the I4 sample construction of RECLM-GEN §3.9. Torch-free.
#pragma once

#include "core/rules/rng.h"
#include "core/rules/sample.h"

#include <string>
#include <vector>

namespace recalign::core {

// Alternating turns, human first (even indices) and gpt (odd indices).
struct Conversation {
    std::vector<std::string> turns;
};

// Loads ShareGPT JSON. "from" values human/user → human, gpt/assistant/chatgpt/bard/bing/model
// → gpt; system turns are dropped; leading gpt turns are dropped and a conversation is cut at
// the first break in alternation; conversations without a (human, gpt) pair are skipped.
// Throws CoreException(DataLoad) naming the file and the problem.
std::vector<Conversation> loadShareGpt(const std::string& path);
std::vector<Conversation> parseShareGpt(const std::string& jsonText, const std::string& sourceName);

// `count` deterministic conversations about the catalogue: how many items a category has, a
// few items of a category, an item's categories, whether an item is in a category, counting
// words of a title, counting between two numbers; about a fifth of them have two exchanges.
std::vector<Conversation> catalogueConversations(const Dataset& data, uint64_t seed, int count = 1000);

struct GeneralSampleOptions {
    // Earlier exchanges are included while the window's text stays within this many bytes
    // (the released code bounds tokens by max_token_length − 64; ~4 bytes per token).
    size_t max_chars = 2000;
};

// One I4 sample: a random conversation, a random human turn e that has a reply, a start s
// drawn uniformly from {e, e−2, …} within the budget; prompt = turns s..e under the system
// "You are a helpful, respectful and honest assistant."; output = turn e+1.
Sample buildGeneralSample(const std::vector<Conversation>& conversations, Rng& rng,
                          const GeneralSampleOptions& options = {});

}  // namespace recalign::core
