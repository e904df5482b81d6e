// Constrained decoding over a catalogue: a token trie of item titles, tokenised in the context
// they appear in the output list (the D3 approach, ANCHORS.md §E.3), walked by a small state
// machine so that every generated list has the form of RECLM-GEN §3.3,
//     " 1. Title\n 2. Title\n ... k. Title\n" EOS
// (the reply follows the prompt after one space), and every title exists. Torch-free.
#pragma once

#include "core/tokenizer/tokenizer.h"

#include <cstdint>
#include <string>
#include <vector>

namespace recalign::core::llm {

struct TitleConstraintOptions {
    int min_items = 1;         // EOS allowed only after this many lines
    int max_items = 20;        // after this many lines only EOS is allowed
    std::string context = "]";  // text just before the reply (the prompt's end, e.g. "[/INST]")
};

class TitleConstraint {
public:
    // Titles are trimmed; empty titles and titles with a newline are rejected (InvalidConfig).
    // Duplicate titles are allowed (one trie path).
    TitleConstraint(const Tokenizer& tokenizer, const std::vector<std::string>& titles,
                    const TitleConstraintOptions& options = {});

    struct State {
        int32_t line = 1;   // 1-based line being written
        int32_t phase = 0;  // 0 = index prefix " k.", 1 = title, 2 = done (EOS emitted)
        int32_t pos = 0;    // position inside the index prefix
        int32_t node = 0;   // trie node inside the title
    };

    State initial() const { return {}; }
    // The tokens allowed next, ascending (empty once done).
    void allowed(const State& s, std::vector<int32_t>& out) const;
    // The state after `token`; throws InvalidConfig when the token is not allowed.
    State advance(const State& s, int32_t token) const;
    bool isAllowed(const State& s, int32_t token) const;
    bool done(const State& s) const { return s.phase == 2; }

    int32_t eosId() const { return m_eos; }
    size_t titleCount() const { return m_titleCount; }
    size_t nodeCount() const { return m_nodes.size(); }
    // Token ids of line `k`'s index prefix (" k."), 1 <= k <= max_items.
    const std::vector<int32_t>& indexTokens(int line) const;
    // Token ids of a title's part of its line (" Title\n"), tokenised after "1.".
    static std::vector<int32_t> titleTokens(const Tokenizer& tokenizer, const std::string& title);

private:
    struct Node {
        std::vector<std::pair<int32_t, int32_t>> children;  // (token, node), ascending by token
        bool terminal = false;                               // a title's line ends here
    };
    TitleConstraintOptions m_opt;
    int32_t m_eos = 2;
    size_t m_titleCount = 0;
    std::vector<Node> m_nodes;
    std::vector<std::vector<int32_t>> m_index;  // [line] → tokens of " line."
    int32_t child(int32_t node, int32_t token) const;
};

}  // namespace recalign::core::llm
