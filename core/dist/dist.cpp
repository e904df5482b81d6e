// c10d: the TCPStore rendezvous, ProcessGroupGloo (ProcessGroupNCCL when the libtorch has it),
// a heartbeat per rank so that a failed collective names the rank that stopped, and the writer's
// publish / wait protocol.
#include "core/dist/dist.h"

#include "core/api/error.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/version.h>
#ifdef RECALIGN_HAVE_GLOO
// The torch headers hide the Gloo group behind this (Debian's libtorch_cpu exports it).
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef RECALIGN_HAVE_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>

namespace recalign::core::dist {

namespace {

// The collective's owner: torch 1.x's groups are ProcessGroups; torch 2.x's Gloo / NCCL groups are
// c10d::Backends (a ProcessGroup dispatches to them), with the same allreduce / allgather / barrier.
#if TORCH_VERSION_MAJOR >= 2
using Group = c10d::Backend;
#else
using Group = c10d::ProcessGroup;
#endif

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int kHeartbeatMs = 500;

[[noreturn]] void badVariable(const std::string& name, const std::string& value, const std::string& what)
{
    throw CoreException(ErrorCode::InvalidConfig,
                        "environment variable " + name + "='" + value + "': expected " + what, name);
}

// An integer environment variable; `fallback` when unset or empty.
int envInt(const char* name, int fallback, int minimum)
{
    const char* v = std::getenv(name);
    if (!v || !*v)
        return fallback;
    char* end = nullptr;
    const long x = std::strtol(v, &end, 10);
    if (*end != '\0' || x < minimum || x > 1000000)
        badVariable(name, v, "an integer >= " + std::to_string(minimum));
    return static_cast<int>(x);
}

std::string envString(const char* name)
{
    const char* v = std::getenv(name);
    return v ? std::string(v) : std::string();
}

// The first host of a Slurm node list: "node[01-04,07],gpu3" -> "node01".
std::string firstSlurmHost(const std::string& list)
{
    std::string out;
    size_t i = 0;
    for (; i < list.size() && list[i] != ',' && list[i] != '['; ++i)
        out += list[i];
    if (i < list.size() && list[i] == '[') {
        ++i;
        while (i < list.size() && list[i] != '-' && list[i] != ',' && list[i] != ']')
            out += list[i++];
    }
    return out;
}

std::vector<uint8_t> bytesOf(const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); }
std::string stringOf(const std::vector<uint8_t>& b) { return std::string(b.begin(), b.end()); }

c10::intrusive_ptr<c10d::Store> connectStore(const Placement& p, bool server, milliseconds timeout)
{
    c10d::TCPStoreOptions o;
    o.port = static_cast<uint16_t>(p.master_port);
    o.isServer = server;
    o.waitWorkers = false;
    o.timeout = timeout;
    auto tcp = c10::make_intrusive<c10d::TCPStore>(p.master_addr, o);
    // As torch.distributed does under torchrun's agent store (one prefix per restart attempt).
    return c10::make_intrusive<c10d::PrefixStore>("/worker/attempt_" + std::to_string(p.restart), tcp);
}

struct Job {
    Placement placement;
    DistributedConfig config;
    std::string backend;
    c10::intrusive_ptr<c10d::Store> store;
    c10::intrusive_ptr<Group> group;
    std::thread heartbeat;
    std::atomic<bool> stopping{false};
    double commSeconds = 0.0;
    long collectives = 0;
    milliseconds timeout{300000};
    ~Job()
    {
        stopping = true;
        if (heartbeat.joinable())
            heartbeat.join();
    }
};

std::unique_ptr<Job>& job()
{
    static std::unique_ptr<Job> j;
    return j;
}

const Placement& single()
{
    static const Placement p;
    return p;
}

std::string key(const std::string& what, int rank) { return "recalign/" + what + "/" + std::to_string(rank); }

// The ranks that stopped: those whose exit a launcher recorded, else those whose heartbeat did
// not advance over a few beats. "" when every rank still beats (a hang or a slow rank).
std::string stoppedRanks(Job& j)
{
    // Two looks at every other rank, a few heartbeats apart; an exit record ends the search.
    auto look = [&](std::vector<int64_t>& beats, std::string& exited) {
        for (int r = 0; r < j.placement.world && exited.empty(); ++r) {
            if (r == j.placement.rank)
                continue;
            if (j.store->check({key("exit", r)}))
                exited = "rank " + std::to_string(r) + " (exit status " + stringOf(j.store->get(key("exit", r)))
                    + " reported by the launcher)";
            else
                beats[static_cast<size_t>(r)] = j.store->add(key("hb", r), 0);
        }
    };
    std::string out;
    try {
        std::vector<int64_t> before(static_cast<size_t>(j.placement.world)), after(before.size());
        std::string exited;
        look(before, exited);
        if (exited.empty()) {
            std::this_thread::sleep_for(milliseconds(5 * kHeartbeatMs));
            look(after, exited);
        }
        if (!exited.empty())
            return exited;
        for (int r = 0; r < j.placement.world; ++r)
            if (r != j.placement.rank && after[static_cast<size_t>(r)] == before[static_cast<size_t>(r)])
                out += (out.empty() ? "rank " : ", rank ") + std::to_string(r) + " (its heartbeat stopped)";
    } catch (const std::exception&) {
        return "the job's store at " + j.placement.master_addr + ":" + std::to_string(j.placement.master_port)
            + " no longer answers (its host stopped: " + (j.placement.agent_store ? "the launcher" : "rank 0") + ")";
    }
    return out;
}

[[noreturn]] void peerFailed(Job& j, const std::string& what, const std::exception& e)
{
    const std::string who = stoppedRanks(j);
    const std::string self = "rank " + std::to_string(j.placement.rank) + " of " + std::to_string(j.placement.world);
    throw CoreException(ErrorCode::Internal,
                        (who.empty() ? std::string("no rank answered") : who) + " during " + what
                            + (who.empty() ? " within distributed.timeout_s = " + std::to_string(int(j.config.timeout_s)) + " s (a hung or much slower rank)"
                                           : std::string())
                            + "; " + self + " stops too (" + e.what() + "). `recalign run FILE --resume RUN` continues "
                            "from the last checkpoint with any number of processes",
                        "distributed");
}

void waitWork(Job& j, const c10::intrusive_ptr<c10d::Work>& work, const std::string& what)
{
    try {
        work->wait(j.timeout);
    } catch (const std::exception& e) {
        peerFailed(j, what, e);
    }
}

template <typename F>
void timed(F&& f)
{
    Job& j = *job();
    const auto t0 = Clock::now();
    f(j);
    j.commSeconds += std::chrono::duration<double>(Clock::now() - t0).count();
    ++j.collectives;
}

}  // namespace

