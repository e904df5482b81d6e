// `recalign data stats|export-native|lookup`: load a dataset (any source) and print its
// statistics, write it in the native format, or look titles up in its title index.
#include "app/cli/command.h"

#include "core/api/error.h"
#include "core/data/importers.h"
#include "core/data/title_index.h"
#include "core/util/strings.h"

#include <chrono>
#include <iostream>

namespace recalign::cli {

namespace cmd_data_detail {

const std::set<std::string> kValued = {"source", "path", "min-rating", "user-core", "item-core", "uncategorized",
                                       "items-file", "interactions-file", "cache-dir", "out", "title", "distance",
                                       "seed", "synthetic-items", "synthetic-users", "top-categories",
                                       "subcategories", "min-length", "max-length", "concentration",
                                       "sequential-strength", "popularity-skew"};
const std::set<std::string> kFlags = {"lenient", "steam-tags", "help"};

void usage()
{
    std::cout
        << "usage: recalign data stats         --source S --path DIR [options]\n"
           "       recalign data export-native --source S --path DIR --out DIR [options]\n"
           "       recalign data lookup        --source S --path DIR --title T [--distance 3] [options]\n"
           "\n"
           "sources: movielens (ml-latest[-small], ml-1m, ml-100k), amazon (2018 reviews + meta_*),\n"
           "         steam (*reviews* + *games*), native (items.jsonl + interactions.csv), synthetic\n"
           "options:\n"
           "  --min-rating R          drop interactions rated below R (default: every rating counts)\n"
           "  --user-core N           iterative k-core: users need >= N interactions (default per source:\n"
           "  --item-core N             amazon/steam 25/10, movielens 5/5, native/synthetic 1/1)\n"
           "  --lenient               skip bad lines (counted, first examples shown) instead of stopping\n"
           "  --uncategorized drop|other  items without a category: dropped (default) or put in \"Other\"\n"
           "  --steam-tags            steam: categories from tags instead of genres\n"
           "  --items-file F --interactions-file F   override the file detection\n"
           "  --cache-dir DIR         binary cache keyed by the source files and options\n"
           "synthetic: --seed N --synthetic-items N --synthetic-users N --top-categories N --subcategories N\n"
           "           --min-length N --max-length N --concentration X --sequential-strength X --popularity-skew X\n";
}

core::DatasetSpec specFrom(const Args& a)
{
    core::DatasetSpec s;
    s.source = a.get("source");
    if (s.source.empty())
        throw std::invalid_argument("--source is required (movielens, amazon, steam, native, synthetic)");
    s.path = a.get("path");
    if (s.path.empty() && s.source != "synthetic")
        throw std::invalid_argument("--path is required for --source " + s.source);
    s.min_rating = a.getDouble("min-rating", s.min_rating);
    s.user_core = static_cast<int>(a.getInt("user-core", -1));
    s.item_core = static_cast<int>(a.getInt("item-core", -1));
    s.lenient = a.has("lenient");
    s.steam_tags_as_categories = a.has("steam-tags");
    s.uncategorized = a.get("uncategorized", "drop");
    s.items_file = a.get("items-file");
    s.interactions_file = a.get("interactions-file");
    s.cache_dir = a.get("cache-dir");
    auto& o = s.synthetic;
    o.seed = static_cast<uint64_t>(a.getInt("seed", static_cast<long>(o.seed)));
    o.items = static_cast<int>(a.getInt("synthetic-items", o.items));
    o.users = static_cast<int>(a.getInt("synthetic-users", o.users));
    o.top_categories = static_cast<int>(a.getInt("top-categories", o.top_categories));
    o.subcategories_per_top = static_cast<int>(a.getInt("subcategories", o.subcategories_per_top));
    o.min_sequence_length = static_cast<int>(a.getInt("min-length", o.min_sequence_length));
    o.max_sequence_length = static_cast<int>(a.getInt("max-length", o.max_sequence_length));
    o.preference_concentration = a.getDouble("concentration", o.preference_concentration);
    o.sequential_strength = a.getDouble("sequential-strength", o.sequential_strength);
    o.popularity_skew = a.getDouble("popularity-skew", o.popularity_skew);
    return s;
}

int runData(const std::vector<std::string>& args)
{
    if (args.empty() || args[0] == "--help" || args[0] == "help") {
        usage();
        return args.empty() ? 2 : 0;
    }
    const std::string sub = args[0];
    Args a(std::vector<std::string>(args.begin() + 1, args.end()), kValued, kFlags);
    if (a.has("help")) {
        usage();
        return 0;
    }
    if (sub != "stats" && sub != "export-native" && sub != "lookup") {
        std::cerr << "recalign data: unknown subcommand '" << sub << "'\n";
        usage();
        return 2;
    }
    const core::DatasetSpec spec = specFrom(a);
    try {
        const auto t0 = std::chrono::steady_clock::now();
        core::Dataset d = core::loadDataset(spec);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (sub == "stats") {
            std::cout << core::formatStats(d);
            std::cout << "load time:          " << core::str::fixed(seconds, 3) << " s"
                      << (spec.cache_dir.empty() ? "" : " (cache: " + spec.cache_dir + ")") << "\n";
        } else if (sub == "export-native") {
            const std::string out = a.get("out");
            if (out.empty())
                throw std::invalid_argument("export-native needs --out DIR");
            core::exportNative(d, out);
            std::cout << "wrote " << d.numItems() << " items and " << d.stats.interactions << " interactions of "
                      << d.numUsers() << " users to " << out << "/items.jsonl and " << out << "/interactions.csv\n";
        } else {
            if (!a.has("title"))
                throw std::invalid_argument("lookup needs --title T");
            const core::TitleIndex index(d);
            const int distance = static_cast<int>(a.getInt("distance", core::TitleIndex::kDefaultMaxDistance));
            const auto m = index.lookup(a.get("title"), distance);
            if (!m) {
                std::cout << "no title within distance " << distance << " of '" << a.get("title") << "'\n";
                return 1;
            }
            std::cout << "item " << m.item << " (" << d.items[static_cast<size_t>(m.item)].raw_id << "): "
                      << d.title(m.item) << "  [distance " << m.distance << ", " << core::TitleIndex::lastQueryVisits()
                      << " of " << index.distinctTitles() << " titles compared]\n  categories:";
            for (core::CategoryId c : d.categoriesOf(m.item))
                std::cout << " [" << d.categories[static_cast<size_t>(c)].name << "]";
            std::cout << "\n";
        }
    } catch (const core::CoreException& e) {
        std::cerr << "recalign data " << sub << ": " << core::errorCodeName(e.error().code) << ": " << e.what() << "\n";
        return 1;
    }
    return 0;
}

}  // namespace cmd_data_detail

const CommandRegistrar kDataRegistrar({"data", "dataset statistics, native export, title lookup", cmd_data_detail::runData});

}  // namespace recalign::cli
