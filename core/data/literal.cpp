// JSON / Python-literal parser (recursive descent over one line of text).
#include "core/data/literal.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

namespace recalign::core {

namespace literal_detail {

constexpr int kMaxDepth = 200;

void appendUtf8(std::string& out, uint32_t cp)
{
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        cp = 0xFFFD;
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

struct Failure {
    size_t pos;
    std::string message;
};

class Parser {
public:
    explicit Parser(std::string_view s) : m_s(s) {}

    // build == false: validate and skip without constructing values.
    void value(nlohmann::json* out, int depth)
    {
        if (depth > kMaxDepth)
            fail("expected at most " + std::to_string(kMaxDepth) + " levels of nesting, found more");
        ws();
        if (m_i >= m_s.size())
            fail("expected a value, found the end of the line");
        const char c = m_s[m_i];
        if (c == '{')
            braces(out, depth);
        else if (c == '[')
            sequence(out, depth, ']');
        else if (c == '(')
            sequence(out, depth, ')');
        else if (isStringStart())
            string(out);
        else if (c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9'))
            number(out);
        else
            word(out);
    }

    void ws()
    {
        while (m_i < m_s.size() && (m_s[m_i] == ' ' || m_s[m_i] == '\t' || m_s[m_i] == '\n' || m_s[m_i] == '\r'))
            ++m_i;
    }
    bool atEnd()
    {
        ws();
        return m_i >= m_s.size();
    }
    [[noreturn]] void fail(const std::string& message) { throw Failure{m_i, message}; }
    std::string found() const
    {
        if (m_i >= m_s.size())
            return "the end of the line";
        size_t n = std::min<size_t>(12, m_s.size() - m_i);
        while (m_i + n < m_s.size() && (static_cast<unsigned char>(m_s[m_i + n]) & 0xC0) == 0x80)
            ++n;  // whole UTF-8 characters only
        return "'" + std::string(m_s.substr(m_i, n)) + (m_i + n < m_s.size() ? "...'" : "'");
    }

    // Top-level object with only `keys` built.
    void fields(nlohmann::json& out, const std::vector<std::string>& keys)
    {
        ws();
        if (m_i >= m_s.size() || m_s[m_i] != '{')
            fail("expected a JSON object or Python dict starting with '{', found " + found());
        ++m_i;
        out = nlohmann::json::object();
        ws();
        if (peek('}')) {
            ++m_i;
            return;
        }
        for (;;) {
            nlohmann::json key;
            value(&key, 1);
            ws();
            if (!peek(':'))
                fail("expected ':' after a dict key, found " + found());
            ++m_i;
            const std::string k = keyString(key);
            if (std::find(keys.begin(), keys.end(), k) != keys.end()) {
                nlohmann::json v;
                value(&v, 1);
                out[k] = std::move(v);
            } else {
                value(nullptr, 1);
            }
            ws();
            if (peek(',')) {
                ++m_i;
                ws();
                if (peek('}')) {
                    ++m_i;
                    return;
                }
                continue;
            }
            if (peek('}')) {
                ++m_i;
                return;
            }
            fail("expected ',' or '}' in a dict, found " + found());
        }
    }

private:
    bool peek(char c) const { return m_i < m_s.size() && m_s[m_i] == c; }

    static std::string keyString(const nlohmann::json& key)
    {
        if (key.is_string())
            return key.get<std::string>();
        return key.dump();
    }

    void braces(nlohmann::json* out, int depth)
    {
        ++m_i;  // '{'
        ws();
        if (peek('}')) {
            ++m_i;
            if (out)
                *out = nlohmann::json::object();
            return;
        }
        // Dict or set: decided by the ':' after the first element.
        nlohmann::json first;
        value(out ? &first : nullptr, depth + 1);
        ws();
        const bool dict = peek(':');
        if (out)
            *out = dict ? nlohmann::json::object() : nlohmann::json::array();
        if (dict) {
            const std::string k0 = out ? keyString(first) : std::string();
            ++m_i;
            nlohmann::json v;
            value(out ? &v : nullptr, depth + 1);
            if (out)
                (*out)[k0] = std::move(v);
        } else if (out) {
            out->push_back(std::move(first));
        }
        for (;;) {
            ws();
            if (peek('}')) {
                ++m_i;
                return;
            }
            if (!peek(','))
                fail(std::string("expected ',' or '}' in a ") + (dict ? "dict" : "set") + ", found " + found());
            ++m_i;
            ws();
            if (peek('}')) {
                ++m_i;
                return;
            }
            nlohmann::json k;
            value(out ? &k : nullptr, depth + 1);
            if (dict) {
                ws();
                if (!peek(':'))
                    fail("expected ':' after a dict key, found " + found());
                ++m_i;
                nlohmann::json v;
                value(out ? &v : nullptr, depth + 1);
                if (out)
                    (*out)[keyString(k)] = std::move(v);
            } else if (out) {
                out->push_back(std::move(k));
            }
        }
    }

    void sequence(nlohmann::json* out, int depth, char close)
    {
        ++m_i;
        if (out)
            *out = nlohmann::json::array();
        ws();
        if (peek(close)) {
            ++m_i;
            return;
        }
        for (;;) {
            nlohmann::json v;
            value(out ? &v : nullptr, depth + 1);
            if (out)
                out->push_back(std::move(v));
            ws();
            if (peek(close)) {
                ++m_i;
                return;
            }
            if (!peek(','))
                fail(std::string("expected ',' or '") + close + "', found " + found());
            ++m_i;
            ws();
            if (peek(close)) {
                ++m_i;
                return;
            }
        }
    }

    bool isStringStart() const
    {
        size_t j = m_i;
        for (int k = 0; k < 2 && j < m_s.size(); ++k) {
            const char c = m_s[j];
            if (c == 'u' || c == 'U' || c == 'b' || c == 'B' || c == 'r' || c == 'R')
                ++j;
            else
                break;
        }
        return j < m_s.size() && (m_s[j] == '\'' || m_s[j] == '"');
    }

    uint32_t hex(size_t n)
    {
        if (m_i + n > m_s.size())
            fail("expected " + std::to_string(n) + " hex digits, found " + found());
        uint32_t v = 0;
        for (size_t k = 0; k < n; ++k) {
            const char c = m_s[m_i + k];
            v <<= 4;
            if (c >= '0' && c <= '9')
                v |= static_cast<uint32_t>(c - '0');
            else if (c >= 'a' && c <= 'f')
                v |= static_cast<uint32_t>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F')
                v |= static_cast<uint32_t>(c - 'A' + 10);
            else
                fail("expected " + std::to_string(n) + " hex digits, found " + found());
        }
        m_i += n;
        return v;
    }

    // One quoted piece (prefix, quotes, body) appended to `s` (when building).
    void stringPiece(std::string* s)
    {
        bool raw = false;
        while (m_s[m_i] != '\'' && m_s[m_i] != '"') {
            raw = raw || m_s[m_i] == 'r' || m_s[m_i] == 'R';
            ++m_i;
        }
        const char q = m_s[m_i];
        const bool triple = m_i + 2 < m_s.size() && m_s[m_i + 1] == q && m_s[m_i + 2] == q;
        const size_t open = m_i;
        m_i += triple ? 3 : 1;
        for (;;) {
            if (m_i >= m_s.size()) {
                m_i = open;
                fail(std::string("expected a closing ") + q + " for the string opened here, found the end of the line");
            }
            const char c = m_s[m_i];
            if (c == q && (!triple || (m_i + 2 < m_s.size() && m_s[m_i + 1] == q && m_s[m_i + 2] == q))) {
                m_i += triple ? 3 : 1;
                return;
            }
            if (c == '\\' && m_i + 1 < m_s.size()) {
                const char e = m_s[m_i + 1];
                if (raw) {
                    if (s) {
                        s->push_back('\\');
                        s->push_back(e);
                    }
                    m_i += 2;
                    continue;
                }
                m_i += 2;
                uint32_t cp = 0;
                switch (e) {
                case 'n': cp = '\n'; break;
                case 't': cp = '\t'; break;
                case 'r': cp = '\r'; break;
                case 'b': cp = '\b'; break;
                case 'f': cp = '\f'; break;
                case 'v': cp = '\v'; break;
                case 'a': cp = '\a'; break;
                case '\\': cp = '\\'; break;
                case '\'': cp = '\''; break;
                case '"': cp = '"'; break;
                case '/': cp = '/'; break;
                case '\n': continue;  // line continuation
                case 'x': cp = hex(2); break;
                case 'u': {
                    cp = hex(4);
                    if (cp >= 0xD800 && cp <= 0xDBFF && m_i + 1 < m_s.size() && m_s[m_i] == '\\' && m_s[m_i + 1] == 'u') {
                        m_i += 2;
                        const uint32_t lo = hex(4);
                        if (lo >= 0xDC00 && lo <= 0xDFFF)
                            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                        else if (s) {
                            appendUtf8(*s, 0xFFFD);
                            cp = lo;
                        }
                    }
                    break;
                }
                case 'U': cp = hex(8); break;
                default:
                    if (e >= '0' && e <= '7') {
                        cp = static_cast<uint32_t>(e - '0');
                        for (int k = 0; k < 2 && m_i < m_s.size() && m_s[m_i] >= '0' && m_s[m_i] <= '7'; ++k)
                            cp = cp * 8 + static_cast<uint32_t>(m_s[m_i++] - '0');
                    } else {
                        // Python keeps unknown escapes verbatim.
                        if (s) {
                            s->push_back('\\');
                            s->push_back(e);
                        }
                        continue;
                    }
                }
                if (s)
                    appendUtf8(*s, cp);
                continue;
            }
            // A run of ordinary characters at once.
            size_t j = m_i + 1;
            while (j < m_s.size() && m_s[j] != q && m_s[j] != '\\')
                ++j;
            if (s)
                s->append(m_s.data() + m_i, j - m_i);
            m_i = j;
        }
    }

    void string(nlohmann::json* out)
    {
        std::string s;
        stringPiece(out ? &s : nullptr);
        // Adjacent literals concatenate ('a' 'b' == 'ab').
        for (;;) {
            const size_t save = m_i;
            ws();
            if (m_i < m_s.size() && isStringStart()) {
                stringPiece(out ? &s : nullptr);
            } else {
                m_i = save;
                break;
            }
        }
        if (out)
            *out = std::move(s);
    }

    void number(nlohmann::json* out)
    {
        const size_t start = m_i;
        if (m_s[m_i] == '-' || m_s[m_i] == '+')
            ++m_i;
        const std::string_view rest = m_s.substr(m_i);
        if (rest.substr(0, 8) == "Infinity" || rest.substr(0, 3) == "inf") {
            m_i += rest[0] == 'I' ? 8 : 3;
            if (out)
                *out = (m_s[start] == '-' ? -1.0 : 1.0) * std::numeric_limits<double>::infinity();
            return;
        }
        bool isFloat = false;
        while (m_i < m_s.size()) {
            const char c = m_s[m_i];
            if ((c >= '0' && c <= '9') || c == '_') {
                ++m_i;
            } else if (c == '.' || c == 'e' || c == 'E') {
                isFloat = true;
                ++m_i;
                if ((c == 'e' || c == 'E') && m_i < m_s.size() && (m_s[m_i] == '-' || m_s[m_i] == '+'))
                    ++m_i;
            } else {
                break;
            }
        }
        std::string text(m_s.substr(start, m_i - start));
        text.erase(std::remove(text.begin(), text.end(), '_'), text.end());
        if (!text.empty() && text[0] == '+')
            text.erase(0, 1);
        const char* b = text.data();
        const char* e = b + text.size();
        if (!isFloat) {
            int64_t v = 0;
            auto r = std::from_chars(b, e, v);
            if (r.ec == std::errc() && r.ptr == e) {
                if (out)
                    *out = v;
                return;
            }
        }
        double d = 0;
        auto r = std::from_chars(b, e, d);
        if (r.ec != std::errc() || r.ptr != e || text.empty()) {
            m_i = start;
            fail("expected a number, found " + found());
        }
        if (out)
            *out = d;
    }

    void word(nlohmann::json* out)
    {
        const size_t start = m_i;
        while (m_i < m_s.size() && (std::isalnum(static_cast<unsigned char>(m_s[m_i])) || m_s[m_i] == '_'))
            ++m_i;
        const std::string_view w = m_s.substr(start, m_i - start);
        nlohmann::json v;
        if (w == "True" || w == "true")
            v = true;
        else if (w == "False" || w == "false")
            v = false;
        else if (w == "None" || w == "null")
            v = nullptr;
        else if (w == "NaN" || w == "nan")
            v = std::numeric_limits<double>::quiet_NaN();
        else {
            m_i = start;
            fail("expected a value (string, number, list, dict, True/False/None), found " + found());
        }
        if (out)
            *out = std::move(v);
    }

    std::string_view m_s;
    size_t m_i = 0;
};

}  // namespace literal_detail

bool parseLiteral(std::string_view text, nlohmann::json& out, LiteralError& error)
{
    literal_detail::Parser p(text);
    try {
        p.value(&out, 0);
        if (!p.atEnd())
            p.fail("expected the end of the value, found " + p.found());
        return true;
    } catch (const literal_detail::Failure& f) {
        error = {f.pos + 1, f.message};
        return false;
    } catch (const std::exception& e) {  // nlohmann errors (should not happen)
        error = {0, std::string("expected a literal, found an error: ") + e.what()};
        return false;
    }
}

bool parseLiteralFields(std::string_view text, const std::vector<std::string>& keys, nlohmann::json& out,
                        LiteralError& error)
{
    literal_detail::Parser p(text);
    try {
        p.fields(out, keys);
        if (!p.atEnd())
            p.fail("expected the end of the line after the dict, found " + p.found());
        return true;
    } catch (const literal_detail::Failure& f) {
        error = {f.pos + 1, f.message};
        return false;
    } catch (const std::exception& e) {
        error = {0, std::string("expected a literal, found an error: ") + e.what()};
        return false;
    }
}

}  // namespace recalign::core
