// MovieLens importers: ml-latest / ml-latest-small (CSV, UTF-8), ml-1m ("::", Latin-1) and
// ml-100k (u.item "|" with genre flags named by u.genre, u.data tab-separated; Latin-1).
#include "core/api/error.h"
#include "core/data/importers.h"
#include "core/util/strings.h"

#include <unordered_map>
#include <unordered_set>

namespace recalign::core {

namespace movielens_detail {

constexpr const char* kNoGenres = "(no genres listed)";

// Maps required column names to their positions in a CSV header.
struct Header {
    std::vector<size_t> pos;
    size_t width = 0;
};

Header readHeader(CsvReader& csv, LineReader& lines, const std::vector<std::string>& required)
{
    std::vector<std::string> fields;
    const std::string expected = str::join(required, ",");
    if (!csv.next(fields))
        throw CoreException(ErrorCode::DataLoad,
                            lines.path() + ": expected a header line '" + expected + "', found an empty file", lines.path());
    Header h;
    h.width = fields.size();
    for (const auto& name : required) {
        size_t p = fields.size();
        for (size_t i = 0; i < fields.size(); ++i)
            if (str::trim(fields[i]) == name)
                p = i;
        if (p == fields.size()) {
            const std::string where = fileLine(lines.path(), csv.recordLine());
            throw CoreException(ErrorCode::DataLoad,
                                where + ": expected a header with the columns " + expected + ", found " +
                                    quoteFound(str::join(fields, ",")),
                                where);
        }
        h.pos.push_back(p);
    }
    return h;
}

std::string columns(size_t n) { return std::to_string(n) + (n == 1 ? " column" : " columns"); }

// Adds genres as categories; "(no genres listed)" / "unknown" mean none. Counts labels.
void addGenres(RawItem& item, const std::vector<std::string>& genres, std::unordered_set<std::string>& labels,
               const std::string& none)
{
    for (const auto& g0 : genres) {
        const std::string g = str::trim(g0);
        if (g.empty())
            continue;
        labels.insert(g);
        if (g != none)
            item.categories.push_back(g);
    }
}

struct IdCheck {
    std::unordered_map<std::string, long> firstLine;
    // True when `id` is new; otherwise reports a duplicate (strict: throws).
    bool fresh(const std::string& id, const std::string& what, const std::string& file, long line, ImportLog& log)
    {
        auto [it, inserted] = firstLine.emplace(id, line);
        if (!inserted)
            log.skip(file, line,
                     "expected a new " + what + ", found " + quoteFound(id) + " again (first on line " +
                         std::to_string(it->second) + ")");
        return inserted;
    }
};

// One rating line's fields already split: user, item, rating, timestamp.
void addRating(RawData& raw, const std::vector<std::string>& f, const std::vector<size_t>& pos, const std::string& file,
               long line, ImportLog& log, const char* userName, const char* itemName)
{
    const std::string& user = f[pos[0]];
    const std::string& item = f[pos[1]];
    const auto u = parseInt(user);
    if (!u)
        return log.skip(file, line, std::string("expected an integer ") + userName + ", found " + quoteFound(user));
    const auto i = parseInt(item);
    if (!i)
        return log.skip(file, line, std::string("expected an integer ") + itemName + ", found " + quoteFound(item));
    const auto r = parseDouble(f[pos[2]]);
    if (!r)
        return log.skip(file, line, "expected a numeric rating, found " + quoteFound(f[pos[2]]));
    const auto t = parseInt(f[pos[3]]);
    if (!t)
        return log.skip(file, line, "expected an integer timestamp, found " + quoteFound(f[pos[3]]));
    raw.addInteraction(std::to_string(*u), std::to_string(*i), *r, *t);
}

void readLatest(RawData& raw, const std::string& moviesFile, const std::string& ratingsFile, ImportLog& log)
{
    std::unordered_set<std::string> labels;
    {
        LineReader lines(moviesFile, TextEncoding::Utf8, log);
        CsvReader csv(lines, log);
        const Header h = readHeader(csv, lines, {"movieId", "title", "genres"});
        csv.expectFields(h.width);
        std::vector<std::string> f;
        IdCheck ids;
        while (csv.next(f)) {
            const long line = csv.recordLine();
            if (f.size() != h.width) {
                log.skip(moviesFile, line,
                         "expected " + columns(h.width) + " (movieId,title,genres), found " + std::to_string(f.size()));
                continue;
            }
            const auto id = parseInt(f[h.pos[0]]);
            if (!id) {
                log.skip(moviesFile, line, "expected an integer movieId, found " + quoteFound(f[h.pos[0]]));
                continue;
            }
            RawItem item;
            item.raw_id = std::to_string(*id);
            if (!ids.fresh(item.raw_id, "movieId", moviesFile, line, log))
                continue;
            item.title = f[h.pos[1]];
            addGenres(item, str::split(f[h.pos[2]], '|'), labels, kNoGenres);
            raw.addItem(std::move(item));
        }
    }
    raw.raw_category_labels = static_cast<long>(labels.size());
    LineReader lines(ratingsFile, TextEncoding::Utf8, log);
    CsvReader csv(lines, log);
    const Header h = readHeader(csv, lines, {"userId", "movieId", "rating", "timestamp"});
    csv.expectFields(h.width);
    std::vector<std::string> f;
    while (csv.next(f)) {
        if (f.size() != h.width) {
            log.skip(ratingsFile, csv.recordLine(),
                     "expected " + columns(h.width) + " (userId,movieId,rating,timestamp), found " + std::to_string(f.size()));
            continue;
        }
        addRating(raw, f, h.pos, ratingsFile, csv.recordLine(), log, "userId", "movieId");
    }
}

void read1m(RawData& raw, const std::string& moviesFile, const std::string& ratingsFile, ImportLog& log)
{
    std::unordered_set<std::string> labels;
    std::string line;
    {
        LineReader lines(moviesFile, TextEncoding::Latin1OrUtf8, log);
        IdCheck ids;
        bool any = false;
        while (lines.next(line)) {
            if (str::trim(line).empty())
                continue;
            any = true;
            const auto f = splitOn(line, "::");
            if (f.size() != 3) {
                log.skip(moviesFile, lines.lineNumber(),
                         "expected 3 '::'-separated fields (MovieID::Title::Genres), found " + std::to_string(f.size()));
                continue;
            }
            const auto id = parseInt(f[0]);
            if (!id) {
                log.skip(moviesFile, lines.lineNumber(), "expected an integer MovieID, found " + quoteFound(f[0]));
                continue;
            }
            RawItem item;
            item.raw_id = std::to_string(*id);
            if (!ids.fresh(item.raw_id, "MovieID", moviesFile, lines.lineNumber(), log))
                continue;
            item.title = f[1];
            addGenres(item, str::split(f[2], '|'), labels, kNoGenres);
            raw.addItem(std::move(item));
        }
        if (!any)
            throw CoreException(ErrorCode::DataLoad, moviesFile + ": expected MovieID::Title::Genres lines, found an empty file",
                                moviesFile);
    }
    raw.raw_category_labels = static_cast<long>(labels.size());
    LineReader lines(ratingsFile, TextEncoding::Latin1OrUtf8, log);
    bool any = false;
    while (lines.next(line)) {
        if (str::trim(line).empty())
            continue;
        any = true;
        const auto f = splitOn(line, "::");
        if (f.size() != 4) {
            log.skip(ratingsFile, lines.lineNumber(),
                     "expected 4 '::'-separated fields (UserID::MovieID::Rating::Timestamp), found " + std::to_string(f.size()));
            continue;
        }
        addRating(raw, f, {0, 1, 2, 3}, ratingsFile, lines.lineNumber(), log, "UserID", "MovieID");
    }
    if (!any)
        throw CoreException(ErrorCode::DataLoad,
                            ratingsFile + ": expected UserID::MovieID::Rating::Timestamp lines, found an empty file", ratingsFile);
}

void read100k(RawData& raw, const std::string& itemFile, const std::string& dataFile, const std::string& genreFile,
              ImportLog& log)
{
    std::string line;
    // u.genre: "name|index", indices 0..G-1.
    std::vector<std::string> genres;
    {
        LineReader lines(genreFile, TextEncoding::Latin1OrUtf8, log);
        while (lines.next(line)) {
            if (str::trim(line).empty())
                continue;
            const auto f = str::split(line, '|');
            const auto idx = f.size() == 2 ? parseInt(f[1]) : std::nullopt;
            if (!idx || *idx < 0 || *idx > 1000) {
                const std::string where = fileLine(genreFile, lines.lineNumber());
                throw CoreException(ErrorCode::DataLoad, where + ": expected 'genre|index', found " + quoteFound(line), where);
            }
            if (genres.size() <= static_cast<size_t>(*idx))
                genres.resize(static_cast<size_t>(*idx) + 1);
            genres[static_cast<size_t>(*idx)] = str::trim(f[0]);
        }
        if (genres.empty())
            throw CoreException(ErrorCode::DataLoad, genreFile + ": expected 'genre|index' lines, found an empty file", genreFile);
    }
    raw.raw_category_labels = static_cast<long>(genres.size());
    {
        LineReader lines(itemFile, TextEncoding::Latin1OrUtf8, log);
        IdCheck ids;
        const size_t width = 5 + genres.size();
        bool any = false;
        std::unordered_set<std::string> labels;
        while (lines.next(line)) {
            if (str::trim(line).empty())
                continue;
            any = true;
            const auto f = str::split(line, '|');
            if (f.size() != width) {
                log.skip(itemFile, lines.lineNumber(),
                         "expected " + columns(width) + " (id|title|release date|video release date|IMDb URL|" +
                             std::to_string(genres.size()) + " genre flags), found " + std::to_string(f.size()));
                continue;
            }
            const auto id = parseInt(f[0]);
            if (!id) {
                log.skip(itemFile, lines.lineNumber(), "expected an integer movie id, found " + quoteFound(f[0]));
                continue;
            }
            RawItem item;
            item.raw_id = std::to_string(*id);
            if (!ids.fresh(item.raw_id, "movie id", itemFile, lines.lineNumber(), log))
                continue;
            item.title = f[1];
            if (!str::trim(f[2]).empty())
                item.extra["release_date"] = str::trim(f[2]);
            std::vector<std::string> flagged;
            bool bad = false;
            for (size_t g = 0; g < genres.size(); ++g) {
                const std::string flag = str::trim(f[5 + g]);
                if (flag == "1")
                    flagged.push_back(genres[g]);
                else if (flag != "0")
                    bad = true;
            }
            if (bad) {
                log.skip(itemFile, lines.lineNumber(), "expected genre flags 0 or 1, found " + quoteFound(str::join(
                    std::vector<std::string>(f.begin() + 5, f.end()), "|")));
                continue;
            }
            addGenres(item, flagged, labels, "unknown");
            raw.addItem(std::move(item));
        }
        if (!any)
            throw CoreException(ErrorCode::DataLoad, itemFile + ": expected movie lines, found an empty file", itemFile);
    }
    LineReader lines(dataFile, TextEncoding::Latin1OrUtf8, log);
    bool any = false;
    while (lines.next(line)) {
        if (str::trim(line).empty())
            continue;
        any = true;
        auto f = str::split(line, '\t');
        if (f.size() != 4) {
            log.skip(dataFile, lines.lineNumber(),
                     "expected 4 tab-separated fields (user id, item id, rating, timestamp), found " + std::to_string(f.size()));
            continue;
        }
        addRating(raw, f, {0, 1, 2, 3}, dataFile, lines.lineNumber(), log, "user id", "item id");
    }
    if (!any)
        throw CoreException(ErrorCode::DataLoad, dataFile + ": expected rating lines, found an empty file", dataFile);
}

}  // namespace movielens_detail

RawData readMovieLens(const std::vector<std::string>& files, ImportLog& log)
{
    using namespace movielens_detail;
    if (files.size() < 2)
        throw CoreException(ErrorCode::InvalidConfig, "movielens: expected a movies file and a ratings file");
    RawData raw;
    raw.source = "movielens";
    const std::string& items = files[0];
    if (str::endsWith(items, ".csv") || str::endsWith(items, ".csv.gz"))
        readLatest(raw, items, files[1], log);
    else if (str::endsWith(items, ".dat") || str::endsWith(items, ".dat.gz"))
        read1m(raw, items, files[1], log);
    else if (files.size() >= 3)
        read100k(raw, items, files[1], files[2], log);
    else
        throw CoreException(ErrorCode::InvalidConfig,
                            items + ": expected movies.csv (ml-latest), movies.dat (ml-1m) or u.item with u.genre (ml-100k)");
    return raw;
}

}  // namespace recalign::core
