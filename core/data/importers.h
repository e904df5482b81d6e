// Dataset importers and the one entry point the rest of the core calls: `loadDataset(spec)`.
// Sources: MovieLens (ml-latest / ml-latest-small CSV, ml-1m "::", ml-100k), Amazon Reviews
// 2018 (reviews + meta JSON lines, plain or .gz, JSON or Python dict literals), Steam
// (Kang & McAuley reviews + games, Python literal or JSON), the native format
// (items.jsonl + interactions.csv), RecBole's atomic files (NAME.item + NAME.inter) and the
// embedded synthetic default (synthetic.h).
//
// Every importer reports bad input as "file:line: expected X, found Y". Strict mode stops at the
// first bad line (CoreException(DataLoad)); lenient mode skips it, counts it in
// stats.skipped_lines and keeps the first few in stats.skipped_examples. Invalid UTF-8 in a
// UTF-8 source is an error in strict mode and is decoded as Latin-1 (and counted in
// stats.repaired_lines) in lenient mode. Missing files, empty files, truncated gzip and a filter
// that leaves nothing are errors in both modes.
//
// Categories: MovieLens genres (the label "(no genres listed)" is no category); Amazon: every
// prefix of the category path without its root, joined with ", " (RECLM-GEN §1.2); Steam:
// genres (or tags); native: as listed. Items left without a category (Amazon path [root] only,
// "(no genres listed)", Steam games without genres) are dropped with their interactions and
// counted (stats.items_without_title_or_category, stats.interactions_dropped_item), unless
// `uncategorized = "other"` puts them in a category named "Other". So every item of a loaded
// dataset has at least one category and `categoriesOf(item).back()` is always valid.
#pragma once

#include "core/data/dataset.h"
#include "core/data/pipeline.h"
#include "core/data/synthetic.h"
#include "core/data/text_io.h"

#include <string>
#include <vector>

namespace recalign::core {

// The dataset section's choices (core/api/experiment.h), with their text names; the parsers throw
// CoreException(InvalidConfig) naming the key and the valid names.
using DatasetSource = DatasetConfig::Source;
const char* datasetSourceName(DatasetSource source);  // movielens | amazon | steam | native | synthetic
DatasetSource parseDatasetSource(const std::string& text);
const char* uncategorizedName(DatasetConfig::Uncategorized u);  // drop | other
DatasetConfig::Uncategorized parseUncategorized(const std::string& text);

// The importers' options: the experiment's `dataset:` section itself (schema defaults) plus where
// parsed data is cached. `path` is used as given (the pipeline resolves it against the experiment
// file first). min_rating 0 keeps every rating; user_core / item_core -1 = the source's default
// (defaultCores), 0 = no k-core filter; max_users keeps the first N users after filtering;
// max_history is the prompts' (not read here).
struct DatasetSpec : DatasetConfig {
    DatasetSpec();                                                           // defaultExperiment().dataset
    DatasetSpec(const DatasetConfig& config) : DatasetConfig(config) {}     // NOLINT: implicit on purpose
    std::string cache_dir;  // "" = no cache
};

// Per-source k-core defaults {user_core, item_core}: amazon {25, 10} (RECLM-GEN §1.2); steam
// {25, 10} (assumed: the paper's Steam script is not released); movielens {5, 5}; native, recbole
// and synthetic {1, 1} (no filtering).
std::pair<int, int> defaultCores(DatasetSource source);

// Loads (or reads from the cache) and runs the pipeline. Throws CoreException(DataLoad) for
// missing or malformed data, CoreException(InvalidConfig) for a bad spec.
Dataset loadDataset(const DatasetSpec& spec);

// The source files that `spec` reads (resolved; empty for synthetic). Throws like loadDataset
// when a folder lacks the expected files.
std::vector<std::string> sourceFiles(const DatasetSpec& spec);

// Per-source readers (catalogue first, then interactions in file order). `files` as returned by
// sourceFiles. Used by loadDataset; exposed for tests.
RawData readMovieLens(const std::vector<std::string>& files, ImportLog& log);
RawData readAmazon(const std::vector<std::string>& files, ImportLog& log);
RawData readSteam(const std::vector<std::string>& files, ImportLog& log, bool tagsAsCategories);
// A nested Steam review's date as published: "Posted November 5, 2011." (year 2011) or, for the
// crawl's own year, "Posted July 15." (year 0). Month names in full or three letters, any case.
struct SteamPosted {
    int year = 0, month = 0, day = 0;
};
std::optional<SteamPosted> parseSteamPosted(std::string_view text);
RawData readNative(const std::vector<std::string>& files, ImportLog& log);
// RecBole's atomic files (files = {NAME.item, NAME.inter}): tab-separated, a typed header
// (`user_id:token`, `rating:float`, `movie_title:token_seq`, ...; types token, token_seq, float,
// float_seq). .inter needs user_id and item_id (rating and timestamp optional); .item needs
// item_id and the title field. Fields are chosen by `fields` (see RecBoleFieldsConfig).
RawData readRecBole(const std::vector<std::string>& files, const RecBoleFieldsConfig& fields, ImportLog& log);

// Amazon category path → category names: every prefix of the path without its root, joined with
// ", " (["Movies & TV", "Genre", "Drama"] → {"Genre", "Genre, Drama"}).
std::vector<std::string> amazonCategories(const std::vector<std::string>& path);

// Writes `data` in the native format: DIR/items.jsonl ({"id","title","categories",...extra})
// and DIR/interactions.csv (user,item,timestamp). Creates DIR. Throws CoreException(DataLoad).
void exportNative(const Dataset& data, const std::string& dir);

// A human-readable statistics report (what `recalign data stats` prints).
std::string formatStats(const Dataset& data);

}  // namespace recalign::core