Placement placementFromEnvironment()
{
    Placement p;
    if (std::getenv("WORLD_SIZE") || std::getenv("RANK")) {
        p.world = envInt("WORLD_SIZE", 1, 1);
        p.rank = envInt("RANK", 0, 0);
        p.local_rank = envInt("LOCAL_RANK", p.rank, 0);
        p.local_world = envInt("LOCAL_WORLD_SIZE", p.world, 1);
        p.launcher = std::getenv("TORCHELASTIC_RUN_ID") ? "torchrun" : envString("RECALIGN_LAUNCHER");
        if (p.launcher.empty())
            p.launcher = "torch.distributed";
    } else if (std::getenv("SLURM_PROCID") && std::getenv("SLURM_NTASKS")) {
        p.world = envInt("SLURM_NTASKS", 1, 1);
        p.rank = envInt("SLURM_PROCID", 0, 0);
        p.local_rank = envInt("SLURM_LOCALID", 0, 0);
        // "2(x3)" style counts: the leading number is the tasks on this node.
        const std::string perNode = envString("SLURM_NTASKS_PER_NODE");
        p.local_world = perNode.empty() ? p.world : std::max(1, std::atoi(perNode.c_str()));
        const std::string nodes = envString("SLURM_JOB_NODELIST");
        if (!nodes.empty())
            p.master_addr = firstSlurmHost(nodes);
        p.launcher = "slurm";
        if (p.world == 1)
            return Placement{};  // an ordinary one-task Slurm job
    } else {
        return p;
    }
    if (p.rank >= p.world)
        badVariable(std::getenv("RANK") ? "RANK" : "SLURM_PROCID", std::to_string(p.rank),
                    "a rank below the world size " + std::to_string(p.world));
    if (p.local_rank >= p.local_world)
        badVariable("LOCAL_RANK", std::to_string(p.local_rank), "a local rank below LOCAL_WORLD_SIZE " + std::to_string(p.local_world));
    const std::string addr = envString("MASTER_ADDR");
    if (!addr.empty())
        p.master_addr = addr;
    else if (p.world > 1 && p.launcher != "slurm")
        badVariable("MASTER_ADDR", "", "the address of rank 0's (or the launcher's) store");
    p.master_port = envInt("MASTER_PORT", 29500, 1);
    if (p.master_port > 65535)
        badVariable("MASTER_PORT", std::to_string(p.master_port), "a TCP port (1-65535)");
    const std::string agent = envString("TORCHELASTIC_USE_AGENT_STORE");
    p.agent_store = agent == "True" || agent == "true" || agent == "1";
    p.restart = envInt("TORCHELASTIC_RESTART_COUNT", 0, 0);
    return p;
}

