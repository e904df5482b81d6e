// `recalign score`: judges one model output for one user and task, printing as JSON the parsed
// items with their legality, category membership, teacher rank and item reward, the list reward
// with every term, and the sample's metrics: why a list scored what it scored.
#include "app/cli/command.h"

#include "core/api/error.h"
#include "core/data/importers.h"
#include "core/rules/builders.h"
#include "core/rules/metrics.h"
#include "core/rules/reward.h"
#include "core/util/files.h"
#include "core/sasrec/sasrec_teacher.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>

namespace recalign::cli {

// "synthetic", "synthetic:SEED", "movielens:/path", "amazon:/path", "steam:/path", "native:/path".
// Shared with bench_rules.cpp.
core::DatasetSpec dataSpecFromString(const std::string& text)
{
    core::DatasetSpec spec;
    const size_t colon = text.find(':');
    spec.source = text.substr(0, colon);
    const std::string rest = colon == std::string::npos ? std::string() : text.substr(colon + 1);
    static const std::set<std::string> kSources = {"movielens", "amazon", "steam", "native", "synthetic"};
    if (!kSources.count(spec.source))
        throw std::invalid_argument("--data '" + text + "': expected synthetic[:SEED] or SOURCE:PATH with SOURCE one of "
                                    "movielens, amazon, steam, native");
    if (spec.source == "synthetic") {
        if (!rest.empty())
            spec.synthetic.seed = std::stoull(rest);
    } else {
        if (rest.empty())
            throw std::invalid_argument("--data '" + text + "': " + spec.source + " needs a path (" + spec.source + ":/path)");
        spec.path = rest;
    }
    return spec;
}

namespace cmd_score_detail {

void usage()
{
    std::cout << "usage: recalign score --data SPEC --user U --task TASK --output FILE [options]\n"
                 "\n"
                 "  --data SPEC        synthetic[:SEED] | movielens:DIR | amazon:DIR | steam:DIR | native:DIR\n"
                 "  --user U           raw user id, or the user's index when no raw id matches\n"
                 "  --task TASK        i0 | i1+ | i1- | i2le | i2ge | i2approx | i2lp | itemcount | i3 | i3-\n"
                 "                     (or a released name such as SFTTestPersonalCategoryRateLP1_20)\n"
                 "  --output FILE      the model output to judge (text)\n"
                 "  --category C       target category (name or id; default per the test rules)\n"
                 "  --proportion P     I2 proportion in % (20, \"20%\" or 0.2; default per task)\n"
                 "  --k K              requested item count (default 10; itemcount: 11..15)\n"
                 "  --variant V        paper (default) | recai\n"
                 "  --no-item-level    the v3 ablation: item rewards are 0\n"
                 "  --teacher CKPT     SASRec checkpoint (default: most-popular teacher)\n"
                 "  --split S          test (default) | valid\n"
                 "  --le-wording W     seed (default: \"less than or equal to\") | released (\"less than\")\n"
                 "  --cache-dir DIR    dataset cache\n";
}

core::UserIndex resolveUser(const core::Dataset& d, const std::string& u)
{
    for (core::UserIndex i = 0; i < d.numUsers(); ++i)
        if (d.users[static_cast<size_t>(i)].raw_id == u)
            return i;
    try {
        size_t used = 0;
        const long v = std::stol(u, &used);
        if (used == u.size() && v >= 0 && v < d.numUsers())
            return static_cast<core::UserIndex>(v);
    } catch (const std::exception&) {
    }
    throw std::invalid_argument("--user '" + u + "': no user with this raw id or index (" + std::to_string(d.numUsers()) + " users)");
}

core::CategoryId resolveCategory(const core::Dataset& d, const std::string& c)
{
    for (core::CategoryId i = 0; i < d.numCategories(); ++i)
        if (d.categories[static_cast<size_t>(i)].name == c)
            return i;
    try {
        size_t used = 0;
        const long v = std::stol(c, &used);
        if (used == c.size() && v >= 0 && v < d.numCategories())
            return static_cast<core::CategoryId>(v);
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

int run(const std::vector<std::string>& args)
{
    Args a(args, {"data", "user", "task", "output", "category", "proportion", "k", "variant", "teacher", "split", "le-wording", "cache-dir"},
           {"no-item-level", "help"});
    if (a.has("help") || args.empty()) {
        usage();
        return args.empty() ? 2 : 0;
    }
    for (const char* required : {"data", "user", "task", "output"})
        if (!a.has(required))
            throw std::invalid_argument(std::string("--") + required + " is required (recalign score --help)");
    try {
        core::DatasetSpec spec = dataSpecFromString(a.get("data"));
        spec.cache_dir = a.get("cache-dir");
        const core::Dataset data = core::loadDataset(spec);
        std::unique_ptr<core::Teacher> teacher;
        if (a.has("teacher"))
            teacher = core::loadSasRecTeacher(a.get("teacher"), data);
        else
            teacher = std::make_unique<core::MostPopTeacher>(data);

        const core::UserIndex user = resolveUser(data, a.get("user"));
        const core::EvalTask task = core::EvalTask::parse(a.get("task"));
        core::SuiteOptions eo;
        const std::string split = a.get("split", "test");
        if (split != "test" && split != "valid")
            throw std::invalid_argument("--split: expected test or valid");
        eo.split = split == "valid" ? core::Stage::Valid : core::Stage::Test;
        const std::string wording = a.get("le-wording", "seed");
        if (wording != "seed" && wording != "released")
            throw std::invalid_argument("--le-wording: expected seed or released");
        eo.task.le_wording = wording == "seed" ? core::LeWording::Seed : core::LeWording::Released;
        core::EvalOverrides ov;
        if (a.has("category"))
            ov.category = resolveCategory(data, a.get("category"));
        if (a.has("proportion"))
            ov.percent = parsePercent(a.get("proportion"));
        ov.item_count = static_cast<int>(a.getInt("k", -1));
        if (a.has("k") && ov.item_count < 1)
            throw std::invalid_argument("--k: expected a positive count");

        // Teacher scores for the prompt's history: the −C / LP reference list and the ranks.
        const std::vector<core::ItemId> history =
            eo.split == core::Stage::Valid ? data.validHistory(user, eo.task.max_history) : data.testHistory(user, eo.task.max_history);
        const core::ItemScores historyScores = teacher->scoreBatch({history})[0];
        const auto refList = core::topkFromScores(data, historyScores, eo.task.topk, core::CategoryConstraint::none(), history, true);
        core::Sample sample;
        std::string why;
        if (!core::buildEvalSample(data, task, user, eo, refList, 0, ov, sample, &why))
            throw std::invalid_argument("cannot build a " + task.name() + " sample for user " + a.get("user") + ": " + why);
        const core::ItemScores scores =
            sample.history == history ? historyScores : teacher->scoreBatch({sample.history})[0];

        const std::string output = core::readFile(a.get("output"), core::ErrorCode::DataLoad, "--output");

        const core::TitleLookup lookup(data);
        core::ParseOptions po;
        po.fuzzy = true;  // `item` (metrics) may be fuzzy; `exact_item` (reward) never is
        const auto parsed = core::parseOutput(output, lookup, po);
        core::RewardOptions ro;
        ro.variant = core::parseRewardVariant(a.get("variant", "paper"));
        ro.item_level = !a.has("no-item-level");
        const core::RewardResult reward = core::rewardForOutput(sample, data, parsed, scores, ro);
        const core::SampleMetrics metrics = core::computeSampleMetrics(sample, parsed, data);

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
                                {"legality", core::legalityName(r.legality)},
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
        const nlohmann::json out = {{"dataset", {{"name", data.name}, {"source", data.source}, {"fingerprint", data.fingerprint}}},
                                    {"teacher", teacher->name()},
                                    {"sample", core::sampleToJson(sample, data)},
                                    {"output", output},
                                    {"parsed", std::move(lines)},
                                    {"reward", core::rewardToJson(reward)},
                                    {"metrics", core::sampleMetricsToJson(metrics)}};
        std::cout << out.dump(2) << "\n";
        return 0;
    } catch (const core::CoreException& e) {
        std::cerr << "recalign score: " << core::errorCodeName(e.error().code) << ": " << e.what() << "\n";
        return 1;
    }
}

const CommandRegistrar kScoreRegistrar({"score", "parse, judge and reward one model output (JSON)", run});

}  // namespace cmd_score_detail
}  // namespace recalign::cli
