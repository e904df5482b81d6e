// `recalign run --nproc N`: N local workers of one job around a store this process hosts (as
// torchrun's agent does), each worker's end recorded in the store for the others to name.
#include "core/api/launch.h"

#include "core/api/error.h"
#include "core/dist/dist.h"

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

namespace recalign::core {

namespace {

std::vector<pid_t> g_workers;

extern "C" void forwardSignal(int sig)
{
    for (pid_t p : g_workers)
        if (p > 0)
            ::kill(p, sig);
}

int exitStatusOf(int st) { return WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 1; }

std::string howEnded(int st)
{
    if (WIFEXITED(st))
        return "exited with status " + std::to_string(WEXITSTATUS(st));
    if (WIFSIGNALED(st))
        return std::string("was killed by signal ") + std::to_string(WTERMSIG(st)) + " (" + ::strsignal(WTERMSIG(st)) + ")";
    return "ended";
}

}  // namespace

int launchedRank()
{
    if (const char* r = std::getenv("RANK"); r && *r)
        return std::atoi(r);
    const char* n = std::getenv("SLURM_NTASKS");
    const char* p = std::getenv("SLURM_PROCID");
    if (n && p && std::atoi(n) > 1)
        return std::atoi(p);
    return 0;
}

LaunchOutcome launchLocalWorkers(const LocalLaunch& launch)
{
    LaunchOutcome out;
    if (launch.nproc < 1 || launch.argv.empty()) {
        out.status = 2;
        out.message = "--nproc needs a number of processes >= 1";
        return out;
    }
    dist::StoreHost host(0);
    const std::string port = std::to_string(host.port());
    g_workers.assign(static_cast<size_t>(launch.nproc), 0);
    for (int r = 0; r < launch.nproc; ++r) {
        const pid_t pid = ::fork();
        if (pid < 0) {
            out.status = 1;
            out.message = std::string("cannot start worker ") + std::to_string(r) + ": " + std::strerror(errno);
            forwardSignal(SIGTERM);
            return out;
        }
        if (pid == 0) {
            ::setenv("RANK", std::to_string(r).c_str(), 1);
            ::setenv("LOCAL_RANK", std::to_string(r).c_str(), 1);
            ::setenv("WORLD_SIZE", std::to_string(launch.nproc).c_str(), 1);
            ::setenv("LOCAL_WORLD_SIZE", std::to_string(launch.nproc).c_str(), 1);
            ::setenv("MASTER_ADDR", "127.0.0.1", 1);
            ::setenv("MASTER_PORT", port.c_str(), 1);
            ::setenv("TORCHELASTIC_USE_AGENT_STORE", "True", 1);
            ::setenv("TORCHELASTIC_RESTART_COUNT", "0", 1);
            ::setenv("RECALIGN_LAUNCHER", "recalign run --nproc", 1);
            std::vector<char*> argv;
            for (const auto& a : launch.argv)
                argv.push_back(const_cast<char*>(a.c_str()));
            argv.push_back(nullptr);
            ::execv(argv[0], argv.data());
            std::fprintf(stderr, "recalign: cannot run worker '%s': %s\n", argv[0], std::strerror(errno));
            ::_exit(127);
        }
        g_workers[static_cast<size_t>(r)] = pid;
    }
    auto oldInt = std::signal(SIGINT, forwardSignal);
    auto oldTerm = std::signal(SIGTERM, forwardSignal);
    using Clock = std::chrono::steady_clock;
    int running = launch.nproc;
    Clock::time_point termAt = Clock::time_point::max(), killAt = Clock::time_point::max();
    while (running > 0) {
        int st = 0;
        const pid_t pid = ::waitpid(-1, &st, WNOHANG);
        if (pid > 0) {
            for (int r = 0; r < launch.nproc; ++r)
                if (g_workers[static_cast<size_t>(r)] == pid) {
                    g_workers[static_cast<size_t>(r)] = 0;
                    --running;
                    const int status = exitStatusOf(st);
                    host.recordExit(r, status);
                    if (status != 0 && out.failed_rank < 0) {
                        out.failed_rank = r;
                        out.status = status;
                        out.message = "rank " + std::to_string(r) + " " + howEnded(st);
                        // The others notice through their collectives or their wait on rank 0.
                        termAt = Clock::now() + std::chrono::milliseconds(static_cast<long>(launch.timeout_s * 1000) + 5000);
                    }
                }
            continue;
        }
        if (pid < 0 && errno != EINTR)
            break;
        const auto now = Clock::now();
        if (now >= termAt) {
            forwardSignal(SIGTERM);
            termAt = Clock::time_point::max();
            killAt = now + std::chrono::seconds(10);
        } else if (now >= killAt) {
            forwardSignal(SIGKILL);
            killAt = Clock::time_point::max();
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::signal(SIGINT, oldInt);
    std::signal(SIGTERM, oldTerm);
    g_workers.clear();
    if (out.failed_rank < 0)
        out.message = std::to_string(launch.nproc) + " workers finished";
    return out;
}

}  // namespace recalign::core
