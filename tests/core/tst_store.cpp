// Run store: schema migration from version 1, record round trips, bound parameters with quotes
// and Unicode, 100k batched metric points, a reader on its own connection while a writer writes
// (WAL), stale-heartbeat recovery, content-addressed stages and cascading deletes.
#include "core/api/store_api.h"

#include <sqlite3.h>

#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <thread>

using namespace recalign::core;

namespace tst_store_detail {

// The version-1 schema exactly as the store's first migration creates it.
const char* kVersionOneSchema = R"sql(
CREATE TABLE experiments(id INTEGER PRIMARY KEY, name TEXT NOT NULL, file_path TEXT NOT NULL DEFAULT '',
    config_yaml TEXT NOT NULL DEFAULT '', created_at REAL NOT NULL);
CREATE TABLE runs(id INTEGER PRIMARY KEY, experiment_id INTEGER REFERENCES experiments(id) ON DELETE SET NULL,
    name TEXT NOT NULL DEFAULT '', config_json TEXT NOT NULL, seed INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL CHECK(status IN ('queued','running','finished','failed','cancelled')),
    created_at REAL NOT NULL, started_at REAL, ended_at REAL, heartbeat_at REAL, error TEXT NOT NULL DEFAULT '',
    git_commit TEXT NOT NULL DEFAULT '', git_dirty INTEGER NOT NULL DEFAULT 0);
CREATE INDEX runs_status ON runs(status);
CREATE TABLE metrics(run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, stage TEXT NOT NULL,
    name TEXT NOT NULL, step INTEGER NOT NULL, wall_time REAL NOT NULL, value REAL);
CREATE INDEX metrics_series ON metrics(run_id, stage, name, step);
CREATE TABLE eval_results(run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, variant TEXT NOT NULL,
    task TEXT NOT NULL, metric TEXT NOT NULL, value REAL, n INTEGER NOT NULL DEFAULT 0,
    std_error REAL NOT NULL DEFAULT 0, PRIMARY KEY(run_id, variant, task, metric));
CREATE TABLE samples(id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    stage TEXT NOT NULL, variant TEXT NOT NULL, task TEXT NOT NULL, step INTEGER NOT NULL, prompt TEXT NOT NULL,
    output TEXT NOT NULL, details_json TEXT NOT NULL DEFAULT '{}', created_at REAL NOT NULL);
)sql";

// Runs raw SQL on a database file (to build old schemas and to age heartbeats).
bool rawExec(const std::string& path, const std::string& sql)
{
    sqlite3* db = nullptr;
    if (sqlite3_open(path.c_str(), &db) != SQLITE_OK)
        return false;
    sqlite3_busy_timeout(db, 5000);
    char* err = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    if (err) {
        qWarning("%s", err);
        sqlite3_free(err);
    }
    sqlite3_close(db);
    return rc == SQLITE_OK;
}

NewRun makeRun(const std::string& name, RunStatus status = RunStatus::Running)
{
    NewRun r;
    r.name = name;
    r.config_json = R"({"name":")" + name + R"("})";
    r.seed = 7;
    r.status = status;
    return r;
}

template <typename T>
T must(Result<T> r)
{
    if (!r)
        qFatal("store call failed: %s", r.error().toString().c_str());
    return std::move(r).value();
}

}  // namespace tst_store_detail

using namespace tst_store_detail;

class TstStore : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void createsTheCurrentSchemaInMemory();
    void migratesAVersionOneStoreKeepingItsData();
    void refusesAStoreFromANewerBuild();
    void runRecordsRoundTrip();
    void boundParametersKeepQuotesUnicodeAndNul();
    void batchedInsertOf100kMetricPoints();
    void rewrittenStepsReplaceAndNanSurvives();
    void readerOnItsOwnConnectionNeverBlocksTheWriter();
    void readerIsNotBlockedByAnOpenWriteTransaction();
    void staleRunningRunsAreMarkedInterruptedOnOpen();
    void stagesAreFoundByContentHash();
    void evaluationRowsReplaceAndConvertToTableRows();
    void samplesFilterBySearchText();
    void recordingASampleAgainStoresItOnce();
    void deletingARunRemovesEverythingOfIt();
    void readOnlyStoreRejectsWrites();
    void seedGroupsReusedStagesAndUnitsRoundTrip();
};

void TstStore::createsTheCurrentSchemaInMemory()
{
    RunStore s;
    QVERIFY(!s.isOpen());
    QCOMPARE(s.createRun(makeRun("x")).error().code, ErrorCode::Internal);  // not open: an error, no crash
    QVERIFY(!s.openInMemory());
    QVERIFY(s.isOpen());
    QCOMPARE(s.schemaVersion(), kStoreSchemaVersion);
    QVERIFY(must(s.listRuns()).empty());
}

