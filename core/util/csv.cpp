// CSV record assembly (see csv.h).
#include "core/util/csv.h"

#include "core/util/strings.h"

namespace recalign::core {

void CsvRecordParser::reset()
{
    m_fields.clear();
    m_field.clear();
    m_quoted = m_fieldQuoted = m_anyQuoted = false;
    m_lines = 0;
    m_openQuoteLine = m_strayLine = -1;
    m_strayChar = 0;
}

bool CsvRecordParser::addLine(std::string_view line, std::string_view lineBreak)
{
    const int lineIndex = m_lines++;
    bool justClosed = false;  // the previous character closed a quoted section
    for (size_t i = 0; i < line.size();) {
        const char c = line[i++];
        if (m_quoted) {
            if (c == '"') {
                if (i < line.size() && line[i] == '"') {
                    m_field.push_back('"');
                    ++i;
                } else {
                    m_quoted = false;
                    justClosed = true;
                    continue;
                }
            } else {
                m_field.push_back(c);
            }
        } else if (c == m_sep) {
            m_fields.push_back(std::move(m_field));
            m_field.clear();
            m_fieldQuoted = false;
        } else if (c == '"' && m_field.empty() && !m_fieldQuoted) {
            m_quoted = m_fieldQuoted = m_anyQuoted = true;
            m_openQuoteLine = lineIndex;
        } else {
            if (justClosed && m_strayLine < 0) {
                m_strayLine = lineIndex;
                m_strayChar = c;
            }
            m_field.push_back(c);
        }
        justClosed = false;
    }
    if (m_quoted) {
        m_field.append(lineBreak);
        return false;
    }
    m_fields.push_back(std::move(m_field));
    m_field.clear();
    m_fieldQuoted = false;
    return true;
}

bool CsvRecordParser::blank() const
{
    return !m_anyQuoted && m_fields.size() == 1 && str::trim(m_fields[0]).empty();
}

}  // namespace recalign::core
