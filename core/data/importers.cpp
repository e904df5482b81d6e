// loadDataset: source detection, per-source defaults, the cache, and the statistics report.
#include "core/data/importers.h"

#include "core/api/error.h"
#include "core/data/cache.h"
#include "core/util/hash.h"
#include "core/util/strings.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <sstream>

namespace recalign::core {

namespace importers_detail {

namespace fs = std::filesystem;

// Bump when an importer or the pipeline changes what it produces (invalidates caches).
constexpr const char* kImporterVersion = "data-importers-2";

const std::vector<std::string> kSources = {"movielens", "amazon", "steam", "native", "synthetic", "recbole"};  // enum order
const std::vector<std::string> kUncategorized = {"drop", "other"};                                  // enum order

// The index of `text` in `names`; InvalidConfig naming `key` and the names otherwise.
size_t choiceIndex(const std::vector<std::string>& names, const std::string& text, const char* key)
{
    for (size_t i = 0; i < names.size(); ++i)
        if (names[i] == text)
            return i;
    throw CoreException(ErrorCode::InvalidConfig,
                        std::string(key) + ": expected one of " + str::join(names, ", ") + ", found '" + text + "'", key);
}

std::string thousands(long n)
{
    std::string s = std::to_string(n < 0 ? -n : n);
    for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3)
        s.insert(static_cast<size_t>(i), ",");
    return n < 0 ? "-" + s : s;
}

bool jsonish(const std::string& name)
{
    for (const char* ext : {".json", ".jsonl", ".json.gz", ".jsonl.gz"})
        if (str::endsWith(str::toLower(name), ext))
            return true;
    return false;
}

std::vector<std::string> listFolder(const std::string& dir)
{
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec))
        names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

std::string absolutePath(const fs::path& p)
{
    std::error_code ec;
    fs::path a = fs::absolute(p, ec);
    return (ec ? p : a).lexically_normal().string();
}

// `name` or `name.gz` inside dir; "" when neither exists.
std::string findFile(const std::string& dir, const std::string& name)
{
    for (const std::string& n : {name, name + ".gz"}) {
        const fs::path p = fs::path(dir) / n;
        std::error_code ec;
        if (fs::is_regular_file(p, ec))
            return absolutePath(p);
    }
    return {};
}

std::string overridePath(const DatasetSpec& spec, const std::string& name)
{
    if (name.empty())
        return {};
    const fs::path p(name);
    const std::string full = absolutePath(p.is_absolute() ? p : fs::path(spec.path) / p);
    requireReadableFile(full);
    return full;
}

[[noreturn]] void notFound(const DatasetSpec& spec, const std::string& expected)
{
    const auto names = listFolder(spec.path);
    std::string found = names.empty() ? "an empty folder" : str::join(names, ", ");
    if (found.size() > 300)
        found = found.substr(0, 300) + "...";
    throw CoreException(ErrorCode::DataLoad, spec.path + ": expected " + expected + ", found " + found, spec.path);
}

std::string datasetName(const DatasetSpec& spec)
{
    fs::path p = fs::path(absolutePath(spec.path));
    std::string n = p.filename().string();
    if (n.empty())
        n = p.parent_path().filename().string();
    return n.empty() ? std::string(datasetSourceName(spec.source)) : n;
}

// The rating filter the pipeline applies: the spec's 0 ("keeps every rating") is no bound at all.
double minRating(const DatasetSpec& spec)
{
    return spec.min_rating > 0 ? spec.min_rating : -1e300;
}

std::string cacheKey(const DatasetSpec& spec, const std::vector<std::string>& files, const std::pair<int, int>& cores)
{
    std::ostringstream s;
    char rating[64];
    std::snprintf(rating, sizeof(rating), "%.17g", minRating(spec));
    s << kImporterVersion << '\n' << datasetSourceName(spec.source) << '\n';
    for (const auto& f : files)
        s << f << '\n';
    s << "min_rating=" << rating << "\nuser_core=" << cores.first << "\nitem_core=" << cores.second
      << "\nlenient=" << spec.lenient << "\nsteam_tags=" << spec.steam_tags_as_categories
      << "\nuncategorized=" << uncategorizedName(spec.uncategorized) << '\n';
    if (spec.source == DatasetSource::RecBole)
        s << "recbole=" << spec.recbole.title_field << '\t' << spec.recbole.year_field << '\t' << spec.recbole.category_field
          << '\t' << spec.recbole.seq_separator << '\n';
    return sha256Hex(s.str());
}

}  // namespace importers_detail

