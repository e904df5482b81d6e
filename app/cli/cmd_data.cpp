// `recalign data stats|export-native|lookup`: load a dataset (any source) and print its
// statistics, write it in the native format, or look titles up in its title index.
#include "app/cli/command.h"

#include "core/api/data_tools.h"

#include <iostream>

namespace recalign::cli {

namespace cmd_data_detail {

const std::set<std::string> kValued = {"source", "path", "min-rating", "user-core", "item-core", "uncategorized",
                                       "items-file", "interactions-file", "cache-dir", "out", "title", "distance",
                                       "recbole-title", "recbole-year", "recbole-category", "recbole-separator",
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
           "         steam (*reviews* + *games*), native (items.jsonl + interactions.csv), synthetic,\n"
           "         recbole (RecBole's atomic files NAME.item + NAME.inter)\n"
           "options:\n"
           "  --min-rating R          drop interactions rated below R (default: every rating counts)\n"
           "  --user-core N           iterative k-core: users need >= N interactions (default per source:\n"
           "  --item-core N             amazon/steam 25/10, movielens 5/5, native/recbole/synthetic 1/1)\n"
           "  --lenient               skip bad lines (counted, first examples shown) instead of stopping\n"
           "  --uncategorized drop|other  items without a category: dropped (default) or put in \"Other\"\n"
           "  --steam-tags            steam: categories from tags instead of genres\n"
           "  --items-file F --interactions-file F   override the file detection\n"
           "  --cache-dir DIR         binary cache keyed by the source files and options\n"
           "recbole: --recbole-title F --recbole-year F|none --recbole-category F --recbole-separator S\n"
           "           the .item fields (default: the common datasets' names; see dataset.recbole.*)\n"
           "synthetic: --seed N --synthetic-items N --synthetic-users N --top-categories N --subcategories N\n"
           "           --min-length N --max-length N --concentration X --sequential-strength X --popularity-skew X\n";
}

core::DatasetRequest specFrom(const Args& a)
{
    core::DatasetRequest s;
    s.source = a.get("source");
    if (s.source.empty())
        throw std::invalid_argument("--source is required (movielens, amazon, steam, native, synthetic, recbole)");
    s.path = a.get("path");
    if (s.path.empty() && s.source != "synthetic")
        throw std::invalid_argument("--path is required for --source " + s.source);
    s.min_rating = a.optionalDouble("min-rating");
    s.user_core = static_cast<int>(a.getInt("user-core", -1));
    s.item_core = static_cast<int>(a.getInt("item-core", -1));
    s.lenient = a.has("lenient");
    s.steam_tags_as_categories = a.has("steam-tags");
    s.uncategorized = a.get("uncategorized", "drop");
    s.items_file = a.get("items-file");
    s.interactions_file = a.get("interactions-file");
    s.cache_dir = a.get("cache-dir");
    if (a.has("recbole-title") || a.has("recbole-year") || a.has("recbole-category") || a.has("recbole-separator")) {
        core::RecBoleFieldsConfig r = core::defaultExperiment().dataset.recbole;
        r.title_field = a.get("recbole-title", r.title_field);
        r.year_field = a.get("recbole-year", r.year_field);
        r.category_field = a.get("recbole-category", r.category_field);
        r.seq_separator = a.get("recbole-separator", r.seq_separator);
        s.recbole = r;
    }
    s.seed = optionalAs<uint64_t>(a.optionalInt("seed"));
    s.items = optionalAs<int>(a.optionalInt("synthetic-items"));
    s.users = optionalAs<int>(a.optionalInt("synthetic-users"));
    s.top_categories = optionalAs<int>(a.optionalInt("top-categories"));
    s.subcategories_per_top = optionalAs<int>(a.optionalInt("subcategories"));
    s.min_sequence_length = optionalAs<int>(a.optionalInt("min-length"));
    s.max_sequence_length = optionalAs<int>(a.optionalInt("max-length"));
    s.preference_concentration = a.optionalDouble("concentration");
    s.sequential_strength = a.optionalDouble("sequential-strength");
    s.popularity_skew = a.optionalDouble("popularity-skew");
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
    core::DataToolRequest request;
    request.command = sub;
    request.dataset = specFrom(a);
    request.out = a.get("out");
    request.title = a.optional("title");
    request.distance = optionalAs<int>(a.optionalInt("distance"));
    try {
        return toolExitCode(core::runDataTool(request, std::cout));
    } catch (const core::CoreException& e) {
        std::cerr << "recalign data " << sub << ": " << core::errorCodeName(e.error().code) << ": " << e.what() << "\n";
        return 1;
    }
}

}  // namespace cmd_data_detail

const CommandRegistrar kDataRegistrar({"data", "dataset statistics, native export, title lookup", cmd_data_detail::runData});

}  // namespace recalign::cli
