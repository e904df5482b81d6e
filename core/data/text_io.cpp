// Dataset text files: gzip-transparent line reading, the error policy, CSV records, numbers.
#include "core/data/text_io.h"

#include "core/api/error.h"
#include "core/util/strings.h"

#include <zlib.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace recalign::core {

namespace text_io_detail {
constexpr size_t kBufferSize = 1 << 17;
constexpr int kMaxRecordLines = 200;  // a quoted CSV field may span at most this many lines

// True when no byte has its high bit set (checked 8 bytes at a time).
bool isAscii(const std::string& s)
{
    size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
        uint64_t w;
        std::memcpy(&w, s.data() + i, 8);
        if (w & 0x8080808080808080ULL)
            return false;
    }
    for (; i < s.size(); ++i)
        if (static_cast<unsigned char>(s[i]) & 0x80)
            return false;
    return true;
}
}  // namespace text_io_detail

std::string fileLine(const std::string& file, long line)
{
    return line > 0 ? file + ":" + std::to_string(line) : file;
}

void ImportLog::skip(const std::string& file, long line, const std::string& message)
{
    const std::string where = fileLine(file, line);
    if (!m_lenient)
        throw CoreException(ErrorCode::DataLoad, where + ": " + message, where);
    ++m_skipped;
    if (m_skippedExamples.size() < kMaxExamples)
        m_skippedExamples.push_back(where + ": " + message);
}

void ImportLog::repaired(const std::string& file, long line, const std::string& message)
{
    ++m_repaired;
    if (m_repairedExamples.size() < kMaxExamples)
        m_repairedExamples.push_back(fileLine(file, line) + ": " + message);
}

void requireReadableFile(const std::string& path)
{
    namespace fs = std::filesystem;
    std::error_code ec;
    const auto st = fs::status(path, ec);
    if (ec || !fs::exists(st))
        throw CoreException(ErrorCode::DataLoad, path + ": expected a file, found nothing (no such file)", path);
    if (fs::is_directory(st))
        throw CoreException(ErrorCode::DataLoad, path + ": expected a file, found a folder", path);
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f)
        throw CoreException(ErrorCode::DataLoad, path + ": cannot open: " + std::strerror(errno), path);
    std::fclose(f);
}

std::string quoteFound(std::string_view s)
{
    std::string out = "'";
    size_t shown = 0;
    for (size_t i = 0; i < s.size(); ++i) {
        if (shown >= 40) {
            out += "...";
            break;
        }
        const unsigned char c = static_cast<unsigned char>(s[i]);
        if (c == '\n')
            out += "\\n";
        else if (c == '\t')
            out += "\\t";
        else if (c == '\r')
            out += "\\r";
        else if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof(buf), "\\x%02X", c);
            out += buf;
        } else {
            out.push_back(static_cast<char>(c));
        }
        if ((c & 0xC0) != 0x80)
            ++shown;
    }
    return out + "'";
}

// ---- LineReader -------------------------------------------------------------------------------

LineReader::LineReader(const std::string& path, TextEncoding encoding, ImportLog& log)
    : m_path(path), m_encoding(encoding), m_log(log)
{
    requireReadableFile(path);
    gzFile f = gzopen(path.c_str(), "rb");
    if (!f)
        throw CoreException(ErrorCode::DataLoad, path + ": cannot open: " + std::strerror(errno), path);
    gzbuffer(f, static_cast<unsigned>(text_io_detail::kBufferSize));
    m_gz = f;
    m_buf.resize(text_io_detail::kBufferSize);
}

LineReader::~LineReader()
{
    if (m_gz)
        gzclose(static_cast<gzFile>(m_gz));
}

bool LineReader::fill()
{
    if (m_eof)
        return false;
    gzFile f = static_cast<gzFile>(m_gz);
    const int n = gzread(f, m_buf.data(), static_cast<unsigned>(m_buf.size()));
    int err = Z_OK;
    const char* msg = gzerror(f, &err);
    if (n < 0 || (err != Z_OK && err != Z_BUF_ERROR) || (n == 0 && err == Z_BUF_ERROR)) {
        const std::string where = fileLine(m_path, m_line + 1);
        throw CoreException(ErrorCode::DataLoad,
                            where + ": expected more gzip data, found a truncated or corrupt stream (" +
                                std::string(msg ? msg : "zlib error") + ")",
                            where);
    }
    if (n == 0) {
        m_eof = true;
        return false;
    }
    m_pos = 0;
    m_end = static_cast<size_t>(n);
    return true;
}

