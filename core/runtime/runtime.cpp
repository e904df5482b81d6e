// Torch runtime glue and system information (versions, BLAS detection, devices).
#include "core/runtime/runtime.h"

#include "core/api/error.h"
#include "core/api/info.h"
#include "core/tokenizer/tokenizer.h"

#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/utils.h>
#include <torch/version.h>

#include <dlfcn.h>
#include <unistd.h>
#include <malloc.h>
#include <sqlite3.h>
#ifdef RECALIGN_HAVE_MIMALLOC
#include <mimalloc.h>
#endif

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <map>
#include <tuple>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <atomic>
#include <thread>

namespace recalign::core {

torch::Device resolveDevice(const DeviceSpec& spec)
{
    switch (spec.kind) {
    case DeviceSpec::Kind::Cpu:
        return torch::Device(torch::kCPU);
    case DeviceSpec::Kind::Auto:
        return torch::cuda::is_available() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
    case DeviceSpec::Kind::Cuda:
        if (!torch::cuda::is_available())
            throw CoreException(ErrorCode::InvalidConfig,
                                "device '" + spec.toString()
                                    + "': CUDA is not available in this libtorch build (use cpu or auto)",
                                "device");
        if (spec.index >= static_cast<int>(torch::cuda::device_count()))
            throw CoreException(ErrorCode::InvalidConfig,
                                "device '" + spec.toString() + "': only "
                                    + std::to_string(torch::cuda::device_count()) + " CUDA device(s)",
                                "device");
        return spec.index < 0 ? torch::Device(torch::kCUDA)
                              : torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(spec.index));
    }
    return torch::Device(torch::kCPU);
}

torch::Device resolveDevice(const std::string& text)
{
    auto spec = parseDevice(text);
    if (!spec)
        throw CoreException(spec.error().code, spec.error().message, spec.error().where);
    return resolveDevice(spec.value());
}

void seedTorch(uint64_t seed)
{
    torch::manual_seed(seed);
    if (torch::cuda::is_available())
        torch::cuda::manual_seed_all(seed);
}

namespace runtime_detail {

// OpenBLAS's thread functions when OpenBLAS is the loaded BLAS (null otherwise).
struct OpenBlasThreads {
    int (*get)() = nullptr;
    void (*set)(int) = nullptr;
};

OpenBlasThreads openBlasThreads()
{
    OpenBlasThreads f;
    f.get = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
    f.set = reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    return f;
}

}  // namespace runtime_detail

namespace runtime_detail {

// OpenBLAS's thread count as its initialiser left it: read once, before the first thread plan.
int openBlasStartThreads()
{
    static const int start = openBlasThreadCount();
    return start;
}

}  // namespace runtime_detail

int setComputeThreads(int torchThreads, int blasThreads)
{
    runtime_detail::openBlasStartThreads();
    if (torchThreads > 0)
        at::set_num_threads(torchThreads);
    if (blasThreads > 0)
        if (const auto blas = runtime_detail::openBlasThreads(); blas.set)
            blas.set(blasThreads);
    return at::get_num_threads();
}

ThreadPlan applyThreadPlan(int budget, int modelWidth, bool bf16Products)
{
    const ThreadPlan plan = planThreads(budget, modelWidth, bf16Products);
    setComputeThreads(plan.torch_threads, plan.blas_threads);
    return plan;
}

int openBlasThreadCount()
{
    const auto blas = runtime_detail::openBlasThreads();
    return blas.get ? blas.get() : 0;
}

ScopedBlasThreads::ScopedBlasThreads(int threads)
{
    const auto blas = runtime_detail::openBlasThreads();
    if (threads <= 0 || !blas.get || !blas.set)
        return;
    const int previous = blas.get();
    if (previous == threads)
        return;
    blas.set(threads);
    m_previous = previous;
}

ScopedBlasThreads::~ScopedBlasThreads()
{
    if (m_previous > 0)
        runtime_detail::openBlasThreads().set(m_previous);
}

