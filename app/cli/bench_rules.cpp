// `recalign bench rules`: how long the rules layer takes on a real dataset (default
// ml-latest-small, else the synthetic default): one SFT epoch (v2, every task), the RL prompts,
// the test suite, and parse + legality + reward + metrics throughput, with the teacher's own
// top-10 lists standing in for model outputs (their metrics are printed as a sanity check).
#include "app/cli/command.h"

#include "core/api/error.h"
#include "core/data/importers.h"
#include "core/rules/builders.h"
#include "core/rules/metrics.h"
#include "core/rules/reward.h"
#include "core/sasrec/sasrec_teacher.h"
#include "core/util/strings.h"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>

namespace recalign::cli {

core::DatasetSpec dataSpecFromString(const std::string& text);  // cmd_score.cpp

namespace bench_rules_detail {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

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
                     "  SPEC: synthetic[:SEED] | movielens:DIR | amazon:DIR | steam:DIR | native:DIR\n"
                     "  (default: ml-latest-small when found, else synthetic)\n";
        return 0;
    }
    try {
        const std::string dataSpec = a.get("data", defaultData());
        auto t0 = Clock::now();
        const core::Dataset data = core::loadDataset(dataSpecFromString(dataSpec));
        std::cout << "data " << dataSpec << ": " << data.numUsers() << " users, " << data.numItems() << " items, "
                  << data.stats.interactions << " interactions, " << data.numCategories() << " categories (loaded in "
                  << core::str::fixed(since(t0), 3) << " s)\n";
        std::unique_ptr<core::Teacher> teacher;
        if (a.has("teacher"))
            teacher = core::loadSasRecTeacher(a.get("teacher"), data);
        else
            teacher = std::make_unique<core::MostPopTeacher>(data);
        std::cout << "teacher: " << teacher->name() << "\n";

        core::SftOptions so;
        so.task.seed = static_cast<uint64_t>(a.getInt("seed", 0));
        if (a.has("share-gpt"))
            so.general = std::make_shared<const std::vector<core::Conversation>>(core::loadShareGpt(a.get("share-gpt")));
        else {
            t0 = Clock::now();
            so.general = std::make_shared<const std::vector<core::Conversation>>(core::catalogueConversations(data, so.task.seed));
            std::cout << "catalogue general-instruction set: " << so.general->size() << " conversations in "
                      << core::str::fixed(since(t0), 3) << " s\n";
        }
        const int epochs = static_cast<int>(a.getInt("epochs", 2));
        std::vector<core::Sample> epoch;
        for (int e = 0; e < epochs; ++e) {
            core::BuildReport report;
            t0 = Clock::now();
            epoch = core::buildSftEpoch(data, teacher.get(), so, e, &report);
            const double s = since(t0);
            std::cout << "SFT epoch " << e << " (v2): " << epoch.size() << " samples in " << core::str::fixed(s, 3) << " s ("
                      << core::str::fixed(epoch.size() / std::max(s, 1e-9), 0) << " samples/s)\n";
            if (e == 0) {
                for (const auto& [task, n] : report.produced)
                    std::cout << "    " << task << ": " << n << "\n";
                for (const auto& [why, n] : report.skipped)
                    std::cout << "    skipped " << why << ": " << n << "\n";
            }
        }
        t0 = Clock::now();
        const auto rl = core::buildRlPrompts(data, *teacher, so.task, 0);
        std::cout << "RL prompts (6 tasks): " << rl.size() << " in " << core::str::fixed(since(t0), 3) << " s\n";
        t0 = Clock::now();
        const auto suite = core::buildEvalSuite(data, *teacher, core::SuiteOptions{});
        std::cout << "test suite (7 tasks): " << suite.size() << " in " << core::str::fixed(since(t0), 3) << " s\n";

        // Parse + legality + reward + metrics, with the teacher's top-k as the "model output".
        const core::TitleLookup lookup(data);
        core::RewardOptions ro;
        ro.variant = core::parseRewardVariant(a.get("variant", "paper"));
        core::ParseOptions po;
        po.fuzzy = true;
        core::MetricsAccumulator metrics;
        double rewardSum = 0;
        std::vector<std::vector<core::ItemId>> histories;
        for (const auto& s : suite)
            histories.push_back(s.history);
        t0 = Clock::now();
        const auto scores = teacher->scoreBatch(histories);
        const double scoring = since(t0);
        t0 = Clock::now();
        for (size_t i = 0; i < suite.size(); ++i) {
            const core::Sample& s = suite[i];
            std::vector<std::string> titles;
            for (core::ItemId id : core::topkFromScores(data, scores[i], s.item_count, core::CategoryConstraint::none(), s.history, true))
                titles.push_back(data.title(id));
            const std::string output = core::formatOutputList(titles) + "\n";
            const auto parsed = core::parseOutput(output, lookup, po);
            rewardSum += core::rewardForOutput(s, data, parsed, scores[i], ro).list_reward;
            metrics.add(s.task_name, core::computeSampleMetrics(s, parsed, data));
        }
        const double judging = since(t0);
        std::cout << "judge (render + parse + reward + metrics): " << suite.size() << " outputs in " << core::str::fixed(judging, 3)
                  << " s (" << core::str::fixed(suite.size() / std::max(judging, 1e-9), 0) << " outputs/s; teacher scoring "
                  << core::str::fixed(scoring, 3) << " s); mean list reward (" << core::rewardVariantName(ro.variant)
                  << ") " << core::str::fixed(rewardSum / std::max<size_t>(suite.size(), 1), 4) << "\n";
        std::cout << "teacher top-k as the model, per test task (mean ± se):\n";
        for (const auto& t : metrics.results()) {
            std::cout << "  " << t.task << " (n " << t.samples << "):";
            for (const char* key : {"hr", "ndcg", "tcp_pct", "cpa", "correct_count"})
                if (t.values.count(key))
                    std::cout << "  " << key << " " << core::str::fixed(t.values.at(key).mean, 4) << " ± "
                              << core::str::fixed(t.values.at(key).se, 4);
            std::cout << "\n";
        }
        return 0;
    } catch (const core::CoreException& e) {
        std::cerr << "recalign bench rules: " << core::errorCodeName(e.error().code) << ": " << e.what() << "\n";
        return 1;
    }
}

const SubcommandRegistrar kBenchRulesRegistrar({"bench", "rules", "SFT epoch / RL / test-suite build and judge timings", run});

}  // namespace bench_rules_detail
}  // namespace recalign::cli