bool LineReader::readRaw(std::string& line)
{
    line.clear();
    bool any = false;
    for (;;) {
        if (m_pos == m_end && !fill())
            break;
        any = true;
        const char* start = m_buf.data() + m_pos;
        const void* nl = std::memchr(start, '\n', m_end - m_pos);
        if (nl) {
            const size_t len = static_cast<size_t>(static_cast<const char*>(nl) - start);
            line.append(start, len);
            m_pos += len + 1;
            return true;
        }
        line.append(start, m_end - m_pos);
        m_pos = m_end;
    }
    return any && !line.empty();
}

void LineReader::unread(std::string line, long lineNumber)
{
    m_pushed.emplace_front(std::move(line), lineNumber);
}

bool LineReader::next(std::string& line)
{
    if (!m_pushed.empty()) {
        line = std::move(m_pushed.front().first);
        m_line = m_pushed.front().second;
        m_pushed.pop_front();
        return true;
    }
    if (!readRaw(line))
        return false;
    ++m_line;
    if (!line.empty() && line.back() == '\r')
        line.pop_back();
    if (m_line == 1 && str::startsWith(line, "\xEF\xBB\xBF"))
        line.erase(0, 3);
    if (!text_io_detail::isAscii(line) && !str::isValidUtf8(line)) {
        if (m_encoding == TextEncoding::Latin1OrUtf8) {
            line = str::latin1ToUtf8(line);
        } else {
            std::string copy = line;
            const size_t col = repairUtf8(copy);
            char byte[8];
            std::snprintf(byte, sizeof(byte), "0x%02X", static_cast<unsigned char>(line[col - 1]));
            const std::string what = "expected UTF-8 text, found byte " + std::string(byte) + " at column " +
                                     std::to_string(col);
            if (!m_log.lenient())
                m_log.skip(m_path, m_line, what + " (a Latin-1 file? convert it to UTF-8, or load leniently "
                                                  "to decode such bytes as Latin-1)");
            m_log.repaired(m_path, m_line, what + "; decoded as Latin-1");
            line = std::move(copy);
        }
    }
    return true;
}

// ---- CsvReader --------------------------------------------------------------------------------

CsvReader::CsvReader(LineReader& lines, ImportLog& log, char separator)
    : m_lines(lines), m_log(log), m_parser(separator)
{
}

bool CsvReader::next(std::vector<std::string>& fields)
{
    std::string line;
    for (;;) {
        if (!m_lines.next(line))
            return false;
        if (str::trim(line).empty())
            continue;
        m_recordLine = m_lines.lineNumber();
        m_parser.reset();
        std::vector<std::pair<std::string, long>> consumed;  // continuation lines, for recovery
        bool ok = true;
        while (!m_parser.addLine(line)) {
            std::string more;
            if (static_cast<int>(consumed.size()) >= text_io_detail::kMaxRecordLines || !m_lines.next(more)) {
                ok = false;
                break;
            }
            consumed.emplace_back(more, m_lines.lineNumber());
            line = std::move(more);
        }
        std::string found;
        if (ok) {
            fields = std::move(m_parser.fields());
            if (consumed.empty() || m_expected == 0 || fields.size() == m_expected)
                return true;
            found = "a quote on line " + std::to_string(consumed.back().second) + " that leaves " +
                    std::to_string(fields.size()) + " fields instead of " + std::to_string(m_expected);
        } else {
            found = consumed.size() >= static_cast<size_t>(text_io_detail::kMaxRecordLines)
                        ? "none within " + std::to_string(text_io_detail::kMaxRecordLines) + " lines"
                        : "the end of the file";
        }
        // Unterminated quote: report the opening line; in lenient mode resume after it.
        for (auto it = consumed.rbegin(); it != consumed.rend(); ++it)
            m_lines.unread(std::move(it->first), it->second);
        m_log.skip(m_lines.path(), m_recordLine,
                   "expected a closing '\"' for the quoted field opened on this line, found " + found);
    }
}