ScopedComputeThreads::ScopedComputeThreads(int torchThreads, int blasThreads) : m_blas(blasThreads)
{
    const int previous = at::get_num_threads();
    if (torchThreads <= 0 || previous == torchThreads)
        return;
    at::set_num_threads(torchThreads);
    m_torchPrevious = previous;
}

ScopedComputeThreads::~ScopedComputeThreads()
{
    if (m_torchPrevious > 0)
        at::set_num_threads(m_torchPrevious);
}

ScopedLargeProductThreads::ScopedLargeProductThreads(const torch::Device& device, bool float32Products)
{
    if (!device.is_cpu())
        return;
    const ThreadPlan plan =
        planLargeProductThreads(std::max(at::get_num_threads(), openBlasThreadCount()), !float32Products);
    m_scope.emplace(plan.torch_threads, plan.blas_threads);
}

void runPair(bool parallel, const std::function<void()>& first, const std::function<void()>& second)
{
    runTasks(parallel ? 2 : 1, 2, [&](size_t i) { i == 0 ? first() : second(); });
}

void runTasks(int workers, size_t n, const std::function<void(size_t)>& task)
{
    if (workers <= 1 || n <= 1) {
        for (size_t i = 0; i < n; ++i)
            task(i);
        return;
    }
    const bool grad = torch::GradMode::is_enabled();
    std::atomic<size_t> next{1};  // task 0 is this thread's
    std::atomic<bool> failed{false};
    std::vector<std::exception_ptr> errors(n);
    auto work = [&](size_t i) {
        for (; i < n && !failed; i = next++) {
            try {
                task(i);
            } catch (...) {
                errors[i] = std::current_exception();
                failed = true;
            }
        }
    };
    std::vector<std::thread> helpers;
    for (int w = 1; w < workers && static_cast<size_t>(w) < n; ++w)
        helpers.emplace_back([&] {
            torch::AutoGradMode mode(grad);
            work(next++);
        });
    work(0);
    for (auto& h : helpers)
        h.join();
    for (const auto& e : errors)
        if (e)
            std::rethrow_exception(e);
}

namespace runtime_detail {

// The shared object that provides malloc: "glibc" unless another allocator was preloaded.
std::string mallocProvider()
{
    Dl_info dl;
    void* f = dlsym(RTLD_DEFAULT, "malloc");
    if (f && dladdr(f, &dl) && dl.dli_fname) {
        const std::string path = dl.dli_fname;
        for (const char* name : {"jemalloc", "mimalloc", "tcmalloc"})
            if (path.find(name) != std::string::npos)
                return name;
    }
    return "glibc";
}

AllocatorPolicy setAllocatorPolicy()
{
    AllocatorPolicy p;
    p.allocator = mallocProvider();
    const char* env = std::getenv("RECALIGN_MALLOC");
    if (env && std::strcmp(env, "system") == 0)
        return p;
#ifdef RECALIGN_HAVE_MIMALLOC
    // mimalloc hands freed segments back to the kernel after a delay; training frees and
    // re-allocates the same blocks (logits of tens of MiB) every step, so each step faulted them in
    // again (the quickstart's pre-training: 3.0 M page faults and 37.6 s system time, 0.09 M and
    // 29.9 s with decommit off). Freed memory stays mapped for reuse: RSS stays at the peak working
    // set. MIMALLOC_ALLOW_DECOMMIT in the environment still decides.
    // Blocks above mimalloc's segment size (SFT's logits on the quickstart: tens of MiB) get their
    // own segments, mapped and unmapped at every allocation unless they come from an arena: a
    // reserved (not committed) arena of a quarter of the machine's memory keeps them in the process
    // (sft_v2 of the quickstart: 58 instead of 42 steps in 30 s).
    if (p.allocator == "mimalloc") {
        if (!std::getenv("MIMALLOC_ALLOW_DECOMMIT"))
            mi_option_set(mi_option_allow_decommit, 0);
        if (!std::getenv("MIMALLOC_RESERVE_OS_MEMORY")) {
            const long pages = sysconf(_SC_PHYS_PAGES), pageSize = sysconf(_SC_PAGESIZE);
            if (pages > 0 && pageSize > 0) {
                p.arena = pages / 4 * pageSize;
                if (mi_reserve_os_memory(static_cast<size_t>(p.arena), /*commit=*/true, /*allow_large=*/true) != 0)
                    p.arena = 0;
            }
        }
        p.applied = true;
        p.decommit = mi_option_is_enabled(mi_option_allow_decommit);
        return p;
    }
#endif
    if (p.allocator != "glibc")
        return p;
    // glibc refuses an mmap threshold above HEAP_MAX_SIZE / 2 (32 MiB on 64-bit): larger blocks
    // stay mmap'd whatever is asked. Below it, a fixed threshold also stops glibc's dynamic one.
    p.mmap_threshold = 32L << 20;
    p.trim_threshold = 256L << 20;
    p.top_pad = 16L << 20;
    p.mmap_threshold_rc = mallopt(M_MMAP_THRESHOLD, static_cast<int>(p.mmap_threshold));
    p.trim_threshold_rc = mallopt(M_TRIM_THRESHOLD, static_cast<int>(p.trim_threshold));
    p.top_pad_rc = mallopt(M_TOP_PAD, static_cast<int>(p.top_pad));
    p.applied = p.mmap_threshold_rc == 1 && p.trim_threshold_rc == 1 && p.top_pad_rc == 1;
    return p;
}

}  // namespace runtime_detail