void TstStore::migratesAVersionOneStoreKeepingItsData()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const std::string path = dir.filePath(QStringLiteral("runs.sqlite")).toStdString();
    QVERIFY(rawExec(path, std::string(kVersionOneSchema) + R"sql(
INSERT INTO experiments(id, name, created_at) VALUES(1, 'old', 100);
INSERT INTO runs(id, experiment_id, name, config_json, seed, status, created_at, started_at, ended_at, git_commit, git_dirty)
    VALUES(1, 1, 'legacy', '{"a":1}', 3, 'finished', 100, 101, 200, 'abc123', 1);
INSERT INTO metrics VALUES(1, 'sft_v1', 'loss', 1, 101.5, 2.5);
INSERT INTO metrics VALUES(1, 'sft_v1', 'loss', 2, 102.5, 2.0);
INSERT INTO metrics VALUES(1, 'sft_v1', 'loss', 2, 103.5, 1.9);
INSERT INTO metrics VALUES(1, 'sft_v1', 'lr', 1, 101.5, NULL);
INSERT INTO eval_results VALUES(1, 'v1', 'i0', 'hr@10', 0.11, 500, 0.01);
INSERT INTO samples(run_id, stage, variant, task, step, prompt, output, created_at)
    VALUES(1, 'eval_v1', 'v1', 'i0', 0, 'p', 'o', 150);
PRAGMA user_version = 1;
)sql"));
    RunStore s;
    QVERIFY2(!s.open(path), "open failed");
    QCOMPARE(s.schemaVersion(), kStoreSchemaVersion);
    const RunInfo r = must(s.runInfo(1));
    QCOMPARE(QString::fromStdString(r.name), QStringLiteral("legacy"));
    QCOMPARE(QString::fromStdString(r.experiment_name), QStringLiteral("old"));
    QCOMPARE(QString::fromStdString(r.env.git_commit), QStringLiteral("abc123"));
    QVERIFY(r.env.git_dirty);
    QVERIFY(r.status == RunStatus::Finished);
    QCOMPARE(r.env.host_threads, 0);  // new column, default
    const MetricSeries loss = must(s.metricSeries(1, "sft_v1", "loss"));
    QCOMPARE(loss.steps, std::vector<int64_t>({1, 2}));
    QCOMPARE(loss.values[1], 1.9);  // the later duplicate of step 2 wins
    QVERIFY(std::isnan(must(s.metricSeries(1, "sft_v1", "lr")).values.at(0)));
    QCOMPARE(must(s.evalResults(1)).at(0).value, 0.11);
    SampleFilter f;
    f.run_id = 1;
    QCOMPARE(must(s.samples(f)).size(), size_t(1));
    // New tables work on the migrated file.
    QVERIFY(must(s.beginStage(1, "eval_v1", "h", "/out")) > 0);
    QVERIFY(!s.appendMetrics({MetricPoint{1, "sft_v1", "loss", 3, 104.0, 1.5}}));
    QCOMPARE(must(s.metricSeries(1, "sft_v1", "loss")).steps.size(), size_t(3));
    // Schema 4 on the migrated file: old runs belong to no group and reused nothing.
    QCOMPARE(r.group_id, int64_t(0));
    QCOMPARE(must(s.stages(1)).at(0).reused_from_run, int64_t(0));
    RunGroup g;
    g.name = "migrated";
    g.seeds = {0, 1};
    QVERIFY(must(s.createGroup(g)) > 0);
    QVERIFY(!s.putEvalUnits({{1, "v1", "i0", "hr", {5, 6}, {1.0, 0.0}}}));
    QCOMPARE(must(s.evalUnits({1})).size(), size_t(1));
    // Reopening does not migrate again.
    s.close();
    QVERIFY(!s.open(path));
    QCOMPARE(must(s.metricSeries(1, "sft_v1", "loss")).steps.size(), size_t(3));
}

void TstStore::refusesAStoreFromANewerBuild()
{
    QTemporaryDir dir;
    const std::string path = dir.filePath(QStringLiteral("runs.sqlite")).toStdString();
    QVERIFY(rawExec(path, "CREATE TABLE t(x); PRAGMA user_version = 99;"));
    RunStore s;
    const Error e = s.open(path);
    QCOMPARE(e.code, ErrorCode::DataLoad);
    QVERIFY2(e.message.find("newer") != std::string::npos, e.message.c_str());
    QVERIFY(!s.isOpen());
}

