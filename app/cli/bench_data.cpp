// `recalign bench data`: most-popular vs item-to-item transition (full-ranking HR@10 / NDCG@10 on
// the leave-one-out targets, history excluded) on the synthetic default and ml-latest-small,
// plus import / cache / fuzzy-lookup timings.
#include "app/cli/command.h"

#include "core/api/error.h"
#include "core/data/baselines.h"
#include "core/data/importers.h"
#include "core/data/title_index.h"
#include "core/util/strings.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>

namespace recalign::cli {

namespace bench_data_detail {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::string findMovieLens(const std::string& given) { return given.empty() ? findMovieLensSmall() : given; }

void printBaselines(const core::Dataset& d)
{
    std::cout << "  " << d.name << ": " << d.numUsers() << " users, " << d.numItems() << " items, "
              << d.stats.interactions << " interactions, " << d.numCategories() << " categories\n";
    for (const auto target : {core::EvalTarget::Valid, core::EvalTarget::Test}) {
        const auto pop = core::evaluateMostPopular(d, target, 10);
        const auto tr = core::evaluateTransition(d, target, 10);
        const char* name = target == core::EvalTarget::Test ? "test " : "valid";
        std::cout << "    " << name << " (" << pop.users << " users)  most-popular  HR@10 " << core::str::fixed(pop.hr, 4)
                  << "  NDCG@10 " << core::str::fixed(pop.ndcg, 4) << "   |   transition  HR@10 "
                  << core::str::fixed(tr.hr, 4) << "  NDCG@10 " << core::str::fixed(tr.ndcg, 4) << "\n";
    }
}

int runBenchData(const std::vector<std::string>& args)
{
    Args a(args, {"movielens", "seed"}, {"help"});
    if (a.has("help")) {
        std::cout << "usage: recalign bench data [--movielens DIR] [--seed N]\n";
        return 0;
    }
    try {
        std::cout << "synthetic default (seed " << a.getInt("seed", 1) << "):\n";
        core::SyntheticOptions so;
        so.seed = static_cast<uint64_t>(a.getInt("seed", 1));
        auto t0 = Clock::now();
        const core::Dataset syn = core::generateSynthetic(so);
        std::cout << "  generated in " << core::str::fixed(since(t0), 3) << " s, fingerprint "
                  << syn.fingerprint.substr(0, 16) << "\n";
        printBaselines(syn);

        const std::string ml = findMovieLens(a.get("movielens"));
        if (ml.empty()) {
            std::cout << "ml-latest-small: not found (give --movielens DIR); skipped\n";
            return 0;
        }
        std::cout << "ml-latest-small (" << ml << ", default 5-core):\n";
        const fs::path cache = fs::temp_directory_path() / ("recalign-bench-data-" + std::to_string(::getpid()));
        core::DatasetSpec spec;
        spec.source = "movielens";
        spec.path = ml;
        t0 = Clock::now();
        core::Dataset d = core::loadDataset(spec);
        const double cold = since(t0);
        spec.cache_dir = cache.string();
        t0 = Clock::now();
        core::loadDataset(spec);  // imports again and writes the cache
        const double write = since(t0);
        t0 = Clock::now();
        const core::Dataset cached = core::loadDataset(spec);
        const double warm = since(t0);
        std::error_code ec;
        fs::remove_all(cache, ec);
        std::cout << "  import " << core::str::fixed(cold, 3) << " s; import + cache write " << core::str::fixed(write, 3)
                  << " s; cached load " << core::str::fixed(warm, 4) << " s (same fingerprint: "
                  << (cached.fingerprint == d.fingerprint ? "yes" : "NO") << ")\n";
        printBaselines(d);

        // Fuzzy title lookup through the BK-tree.
        const core::TitleIndex index(d);
        long visits = 0, found = 0, queries = 0;
        t0 = Clock::now();
        for (core::ItemId id = 1; id <= d.numItems(); id += 7) {
            std::string q = d.title(id);
            q[q.size() / 2] = q[q.size() / 2] == 'x' ? 'y' : 'x';  // one substitution
            const auto m = index.lookup(q, 3);
            visits += core::TitleIndex::lastQueryVisits();
            found += m ? 1 : 0;
            ++queries;
        }
        const double fuzzy = since(t0);
        std::cout << "  fuzzy lookup (d <= 3): " << queries << " queries in " << core::str::fixed(fuzzy * 1000, 1)
                  << " ms, " << found << " matched, " << core::str::fixed(double(visits) / double(queries), 1)
                  << " of " << index.distinctTitles() << " titles compared per query\n";
    } catch (const core::CoreException& e) {
        std::cerr << "recalign bench data: " << core::errorCodeName(e.error().code) << ": " << e.what() << "\n";
        return 1;
    }
    return 0;
}

}  // namespace bench_data_detail

const SubcommandRegistrar kBenchDataRegistrar({"bench", "data", "most-popular vs transition baselines; import timings",
                                               bench_data_detail::runBenchData});

}  // namespace recalign::cli
