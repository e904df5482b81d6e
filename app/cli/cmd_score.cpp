// `recalign score`: judges one model output for one user and task, printing as JSON the parsed
// items with their legality, category membership, teacher rank and item reward, the list reward
// with every term, and the sample's metrics: why a list scored what it scored.
#include "app/cli/command.h"

#include "core/api/rules_tools.h"

#include <iostream>
#include <set>

namespace recalign::cli {

// "synthetic", "synthetic:SEED", "movielens:/path", "amazon:/path", "steam:/path", "native:/path".
// Shared with bench_rules.cpp.
core::DatasetRequest dataSpecFromString(const std::string& text)
{
    core::DatasetRequest spec;
    const size_t colon = text.find(':');
    spec.source = text.substr(0, colon);
    const std::string rest = colon == std::string::npos ? std::string() : text.substr(colon + 1);
    static const std::set<std::string> kSources = {"movielens", "amazon", "steam", "native", "synthetic"};
    if (!kSources.count(spec.source))
        throw std::invalid_argument("--data '" + text + "': expected synthetic[:SEED] or SOURCE:PATH with SOURCE one of "
                                    "movielens, amazon, steam, native");
    if (spec.source == "synthetic") {
        if (!rest.empty())
            spec.seed = std::stoull(rest);
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
                 "  --data SPEC        synthetic[:SEED] | movielens:DIR | amazon:DIR | steam:DIR | native:DIR | recbole:DIR\n"
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
        core::ScoreRequest request;
        request.dataset = dataSpecFromString(a.get("data"));
        request.dataset.cache_dir = a.get("cache-dir");
        request.teacher = a.get("teacher");
        request.user = a.get("user");
        request.task = a.get("task");
        request.split = a.get("split", "test");
        request.le_wording = a.get("le-wording", "seed");
        request.category = a.optional("category");
        request.proportion = a.optional("proportion");
        request.k = a.optionalInt("k");
        request.output_file = a.get("output");
        request.variant = a.get("variant", "paper");
        request.item_level = !a.has("no-item-level");
        return toolExitCode(core::runScore(request, std::cout));
    } catch (const core::CoreException& e) {
        std::cerr << "recalign score: " << core::errorCodeName(e.error().code) << ": " << e.what() << "\n";
        return 1;
    }
}

const CommandRegistrar kScoreRegistrar({"score", "parse, judge and reward one model output (JSON)", run});

}  // namespace cmd_score_detail
}  // namespace recalign::cli
