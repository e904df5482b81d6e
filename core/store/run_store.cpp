// RunStore: connection, schema migrations, crash recovery and every write (experiments, runs,
// stages, batched metrics, evaluation results, samples, artifacts). Reads are in
// run_store_queries.cpp.
#include "core/store/store_impl.h"

#include "core/util/hash.h"

#include <chrono>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

namespace recalign::core {

namespace store_detail {

// ---- sqlite3 wrappers ------------------------------------------------------------------------

Database::~Database() { close(); }

void Database::open(const std::string& path, int flags, int busy_timeout_ms)
{
    close();
    if (sqlite3_open_v2(path.c_str(), &m_db, flags, nullptr) != SQLITE_OK) {
        const std::string msg = m_db ? sqlite3_errmsg(m_db) : "out of memory";
        sqlite3_close(m_db);
        m_db = nullptr;
        throw CoreException(ErrorCode::DataLoad, "cannot open run store '" + path + "': " + msg, path);
    }
    sqlite3_extended_result_codes(m_db, 1);
    sqlite3_busy_timeout(m_db, busy_timeout_ms);
}

void Database::close()
{
    for (auto& [sql, stmt] : m_cache)
        sqlite3_finalize(stmt);
    m_cache.clear();
    if (m_db)
        sqlite3_close(m_db);
    m_db = nullptr;
}

void Database::exec(const std::string& sql)
{
    char* err = nullptr;
    if (sqlite3_exec(m_db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
        const std::string msg = err ? err : sqlite3_errmsg(m_db);
        sqlite3_free(err);
        throw CoreException(ErrorCode::Internal, "run store: " + msg + " (in: " + sql.substr(0, 80) + ")");
    }
}

Statement Database::prepare(const char* sql)
{
    auto it = m_cache.find(sql);
    if (it == m_cache.end()) {
        sqlite3_stmt* stmt = nullptr;
        if (sqlite3_prepare_v3(m_db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK)
            fail(std::string("preparing '") + sql + "'");
        it = m_cache.emplace(sql, stmt).first;
    }
    return Statement(this, it->second);
}

void Database::fail(const std::string& what) const
{
    throw CoreException(ErrorCode::Internal, "run store: " + what + ": " + sqlite3_errmsg(m_db));
}

Statement::~Statement()
{
    if (m_stmt) {
        sqlite3_reset(m_stmt);
        sqlite3_clear_bindings(m_stmt);
    }
}

Statement& Statement::bind(int i, int64_t v)
{
    if (sqlite3_bind_int64(m_stmt, i, v) != SQLITE_OK)
        m_db->fail("binding parameter " + std::to_string(i));
    return *this;
}

Statement& Statement::bind(int i, double v)
{
    const int rc = std::isnan(v) ? sqlite3_bind_null(m_stmt, i) : sqlite3_bind_double(m_stmt, i, v);
    if (rc != SQLITE_OK)
        m_db->fail("binding parameter " + std::to_string(i));
    return *this;
}

Statement& Statement::bind(int i, const std::string& v)
{
    if (sqlite3_bind_text(m_stmt, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT) != SQLITE_OK)
        m_db->fail("binding parameter " + std::to_string(i));
    return *this;
}

Statement& Statement::bindNull(int i)
{
    if (sqlite3_bind_null(m_stmt, i) != SQLITE_OK)
        m_db->fail("binding parameter " + std::to_string(i));
    return *this;
}

bool Statement::step()
{
    const int rc = sqlite3_step(m_stmt);
    if (rc == SQLITE_ROW)
        return true;
    if (rc == SQLITE_DONE)
        return false;
    m_db->fail(std::string("executing '") + sqlite3_sql(m_stmt) + "'");
}

void Statement::run()
{
    while (step()) {
    }
}

double Statement::real(int col) const
{
    if (sqlite3_column_type(m_stmt, col) == SQLITE_NULL)
        return std::nan("");
    return sqlite3_column_double(m_stmt, col);
}

std::string Statement::text(int col) const
{
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(m_stmt, col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(m_stmt, col))) : std::string();
}

Transaction::Transaction(Database& db) : m_db(db) { m_db.exec("BEGIN IMMEDIATE"); }

Transaction::~Transaction()
{
    if (!m_done)
        sqlite3_exec(m_db.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit()
{
    m_db.exec("COMMIT");
    m_done = true;
}

// ---- Number lists ----------------------------------------------------------------------------

std::string intListJson(const std::vector<int64_t>& values)
{
    std::string out = "[";
    for (size_t k = 0; k < values.size(); ++k)
        out += (k ? "," : "") + std::to_string(values[k]);
    return out + "]";
}

std::string realListJson(const std::vector<double>& values)
{
    std::string out = "[";
    char buf[40];
    for (size_t k = 0; k < values.size(); ++k) {
        if (k)
            out += ',';
        if (std::isfinite(values[k])) {
            std::snprintf(buf, sizeof buf, "%.17g", values[k]);
            out += buf;
        } else {
            out += "null";
        }
    }
    return out + "]";
}

namespace {

// The items between the brackets of "[a,b,c]".
std::vector<std::string> listItems(const std::string& text)
{
    const size_t open = text.find('['), close = text.rfind(']');
    if (open == std::string::npos || close == std::string::npos || close < open)
        throw CoreException(ErrorCode::DataLoad, "run store: expected a list like [1,2], found '" + text.substr(0, 40) + "'");
    std::vector<std::string> items;
    std::string cur;
    for (size_t k = open + 1; k < close; ++k) {
        if (text[k] == ',') {
            items.push_back(cur);
            cur.clear();
        } else if (!std::isspace(static_cast<unsigned char>(text[k]))) {
            cur += text[k];
        }
    }
    if (!cur.empty() || !items.empty())
        items.push_back(cur);
    return items;
}

}  // namespace

// Each item of the list through `parse` (which sets `ok`), with an error naming what was expected.
template <typename T, typename Parse>
std::vector<T> parseList(const std::string& text, const char* what, Parse parse)
{
    std::vector<T> out;
    for (const auto& item : listItems(text)) {
        bool ok = false;
        const T v = parse(item, ok);
        if (!ok)
            throw CoreException(ErrorCode::DataLoad, std::string("run store: expected ") + what + " in a list, found '" + item + "'");
        out.push_back(v);
    }
    return out;
}

std::vector<int64_t> parseIntList(const std::string& text)
{
    return parseList<int64_t>(text, "an integer", [](const std::string& item, bool& ok) {
        char* end = nullptr;
        const long long v = std::strtoll(item.c_str(), &end, 10);
        ok = !item.empty() && !*end;
        return static_cast<int64_t>(v);
    });
}

std::vector<double> parseRealList(const std::string& text)
{
    return parseList<double>(text, "a number", [](const std::string& item, bool& ok) {
        if (item == "null") {
            ok = true;
            return std::nan("");
        }
        char* end = nullptr;
        const double v = std::strtod(item.c_str(), &end);
        ok = !item.empty() && !*end;
        return v;
    });
}

// ---- Schema ----------------------------------------------------------------------------------

const std::vector<std::string>& migrations()
{
    static const std::vector<std::string> m = {
        // 0 -> 1: experiments, runs, flat metrics, evaluation results, samples.
        R"sql(
CREATE TABLE experiments(
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    file_path TEXT NOT NULL DEFAULT '',
    config_yaml TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL);
CREATE TABLE runs(
    id INTEGER PRIMARY KEY,
    experiment_id INTEGER REFERENCES experiments(id) ON DELETE SET NULL,
    name TEXT NOT NULL DEFAULT '',
    config_json TEXT NOT NULL,
    seed INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL CHECK(status IN ('queued','running','finished','failed','cancelled')),
    created_at REAL NOT NULL,
    started_at REAL,
    ended_at REAL,
    heartbeat_at REAL,
    error TEXT NOT NULL DEFAULT '',
    git_commit TEXT NOT NULL DEFAULT '',
    git_dirty INTEGER NOT NULL DEFAULT 0);
CREATE INDEX runs_status ON runs(status);
CREATE TABLE metrics(
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    stage TEXT NOT NULL,
    name TEXT NOT NULL,
    step INTEGER NOT NULL,
    wall_time REAL NOT NULL,
    value REAL);
CREATE INDEX metrics_series ON metrics(run_id, stage, name, step);
CREATE TABLE eval_results(
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    variant TEXT NOT NULL,
    task TEXT NOT NULL,
    metric TEXT NOT NULL,
    value REAL,
    n INTEGER NOT NULL DEFAULT 0,
    std_error REAL NOT NULL DEFAULT 0,
    PRIMARY KEY(run_id, variant, task, metric));
CREATE TABLE samples(
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    stage TEXT NOT NULL,
    variant TEXT NOT NULL,
    task TEXT NOT NULL,
    step INTEGER NOT NULL,
    prompt TEXT NOT NULL,
    output TEXT NOT NULL,
    details_json TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL);
)sql",
        // 1 -> 2: full run capture (config hash, versions, host, device, notes, resume link);
        // metrics split into series + clustered points (one row per step, fast range reads);
        // content-addressed stages; artifacts; sample index.
        R"sql(
ALTER TABLE runs ADD COLUMN config_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN app_version TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN library_versions TEXT NOT NULL DEFAULT '{}';
ALTER TABLE runs ADD COLUMN host_name TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN host_cpu TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN host_threads INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN host_gpu TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN device TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN notes TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN resumed_from INTEGER NOT NULL DEFAULT 0;
CREATE TABLE metric_series(
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    stage TEXT NOT NULL,
    name TEXT NOT NULL,
    UNIQUE(run_id, stage, name));
CREATE TABLE metric_points(
    series_id INTEGER NOT NULL REFERENCES metric_series(id) ON DELETE CASCADE,
    step INTEGER NOT NULL,
    wall_time REAL NOT NULL,
    value REAL,
    PRIMARY KEY(series_id, step)) WITHOUT ROWID;
INSERT INTO metric_series(run_id, stage, name) SELECT DISTINCT run_id, stage, name FROM metrics;
INSERT OR REPLACE INTO metric_points(series_id, step, wall_time, value)
    SELECT s.id, m.step, m.wall_time, m.value FROM metrics m
    JOIN metric_series s ON s.run_id = m.run_id AND s.stage = m.stage AND s.name = m.name
    ORDER BY m.rowid;
DROP TABLE metrics;
CREATE TABLE stages(
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    status TEXT NOT NULL CHECK(status IN ('running','finished','failed')),
    output_path TEXT NOT NULL DEFAULT '',
    started_at REAL NOT NULL,
    ended_at REAL);
CREATE INDEX stages_run ON stages(run_id);
CREATE INDEX stages_hash ON stages(content_hash, status);
CREATE TABLE artifacts(
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    kind TEXT NOT NULL,
    sha256 TEXT NOT NULL DEFAULT '',
    size INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL);
CREATE INDEX artifacts_run ON artifacts(run_id);
CREATE INDEX samples_run ON samples(run_id, variant, task);
)sql",
        // 2 -> 3: samples by step, so recording a sample again (a resumed run) is found cheaply.
        R"sql(
CREATE INDEX samples_step ON samples(run_id, stage, step);
)sql",
        // 3 -> 4: seed groups (one experiment run once per seed); stages reused from another
        // run's cache name that run; per-unit evaluation values (paired significance tests).
        R"sql(
CREATE TABLE run_groups(
    id INTEGER PRIMARY KEY,
    experiment_id INTEGER REFERENCES experiments(id) ON DELETE SET NULL,
    name TEXT NOT NULL DEFAULT '',
    config_hash TEXT NOT NULL DEFAULT '',
    seeds TEXT NOT NULL DEFAULT '[]',
    created_at REAL NOT NULL);
ALTER TABLE runs ADD COLUMN group_id INTEGER NOT NULL DEFAULT 0;
CREATE INDEX runs_group ON runs(group_id);
ALTER TABLE stages ADD COLUMN reused_from_run INTEGER NOT NULL DEFAULT 0;
CREATE TABLE eval_units(
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    variant TEXT NOT NULL,
    task TEXT NOT NULL,
    metric TEXT NOT NULL,
    users TEXT NOT NULL,
    vals TEXT NOT NULL,
    PRIMARY KEY(run_id, variant, task, metric));
)sql",
    };
    static_assert(kStoreSchemaVersion == 4, "add a migration when the schema version changes");
    return m;
}

}  // namespace store_detail

