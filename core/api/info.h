// SystemInfo: versions, BLAS, threads and devices, as `recalign info` and the status bar show them.
#pragma once

#include <string>
#include <vector>

namespace recalign::core {

struct BlasInfo {
    std::string library_path;  // the shared object that provides sgemm_
    std::string name;          // "OpenBLAS", "reference BLAS", "MKL", ...
    std::string config;        // openblas_get_config() when available
    bool is_reference = false; // true = the slow netlib reference BLAS: warn loudly
};

// The process's memory allocator policy. Training allocates and frees the same large activation
// and gradient blocks every step; with glibc's defaults those above the dynamic mmap threshold are
// mmap'd and unmapped each time and a freed heap top is trimmed back to the kernel, so every step
// faults its memory in again (measured: system time as large as user time). The policy keeps such
// blocks in the heap and keeps freed memory for reuse, up to a bounded amount.
struct AllocatorPolicy {
    std::string allocator = "glibc";  // or the preloaded library providing malloc (jemalloc, mimalloc)
    bool applied = false;             // false: RECALIGN_MALLOC=system, or an allocator we do not tune
    bool decommit = true;             // mimalloc: freed memory returned to the kernel (we turn it off)
    long arena = 0;                   // mimalloc: bytes of address space reserved for its arena
    long mmap_threshold = 0;          // bytes: larger blocks are mmap'd (glibc's ceiling is 32 MiB)
    long trim_threshold = 0;          // bytes of free heap top kept before returning memory
    long top_pad = 0;                 // bytes added to every heap extension
    int mmap_threshold_rc = 0;        // mallopt's return values: 1 accepted, 0 refused
    int trim_threshold_rc = 0;
    int top_pad_rc = 0;
    std::string describe() const;     // one line for `recalign info` and the benchmarks
};

// Sets the policy once, at program start (the CLI's and the GUI's main call it before any torch
// op); later calls return what is in force. RECALIGN_MALLOC=system leaves glibc's defaults (for
// measuring the difference).
AllocatorPolicy applyAllocatorPolicy();

// OpenBLAS's kernel family. Debian's OpenBLAS (DYNAMIC_ARCH) picks its kernels from the CPU
// models it knows and falls back to a generic SSE3 family (Prescott) on a newer one: on an Intel
// Xeon of model 207 (Emerald Rapids) OpenBLAS 0.3.21 chose Prescott, and torch's float32 1024²
// matmul on one thread ran 30.5 GFLOP/s against 83.2 with the SkylakeX kernels. At start-up, when
// $OPENBLAS_CORETYPE is unset and OpenBLAS chose kernels for less than the CPU has, the policy
// sets OPENBLAS_CORETYPE to the family the CPU's instruction set supports (Cooperlake with AVX-512
// BF16, SkylakeX with AVX-512 F/BW/DQ/VL, Haswell with AVX2 + FMA) and reruns OpenBLAS's own
// selection (gotoblas_dynamic_quit / _init) before any BLAS call; child processes (--nproc
// workers) inherit the variable. RECALIGN_BLAS_CORE=keep leaves OpenBLAS's choice.
struct BlasCorePolicy {
    std::string chosen;    // what OpenBLAS picked on its own ("" without OpenBLAS)
    std::string in_force;  // the family in force afterwards
    bool applied = false;  // true: the policy changed it
    std::string reason;    // why it did or did not
    std::string describe() const;  // one line for `recalign info` and the benchmarks
};
// The family to select, or "" to keep `chosen`: pure, for tests. `flags`: /proc/cpuinfo's.
std::string blasCoreTarget(const std::string& chosen, const std::vector<std::string>& flags);
// Applies the policy once (the CLI's and the GUI's main call it first); later calls return it.
BlasCorePolicy applyBlasCorePolicy();

// The thread pools' start-up settings, which libgomp and OpenBLAS read in their own initialisers,
// before main.
// - OpenMP's wait policy. torch's intra-op pool is libgomp's, whose idle threads spin (up to
//   300,000 rounds) waiting for the next parallel region: beside another busy process (a build, a
//   second run, the GUI) they take the CPU the working thread needs. On the class's AMD EPYC,
//   `bench train --dim 128 --compute-dtype bfloat16` with one `yes` beside it: SFT 3,395-3,746
//   tokens/s with libgomp's default, 5,085-5,539 with GOMP_SPINCOUNT=2000, 5,966-6,043 with
//   OMP_WAIT_POLICY=PASSIVE; idle: default 9,603-10,561, 2,000 rounds 9,175-9,935 (the same within
//   the machine's noise), PASSIVE 7,609-8,046 (every region wakes sleeping threads). So: a short
//   spin, then sleep: GOMP_SPINCOUNT=2000.
// - OpenBLAS's start-up threads. OpenBLAS starts a worker per further core in its initialiser;
//   each spins in sched_yield (a system call) for 2^28 cycles (~0.1 s) after start-up and after
//   every parallel product before it sleeps, while the thread plan gives OpenBLAS one thread in
//   most runs. On the class's Zen 3 EPYC (2 cores), `time recalign info`: sys 0.20-0.37 s with the
//   default, 0.10-0.14 s with OPENBLAS_NUM_THREADS=1; the miniature pipeline sys 0.26-0.37 s
//   against 0.18-0.21 s (user ~2.0-2.6 s). So OpenBLAS starts with one thread
//   (OPENBLAS_NUM_THREADS=1) and openblas_set_num_threads starts the workers when the plan gives
//   OpenBLAS more (float32 models at least kBlasWidth wide, training passes of large products).
//   Its workers then spin 2^20 cycles (OPENBLAS_THREAD_TIMEOUT=20, ~0.35 ms) after a product, not
//   2^28: `bench train --dim 128 --sft-steps 6 --ppo-iterations 0` (OpenBLAS 2 threads in SFT),
//   two runs each: sys 1.57 / 1.64 s at 28, 1.10 / 1.15 at 24, 0.83 / 0.88 at 20, SFT 10,895-10,913
//   tokens/s at 28, 11,399-11,548 at 20 (at 16: sys 0.56-0.59, 9,133-10,552 tokens/s).
// libc's initialiser resets the environment to the one the process started with, so the preset
// re-executes the program once, from the executable's .preinit_array (RECALIGN_PRESET_THREAD_POOLS
// in the CLI's and the GUI's main.cpp), which the dynamic loader calls before any initialiser:
// libtorch's (~0.5 s of operator registration) has not run yet, so the first image costs only its
// loading. It adds GOMP_SPINCOUNT=2000 unless OMP_WAIT_POLICY or GOMP_SPINCOUNT is set or
// RECALIGN_OMP_WAIT=keep, and OPENBLAS_NUM_THREADS=1 with OPENBLAS_THREAD_TIMEOUT=20 unless
// OPENBLAS_NUM_THREADS, GOTO_NUM_THREADS, OMP_NUM_THREADS or OPENBLAS_THREAD_TIMEOUT is set or
// RECALIGN_BLAS_START=keep, with RECALIGN_PRESET
// naming what it added; it runs when one of them is to be added, the machine has more than one
// core and the program is recalign or recalign-studio (not under valgrind and the like): it execs
// /proc/self/exe with the same arguments (same PID; child processes inherit the variables). It
// returns only when no re-exec was needed or the exec failed.
void presetThreadPools(int argc, char** argv, char** envp);
// In an executable's main.cpp, at namespace scope: the preset before every initialiser.
#define RECALIGN_PRESET_THREAD_POOLS                                                                   \
    __attribute__((section(".preinit_array"), used)) static void (*const recalignPresetThreadPools)( \
        int, char**, char**) = &recalign::core::presetThreadPools
struct PoolPreset {
    std::string in_force;  // e.g. "spin 2000 rounds, then sleep", "OMP_WAIT_POLICY=PASSIVE"
    std::string reason;    // who chose it
    std::string describe() const;  // one line for `recalign info`
};
// What is in force in this process (read from the environment it started with).
PoolPreset openMpWaitPolicy();
PoolPreset openBlasStartPolicy();

struct SystemInfo {
    std::string app_version;
    std::string torch_version;
    std::string sqlite_version;
    std::string sentencepiece_version;
    std::string tokenizer_module_path;
    std::string tokenizer_module_error;
    BlasInfo blas;
    AllocatorPolicy allocator;
    BlasCorePolicy blas_core;
    PoolPreset omp_wait;
    PoolPreset blas_start;
    int intra_op_threads = 0;
    bool cuda_available = false;
    std::vector<std::string> cuda_devices;
    std::string git_commit;  // project commit the binary was built from
};

// What a benchmark prints first so its figures mean the same on every machine.
struct MachineInfo {
    std::string cpu_model;             // /proc/cpuinfo "model name"
    std::vector<std::string> simd;     // of avx2, fma, avx512f, avx512_bf16, amx_bf16, ... that the CPU has
    std::string blas_core;             // OpenBLAS's kernel family (openblas_get_corename), "" otherwise
    std::string openblas_coretype;     // $OPENBLAS_CORETYPE ("" = unset)
    int cores = 0;                     // logical CPUs
    std::string describe() const;      // "CPU ...; SIMD ...; BLAS core ...; N cores"
};
MachineInfo machineInfo();

// The machine's matrix-multiply rate in GFLOP/s for a set of GEMM shapes {m, k, n} (an (m x k)
// by (k x n) product each, 2mkn FLOPs), in float32 or bfloat16 on the current intra-op threads:
// total FLOPs over total time, best of `repeats` rounds after a warm-up. Never throws (0 on error).
struct GemmShape {
    int m = 0, k = 0, n = 0;
};
double matmulGflops(const std::vector<GemmShape>& shapes, bool bf16, int repeats = 5);

// Gathers the information (loads the tokenizer module if needed). Never throws.
SystemInfo systemInfo();

// The warning to print when the reference BLAS is active ("" otherwise).
std::string blasWarning(const BlasInfo& blas);

// Process-wide compute threads, set once at program start before any torch op: torch's intra-op
// threads and OpenBLAS's own pool (the pthread OpenBLAS ignores torch's setting). 0 leaves a
// value unchanged. Returns the torch thread count now in effect. Defined in core/runtime (the one
// place threads are set); declared here so torch-free callers (app/, the CLI) can reach it.
int setComputeThreads(int torchThreads, int blasThreads = 0);

// The one thread policy. A process's budget is `budget` threads (<= 0: the machine's cores divided
// among the local processes, $LOCAL_WORLD_SIZE under torchrun or srun's $SLURM_NTASKS_PER_NODE);
// it goes either to torch's intra-op pool or to OpenBLAS's, never to both, because two pools
// busy-waiting on the same cores fight (2 cores, quickstart-size PPO: 7.7 s/iteration with 2 + 2
// threads, 2.6 s with 2 + 1) and OpenBLAS's idle workers spin in sched_yield (kernel time).
// Float32 products in a model at least kBlasWidth wide: OpenBLAS gets the budget and torch one
// thread (its GEMMs dominate and split well). Otherwise (bfloat16 products run through oneDNN on
// torch's pool; small models' GEMMs do not split well; width 0 = unknown) torch gets the budget
// and OpenBLAS one thread. The measurements behind it are in the README ("Threads").
struct ThreadPlan {
    int torch_threads = 1;
    int blas_threads = 1;
    std::string describe() const;  // "torch 2 threads, OpenBLAS 1"
};
inline constexpr int kBlasWidth = 256;
int localCoreBudget();
ThreadPlan planThreads(int budget, int modelWidth, bool bf16Products);
// Training passes whose products have thousands of rows (pre-training's batches, SFT's
// micro-batches): in float32 such products split well over OpenBLAS's threads whatever the model's
// width, so for the pass the budget goes to OpenBLAS and torch keeps one thread; bf16 products
// (oneDNN, on torch's pool) keep the budget on torch. Generation and PPO's concurrent passes keep
// their own plans. On the class's Zen 3 EPYC, `recalign bench train --dim 128 --sft-steps 6
// --ppo-iterations 0`, three alternating pairs: SFT 8,908-9,081 tokens/s with torch 2 + OpenBLAS 1
// (the width's plan), 12,024-12,398 with torch 1 + OpenBLAS 2, the same losses.
ThreadPlan planLargeProductThreads(int budget, bool bf16Products);
// planThreads, then setComputeThreads. Returns the plan applied.
ThreadPlan applyThreadPlan(int budget, int modelWidth, bool bf16Products);

}  // namespace recalign::core
