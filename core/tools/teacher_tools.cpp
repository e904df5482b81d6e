// `recalign teacher train|eval|topk` and `recalign bench sasrec` (core/api/teacher_tools.h), moved
// from app/cli. teacher: trains a SASRec teacher checkpoint on a dataset, evaluates a checkpoint
// (and most-popular) under both protocols, and queries top-k / ranks for a history. bench sasrec:
// trains SASRec with the reference settings of kang205/pmixer and prints training sequences/s,
// the median s/epoch, evaluation users/s, the final metrics under both protocols and the
// most-popular floor.
#include "core/api/teacher_tools.h"

#include "core/api/info.h"
#include "core/data/importers.h"
#include "core/sasrec/evaluation.h"
#include "core/sasrec/sasrec_teacher.h"
#include "core/sasrec/sasrec_trainer.h"
#include "core/sasrec/teacher.h"
#include "core/util/strings.h"

#include <chrono>
#include <cstdlib>

namespace recalign::core {

namespace {

using str::fixed;

// The request's SASRec options applied to `config`, values first, then flags (as the CLI did).
void applySasRecOptions(SasRecTrainConfig& config, const SasRecOptions& options)
{
    for (const auto& [k, v] : options.values)
        setSasRecOption(config, k, v);
    for (const auto& k : options.flags)
        setSasRecFlag(config, k);
}

// `indent` "" for `teacher`, "  " for `bench sasrec`.
void printEval(std::ostream& out, const std::string& indent, const std::string& who, const EvalResult& r, long numItems)
{
    out << indent << who << ", " << protocolLabel(r.protocol, r.negatives > 0 ? r.negatives : 100, numItems) << ":\n"
        << indent << "  valid  " << formatMetrics(r.valid) << "\n"
        << indent << "  test   " << formatMetrics(r.test) << "\n";
}

// ---- teacher ------------------------------------------------------------------------------------

Dataset loadData(const TeacherRequest& r, std::ostream& out)
{
    if (r.source.empty())
        throw std::invalid_argument("--source is required (movielens, amazon, steam, native, synthetic)");
    DatasetSpec spec;
    spec.source = parseDatasetSource(r.source);
    spec.path = r.data;
    if (r.kcore) {
        spec.user_core = *r.kcore;
        spec.item_core = spec.user_core;
    }
    spec.uncategorized = parseUncategorized(r.uncategorized);
    Dataset d = loadDataset(spec);
    out << "dataset: " << d.name << ": " << d.numUsers() << " users, " << d.numItems() << " items, "
        << d.stats.interactions << " interactions (fingerprint " << d.fingerprint.substr(0, 12) << ")\n";
    return d;
}

std::vector<ItemId> parseIds(const std::string& text, const Dataset& d, const char* what)
{
    std::vector<ItemId> ids;
    for (const auto& part : str::split(text, ',')) {
        const std::string t = str::trim(part);
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
        ids.push_back(static_cast<ItemId>(v));
    }
    return ids;
}

CategoryId findCategory(const Dataset& d, const std::string& name)
{
    for (CategoryId c = 0; c < d.numCategories(); ++c)
        if (d.categories[static_cast<size_t>(c)].name == name)
            return c;
    throw std::invalid_argument("category '" + name + "' is not in the dataset");
}

class TeacherPrintObserver : public Observer {
public:
    explicit TeacherPrintObserver(std::ostream& out) : m_out(out) {}
    void onStep(const StepRecord& r) override
    {
        if (r.stage != "teacher")
            return;
        m_out << "epoch " << r.step << "/" << r.total_steps;
        for (const auto& [k, v] : r.metrics)
            if (k == "loss" || k == "epoch_time_s" || k.find("ndcg@10") != std::string::npos
                || k.find("hr@10") != std::string::npos)
                m_out << "  " << k << " " << fixed(v, 4);
        m_out << std::endl;
    }
    void onLog(LogLevel, const std::string& text) override { m_out << text << std::endl; }

private:
    std::ostream& m_out;
};

int teacherTool(const TeacherRequest& r, std::ostream& out)
{
    // One thread unless asked: on this 2-core class of machine extra OpenMP threads mostly spin
    // (see `recalign bench sasrec`); --threads or $RECALIGN_THREADS choose otherwise.
    if (r.threads)
        setComputeThreads(*r.threads, 1);
    else if (std::getenv("RECALIGN_THREADS") == nullptr)
        setComputeThreads(1, 1);
    if (r.command == "train") {
        if (r.out.empty())
            throw std::invalid_argument("--out FILE is required");
        SasRecTrainConfig config;
        applySasRecOptions(config, r.options);
        config.checkpoint_path = r.out;
        const Dataset data = loadData(r, out);
        TeacherPrintObserver obs(out);
        const auto result = trainSasRec(data, config, obs);
        out << "trained " << result.epochs_run << " epochs, median " << fixed(result.median_epoch_seconds, 3)
            << " s/epoch; checkpoint " << result.checkpoint_path << "\n";
        printEval(out, "", "SASRec", result.full, data.numItems());
        printEval(out, "", "SASRec", result.sampled, data.numItems());
        return 0;
    }
    if (r.checkpoint.empty())
        throw std::invalid_argument("--checkpoint FILE is required");
    const Dataset data = loadData(r, out);
    auto teacher = loadSasRecTeacherTyped(r.checkpoint, data);
    if (r.command == "eval") {
        const std::string& protocol = r.protocol;
        if (protocol != "both")
            parseProtocol(protocol);  // validates
        MostPopTeacher pop(data);
        for (const auto p : {EvalProtocol::Full, EvalProtocol::Sampled}) {
            if (protocol != "both" && parseProtocol(protocol) != p)
                continue;
            EvalOptions o;
            o.protocol = p;
            printEval(out, "", "SASRec", evaluateTeacher(*teacher, data, o), data.numItems());
            printEval(out, "", "most-popular", evaluateTeacher(pop, data, o), data.numItems());
        }
        return 0;
    }
    if (r.command == "topk") {
        const auto history = parseIds(r.history, data, "history");
        CategoryConstraint c;
        if (r.include && r.exclude)
            throw std::invalid_argument("give --include or --exclude, not both");
        if (r.include)
            c = CategoryConstraint::include(findCategory(data, *r.include));
        if (r.exclude)
            c = CategoryConstraint::exclude(findCategory(data, *r.exclude));
        const int k = r.k;
        const auto top = teacherTopk(*teacher, data, {history}, k, {c}).front();
        out << "history:";
        for (auto id : history)
            out << " " << id << " '" << data.title(id) << "'";
        out << "\ntop-" << k << (r.include ? " +" + *r.include : "") << (r.exclude ? " -" + *r.exclude : "")
            << " (history excluded):\n";
        for (size_t i = 0; i < top.size(); ++i)
            out << "  " << i + 1 << ". " << top[i] << " '" << data.title(top[i]) << "'\n";
        if (r.rank) {
            const auto items = parseIds(*r.rank, data, "rank");
            const auto ranks = teacherRanks(*teacher, {history}, {items}).front();
            out << "catalogue ranks (0-based, history not excluded):\n";
            for (size_t i = 0; i < items.size(); ++i)
                out << "  " << items[i] << " '" << data.title(items[i]) << "': " << ranks[i] << "\n";
        }
        return 0;
    }
    return 2;  // unknown subcommand: the caller says so
}

// ---- bench sasrec -------------------------------------------------------------------------------

// Prints one line per validated epoch (and the first), so long runs show progress.
class BenchObserver : public Observer {
public:
    BenchObserver(std::string validKey, std::ostream& out) : m_validKey(std::move(validKey)), m_out(out) {}
    void onStep(const StepRecord& r) override
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
        m_out << "  epoch " << r.step << "/" << r.total_steps << "  loss " << fixed(loss, 4) << "  " << fixed(secs, 3)
              << " s (cpu " << fixed(cpu, 3) << " s)";
        if (hr >= 0)
            m_out << "  " << m_validKey << " HR@10 " << fixed(hr, 4) << " NDCG@10 " << fixed(ndcg, 4);
        m_out << std::endl;
    }
    void onLog(LogLevel, const std::string& text) override { m_out << "  " << text << std::endl; }

private:
    std::string m_validKey;
    std::ostream& m_out;
};

int benchSasRec(const BenchSasRecRequest& request, std::ostream& out)
{
    SasRecTrainConfig config;
    config.epochs = 200;
    applySasRecOptions(config, request.options);

    const int threads = request.threads;
    const int blasThreads = request.blas_threads;
    const int inEffect = setComputeThreads(threads, blasThreads);

    DatasetSpec spec;
    spec.source = parseDatasetSource(request.source);
    spec.path = request.data;
    if (spec.source != DatasetSource::Synthetic && spec.path.empty())
        spec.path = spec.source == DatasetSource::MovieLens ? request.movielens_default : std::string();
    if (spec.source != DatasetSource::Synthetic && spec.path.empty())
        return 2;  // the caller asks for --data PATH
    const int kcore = request.kcore;
    spec.user_core = kcore;
    spec.item_core = kcore;
    spec.uncategorized = parseUncategorized(request.uncategorized);
    const auto t0 = std::chrono::steady_clock::now();
    const Dataset data = loadDataset(spec);
    const double loadSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    out << "dataset: " << data.name << " (" << datasetSourceName(spec.source) << (spec.path.empty() ? "" : ", " + spec.path)
        << "): " << data.numUsers() << " users, " << data.numItems() << " items, " << data.stats.interactions
        << " interactions (k-core " << kcore << ", loaded in " << fixed(loadSeconds, 2) << " s, fingerprint "
        << data.fingerprint.substr(0, 12) << ")\n";
    out << "threads: torch intra-op " << inEffect << ", OpenBLAS " << (inEffect > 1 ? 1 : blasThreads)
        << (inEffect > 1 && blasThreads > 1 ? " (the trainer keeps OpenBLAS at 1 next to torch threads)" : "")
        << "\n";
    if (inEffect > 1 && std::getenv("OMP_WAIT_POLICY") == nullptr)
        out << "note: with several torch threads on a busy machine, OpenMP's spinning threads can make\n"
               "      an epoch many times slower; OMP_WAIT_POLICY=PASSIVE avoids that\n";

    const std::string validKey = std::string("valid_") + protocolKey(config.valid_protocol);
    BenchObserver observer(validKey, out);
    const SasRecTrainResult r = trainSasRec(data, config, observer);

    out << "\ntraining (" << r.epochs_run << " epochs" << (r.stopped_early ? ", early stop" : "") << "):\n"
        << "  " << r.sequences_per_epoch << " sequences per epoch (" << r.sequences_per_epoch / config.batch_size
        << " batches of " << config.batch_size << " x maxlen " << config.model.maxlen << ")\n"
        << "  " << fixed(r.median_epoch_seconds, 3) << " s/epoch (median wall; process CPU "
        << fixed(r.median_epoch_cpu_seconds, 3) << " s/epoch)\n"
        << "  " << fixed(r.sequences_per_second, 1) << " training sequences/s\n";
    if (r.best_epoch > 0)
        out << "  best valid NDCG@10 (" << protocolKey(config.valid_protocol) << ") " << fixed(r.best_valid_ndcg10, 4)
            << " at epoch " << r.best_epoch << (r.restored_best ? " (final weights)" : "") << "\n";
    out << "evaluation: " << fixed(r.full.usersPerSecond(), 1) << " users/s full ranking, "
        << fixed(r.sampled.usersPerSecond(), 1) << " users/s sampled (valid + test)\n";
    out << "\nfinal metrics (leave-one-out; test history includes the valid item):\n";
    printEval(out, "  ", "SASRec", r.full, data.numItems());
    printEval(out, "  ", "SASRec", r.sampled, data.numItems());
    if (request.most_popular) {
        MostPopTeacher pop(data);
        EvalOptions o;
        o.negatives = config.eval_negatives;
        o.seed = config.eval_seed;
        o.protocol = EvalProtocol::Full;
        printEval(out, "  ", "most-popular", evaluateTeacher(pop, data, o), data.numItems());
        o.protocol = EvalProtocol::Sampled;
        printEval(out, "  ", "most-popular", evaluateTeacher(pop, data, o), data.numItems());
    }
    if (!r.checkpoint_path.empty())
        out << "checkpoint: " << r.checkpoint_path << "\n";
    return 0;
}

}  // namespace

ToolStatus runTeacherTool(const TeacherRequest& request, std::ostream& out)
{
    return catchTool([&] { return teacherTool(request, out); });
}

ToolStatus runBenchSasRec(const BenchSasRecRequest& request, std::ostream& out)
{
    return catchTool([&] { return benchSasRec(request, out); });
}

}  // namespace recalign::core
