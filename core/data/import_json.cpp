// JSON-lines importers: Amazon Reviews 2018 (reviews + meta), Steam (reviews + games), and the
// native format (items.jsonl + interactions.csv), plus the native exporter.
#include "core/api/error.h"
#include "core/data/importers.h"
#include "core/data/literal.h"
#include "core/util/strings.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <unordered_map>
#include <unordered_set>

namespace recalign::core {

namespace import_json_detail {

using nlohmann::json;

// Reads a JSON-lines / Python-literal-lines file; calls `fn(fields, line)` with the wanted keys.
template <typename F>
void forEachRecord(const std::string& file, const std::vector<std::string>& keys, ImportLog& log, F&& fn)
{
    LineReader lines(file, TextEncoding::Utf8, log);
    std::string line;
    bool any = false;
    json fields;
    LiteralError err;
    while (lines.next(line)) {
        if (str::trim(line).empty())
            continue;
        any = true;
        if (!parseLiteralFields(line, keys, fields, err)) {
            log.skip(file, lines.lineNumber(),
                     err.message + (err.column ? " (column " + std::to_string(err.column) + ")" : std::string()));
            continue;
        }
        fn(fields, lines.lineNumber());
    }
    if (!any)
        throw CoreException(ErrorCode::DataLoad, file + ": expected one JSON object or Python dict per line, found an empty file",
                            file);
}

// A scalar as text: strings as they are, integers in decimal; "" for anything else.
std::string scalarText(const json& v)
{
    if (v.is_string())
        return v.get<std::string>();
    if (v.is_number_integer())
        return std::to_string(v.get<int64_t>());
    if (v.is_number_unsigned())
        return std::to_string(v.get<uint64_t>());
    if (v.is_number_float()) {
        const double d = v.get<double>();
        if (d == static_cast<double>(static_cast<int64_t>(d)))
            return std::to_string(static_cast<int64_t>(d));
        return v.dump();
    }
    return {};
}

std::optional<double> number(const json& v)
{
    if (v.is_number())
        return v.get<double>();
    if (v.is_string())
        return parseDouble(v.get<std::string>());
    return std::nullopt;
}

std::string kind(const json& v)
{
    switch (v.type()) {
    case json::value_t::null: return "None";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::string: return "a string " + quoteFound(v.get<std::string>());
    case json::value_t::array: return "a list";
    case json::value_t::object: return "a dict";
    default: return "the number " + v.dump();
    }
}

std::string missing(const json& fields, const std::vector<std::string>& keys)
{
    std::vector<std::string> have;
    for (const auto& k : keys)
        if (fields.contains(k))
            have.push_back(k);
    return have.empty() ? std::string("none of them") : "only " + str::join(have, ", ");
}

std::vector<std::string> stringList(const json& v)
{
    std::vector<std::string> out;
    if (v.is_string()) {
        out.push_back(v.get<std::string>());
    } else if (v.is_array()) {
        for (const auto& x : v)
            if (x.is_string())
                out.push_back(x.get<std::string>());
    }
    return out;
}

struct IdLines {
    std::unordered_map<std::string, long> first;
    bool fresh(const std::string& id, const char* what, const std::string& file, long line, ImportLog& log)
    {
        auto [it, inserted] = first.emplace(id, line);
        if (!inserted)
            log.skip(file, line,
                     std::string("expected a new ") + what + ", found " + quoteFound(id) + " again (first on line " +
                         std::to_string(it->second) + ")");
        return inserted;
    }
};

}  // namespace import_json_detail

std::vector<std::string> amazonCategories(const std::vector<std::string>& path)
{
    std::vector<std::string> out;
    std::string prefix;
    for (size_t i = 1; i < path.size(); ++i) {
        prefix = i == 1 ? path[i] : prefix + ", " + path[i];
        out.push_back(prefix);
    }
    return out;
}

RawData readAmazon(const std::vector<std::string>& files, ImportLog& log)
{
    using namespace import_json_detail;
    if (files.size() != 2)
        throw CoreException(ErrorCode::InvalidConfig, "amazon: expected a meta file and a reviews file");
    RawData raw;
    raw.source = "amazon";
    std::unordered_set<std::string> labels;
    IdLines ids;
    forEachRecord(files[0], {"asin", "title", "category", "categories", "brand"}, log, [&](const json& f, long line) {
        const std::string asin = f.contains("asin") ? scalarText(f["asin"]) : std::string();
        if (asin.empty())
            return log.skip(files[0], line,
                            "expected a string 'asin', found " + (f.contains("asin") ? kind(f["asin"]) : std::string("no such key")));
        if (!ids.fresh(asin, "asin", files[0], line, log))
            return;
        RawItem item;
        item.raw_id = asin;
        if (f.contains("title") && f["title"].is_string())
            item.title = f["title"].get<std::string>();
        std::vector<std::vector<std::string>> paths;
        if (f.contains("category"))  // 2018: one path
            paths.push_back(stringList(f["category"]));
        if (f.contains("categories") && f["categories"].is_array()) {  // 2014: a list of paths
            for (const auto& p : f["categories"])
                paths.push_back(stringList(p));
        }
        for (const auto& p : paths) {
            for (auto& c : amazonCategories(p)) {
                labels.insert(c);
                if (std::find(item.categories.begin(), item.categories.end(), c) == item.categories.end())
                    item.categories.push_back(std::move(c));
            }
        }
        if (f.contains("brand") && f["brand"].is_string() && !f["brand"].get<std::string>().empty())
            item.extra["brand"] = f["brand"].get<std::string>();
        raw.addItem(std::move(item));
    });
    raw.raw_category_labels = static_cast<long>(labels.size());
    const std::vector<std::string> keys = {"reviewerID", "asin", "overall", "unixReviewTime"};
    forEachRecord(files[1], keys, log, [&](const json& f, long line) {
        for (const auto& k : keys)
            if (!f.contains(k))
                return log.skip(files[1], line,
                                "expected the keys reviewerID, asin, overall, unixReviewTime, found " + missing(f, keys));
        const std::string user = scalarText(f["reviewerID"]);
        const std::string asin = scalarText(f["asin"]);
        if (user.empty())
            return log.skip(files[1], line, "expected a string reviewerID, found " + kind(f["reviewerID"]));
        if (asin.empty())
            return log.skip(files[1], line, "expected a string asin, found " + kind(f["asin"]));
        const auto rating = number(f["overall"]);
        if (!rating)
            return log.skip(files[1], line, "expected a numeric overall rating, found " + kind(f["overall"]));
        const auto t = number(f["unixReviewTime"]);
        if (!t)
            return log.skip(files[1], line, "expected a numeric unixReviewTime, found " + kind(f["unixReviewTime"]));
        raw.addInteraction(user, asin, *rating, static_cast<int64_t>(*t));
    });
    return raw;
}

std::optional<SteamPosted> parseSteamPosted(std::string_view text)
{
    static const char* const kMonths[] = {"january", "february", "march", "april", "may", "june", "july",
                                          "august", "september", "october", "november", "december"};
    std::string t = str::toLower(str::trim(text));
    if (str::startsWith(t, "posted "))
        t = str::trim(t.substr(7));
    while (!t.empty() && (t.back() == '.' || t.back() == ' '))
        t.pop_back();
    SteamPosted p;
    const size_t space = t.find(' ');
    if (space == std::string::npos)
        return std::nullopt;
    const std::string month = t.substr(0, space);
    for (int m = 0; m < 12; ++m)
        if (month == kMonths[m] || (month.size() == 3 && std::string(kMonths[m]).substr(0, 3) == month))
            p.month = m + 1;
    if (p.month == 0)
        return std::nullopt;
    std::string rest = str::trim(t.substr(space + 1));
    const size_t comma = rest.find(',');
    const auto day = parseInt(comma == std::string::npos ? rest : rest.substr(0, comma));
    if (!day || *day < 1 || *day > 31)
        return std::nullopt;
    p.day = static_cast<int>(*day);
    if (comma != std::string::npos) {
        const auto year = parseInt(rest.substr(comma + 1));
        if (!year || *year < 1970 || *year > 9999)
            return std::nullopt;
        p.year = static_cast<int>(*year);
    }
    return p;
}

RawData readSteam(const std::vector<std::string>& files, ImportLog& log, bool tagsAsCategories)
{
    using namespace import_json_detail;
    if (files.size() != 2)
        throw CoreException(ErrorCode::InvalidConfig, "steam: expected a games file and a reviews file");
    RawData raw;
    raw.source = "steam";
    std::unordered_set<std::string> labels;
    IdLines ids;
    const char* catKey = tagsAsCategories ? "tags" : "genres";
    forEachRecord(files[0], {"id", "app_name", "title", "genres", "tags", "developer", "release_date"}, log,
                  [&](const json& f, long line) {
                      if (!f.contains("id"))  // steam_games.json as published: some lines have none
                          return log.unusable("steam games: lines without an 'id'");
                      const std::string id = scalarText(f["id"]);
                      if (id.empty())
                          return log.skip(files[0], line,
                                          "expected a game 'id', found " +
                                              (f.contains("id") ? kind(f["id"]) : std::string("no such key")));
                      if (!ids.fresh(id, "game id", files[0], line, log))
                          return;
                      RawItem item;
                      item.raw_id = id;
                      for (const char* k : {"app_name", "title"})
                          if (item.title.empty() && f.contains(k) && f[k].is_string())
                              item.title = f[k].get<std::string>();
                      if (f.contains(catKey))
                          item.categories = stringList(f[catKey]);
                      for (const auto& c : item.categories)
                          labels.insert(c);
                      if (!tagsAsCategories && f.contains("tags"))
                          item.extra["tags"] = str::join(stringList(f["tags"]), "|");
                      for (const char* k : {"developer", "release_date"})
                          if (f.contains(k) && f[k].is_string())
                              item.extra[k] = f[k].get<std::string>();
                      raw.addItem(std::move(item));
                  });
    raw.raw_category_labels = static_cast<long>(labels.size());
    // Reviews, flat (one review per line: username or user_id, product_id, date 'YYYY-MM-DD'; Kang &
    // McAuley's steam_reviews) or nested (one user per line: user_id and a list of reviews with
    // item_id and posted 'Posted November 5, 2011.'; australian_user_reviews.json). A review posted
    // in the crawl's own year reads 'Posted July 15.': it is dated in the latest year any dated
    // review of the file has (the crawl's), so it sorts after that year's earlier reviews.
    struct Pending {
        std::string user, item;
        int64_t time = 0;           // flat reviews
        SteamPosted posted;         // nested reviews (posted.year 0 = no year written)
        bool nested = false;
    };
    std::vector<Pending> pending;
    int latestYear = 0;
    forEachRecord(files[1], {"username", "user_id", "product_id", "item_id", "date", "reviews"}, log,
                  [&](const json& f, long line) {
        if (f.contains("reviews")) {
            const std::string user = f.contains("user_id") ? scalarText(f["user_id"]) : std::string();
            if (user.empty())
                return log.unusable("steam reviews: users without a 'user_id'");
            if (!f["reviews"].is_array())
                return log.skip(files[1], line, "expected 'reviews' as a list of reviews, found " + kind(f["reviews"]));
            if (f["reviews"].empty())
                return log.unusable("steam reviews: users without reviews");
            for (const json& r : f["reviews"]) {
                const std::string item = r.is_object() && r.contains("item_id") ? scalarText(r["item_id"]) : std::string();
                if (item.empty()) {
                    log.unusable("steam reviews: reviews without an 'item_id'");
                    continue;
                }
                const auto posted = r.contains("posted") && r["posted"].is_string()
                    ? parseSteamPosted(r["posted"].get<std::string>())
                    : std::nullopt;
                if (!posted) {
                    log.unusable("steam reviews: reviews whose 'posted' date cannot be read");
                    continue;
                }
                latestYear = std::max(latestYear, posted->year);
                Pending p;
                p.user = user;
                p.item = item;
                p.posted = *posted;
                p.nested = true;
                pending.push_back(std::move(p));
            }
            return;
        }
        std::string user = f.contains("username") ? scalarText(f["username"]) : std::string();
        if (user.empty() && f.contains("user_id"))
            user = scalarText(f["user_id"]);
        std::string item = f.contains("product_id") ? scalarText(f["product_id"]) : std::string();
        if (item.empty() && f.contains("item_id"))
            item = scalarText(f["item_id"]);
        if (user.empty() || item.empty() || !f.contains("date"))
            return log.skip(files[1], line,
                            "expected the keys username (or user_id), product_id and date (or user_id and a list of "
                            "reviews), found " + missing(f, {"username", "user_id", "product_id", "date"}));
        const auto t = f["date"].is_string() ? parseDate(f["date"].get<std::string>()) : std::nullopt;
        if (!t)
            return log.skip(files[1], line, "expected a date 'YYYY-MM-DD', found " + kind(f["date"]));
        Pending p;
        p.user = user;
        p.item = item;
        p.time = *t;
        pending.push_back(std::move(p));
    });
    for (const Pending& p : pending) {
        int64_t t = p.time;
        if (p.nested) {
            const int year = p.posted.year > 0 ? p.posted.year : latestYear;
            char date[32];
            std::snprintf(date, sizeof date, "%04d-%02d-%02d", year, p.posted.month, p.posted.day);
            const auto parsed = year > 0 ? parseDate(date) : std::nullopt;
            if (!parsed) {
                log.unusable("steam reviews: reviews without a year in a file with no dated review");
                continue;
            }
            t = *parsed;
        }
        raw.addInteraction(p.user, p.item, 0.0, t);
    }
    return raw;
}

RawData readNative(const std::vector<std::string>& files, ImportLog& log)
{
    using namespace import_json_detail;
    if (files.size() != 2)
        throw CoreException(ErrorCode::InvalidConfig, "native: expected items.jsonl and interactions.csv");
    RawData raw;
    raw.source = "native";
    std::unordered_set<std::string> labels;
    IdLines ids;
    {
        LineReader lines(files[0], TextEncoding::Utf8, log);
        std::string line;
        bool any = false;
        json v;
        LiteralError err;
        while (lines.next(line)) {
            if (str::trim(line).empty())
                continue;
            any = true;
            const long ln = lines.lineNumber();
            if (!parseLiteral(line, v, err)) {
                log.skip(files[0], ln, err.message + " (column " + std::to_string(err.column) + ")");
                continue;
            }
            if (!v.is_object()) {
                log.skip(files[0], ln, "expected a JSON object, found " + kind(v));
                continue;
            }
            const std::string id = v.contains("id") ? scalarText(v["id"]) : std::string();
            if (id.empty()) {
                log.skip(files[0], ln, "expected an \"id\" (string or integer), found " +
                                           (v.contains("id") ? kind(v["id"]) : std::string("no such key")));
                continue;
            }
            if (!v.contains("title") || !v["title"].is_string()) {
                log.skip(files[0], ln, "expected a string \"title\", found " +
                                           (v.contains("title") ? kind(v["title"]) : std::string("no such key")));
                continue;
            }
            if (v.contains("categories") && !v["categories"].is_array() && !v["categories"].is_string()) {
                log.skip(files[0], ln, "expected \"categories\" as a list of strings, found " + kind(v["categories"]));
                continue;
            }
            if (!ids.fresh(id, "item id", files[0], ln, log))
                continue;
            RawItem item;
            item.raw_id = id;
            item.title = v["title"].get<std::string>();
            if (v.contains("categories"))
                item.categories = stringList(v["categories"]);
            for (const auto& c : item.categories)
                labels.insert(c);
            for (auto it = v.begin(); it != v.end(); ++it) {
                if (it.key() == "id" || it.key() == "title" || it.key() == "categories")
                    continue;
                item.extra[it.key()] = it.value().is_string() ? it.value().get<std::string>() : it.value().dump();
            }
            raw.addItem(std::move(item));
        }
        if (!any)
            throw CoreException(ErrorCode::DataLoad, files[0] + ": expected one JSON object per line, found an empty file",
                                files[0]);
    }
    raw.raw_category_labels = static_cast<long>(labels.size());
    LineReader lines(files[1], TextEncoding::Utf8, log);
    CsvReader csv(lines, log);
    std::vector<std::string> f;
    if (!csv.next(f))
        throw CoreException(ErrorCode::DataLoad, files[1] + ": expected a header line 'user,item,timestamp', found an empty file",
                            files[1]);
    long user = -1, item = -1, ts = -1, rating = -1;
    for (size_t i = 0; i < f.size(); ++i) {
        const std::string n = str::toLower(str::trim(f[i]));
        if (n == "user")
            user = static_cast<long>(i);
        else if (n == "item")
            item = static_cast<long>(i);
        else if (n == "timestamp")
            ts = static_cast<long>(i);
        else if (n == "rating")
            rating = static_cast<long>(i);
    }
    if (user < 0 || item < 0) {
        const std::string where = fileLine(files[1], csv.recordLine());
        throw CoreException(ErrorCode::DataLoad,
                            where + ": expected a header with the columns user,item[,timestamp][,rating], found " +
                                quoteFound(str::join(f, ",")),
                            where);
    }
    const size_t width = f.size();
    csv.expectFields(width);
    int64_t order = 0;
    while (csv.next(f)) {
        const long ln = csv.recordLine();
        ++order;
        if (f.size() != width) {
            log.skip(files[1], ln, "expected " + std::to_string(width) + " columns, found " + std::to_string(f.size()));
            continue;
        }
        const std::string u = str::trim(f[static_cast<size_t>(user)]);
        const std::string i = str::trim(f[static_cast<size_t>(item)]);
        if (u.empty() || i.empty()) {
            log.skip(files[1], ln, std::string("expected a non-empty ") + (u.empty() ? "user" : "item") + ", found ''");
            continue;
        }
        int64_t t = order;  // no timestamp column: file order
        if (ts >= 0) {
            const std::string& text = f[static_cast<size_t>(ts)];
            if (auto n = parseInt(text))
                t = *n;
            else if (auto d = parseDouble(text))
                t = static_cast<int64_t>(*d);
            else if (auto dt = parseDate(text))
                t = *dt;
            else {
                log.skip(files[1], ln, "expected a timestamp (Unix seconds or YYYY-MM-DD), found " + quoteFound(text));
                continue;
            }
        }
        double r = 0;
        if (rating >= 0) {
            const auto x = parseDouble(f[static_cast<size_t>(rating)]);
            if (!x) {
                log.skip(files[1], ln, "expected a numeric rating, found " + quoteFound(f[static_cast<size_t>(rating)]));
                continue;
            }
            r = *x;
        }
        raw.addInteraction(u, i, r, t);
    }
    return raw;
}

namespace import_json_detail {
std::string csvField(const std::string& s)
{
    if (s.find_first_of(",\"\n\r") == std::string::npos)
        return s;
    std::string out = "\"";
    for (char c : s) {
        if (c == '"')
            out += "\"\"";
        else
            out.push_back(c);
    }
    return out + "\"";
}
}  // namespace import_json_detail

void exportNative(const Dataset& data, const std::string& dir)
{
    using namespace import_json_detail;
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec)
        throw CoreException(ErrorCode::DataLoad, dir + ": cannot create the folder: " + ec.message(), dir);
    const std::string itemsPath = (fs::path(dir) / "items.jsonl").string();
    const std::string interPath = (fs::path(dir) / "interactions.csv").string();
    {
        std::ofstream out(itemsPath, std::ios::binary | std::ios::trunc);
        if (!out)
            throw CoreException(ErrorCode::DataLoad, itemsPath + ": cannot write", itemsPath);
        for (ItemId id = 1; id <= data.numItems(); ++id) {
            const Item& it = data.items[static_cast<size_t>(id)];
            nlohmann::ordered_json j;
            j["id"] = it.raw_id;
            j["title"] = it.title;
            j["categories"] = nlohmann::json::array();
            for (CategoryId c : it.categories)
                j["categories"].push_back(data.categories[static_cast<size_t>(c)].name);
            for (const auto& [k, v] : it.extra)
                if (k != "id" && k != "title" && k != "categories")
                    j[k] = v;
            out << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
        }
        if (!out)
            throw CoreException(ErrorCode::DataLoad, itemsPath + ": write failed", itemsPath);
    }
    std::ofstream out(interPath, std::ios::binary | std::ios::trunc);
    if (!out)
        throw CoreException(ErrorCode::DataLoad, interPath + ": cannot write", interPath);
    out << "user,item,timestamp\n";
    for (const auto& u : data.users) {
        for (size_t k = 0; k < u.sequence.size(); ++k) {
            const int64_t t = k < u.timestamps.size() ? u.timestamps[k] : static_cast<int64_t>(k);
            out << csvField(u.raw_id) << ',' << csvField(data.items[static_cast<size_t>(u.sequence[k])].raw_id) << ',' << t
                << '\n';
        }
    }
    if (!out)
        throw CoreException(ErrorCode::DataLoad, interPath + ": write failed", interPath);
}

}  // namespace recalign::core