void init(const Placement& placement, const DistributedConfig& config, const torch::Device& device)
{
    if (placement.world <= 1)
        return;
    if (job()) {
        const Placement& q = job()->placement;
        if (q.rank == placement.rank && q.world == placement.world && q.master_addr == placement.master_addr
            && q.master_port == placement.master_port)
            return;
        throw CoreException(ErrorCode::Internal, "this process already belongs to another job", "distributed");
    }
    std::string backend = config.backend == DistributedConfig::Backend::Gloo ? "gloo"
        : config.backend == DistributedConfig::Backend::Nccl                ? "nccl"
                                                                            : "auto";
    if (backend == "auto") {
#ifdef RECALIGN_HAVE_NCCL
        backend = device.is_cuda() ? "nccl" : "gloo";
#else
        backend = "gloo";
#endif
    }
#ifndef RECALIGN_HAVE_NCCL
    if (backend == "nccl")
        throw CoreException(ErrorCode::InvalidConfig,
                            "nccl needs a libtorch built with CUDA and NCCL (this build links one "
                            "without, e.g. Debian's CPU libtorch); use gloo or build against a CUDA libtorch",
                            "distributed.backend");
#endif
#ifndef RECALIGN_HAVE_GLOO
    if (backend == "gloo")
        throw CoreException(ErrorCode::InvalidConfig,
                            "gloo: this build has no Gloo group (built without the gloo headers, e.g. "
                            "against pip's torch with -DRECALIGN_GLOO=OFF); on CUDA use nccl (or auto)",
                            "distributed.backend");
#endif
    if (backend == "gloo" && device.is_cuda())
        throw CoreException(ErrorCode::InvalidConfig,
                            "gloo reduces CPU tensors here; a CUDA run needs nccl (or auto)",
                            "distributed.backend");
    auto j = std::make_unique<Job>();
    j->placement = placement;
    j->config = config;
    j->backend = backend;
    j->timeout = milliseconds(static_cast<long>(config.timeout_s * 1000.0));
    const bool server = placement.rank == 0 && !placement.agent_store;
    try {
        j->store = connectStore(placement, server, j->timeout);
    } catch (const std::exception& e) {
        throw CoreException(ErrorCode::Internal,
                            "rank " + std::to_string(placement.rank) + " cannot reach the store at "
                                + placement.master_addr + ":" + std::to_string(placement.master_port) + " ("
                                + (server ? "hosting it" : "as a client") + "): " + e.what(),
                            "distributed");
    }
    try {
        if (false) {
        }
#ifdef RECALIGN_HAVE_GLOO
        else if (backend == "gloo") {
            auto o = c10d::ProcessGroupGloo::Options::create(j->timeout);
            const char* iface = std::getenv("GLOO_SOCKET_IFNAME");
            if (iface && *iface)
                o->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(iface));
            else if (placement.master_addr == "127.0.0.1" || placement.master_addr == "localhost")
                o->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
            else
                o->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
            o->threads = 1;
            j->group = c10::make_intrusive<c10d::ProcessGroupGloo>(
                c10::make_intrusive<c10d::PrefixStore>("gloo", j->store), placement.rank, placement.world, o);
        }
#endif
#ifdef RECALIGN_HAVE_NCCL
        else {
            auto o = c10d::ProcessGroupNCCL::Options::create();
            o->timeout = j->timeout;
            j->group = c10::make_intrusive<c10d::ProcessGroupNCCL>(
                c10::make_intrusive<c10d::PrefixStore>("nccl", j->store), placement.rank, placement.world, o);
        }
#endif
    } catch (const std::exception& e) {
        throw CoreException(ErrorCode::Internal,
                            "rank " + std::to_string(placement.rank) + " could not form the " + backend
                                + " group of " + std::to_string(placement.world) + " processes through "
                                + placement.master_addr + ":" + std::to_string(placement.master_port) + ": " + e.what(),
                            "distributed");
    }
    // The heartbeat: its own client, so a collective blocked on the main one does not stop it.
    Job* raw = j.get();
    j->heartbeat = std::thread([raw] {
        c10::intrusive_ptr<c10d::Store> s;
        try {
            s = connectStore(raw->placement, false, raw->timeout);
        } catch (const std::exception&) {
            return;
        }
        const std::string k = key("hb", raw->placement.rank);
        while (!raw->stopping.load()) {
            try {
                s->add(k, 1);
            } catch (const std::exception&) {
                return;  // the store's host is gone; collectives report it
            }
            for (int i = 0; i < 10 && !raw->stopping.load(); ++i)
                std::this_thread::sleep_for(milliseconds(kHeartbeatMs / 10));
        }
    });
    job() = std::move(j);
    barrier();  // everyone joined
}

