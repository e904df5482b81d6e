// RunStore: the workspace's SQLite run store (one file, runs.sqlite, per workspace) as the CLI
// and the GUI see it: experiments, runs with Sacred-style capture (config, seed, git, versions,
// host, status, heartbeat), content-addressed stages, metric time series, evaluation results,
// generated samples and artifacts. Torch-free and Qt-free; implemented in core/store/.
//
// Concurrency: WAL mode with a busy timeout, so a reader on its own RunStore (connection) never
// blocks the writer and sees the last committed state. One RunStore may be shared between
// threads (calls are serialised by an internal mutex); for a GUI reading while a worker writes,
// open one RunStore per thread. Every method returns an Error / Result and never throws. SQL
// uses bound parameters only.
//
// Crash recovery: a writer calls heartbeat(run) at least every 30 s while a run is running. On
// open (read-write), runs still marked "running" whose heartbeat is older than
// OpenOptions::stale_after_s are marked "failed" with error "interrupted: ..." and ended_at =
// their last heartbeat; `recalign run --resume RUN` continues such a run.
#pragma once

#include "core/api/error.h"
#include "core/api/observer.h"
#include "core/api/tables.h"

#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace recalign::core {

inline constexpr int kStoreSchemaVersion = 4;       // PRAGMA user_version this build writes
inline constexpr const char* kStoreFileName = "runs.sqlite";  // inside the workspace folder

enum class RunStatus { Queued, Running, Finished, Failed, Cancelled };
const char* runStatusName(RunStatus s);  // "queued", "running", ...
bool parseRunStatus(const std::string& text, RunStatus* out);

struct ExperimentRecord {
    int64_t id = 0;
    std::string name;
    std::string file_path;    // the YAML file it came from ("" = built in / GUI)
    std::string config_yaml;  // the file's text when recorded
    double created_at = 0;    // Unix seconds
};

// Sacred-style capture of where and how a run executes.
struct RunEnvironment {
    std::string git_commit;   // project commit ("" = unknown)
    bool git_dirty = false;   // uncommitted changes to tracked files
    std::string app_version;
    std::string library_versions_json;  // {"torch": "1.13.1", "sqlite": "3.40.1", ...}
    std::string host_name;
    std::string host_cpu;     // CPU model name
    int host_threads = 0;     // hardware threads
    std::string host_gpu;     // "" = none
    std::string device;       // resolved device, e.g. "cpu", "cuda:0"
};

// A seed group: one experiment run once per seed (`seeds: [0, 1, 2]`). Its runs share the
// configuration; tables and curves aggregate over them. Runs from before schema 4 (and runs
// started with --seed S) belong to no group (group_id 0).
struct RunGroup {
    int64_t id = 0;
    int64_t experiment_id = 0;
    std::string name;
    std::string config_hash;    // of the shared configuration
    std::vector<int64_t> seeds; // in the order they run
    double created_at = 0;
};

struct NewRun {
    int64_t experiment_id = 0;  // 0 = none
    int64_t group_id = 0;       // 0 = none
    std::string name;
    std::string config_json;    // canonicalJson() of the experiment
    std::string config_hash;    // sha256 of config_json (filled by createRun when empty)
    int64_t seed = 0;
    RunStatus status = RunStatus::Queued;
    RunEnvironment env;
    int64_t resumed_from = 0;   // run this one continues (0 = none)
};

struct RunInfo {
    int64_t id = 0;
    int64_t experiment_id = 0;
    int64_t group_id = 0;       // seed group (0 = none)
    std::string experiment_name;
    std::string name;
    std::string config_json;
    std::string config_hash;
    int64_t seed = 0;
    RunStatus status = RunStatus::Queued;
    RunEnvironment env;
    double created_at = 0;
    double started_at = 0;      // 0 = not started
    double ended_at = 0;        // 0 = not ended
    double heartbeat_at = 0;
    std::string error;
    std::string notes;
    int64_t resumed_from = 0;
};

struct RunFilter {
    int64_t experiment_id = 0;   // 0 = any
    int64_t group_id = 0;        // 0 = any
    bool any_status = true;
    RunStatus status = RunStatus::Running;  // when !any_status
    int limit = 0;               // 0 = no limit; newest first
};

enum class StageStatus { Running, Finished, Failed };
const char* stageStatusName(StageStatus s);

