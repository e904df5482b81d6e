// Small string helpers shared by the core (torch-free).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace recalign::core::str {

std::string trim(std::string_view s);
std::vector<std::string> split(std::string_view s, char sep);
std::string join(const std::vector<std::string>& parts, std::string_view sep);
std::string toLower(std::string_view s);
bool startsWith(std::string_view s, std::string_view prefix);
bool endsWith(std::string_view s, std::string_view suffix);
// Trim, turn newlines and tabs into spaces and collapse runs of white space to one space.
std::string normalizeSpace(std::string_view s);
// Levenshtein distance over bytes (UTF-8 aware callers pass code points via utf8ToCodepoints).
int levenshtein(std::string_view a, std::string_view b);
// Decodes Latin-1 bytes to UTF-8.
std::string latin1ToUtf8(std::string_view s);
// True when `s` is valid UTF-8.
bool isValidUtf8(std::string_view s);
// The 1-based line of the first invalid UTF-8 sequence in `s`, 0 when it is all valid: input files
// (experiments, GSM8K, MMLU, ShareGPT) report "file:line: invalid UTF-8" with it.
int firstInvalidUtf8Line(std::string_view s);
// Formats a double with `digits` decimals.
std::string fixed(double v, int digits);

}  // namespace recalign::core::str
