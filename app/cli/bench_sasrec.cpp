// `recalign bench sasrec`: trains SASRec with the reference settings of kang205/pmixer (hidden 50,
// 2 blocks, 1 head, maxlen 200, dropout 0.2, Adam lr 1e-3 betas (0.9, 0.98), batch 128, BCE with
// one negative) and prints training sequences/s, the median s/epoch, evaluation users/s, the
// final metrics under both protocols, the most-popular floor and the peak RSS.
#include "app/cli/command.h"

#include "core/api/teacher_tools.h"
#include "core/util/strings.h"

#include <iostream>

namespace recalign::cli {

core::SasRecOptions sasRecOptions(const Args& a);  // cmd_teacher.cpp

namespace bench_sasrec_detail {

using core::str::fixed;

const char* kUsage =
    "usage: recalign bench sasrec [--source movielens|synthetic|amazon|steam|native] [--data PATH]\n"
    "           [--epochs N] [--threads N] [--blas-threads N] [--kcore N] [--uncategorized other|drop]\n"
    "           [--no-mostpop] [model and training options]\n"
    "Defaults are the reference settings (kang205/pmixer): hidden 50, blocks 2, heads 1, maxlen 200,\n"
    "dropout 0.2, lr 1e-3, betas (0.9, 0.98), batch 128, BCE with 1 negative, 200 epochs,\n"
    "validation every 20 epochs on the sampled protocol, 1 thread (OpenBLAS 1); ml-latest-small with every rating\n"
    "as an interaction (--kcore 1, --uncategorized other: 610 users, 9,724 items).\n"
    "Model/training options: --hidden --blocks --heads --maxlen --ffn-hidden --dropout --attn-dropout\n"
    "  --norm qonly|pre|post --activation relu|gelu --scale-embedding true|false --layer-norm-eps\n"
    "  --init xavier|normal --loss bce|ce --negatives --lr --beta1 --beta2 --adam-eps --weight-decay\n"
    "  --batch --eval-every --valid-protocol sampled|full --patience --plateau-factor --plateau-patience\n"
    "  --min-lr --seed --device --eval-negatives --eval-batch --eval-seed --checkpoint --checkpoint-every\n"
    "  --resume; flags --lr-plateau --no-buckets --no-restore-best\n";

int runBenchSasRec(const std::vector<std::string>& args)
{
    std::set<std::string> valued = {"source", "data", "threads", "blas-threads", "kcore", "uncategorized"};
    for (const auto& k : core::sasRecOptionKeys())
        valued.insert(k);
    std::set<std::string> flags = {"help", "no-mostpop"};
    for (const auto& k : core::sasRecFlagKeys())
        flags.insert(k);
    try {
        Args a(args, valued, flags);
        if (a.has("help")) {
            std::cout << kUsage;
            return 0;
        }
        core::BenchSasRecRequest request;
        request.options = sasRecOptions(a);
        request.threads = static_cast<int>(a.getInt("threads", 1));
        request.blas_threads = static_cast<int>(a.getInt("blas-threads", 1));
        request.source = a.get("source", "movielens");
        request.data = a.get("data");
        request.movielens_default = findMovieLensSmall();
        request.kcore = static_cast<int>(a.getInt("kcore", 1));
        request.uncategorized = a.get("uncategorized", "other");
        request.most_popular = !a.has("no-mostpop");
        if (toolExitCode(core::runBenchSasRec(request, std::cout)) == 2) {
            std::cerr << "recalign bench sasrec: give --data PATH for source '" << request.source << "'\n";
            return 2;
        }
        std::cout << "peak RSS: " << fixed(peakRssMiB(), 1) << " MiB\n";
    } catch (const core::CoreException& e) {
        std::cerr << "recalign bench sasrec: " << core::errorCodeName(e.error().code) << ": " << e.what() << "\n";
        return e.error().code == core::ErrorCode::Cancelled ? 130 : 1;
    } catch (const std::invalid_argument& e) {
        std::cerr << "recalign bench sasrec: " << e.what() << "\n" << kUsage;
        return 2;
    }
    return 0;
}

}  // namespace bench_sasrec_detail

const SubcommandRegistrar kBenchSasRecRegistrar({"bench", "sasrec",
                                                 "SASRec training speed and metrics (reference settings)",
                                                 bench_sasrec_detail::runBenchSasRec});

}  // namespace recalign::cli