using store_detail::Statement;
using store_detail::Transaction;

double unixNow()
{
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

const char* runStatusName(RunStatus s)
{
    switch (s) {
    case RunStatus::Queued: return "queued";
    case RunStatus::Running: return "running";
    case RunStatus::Finished: return "finished";
    case RunStatus::Failed: return "failed";
    case RunStatus::Cancelled: return "cancelled";
    }
    return "failed";
}

bool parseRunStatus(const std::string& text, RunStatus* out)
{
    for (RunStatus s : {RunStatus::Queued, RunStatus::Running, RunStatus::Finished, RunStatus::Failed, RunStatus::Cancelled})
        if (text == runStatusName(s)) {
            *out = s;
            return true;
        }
    return false;
}

const char* stageStatusName(StageStatus s)
{
    switch (s) {
    case StageStatus::Running: return "running";
    case StageStatus::Finished: return "finished";
    case StageStatus::Failed: return "failed";
    }
    return "failed";
}

std::string workspaceStorePath(const std::string& workspace)
{
    return (std::filesystem::path(workspace.empty() ? "." : workspace) / kStoreFileName).string();
}

RunStore::RunStore() = default;
RunStore::~RunStore() = default;

bool RunStore::isOpen() const
{
    std::lock_guard<std::recursive_mutex> lock(m_mutex);
    return m_impl != nullptr;
}

void RunStore::close()
{
    std::lock_guard<std::recursive_mutex> lock(m_mutex);
    m_impl.reset();
    m_path.clear();
    m_recovered.clear();
}

namespace run_store_detail {

static void migrate(store_detail::Database& db)
{
    int version = 0;
    {
        Statement v = db.prepare("PRAGMA user_version");  // reset before any DDL runs
        v.step();
        version = static_cast<int>(v.int64(0));
    }
    if (version > kStoreSchemaVersion)
        throw CoreException(ErrorCode::DataLoad,
                            "run store schema version " + std::to_string(version) + " is newer than this build's ("
                                + std::to_string(kStoreSchemaVersion) + "); update RecAlign Studio");
    const auto& steps = store_detail::migrations();
    for (int from = version; from < kStoreSchemaVersion; ++from) {
        Transaction tx(db);
        db.exec(steps[static_cast<size_t>(from)]);
        db.exec("PRAGMA user_version = " + std::to_string(from + 1));
        tx.commit();
    }
}

}  // namespace run_store_detail

using store_detail::guarded;
using store_detail::guardedVoid;

Error RunStore::open(const std::string& path, const OpenOptions& options)
{
    std::lock_guard<std::recursive_mutex> lock(m_mutex);
    close();
    auto impl = std::make_unique<Impl>();
    Error err = catchAll([&] {
        if (!options.read_only && path != ":memory:") {
            const auto parent = std::filesystem::path(path).parent_path();
            if (!parent.empty())
                std::filesystem::create_directories(parent);
        }
        const int flags = (options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
                          | SQLITE_OPEN_NOMUTEX;
        impl->db.open(path, flags, options.busy_timeout_ms);
        impl->read_only = options.read_only;
        impl->db.exec("PRAGMA foreign_keys = ON");
        if (!options.read_only) {
            if (path != ":memory:")
                impl->db.exec("PRAGMA journal_mode = WAL");
            impl->db.exec("PRAGMA synchronous = NORMAL");
            run_store_detail::migrate(impl->db);
        } else {
            Statement v = impl->db.prepare("PRAGMA user_version");
            v.step();
            if (v.int64(0) != kStoreSchemaVersion)
                throw CoreException(ErrorCode::DataLoad, "run store '" + path + "' has schema version "
                                                             + std::to_string(v.int64(0)) + ", expected "
                                                             + std::to_string(kStoreSchemaVersion) + " (open it read-write once to migrate)");
        }
    });
    if (err)
        return err;
    m_impl = std::move(impl);
    m_path = path;
    if (!options.read_only) {
        auto recovered = recoverStaleRuns(options.stale_after_s);
        if (!recovered) {
            m_impl.reset();
            return recovered.error();
        }
        m_recovered = recovered.value();
    }
    return {};
}

Error RunStore::openInMemory() { return open(":memory:"); }

int RunStore::schemaVersion() const
{
    auto r = guarded<int>(m_mutex, m_impl.get(), [](Impl& i) {
        Statement v = i.db.prepare("PRAGMA user_version");
        v.step();
        return static_cast<int>(v.int64(0));
    });
    return r ? r.value() : 0;
}

Result<std::vector<int64_t>> RunStore::recoverStaleRuns(double stale_after_s)
{
    return guarded<std::vector<int64_t>>(m_mutex, m_impl.get(), [&](Impl& i) {
        const double now = unixNow();
        auto staleRuns = [&] {
            std::vector<int64_t> ids;
            Statement s = i.db.prepare("SELECT id FROM runs WHERE status = 'running' AND COALESCE(heartbeat_at, started_at, created_at) < ?1");
            s.bind(1, now - stale_after_s);
            while (s.step())
                ids.push_back(s.int64(0));
            return ids;
        };
        // Look first without a write lock: opening a store must not wait for a busy writer.
        if (staleRuns().empty())
            return std::vector<int64_t>{};
        Transaction tx(i.db);
        const std::vector<int64_t> ids = staleRuns();
        for (int64_t id : ids) {
            Statement u = i.db.prepare(
                "UPDATE runs SET status = 'failed', ended_at = COALESCE(heartbeat_at, started_at, created_at), "
                "error = 'interrupted: no heartbeat since ' || strftime('%Y-%m-%d %H:%M:%S', COALESCE(heartbeat_at, started_at, created_at), 'unixepoch') "
                "|| ' UTC (process ended without finishing the run)' WHERE id = ?1");
            u.bind(1, id).run();
            Statement st = i.db.prepare("UPDATE stages SET status = 'failed', ended_at = ?2 WHERE run_id = ?1 AND status = 'running'");
            st.bind(1, id).bind(2, now).run();
        }
        tx.commit();
        return ids;
    });
}

Result<int64_t> RunStore::addExperiment(const ExperimentRecord& e)
{
    return guarded<int64_t>(m_mutex, m_impl.get(), [&](Impl& i) {
        Statement s = i.db.prepare("INSERT INTO experiments(name, file_path, config_yaml, created_at) VALUES(?1, ?2, ?3, ?4)");
        s.bind(1, e.name).bind(2, e.file_path).bind(3, e.config_yaml).bind(4, e.created_at > 0 ? e.created_at : unixNow()).run();
        return i.db.lastInsertId();
    });
}

Result<int64_t> RunStore::createRun(const NewRun& r)
{
    return guarded<int64_t>(m_mutex, m_impl.get(), [&](Impl& i) {
        Statement s = i.db.prepare(
            "INSERT INTO runs(experiment_id, name, config_json, config_hash, seed, status, created_at, started_at, heartbeat_at, "
            "git_commit, git_dirty, app_version, library_versions, host_name, host_cpu, host_threads, host_gpu, device, resumed_from, "
            "group_id) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)");
        const double now = unixNow();
        if (r.experiment_id > 0)
            s.bind(1, r.experiment_id);
        else
            s.bindNull(1);
        s.bind(2, r.name).bind(3, r.config_json).bind(4, r.config_hash.empty() ? sha256Hex(r.config_json) : r.config_hash);
        s.bind(5, r.seed).bind(6, std::string(runStatusName(r.status))).bind(7, now);
        if (r.status == RunStatus::Running)
            s.bind(8, now).bind(9, now);
        s.bind(10, r.env.git_commit).bind(11, static_cast<int64_t>(r.env.git_dirty));
        s.bind(12, r.env.app_version).bind(13, r.env.library_versions_json.empty() ? std::string("{}") : r.env.library_versions_json);
        s.bind(14, r.env.host_name).bind(15, r.env.host_cpu).bind(16, static_cast<int64_t>(r.env.host_threads));
        s.bind(17, r.env.host_gpu).bind(18, r.env.device).bind(19, r.resumed_from).bind(20, r.group_id);
        s.run();
        return i.db.lastInsertId();
    });
}

Result<int64_t> RunStore::createGroup(const RunGroup& g)
{
    return guarded<int64_t>(m_mutex, m_impl.get(), [&](Impl& i) {
        Statement s = i.db.prepare("INSERT INTO run_groups(experiment_id, name, config_hash, seeds, created_at) VALUES(?1, ?2, ?3, ?4, ?5)");
        if (g.experiment_id > 0)
            s.bind(1, g.experiment_id);
        else
            s.bindNull(1);
        s.bind(2, g.name).bind(3, g.config_hash).bind(4, store_detail::intListJson(g.seeds)).bind(5, unixNow()).run();
        return i.db.lastInsertId();
    });
}

Error RunStore::setRunStatus(int64_t run, RunStatus status, const std::string& error)
{
    return guardedVoid(m_mutex, m_impl.get(), [&](Impl& i) {
        const double now = unixNow();
        const bool ended = status == RunStatus::Finished || status == RunStatus::Failed || status == RunStatus::Cancelled;
        Statement s = i.db.prepare(
            "UPDATE runs SET status = ?2, error = ?3, "
            "started_at = CASE WHEN ?2 = 'running' THEN COALESCE(started_at, ?4) ELSE started_at END, "
            "ended_at = CASE WHEN ?5 THEN ?4 WHEN ?2 IN ('running', 'queued') THEN NULL ELSE ended_at END, "
            "heartbeat_at = CASE WHEN ?2 = 'running' THEN ?4 ELSE heartbeat_at END WHERE id = ?1");
        s.bind(1, run).bind(2, std::string(runStatusName(status))).bind(3, error).bind(4, now).bind(5, static_cast<int64_t>(ended)).run();
        if (i.db.changes() == 0)
            throw CoreException(ErrorCode::Internal, "run " + std::to_string(run) + " does not exist");
    });
}

Error RunStore::heartbeat(int64_t run)
{
    return guardedVoid(m_mutex, m_impl.get(), [&](Impl& i) {
        Statement s = i.db.prepare("UPDATE runs SET heartbeat_at = ?2 WHERE id = ?1");
        s.bind(1, run).bind(2, unixNow()).run();
    });
}

Error RunStore::setRunNotes(int64_t run, const std::string& notes)
{
    return guardedVoid(m_mutex, m_impl.get(), [&](Impl& i) {
        Statement s = i.db.prepare("UPDATE runs SET notes = ?2 WHERE id = ?1");
        s.bind(1, run).bind(2, notes).run();
    });
}

Error RunStore::deleteRun(int64_t run)
{
    return guardedVoid(m_mutex, m_impl.get(), [&](Impl& i) {
        Transaction tx(i.db);
        Statement s = i.db.prepare("DELETE FROM runs WHERE id = ?1");
        s.bind(1, run).run();
        tx.commit();
        for (auto it = i.series.begin(); it != i.series.end();)
            it = std::get<0>(it->first) == run ? i.series.erase(it) : std::next(it);
    });
}

Result<int64_t> RunStore::beginStage(int64_t run, const std::string& name, const std::string& content_hash,
                                     const std::string& output_path)
{
    return guarded<int64_t>(m_mutex, m_impl.get(), [&](Impl& i) {
        Statement s = i.db.prepare("INSERT INTO stages(run_id, name, content_hash, status, output_path, started_at) VALUES(?1, ?2, ?3, 'running', ?4, ?5)");
        s.bind(1, run).bind(2, name).bind(3, content_hash).bind(4, output_path).bind(5, unixNow()).run();
        return i.db.lastInsertId();
    });
}

Error RunStore::endStage(int64_t stage_id, StageStatus status)
{
    return guardedVoid(m_mutex, m_impl.get(), [&](Impl& i) {
        Statement s = i.db.prepare("UPDATE stages SET status = ?2, ended_at = ?3 WHERE id = ?1");
        s.bind(1, stage_id).bind(2, std::string(stageStatusName(status))).bind(3, unixNow()).run();
    });
}

Error RunStore::markStageReused(int64_t stage_id, int64_t from_run, const std::vector<std::string>& also)
{
    return guardedVoid(m_mutex, m_impl.get(), [&](Impl& i) {
        Transaction tx(i.db);
        Statement s = i.db.prepare("UPDATE stages SET reused_from_run = ?2 WHERE id = ?1");
        s.bind(1, stage_id).bind(2, from_run).run();
        Statement q = i.db.prepare("SELECT run_id, name FROM stages WHERE id = ?1");
        q.bind(1, stage_id);
        if (!q.step())
            throw CoreException(ErrorCode::Internal, "stage " + std::to_string(stage_id) + " does not exist");
        const int64_t run = q.int64(0);
        const std::string name = q.text(1);
        std::vector<std::string> names = also;
        names.insert(names.begin(), name);
        if (run == from_run)
            names.clear();  // a run's own stage: nothing to copy
        for (const std::string& metricStage : names) {
            Statement ins = i.db.prepare(
                "INSERT OR IGNORE INTO metric_series(run_id, stage, name) SELECT ?1, stage, name FROM metric_series "
                "WHERE run_id = ?2 AND stage = ?3");
            ins.bind(1, run).bind(2, from_run).bind(3, metricStage).run();
            Statement pts = i.db.prepare(
                "INSERT OR REPLACE INTO metric_points(series_id, step, wall_time, value) "
                "SELECT d.id, p.step, p.wall_time, p.value FROM metric_series src "
                "JOIN metric_points p ON p.series_id = src.id "
                "JOIN metric_series d ON d.run_id = ?1 AND d.stage = src.stage AND d.name = src.name "
                "WHERE src.run_id = ?2 AND src.stage = ?3");
            pts.bind(1, run).bind(2, from_run).bind(3, metricStage).run();
            Statement smp = i.db.prepare(
                "INSERT INTO samples(run_id, stage, variant, task, step, prompt, output, details_json, created_at) "
                "SELECT ?1, o.stage, o.variant, o.task, o.step, o.prompt, o.output, o.details_json, o.created_at FROM samples o "
                "WHERE o.run_id = ?2 AND o.stage = ?3 AND NOT EXISTS (SELECT 1 FROM samples x INDEXED BY samples_step "
                "WHERE x.run_id = ?1 AND x.stage = o.stage AND x.step = o.step AND x.variant = o.variant AND x.task = o.task "
                "AND x.prompt = o.prompt AND x.output = o.output)");
            smp.bind(1, run).bind(2, from_run).bind(3, metricStage).run();
        }
        tx.commit();
    });
}

Error RunStore::putEvalUnits(const std::vector<EvalUnits>& units)
{
    return guardedVoid(m_mutex, m_impl.get(), [&](Impl& i) {
        Transaction tx(i.db);
        for (const auto& u : units) {
            if (u.users.size() != u.values.size())
                throw CoreException(ErrorCode::Internal, "eval units of " + u.variant + "/" + u.task + "/" + u.metric
                                                             + ": " + std::to_string(u.users.size()) + " users, "
                                                             + std::to_string(u.values.size()) + " values");
            Statement s = i.db.prepare("INSERT OR REPLACE INTO eval_units(run_id, variant, task, metric, users, vals) "
                                       "VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
            s.bind(1, u.run_id).bind(2, u.variant).bind(3, u.task).bind(4, u.metric);
            s.bind(5, store_detail::intListJson(u.users)).bind(6, store_detail::realListJson(u.values)).run();
        }
        tx.commit();
    });
}

namespace run_store_detail {

static int64_t seriesId(RunStore::Impl& i, int64_t run, const std::string& stage, const std::string& name)
{
    const auto key = std::make_tuple(run, stage, name);
    if (auto it = i.series.find(key); it != i.series.end())
        return it->second;
    {
        Statement ins = i.db.prepare("INSERT OR IGNORE INTO metric_series(run_id, stage, name) VALUES(?1, ?2, ?3)");
        ins.bind(1, run).bind(2, stage).bind(3, name).run();
    }
    Statement sel = i.db.prepare("SELECT id FROM metric_series WHERE run_id = ?1 AND stage = ?2 AND name = ?3");
    sel.bind(1, run).bind(2, stage).bind(3, name);
    if (!sel.step())
        throw CoreException(ErrorCode::Internal, "run store: cannot create metric series '" + stage + "/" + name + "'");
    const int64_t id = sel.int64(0);
    i.series.emplace(key, id);
    return id;
}

}  // namespace run_store_detail

Error RunStore::appendMetrics(const std::vector<MetricPoint>& points)
{
    return guardedVoid(m_mutex, m_impl.get(), [&](Impl& i) {
        if (points.empty())
            return;
        Transaction tx(i.db);
        try {
            for (const auto& p : points) {
                const int64_t sid = run_store_detail::seriesId(i, p.run_id, p.stage, p.name);
                Statement s = i.db.prepare("INSERT OR REPLACE INTO metric_points(series_id, step, wall_time, value) VALUES(?1, ?2, ?3, ?4)");
                s.bind(1, sid).bind(2, p.step).bind(3, p.wall_time).bind(4, p.value).run();
            }
            tx.commit();
        } catch (...) {
            i.series.clear();  // ids created inside the rolled-back transaction are gone
            throw;
        }
    });
}

Error RunStore::appendSteps(int64_t run, const std::vector<StepRecord>& steps)
{
    std::vector<MetricPoint> points;
    for (const auto& r : steps)
        for (const auto& [name, value] : r.metrics)
            points.push_back(MetricPoint{run, r.stage, name, r.step, r.wall_time > 0 ? r.wall_time : unixNow(), value});
    return appendMetrics(points);
}

Error RunStore::putEvalResults(const std::vector<EvalRecord>& rows)
{
    return guardedVoid(m_mutex, m_impl.get(), [&](Impl& i) {
        Transaction tx(i.db);
        for (const auto& r : rows) {
            Statement s = i.db.prepare("INSERT OR REPLACE INTO eval_results(run_id, variant, task, metric, value, n, std_error) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
            s.bind(1, r.run_id).bind(2, r.variant).bind(3, r.task).bind(4, r.metric).bind(5, r.value).bind(6, r.n).bind(7, r.std_error).run();
        }
        tx.commit();
    });
}

Error RunStore::addSamples(int64_t run, const std::vector<SampleRecord>& samples)
{
    return guardedVoid(m_mutex, m_impl.get(), [&](Impl& i) {
        Transaction tx(i.db);
        const double now = unixNow();
        for (const auto& r : samples) {
            // Recording the same sample again is a no-op: a resumed run re-records the steps after
            // its checkpoint and the samples of the stages it reuses.
            Statement s = i.db.prepare(
                "INSERT INTO samples(run_id, stage, variant, task, step, prompt, output, details_json, created_at) "
                "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9 WHERE NOT EXISTS (SELECT 1 FROM samples INDEXED BY samples_step "
                "WHERE run_id = ?1 AND stage = ?2 AND step = ?5 AND variant = ?3 AND task = ?4 AND prompt = ?6 AND output = ?7)");
            s.bind(1, run).bind(2, r.stage).bind(3, r.variant).bind(4, r.task).bind(5, static_cast<int64_t>(r.step));
            s.bind(6, r.prompt).bind(7, r.output).bind(8, r.details_json.empty() ? std::string("{}") : r.details_json).bind(9, now).run();
        }
        tx.commit();
    });
}

Result<int64_t> RunStore::addSample(int64_t run, const SampleRecord& sample)
{
    std::lock_guard<std::recursive_mutex> lock(m_mutex);
    if (Error e = addSamples(run, {sample}))
        return e;
    return guarded<int64_t>(m_mutex, m_impl.get(), [&](Impl& i) {
        // The stored row: the one just inserted, or its earlier identical copy.
        Statement s = i.db.prepare("SELECT id FROM samples INDEXED BY samples_step WHERE run_id = ?1 AND stage = ?2 AND step = ?5 "
                                   "AND variant = ?3 AND task = ?4 AND prompt = ?6 AND output = ?7 ORDER BY id LIMIT 1");
        s.bind(1, run).bind(2, sample.stage).bind(3, sample.variant).bind(4, sample.task)
            .bind(5, static_cast<int64_t>(sample.step)).bind(6, sample.prompt).bind(7, sample.output);
        if (!s.step())
            throw CoreException(ErrorCode::Internal, "run store: the sample just added is missing");
        return s.int64(0);
    });
}

Result<int64_t> RunStore::addArtifact(const ArtifactRecord& a)
{
    return guarded<int64_t>(m_mutex, m_impl.get(), [&](Impl& i) {
        Statement s = i.db.prepare("INSERT INTO artifacts(run_id, path, kind, sha256, size, created_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
        s.bind(1, a.run_id).bind(2, a.path).bind(3, a.kind).bind(4, a.sha256).bind(5, a.size).bind(6, a.created_at > 0 ? a.created_at : unixNow()).run();
        return i.db.lastInsertId();
    });
}

}  // namespace recalign::core