void TstStore::runRecordsRoundTrip()
{
    RunStore s;
    QVERIFY(!s.openInMemory());
    const int64_t exp = must(s.addExperiment(ExperimentRecord{0, "quickstart", "experiments/quickstart.yaml", "name: quickstart\n", 0}));
    NewRun n = makeRun("seed-7", RunStatus::Queued);
    n.experiment_id = exp;
    n.env = captureEnvironment(RECALIGN_SOURCE_DIR);
    n.env.host_gpu = "NVIDIA H100";
    n.env.device = "cuda:0";
    n.env.app_version = "0.1.0";
    QVERIFY(!n.env.host_cpu.empty());
    QVERIFY(n.env.host_threads > 0);
    QVERIFY(n.env.library_versions_json.find("\"sqlite\"") != std::string::npos);
    const int64_t id = must(s.createRun(n));
    RunInfo r = must(s.runInfo(id));
    QVERIFY(r.status == RunStatus::Queued);
    QCOMPARE(r.started_at, 0.0);
    QCOMPARE(QString::fromStdString(r.config_json), QString::fromStdString(n.config_json));
    QCOMPARE(r.config_hash.size(), size_t(64));  // sha256 of the config filled in
    QCOMPARE(r.seed, int64_t(7));
    QCOMPARE(r.experiment_id, exp);
    QCOMPARE(QString::fromStdString(r.env.host_gpu), QStringLiteral("NVIDIA H100"));
    QCOMPARE(QString::fromStdString(r.env.device), QStringLiteral("cuda:0"));
    QCOMPARE(QString::fromStdString(r.env.git_commit), QString::fromStdString(n.env.git_commit));
    QCOMPARE(r.env.host_threads, n.env.host_threads);

    QVERIFY(!s.setRunStatus(id, RunStatus::Running));
    r = must(s.runInfo(id));
    QVERIFY(r.status == RunStatus::Running && r.started_at > 0 && r.heartbeat_at > 0 && r.ended_at == 0);
    QVERIFY(!s.heartbeat(id));
    QVERIFY(!s.setRunStatus(id, RunStatus::Failed, "Diverged: loss is NaN at step 12"));
    r = must(s.runInfo(id));
    QVERIFY(r.status == RunStatus::Failed && r.ended_at >= r.started_at);
    QCOMPARE(QString::fromStdString(r.error), QStringLiteral("Diverged: loss is NaN at step 12"));
    QVERIFY(!s.setRunNotes(id, "lr too high"));
    QCOMPARE(QString::fromStdString(must(s.runInfo(id)).notes), QStringLiteral("lr too high"));
    QVERIFY(s.setRunStatus(9999, RunStatus::Finished));  // unknown run: an error

    const int64_t second = must(s.createRun(makeRun("other", RunStatus::Running)));
    const auto all = must(s.listRuns());
    QCOMPARE(all.size(), size_t(2));
    QCOMPARE(all[0].id, second);  // newest first
    RunFilter running;
    running.any_status = false;
    running.status = RunStatus::Running;
    QCOMPARE(must(s.listRuns(running)).size(), size_t(1));
    RunFilter byExp;
    byExp.experiment_id = exp;
    QCOMPARE(must(s.listRuns(byExp)).at(0).id, id);
    QCOMPARE(must(s.listExperiments()).at(0).config_yaml, std::string("name: quickstart\n"));
    QVERIFY(!must(s.runInfo(id)).config_hash.empty());
    QCOMPARE(must(s.runInfo(second)).resumed_from, int64_t(0));
    QVERIFY(!s.runInfo(424242).ok());
}

void TstStore::boundParametersKeepQuotesUnicodeAndNul()
{
    RunStore s;
    QVERIFY(!s.openInMemory());
    const std::string evil = "x'); DROP TABLE runs; -- \"quoted\" % _ \\ ";
    const std::string unicode = "Amélie — 東京物語 🎬 \u2192 'Title A' \u2192 'Title B'";
    const std::string withNul = std::string("before\0after", 12);
    NewRun n = makeRun(evil);
    n.config_json = unicode;
    const int64_t id = must(s.createRun(n));
    QVERIFY(!s.setRunNotes(id, withNul));
    const RunInfo r = must(s.runInfo(id));
    QCOMPARE(QString::fromStdString(r.name), QString::fromStdString(evil));
    QCOMPARE(QString::fromStdString(r.config_json), QString::fromStdString(unicode));
    QCOMPARE(r.notes.size(), size_t(12));
    QVERIFY(r.notes == withNul);
    QCOMPARE(must(s.listRuns()).size(), size_t(1));  // the table is still there
    QVERIFY(!s.addSamples(id, {SampleRecord{"eval", "v2", "i0", 0, unicode, evil, R"({"items":["Amélie"]})"}}));
    SampleFilter f;
    f.run_id = id;
    const auto rows = must(s.samples(f));
    QCOMPARE(QString::fromStdString(rows.at(0).prompt), QString::fromStdString(unicode));
    QCOMPARE(QString::fromStdString(rows.at(0).output), QString::fromStdString(evil));
    QVERIFY(!s.appendMetrics({MetricPoint{id, "ppo 'full'", "objective/kl \"k3\"", 1, 1.0, 0.5}}));
    const auto names = must(s.metricNames(id));
    QCOMPARE(QString::fromStdString(names.at(0).stage), QStringLiteral("ppo 'full'"));
    QCOMPARE(must(s.metricSeries(id, "ppo 'full'", "objective/kl \"k3\"")).values.at(0), 0.5);
}