struct StageRecord {
    int64_t id = 0;
    int64_t run_id = 0;
    // A stage taken from the cache instead of computed: the run that computed it (0 = computed
    // here). Its curves are copied into this run under the same stage name when it is reused.
    int64_t reused_from_run = 0;
    std::string name;           // "data", "teacher", "sft_v2", "ppo_full", "eval_v2", ...
    std::string content_hash;   // hash of config section + input hashes
    StageStatus status = StageStatus::Running;
    std::string output_path;    // folder with the stage's outputs
    double started_at = 0;
    double ended_at = 0;
};

struct MetricPoint {
    int64_t run_id = 0;
    std::string stage;
    std::string name;
    int64_t step = 0;
    double wall_time = 0;   // Unix seconds
    double value = 0;       // NaN and +-inf are kept
};

// One series, columnar for plotting.
struct MetricSeries {
    int64_t run_id = 0;
    std::string stage;
    std::string name;
    std::vector<int64_t> steps;
    std::vector<double> wall_times;
    std::vector<double> values;
};

struct SeriesInfo {
    std::string stage;
    std::string name;
    int64_t points = 0;
    int64_t first_step = 0;
    int64_t last_step = 0;
    double last_value = 0;
};

struct EvalRecord {
    int64_t run_id = 0;
    std::string variant;    // variant_name::*
    std::string task;       // task_name::*
    std::string metric;     // metric_name::*
    double value = 0;
    int64_t n = 0;
    double std_error = 0;
};

struct SampleRow {
    int64_t id = 0;
    int64_t run_id = 0;
    std::string stage;
    std::string variant;
    std::string task;
    int64_t step = 0;
    std::string prompt;
    std::string output;       // raw generated text
    std::string details_json; // parsed items, legality, ranks, rewards
    double created_at = 0;
};

struct SampleFilter {
    int64_t run_id = 0;        // required
    std::string stage;         // "" = any
    std::string variant;       // "" = any
    std::string task;          // "" = any
    std::string text;          // substring of prompt or output ("" = any)
    int limit = 1000;          // 0 = no limit
    int offset = 0;
};

struct ArtifactRecord {
    int64_t id = 0;
    int64_t run_id = 0;
    std::string path;
    std::string kind;          // "checkpoint", "lora", "tokenizer", "dataset", "table", ...
    std::string sha256;
    int64_t size = 0;
    double created_at = 0;
};

struct OpenOptions {
    bool read_only = false;
    double stale_after_s = 120;  // heartbeat age that marks a running run as interrupted
    int busy_timeout_ms = 5000;
};

class RunStore {
public:
    RunStore();
    ~RunStore();
    RunStore(const RunStore&) = delete;
    RunStore& operator=(const RunStore&) = delete;

    // Opens (creating and migrating as needed) the store file. `path` is the database file;
    // use workspaceStorePath() for a workspace folder. Read-only opens never migrate or recover.
    Error open(const std::string& path, const OpenOptions& options = {});
    Error openInMemory();
    void close();
    bool isOpen() const;
    const std::string& path() const { return m_path; }
    int schemaVersion() const;  // PRAGMA user_version of the open file
    // Runs that open() marked interrupted (ids), for a message to the user.
    const std::vector<int64_t>& recoveredRuns() const { return m_recovered; }

    // --- experiments and runs ---
    Result<int64_t> addExperiment(const ExperimentRecord& e);
    Result<std::vector<ExperimentRecord>> listExperiments();
    Result<int64_t> createRun(const NewRun& run);
    Error setRunStatus(int64_t run, RunStatus status, const std::string& error = {});
    Error heartbeat(int64_t run);
    Error setRunNotes(int64_t run, const std::string& notes);
    Error deleteRun(int64_t run);  // with its stages, metrics, results, samples, artifacts
    Result<RunInfo> runInfo(int64_t run);
    Result<std::vector<RunInfo>> listRuns(const RunFilter& filter = {});
    // Seed groups.
    Result<int64_t> createGroup(const RunGroup& group);
    Result<RunGroup> group(int64_t id);
    Result<std::vector<RunGroup>> listGroups();
    // Marks stale running runs as interrupted now (open() does this too). Returns their ids.
    Result<std::vector<int64_t>> recoverStaleRuns(double stale_after_s);