std::string AllocatorPolicy::describe() const
{
    if (allocator == "mimalloc" && applied)
        return std::string("mimalloc malloc (linked), ") + (decommit ? "decommits freed memory" : "keeps freed memory mapped for reuse")
            + (arena > 0 ? ", " + std::to_string(arena >> 20) + " MiB arena mapped (pages resident once touched)" : std::string());
    if (!applied)
        return allocator + (allocator == "glibc" ? " malloc, default thresholds" : " malloc (linked or preloaded)");
    auto mib = [](long b) { return std::to_string(b >> 20) + " MiB"; };
    return allocator + " malloc: mmap threshold " + mib(mmap_threshold) + ", trim threshold " + mib(trim_threshold)
        + ", top pad " + mib(top_pad) + " (mallopt accepted " + std::to_string(mmap_threshold_rc) + "/"
        + std::to_string(trim_threshold_rc) + "/" + std::to_string(top_pad_rc) + ")";
}

AllocatorPolicy applyAllocatorPolicy()
{
    static std::once_flag once;
    static AllocatorPolicy policy;
    std::call_once(once, [] { policy = runtime_detail::setAllocatorPolicy(); });
    return policy;
}

namespace runtime_detail {

BlasInfo detectBlas()
{
    BlasInfo info;
    void* sgemm = dlsym(RTLD_DEFAULT, "sgemm_");
    if (sgemm) {
        Dl_info dl;
        if (dladdr(sgemm, &dl) && dl.dli_fname)
            info.library_path = dl.dli_fname;
    }
    using ConfigFn = char* (*)();
    if (auto cfg = reinterpret_cast<ConfigFn>(dlsym(RTLD_DEFAULT, "openblas_get_config"))) {
        info.name = "OpenBLAS";
        info.config = cfg();
    } else if (dlsym(RTLD_DEFAULT, "mkl_get_version")) {
        info.name = "MKL";
    } else if (dlsym(RTLD_DEFAULT, "bli_info_get_version_str")) {
        info.name = "BLIS";
    } else if (info.library_path.find("/blas/") != std::string::npos) {
        info.name = "reference BLAS";
        info.is_reference = true;
    } else if (!info.library_path.empty()) {
        info.name = "unknown BLAS";
    } else {
        info.name = "none linked (torch's own kernels)";
    }
    return info;
}

}  // namespace runtime_detail

