// `recalign bench data`: most-popular vs item-to-item transition (full-ranking HR@10 / NDCG@10 on
// the leave-one-out targets, history excluded) on the synthetic default and ml-latest-small,
// plus import / cache / fuzzy-lookup timings (core/api/data_tools.h).
#include "app/cli/command.h"

#include "core/api/data_tools.h"

#include <iostream>

namespace recalign::cli {

namespace bench_data_detail {

std::string findMovieLens(const std::string& given) { return given.empty() ? findMovieLensSmall() : given; }

int runBenchData(const std::vector<std::string>& args)
{
    Args a(args, {"movielens", "seed"}, {"help"});
    if (a.has("help")) {
        std::cout << "usage: recalign bench data [--movielens DIR] [--seed N]\n";
        return 0;
    }
    core::BenchDataRequest request;
    request.seed = a.getInt("seed", 1);
    request.movielens = findMovieLens(a.get("movielens"));
    try {
        return toolExitCode(core::runBenchData(request, std::cout));
    } catch (const core::CoreException& e) {
        std::cerr << "recalign bench data: " << core::errorCodeName(e.error().code) << ": " << e.what() << "\n";
        return 1;
    }
}

}  // namespace bench_data_detail

const SubcommandRegistrar kBenchDataRegistrar({"bench", "data", "most-popular vs transition baselines; import timings",
                                               bench_data_detail::runBenchData});

}  // namespace recalign::cli