    // --- stages (content-addressed reuse) ---
    Result<int64_t> beginStage(int64_t run, const std::string& name, const std::string& content_hash,
                               const std::string& output_path);
    Error endStage(int64_t stage_id, StageStatus status);
    Result<std::vector<StageRecord>> stages(int64_t run);
    // The newest finished stage with this hash (any run), for reuse; id 0 when none.
    Result<StageRecord> findFinishedStage(const std::string& content_hash);
    // Records that `stage_id` was taken from the cache of run `from_run` and copies that run's
    // metric series and samples of the stage's name into the stage's run (same stage name,
    // steps and wall times; samples already there are not copied twice).
    // `also` names further metric stages the stage logs under (pre-training's "pretrain" inside
    // "base_model").
    Error markStageReused(int64_t stage_id, int64_t from_run, const std::vector<std::string>& also = {});

    // --- metrics ---
    // Appends many points in one transaction. A (run, stage, name, step) written again replaces
    // the old value (a resumed run re-logging steps after its checkpoint).
    Error appendMetrics(const std::vector<MetricPoint>& points);
    Error appendSteps(int64_t run, const std::vector<StepRecord>& steps);  // observer records
    Result<MetricSeries> metricSeries(int64_t run, const std::string& stage, const std::string& name,
                                      int64_t since_step = std::numeric_limits<int64_t>::min());
    Result<std::vector<SeriesInfo>> metricNames(int64_t run);

    // --- evaluation results (one row per run, variant, task, metric; re-adding replaces) ---
    Error putEvalResults(const std::vector<EvalRecord>& rows);
    Result<std::vector<EvalRecord>> evalResults(int64_t run);
    Result<std::vector<EvalRecord>> evalResults(const std::vector<int64_t>& runs);
    // Per-unit values (re-adding a (run, variant, task, metric) replaces it).
    Error putEvalUnits(const std::vector<EvalUnits>& units);  // EvalUnits: core/api/tables.h
    Result<std::vector<EvalUnits>> evalUnits(const std::vector<int64_t>& runs);

    // --- samples and artifacts ---
    // A sample already stored for the run (same stage, variant, task, step, prompt and output) is
    // not stored twice: a resumed run re-records the steps after its checkpoint and the samples of
    // the stages it reuses. addSample returns the stored row's id.
    Result<int64_t> addSample(int64_t run, const SampleRecord& sample);
    Error addSamples(int64_t run, const std::vector<SampleRecord>& samples);
    Result<std::vector<SampleRow>> samples(const SampleFilter& filter);
    Result<int64_t> countSamples(const SampleFilter& filter);
    Result<int64_t> addArtifact(const ArtifactRecord& artifact);
    Result<std::vector<ArtifactRecord>> artifacts(int64_t run);

    struct Impl;  // opaque: the sqlite3 connection and caches (core/store/store_impl.h)

private:
    std::unique_ptr<Impl> m_impl;
    std::string m_path;
    std::vector<int64_t> m_recovered;
    mutable std::recursive_mutex m_mutex;
};

// <workspace>/runs.sqlite
std::string workspaceStorePath(const std::string& workspace);

// Evaluation results as table rows (core/api/tables.h).
std::vector<EvalRow> toEvalRows(const std::vector<EvalRecord>& results);

// The paper's tables for `runs` as the CLI's export, `recalign run` and the GUI's Compare show
// them (one home): K from the first run's evaluation.topk unless given; runs of a seed group
// aggregated into mean ± std rows (unless per_seed) labelled with the group's name; the paired
// significance tests (tables.h) on the per-unit values when `significance`.
struct StoreTableOptions {
    std::vector<TableKind> kinds;  // empty = all four
    int k = 0;                     // 0 = the first run's evaluation.topk (10 when unknown)
    bool per_seed = false;
    bool significance = true;
    SignificanceOptions tests;
};
Result<std::vector<Table>> storeTables(RunStore& store, const std::vector<int64_t>& runs,
                                       const StoreTableOptions& options = {});
// The runs of seed group `group`, in the group's seed order (the newest run per seed).
Result<std::vector<int64_t>> groupRunIds(RunStore& store, int64_t group);

// Host capture without torch: hostname, CPU model, hardware threads, git commit and dirty flag
// of the checkout holding `source_dir` ("" skips git), sqlite version in library_versions_json.
// The caller adds torch / CUDA details it knows.
RunEnvironment captureEnvironment(const std::string& source_dir);

// Seconds since the Unix epoch (the store's clock).
double unixNow();

}  // namespace recalign::core