const char* datasetSourceName(DatasetSource source)
{
    return importers_detail::kSources.at(static_cast<size_t>(source)).c_str();
}

DatasetSource parseDatasetSource(const std::string& text)
{
    return static_cast<DatasetSource>(importers_detail::choiceIndex(importers_detail::kSources, text, "source"));
}

const char* uncategorizedName(DatasetConfig::Uncategorized u)
{
    return importers_detail::kUncategorized.at(static_cast<size_t>(u)).c_str();
}

DatasetConfig::Uncategorized parseUncategorized(const std::string& text)
{
    return static_cast<DatasetConfig::Uncategorized>(
        importers_detail::choiceIndex(importers_detail::kUncategorized, text, "uncategorized"));
}

std::pair<int, int> defaultCores(DatasetSource source)
{
    if (source == DatasetSource::Amazon || source == DatasetSource::Steam)
        return {25, 10};
    if (source == DatasetSource::MovieLens)
        return {5, 5};
    return {1, 1};
}

std::vector<std::string> sourceFiles(const DatasetSpec& spec)
{
    using namespace importers_detail;
    if (spec.source == DatasetSource::Synthetic)
        return {};
    const std::string source = datasetSourceName(spec.source);
    if (spec.path.empty())
        throw CoreException(ErrorCode::InvalidConfig, "path: expected the folder with the " + source + " files, found ''",
                            "path");
    std::error_code ec;
    const auto st = fs::status(spec.path, ec);
    if (ec || !fs::exists(st))
        throw CoreException(ErrorCode::DataLoad,
                            spec.path + ": expected a folder with " + source + " files, found nothing (no such folder)",
                            spec.path);
    if (!fs::is_directory(st))
        throw CoreException(ErrorCode::DataLoad,
                            spec.path + ": expected a folder with " + source +
                                " files, found a file (give its folder, or name files with items_file / interactions_file)",
                            spec.path);
    std::string items = overridePath(spec, spec.items_file);
    std::string inter = overridePath(spec, spec.interactions_file);
    std::vector<std::string> extra;

    if (spec.source == DatasetSource::MovieLens) {
        if (items.empty() || inter.empty()) {
            const std::pair<const char*, const char*> kinds[] = {
                {"movies.csv", "ratings.csv"}, {"movies.dat", "ratings.dat"}, {"u.item", "u.data"}};
            for (const auto& [m, r] : kinds) {
                const std::string mi = findFile(spec.path, m);
                const std::string ri = findFile(spec.path, r);
                if (!mi.empty() && !ri.empty()) {
                    if (items.empty())
                        items = mi;
                    if (inter.empty())
                        inter = ri;
                    break;
                }
            }
            if (items.empty() || inter.empty())
                notFound(spec, "MovieLens files (movies.csv + ratings.csv, movies.dat + ratings.dat, or u.item + u.data + u.genre)");
        }
        const std::string base = fs::path(items).filename().string();
        if (!str::endsWith(base, ".csv") && !str::endsWith(base, ".csv.gz") && !str::endsWith(base, ".dat") &&
            !str::endsWith(base, ".dat.gz")) {
            const std::string genre = findFile(fs::path(items).parent_path().string(), "u.genre");
            if (genre.empty())
                notFound(spec, "u.genre beside " + base + " (ml-100k names its 19 genres there)");
            extra.push_back(genre);
        }
    } else if (spec.source == DatasetSource::Amazon || spec.source == DatasetSource::Steam) {
        const bool amazon = spec.source == DatasetSource::Amazon;
        std::vector<std::string> metas, reviews;
        for (const auto& n : listFolder(spec.path)) {
            if (!jsonish(n))
                continue;
            const std::string low = str::toLower(n);
            const bool isMeta = amazon ? str::startsWith(low, "meta") : low.find("game") != std::string::npos;
            const bool isReview = amazon ? !isMeta : low.find("review") != std::string::npos;
            if (isMeta)
                metas.push_back(absolutePath(fs::path(spec.path) / n));
            else if (isReview)
                reviews.push_back(absolutePath(fs::path(spec.path) / n));
        }
        const std::string what = amazon ? "one meta_*.json(.gz) file and one reviews *.json(.gz) file"
                                        : "one *games*.json(.gz) file and one *reviews*.json(.gz) file";
        if (items.empty()) {
            if (metas.size() != 1)
                notFound(spec, what);
            items = metas[0];
        }
        if (inter.empty()) {
            if (reviews.size() != 1)
                notFound(spec, what);
            inter = reviews[0];
        }
    } else if (spec.source == DatasetSource::RecBole) {
        // NAME.inter and NAME.item (NAME: the folder's name when both exist, else the only pair).
        std::vector<std::string> inters, itemFiles;
        for (const auto& n : listFolder(spec.path)) {
            const std::string low = str::toLower(n);
            if (str::endsWith(low, ".inter") || str::endsWith(low, ".inter.gz"))
                inters.push_back(n);
            else if (str::endsWith(low, ".item") || str::endsWith(low, ".item.gz"))
                itemFiles.push_back(n);
        }
        const std::string folder = fs::path(absolutePath(spec.path)).filename().string();
        auto pick = [&](const std::vector<std::string>& names, const std::string& ext) {
            for (const auto& n : names)
                if (n == folder + ext || n == folder + ext + ".gz")
                    return absolutePath(fs::path(spec.path) / n);
            return names.size() == 1 ? absolutePath(fs::path(spec.path) / names[0]) : std::string();
        };
        if (items.empty())
            items = pick(itemFiles, ".item");
        if (inter.empty())
            inter = pick(inters, ".inter");
        if (items.empty() || inter.empty())
            notFound(spec, "RecBole atomic files NAME.inter and NAME.item (one of each, or named after the folder)");
    } else if (spec.source == DatasetSource::Native) {
        if (items.empty())
            items = findFile(spec.path, "items.jsonl");
        if (inter.empty())
            inter = findFile(spec.path, "interactions.csv");
        if (items.empty() || inter.empty())
            notFound(spec, "items.jsonl and interactions.csv (the native format)");
    }
    std::vector<std::string> files = {items, inter};
    files.insert(files.end(), extra.begin(), extra.end());
    return files;
}

