// Output parsing (RECLM-GEN §3.7): a generated list back to catalogue items. Splits lines,
// strips bullets, the list numbering ("1.", "1)", "1 -"), surrounding quotes and a trailing
// " (category)" / " [..]", then maps the title exactly and, optionally, fuzzily.
//
// Titles with digits and dots ("2001: A Space Odyssey", "1917", "9. Ninth Gate") parse right:
// a leading number is taken as list numbering by default only when it is the *expected* one
// (the line's 1-based position, or the previous line's number + 1) and, in every case, the
// catalogue decides when it can: a variant that maps exactly wins over one that does not.
// Blank lines are skipped (they are not items). Torch-free.
#pragma once

#include "core/rules/title_lookup.h"

#include <string>
#include <string_view>
#include <vector>

namespace recalign::core {

struct ParseOptions {
    bool fuzzy = false;              // vague mapping (metrics/test): nearest title within max_distance
    int max_distance = 3;            // Levenshtein bound of the fuzzy step
    bool strip_index = true;         // the released --idx (always on)
    bool numbered_only = false;      // zero-shot path: keep only lines that carry a list number
    bool join_wrapped_lines = true;  // a catalogue title that contains a newline spans two lines
};

struct ParsedLine {
    std::string raw;                        // the line(s) exactly as in the text, without the newline
    size_t begin = 0, end = 0;              // byte span of `raw` in the text: [begin, end)
    size_t title_begin = 0, title_end = 0;  // byte span of `title` in the text
    int index_number = -1;                  // the list number that was stripped, -1 when none
    std::string title;                      // the cleaned title
    ItemId exact_item = 0;                  // exact match (what the reward uses; 0 = none)
    ItemId item = 0;                        // exact, else fuzzy when enabled (what the metrics use)
    bool fuzzy = false;                     // `item` came from the fuzzy step
};

std::vector<ParsedLine> parseOutput(std::string_view text, const TitleLookup& lookup, const ParseOptions& options = {});

}  // namespace recalign::core
