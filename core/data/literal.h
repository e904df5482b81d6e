// One parser for JSON and Python literals (the Amazon 2018 and Steam dumps use either): dicts,
// lists, tuples, sets, single/double/triple-quoted strings with u/b/r prefixes and escapes,
// True/False/None, true/false/null, numbers, NaN/Infinity. Produces nlohmann::json values.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace recalign::core {

// A syntax error: `column` is 1-based; `message` reads "expected X, found Y".
struct LiteralError {
    size_t column = 0;
    std::string message;
};

// Parses one complete value (surrounding white space allowed). Returns false and fills `error`
// on a syntax error; never throws.
bool parseLiteral(std::string_view text, nlohmann::json& out, LiteralError& error);

// Parses a top-level dict/object but builds only the values of `keys` (others are skipped
// without being built: much faster on review lines with long texts). `out` receives an object
// with the keys that were present.
bool parseLiteralFields(std::string_view text, const std::vector<std::string>& keys, nlohmann::json& out,
                        LiteralError& error);

}  // namespace recalign::core