namespace runtime_detail {

// OpenBLAS's kernel families by the widest vector instructions they use: 0 = SSE only (Prescott,
// Core2, Nehalem, Atom, Opteron, ...), 1 = AVX, 2 = AVX2 + FMA, 3 = AVX-512, 4 = AVX-512 BF16.
int blasCoreRank(std::string name)
{
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    if (name == "cooperlake" || name == "sapphirerapids")
        return 4;
    if (name == "skylakex")
        return 3;
    if (name == "haswell" || name == "zen")
        return 2;
    if (name == "sandybridge" || name == "bulldozer" || name == "piledriver" || name == "steamroller"
        || name == "excavator")
        return 1;
    return 0;
}

std::vector<std::string> cpuFlags()
{
    std::ifstream in("/proc/cpuinfo");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("flags", 0) == 0 && line.find(':') != std::string::npos) {
            std::istringstream words(line.substr(line.find(':') + 1));
            std::vector<std::string> flags;
            for (std::string w; words >> w;)
                flags.push_back(w);
            return flags;
        }
    return {};
}

}  // namespace runtime_detail

std::string blasCoreTarget(const std::string& chosen, const std::vector<std::string>& flags)
{
    const std::set<std::string> f(flags.begin(), flags.end());
    const bool avx512 = f.count("avx512f") && f.count("avx512bw") && f.count("avx512dq") && f.count("avx512vl");
    std::string target;
    if (avx512 && f.count("avx512_bf16"))
        target = "Cooperlake";
    else if (avx512)
        target = "SkylakeX";
    else if (f.count("avx2") && f.count("fma"))
        target = "Haswell";
    if (target.empty() || runtime_detail::blasCoreRank(target) <= runtime_detail::blasCoreRank(chosen))
        return {};
    return target;
}

BlasCorePolicy applyBlasCorePolicy()
{
    static std::once_flag once;
    static BlasCorePolicy policy;
    std::call_once(once, [] {
        using NameFn = char* (*)();
        using VoidFn = void (*)();
        const auto corename = reinterpret_cast<NameFn>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
        const auto quit = reinterpret_cast<VoidFn>(dlsym(RTLD_DEFAULT, "gotoblas_dynamic_quit"));
        const auto init = reinterpret_cast<VoidFn>(dlsym(RTLD_DEFAULT, "gotoblas_dynamic_init"));
        if (!corename) {
            policy.reason = "no OpenBLAS";
            return;
        }
        policy.chosen = policy.in_force = corename();
        const char* user = std::getenv("OPENBLAS_CORETYPE");
        const char* keep = std::getenv("RECALIGN_BLAS_CORE");
        const std::string target = blasCoreTarget(policy.chosen, runtime_detail::cpuFlags());
        if (user && *user)
            policy.reason = std::string("OPENBLAS_CORETYPE=") + user + " set by the user";
        else if (keep && std::string(keep) == "keep")
            policy.reason = "RECALIGN_BLAS_CORE=keep";
        else if (target.empty())
            policy.reason = "OpenBLAS's choice uses what the CPU has";
        else if (!quit || !init)
            policy.reason = "this OpenBLAS cannot reselect its kernels (not DYNAMIC_ARCH)";
        else {
            setenv("OPENBLAS_CORETYPE", target.c_str(), 1);
            quit();
            init();
            policy.in_force = corename();
            policy.applied = policy.in_force != policy.chosen;
            policy.reason = policy.applied ? "the CPU supports " + target + "'s kernels"
                                           : "OpenBLAS did not accept " + target;
        }
    });
    return policy;
}