DatasetSpec::DatasetSpec() : DatasetConfig(defaultExperiment().dataset) {}

namespace importers_detail {

Dataset importDataset(const DatasetSpec& spec)
{
    const std::vector<std::string> files = sourceFiles(spec);  // validates the source
    const auto defaults = defaultCores(spec.source);
    const std::pair<int, int> cores = {spec.user_core >= 0 ? spec.user_core : defaults.first,
                                       spec.item_core >= 0 ? spec.item_core : defaults.second};
    PipelineOptions po;
    po.min_rating = minRating(spec);
    po.user_core = cores.first;
    po.item_core = cores.second;
    po.uncategorized = spec.uncategorized;
    if (spec.source == DatasetSource::Synthetic)
        return generateSynthetic(spec.synthetic, po);

    std::string cacheFile;
    if (!spec.cache_dir.empty()) {
        std::string safe = datasetName(spec);
        for (char& c : safe)
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
                c = '_';
        cacheFile = (fs::path(spec.cache_dir) / (datasetSourceName(spec.source) + ("-" + safe) + "-" + cacheKey(spec, files, cores).substr(0, 16) +
                                                 ".rcds"))
                        .string();
        if (auto cached = readDatasetCache(cacheFile, files))
            return std::move(*cached);
    }

    ImportLog log(spec.lenient);
    RawData raw;
    if (spec.source == DatasetSource::MovieLens)
        raw = readMovieLens(files, log);
    else if (spec.source == DatasetSource::Amazon)
        raw = readAmazon(files, log);
    else if (spec.source == DatasetSource::Steam)
        raw = readSteam(files, log, spec.steam_tags_as_categories);
    else if (spec.source == DatasetSource::RecBole)
        raw = readRecBole(files, spec.recbole, log);
    else
        raw = readNative(files, log);
    raw.name = datasetName(spec);
    raw.source = datasetSourceName(spec.source);
    Dataset d = buildDataset(std::move(raw), po);
    d.stats.skipped_lines = log.skippedLines();
    d.stats.skipped_examples = log.skippedExamples();
    d.stats.repaired_lines = log.repairedLines();
    d.stats.repaired_examples = log.repairedExamples();
    d.stats.unusable_by_reason.assign(log.unusableByReason().begin(), log.unusableByReason().end());
    if (!cacheFile.empty())
        writeDatasetCache(cacheFile, d, files);  // a cache that cannot be written only costs time
    return d;
}

}  // namespace importers_detail

Dataset loadDataset(const DatasetSpec& spec)
{
    Dataset d = importers_detail::importDataset(spec);
    if (spec.max_users > 0 && d.numUsers() > spec.max_users) {
        d.users.resize(static_cast<size_t>(spec.max_users));
        d.finalize();
    }
    return d;
}

