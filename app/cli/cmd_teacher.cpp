// `recalign teacher train|eval|topk`: trains a SASRec teacher checkpoint on a dataset, evaluates
// a checkpoint (and most-popular) under both protocols, and queries top-k / ranks for a history.
#include "app/cli/command.h"

#include "core/api/teacher_tools.h"

#include <iostream>

namespace recalign::cli {

// The SASRec model/training options given on the command line, in sasRecOptionKeys() order.
// Shared with bench_sasrec.cpp.
core::SasRecOptions sasRecOptions(const Args& a)
{
    core::SasRecOptions o;
    for (const auto& k : core::sasRecOptionKeys())
        if (a.has(k))
            o.values.emplace_back(k, a.get(k));
    for (const auto& k : core::sasRecFlagKeys())
        if (a.has(k))
            o.flags.push_back(k);
    return o;
}

namespace cmd_teacher_detail {

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
        core::TeacherRequest request;
        request.command = sub;
        request.threads = optionalAs<int>(a.optionalInt("threads"));
        if (sub == "train")
            request.options = sasRecOptions(a);
        request.out = a.get("out");
        request.checkpoint = a.get("checkpoint");
        request.source = a.get("source");
        request.data = a.get("data");
        request.kcore = optionalAs<int>(a.optionalInt("kcore"));
        request.uncategorized = a.get("uncategorized", "drop");
        request.protocol = a.get("protocol", "both");
        request.history = a.get("history");
        request.include = a.optional("include");
        request.exclude = a.optional("exclude");
        if (sub == "topk")
            request.k = static_cast<int>(a.getInt("k", 10));
        request.rank = a.optional("rank");
        if (toolExitCode(core::runTeacherTool(request, std::cout)) == 0)
            return 0;
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
