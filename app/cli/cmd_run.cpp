// `recalign run FILE`: runs (or resumes) an experiment end to end with progress output, then
// prints the paper's tables. `recalign eval FILE` re-runs only the evaluation stages.
// `recalign probe ...` sends one prompt through one variant of a finished run.
#include "app/cli/command.h"

#include "core/api/experiment.h"
#include "core/api/info.h"
#include "core/api/launch.h"
#include "core/api/probe.h"
#include "core/api/runners.h"
#include "core/api/store_api.h"
#include "core/api/tables.h"
#include "core/util/strings.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>
#include <vector>

namespace recalign::cli {

namespace run_detail {

core::StopFlag* g_stop = nullptr;

extern "C" void onSigint(int)
{
    if (g_stop)
        g_stop->request();
}

// Prints progress: one updating line on a TTY, plain lines (at most one per second) otherwise.
class ProgressObserver : public core::Observer {
public:
    // `rank` > 0: a follower rank of a data-parallel job: only its warnings and errors, tagged.
    ProgressObserver(core::StopFlag& stop, bool tty, int rank = 0) : m_stop(stop), m_tty(tty), m_rank(rank) {}
    // The pipeline and the trainer inside it both report a stage's begin and end under the same
    // name: the nested pair is folded into one header and one "done" line timed from the outer begin.
    void onStageBegin(const std::string& stage, long total) override
    {
        if (m_rank > 0)
            return;
        endLine();
        const auto now = std::chrono::steady_clock::now();
        if (!m_stages.empty() && m_stages.back().name == stage) {
            ++m_stages.back().depth;
            if (total > 0)
                m_stages.back().total = total;
        } else {
            m_stages.push_back({stage, total, now, 1});
            std::cout << "== " << stage << std::endl;
        }
    }
    void onStageEnd(const std::string& stage) override
    {
        if (m_rank > 0)
            return;
        endLine();
        auto started = stageStart();
        if (!m_stages.empty() && m_stages.back().name == stage) {
            if (--m_stages.back().depth > 0)
                return;
            m_stages.pop_back();
        }
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        std::cout << "== " << stage << " done in " << std::fixed << std::setprecision(1) << s << " s" << std::endl;
    }
    void onStep(const core::StepRecord& r) override
    {
        if (m_rank > 0)
            return;
        const auto now = std::chrono::steady_clock::now();
        const double since = std::chrono::duration<double>(now - m_lastPrint).count();
        const bool last = r.total_steps > 0 && r.step >= r.total_steps;
        if (!last && since < (m_tty ? 0.2 : 1.0))
            return;
        m_lastPrint = now;
        const long total = r.total_steps > 0 ? r.total_steps : m_stages.empty() ? 0 : m_stages.back().total;
        const double elapsed = std::chrono::duration<double>(now - stageStart()).count();
        std::ostringstream line;
        line << r.stage << " " << r.step;
        if (total > 0) {
            const double frac = double(r.step) / double(total);
            line << "/" << total << " (" << std::fixed << std::setprecision(0) << 100 * frac << "%)";
            if (frac > 0 && frac < 1)
                line << " ETA " << std::setprecision(0) << elapsed * (1 - frac) / frac << " s";
        }
        for (size_t i = 0; i < r.metrics.size() && i < 3; ++i)
            line << "  " << r.metrics[i].first << "=" << std::setprecision(4) << std::defaultfloat << r.metrics[i].second;
        if (m_tty) {
            std::string text = line.str();
            if (text.size() > 150)
                text.resize(150);
            std::cout << "\r" << text << std::string(m_width > text.size() ? m_width - text.size() : 0, ' ') << std::flush;
            m_width = text.size();
            m_open = true;
        } else {
            std::cout << line.str() << std::endl;
        }
    }
    void onLog(core::LogLevel level, const std::string& text) override
    {
        if (m_rank > 0 && level == core::LogLevel::Info)
            return;
        endLine();
        const char* tag = level == core::LogLevel::Warning ? "warning: " : level == core::LogLevel::Error ? "error: " : "";
        std::cout << (m_rank > 0 ? "[rank " + std::to_string(m_rank) + "] " : std::string()) << tag << text << std::endl;
    }
    bool stopRequested() const override { return m_stop.requested(); }

private:
    void endLine()
    {
        if (m_open)
            std::cout << std::endl;
        m_open = false;
        m_width = 0;
    }
    core::StopFlag& m_stop;
    bool m_tty;
    int m_rank = 0;
    bool m_open = false;
    size_t m_width = 0;
    struct OpenStage {
        std::string name;
        long total = 0;
        std::chrono::steady_clock::time_point start;
        int depth = 0;
    };
    // The innermost open stage's start (the observer's creation before any stage).
    std::chrono::steady_clock::time_point stageStart() const { return m_stages.empty() ? m_created : m_stages.back().start; }
    std::vector<OpenStage> m_stages;
    std::chrono::steady_clock::time_point m_created = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point m_lastPrint{};
};

// The tables of the runs just run (a seed group: mean ± std over its seeds, with the paired tests).
void printTables(const std::string& workspace, const std::vector<long>& runIds, int k)
{
    core::RunStore store;
    core::OpenOptions oo;
    oo.read_only = true;
    if (store.open(workspace + "/" + core::kStoreFileName, oo) || runIds.empty())
        return;
    core::StoreTableOptions to;
    to.k = k;
    auto tables = core::storeTables(store, std::vector<int64_t>(runIds.begin(), runIds.end()), to);
    if (!tables || std::all_of(tables.value().begin(), tables.value().end(), [](const core::Table& t) { return t.rows.empty(); }))
        return;
    std::cout << "\n" << core::exportTables(tables.value(), core::ExportFormat::Markdown) << std::endl;
    for (const auto& t : tables.value())
        if (!t.tests.empty())
            std::cout << core::exportTests(t, core::ExportFormat::Markdown) << std::endl;
}

int runCommon(const std::vector<std::string>& args, bool evalOnly)
{
    Args a(args, {"resume", "only", "workspace", "seed", "seeds", "nproc", "device"}, {"help"});
    if (a.has("help") || a.positional().size() != 1) {
        std::cout << "usage: recalign " << (evalOnly ? "eval" : "run")
                  << " FILE [--workspace DIR] [--resume RUN] [--only STAGE,...] [--seed S | --seeds S,S,...] [--nproc N]\n"
                     "       [--device cpu|cuda|cuda:N|auto]\n"
                     "  Runs the experiment's stages (data, teacher, base_model, sft_*, ppo_*, eval_*) once per\n"
                     "  seed of `seeds:` as one seed group, reusing every stage whose outputs exist for the\n"
                     "  same configuration (the teacher and base model are shared by the group's runs).\n"
                     "  Ctrl-C cancels cleanly; --resume RUN continues a cancelled or killed run and the\n"
                     "  rest of its group. --seed S runs that seed alone; --seeds 0,1,2 replaces the file's seeds.\n"
                     "  --nproc N: N local processes, data parallel on c10d (as `torchrun --no-python\n"
                     "  --nproc-per-node N recalign run FILE`; srun works too); rank 0 writes the run.\n"
                     "  --device D replaces the file's `device:` (the run records it; stages already in the\n"
                     "  workspace are reused whichever device computed them: compare devices in fresh workspaces).\n";
        return a.has("help") ? 0 : 2;
    }
    // The file is read and validated once; the pipeline takes the validated configuration.
    auto loaded = core::runRequestFromFile(a.positional()[0]);
    if (!loaded) {
        std::cerr << "recalign: run 0 failed: " << loaded.error().toString() << "\n";
        return 1;
    }
    core::RunRequest req = loaded.value();
    const core::ExperimentConfig& cfg = req.config;
    if (a.has("nproc")) {
        // The launcher: N workers of this same command without --nproc, around a store it hosts.
        const long n = a.getInt("nproc", 1);
        if (n < 1 || n > 1024)
            throw std::invalid_argument("--nproc expects a number of processes between 1 and 1024, got '" + a.get("nproc") + "'");
        if (core::launchedRank() > 0 || std::getenv("WORLD_SIZE"))
            throw std::invalid_argument("--nproc inside a launched job (WORLD_SIZE is set): the launcher already started the workers");
        core::LocalLaunch l;
        l.nproc = static_cast<int>(n);
        l.timeout_s = cfg.distributed.timeout_s;
        l.argv = {selfExecutable(), evalOnly ? "eval" : "run"};
        for (size_t i = 0; i < args.size(); ++i) {
            if (args[i] == "--nproc") {
                ++i;
                continue;
            }
            if (args[i].rfind("--nproc=", 0) == 0)
                continue;
            l.argv.push_back(args[i]);
        }
        const core::LaunchOutcome lo = core::launchLocalWorkers(l);
        if (lo.status != 0)
            std::cerr << "recalign: " << lo.message << "\n";
        return lo.status;
    }
    const int rank = core::launchedRank();
    if (a.has("device")) {
        const auto device = core::parseDevice(a.get("device"));
        if (!device)
            throw std::invalid_argument("--device: " + device.error().message);
        req.config.device = device.value();
    }
    req.workspace = a.get("workspace");
    req.resume_run = a.get("resume");
    req.seed = a.getInt("seed", -1);
    if (a.has("seeds")) {
        if (a.has("seed"))
            throw std::invalid_argument("--seed and --seeds exclude each other");
        req.config.seeds.clear();
        for (long v : a.getIntList("seeds", 0, 2147483647L, "0,1,2"))
            req.config.seeds.push_back(static_cast<int>(v));
    }
    std::string only = a.get("only");
    if (evalOnly && only.empty())
        for (const auto& v : cfg.variants)
            only += (only.empty() ? "eval_" : ",eval_") + v;
    std::stringstream ss(only);
    for (std::string s; std::getline(ss, s, ',');)
        if (!s.empty())
            req.only_stages.push_back(s);
    if (evalOnly) {
        std::vector<std::string> keep;
        for (const auto& s : req.only_stages)
            for (const auto& v : cfg.variants)
                if (s == "eval_" + v)
                    keep.push_back(s);
        req.only_stages = keep;
    }
    core::StopFlag stop;
    g_stop = &stop;
    std::signal(SIGINT, onSigint);
    std::signal(SIGTERM, onSigint);
    ProgressObserver obs(stop, stdoutIsTty(), rank);
    const auto start = std::chrono::steady_clock::now();
    const core::RunOutcome out = core::runExperiment(req, obs);
    std::signal(SIGINT, SIG_DFL);
    g_stop = nullptr;
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (rank > 0) {  // rank 0 reports the run
        if (!out.error.ok() && out.error.code != core::ErrorCode::Cancelled)
            std::cerr << "recalign: [rank " << rank << "] failed: " << out.error.toString() << "\n";
        return out.error.ok() ? 0 : out.error.code == core::ErrorCode::Cancelled ? 130 : 1;
    }
    std::cout << "\nstage wall times:\n";
    for (const auto& [stage, s] : out.stage_seconds)
        std::cout << "  " << std::left << std::setw(16) << stage << std::right << std::fixed << std::setprecision(1)
                  << s << " s\n";
    std::cout << "  total           " << secs << " s\n";
    const std::string workspace = !req.workspace.empty() ? req.workspace
        : !cfg.workspace.empty()                          ? core::resolvePath(cfg, cfg.workspace)
                                                          : std::string("workspace");
    const int k = cfg.evaluation.topk;
    if (!out.run_ids.empty())
        printTables(workspace, out.run_ids, k);
    const std::string group = out.group_id > 0 ? " (group " + std::to_string(out.group_id) + ")" : std::string();
    if (out.error.code == core::ErrorCode::Cancelled) {
        std::cout << "run " << out.run_id << group << " cancelled; continue with: recalign run " << a.positional()[0]
                  << " --resume " << out.run_id << "\n";
        return 130;
    }
    if (!out.error.ok()) {
        std::cerr << "recalign: run " << out.run_id << group << " failed: " << out.error.toString() << "\n";
        return 1;
    }
    if (out.run_ids.size() > 1) {
        std::cout << "runs";
        for (long id : out.run_ids)
            std::cout << " " << id;
        std::cout << " finished (group " << out.group_id << "; recalign export --group " << out.group_id << ")\n";
    } else {
        std::cout << "run " << out.run_id << " finished\n";
    }
    return 0;
}

int runRun(const std::vector<std::string>& args) { return runCommon(args, false); }
int runEval(const std::vector<std::string>& args) { return runCommon(args, true); }

int runProbeCommand(const std::vector<std::string>& args)
{
    Args a(args, {"workspace", "run", "variant", "task", "user", "history", "category", "proportion", "k", "prompt",
                  "temperature", "top-k", "top-p", "max-new-tokens", "seed", "reward", "model", "adapters"},
           {"help", "constrained", "json", "list"});
    const bool custom = a.has("model") || a.has("adapters");
    if (a.has("list") && a.has("run")) {
        // What can be probed: the variants, then every trainer state the run kept.
        const core::ProbeCatalogue c = core::probeCatalogue(a.get("workspace", "workspace"), a.getInt("run", 0));
        if (!c.error.ok()) {
            std::cerr << "recalign probe: " << c.error.toString() << "\n";
            return 1;
        }
        std::cout << "variants:";
        for (const auto& v : c.variants)
            std::cout << " " << v;
        std::cout << "\nkept checkpoints (probe one with the --model / --adapters shown):\n";
        for (const auto& k : c.checkpoints) {
            std::cout << "  " << k.stage << " " << k.kind << " (" << (k.stage.rfind("ppo_", 0) == 0 || k.stage.rfind("rl_", 0) == 0 ? "iteration " : "step ")
                      << k.step << "):";
            if (!k.model_path.empty())
                std::cout << " --model " << k.model_path;
            std::cout << " --adapters " << core::str::join(k.adapters, ",") << "\n";
        }
        if (c.checkpoints.empty())
            std::cout << "  (none)\n";
        return 0;
    }
    if (a.has("help") || !a.has("run") || (!a.has("variant") && !custom)) {
        std::cout << "usage: recalign probe --run RUN (--variant V | [--model PATH] [--adapters DIR[,DIR...]] | --list)\n"
                     "       [--workspace DIR] [--task i0|i1+|i1-|i2le|i2ge|i2approx|i3|free]\n"
                     "       [--user U | --history 'T1|T2|...'] [--category C] [--proportion P] [--k K] [--prompt TEXT]\n"
                     "       [--temperature T] [--top-k K] [--top-p P] [--constrained] [--max-new-tokens N] [--seed S]\n"
                     "       [--reward paper|recai]\n"
                     "--model (any checkpoint: llama2.c, Hugging Face, ours) and --adapters (PEFT folders; all but the\n"
                     "last are stacked beneath it) probe weights other than a variant's, with the run's data and\n"
                     "teacher: a run's intermediate adapters, an adapter trained elsewhere. No --model = the run's base.\n"
                     "An adapter may also be a trainer state a run kept (sft_state / ppo_state / ppo_best .safetensors,\n"
                     "finished or not): --list prints the run's variants and kept states with their --adapters.\n";
        return a.has("help") ? 0 : 2;
    }
    core::ProbeRequest q;
    q.workspace = a.get("workspace", "workspace");
    q.run_id = a.getInt("run", 0);
    q.variant = a.get("variant", custom ? "custom" : "");
    q.model_path = a.get("model");
    if (a.has("adapters"))
        for (const auto& d : core::str::split(a.get("adapters"), ','))
            if (!d.empty())
                q.adapters.push_back(d);
    q.task = a.get("task", "i0");
    q.user = a.getInt("user", -1);
    if (a.has("history")) {
        std::stringstream ss(a.get("history"));
        for (std::string t; std::getline(ss, t, '|');)
            if (!t.empty())
                q.history.push_back(t);
    }
    q.category = a.get("category");
    q.proportion_percent = static_cast<int>(a.getInt("proportion", 20));
    q.k = static_cast<int>(a.getInt("k", 10));
    q.free_text = a.get("prompt");
    q.temperature = a.getDouble("temperature", 0.0);
    q.top_k = static_cast<int>(a.getInt("top-k", 0));
    q.top_p = a.getDouble("top-p", 1.0);
    q.constrained = a.has("constrained");
    q.max_new_tokens = static_cast<int>(a.getInt("max-new-tokens", 256));
    q.seed = a.getInt("seed", 0);
    q.reward_variant = a.get("reward", "paper");
    const core::ProbeResult r = core::runProbe(q);
    if (!r.error.ok()) {
        std::cerr << "recalign probe: " << r.error.toString() << "\n";
        return 1;
    }
    std::cout << "--- prompt\n" << r.prompt << "\n--- output\n" << r.output << "\n--- items\n";
    for (size_t i = 0; i < r.items.size(); ++i) {
        const auto& it = r.items[i];
        std::cout << std::setw(3) << i + 1 << ". " << it.title << "  [" << it.legality
                  << (it.has_category ? (it.in_category ? ", in C" : ", not in C") : "") << (it.is_target ? ", TARGET" : "")
                  << "] rank " << it.rank << " reward " << std::fixed << std::setprecision(4) << it.reward << "\n";
    }
    std::cout << "--- list reward " << r.list_reward << "\n";
    for (const auto& [name, v] : r.breakdown)
        std::cout << "  " << name << " = " << v << "\n";
    return 0;
}

const CommandRegistrar kRunRegistrar({"run", "run or resume an experiment file end to end", runRun});
const CommandRegistrar kEvalRegistrar({"eval", "re-run the evaluation stages of an experiment", runEval});
const CommandRegistrar kProbeRegistrar({"probe", "one prompt through one variant of a run, judged", runProbeCommand});

}  // namespace run_detail
}  // namespace recalign::cli
