// `recalign runs`, `recalign show RUN` and `recalign export RUN ...`: read the workspace's run
// store (default workspace: ./workspace, or --workspace DIR) and print runs, one run's record,
// or the paper's tables as CSV / LaTeX / Markdown (the same text the GUI's Compare tab exports).
#include "app/cli/command.h"

#include "core/api/store_api.h"
#include "core/api/tables.h"
#include "core/util/strings.h"

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

namespace recalign::cli {
namespace cmd_runs_detail {

constexpr const char* kDefaultWorkspace = "workspace";

std::string timeText(double t)
{
    if (t <= 0)
        return "-";
    const std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    localtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M", &tm);
    return buf;
}

std::string durationText(double seconds)
{
    if (seconds <= 0)
        return "-";
    const long s = static_cast<long>(seconds + 0.5);
    char buf[32];
    if (s >= 3600)
        std::snprintf(buf, sizeof(buf), "%ldh%02ldm", s / 3600, (s % 3600) / 60);
    else if (s >= 60)
        std::snprintf(buf, sizeof(buf), "%ldm%02lds", s / 60, s % 60);
    else
        std::snprintf(buf, sizeof(buf), "%lds", s);
    return buf;
}

std::string pad(const std::string& s, size_t width)
{
    return s.size() >= width ? s + " " : s + std::string(width - s.size(), ' ');
}

// Opens <workspace>/runs.sqlite; throws std::runtime_error naming the file when impossible.
void openStore(core::RunStore& store, const Args& a)
{
    const std::string ws = a.get("workspace", kDefaultWorkspace);
    const std::string path = core::workspaceStorePath(ws);
    if (!std::filesystem::exists(path))
        throw std::runtime_error("no run store at '" + path + "' (run an experiment first, or pass --workspace DIR)");
    if (core::Error e = store.open(path))
        throw std::runtime_error(e.toString());
    for (int64_t id : store.recoveredRuns())
        std::cerr << "note: run " << id << " had stopped without finishing; marked failed (interrupted)\n";
}

int64_t parseRunId(const std::string& text)
{
    try {
        size_t used = 0;
        const long long id = std::stoll(text, &used);
        if (used == text.size() && id > 0)
            return id;
    } catch (const std::exception&) {
    }
    throw std::invalid_argument("expected a run id (a positive number), got '" + text + "'");
}

int runRuns(const std::vector<std::string>& args)
{
    Args a(args, {"workspace", "status", "limit", "experiment"}, {"help"});
    if (a.has("help")) {
        std::cout << "usage: recalign runs [--workspace DIR] [--status queued|running|finished|failed|cancelled] [--limit N]\n"
                     "Lists the runs in the workspace's store (default workspace: ./workspace), newest first.\n";
        return 0;
    }
    core::RunStore store;
    openStore(store, a);
    core::RunFilter filter;
    filter.limit = static_cast<int>(a.getInt("limit", 0));
    filter.experiment_id = a.getInt("experiment", 0);
    if (a.has("status")) {
        filter.any_status = false;
        if (!core::parseRunStatus(a.get("status"), &filter.status))
            throw std::invalid_argument("--status expects queued, running, finished, failed or cancelled");
    }
    auto runs = store.listRuns(filter);
    if (!runs)
        throw std::runtime_error(runs.error().toString());
    if (runs.value().empty()) {
        std::cout << "no runs in " << store.path() << "\n";
        return 0;
    }
    std::cout << pad("id", 6) << pad("experiment", 18) << pad("name", 18) << pad("status", 10) << pad("group", 6) << pad("seed", 6)
              << pad("started", 17) << pad("duration", 9) << "commit\n";
    const double now = core::unixNow();
    for (const auto& r : runs.value()) {
        const double end = r.ended_at > 0 ? r.ended_at : (r.status == core::RunStatus::Running ? now : 0);
        std::cout << pad(std::to_string(r.id), 6) << pad(r.experiment_name.empty() ? "-" : r.experiment_name, 18)
                  << pad(r.name.empty() ? "-" : r.name, 18) << pad(core::runStatusName(r.status), 10)
                  << pad(r.group_id > 0 ? std::to_string(r.group_id) : "-", 6) << pad(std::to_string(r.seed), 6) << pad(timeText(r.started_at), 17)
                  << pad(r.started_at > 0 && end > 0 ? durationText(end - r.started_at) : "-", 9)
                  << (r.env.git_commit.empty() ? "-" : r.env.git_commit.substr(0, 10) + (r.env.git_dirty ? "+dirty" : "")) << "\n";
    }
    return 0;
}

int runShow(const std::vector<std::string>& args)
{
    Args a(args, {"workspace"}, {"help", "config"});
    if (a.has("help") || a.positional().size() != 1) {
        std::cout << "usage: recalign show RUN [--workspace DIR] [--config]\n"
                     "Prints one run: status, capture (git, versions, host), stages, metric series,\n"
                     "evaluation results, samples and artifacts. --config adds the canonical config JSON.\n";
        return a.has("help") ? 0 : 2;
    }
    core::RunStore store;
    openStore(store, a);
    const int64_t id = parseRunId(a.positional()[0]);
    auto info = store.runInfo(id);
    if (!info)
        throw std::runtime_error(info.error().message);
    const auto& r = info.value();
    std::cout << "run " << r.id << (r.name.empty() ? "" : " (" + r.name + ")") << "\n"
              << "  experiment:  " << (r.experiment_name.empty() ? "-" : r.experiment_name) << "\n"
              << "  status:      " << core::runStatusName(r.status) << (r.error.empty() ? "" : ": " + r.error) << "\n"
              << "  seed:        " << r.seed << "\n"
              << "  group:       " << (r.group_id > 0 ? std::to_string(r.group_id) : std::string("-")) << "\n"
              << "  created:     " << timeText(r.created_at) << "\n"
              << "  started:     " << timeText(r.started_at) << "\n"
              << "  ended:       " << timeText(r.ended_at) << "\n"
              << "  heartbeat:   " << timeText(r.heartbeat_at) << "\n"
              << "  config hash: " << r.config_hash << "\n"
              << "  git:         " << (r.env.git_commit.empty() ? "-" : r.env.git_commit) << (r.env.git_dirty ? " (dirty)" : "") << "\n"
              << "  versions:    " << r.env.library_versions_json << (r.env.app_version.empty() ? "" : " app " + r.env.app_version) << "\n"
              << "  host:        " << r.env.host_name << ", " << r.env.host_cpu << ", " << r.env.host_threads << " threads"
              << (r.env.host_gpu.empty() ? "" : ", " + r.env.host_gpu) << "\n"
              << "  device:      " << (r.env.device.empty() ? "-" : r.env.device) << "\n";
    if (r.resumed_from > 0)
        std::cout << "  resumes:     run " << r.resumed_from << "\n";
    if (!r.notes.empty())
        std::cout << "  notes:       " << r.notes << "\n";
    if (a.has("config"))
        std::cout << "  config:      " << r.config_json << "\n";

    if (auto st = store.stages(id); st && !st.value().empty()) {
        std::cout << "\nstages\n";
        for (const auto& s : st.value())
            std::cout << "  " << pad(s.name, 14) << pad(core::stageStatusName(s.status), 10)
                      << pad(durationText(s.ended_at > 0 ? s.ended_at - s.started_at : 0), 9) << s.content_hash.substr(0, 12)
                      << "  " << s.output_path
                      << (s.reused_from_run > 0 ? "  (reused from run " + std::to_string(s.reused_from_run) + ")" : std::string())
                      << "\n";
    }
    if (auto m = store.metricNames(id); m && !m.value().empty()) {
        std::cout << "\nmetrics (stage/name: points, steps, last value)\n";
        for (const auto& s : m.value())
            std::cout << "  " << pad(s.stage + "/" + s.name, 34) << pad(std::to_string(s.points), 8)
                      << pad(std::to_string(s.first_step) + ".." + std::to_string(s.last_step), 14) << s.last_value << "\n";
    }
    if (auto ev = store.evalResults(id); ev && !ev.value().empty()) {
        std::cout << "\nevaluation (variant task metric = value [n])\n";
        for (const auto& e : ev.value())
            std::cout << "  " << pad(e.variant, 10) << pad(e.task, 12) << pad(e.metric, 16) << "= " << core::str::fixed(e.value, 4)
                      << " [" << e.n << "]\n";
    }
    core::SampleFilter sf;
    sf.run_id = id;
    if (auto n = store.countSamples(sf); n && n.value() > 0)
        std::cout << "\nsamples: " << n.value() << "\n";
    if (auto art = store.artifacts(id); art && !art.value().empty()) {
        std::cout << "\nartifacts\n";
        for (const auto& x : art.value())
            std::cout << "  " << pad(x.kind, 12) << x.path << "  " << x.sha256.substr(0, 12) << "\n";
    }
    return 0;
}

int runExport(const std::vector<std::string>& args)
{
    Args a(args, {"workspace", "format", "table", "output", "k", "group", "pairs", "resamples"},
           {"help", "stderr", "per-seed", "significance", "no-significance"});
    if (a.has("help") || (a.positional().size() != 1 && !a.has("group"))) {
        std::cout << "usage: recalign export (RUN[,RUN...] | --group G[,G...]) --format csv|latex|markdown\n"
                     "                      [--table i0|i1|i2|format|all] [--workspace DIR] [--output FILE] [--stderr]\n"
                     "                      [--k 10] [--per-seed] [--significance] [--pairs full:v2,v2:v1]\n"
                     "                      [--resamples 10000] [--no-significance]\n"
                     "Lays the runs' evaluation results out as the paper's tables (rows = methods in the paper's\n"
                     "order, columns = metrics). LaTeX uses booktabs; the best value per column is bold and the\n"
                     "second underlined (lower is better for -C TCP, RepeatItem, NonExist, InHistory).\n"
                     "Runs of a seed group (`seeds: [0, 1, 2]`) become one row per method: mean ± sample std\n"
                     "over the seeds (--per-seed: a row per run). Cells marked † differ from the row they are\n"
                     "tested against (--pairs, default full:v2,v2:v1): paired bootstrap over (seed, user) units,\n"
                     "95 % interval, Holm-corrected over each table's tests, alpha 0.05; Wilcoxon beside.\n"
                     "--significance adds each table's tests (difference, interval, p-values).\n";
        return a.has("help") ? 0 : 2;
    }
    core::ExportFormat format;
    const std::string f = a.get("format", "markdown");
    if (f == "csv")
        format = core::ExportFormat::Csv;
    else if (f == "latex" || f == "tex")
        format = core::ExportFormat::Latex;
    else if (f == "markdown" || f == "md")
        format = core::ExportFormat::Markdown;
    else
        throw std::invalid_argument("--format expects csv, latex or markdown, got '" + f + "'");
    core::StoreTableOptions options;
    const std::string t = a.get("table", "all");
    if (t != "all") {
        core::TableKind k;
        if (!core::parseTableKind(t, &k))
            throw std::invalid_argument("--table expects i0, i1, i2, format or all, got '" + t + "'");
        options.kinds.push_back(k);
    }
    core::RunStore store;
    openStore(store, a);
    std::vector<int64_t> runs;
    if (!a.positional().empty())
        for (const auto& part : core::str::split(a.positional()[0], ','))
            runs.push_back(parseRunId(core::str::trim(part)));
    if (a.has("group"))
        for (const auto& part : core::str::split(a.get("group"), ',')) {
            auto ids = core::groupRunIds(store, parseRunId(core::str::trim(part)));
            if (!ids)
                throw std::runtime_error(ids.error().toString());
            runs.insert(runs.end(), ids.value().begin(), ids.value().end());
        }
    options.k = static_cast<int>(a.getInt("k", 0));
    options.per_seed = a.has("per-seed");
    options.significance = !a.has("no-significance");
    options.tests.resamples = static_cast<int>(a.getInt("resamples", 10000));
    if (options.tests.resamples < 100)
        throw std::invalid_argument("--resamples expects at least 100");
    if (a.has("pairs")) {
        options.tests.pairs.clear();
        for (const auto& part : core::str::split(a.get("pairs"), ',')) {
            const auto ab = core::str::split(core::str::trim(part), ':');
            if (ab.size() != 2 || ab[0].empty() || ab[1].empty())
                throw std::invalid_argument("--pairs expects A:B[,A:B...] of variant names (e.g. full:v2), got '" + part + "'");
            options.tests.pairs.emplace_back(ab[0], ab[1]);
        }
    }
    auto tables = core::storeTables(store, runs, options);
    if (!tables)
        throw std::runtime_error(tables.error().toString());
    if (std::all_of(tables.value().begin(), tables.value().end(), [](const core::Table& x) { return x.rows.empty(); }))
        throw std::runtime_error("run(s) " + (a.positional().empty() ? "of group " + a.get("group") : a.positional()[0])
                                 + " have no evaluation results yet");
    core::ExportOptions eo;
    eo.with_stderr = a.has("stderr");
    std::string text = core::exportTables(tables.value(), format, eo);
    if (a.has("significance"))
        for (const auto& table : tables.value())
            if (!table.tests.empty())
                text += "\n" + core::exportTests(table, format);
    if (a.has("output")) {
        std::ofstream out(a.get("output"), std::ios::binary);
        if (!(out << text))
            throw std::runtime_error("cannot write '" + a.get("output") + "'");
        std::cerr << "wrote " << a.get("output") << "\n";
    } else {
        std::cout << text;
    }
    return 0;
}

const CommandRegistrar kRunsRegistrar({"runs", "list the runs in a workspace's store", runRuns});
const CommandRegistrar kShowRegistrar({"show", "show one run: capture, stages, metrics, results", runShow});
const CommandRegistrar kExportRegistrar({"export", "export a run's results as the paper's tables (csv, latex, markdown)", runExport});

}  // namespace cmd_runs_detail
}  // namespace recalign::cli