namespace {
#define RECALIGN_OMP_SPIN_ROUNDS "2000"
#define RECALIGN_PRESET_MARKER "RECALIGN_PRESET"  // which variables the preset added: "omp", "blas", "omp,blas"
constexpr const char* kOmpSpinRounds = RECALIGN_OMP_SPIN_ROUNDS;
constexpr const char* kPresetMarker = RECALIGN_PRESET_MARKER;
// The variables the re-exec adds (writable: execve takes char*).
char g_ompSpinVariable[] = "GOMP_SPINCOUNT=" RECALIGN_OMP_SPIN_ROUNDS;
char g_blasThreadsVariable[] = "OPENBLAS_NUM_THREADS=1";
#define RECALIGN_BLAS_TIMEOUT "20"  // 2^20 cycles (~0.35 ms) of spinning after a product, then sleep
char g_blasTimeoutVariable[] = "OPENBLAS_THREAD_TIMEOUT=" RECALIGN_BLAS_TIMEOUT;
char g_markerBoth[] = RECALIGN_PRESET_MARKER "=omp,blas";
char g_markerOmp[] = RECALIGN_PRESET_MARKER "=omp";
char g_markerBlas[] = RECALIGN_PRESET_MARKER "=blas";
// Zero-initialised (no constructor): written before any initialiser has run.
int g_presetErrno = 0;     // errno of a failed readlink or execve
int g_presetOtherExe = 0;  // 1: the executable is not recalign or recalign-studio

// A variable of `env` (plain C: the preset reads the envp it is given, before libc's getenv
// sees anything; the report reads environ).
const char* envValue(char** env, const char* name)
{
    const size_t len = std::strlen(name);
    for (char** e = env; e && *e; ++e)
        if (std::strncmp(*e, name, len) == 0 && (*e)[len] == '=')
            return *e + len + 1;
    return nullptr;
}
bool isSet(char** env, const char* name)
{
    const char* v = envValue(env, name);
    return v && *v;
}
bool kept(char** env, const char* name)
{
    const char* keep = envValue(env, name);
    return keep && std::strcmp(keep, "keep") == 0;
}
bool isSet(const char* name) { return isSet(environ, name); }
// The user's own choice for a pool: libgomp's wait policy, OpenBLAS's start-up thread count
// (OpenBLAS reads OPENBLAS_NUM_THREADS, then GOTO_NUM_THREADS, then OMP_NUM_THREADS).
bool ompWaitChosen(char** env)
{
    return isSet(env, "OMP_WAIT_POLICY") || isSet(env, "GOMP_SPINCOUNT") || kept(env, "RECALIGN_OMP_WAIT");
}
bool blasStartChosen(char** env)
{
    return isSet(env, "OPENBLAS_NUM_THREADS") || isSet(env, "GOTO_NUM_THREADS") || isSet(env, "OMP_NUM_THREADS")
        || isSet(env, "OPENBLAS_THREAD_TIMEOUT") || isSet(env, "GOTO_THREAD_TIMEOUT") || kept(env, "RECALIGN_BLAS_START");
}
// Whether the preset of this process added `what` ("omp" or "blas").
bool presetAdded(const char* what)
{
    const char* marker = envValue(environ, kPresetMarker);
    return marker && std::strstr(marker, what) != nullptr;
}
// Why the preset left a pool's variables as they were (neither the user's nor ours).
std::string presetNotRun(const char* keepVariable)
{
    return g_presetErrno != 0                       ? std::string("re-exec failed: ") + std::strerror(g_presetErrno)
        : g_presetOtherExe != 0                     ? "not run as recalign or recalign-studio (a wrapper?): not re-executed"
        : kept(environ, keepVariable)               ? std::string(keepVariable) + "=keep"
        : std::thread::hardware_concurrency() <= 1 ? "one core"
                                                    : "this program does not preset it (RECALIGN_PRESET_THREAD_POOLS)";
}
}  // namespace

// Called by the dynamic loader before any initialiser (libc's included, which resets the
// environment to the one the process started with, so setenv alone would not last): plain C
// calls only. Re-executes the program with the variables added to its environment.
void presetThreadPools(int, char** argv, char** envp)
{
    if (!argv || !argv[0] || !envp || isSet(envp, kPresetMarker) || std::thread::hardware_concurrency() <= 1)
        return;
    const bool omp = !ompWaitChosen(envp), blas = !blasStartChosen(envp);
    if (!omp && !blas)
        return;
    char exe[4096];
    const ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0) {
        g_presetErrno = errno;
        return;
    }
    exe[n] = '\0';
    const char* slash = std::strrchr(exe, '/');
    const char* name = slash ? slash + 1 : exe;
    if (std::strcmp(name, "recalign") != 0 && std::strcmp(name, "recalign-studio") != 0) {
        g_presetOtherExe = 1;  // e.g. under valgrind: leave the process as it is
        return;
    }
    size_t count = 0;
    while (envp[count])
        ++count;
    auto** env = static_cast<char**>(std::malloc((count + 5) * sizeof(char*)));
    if (!env)
        return;
    std::memcpy(env, envp, count * sizeof(char*));
    size_t k = count;
    if (omp)
        env[k++] = g_ompSpinVariable;
    if (blas) {
        env[k++] = g_blasThreadsVariable;
        env[k++] = g_blasTimeoutVariable;
    }
    env[k++] = omp && blas ? g_markerBoth : omp ? g_markerOmp : g_markerBlas;
    env[k] = nullptr;
    execve(exe, argv, env);
    g_presetErrno = errno;  // only reached when the exec failed: libgomp and OpenBLAS keep their defaults
    std::free(env);
}

