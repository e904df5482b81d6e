// CSV records (RFC 4180), assembled one physical line at a time so that callers keep their own
// line source (a gzip line reader, a string in memory), their line numbers and their error
// policy. Header rows, blank-line and field-count policies are the callers'. Torch-free.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace recalign::core {

// Fields are separated by `separator`; a field that starts with '"' is quoted: it may hold the
// separator, line breaks and "" (one quote). A '"' anywhere else is an ordinary character.
// Anything after a closing quote other than the separator is kept as part of the field and
// reported through stray() (RFC 4180 forbids it; strict callers reject it).
class CsvRecordParser {
public:
    explicit CsvRecordParser(char separator = ',') : m_sep(separator) {}

    // Starts a new record.
    void reset();
    // Parses one physical line (without its line break) into the current record. True when the
    // record is complete; false when a quoted field is still open at the end of the line: the
    // line break (`lineBreak`, "\n" unless the caller keeps another) becomes part of the field
    // and the record continues on the next line.
    bool addLine(std::string_view line, std::string_view lineBreak = "\n");

    std::vector<std::string>& fields() { return m_fields; }
    int lines() const { return m_lines; }         // physical lines taken by this record so far
    bool anyQuoted() const { return m_anyQuoted; }
    // A complete record that is one unquoted field of white space (a blank line).
    bool blank() const;
    // The 0-based line (within the record) of the quote still open when addLine returned false.
    int openQuoteLine() const { return m_openQuoteLine; }
    // The first character after a closing quote that is not the separator: its 0-based line
    // within the record (-1: none) and the character.
    int strayLine() const { return m_strayLine; }
    char strayChar() const { return m_strayChar; }

private:
    char m_sep;
    std::vector<std::string> m_fields;
    std::string m_field;
    bool m_quoted = false;       // inside a quoted section
    bool m_fieldQuoted = false;  // the current field started with a quote
    bool m_anyQuoted = false;
    int m_lines = 0;
    int m_openQuoteLine = -1;
    int m_strayLine = -1;
    char m_strayChar = 0;
};

}  // namespace recalign::core
