// RecBole's atomic files (https://recbole.io/docs/user_guide/data/atomic_files.html): NAME.inter
// and NAME.item, tab-separated, with a typed header `name:type` (token, token_seq, float,
// float_seq). The dozens of datasets RecBole distributes load without conversion: ml-100k / ml-1m
// (movie_title + release_year, genres in class), Amazon (title, categories), Steam (app_name,
// genres / tags), and anything that names its fields through dataset.recbole.
#include "core/api/error.h"
#include "core/data/importers.h"
#include "core/util/strings.h"

#include <cctype>
#include <cmath>
#include <unordered_set>

namespace recalign::core {

namespace import_recbole_detail {

enum class FieldType { Token, TokenSeq, Float, FloatSeq };

struct Field {
    std::string name;
    FieldType type = FieldType::Token;
};

// Parses a header line into fields; throws (strict and lenient alike: nothing can be read
// without it) "file:1: expected NAME:TYPE ...".
std::vector<Field> parseHeader(const std::string& file, const std::string& line)
{
    std::vector<Field> out;
    std::unordered_set<std::string> seen;
    for (const std::string& cell : str::split(line, '\t')) {
        const std::string c = str::trim(cell);
        const size_t colon = c.rfind(':');
        const std::string type = colon == std::string::npos ? std::string() : c.substr(colon + 1);
        Field f;
        f.name = colon == std::string::npos ? c : c.substr(0, colon);
        if (type == "token")
            f.type = FieldType::Token;
        else if (type == "token_seq")
            f.type = FieldType::TokenSeq;
        else if (type == "float")
            f.type = FieldType::Float;
        else if (type == "float_seq")
            f.type = FieldType::FloatSeq;
        else
            throw CoreException(ErrorCode::DataLoad,
                                fileLine(file, 1) + ": expected a RecBole header field NAME:TYPE with TYPE one of token, "
                                                    "token_seq, float, float_seq, found " + quoteFound(c),
                                fileLine(file, 1));
        if (f.name.empty() || !seen.insert(f.name).second)
            throw CoreException(ErrorCode::DataLoad,
                                fileLine(file, 1) + ": expected distinct named header fields, found " + quoteFound(c),
                                fileLine(file, 1));
        out.push_back(f);
    }
    return out;
}

long indexOf(const std::vector<Field>& fields, const std::string& name)
{
    for (size_t i = 0; i < fields.size(); ++i)
        if (fields[i].name == name)
            return static_cast<long>(i);
    return -1;
}

// The field named `chosen` (must exist), else the first present of `defaults` (-1 = none).
long chooseField(const std::vector<Field>& fields, const std::string& chosen, const std::vector<std::string>& defaults,
                 const std::string& file, const std::string& key)
{
    if (!chosen.empty()) {
        const long i = indexOf(fields, chosen);
        if (i < 0) {
            std::vector<std::string> names;
            for (const auto& f : fields)
                names.push_back(f.name);
            throw CoreException(ErrorCode::InvalidConfig,
                                key + ": '" + chosen + "' is not a field of " + file + " (fields: " + str::join(names, ", ") + ")",
                                key);
        }
        return i;
    }
    for (const auto& d : defaults)
        if (const long i = indexOf(fields, d); i >= 0)
            return i;
    return -1;
}

std::string names(const std::vector<Field>& fields)
{
    std::vector<std::string> n;
    for (const auto& f : fields)
        n.push_back(f.name);
    return str::join(n, ", ");
}

// A RecBole file: its typed header (an empty file is an error), then one record per non-blank
// line with exactly one cell per field (other lines are logged and skipped).
class Records {
public:
    Records(const std::string& file, ImportLog& log) : m_file(file), m_lines(file, TextEncoding::Utf8, log), m_log(log)
    {
        std::string header;
        if (!m_lines.next(header))
            throw CoreException(ErrorCode::DataLoad, file + ": expected a RecBole header line, found an empty file", file);
        fields = parseHeader(file, header);
    }
    std::vector<Field> fields;
    // The next record's cells; false at the end of the file.
    bool next(std::vector<std::string>& cells)
    {
        std::string line;
        while (m_lines.next(line)) {
            if (str::trim(line).empty())
                continue;
            cells = str::split(line, '\t');
            if (cells.size() == fields.size())
                return true;
            m_log.skip(m_file, m_lines.lineNumber(), "expected " + std::to_string(fields.size())
                                                        + " tab-separated fields, found " + std::to_string(cells.size()));
        }
        return false;
    }
    long line() const { return m_lines.lineNumber(); }  // the last record's line

private:
    std::string m_file;
    LineReader m_lines;
    ImportLog& m_log;
};

std::vector<std::string> tokens(const std::string& cell, const std::string& sep)
{
    std::vector<std::string> out;
    if (sep.empty()) {  // white space, as RecBole's default separator (a space) reads
        std::string t;
        for (char c : cell + " ") {
            if (std::isspace(static_cast<unsigned char>(c))) {
                if (!t.empty())
                    out.push_back(t);
                t.clear();
            } else {
                t += c;
            }
        }
        return out;
    }
    size_t pos = 0;
    while (pos <= cell.size()) {
        const size_t next = cell.find(sep, pos);
        const std::string t = str::trim(cell.substr(pos, next == std::string::npos ? std::string::npos : next - pos));
        if (!t.empty())
            out.push_back(t);
        if (next == std::string::npos)
            break;
        pos = next + sep.size();
    }
    return out;
}

}  // namespace import_recbole_detail

RawData readRecBole(const std::vector<std::string>& files, const RecBoleFieldsConfig& cfg, ImportLog& log)
{
    using namespace import_recbole_detail;
    if (files.size() != 2)
        throw CoreException(ErrorCode::InvalidConfig, "recbole: expected NAME.item and NAME.inter");
    RawData raw;
    raw.source = "recbole";
    const std::string sep = cfg.seq_separator;
    std::unordered_set<std::string> labels;
    // ---- NAME.item ----
    {
        const std::string& file = files[0];
        Records records(file, log);
        const std::vector<Field>& fields = records.fields;
        const long id = indexOf(fields, "item_id");
        if (id < 0)
            throw CoreException(ErrorCode::DataLoad,
                                fileLine(file, 1) + ": expected an item_id:token field, found " + names(fields), fileLine(file, 1));
        const long title = chooseField(fields, cfg.title_field, {"movie_title", "title", "name", "app_name", "item_name"},
                                       file, "dataset.recbole.title_field");
        if (title < 0)
            throw CoreException(ErrorCode::DataLoad,
                                fileLine(file, 1) + ": expected a title field (movie_title, title, name, app_name or item_name; "
                                                    "or set dataset.recbole.title_field), found " + names(fields),
                                fileLine(file, 1));
        const long year = cfg.year_field == "none" ? -1
                                                   : chooseField(fields, cfg.year_field, {"release_year", "year"}, file,
                                                                 "dataset.recbole.year_field");
        const long category = chooseField(fields, cfg.category_field,
                                          {"class", "genre", "genres", "categories", "category", "tags"}, file,
                                          "dataset.recbole.category_field");
        std::vector<std::string> cells;
        std::unordered_set<std::string> ids;
        while (records.next(cells)) {
            const long ln = records.line();
            RawItem item;
            item.raw_id = str::trim(cells[static_cast<size_t>(id)]);
            if (item.raw_id.empty()) {
                log.skip(file, ln, "expected an item_id, found an empty field");
                continue;
            }
            if (!ids.insert(item.raw_id).second) {
                log.skip(file, ln, "expected a new item_id, found " + quoteFound(item.raw_id) + " again");
                continue;
            }
            item.title = str::trim(cells[static_cast<size_t>(title)]);
            if (year >= 0) {
                const std::string y = str::trim(cells[static_cast<size_t>(year)]);
                if (!y.empty() && !item.title.empty())
                    item.title += " (" + y + ")";
            }
            if (category >= 0) {
                const std::string& cell = cells[static_cast<size_t>(category)];
                item.categories = fields[static_cast<size_t>(category)].type == FieldType::TokenSeq
                    ? tokens(cell, sep)
                    : (str::trim(cell).empty() ? std::vector<std::string>{} : std::vector<std::string>{str::trim(cell)});
                for (const auto& c : item.categories)
                    labels.insert(c);
            }
            std::string bad;  // a float field that is not a number
            for (size_t k = 0; k < fields.size() && bad.empty(); ++k) {
                const long kk = static_cast<long>(k);
                if (kk == id || kk == title || kk == category || kk == year)
                    continue;
                const FieldType type = fields[k].type;
                if ((type == FieldType::Float || type == FieldType::FloatSeq) && !str::trim(cells[k]).empty()) {
                    std::vector<std::string> values;
                    if (type == FieldType::Float)
                        values.push_back(cells[k]);
                    else
                        values = tokens(cells[k], sep);
                    for (const auto& v : values)
                        if (!parseDouble(v))
                            bad = "field " + fields[k].name + ": expected " + (type == FieldType::Float ? "a number" : "numbers")
                                + ", found " + quoteFound(cells[k]);
                }
                item.extra[fields[k].name] = cells[k];
            }
            if (!bad.empty()) {
                log.skip(file, ln, bad);
                continue;
            }
            raw.addItem(std::move(item));
        }
    }
    raw.raw_category_labels = static_cast<long>(labels.size());
    // ---- NAME.inter ----
    const std::string& file = files[1];
    Records records(file, log);
    const std::vector<Field>& fields = records.fields;
    const long user = indexOf(fields, "user_id"), item = indexOf(fields, "item_id");
    if (user < 0 || item < 0)
        throw CoreException(ErrorCode::DataLoad,
                            fileLine(file, 1) + ": expected user_id:token and item_id:token fields, found " + names(fields),
                            fileLine(file, 1));
    const long rating = indexOf(fields, "rating"), ts = indexOf(fields, "timestamp");
    for (long k : {rating, ts})
        if (k >= 0 && fields[static_cast<size_t>(k)].type != FieldType::Float)
            throw CoreException(ErrorCode::DataLoad,
                                fileLine(file, 1) + ": expected " + fields[static_cast<size_t>(k)].name + ":float, found another type",
                                fileLine(file, 1));
    std::vector<std::string> cells;
    bool any = false;
    while (records.next(cells)) {
        const long ln = records.line();
        const std::string u = str::trim(cells[static_cast<size_t>(user)]), i = str::trim(cells[static_cast<size_t>(item)]);
        if (u.empty() || i.empty()) {
            log.skip(file, ln, std::string("expected a ") + (u.empty() ? "user_id" : "item_id") + ", found an empty field");
            continue;
        }
        double r = 0.0;
        int64_t t = 0;
        if (rating >= 0) {
            const auto v = parseDouble(cells[static_cast<size_t>(rating)]);
            if (!v || !std::isfinite(*v)) {
                log.skip(file, ln, "field rating: expected a number, found " + quoteFound(cells[static_cast<size_t>(rating)]));
                continue;
            }
            r = *v;
        }
        if (ts >= 0) {
            const auto v = parseDouble(cells[static_cast<size_t>(ts)]);
            if (!v || !std::isfinite(*v)) {
                log.skip(file, ln, "field timestamp: expected a number (Unix seconds), found "
                                       + quoteFound(cells[static_cast<size_t>(ts)]));
                continue;
            }
            t = static_cast<int64_t>(std::llround(*v));
        }
        raw.addInteraction(u, i, r, t);
        any = true;
    }
    if (!any)
        throw CoreException(ErrorCode::DataLoad, file + ": expected interactions after the header, found none", file);
    return raw;
}

}  // namespace recalign::core
