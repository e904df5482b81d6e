// `recalign score` and `recalign bench rules` (core/api/rules_tools.h), moved from app/cli.
// score: judges one model output for one user and task, printing as JSON the parsed items with
// their legality, category membership, teacher rank and item reward, the list reward with every
// term, and the sample's metrics: why a list scored what it scored.
// bench rules: how long the rules layer takes on a real dataset: one SFT epoch (v2, every task),
// the RL prompts, the test suite, and parse + legality + reward + metrics throughput, with the
// teacher's own top-10 lists standing in for model outputs.
#include "core/api/rules_tools.h"

#include "core/data/importers.h"
#include "core/rules/builders.h"
#include "core/rules/metrics.h"
#include "core/rules/reward.h"
#include "core/sasrec/sasrec_teacher.h"
#include "core/tools/dataset_request.h"
#include "core/util/files.h"
#include "core/util/strings.h"
#include "core/util/json_text.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <fstream>
#include <memory>
#include <sstream>

namespace recalign::core {

namespace {

UserIndex resolveUser(const Dataset& d, const std::string& u)
{
    for (UserIndex i = 0; i < d.numUsers(); ++i)
        if (d.users[static_cast<size_t>(i)].raw_id == u)
            return i;
    try {
        size_t used = 0;
        const long v = std::stol(u, &used);
        if (used == u.size() && v >= 0 && v < d.numUsers())
            return static_cast<UserIndex>(v);
    } catch (const std::exception&) {
    }
    throw std::invalid_argument("--user '" + u + "': no user with this raw id or index (" + std::to_string(d.numUsers()) + " users)");
}

CategoryId resolveCategory(const Dataset& d, const std::string& c)
{
    for (CategoryId i = 0; i < d.numCategories(); ++i)
        if (d.categories[static_cast<size_t>(i)].name == c)
            return i;
    try {
        size_t used = 0;
        const long v = std::stol(c, &used);
        if (used == c.size() && v >= 0 && v < d.numCategories())
            return static_cast<CategoryId>(v);
    } catch (const std::exception&) {
    }
    throw std::invalid_argument("--category '" + c + "': no category with this name or id");
}

int parsePercent(std::string p)
{
    if (!p.empty() && p.back() == '%')
        p.pop_back();
    size_t used = 0;
    double v = 0;
    try {
        v = std::stod(p, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used == 0 || used != p.size())
        throw std::invalid_argument("--proportion '" + p + "': expected a percentage such as 20, 20% or 0.2");
    if (v > 0 && v < 1)
        v *= 100;  // a fraction
    if (v < 0 || v > 100)
        throw std::invalid_argument("--proportion: outside 0..100 %");
    return static_cast<int>(std::lround(v));
}

std::unique_ptr<Teacher> loadTeacher(const std::string& checkpoint, const Dataset& data)
{
    if (!checkpoint.empty())
        return loadSasRecTeacher(checkpoint, data);
    return std::make_unique<MostPopTeacher>(data);
}

}  // namespace

ToolStatus runScore(const ScoreRequest& request, std::ostream& out)
{
    return catchTool([&] {
        const Dataset data = loadDataset(datasetSpec(request.dataset));
        const std::unique_ptr<Teacher> teacher = loadTeacher(request.teacher, data);

        const UserIndex user = resolveUser(data, request.user);
        const EvalTask task = EvalTask::parse(request.task);
        SuiteOptions eo;
        const std::string& split = request.split;
        if (split != "test" && split != "valid")
            throw std::invalid_argument("--split: expected test or valid");
        eo.split = split == "valid" ? Stage::Valid : Stage::Test;
        const std::string& wording = request.le_wording;
        if (wording != "seed" && wording != "released")
            throw std::invalid_argument("--le-wording: expected seed or released");
        eo.task.le_wording = wording == "seed" ? LeWording::Seed : LeWording::Released;
        EvalOverrides ov;
        if (request.category)
            ov.category = resolveCategory(data, *request.category);
        if (request.proportion)
            ov.percent = parsePercent(*request.proportion);
        ov.item_count = static_cast<int>(request.k.value_or(-1));
        if (request.k && ov.item_count < 1)
            throw std::invalid_argument("--k: expected a positive count");

        // Teacher scores for the prompt's history: the −C / LP reference list and the ranks.
        const std::vector<ItemId> history =
            eo.split == Stage::Valid ? data.validHistory(user, eo.task.max_history) : data.testHistory(user, eo.task.max_history);
        const ItemScores historyScores = teacher->scoreBatch({history})[0];
        const auto refList = topkFromScores(data, historyScores, eo.task.topk, CategoryConstraint::none(), history, true);
        Sample sample;
        std::string why;
        if (!buildEvalSample(data, task, user, eo, refList, 0, ov, sample, &why))
            throw std::invalid_argument("cannot build a " + task.name() + " sample for user " + request.user + ": " + why);
        const ItemScores scores =
            sample.history == history ? historyScores : teacher->scoreBatch({sample.history})[0];

        const std::string output = readFile(request.output_file, ErrorCode::DataLoad, "--output");

        const TitleLookup lookup(data);
        ParseOptions po;
        po.fuzzy = true;  // `item` (metrics) may be fuzzy; `exact_item` (reward) never is
        const auto parsed = parseOutput(output, lookup, po);
        RewardOptions ro;
        ro.variant = parseRewardVariant(request.variant);
        ro.item_level = request.item_level;
        const RewardResult reward = rewardForOutput(sample, data, parsed, scores, ro);
        const SampleMetrics metrics = computeSampleMetrics(sample, parsed, data);

        nlohmann::json lines = nlohmann::json::array();
        for (size_t i = 0; i < parsed.size(); ++i) {
            const auto& p = parsed[i];
            const auto& r = reward.items[i];
            nlohmann::json j = {{"position", i},
                                {"raw", p.raw},
                                {"span", {p.begin, p.end}},
                                {"title", p.title},
                                {"index_number", p.index_number},
                                {"item", p.exact_item},
                                {"legality", legalityName(r.legality)},
                                {"in_category", r.in_category},
                                {"is_target", r.is_target},
                                {"rank", r.rank},
                                {"item_reward", r.reward}};
            if (p.exact_item > 0)
                j["catalogue_title"] = data.title(p.exact_item);
            if (p.fuzzy) {
                j["fuzzy_item"] = p.item;
                j["fuzzy_title"] = data.title(p.item);
            }
            lines.push_back(std::move(j));
        }
        const nlohmann::json result = {{"dataset", {{"name", data.name}, {"source", data.source}, {"fingerprint", data.fingerprint}}},
                                       {"teacher", teacher->name()},
                                       {"sample", sampleToJson(sample, data)},
                                       {"output", output},
                                       {"parsed", std::move(lines)},
                                       {"reward", rewardToJson(reward)},
                                       {"metrics", sampleMetricsToJson(metrics)}};
        out << jsonText(result, 2) << "\n";
        return 0;
    });
}

namespace {
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }
}  // namespace

ToolStatus runBenchRules(const BenchRulesRequest& request, std::ostream& out)
{
    return catchTool([&] {
        auto t0 = Clock::now();
        const Dataset data = loadDataset(datasetSpec(request.dataset));
        out << "data " << request.data_label << ": " << data.numUsers() << " users, " << data.numItems() << " items, "
            << data.stats.interactions << " interactions, " << data.numCategories() << " categories (loaded in "
            << str::fixed(since(t0), 3) << " s)\n";
        const std::unique_ptr<Teacher> teacher = loadTeacher(request.teacher, data);
        out << "teacher: " << teacher->name() << "\n";

        SftOptions so;
        so.task.seed = request.seed;
        if (!request.share_gpt.empty())
            so.general = std::make_shared<const std::vector<Conversation>>(loadShareGpt(request.share_gpt));
        else {
            t0 = Clock::now();
            so.general = std::make_shared<const std::vector<Conversation>>(catalogueConversations(data, so.task.seed));
            out << "catalogue general-instruction set: " << so.general->size() << " conversations in "
                << str::fixed(since(t0), 3) << " s\n";
        }
        const int epochs = request.epochs;
        std::vector<Sample> epoch;
        for (int e = 0; e < epochs; ++e) {
            BuildReport report;
            t0 = Clock::now();
            epoch = buildSftEpoch(data, teacher.get(), so, e, &report);
            const double s = since(t0);
            out << "SFT epoch " << e << " (v2): " << epoch.size() << " samples in " << str::fixed(s, 3) << " s ("
                << str::fixed(epoch.size() / std::max(s, 1e-9), 0) << " samples/s)\n";
            if (e == 0) {
                for (const auto& [task, n] : report.produced)
                    out << "    " << task << ": " << n << "\n";
                for (const auto& [why, n] : report.skipped)
                    out << "    skipped " << why << ": " << n << "\n";
            }
        }
        t0 = Clock::now();
        const auto rl = buildRlPrompts(data, *teacher, so.task, 0);
        out << "RL prompts (6 tasks): " << rl.size() << " in " << str::fixed(since(t0), 3) << " s\n";
        t0 = Clock::now();
        const auto suite = buildEvalSuite(data, *teacher, SuiteOptions{});
        out << "test suite (7 tasks): " << suite.size() << " in " << str::fixed(since(t0), 3) << " s\n";

        // Parse + legality + reward + metrics, with the teacher's top-k as the "model output".
        const TitleLookup lookup(data);
        RewardOptions ro;
        ro.variant = parseRewardVariant(request.variant);
        ParseOptions po;
        po.fuzzy = true;
        MetricsAccumulator metrics;
        double rewardSum = 0;
        std::vector<std::vector<ItemId>> histories;
        for (const auto& s : suite)
            histories.push_back(s.history);
        t0 = Clock::now();
        const auto scores = teacher->scoreBatch(histories);
        const double scoring = since(t0);
        t0 = Clock::now();
        for (size_t i = 0; i < suite.size(); ++i) {
            const Sample& s = suite[i];
            std::vector<std::string> titles;
            for (ItemId id : topkFromScores(data, scores[i], s.item_count, CategoryConstraint::none(), s.history, true))
                titles.push_back(data.title(id));
            const std::string output = formatOutputList(titles) + "\n";
            const auto parsed = parseOutput(output, lookup, po);
            rewardSum += rewardForOutput(s, data, parsed, scores[i], ro).list_reward;
            metrics.add(s.task_name, computeSampleMetrics(s, parsed, data));
        }
        const double judging = since(t0);
        out << "judge (render + parse + reward + metrics): " << suite.size() << " outputs in " << str::fixed(judging, 3)
            << " s (" << str::fixed(suite.size() / std::max(judging, 1e-9), 0) << " outputs/s; teacher scoring "
            << str::fixed(scoring, 3) << " s); mean list reward (" << rewardVariantName(ro.variant)
            << ") " << str::fixed(rewardSum / std::max<size_t>(suite.size(), 1), 4) << "\n";
        out << "teacher top-k as the model, per test task (mean ± se):\n";
        for (const auto& t : metrics.results()) {
            out << "  " << t.task << " (n " << t.samples << "):";
            for (const char* key : {"hr", "ndcg", "tcp_pct", "cpa", "correct_count"})
                if (t.values.count(key))
                    out << "  " << key << " " << str::fixed(t.values.at(key).mean, 4) << " ± "
                        << str::fixed(t.values.at(key).se, 4);
            out << "\n";
        }
        return 0;
    });
}

}  // namespace recalign::core
