// Reading dataset text files: a line reader over plain or gzip files (BOM, CRLF, truncation),
// the strict / lenient error policy (`ImportLog`), UTF-8 / Latin-1 handling, a CSV record
// reader (quoted fields spanning lines) and number / date parsing. Torch-free, Qt-free.
#pragma once

#include "core/util/csv.h"

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <map>
#include <vector>

namespace recalign::core {

// What the bytes of a source file are.
enum class TextEncoding {
    Utf8,          // invalid UTF-8 is an error (strict) or decoded as Latin-1 and reported (lenient)
    Latin1OrUtf8,  // lines that are valid UTF-8 stay; others are decoded as Latin-1 (ml-1m, ml-100k)
};

// Strict: the first bad line throws CoreException(DataLoad, "file:line: expected X, found Y").
// Lenient: bad lines are skipped and counted, the first few kept as examples. Nothing is dropped
// silently either way.
class ImportLog {
public:
    static constexpr size_t kMaxExamples = 5;
    explicit ImportLog(bool lenient) : m_lenient(lenient) {}
    bool lenient() const { return m_lenient; }
    // A bad line: throws in strict mode, otherwise counts it as skipped.
    void skip(const std::string& file, long line, const std::string& message);
    // A line that was kept after a repair (invalid UTF-8 decoded as Latin-1): lenient only.
    void repaired(const std::string& file, long line, const std::string& message);
    // A record the source's published layout makes unusable: counted by reason, in both modes.
    void unusable(const std::string& reason) { ++m_unusable[reason]; }
    const std::map<std::string, long>& unusableByReason() const { return m_unusable; }
    long skippedLines() const { return m_skipped; }
    long repairedLines() const { return m_repaired; }
    const std::vector<std::string>& skippedExamples() const { return m_skippedExamples; }
    const std::vector<std::string>& repairedExamples() const { return m_repairedExamples; }

private:
    bool m_lenient;
    long m_skipped = 0;
    long m_repaired = 0;
    std::vector<std::string> m_skippedExamples;
    std::vector<std::string> m_repairedExamples;
    std::map<std::string, long> m_unusable;
};

// "file:line" (or "file" when line <= 0).
std::string fileLine(const std::string& file, long line);
// Throws CoreException(DataLoad) naming the file when it is missing, a folder, or unreadable.
void requireReadableFile(const std::string& path);
// Shows a found value in a message: quoted, truncated to ~40 characters, control bytes escaped.
std::string quoteFound(std::string_view s);

// Reads a file line by line, transparently gunzipping (gzip is detected by its magic bytes, not
// the name). Strips a UTF-8 BOM on the first line and the trailing '\r' of CRLF lines. A
// truncated or corrupt gzip stream throws CoreException(DataLoad) naming the file and line.
// Encoding problems are handled by `decode`, which applies the ImportLog's policy.
class LineReader {
public:
    LineReader(const std::string& path, TextEncoding encoding, ImportLog& log);
    ~LineReader();
    LineReader(const LineReader&) = delete;
    LineReader& operator=(const LineReader&) = delete;

    // Next line without its terminator, already valid UTF-8. False at end of file. A line whose
    // encoding cannot be repaired in strict mode throws.
    bool next(std::string& line);
    long lineNumber() const { return m_line; }  // 1-based number of the line last returned
    const std::string& path() const { return m_path; }
    // Hands a physical line back so that the next call returns it again (CSV recovery).
    void unread(std::string line, long lineNumber);

private:
    bool readRaw(std::string& line);
    bool fill();

    std::string m_path;
    TextEncoding m_encoding;
    ImportLog& m_log;
    void* m_gz = nullptr;  // gzFile
    std::vector<char> m_buf;
    size_t m_pos = 0, m_end = 0;
    bool m_eof = false;
    long m_line = 0;
    std::deque<std::pair<std::string, long>> m_pushed;
};

// Reads CSV records (RFC 4180 through core/util/csv.h: ',' separated, '"' quoted, "" inside
// quotes, quoted fields may span lines) from a LineReader. An unterminated quote is reported at the line that opened it; in lenient mode
// that line is skipped and reading resumes on the next physical line.
class CsvReader {
public:
    CsvReader(LineReader& lines, ImportLog& log, char separator = ',');
    // Next record; false at end of file. Blank lines are skipped.
    bool next(std::vector<std::string>& fields);
    // The number of fields a record must have (0 = any). A quoted field that spans lines and
    // yields another number of fields is taken for an unterminated quote: reported at the line
    // that opened it, and in lenient mode reading resumes on the next physical line.
    void expectFields(size_t n) { m_expected = n; }
    long recordLine() const { return m_recordLine; }  // line where the last record started

private:
    LineReader& m_lines;
    ImportLog& m_log;
    CsvRecordParser m_parser;
    size_t m_expected = 0;
    long m_recordLine = 0;
};

// Splits on a multi-character separator ("::" for ml-1m).
std::vector<std::string> splitOn(std::string_view s, std::string_view sep);

// Number parsing: the whole (trimmed) text must be the number.
std::optional<int64_t> parseInt(std::string_view s);
std::optional<double> parseDouble(std::string_view s);
// "YYYY-MM-DD" (optionally followed by " HH:MM[:SS]" or "THH:MM[:SS]") to Unix seconds (UTC).
std::optional<int64_t> parseDate(std::string_view s);

// Repairs invalid UTF-8 by decoding each offending byte as Latin-1. Returns the column (1-based)
// of the first invalid byte, or 0 when `s` was valid (and is left unchanged).
size_t repairUtf8(std::string& s);

}  // namespace recalign::core
