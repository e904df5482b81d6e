// `recalign teacher train|eval|topk`: trains a SASRec teacher checkpoint on a dataset, evaluates
// a checkpoint (and most-popular) under both protocols, and queries top-k / ranks for a history.
#include "app/cli/command.h"

#include "core/api/error.h"
#include "core/api/info.h"
#include "core/data/importers.h"
#include "core/sasrec/evaluation.h"
#include "core/sasrec/sasrec_teacher.h"
#include "core/sasrec/sasrec_trainer.h"
#include "core/util/strings.h"

#include <cstdlib>
#include <iostream>

namespace recalign::cli {

namespace cmd_teacher_detail {

using core::str::fixed;

const char* kUsage =
    "usage: recalign teacher train --source S [--data PATH] --out FILE [dataset options] [model/training options]\n"
    "       recalign teacher eval  --checkpoint FILE --source S [--data PATH] [dataset options] [--protocol full|sampled|both]\n"
    "       recalign teacher topk  --checkpoint FILE --source S [--data PATH] [dataset options] --history ID,ID,...\n"
    "                              [--k 10] [--include CATEGORY | --exclude CATEGORY] [--rank ID,ID,...]\n"
    "dataset options: --kcore N (default: the source's), --uncategorized drop|other, --threads N\n"
    "model/training options: as `recalign bench sasrec --help` (defaults: hidden 50, 2 blocks, 1 head,\n"
    "maxlen 200, BCE with 1 negative, 200 epochs; e.g. the released teacher: --loss ce --hidden 128\n"
    "--heads 2 --maxlen 10 --dropout 0.5 --norm post --activation gelu --ffn-hidden 256 --init normal\n"
    "--scale-embedding false --batch 1024 --epochs 100 --patience 10 --lr-plateau --valid-protocol full)\n";

core::Dataset loadData(const Args& a)
{
    core::DatasetSpec spec;
    spec.source = a.get("source");
    spec.path = a.get("data");
    if (spec.source.empty())
        throw std::invalid_argument("--source is required (movielens, amazon, steam, native, synthetic)");
    if (a.has("kcore")) {
        spec.user_core = static_cast<int>(a.getInt("kcore", -1));
        spec.item_core = spec.user_core;
    }
    spec.uncategorized = a.get("uncategorized", "drop");
    core::Dataset d = core::loadDataset(spec);
    std::cout << "dataset: " << d.name << ": " << d.numUsers() << " users, " << d.numItems() << " items, "
              << d.stats.interactions << " interactions (fingerprint " << d.fingerprint.substr(0, 12) << ")\n";
    return d;
}

std::vector<core::ItemId> parseIds(const std::string& text, const core::Dataset& d, const char* what)
{
    std::vector<core::ItemId> ids;
    for (const auto& part : core::str::split(text, ',')) {
        const std::string t = core::str::trim(part);
        if (t.empty())
            continue;
        long v = 0;
        try {
            v = std::stol(t);
        } catch (const std::exception&) {
            throw std::invalid_argument(std::string("--") + what + ": '" + t + "' is not an item id");
        }
        if (v < 1 || v > d.numItems())
            throw std::invalid_argument(std::string("--") + what + ": item " + t + " is not in 1.." + std::to_string(d.numItems()));
        ids.push_back(static_cast<core::ItemId>(v));
    }
    return ids;
}

core::CategoryId findCategory(const core::Dataset& d, const std::string& name)
{
    for (core::CategoryId c = 0; c < d.numCategories(); ++c)
        if (d.categories[static_cast<size_t>(c)].name == name)
            return c;
    throw std::invalid_argument("category '" + name + "' is not in the dataset");
}

void printEval(const std::string& who, const core::EvalResult& r, long numItems)
{
    std::cout << who << ", " << core::protocolLabel(r.protocol, r.negatives > 0 ? r.negatives : 100, numItems) << ":\n"
              << "  valid  " << core::formatMetrics(r.valid) << "\n"
              << "  test   " << core::formatMetrics(r.test) << "\n";
}

class PrintObserver : public core::Observer {
public:
    void onStep(const core::StepRecord& r) override
    {
        if (r.stage != "teacher")
            return;
        std::cout << "epoch " << r.step << "/" << r.total_steps;
        for (const auto& [k, v] : r.metrics)
            if (k == "loss" || k == "epoch_time_s" || k.find("ndcg@10") != std::string::npos
                || k.find("hr@10") != std::string::npos)
                std::cout << "  " << k << " " << fixed(v, 4);
        std::cout << std::endl;
    }
    void onLog(core::LogLevel, const std::string& text) override { std::cout << text << std::endl; }
};

int runTeacher(const std::vector<std::string>& args)
{
    if (args.empty() || args[0] == "--help" || args[0] == "help") {
        std::cout << kUsage;
        return args.empty() ? 2 : 0;
    }
    const std::string sub = args[0];
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    std::set<std::string> valued = {"source", "data", "kcore", "uncategorized", "threads", "out", "checkpoint",
                                    "protocol", "history", "k", "include", "exclude", "rank"};
    std::set<std::string> flags = {"help"};
    if (sub == "train") {
        for (const auto& k : core::sasRecOptionKeys())
            valued.insert(k);
        for (const auto& k : core::sasRecFlagKeys())
            flags.insert(k);
    }
    try {
        Args a(rest, valued, flags);
        if (a.has("help")) {
            std::cout << kUsage;
            return 0;
        }
        // One thread unless asked: on this 2-core class of machine extra OpenMP threads mostly spin
        // (see `recalign bench sasrec`); --threads or $RECALIGN_THREADS choose otherwise.
        if (a.has("threads"))
            core::setComputeThreads(static_cast<int>(a.getInt("threads", 1)), 1);
        else if (std::getenv("RECALIGN_THREADS") == nullptr)
            core::setComputeThreads(1, 1);
        if (sub == "train") {
            if (!a.has("out"))
                throw std::invalid_argument("--out FILE is required");
            core::SasRecTrainConfig config;
            for (const auto& k : core::sasRecOptionKeys())
                if (a.has(k))
                    core::setSasRecOption(config, k, a.get(k));
            for (const auto& k : core::sasRecFlagKeys())
                if (a.has(k))
                    core::setSasRecFlag(config, k);
            config.checkpoint_path = a.get("out");
            const core::Dataset data = loadData(a);
            PrintObserver obs;
            const auto r = core::trainSasRec(data, config, obs);
            std::cout << "trained " << r.epochs_run << " epochs, median " << fixed(r.median_epoch_seconds, 3)
                      << " s/epoch; checkpoint " << r.checkpoint_path << "\n";
            printEval("SASRec", r.full, data.numItems());
            printEval("SASRec", r.sampled, data.numItems());
            return 0;
        }
        if (!a.has("checkpoint"))
            throw std::invalid_argument("--checkpoint FILE is required");
        const core::Dataset data = loadData(a);
        auto teacher = core::loadSasRecTeacherTyped(a.get("checkpoint"), data);
        if (sub == "eval") {
            const std::string protocol = a.get("protocol", "both");
            if (protocol != "both")
                core::parseProtocol(protocol);  // validates
            core::MostPopTeacher pop(data);
            for (const auto p : {core::EvalProtocol::Full, core::EvalProtocol::Sampled}) {
                if (protocol != "both" && core::parseProtocol(protocol) != p)
                    continue;
                core::EvalOptions o;
                o.protocol = p;
                printEval("SASRec", core::evaluateTeacher(*teacher, data, o), data.numItems());
                printEval("most-popular", core::evaluateTeacher(pop, data, o), data.numItems());
            }
            return 0;
        }
        if (sub == "topk") {
            const auto history = parseIds(a.get("history"), data, "history");
            core::CategoryConstraint c;
            if (a.has("include") && a.has("exclude"))
                throw std::invalid_argument("give --include or --exclude, not both");
            if (a.has("include"))
                c = core::CategoryConstraint::include(findCategory(data, a.get("include")));
            if (a.has("exclude"))
                c = core::CategoryConstraint::exclude(findCategory(data, a.get("exclude")));
            const int k = static_cast<int>(a.getInt("k", 10));
            const auto top = core::teacherTopk(*teacher, data, {history}, k, {c}).front();
            std::cout << "history:";
            for (auto id : history)
                std::cout << " " << id << " '" << data.title(id) << "'";
            std::cout << "\ntop-" << k << (a.has("include") ? " +" + a.get("include") : "")
                      << (a.has("exclude") ? " -" + a.get("exclude") : "") << " (history excluded):\n";
            for (size_t i = 0; i < top.size(); ++i)
                std::cout << "  " << i + 1 << ". " << top[i] << " '" << data.title(top[i]) << "'\n";
            if (a.has("rank")) {
                const auto items = parseIds(a.get("rank"), data, "rank");
                const auto ranks = core::teacherRanks(*teacher, {history}, {items}).front();
                std::cout << "catalogue ranks (0-based, history not excluded):\n";
                for (size_t i = 0; i < items.size(); ++i)
                    std::cout << "  " << items[i] << " '" << data.title(items[i]) << "': " << ranks[i] << "\n";
            }
            return 0;
        }
        std::cerr << "recalign teacher: unknown subcommand '" << sub << "'\n" << kUsage;
        return 2;
    } catch (const core::CoreException& e) {
        std::cerr << "recalign teacher " << sub << ": " << core::errorCodeName(e.error().code) << ": " << e.what() << "\n";
        return e.error().code == core::ErrorCode::Cancelled ? 130 : 1;
    } catch (const std::invalid_argument& e) {
        std::cerr << "recalign teacher " << sub << ": " << e.what() << "\n";
        return 2;
    }
}

}  // namespace cmd_teacher_detail

const CommandRegistrar kTeacherRegistrar({"teacher", "train, evaluate and query the SASRec teacher",
                                          cmd_teacher_detail::runTeacher});

}  // namespace recalign::cli