void TstStore::batchedInsertOf100kMetricPoints()
{
    QTemporaryDir dir;
    RunStore s;
    QVERIFY(!s.open(dir.filePath(QStringLiteral("runs.sqlite")).toStdString()));
    const int64_t run = must(s.createRun(makeRun("big")));
    const char* names[] = {"loss", "learning_rate", "objective/kl", "ppo/policy/clipfrac"};
    std::vector<MetricPoint> points;
    points.reserve(100000);
    for (int step = 1; step <= 25000; ++step)
        for (const char* name : names)
            points.push_back(MetricPoint{run, "ppo_full", name, step, 1.7e9 + step, std::sin(step * 0.001) + step * 1e-6});
    QElapsedTimer timer;
    timer.start();
    // As the GUI's drain does: batches of 5,000 points, one transaction each.
    for (size_t b = 0; b < points.size(); b += 5000)
        QVERIFY(!s.appendMetrics(std::vector<MetricPoint>(points.begin() + static_cast<long>(b), points.begin() + static_cast<long>(b + 5000))));
    const qint64 writeMs = timer.elapsed();
    timer.restart();
    const MetricSeries kl = must(s.metricSeries(run, "ppo_full", "objective/kl"));
    const qint64 readMs = timer.elapsed();
    QCOMPARE(kl.steps.size(), size_t(25000));
    QCOMPARE(kl.steps.front(), int64_t(1));
    QCOMPARE(kl.steps.back(), int64_t(25000));
    QCOMPARE(kl.values[999], std::sin(1000 * 0.001) + 1000 * 1e-6);
    QCOMPARE(kl.wall_times[999], 1.7e9 + 1000);
    const MetricSeries tail = must(s.metricSeries(run, "ppo_full", "loss", 24990));
    QCOMPARE(tail.steps.size(), size_t(11));
    const auto info = must(s.metricNames(run));
    QCOMPARE(info.size(), size_t(4));
    QCOMPARE(info[0].points, int64_t(25000));
    QCOMPARE(info[0].last_step, int64_t(25000));
    qInfo("100k metric points: write %lld ms (20 batches), read one 25k series %lld ms", writeMs, readMs);
}

void TstStore::rewrittenStepsReplaceAndNanSurvives()
{
    RunStore s;
    QVERIFY(!s.openInMemory());
    const int64_t run = must(s.createRun(makeRun("r")));
    const double inf = std::numeric_limits<double>::infinity();
    QVERIFY(!s.appendMetrics({{run, "sft_v2", "loss", 1, 10, 3.0}, {run, "sft_v2", "loss", 2, 11, std::nan("")},
                              {run, "sft_v2", "loss", 3, 12, inf}}));
    // A resumed run logs steps 2-3 again.
    QVERIFY(!s.appendMetrics({{run, "sft_v2", "loss", 2, 20, 2.0}, {run, "sft_v2", "loss", 3, 21, 1.0}}));
    MetricSeries m = must(s.metricSeries(run, "sft_v2", "loss"));
    QCOMPARE(m.values, std::vector<double>({3.0, 2.0, 1.0}));
    QCOMPARE(m.wall_times[1], 20.0);
    QVERIFY(!s.appendMetrics({{run, "sft_v2", "grad_norm", 1, 10, std::nan("")}, {run, "sft_v2", "grad_norm", 2, 10, -inf}}));
    m = must(s.metricSeries(run, "sft_v2", "grad_norm"));
    QVERIFY(std::isnan(m.values[0]));
    QCOMPARE(m.values[1], -inf);
    StepRecord rec;
    rec.stage = "ppo_v3";
    rec.step = 5;
    rec.wall_time = 99;
    rec.metrics = {{"reward/total", 0.25}, {"objective/kl", 0.01}};
    QVERIFY(!s.appendSteps(run, {rec}));
    QCOMPARE(must(s.metricSeries(run, "ppo_v3", "reward/total")).values.at(0), 0.25);
    QVERIFY(!s.appendMetrics({}));
}

void TstStore::readerOnItsOwnConnectionNeverBlocksTheWriter()
{
    QTemporaryDir dir;
    const std::string path = dir.filePath(QStringLiteral("runs.sqlite")).toStdString();
    RunStore writer;
    QVERIFY(!writer.open(path));
    const int64_t run = must(writer.createRun(makeRun("live")));
    constexpr int kBatches = 150, kBatch = 400;
    std::atomic<bool> done{false};
    std::atomic<int> readerErrors{0}, reads{0}, tornReads{0};
    std::atomic<long> lastSeen{0};
    qint64 maxReadMs = 0;
    std::atomic<bool> readerReady{false};
    std::thread reader([&] {
        RunStore r;  // its own connection, read-only as the GUI's
        OpenOptions ro;
        ro.read_only = true;
        if (r.open(path, ro)) {
            readerErrors++;
            return;
        }
        QElapsedTimer t;
        long total = 0;  // points seen so far; the GUI reads only the tail, as here
        while (true) {
            const bool finished = done.load();
            t.start();
            auto tail = r.metricSeries(run, "sft_v2", "loss", total);
            auto info = r.runInfo(run);
            maxReadMs = std::max(maxReadMs, t.elapsed());
            if (!tail || !info) {
                readerErrors++;
                break;
            }
            const auto& steps = tail.value().steps;
            // Whole batches only, continuing exactly where the last read stopped.
            if (steps.size() % kBatch != 0 || (!steps.empty() && steps.front() != total))
                tornReads++;
            total += static_cast<long>(steps.size());
            lastSeen = total;
            reads++;
            readerReady = true;
            if (finished && total == kBatches * kBatch)
                break;
            if (finished && steps.empty())
                break;
        }
    });
    while (!readerReady.load())
        std::this_thread::yield();
    QElapsedTimer t;
    t.start();
    qint64 maxWriteMs = 0;
    for (int b = 0; b < kBatches; ++b) {
        // Every 10 batches, let the reader take a snapshot mid-stream (no lock-step otherwise).
        if (b % 10 == 5) {
            const int before = reads.load();
            QElapsedTimer wait;
            wait.start();
            while (reads.load() == before && wait.elapsed() < 2000)
                std::this_thread::yield();
        }
        std::vector<MetricPoint> batch;
        for (int i = 0; i < kBatch; ++i)
            batch.push_back(MetricPoint{run, "sft_v2", "loss", b * kBatch + i, 1.0 * b, 1.0 / (1 + b * kBatch + i)});
        QElapsedTimer w;
        w.start();
        QVERIFY(!writer.appendMetrics(batch));
        QVERIFY(!writer.heartbeat(run));
        maxWriteMs = std::max(maxWriteMs, w.elapsed());
    }
    done = true;
    reader.join();
    QCOMPARE(readerErrors.load(), 0);
    QCOMPARE(tornReads.load(), 0);
    QVERIFY(reads.load() > kBatches / 10);
    QCOMPARE(lastSeen.load(), long(kBatches * kBatch));
    qInfo("WAL: %d reader snapshots during %d writer transactions; max write %lld ms, max read %lld ms, total %lld ms",
          reads.load(), kBatches, maxWriteMs, maxReadMs, t.elapsed());
}