PoolPreset openMpWaitPolicy()
{
    PoolPreset p;
    if (presetAdded("omp")) {
        p.in_force = std::string("spin ") + kOmpSpinRounds + " rounds, then sleep";
        p.reason = "set at start-up: idle threads leave the CPU to other work soon";
    } else if (isSet("OMP_WAIT_POLICY") || isSet("GOMP_SPINCOUNT")) {
        for (const char* v : {"OMP_WAIT_POLICY", "GOMP_SPINCOUNT"})
            if (isSet(v))
                p.in_force += (p.in_force.empty() ? "" : ", ") + std::string(v) + "=" + std::getenv(v);
        p.reason = "set by the user";
    } else {
        p.in_force = "libgomp's default (spin 300,000 rounds, then sleep)";
        p.reason = presetNotRun("RECALIGN_OMP_WAIT");
    }
    return p;
}

PoolPreset openBlasStartPolicy()
{
    PoolPreset p;
    const int start = runtime_detail::openBlasStartThreads();
    const std::string pool = start > 0 ? "; started with " + std::to_string(start) + (start == 1 ? " thread" : " threads")
                                       : std::string("; OpenBLAS not loaded");
    if (presetAdded("blas")) {
        p.in_force = "OPENBLAS_NUM_THREADS=1, workers started when the thread plan asks, OPENBLAS_THREAD_TIMEOUT="
                     RECALIGN_BLAS_TIMEOUT " (~0.35 ms of spinning after a product)" + pool;
        p.reason = "set at start-up: no idle worker spins in sched_yield before a product needs it or long after";
    } else if (isSet("OPENBLAS_NUM_THREADS") || isSet("GOTO_NUM_THREADS") || isSet("OMP_NUM_THREADS")
               || isSet("OPENBLAS_THREAD_TIMEOUT") || isSet("GOTO_THREAD_TIMEOUT")) {
        for (const char* v : {"OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_THREAD_TIMEOUT",
                              "GOTO_THREAD_TIMEOUT"})
            if (isSet(v))
                p.in_force += (p.in_force.empty() ? "" : ", ") + std::string(v) + "=" + std::getenv(v);
        p.in_force += pool;
        p.reason = "set by the user";
    } else {
        p.in_force = "OpenBLAS's default (a worker per further core, each spinning ~0.1 s in sched_yield after start-up "
                     "and after every parallel product)" + pool;
        p.reason = presetNotRun("RECALIGN_BLAS_START");
    }
    return p;
}

std::string PoolPreset::describe() const
{
    return in_force + " (" + reason + ")";
}

std::string BlasCorePolicy::describe() const
{
    if (chosen.empty())
        return reason;
    return applied ? in_force + " (OpenBLAS chose " + chosen + "; " + reason + ")" : in_force + " (" + reason + ")";
}

std::string blasWarning(const BlasInfo& blas)
{
    if (!blas.is_reference)
        return {};
    return "WARNING: the reference BLAS (" + blas.library_path
        + ") is active: matrix products run ~30x slower. Install libopenblas0-pthread "
          "(scripts/bootstrap.sh does) or select it with update-alternatives.";
}

