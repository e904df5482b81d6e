// Constrained decoding over a catalogue: a token trie of item titles, tokenised in the context
// they appear in the output list (the D3 approach, ANCHORS.md §E.3), walked by a small state
// machine so that every generated list has the form of RECLM-GEN §3.3,
//     " 1. Title\n 2. Title\n ... k. Title\n" EOS
// (the reply follows the prompt after one space), and every title exists. Per row, a
// RowConstraint narrows the walk (RowConstraintState): exactly k lines, forbidden titles (the
// user's history, an excluded category), no title twice, so that a title is also NEW. Torch-free.
#pragma once

#include "core/tokenizer/tokenizer.h"

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace recalign::core::llm {

struct TitleConstraintOptions {
    int min_items = 1;         // EOS allowed only after this many lines
    int max_items = 20;        // after this many lines only EOS is allowed
    std::string context = "]";  // text just before the reply (the prompt's end, e.g. "[/INST]")
};

// One row's restrictions on top of a TitleConstraint (one per prompt of a batch).
struct RowConstraint {
    int items = 0;  // exactly this many lines (k), 1..max_items; 0 = the constraint's min..max
    // Titles the row must not list (trimmed; titles outside the catalogue are ignored). Items
    // sharing a title share its path, so forbidding the title forbids all of them.
    std::vector<std::string> forbidden;
    bool no_repeats = true;  // a title already in the list is not allowed again
    std::string label;       // names the row in errors, e.g. "user 17 (i1-)"
};

class RowConstraintState;

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
    size_t titleCount() const { return m_titleCount; }  // titles given, duplicates included
    // Trie paths: titles after trimming, duplicates counted once.
    size_t distinctTitleCount() const { return static_cast<size_t>(m_nodes[0].titles); }
    size_t nodeCount() const { return m_nodes.size(); }
    int maxItems() const { return m_opt.max_items; }
    // Token ids of line `k`'s index prefix (" k."), 1 <= k <= max_items.
    const std::vector<int32_t>& indexTokens(int line) const;
    // Token ids of a title's part of its line (" Title\n"), tokenised after "1.".
    static std::vector<int32_t> titleTokens(const Tokenizer& tokenizer, const std::string& title);

private:
    friend class RowConstraintState;
    struct Node {
        std::vector<std::pair<int32_t, int32_t>> children;  // (token, node), ascending by token
        bool terminal = false;                               // a title's line ends here
        int32_t parent = -1;                                 // -1 at the root
        // Titles whose line ends at or below this node (a terminal counts 1 and ends the line, so
        // whatever hangs below it is unreachable). A row subtracts what it removed.
        int32_t titles = 0;
    };
    // How one walk is limited: line counts, and for a row the titles it removed (null: none).
    struct Limits {
        int min_items;
        int max_items;
        const RowConstraintState* row;
    };
    Limits plainLimits() const { return {m_opt.min_items, m_opt.max_items, nullptr}; }
    // Which of EOS and the next line's index may come at a line start.
    void lineStart(const Limits& lim, const State& s, bool& eos, bool& index) const;
    void allowedUnder(const Limits& lim, const State& s, std::vector<int32_t>& out) const;
    bool isAllowedUnder(const Limits& lim, const State& s, int32_t token) const;
    // `titleEnd` (optional) receives the terminal node when `token` completes a title, else -1.
    State advanceUnder(const Limits& lim, const State& s, int32_t token, int32_t* titleEnd = nullptr) const;
    bool open(const Limits& lim, int32_t node) const;  // an allowed title ends at or below `node`

    TitleConstraintOptions m_opt;
    int32_t m_eos = 2;
    size_t m_titleCount = 0;
    std::vector<Node> m_nodes;
    std::vector<std::vector<int32_t>> m_index;             // [line] → tokens of " line."
    std::unordered_map<std::string, int32_t> m_terminals;  // trimmed title → its terminal node
    int32_t child(int32_t node, int32_t token) const;
};

// One row's walk through a TitleConstraint under its RowConstraint. Forbidden titles, and with
// no_repeats every title the row completes, are removed from the row's view of the trie: each
// removal subtracts one from the title counts of the nodes on its path (a sparse map, so a row
// costs O(removed titles × title length), not O(trie)). A token is offered only when an allowed
// title still ends below it, so a prefix whose every completion is removed never opens (no dead
// ends), and a new line opens only while allowed titles remain. Copyable; the constraint must
// outlive it.
class RowConstraintState {
public:
    // The constraint's own walk (min_items..max_items lines, every title, repeats allowed).
    explicit RowConstraintState(const TitleConstraint& constraint);
    // Throws InvalidConfig, naming row.label, when row.items is outside 0..max_items or when the
    // row leaves fewer allowed titles than its list needs (k distinct with no_repeats, else 1).
    RowConstraintState(const TitleConstraint& constraint, const RowConstraint& row);

    void allowed(std::vector<int32_t>& out) const;  // ascending; empty once done
    bool isAllowed(int32_t token) const;
    void advance(int32_t token);  // throws InvalidConfig when `token` is not allowed
    bool done() const { return m_state.phase == 2; }
    const TitleConstraint::State& state() const { return m_state; }
    // Titles a new line could still list (the distinct catalogue titles minus the removed ones).
    int32_t allowedTitles() const { return available(0); }

private:
    friend class TitleConstraint;
    // Built on each call (not stored): a stored pointer to this row would dangle in a copy.
    TitleConstraint::Limits limits() const { return {m_minItems, m_maxItems, m_restricted ? this : nullptr}; }
    int32_t available(int32_t node) const;  // allowed titles ending at or below `node`
    void remove(int32_t terminal);          // once per terminal

    const TitleConstraint* m_c;
    int m_minItems, m_maxItems;  // lines: the constraint's min..max, or k..k (RowConstraint::items)
    TitleConstraint::State m_state;
    bool m_noRepeats = false;
    bool m_restricted = false;                     // false: the plain walk, no look-ups
    std::unordered_map<int32_t, int32_t> m_removed;  // node → removed titles ending at or below it
};

}  // namespace recalign::core::llm
