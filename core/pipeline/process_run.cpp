// RunRequest::processes > 1: the experiment as `recalign run FILE --nproc N` in a child process,
// followed through the run store it writes (stages, metric points) and its output (log lines).
// Implements part of core/api/runners.h (runExperiment delegates here).
#include "core/api/runners.h"
#include "core/api/store_api.h"
#include "core/pipeline/pipeline_context.h"

#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace recalign::core::pipeline_detail {

namespace {

// Follows the child's runs in the store: stage begins and ends, new metric points as step records.
class StoreFollower {
public:
    StoreFollower(std::string storePath, Observer& observer, int64_t resumed)
        : m_path(std::move(storePath)), m_observer(observer)
    {
        if (resumed > 0)
            m_runs.insert(resumed);
        RunStore store;
        OpenOptions o;
        o.read_only = true;
        if (fs::exists(m_path) && !store.open(m_path, o))
            if (auto runs = store.listRuns(); runs && !runs.value().empty())
                for (const auto& r : runs.value())
                    m_newestBefore = std::max<int64_t>(m_newestBefore, r.id);
    }

    void poll()
    {
        if (!m_store.isOpen()) {
            OpenOptions o;
            o.read_only = true;
            if (!fs::exists(m_path) || m_store.open(m_path, o))
                return;
        }
        if (auto runs = m_store.listRuns())
            for (const auto& r : runs.value())
                if (r.id > m_newestBefore)
                    m_runs.insert(r.id);
        for (int64_t run : m_runs) {
            if (auto stages = m_store.stages(run))
                for (const auto& st : stages.value()) {
                    auto& seen = m_stages[st.id];
                    if (seen == 0) {
                        m_observer.onStageBegin(st.name, 0);
                        seen = 1;
                    }
                    if (seen == 1 && st.status != StageStatus::Running) {
                        followMetrics(run);  // the stage's last points before its end
                        m_observer.onStageEnd(st.name);
                        seen = 2;
                    }
                }
            followMetrics(run);
        }
    }

    const std::set<int64_t>& runs() const { return m_runs; }

private:
    void followMetrics(int64_t run)
    {
        auto names = m_store.metricNames(run);
        if (!names)
            return;
        std::map<std::pair<std::string, int64_t>, StepRecord> records;  // (stage, step)
        for (const auto& info : names.value()) {
            int64_t& last = m_lastStep[{run, info.stage + "\n" + info.name}];
            if (info.last_step <= last)
                continue;
            auto series = m_store.metricSeries(run, info.stage, info.name);
            if (!series)
                continue;
            const auto& s = series.value();
            for (size_t i = 0; i < s.steps.size(); ++i) {
                if (s.steps[i] <= last)
                    continue;
                StepRecord& rec = records[{info.stage, s.steps[i]}];
                rec.stage = info.stage;
                rec.step = s.steps[i];
                rec.wall_time = s.wall_times.size() > i ? s.wall_times[i] : 0.0;
                rec.metrics.emplace_back(info.name, s.values[i]);
            }
            last = info.last_step;
        }
        for (auto& [key, rec] : records)
            m_observer.onStep(rec);
    }

    std::string m_path;
    Observer& m_observer;
    RunStore m_store;
    int64_t m_newestBefore = 0;
    std::set<int64_t> m_runs;
    std::map<int64_t, int> m_stages;  // stage id -> 1 begun, 2 ended
    std::map<std::pair<int64_t, std::string>, int64_t> m_lastStep;
};

std::string besideThisExecutable(const std::string& name)
{
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    return ec ? name : (exe.parent_path() / name).string();
}

}  // namespace