void shutdown()
{
    job().reset();  // ~Job stops the heartbeat
}

bool active() { return job() != nullptr; }
int rank() { return job() ? job()->placement.rank : 0; }
int world() { return job() ? job()->placement.world : 1; }
bool isWriter() { return rank() == 0; }
const Placement& placement() { return job() ? job()->placement : single(); }

std::string describe()
{
    if (!job())
        return "one process";
    const Job& j = *job();
    return "rank " + std::to_string(j.placement.rank) + " of " + std::to_string(j.placement.world) + " (" + j.backend
        + ", " + j.placement.launcher + ", store " + j.placement.master_addr + ":" + std::to_string(j.placement.master_port)
        + ")";
}

void allreduceSum(std::vector<torch::Tensor>& tensors)
{
    if (!job() || tensors.empty())
        return;
    timed([&](Job& j) {
        std::vector<torch::Tensor> parts;
        for (const auto& t : tensors) {
            if (!t.defined())
                throw CoreException(ErrorCode::Internal, "all-reduce of an undefined tensor", "distributed");
            parts.push_back(t.reshape({-1}).to(torch::kFloat));
        }
        std::vector<torch::Tensor> buffer{torch::cat(parts)};
        waitWork(j, j.group->allreduce(buffer), "an all-reduce of " + std::to_string(buffer[0].numel()) + " values");
        int64_t offset = 0;
        for (auto& t : tensors) {
            const int64_t n = t.numel();
            t.copy_(buffer[0].slice(0, offset, offset + n).view(t.sizes()));
            offset += n;
        }
    });
}

void allreduceSum(std::vector<double>& values)
{
    if (!job() || values.empty())
        return;
    std::vector<torch::Tensor> t{torch::tensor(values, torch::dtype(torch::kDouble))};
    timed([&](Job& j) {
        waitWork(j, j.group->allreduce(t), "an all-reduce of " + std::to_string(values.size()) + " statistics");
    });
    auto acc = t[0].accessor<double, 1>();
    for (size_t i = 0; i < values.size(); ++i)
        values[i] = acc[static_cast<int64_t>(i)];
}