void TstStore::readerIsNotBlockedByAnOpenWriteTransaction()
{
    QTemporaryDir dir;
    const std::string path = dir.filePath(QStringLiteral("runs.sqlite")).toStdString();
    RunStore store;
    QVERIFY(!store.open(path));
    const int64_t run = must(store.createRun(makeRun("w")));
    QVERIFY(!store.appendMetrics({{run, "sft_v1", "loss", 1, 1, 1.0}}));
    // Another process holds a write transaction open (uncommitted insert of step 2).
    sqlite3* writer = nullptr;
    QCOMPARE(sqlite3_open(path.c_str(), &writer), SQLITE_OK);
    QCOMPARE(sqlite3_exec(writer, "BEGIN IMMEDIATE; INSERT INTO metric_points(series_id, step, wall_time, value) "
                                  "SELECT id, 2, 2, 0.5 FROM metric_series;", nullptr, nullptr, nullptr), SQLITE_OK);
    RunStore reader;
    OpenOptions ro;
    ro.read_only = true;
    ro.busy_timeout_ms = 0;  // any lock wait would fail at once
    QVERIFY(!reader.open(path, ro));
    QElapsedTimer t;
    t.start();
    const MetricSeries before = must(reader.metricSeries(run, "sft_v1", "loss"));
    QVERIFY(t.elapsed() < 1000);
    QCOMPARE(before.steps, std::vector<int64_t>({1}));  // the committed state only
    // A read-write open (no stale runs to recover) does not need the write lock either.
    RunStore second;
    OpenOptions rw;
    rw.busy_timeout_ms = 0;
    QVERIFY(!second.open(path, rw));
    QVERIFY(second.heartbeat(run));  // ...but writing does, and fails fast with busy 0
    QCOMPARE(sqlite3_exec(writer, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(writer);
    QCOMPARE(must(reader.metricSeries(run, "sft_v1", "loss")).steps, std::vector<int64_t>({1, 2}));
    QVERIFY(!second.heartbeat(run));
}

void TstStore::staleRunningRunsAreMarkedInterruptedOnOpen()
{
    QTemporaryDir dir;
    const std::string path = dir.filePath(QStringLiteral("ws/runs.sqlite")).toStdString();  // folder created
    int64_t dead = 0, alive = 0, finished = 0, stage = 0;
    {
        RunStore s;
        QVERIFY(!s.open(path));
        dead = must(s.createRun(makeRun("killed")));
        alive = must(s.createRun(makeRun("alive")));
        finished = must(s.createRun(makeRun("done")));
        QVERIFY(!s.setRunStatus(finished, RunStatus::Finished));
        stage = must(s.beginStage(dead, "ppo_full", "abc", "/ws/ppo_full"));
    }
    // The killed process's last heartbeat was 10 minutes ago; the other one's is fresh.
    const double old = unixNow() - 600;
    QVERIFY(rawExec(path, "UPDATE runs SET heartbeat_at = " + std::to_string(old) + " WHERE id = " + std::to_string(dead)
                              + "; UPDATE runs SET heartbeat_at = started_at - 600 WHERE id = " + std::to_string(finished)));
    RunStore s;
    QVERIFY(!s.open(path));
    QCOMPARE(s.recoveredRuns(), std::vector<int64_t>({dead}));
    const RunInfo d = must(s.runInfo(dead));
    QVERIFY(d.status == RunStatus::Failed);
    QVERIFY2(d.error.rfind("interrupted", 0) == 0, d.error.c_str());
    QVERIFY(std::abs(d.ended_at - old) < 1e-3);
    QVERIFY(must(s.runInfo(alive)).status == RunStatus::Running);
    QVERIFY(must(s.runInfo(finished)).status == RunStatus::Finished);
    QVERIFY(must(s.stages(dead)).at(0).status == StageStatus::Failed);
    Q_UNUSED(stage);
    // A read-only open (the GUI's reader) never rewrites anything.
    QVERIFY(rawExec(path, "UPDATE runs SET heartbeat_at = " + std::to_string(old) + " WHERE id = " + std::to_string(alive)));
    RunStore ro;
    OpenOptions o;
    o.read_only = true;
    QVERIFY(!ro.open(path, o));
    QVERIFY(ro.recoveredRuns().empty());
    QVERIFY(must(ro.runInfo(alive)).status == RunStatus::Running);
    QCOMPARE(must(s.recoverStaleRuns(120)), std::vector<int64_t>({alive}));
}

void TstStore::stagesAreFoundByContentHash()
{
    RunStore s;
    QVERIFY(!s.openInMemory());
    const int64_t r1 = must(s.createRun(makeRun("a")));
    const int64_t r2 = must(s.createRun(makeRun("b")));
    const int64_t teacher = must(s.beginStage(r1, "teacher", "hash-teacher", "/ws/stages/hash-teacher"));
    QCOMPARE(must(s.findFinishedStage("hash-teacher")).id, int64_t(0));  // still running: not reusable
    QVERIFY(!s.endStage(teacher, StageStatus::Finished));
    const int64_t failed = must(s.beginStage(r2, "teacher", "hash-teacher", "/ws/stages/other"));
    QVERIFY(!s.endStage(failed, StageStatus::Failed));
    const StageRecord hit = must(s.findFinishedStage("hash-teacher"));
    QCOMPARE(hit.id, teacher);
    QCOMPARE(hit.run_id, r1);
    QCOMPARE(QString::fromStdString(hit.output_path), QStringLiteral("/ws/stages/hash-teacher"));
    QVERIFY(hit.ended_at >= hit.started_at);
    QCOMPARE(must(s.findFinishedStage("other-hash")).id, int64_t(0));
    QCOMPARE(must(s.stages(r2)).size(), size_t(1));
}

void TstStore::evaluationRowsReplaceAndConvertToTableRows()
{
    RunStore s;
    QVERIFY(!s.openInMemory());
    const int64_t run = must(s.createRun(makeRun("e")));
    QVERIFY(!s.putEvalResults({{run, "v2", "i0", "hr@10", 0.12, 300, 0.018}, {run, "v2", "i0", "ndcg@10", 0.09, 300, 0.01},
                               {run, "full", "i1+", "tcp@10", 93.5, 300, 1.2}}));
    QVERIFY(!s.putEvalResults({{run, "v2", "i0", "hr@10", 0.13, 310, 0.019}}));
    const auto rows = must(s.evalResults(run));
    QCOMPARE(rows.size(), size_t(3));
    const auto table = toEvalRows(rows);
    bool found = false;
    for (const auto& r : table)
        if (r.variant == "v2" && r.metric == "hr@10") {
            found = true;
            QCOMPARE(r.value, 0.13);
            QCOMPARE(r.n, 310L);
            QCOMPARE(r.std_error, 0.019);
            QCOMPARE(r.run_id, run);
        }
    QVERIFY(found);
    const int64_t other = must(s.createRun(makeRun("f")));
    QVERIFY(!s.putEvalResults({{other, "v1", "i0", "hr@10", 0.1, 10, 0}}));
    QCOMPARE(must(s.evalResults(std::vector<int64_t>{run, other})).size(), size_t(4));
}

void TstStore::samplesFilterBySearchText()
{
    RunStore s;
    QVERIFY(!s.openInMemory());
    const int64_t run = must(s.createRun(makeRun("s")));
    std::vector<SampleRecord> batch;
    for (int i = 0; i < 30; ++i)
        batch.push_back(SampleRecord{"eval_full", i % 2 ? "full" : "v2", i % 3 ? "i0" : "i1+", i, "prompt " + std::to_string(i),
                                     i == 7 ? "1. 100% Pure_Love\n" : "1. Heat\n", "{}"});
    QVERIFY(!s.addSamples(run, batch));
    SampleFilter f;
    f.run_id = run;
    QCOMPARE(must(s.countSamples(f)), int64_t(30));
    f.variant = "full";
    QCOMPARE(must(s.countSamples(f)), int64_t(15));
    f.task = "i1+";
    QCOMPARE(must(s.countSamples(f)), int64_t(5));  // i = 3, 9, 15, 21, 27
    f = SampleFilter{};
    f.run_id = run;
    f.text = "100%";  // LIKE wildcards match literally
    auto hits = must(s.samples(f));
    QCOMPARE(hits.size(), size_t(1));
    QCOMPARE(hits[0].step, int64_t(7));
    f.text = "e_L";
    QCOMPARE(must(s.countSamples(f)), int64_t(1));
    f.text = "";
    f.limit = 10;
    f.offset = 25;
    QCOMPARE(must(s.samples(f)).size(), size_t(5));
    QVERIFY(must(s.addSample(run, batch[0])) > 0);
}

void TstStore::recordingASampleAgainStoresItOnce()
{
    // A resumed run re-records the steps after its checkpoint and the samples of reused stages.
    RunStore s;
    QVERIFY(!s.openInMemory());
    const int64_t run = must(s.createRun(makeRun("resumed")));
    const int64_t other = must(s.createRun(makeRun("other")));
    std::vector<SampleRecord> batch;
    for (int i = 0; i < 2000; ++i)
        batch.push_back(SampleRecord{"eval", "full", "i0", i, "prompt " + std::to_string(i), "1. Heat\n", "{}"});
    QVERIFY(!s.addSamples(run, batch));
    QVERIFY(!s.addSamples(run, batch));  // indexed: cheap, not a scan per row
    QVERIFY(!s.addSamples(other, {batch[0]}));
    SampleFilter f;
    f.run_id = run;
    f.limit = 0;
    QCOMPARE(must(s.countSamples(f)), int64_t(2000));
    const int64_t id = must(s.addSample(run, batch[5]));  // the stored row, not a new one
    const auto rows = must(s.samples(f));
    const auto it = std::find_if(rows.begin(), rows.end(), [&](const SampleRow& r) { return r.step == 5; });
    QVERIFY(it != rows.end());
    QCOMPARE(id, it->id);
    // Anything that differs is a new sample: another output, step or stage.
    QVERIFY(!s.addSamples(run, {SampleRecord{"eval", "full", "i0", 5, "prompt 5", "1. Other\n", "{}"},
                                SampleRecord{"eval", "full", "i0", 2000, "prompt 5", "1. Heat\n", "{}"},
                                SampleRecord{"ppo_full", "full", "i0", 5, "prompt 5", "1. Heat\n", "{}"}}));
    QCOMPARE(must(s.countSamples(f)), int64_t(2003));
    f.run_id = other;
    QCOMPARE(must(s.countSamples(f)), int64_t(1));
}

void TstStore::deletingARunRemovesEverythingOfIt()
{
    RunStore s;
    QVERIFY(!s.openInMemory());
    const int64_t run = must(s.createRun(makeRun("gone")));
    const int64_t keep = must(s.createRun(makeRun("kept")));
    for (int64_t r : {run, keep}) {
        QVERIFY(!s.appendMetrics({{r, "sft_v1", "loss", 1, 1, 1.0}}));
        QVERIFY(!s.putEvalResults({{r, "v1", "i0", "hr@10", 0.1, 1, 0}}));
        QVERIFY(!s.addSamples(r, {SampleRecord{"eval", "v1", "i0", 0, "p", "o", "{}"}}));
        QVERIFY(must(s.addArtifact(ArtifactRecord{0, r, "/ws/ckpt.bin", "checkpoint", std::string(64, 'a'), 123, 0})) > 0);
        QVERIFY(must(s.beginStage(r, "sft_v1", "h" + std::to_string(r), "/ws")) > 0);
    }
    QVERIFY(!s.deleteRun(run));
    QVERIFY(!s.runInfo(run).ok());
    QVERIFY(must(s.metricSeries(run, "sft_v1", "loss")).steps.empty());
    QVERIFY(must(s.evalResults(run)).empty());
    SampleFilter f;
    f.run_id = run;
    QCOMPARE(must(s.countSamples(f)), int64_t(0));
    QVERIFY(must(s.artifacts(run)).empty());
    QVERIFY(must(s.stages(run)).empty());
    // The other run is intact, and the deleted run's series can be written again under a new run.
    QCOMPARE(must(s.metricSeries(keep, "sft_v1", "loss")).steps.size(), size_t(1));
    QCOMPARE(must(s.artifacts(keep)).at(0).size, int64_t(123));
    const int64_t again = must(s.createRun(makeRun("again")));
    QVERIFY(!s.appendMetrics({{again, "sft_v1", "loss", 1, 1, 2.0}}));
    QCOMPARE(must(s.metricSeries(again, "sft_v1", "loss")).values.at(0), 2.0);
}

void TstStore::readOnlyStoreRejectsWrites()
{
    QTemporaryDir dir;
    const std::string path = dir.filePath(QStringLiteral("runs.sqlite")).toStdString();
    {
        RunStore w;
        QVERIFY(!w.open(path));
        QVERIFY(must(w.createRun(makeRun("x"))) > 0);
    }
    RunStore ro;
    OpenOptions o;
    o.read_only = true;
    QVERIFY(!ro.open(path, o));
    QCOMPARE(must(ro.listRuns()).size(), size_t(1));
    const Error e = ro.setRunNotes(1, "no");
    QVERIFY(e);
    QVERIFY2(e.message.find("readonly") != std::string::npos || e.message.find("read-only") != std::string::npos, e.message.c_str());
    RunStore missing;
    QCOMPARE(missing.open(dir.filePath(QStringLiteral("nope.sqlite")).toStdString(), o).code, ErrorCode::DataLoad);
    QCOMPARE(QString::fromStdString(workspaceStorePath("ws")), QStringLiteral("ws/runs.sqlite"));
}

// A seed group's runs, a stage reused from another run (curves and samples copied, origin
// named), per-unit values round trip exactly, and storeTables aggregates the group.
void TstStore::seedGroupsReusedStagesAndUnitsRoundTrip()
{
    RunStore s;
    QVERIFY(!s.openInMemory());
    RunGroup g;
    g.name = "quick (seeds 3, 1)";
    g.seeds = {3, 1};
    g.config_hash = "abc";
    const int64_t gid = must(s.createGroup(g));
    NewRun a = makeRun("a");
    a.group_id = gid;
    a.seed = 3;
    a.config_json = R"({"evaluation":{"topk":5}})";
    NewRun b = a;
    b.seed = 1;
    const int64_t ra = must(s.createRun(a));
    const int64_t rb = must(s.createRun(b));
    must(s.createRun(makeRun("alone")));
    QCOMPARE(must(s.runInfo(ra)).group_id, gid);
    const RunGroup back = must(s.group(gid));
    QCOMPARE(back.seeds, std::vector<int64_t>({3, 1}));
    QCOMPARE(QString::fromStdString(back.name), QStringLiteral("quick (seeds 3, 1)"));
    QCOMPARE(must(s.listGroups()).size(), size_t(1));
    RunFilter f;
    f.group_id = gid;
    QCOMPARE(must(s.listRuns(f)).size(), size_t(2));
    QCOMPARE(must(groupRunIds(s, gid)), std::vector<int64_t>({ra, rb}));  // the group's seed order

    // Run a computes the teacher (two points, one sample); run b reuses it.
    const int64_t st = must(s.beginStage(ra, "teacher", "h-teacher", "/ws/t"));
    QVERIFY(!s.appendMetrics({{ra, "teacher", "loss", 1, 100.0, 2.0}, {ra, "teacher", "loss", 2, 101.0, 1.5}}));
    SampleRecord sr;
    sr.stage = "teacher";
    sr.variant = "sasrec";
    sr.task = "i0";
    sr.prompt = "p";
    sr.output = "o";
    QVERIFY(!s.addSamples(ra, {sr}));
    QVERIFY(!s.endStage(st, StageStatus::Finished));
    const int64_t reused = must(s.beginStage(rb, "teacher", "h-teacher", "/ws/t"));
    QVERIFY(!s.markStageReused(reused, ra));
    QVERIFY(!s.markStageReused(reused, ra));  // twice: nothing doubles
    QVERIFY(!s.endStage(reused, StageStatus::Finished));
    const MetricSeries copied = must(s.metricSeries(rb, "teacher", "loss"));
    QCOMPARE(copied.steps, std::vector<int64_t>({1, 2}));
    QCOMPARE(copied.values, std::vector<double>({2.0, 1.5}));
    QCOMPARE(copied.wall_times, std::vector<double>({100.0, 101.0}));
    SampleFilter sf;
    sf.run_id = rb;
    QCOMPARE(must(s.countSamples(sf)), int64_t(1));
    QCOMPARE(must(s.stages(rb)).at(0).reused_from_run, ra);
    QCOMPARE(must(s.findFinishedStage("h-teacher")).reused_from_run, ra);  // the newest record names the origin

    // Per-unit values: exact doubles, NaN kept.
    const std::vector<double> vals = {0.1, 1.0 / 3.0, std::nan(""), -2.5e-300};
    QVERIFY(!s.putEvalUnits({{ra, "full", "i0", "hr", {4, 9, 2, 7}, vals}}));
    const auto units = must(s.evalUnits({ra, rb}));
    QCOMPARE(units.size(), size_t(1));
    QCOMPARE(units[0].users, std::vector<int64_t>({4, 9, 2, 7}));
    QCOMPARE(units[0].values[1], 1.0 / 3.0);
    QVERIFY(std::isnan(units[0].values[2]));
    QCOMPARE(units[0].values[3], -2.5e-300);
    QVERIFY(s.putEvalUnits({{ra, "full", "i0", "hr", {1}, {}}}));  // lengths differ: an error

    // The group's tables: one row per variant, mean and std over the two seeds, K from the config.
    QVERIFY(!s.putEvalResults({{ra, "full", "i0", "hr", 0.2, 10, 0.0}, {rb, "full", "i0", "hr", 0.4, 10, 0.0}}));
    const auto tables = must(storeTables(s, {ra, rb}));
    QCOMPARE(tables.size(), size_t(4));
    QCOMPARE(QString::fromStdString(tables[0].columns[0].name), QStringLiteral("HR@5"));
    QCOMPARE(tables[0].rows.size(), size_t(1));
    QCOMPARE(tables[0].rows[0].group_id, gid);
    QVERIFY(std::fabs(tables[0].rows[0].cells[0].value - 0.3) < 1e-12);
    QVERIFY(std::fabs(tables[0].rows[0].cells[0].std_dev - std::sqrt(0.02)) < 1e-12);
    StoreTableOptions per;
    per.per_seed = true;
    QCOMPARE(must(storeTables(s, {ra, rb}, per))[0].rows.size(), size_t(2));
    // Deleting a run removes its units.
    QVERIFY(!s.deleteRun(ra));
    QVERIFY(must(s.evalUnits({ra})).empty());
}

QTEST_GUILESS_MAIN(TstStore)
#include "tst_store.moc"