std::string formatStats(const Dataset& d)
{
    using importers_detail::thousands;
    const DatasetStats& s = d.stats;
    const std::string itemNoun = d.source == "movielens" ? "movies" : d.source == "steam" ? "games" : d.source == "amazon" ? "products" : "items";
    const std::string labelNoun = d.source == "movielens" || d.source == "steam" ? "genre labels" : "category labels";
    std::ostringstream o;
    o << "dataset:            " << d.name << " (" << d.source << ")\n";
    o << "fingerprint:        " << d.fingerprint << "\n";
    o << "as read:            " << thousands(s.raw_users) << " users, " << thousands(s.raw_interactions)
      << " interactions, " << thousands(s.raw_items) << " " << itemNoun << " in the file ("
      << thousands(s.raw_items_with_interactions) << " with interactions), " << thousands(s.raw_category_labels) << " "
      << labelNoun << "\n";
    o << "filtering:\n";
    if (s.interactions_unknown_item)
        o << "  interactions of " << itemNoun << " not in the catalogue: " << thousands(s.interactions_unknown_item) << "\n";
    o << "  " << itemNoun << " without a title or category (dropped): " << thousands(s.items_without_title_or_category)
      << " (their interactions: " << thousands(s.interactions_dropped_item) << ")\n";
    if (s.min_rating > -1e299)
        o << "  below the minimum rating " << str::fixed(s.min_rating, 2) << ": " << thousands(s.below_min_rating) << "\n";
    if (s.raw_users > s.users_before_kcore)
        o << "  users left without any usable interaction: " << thousands(s.raw_users - s.users_before_kcore) << "\n";
    o << "  duplicate (user, item) pairs removed (first kept): " << thousands(s.duplicate_interactions) << "\n";
    o << "  k-core (users >= " << s.user_core << ", items >= " << s.item_core << "): dropped "
      << thousands(s.users_dropped_kcore) << " users and " << thousands(s.items_dropped_kcore) << " " << itemNoun
      << " (before: " << thousands(s.users_before_kcore) << " users, " << thousands(s.items_before_kcore) << " "
      << itemNoun << ", " << thousands(s.interactions_before_kcore) << " interactions)\n";
    o << "after filtering:    " << thousands(s.users) << " users, " << thousands(s.items) << " " << itemNoun << ", "
      << thousands(s.interactions) << " interactions, " << thousands(s.categories) << " categories\n";
    o << "sequence length:    mean " << str::fixed(s.mean_sequence_length, 2) << ", median "
      << str::fixed(s.median_sequence_length, 1) << "\n";
    o << "sparsity:           " << str::fixed(s.sparsity, 5) << "\n";
    o << "split:              leave-one-out (train seq[:-2], valid seq[-2], test seq[-1]); "
      << thousands(s.users_too_short_for_eval) << " users with < 3 interactions are train-only\n";
    o << "duplicate titles:   " << thousands(s.duplicate_titles) << " (a title maps to its first item)\n";
    if (s.skipped_lines || s.repaired_lines) {
        o << "lenient:            skipped " << thousands(s.skipped_lines) << " lines, repaired "
          << thousands(s.repaired_lines) << " lines (invalid UTF-8 decoded as Latin-1)\n";
        for (const auto& e : s.skipped_examples)
            o << "  skipped  " << e << "\n";
        for (const auto& e : s.repaired_examples)
            o << "  repaired " << e << "\n";
    }
    for (const auto& [reason, count] : s.unusable_by_reason)
        o << "not usable:         " << thousands(count) << " " << reason << "\n";
    // Per-category sizes, largest first.
    std::vector<std::pair<long, CategoryId>> sizes;
    for (CategoryId c = 0; c < d.numCategories(); ++c)
        sizes.emplace_back(static_cast<long>(d.categories[static_cast<size_t>(c)].members.size()), c);
    std::stable_sort(sizes.begin(), sizes.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    const size_t shown = std::min<size_t>(sizes.size(), 30);
    o << "categories (" << itemNoun << " per category" << (shown < sizes.size() ? ", largest 30" : "") << "):\n";
    for (size_t k = 0; k < shown; ++k)
        o << "  " << thousands(sizes[k].first) << "\t" << d.categories[static_cast<size_t>(sizes[k].second)].name << "\n";
    return o.str();
}

}  // namespace recalign::core