std::vector<std::string> allgather(const std::string& bytes)
{
    if (!job())
        return {bytes};
    std::vector<double> sizes(static_cast<size_t>(world()), 0.0);
    sizes[static_cast<size_t>(rank())] = static_cast<double>(bytes.size());
    allreduceSum(sizes);
    int64_t longest = 1;
    for (double s : sizes)
        longest = std::max<int64_t>(longest, static_cast<int64_t>(s));
    auto mine = torch::zeros({longest}, torch::kUInt8);
    if (!bytes.empty())
        std::memcpy(mine.data_ptr<uint8_t>(), bytes.data(), bytes.size());
    std::vector<std::vector<torch::Tensor>> out(1);
    for (int r = 0; r < world(); ++r)
        out[0].push_back(torch::empty({longest}, torch::kUInt8));
    std::vector<torch::Tensor> in{mine};
    timed([&](Job& j) { waitWork(j, j.group->allgather(out, in), "an all-gather"); });
    std::vector<std::string> result;
    for (int r = 0; r < world(); ++r) {
        const auto* p = out[0][static_cast<size_t>(r)].data_ptr<uint8_t>();
        result.emplace_back(reinterpret_cast<const char*>(p), static_cast<size_t>(sizes[static_cast<size_t>(r)]));
    }
    return result;
}

void barrier()
{
    if (!job())
        return;
    timed([&](Job& j) { waitWork(j, j.group->barrier(), "a barrier"); });
}

double commSeconds() { return job() ? job()->commSeconds : 0.0; }

void publish(const std::string& k, const std::string& value)
{
    if (!job())
        return;
    Job& j = *job();
    try {
        j.store->set("recalign/" + k, bytesOf(value));
    } catch (const std::exception& e) {
        peerFailed(j, "publishing '" + k + "'", e);
    }
}

std::string awaitFromWriter(const std::string& k)
{
    if (!job())
        return {};
    Job& j = *job();
    const std::string full = "recalign/" + k;
    int64_t lastBeat = -1;
    auto lastChange = Clock::now();
    try {
        for (;;) {
            if (j.store->check({full}))
                return stringOf(j.store->get(full));
            if (j.store->check({key("exit", 0)}))
                throw CoreException(ErrorCode::Internal,
                                    "rank 0 stopped (exit status " + stringOf(j.store->get(key("exit", 0)))
                                        + " reported by the launcher) before '" + k + "'; rank "
                                        + std::to_string(j.placement.rank) + " stops too",
                                    "distributed");
            const int64_t beat = j.store->add(key("hb", 0), 0);
            if (beat != lastBeat) {
                lastBeat = beat;
                lastChange = Clock::now();
            } else if (Clock::now() - lastChange > j.timeout) {
                throw CoreException(ErrorCode::Internal,
                                    "rank 0's heartbeat stopped for more than distributed.timeout_s = "
                                        + std::to_string(int(j.config.timeout_s)) + " s while rank "
                                        + std::to_string(j.placement.rank) + " waited for '" + k + "'",
                                    "distributed");
            }
            std::this_thread::sleep_for(milliseconds(50));
        }
    } catch (const CoreException&) {
        throw;
    } catch (const std::exception& e) {
        peerFailed(j, "a wait for rank 0 ('" + k + "')", e);
    }
}

struct StoreHost::Impl {
    c10::intrusive_ptr<c10d::TCPStore> server;
    c10::intrusive_ptr<c10d::Store> prefixed;
};

StoreHost::StoreHost(int port) : m(std::make_unique<Impl>())
{
    c10d::TCPStoreOptions o;
    o.port = static_cast<uint16_t>(port);
    o.isServer = true;
    o.waitWorkers = false;
    try {
        m->server = c10::make_intrusive<c10d::TCPStore>("127.0.0.1", o);
    } catch (const std::exception& e) {
        throw CoreException(ErrorCode::Internal, "cannot host the job's store on port " + std::to_string(port) + ": " + e.what(),
                            "distributed");
    }
    m->prefixed = c10::make_intrusive<c10d::PrefixStore>("/worker/attempt_0", m->server);
}

StoreHost::~StoreHost() = default;

int StoreHost::port() const { return m->server->getPort(); }

void StoreHost::recordExit(int rank, int status)
{
    try {
        m->prefixed->set(key("exit", rank), bytesOf(std::to_string(status)));
    } catch (const std::exception&) {
    }
}

}  // namespace recalign::core::dist