RunOutcome runInProcesses(const RunRequest& request, Observer& observer)
{
    RunOutcome outcome;
    const std::string cli = request.cli_executable.empty() ? besideThisExecutable("recalign") : request.cli_executable;
    auto fail = [&](ErrorCode code, const std::string& why) {
        outcome.error = Error{code, why, "processes"};
        return outcome;
    };
    if (request.experiment_path.empty())
        return fail(ErrorCode::InvalidConfig, "running in several processes needs the experiment's file (the workers read it)");
    if (::access(cli.c_str(), X_OK) != 0)
        return fail(ErrorCode::InvalidConfig, "cannot run the recalign CLI '" + cli + "' for " + std::to_string(request.processes)
                                                  + " processes: " + std::strerror(errno));
    const std::string workspace = !request.workspace.empty() ? request.workspace
        : !request.config.workspace.empty()                   ? resolvePath(request.config, request.config.workspace)
                                                               : std::string("workspace");
    std::vector<std::string> args{cli, "run", request.experiment_path, "--workspace", workspace, "--nproc",
                                  std::to_string(request.processes)};
    if (!request.resume_run.empty())
        args.insert(args.end(), {"--resume", request.resume_run});
    if (request.seed >= 0)
        args.insert(args.end(), {"--seed", std::to_string(request.seed)});
    std::string only;
    for (const auto& s : request.only_stages)
        only += (only.empty() ? "" : ",") + s;
    if (!only.empty())
        args.insert(args.end(), {"--only", only});
    int64_t resumed = 0;
    try {
        resumed = request.resume_run.empty() ? 0 : std::stoll(request.resume_run);
    } catch (const std::exception&) {
        return fail(ErrorCode::InvalidConfig, "cannot resume run '" + request.resume_run + "': expected a run id");
    }
    StoreFollower follower(workspace + "/" + kStoreFileName, observer, resumed);

    int pipe[2];
    if (::pipe(pipe) != 0)
        return fail(ErrorCode::Internal, std::string("cannot create a pipe: ") + std::strerror(errno));
    const pid_t pid = ::fork();
    if (pid < 0)
        return fail(ErrorCode::Internal, std::string("cannot start the CLI: ") + std::strerror(errno));
    if (pid == 0) {
        ::dup2(pipe[1], STDOUT_FILENO);
        ::dup2(pipe[1], STDERR_FILENO);
        ::close(pipe[0]);
        ::close(pipe[1]);
        if (request.default_threads > 0 && !std::getenv("RECALIGN_THREADS"))
            ::setenv("RECALIGN_THREADS", std::to_string(request.default_threads).c_str(), 1);
        std::vector<char*> argv;
        for (auto& a : args)
            argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(pipe[1]);
    ::fcntl(pipe[0], F_SETFL, ::fcntl(pipe[0], F_GETFL) | O_NONBLOCK);
    observer.onLog(LogLevel::Info, "running " + std::to_string(request.processes) + " data-parallel processes: "
                                       + args[0] + " run " + request.experiment_path + " --nproc "
                                       + std::to_string(request.processes));
    std::string pending, lastError;
    auto readOutput = [&] {
        char buf[4096];
        for (ssize_t n; (n = ::read(pipe[0], buf, sizeof buf)) > 0;)
            pending.append(buf, static_cast<size_t>(n));
        for (size_t nl; (nl = pending.find('\n')) != std::string::npos;) {
            const std::string line = pending.substr(0, nl);
            pending.erase(0, nl + 1);
            if (line.empty() || line.rfind("== ", 0) == 0)
                continue;  // stage headers: the store's stage records say it
            const bool error = line.rfind("recalign: ", 0) == 0 || line.find("error: ") != std::string::npos;
            if (error)
                lastError = line;
            observer.onLog(error ? LogLevel::Error : line.rfind("warning: ", 0) == 0 ? LogLevel::Warning : LogLevel::Info, line);
        }
    };
    bool stopSent = false;
    int status = 0;
    for (;;) {
        readOutput();
        follower.poll();
        if (!stopSent && observer.stopRequested()) {
            ::kill(pid, SIGINT);  // the launcher passes it to every worker: they cancel and checkpoint
            stopSent = true;
        }
        const pid_t done = ::waitpid(pid, &status, WNOHANG);
        if (done == pid)
            break;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    readOutput();
    follower.poll();
    ::close(pipe[0]);
    const std::set<int64_t>& runs = follower.runs();
    outcome.run_ids.assign(runs.begin(), runs.end());
    outcome.run_id = runs.empty() ? 0 : *runs.rbegin();
    if (!runs.empty()) {
        RunStore store;
        OpenOptions o;
        o.read_only = true;
        if (!store.open(workspace + "/" + kStoreFileName, o))
            if (auto info = store.runInfo(outcome.run_id))
                outcome.group_id = info.value().group_id;
    }
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    if (code == 130 || (stopSent && code != 0))
        outcome.error = Error{ErrorCode::Cancelled, "cancelled", ""};
    else if (code != 0)
        outcome.error = Error{ErrorCode::Internal,
                              lastError.empty() ? "the CLI exited with status " + std::to_string(code) : lastError, "processes"};
    return outcome;
}

}  // namespace recalign::core::pipeline_detail