std::vector<std::string> splitOn(std::string_view s, std::string_view sep)
{
    std::vector<std::string> out;
    size_t start = 0;
    for (;;) {
        const size_t p = s.find(sep, start);
        if (p == std::string_view::npos) {
            out.emplace_back(s.substr(start));
            return out;
        }
        out.emplace_back(s.substr(start, p - start));
        start = p + sep.size();
    }
}

// ---- numbers and dates ------------------------------------------------------------------------

std::optional<int64_t> parseInt(std::string_view s)
{
    const std::string t = str::trim(s);
    if (t.empty())
        return std::nullopt;
    const char* b = t.data();
    const char* e = b + t.size();
    if (*b == '+')
        ++b;
    int64_t v = 0;
    auto r = std::from_chars(b, e, v);
    if (r.ec != std::errc() || r.ptr != e)
        return std::nullopt;
    return v;
}

std::optional<double> parseDouble(std::string_view s)
{
    const std::string t = str::trim(s);
    if (t.empty())
        return std::nullopt;
    const char* b = t.data();
    const char* e = b + t.size();
    if (*b == '+')
        ++b;
    double v = 0;
    auto r = std::from_chars(b, e, v);
    if (r.ec != std::errc() || r.ptr != e)
        return std::nullopt;
    return v;
}

namespace text_io_detail {
// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t daysFromCivil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<int64_t>(doe) - 719468;
}
bool digits(std::string_view s, size_t pos, size_t n, int& out)
{
    if (pos + n > s.size())
        return false;
    out = 0;
    for (size_t i = pos; i < pos + n; ++i) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        out = out * 10 + (s[i] - '0');
    }
    return true;
}
}  // namespace text_io_detail

std::optional<int64_t> parseDate(std::string_view s0)
{
    using namespace text_io_detail;
    const std::string s = str::trim(s0);
    int y, m, d;
    if (s.size() < 10 || !digits(s, 0, 4, y) || s[4] != '-' || !digits(s, 5, 2, m) || s[7] != '-' ||
        !digits(s, 8, 2, d) || m < 1 || m > 12 || d < 1 || d > 31)
        return std::nullopt;
    int64_t t = daysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(d)) * 86400;
    if (s.size() == 10)
        return t;
    int hh, mm, ss = 0;
    if ((s[10] != ' ' && s[10] != 'T') || !digits(s, 11, 2, hh) || s.size() < 16 || s[13] != ':' ||
        !digits(s, 14, 2, mm))
        return std::nullopt;
    size_t end = 16;
    if (s.size() >= 19 && s[16] == ':' && digits(s, 17, 2, ss))
        end = 19;
    if (end != s.size() && !(end + 1 == s.size() && s[end] == 'Z'))
        return std::nullopt;
    return t + hh * 3600 + mm * 60 + ss;
}

size_t repairUtf8(std::string& s)
{
    if (str::isValidUtf8(s))
        return 0;
    std::string out;
    out.reserve(s.size() + 8);
    size_t first = 0;
    size_t i = 0;
    while (i < s.size()) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        size_t n = 0;
        if (c < 0x80)
            n = 1;
        else if ((c & 0xE0) == 0xC0 && c >= 0xC2)
            n = 2;
        else if ((c & 0xF0) == 0xE0)
            n = 3;
        else if ((c & 0xF8) == 0xF0 && c <= 0xF4)
            n = 4;
        bool valid = n > 0 && i + n <= s.size();
        for (size_t k = 1; valid && k < n; ++k)
            valid = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
        if (valid && n > 1 && !str::isValidUtf8(std::string_view(s).substr(i, n)))
            valid = false;
        if (valid) {
            out.append(s, i, n);
            i += n;
        } else {
            if (!first)
                first = i + 1;
            out += str::latin1ToUtf8(std::string_view(s).substr(i, 1));
            ++i;
        }
    }
    s = std::move(out);
    return first;
}

}  // namespace recalign::core
