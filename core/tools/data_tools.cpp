// `recalign data stats|export-native|lookup` and `recalign bench data` (core/api/data_tools.h),
// moved from app/cli: load a dataset and print its statistics, write it in the native format, or
// look titles up; most-popular vs item-to-item transition (full-ranking HR@10 / NDCG@10 on the
// leave-one-out targets, history excluded) plus import / cache / fuzzy-lookup timings.
#include "core/api/data_tools.h"

#include "core/data/baselines.h"
#include "core/data/importers.h"
#include "core/data/title_index.h"
#include "core/tools/dataset_request.h"
#include "core/util/strings.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>

namespace recalign::core {

DatasetSpec datasetSpec(const DatasetRequest& r)
{
    DatasetSpec s;
    s.source = parseDatasetSource(r.source);
    s.path = r.path;
    s.min_rating = r.min_rating.value_or(s.min_rating);
    s.user_core = r.user_core;
    s.item_core = r.item_core;
    s.lenient = r.lenient;
    s.steam_tags_as_categories = r.steam_tags_as_categories;
    s.uncategorized = parseUncategorized(r.uncategorized);
    s.items_file = r.items_file;
    s.interactions_file = r.interactions_file;
    s.cache_dir = r.cache_dir;
    if (r.recbole)
        s.recbole = *r.recbole;
    auto& o = s.synthetic;
    o.seed = r.seed.value_or(o.seed);
    o.items = r.items.value_or(o.items);
    o.users = r.users.value_or(o.users);
    o.top_categories = r.top_categories.value_or(o.top_categories);
    o.subcategories_per_top = r.subcategories_per_top.value_or(o.subcategories_per_top);
    o.min_sequence_length = r.min_sequence_length.value_or(o.min_sequence_length);
    o.max_sequence_length = r.max_sequence_length.value_or(o.max_sequence_length);
    o.preference_concentration = r.preference_concentration.value_or(o.preference_concentration);
    o.sequential_strength = r.sequential_strength.value_or(o.sequential_strength);
    o.popularity_skew = r.popularity_skew.value_or(o.popularity_skew);
    return s;
}

ToolStatus runDataTool(const DataToolRequest& request, std::ostream& out)
{
    return catchTool([&] {
        const DatasetSpec spec = datasetSpec(request.dataset);
        const std::string& sub = request.command;
        const auto t0 = std::chrono::steady_clock::now();
        Dataset d = loadDataset(spec);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (sub == "stats") {
            out << formatStats(d);
            out << "load time:          " << str::fixed(seconds, 3) << " s"
                << (spec.cache_dir.empty() ? "" : " (cache: " + spec.cache_dir + ")") << "\n";
        } else if (sub == "export-native") {
            const std::string& dir = request.out;
            if (dir.empty())
                throw std::invalid_argument("export-native needs --out DIR");
            exportNative(d, dir);
            out << "wrote " << d.numItems() << " items and " << d.stats.interactions << " interactions of "
                << d.numUsers() << " users to " << dir << "/items.jsonl and " << dir << "/interactions.csv\n";
        } else {
            if (!request.title)
                throw std::invalid_argument("lookup needs --title T");
            const std::string& title = *request.title;
            const TitleIndex index(d);
            const int distance = request.distance.value_or(TitleIndex::kDefaultMaxDistance);
            const auto m = index.lookup(title, distance);
            if (!m) {
                out << "no title within distance " << distance << " of '" << title << "'\n";
                return 1;
            }
            out << "item " << m.item << " (" << d.items[static_cast<size_t>(m.item)].raw_id << "): "
                << d.title(m.item) << "  [distance " << m.distance << ", " << TitleIndex::lastQueryVisits()
                << " of " << index.distinctTitles() << " titles compared]\n  categories:";
            for (CategoryId c : d.categoriesOf(m.item))
                out << " [" << d.categories[static_cast<size_t>(c)].name << "]";
            out << "\n";
        }
        return 0;
    });
}

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

void printBaselines(const Dataset& d, std::ostream& out)
{
    out << "  " << d.name << ": " << d.numUsers() << " users, " << d.numItems() << " items, "
        << d.stats.interactions << " interactions, " << d.numCategories() << " categories\n";
    for (const auto target : {EvalTarget::Valid, EvalTarget::Test}) {
        const auto pop = evaluateMostPopular(d, target, 10);
        const auto tr = evaluateTransition(d, target, 10);
        const char* name = target == EvalTarget::Test ? "test " : "valid";
        out << "    " << name << " (" << pop.users << " users)  most-popular  HR@10 " << str::fixed(pop.hr, 4)
            << "  NDCG@10 " << str::fixed(pop.ndcg, 4) << "   |   transition  HR@10 "
            << str::fixed(tr.hr, 4) << "  NDCG@10 " << str::fixed(tr.ndcg, 4) << "\n";
    }
}

}  // namespace

ToolStatus runBenchData(const BenchDataRequest& request, std::ostream& out)
{
    return catchTool([&] {
        out << "synthetic default (seed " << request.seed << "):\n";
        SyntheticOptions so;
        so.seed = static_cast<uint64_t>(request.seed);
        auto t0 = Clock::now();
        const Dataset syn = generateSynthetic(so);
        out << "  generated in " << str::fixed(since(t0), 3) << " s, fingerprint "
            << syn.fingerprint.substr(0, 16) << "\n";
        printBaselines(syn, out);

        const std::string& ml = request.movielens;
        if (ml.empty()) {
            out << "ml-latest-small: not found (give --movielens DIR); skipped\n";
            return 0;
        }
        out << "ml-latest-small (" << ml << ", default 5-core):\n";
        const fs::path cache = fs::temp_directory_path() / ("recalign-bench-data-" + std::to_string(::getpid()));
        DatasetSpec spec;
        spec.source = DatasetSource::MovieLens;
        spec.path = ml;
        t0 = Clock::now();
        Dataset d = loadDataset(spec);
        const double cold = since(t0);
        spec.cache_dir = cache.string();
        t0 = Clock::now();
        loadDataset(spec);  // imports again and writes the cache
        const double write = since(t0);
        t0 = Clock::now();
        const Dataset cached = loadDataset(spec);
        const double warm = since(t0);
        std::error_code ec;
        fs::remove_all(cache, ec);
        out << "  import " << str::fixed(cold, 3) << " s; import + cache write " << str::fixed(write, 3)
            << " s; cached load " << str::fixed(warm, 4) << " s (same fingerprint: "
            << (cached.fingerprint == d.fingerprint ? "yes" : "NO") << ")\n";
        printBaselines(d, out);

        // Fuzzy title lookup through the BK-tree.
        const TitleIndex index(d);
        long visits = 0, found = 0, queries = 0;
        t0 = Clock::now();
        for (ItemId id = 1; id <= d.numItems(); id += 7) {
            std::string q = d.title(id);
            q[q.size() / 2] = q[q.size() / 2] == 'x' ? 'y' : 'x';  // one substitution
            const auto m = index.lookup(q, 3);
            visits += TitleIndex::lastQueryVisits();
            found += m ? 1 : 0;
            ++queries;
        }
        const double fuzzy = since(t0);
        out << "  fuzzy lookup (d <= 3): " << queries << " queries in " << str::fixed(fuzzy * 1000, 1)
            << " ms, " << found << " matched, " << str::fixed(double(visits) / double(queries), 1)
            << " of " << index.distinctTitles() << " titles compared per query\n";
        return 0;
    });
}

}  // namespace recalign::core
