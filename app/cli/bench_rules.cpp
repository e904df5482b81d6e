// `recalign bench rules`: how long the rules layer takes on a real dataset (default
// ml-latest-small, else the synthetic default): one SFT epoch (v2, every task), the RL prompts,
// the test suite, and parse + legality + reward + metrics throughput, with the teacher's own
// top-10 lists standing in for model outputs (their metrics are printed as a sanity check).
#include "app/cli/command.h"

#include "core/api/rules_tools.h"

#include <iostream>

namespace recalign::cli {

core::DatasetRequest dataSpecFromString(const std::string& text);  // cmd_score.cpp

namespace bench_rules_detail {

// movielens:<ml-latest-small> when it can be found ($RECALIGN_SHARED_DIR/data, ../shared/data,
// or above the binary), else synthetic.
std::string defaultData()
{
    const std::string ml = findMovieLensSmall();
    return ml.empty() ? std::string("synthetic") : "movielens:" + ml;
}

int run(const std::vector<std::string>& args)
{
    Args a(args, {"data", "epochs", "seed", "teacher", "share-gpt", "variant"}, {"help"});
    if (a.has("help")) {
        std::cout << "usage: recalign bench rules [--data SPEC] [--epochs N] [--seed N] [--teacher CKPT]\n"
                     "                            [--share-gpt FILE] [--variant paper|recai]\n"
                     "  SPEC: synthetic[:SEED] | movielens:DIR | amazon:DIR | steam:DIR | native:DIR | recbole:DIR\n"
                     "  (default: ml-latest-small when found, else synthetic)\n";
        return 0;
    }
    try {
        core::BenchRulesRequest request;
        request.data_label = a.get("data", defaultData());
        request.dataset = dataSpecFromString(request.data_label);
        request.teacher = a.get("teacher");
        request.seed = static_cast<uint64_t>(a.getInt("seed", 0));
        request.share_gpt = a.get("share-gpt");
        request.epochs = static_cast<int>(a.getInt("epochs", 2));
        request.variant = a.get("variant", "paper");
        return toolExitCode(core::runBenchRules(request, std::cout));
    } catch (const core::CoreException& e) {
        std::cerr << "recalign bench rules: " << core::errorCodeName(e.error().code) << ": " << e.what() << "\n";
        return 1;
    }
}

const SubcommandRegistrar kBenchRulesRegistrar({"bench", "rules", "SFT epoch / RL / test-suite build and judge timings", run});

}  // namespace bench_rules_detail
}  // namespace recalign::cli
