// `recalign bench sasrec`: trains SASRec with the reference settings of kang205/pmixer (hidden 50,
// 2 blocks, 1 head, maxlen 200, dropout 0.2, Adam lr 1e-3 betas (0.9, 0.98), batch 128, BCE with
// one negative) and prints training sequences/s, the median s/epoch, evaluation users/s, the
// final metrics under both protocols, the most-popular floor and the peak RSS.
#include "app/cli/command.h"

#include "core/api/error.h"
#include "core/api/info.h"
#include "core/data/importers.h"
#include "core/sasrec/evaluation.h"
#include "core/sasrec/sasrec_trainer.h"
#include "core/sasrec/teacher.h"
#include "core/util/strings.h"

#include <chrono>
#include <cstdlib>
#include <iostream>

namespace recalign::cli {

namespace bench_sasrec_detail {

using core::str::fixed;

// Prints one line per validated epoch (and the first), so long runs show progress.
class BenchObserver : public core::Observer {
public:
    explicit BenchObserver(std::string validKey) : m_validKey(std::move(validKey)) {}
    void onStep(const core::StepRecord& r) override
    {
        if (r.stage != "teacher")
            return;
        double loss = 0, secs = 0, cpu = 0, hr = -1, ndcg = -1;
        for (const auto& [k, v] : r.metrics) {
            if (k == "loss") loss = v;
            else if (k == "epoch_time_s") secs = v;
            else if (k == "epoch_cpu_s") cpu = v;
            else if (k == m_validKey + "/hr@10") hr = v;
            else if (k == m_validKey + "/ndcg@10") ndcg = v;
        }
        if (hr < 0 && r.step != 1)
            return;
        std::cout << "  epoch " << r.step << "/" << r.total_steps << "  loss " << fixed(loss, 4) << "  " << fixed(secs, 3)
                  << " s (cpu " << fixed(cpu, 3) << " s)";
        if (hr >= 0)
            std::cout << "  " << m_validKey << " HR@10 " << fixed(hr, 4) << " NDCG@10 " << fixed(ndcg, 4);
        std::cout << std::endl;
    }
    void onLog(core::LogLevel, const std::string& text) override { std::cout << "  " << text << std::endl; }

private:
    std::string m_validKey;
};

void printEval(const std::string& who, const core::EvalResult& r, long numItems)
{
    std::cout << "  " << who << ", " << core::protocolLabel(r.protocol, r.negatives > 0 ? r.negatives : 100, numItems)
              << ":\n"
              << "    valid  " << core::formatMetrics(r.valid) << "\n"
              << "    test   " << core::formatMetrics(r.test) << "\n";
}

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
        core::SasRecTrainConfig config;
        config.epochs = 200;
        for (const auto& k : core::sasRecOptionKeys())
            if (a.has(k))
                core::setSasRecOption(config, k, a.get(k));
        for (const auto& k : core::sasRecFlagKeys())
            if (a.has(k))
                core::setSasRecFlag(config, k);

        const int threads = static_cast<int>(a.getInt("threads", 1));
        const int blasThreads = static_cast<int>(a.getInt("blas-threads", 1));
        const int inEffect = core::setComputeThreads(threads, blasThreads);

        core::DatasetSpec spec;
        spec.source = a.get("source", "movielens");
        spec.path = a.get("data");
        if (spec.source != "synthetic" && spec.path.empty())
            spec.path = spec.source == "movielens" ? findMovieLensSmall() : std::string();
        if (spec.source != "synthetic" && spec.path.empty()) {
            std::cerr << "recalign bench sasrec: give --data PATH for source '" << spec.source << "'\n";
            return 2;
        }
        const int kcore = static_cast<int>(a.getInt("kcore", 1));
        spec.user_core = kcore;
        spec.item_core = kcore;
        spec.uncategorized = a.get("uncategorized", "other");
        const auto t0 = std::chrono::steady_clock::now();
        const core::Dataset data = core::loadDataset(spec);
        const double loadSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::cout << "dataset: " << data.name << " (" << spec.source << (spec.path.empty() ? "" : ", " + spec.path)
                  << "): " << data.numUsers() << " users, " << data.numItems() << " items, " << data.stats.interactions
                  << " interactions (k-core " << kcore << ", loaded in " << fixed(loadSeconds, 2) << " s, fingerprint "
                  << data.fingerprint.substr(0, 12) << ")\n";
        std::cout << "threads: torch intra-op " << inEffect << ", OpenBLAS " << (inEffect > 1 ? 1 : blasThreads)
                  << (inEffect > 1 && blasThreads > 1 ? " (the trainer keeps OpenBLAS at 1 next to torch threads)" : "")
                  << "\n";
        if (inEffect > 1 && std::getenv("OMP_WAIT_POLICY") == nullptr)
            std::cout << "note: with several torch threads on a busy machine, OpenMP's spinning threads can make\n"
                         "      an epoch many times slower; OMP_WAIT_POLICY=PASSIVE avoids that\n";

        const std::string validKey = "valid_" + config.valid_protocol;
        BenchObserver observer(validKey);
        const core::SasRecTrainResult r = core::trainSasRec(data, config, observer);

        std::cout << "\ntraining (" << r.epochs_run << " epochs" << (r.stopped_early ? ", early stop" : "") << "):\n"
                  << "  " << r.sequences_per_epoch << " sequences per epoch (" << r.sequences_per_epoch / config.batch_size
                  << " batches of " << config.batch_size << " x maxlen " << config.model.maxlen << ")\n"
                  << "  " << fixed(r.median_epoch_seconds, 3) << " s/epoch (median wall; process CPU "
                  << fixed(r.median_epoch_cpu_seconds, 3) << " s/epoch)\n"
                  << "  " << fixed(r.sequences_per_second, 1) << " training sequences/s\n";
        if (r.best_epoch > 0)
            std::cout << "  best valid NDCG@10 (" << config.valid_protocol << ") " << fixed(r.best_valid_ndcg10, 4)
                      << " at epoch " << r.best_epoch << (r.restored_best ? " (final weights)" : "") << "\n";
        std::cout << "evaluation: " << fixed(r.full.usersPerSecond(), 1) << " users/s full ranking, "
                  << fixed(r.sampled.usersPerSecond(), 1) << " users/s sampled (valid + test)\n";
        std::cout << "\nfinal metrics (leave-one-out; test history includes the valid item):\n";
        printEval("SASRec", r.full, data.numItems());
        printEval("SASRec", r.sampled, data.numItems());
        if (!a.has("no-mostpop")) {
            core::MostPopTeacher pop(data);
            core::EvalOptions o;
            o.negatives = config.eval_negatives;
            o.seed = config.eval_seed;
            o.protocol = core::EvalProtocol::Full;
            printEval("most-popular", core::evaluateTeacher(pop, data, o), data.numItems());
            o.protocol = core::EvalProtocol::Sampled;
            printEval("most-popular", core::evaluateTeacher(pop, data, o), data.numItems());
        }
        if (!r.checkpoint_path.empty())
            std::cout << "checkpoint: " << r.checkpoint_path << "\n";
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