std::string MachineInfo::describe() const
{
    std::string simdText;
    for (const auto& f : simd)
        simdText += (simdText.empty() ? "" : " ") + f;
    return "CPU " + (cpu_model.empty() ? std::string("unknown") : cpu_model) + " (" + std::to_string(cores)
        + " logical); SIMD " + (simdText.empty() ? std::string("none listed") : simdText) + "; BLAS core "
        + (blas_core.empty() ? std::string("n/a") : blas_core)
        + (openblas_coretype.empty() ? std::string() : " (OPENBLAS_CORETYPE=" + openblas_coretype + ")");
}

MachineInfo machineInfo()
{
    MachineInfo m;
    m.cores = static_cast<int>(std::thread::hardware_concurrency());
    std::ifstream in("/proc/cpuinfo");
    std::set<std::string> flags;
    for (std::string line; std::getline(in, line);) {
        const auto colon = line.find(':');
        if (colon == std::string::npos)
            continue;
        std::string key = line.substr(0, colon);
        key.erase(key.find_last_not_of(" \t") + 1);
        const std::string value = colon + 2 <= line.size() ? line.substr(colon + 2) : std::string();
        if (key == "model name" && m.cpu_model.empty())
            m.cpu_model = value;
        if (key == "flags" && flags.empty()) {
            std::istringstream words(value);
            for (std::string w; words >> w;)
                flags.insert(w);
        }
    }
    for (const char* f : {"avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16"})
        if (flags.count(f))
            m.simd.emplace_back(f);
    if (auto corename = reinterpret_cast<char* (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_corename")))
        m.blas_core = corename();
    if (const char* t = std::getenv("OPENBLAS_CORETYPE"))
        m.openblas_coretype = t;
    return m;
}

double matmulGflops(const std::vector<GemmShape>& shapes, bool bf16, int repeats)
{
    try {
        torch::NoGradGuard noGrad;
        const auto dtype = bf16 ? torch::kBFloat16 : torch::kFloat;
        // One pair of operands per distinct shape, multiplied as often as the shape occurs: a
        // 7B model's shapes must not allocate a second copy of the model.
        std::map<std::tuple<int, int, int>, int> counts;
        for (const auto& s : shapes)
            ++counts[{s.m, s.k, s.n}];
        std::vector<std::tuple<torch::Tensor, torch::Tensor, int>> operands;
        double flops = 0;
        for (const auto& [shape, n] : counts) {
            const auto [m, k, nn] = shape;
            operands.emplace_back(torch::randn({m, k}).to(dtype), torch::randn({k, nn}).to(dtype), n);
            flops += 2.0 * m * k * nn * n;
        }
        auto round = [&] {
            const auto t0 = std::chrono::steady_clock::now();
            for (const auto& [a, b, n] : operands)
                for (int i = 0; i < n; ++i)
                    (void)torch::mm(a, b);
            return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        };
        round();  // warm-up
        double best = 1e300;
        for (int r = 0; r < std::max(1, repeats); ++r)
            best = std::min(best, round());
        return best > 0 ? flops / best / 1e9 : 0.0;
    } catch (...) {
        return 0.0;
    }
}

SystemInfo systemInfo()
{
    SystemInfo s;
#ifdef RECALIGN_VERSION
    s.app_version = RECALIGN_VERSION;
#endif
#ifdef RECALIGN_GIT_COMMIT
    s.git_commit = RECALIGN_GIT_COMMIT;
#endif
    s.torch_version = TORCH_VERSION;
    s.sqlite_version = sqlite3_libversion();
    s.allocator = applyAllocatorPolicy();
    s.blas_core = applyBlasCorePolicy();
    s.omp_wait = openMpWaitPolicy();
    s.blas_start = openBlasStartPolicy();
    const auto tok = tokenizerModuleInfo();
    s.sentencepiece_version = tok.library_version;
    s.tokenizer_module_path = tok.path;
    s.tokenizer_module_error = tok.error;
    s.blas = runtime_detail::detectBlas();
    s.intra_op_threads = at::get_num_threads();
    s.cuda_available = torch::cuda::is_available();
    for (size_t i = 0; i < (s.cuda_available ? torch::cuda::device_count() : 0); ++i)
        s.cuda_devices.push_back("cuda:" + std::to_string(i));
    return s;
}

}  // namespace recalign::core
