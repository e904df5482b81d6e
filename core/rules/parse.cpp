// Output parsing: lines → cleaned titles → items (see parse.h for the numbering rule).
#include "core/rules/parse.h"

#include "core/util/strings.h"

#include <cstring>

namespace recalign::core {

namespace parse_detail {

struct Span {
    size_t b = 0, e = 0;
    size_t size() const { return e - b; }
    bool empty() const { return e <= b; }
};

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }
bool isDigit(char c) { return c >= '0' && c <= '9'; }

Span trim(std::string_view t, Span s)
{
    while (s.b < s.e && isSpace(t[s.b]))
        ++s.b;
    while (s.e > s.b && isSpace(t[s.e - 1]))
        --s.e;
    return s;
}

bool hasPrefixAt(std::string_view t, Span s, const char* p)
{
    const size_t n = std::strlen(p);
    return s.size() >= n && t.compare(s.b, n, p) == 0;
}

// A bullet ("- ", "* ", "+ ", "• ", "· ") followed by white space.
Span stripBullet(std::string_view t, Span s)
{
    static const char* const kBullets[] = {"-", "*", "+", "\xE2\x80\xA2", "\xC2\xB7"};
    for (const char* b : kBullets) {
        const size_t n = std::strlen(b);
        if (hasPrefixAt(t, s, b) && s.size() > n && isSpace(t[s.b + n]))
            return trim(t, {s.b + n, s.e});
    }
    return s;
}

// "12.", "12)", "12 -" (then white space or, for "." and ")", a non-digit): the number, and the
// rest after the prefix; -1 when the line does not start with one.
int indexPrefix(std::string_view t, Span s, Span& rest)
{
    size_t i = s.b;
    long n = 0;
    while (i < s.e && isDigit(t[i]) && i - s.b < 6)
        n = n * 10 + (t[i++] - '0');
    if (i == s.b || (i < s.e && isDigit(t[i])))
        return -1;
    size_t j = i;
    while (j < s.e && (t[j] == ' ' || t[j] == '\t'))
        ++j;
    if (j >= s.e)
        return -1;
    const char sep = t[j];
    if (sep == '.' || sep == ')') {
        if (j != i)
            return -1;  // "1 ." is not numbering
        if (j + 1 < s.e && isDigit(t[j + 1]))
            return -1;  // "1.5 Million"
    } else if (sep == '-') {
        if (j + 1 < s.e && !isSpace(t[j + 1]))
            return -1;  // "1-900"
    } else {
        return -1;
    }
    rest = trim(t, {j + 1, s.e});
    return static_cast<int>(n);
}

// Surrounding quote pairs, repeatedly: "..", '..', “..”, ‘..’, «..», `..`, **..**.
Span stripQuotes(std::string_view t, Span s)
{
    static const char* const kPairs[][2] = {{"\"", "\""},
                                           {"'", "'"},
                                           {"\xE2\x80\x9C", "\xE2\x80\x9D"},
                                           {"\xE2\x80\x98", "\xE2\x80\x99"},
                                           {"\xC2\xAB", "\xC2\xBB"},
                                           {"**", "**"},
                                           {"`", "`"}};
    for (bool changed = true; changed;) {
        changed = false;
        for (const auto& p : kPairs) {
            const size_t a = std::strlen(p[0]), z = std::strlen(p[1]);
            if (s.size() > a + z && t.compare(s.b, a, p[0]) == 0 && t.compare(s.e - z, z, p[1]) == 0) {
                s = trim(t, {s.b + a, s.e - z});
                changed = true;
                break;
            }
        }
    }
    return s;
}

// A trailing " (...)" or " [...]" group: the span without it and the group's content.
bool trailingGroup(std::string_view t, Span s, Span& without, Span& content)
{
    if (s.size() < 4)
        return false;
    const char close = t[s.e - 1];
    if (close != ')' && close != ']')
        return false;
    const char open = close == ')' ? '(' : '[';
    int depth = 0;
    for (size_t i = s.e; i-- > s.b;) {
        if (t[i] == close)
            ++depth;
        else if (t[i] == open && --depth == 0) {
            if (i == s.b || !isSpace(t[i - 1]))
                return false;
            without = trim(t, {s.b, i});
            content = trim(t, {i + 1, s.e - 1});
            return !without.empty();
        }
    }
    return false;
}

// True when every comma-separated part of `content` names a category.
bool namesCategories(std::string_view t, Span content, const TitleLookup& lookup)
{
    const std::string c(t.substr(content.b, content.size()));
    if (lookup.isCategoryName(c))
        return true;
    const auto parts = str::split(c, ',');
    if (parts.size() < 2)
        return false;
    for (const auto& p : parts)
        if (!lookup.isCategoryName(str::trim(p)))
            return false;
    return true;
}

// Title variants of one base span, most likely first.
void addVariants(std::string_view t, Span base, const TitleLookup& lookup, bool fromIndex, std::vector<std::pair<Span, bool>>& out)
{
    const Span q = stripQuotes(t, base);
    Span without, content;
    if (trailingGroup(t, q, without, content)) {
        const Span s = stripQuotes(t, without);
        if (namesCategories(t, content, lookup)) {
            out.push_back({s, fromIndex});
            out.push_back({q, fromIndex});
        } else {
            out.push_back({q, fromIndex});
            out.push_back({s, fromIndex});
        }
    } else {
        out.push_back({q, fromIndex});
    }
    if (q.b != base.b || q.e != base.e)
        out.push_back({base, fromIndex});
}

struct Line {
    Span raw;      // between newlines
    Span content;  // trimmed, bullet stripped
};

}  // namespace parse_detail

std::vector<ParsedLine> parseOutput(std::string_view text, const TitleLookup& lookup, const ParseOptions& options)
{
    using namespace parse_detail;
    std::vector<Line> lines;
    size_t start = 0;
    for (size_t i = 0; i <= text.size(); ++i) {
        if (i == text.size() || text[i] == '\n') {
            const Span raw{start, i};
            const Span c = stripBullet(text, trim(text, raw));
            if (!c.empty())
                lines.push_back({raw, c});
            start = i + 1;
        }
    }

    std::vector<ParsedLine> out;
    int lastNumber = 0;
    for (size_t li = 0; li < lines.size(); ++li) {
        const Line& line = lines[li];
        Span rest;
        const int number = options.strip_index ? indexPrefix(text, line.content, rest) : -1;
        if (options.numbered_only && number < 0)
            continue;
        const int position = static_cast<int>(out.size()) + 1;
        const bool expected = number >= 0 && (number == position || number == lastNumber + 1);
        std::vector<std::pair<Span, bool>> variants;  // (span, came from the index-stripped text)
        if (number >= 0 && !rest.empty() && expected)
            addVariants(text, rest, lookup, true, variants);
        addVariants(text, line.content, lookup, false, variants);
        if (number >= 0 && !rest.empty() && !expected)
            addVariants(text, rest, lookup, true, variants);

        ParsedLine p;
        p.begin = line.raw.b;
        p.end = line.raw.e;
        size_t chosen = 0;
        bool found = false;
        for (size_t v = 0; v < variants.size() && !found; ++v) {
            const Span s = variants[v].first;
            if (const ItemId id = lookup.exact(text.substr(s.b, s.size()))) {
                p.exact_item = p.item = id;
                chosen = v;
                found = true;
            }
        }
        // A catalogue title with a newline: join the following un-numbered lines.
        if (!found && options.join_wrapped_lines) {
            const Span head = variants.front().first;
            for (size_t next = li + 1; next < lines.size() && next <= li + 3 && !found; ++next) {
                Span dummy;
                if (indexPrefix(text, lines[next].content, dummy) >= 0)
                    break;
                const Span joined{head.b, lines[next].content.e};
                for (const Span s : {stripQuotes(text, joined), joined}) {
                    if (const ItemId id = lookup.exact(text.substr(s.b, s.size()))) {
                        p.exact_item = p.item = id;
                        variants.insert(variants.begin(), {s, variants.front().second});
                        chosen = 0;
                        found = true;
                        p.end = lines[next].raw.e;
                        li = next;
                        break;
                    }
                }
            }
        }
        if (!found && options.fuzzy) {
            for (size_t v = 0; v < variants.size() && !found; ++v) {
                const Span s = variants[v].first;
                if (s.empty())
                    continue;
                if (const ItemId id = lookup.fuzzy(std::string(text.substr(s.b, s.size())), options.max_distance)) {
                    p.item = id;
                    p.fuzzy = true;
                    chosen = v;
                    found = true;
                }
            }
        }
        const auto& [span, fromIndex] = variants[chosen];
        p.raw = std::string(text.substr(p.begin, p.end - p.begin));
        p.title_begin = span.b;
        p.title_end = span.e;
        p.title = std::string(text.substr(span.b, span.size()));
        if (fromIndex) {
            p.index_number = number;
            lastNumber = number;
        }
        out.push_back(std::move(p));
    }
    return out;
}

}  // namespace recalign::core
