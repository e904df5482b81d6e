// RunStore reads: experiments, runs, stages, metric series, evaluation results, samples and
// artifacts. Every query uses bound parameters; readers on their own connection see the last
// committed state without blocking the writer (WAL).
#include "core/store/store_impl.h"

#include <cmath>

namespace recalign::core {

using store_detail::guarded;
using store_detail::Statement;

namespace run_store_queries_detail {

constexpr const char* kRunColumns =
    "r.id, COALESCE(r.experiment_id, 0), COALESCE(e.name, ''), r.name, r.config_json, r.config_hash, r.seed, r.status, "
    "r.created_at, r.started_at, r.ended_at, r.heartbeat_at, r.error, r.notes, r.resumed_from, r.git_commit, r.git_dirty, "
    "r.app_version, r.library_versions, r.host_name, r.host_cpu, r.host_threads, r.host_gpu, r.device, r.group_id";

static RunInfo readRun(const Statement& s)
{
    RunInfo r;
    r.id = s.int64(0);
    r.experiment_id = s.int64(1);
    r.experiment_name = s.text(2);
    r.name = s.text(3);
    r.config_json = s.text(4);
    r.config_hash = s.text(5);
    r.seed = s.int64(6);
    parseRunStatus(s.text(7), &r.status);
    r.created_at = s.realOrZero(8);
    r.started_at = s.realOrZero(9);
    r.ended_at = s.realOrZero(10);
    r.heartbeat_at = s.realOrZero(11);
    r.error = s.text(12);
    r.notes = s.text(13);
    r.resumed_from = s.int64(14);
    r.env.git_commit = s.text(15);
    r.env.git_dirty = s.int64(16) != 0;
    r.env.app_version = s.text(17);
    r.env.library_versions_json = s.text(18);
    r.env.host_name = s.text(19);
    r.env.host_cpu = s.text(20);
    r.env.host_threads = static_cast<int>(s.int64(21));
    r.env.host_gpu = s.text(22);
    r.env.device = s.text(23);
    r.group_id = s.int64(24);
    return r;
}

static StageRecord readStage(const Statement& s)
{
    StageRecord r;
    r.id = s.int64(0);
    r.run_id = s.int64(1);
    r.name = s.text(2);
    r.content_hash = s.text(3);
    const std::string st = s.text(4);
    r.status = st == "finished" ? StageStatus::Finished : st == "running" ? StageStatus::Running : StageStatus::Failed;
    r.output_path = s.text(5);
    r.started_at = s.realOrZero(6);
    r.ended_at = s.realOrZero(7);
    r.reused_from_run = s.int64(8);
    return r;
}

constexpr const char* kStageColumns = "id, run_id, name, content_hash, status, output_path, started_at, ended_at, reused_from_run";

static RunGroup readGroup(const Statement& s)
{
    RunGroup g;
    g.id = s.int64(0);
    g.experiment_id = s.int64(1);
    g.name = s.text(2);
    g.config_hash = s.text(3);
    g.seeds = store_detail::parseIntList(s.text(4));
    g.created_at = s.realOrZero(5);
    return g;
}

constexpr const char* kGroupColumns = "id, COALESCE(experiment_id, 0), name, config_hash, seeds, created_at";

static EvalRecord readEval(const Statement& s)
{
    EvalRecord r;
    r.run_id = s.int64(0);
    r.variant = s.text(1);
    r.task = s.text(2);
    r.metric = s.text(3);
    r.value = s.real(4);
    r.n = s.int64(5);
    r.std_error = s.realOrZero(6);
    return r;
}

// LIKE pattern matching `text` literally (escape character '\').
static std::string likePattern(const std::string& text)
{
    std::string p = "%";
    for (char c : text) {
        if (c == '%' || c == '_' || c == '\\')
            p += '\\';
        p += c;
    }
    return p + "%";
}

}  // namespace run_store_queries_detail

using namespace run_store_queries_detail;

Result<std::vector<ExperimentRecord>> RunStore::listExperiments()
{
    return guarded<std::vector<ExperimentRecord>>(m_mutex, m_impl.get(), [](Impl& i) {
        std::vector<ExperimentRecord> out;
        Statement s = i.db.prepare("SELECT id, name, file_path, config_yaml, created_at FROM experiments ORDER BY id");
        while (s.step())
            out.push_back(ExperimentRecord{s.int64(0), s.text(1), s.text(2), s.text(3), s.realOrZero(4)});
        return out;
    });
}

Result<RunInfo> RunStore::runInfo(int64_t run)
{
    return guarded<RunInfo>(m_mutex, m_impl.get(), [&](Impl& i) {
        static const std::string sql = std::string("SELECT ") + kRunColumns
                                       + " FROM runs r LEFT JOIN experiments e ON e.id = r.experiment_id WHERE r.id = ?1";
        Statement s = i.db.prepare(sql.c_str());
        s.bind(1, run);
        if (!s.step())
            throw CoreException(ErrorCode::DataLoad, "run " + std::to_string(run) + " does not exist");
        return readRun(s);
    });
}

Result<std::vector<RunInfo>> RunStore::listRuns(const RunFilter& f)
{
    return guarded<std::vector<RunInfo>>(m_mutex, m_impl.get(), [&](Impl& i) {
        static const std::string sql = std::string("SELECT ") + kRunColumns
                                       + " FROM runs r LEFT JOIN experiments e ON e.id = r.experiment_id"
                                         " WHERE (?1 = 0 OR r.experiment_id = ?1) AND (?2 = '' OR r.status = ?2)"
                                         " AND (?4 = 0 OR r.group_id = ?4)"
                                         " ORDER BY r.id DESC LIMIT ?3";
        Statement s = i.db.prepare(sql.c_str());
        s.bind(1, f.experiment_id).bind(2, std::string(f.any_status ? "" : runStatusName(f.status)));
        s.bind(3, static_cast<int64_t>(f.limit > 0 ? f.limit : -1)).bind(4, f.group_id);
        std::vector<RunInfo> out;
        while (s.step())
            out.push_back(readRun(s));
        return out;
    });
}

Result<RunGroup> RunStore::group(int64_t id)
{
    return guarded<RunGroup>(m_mutex, m_impl.get(), [&](Impl& i) {
        Statement s = i.db.prepare((std::string("SELECT ") + kGroupColumns + " FROM run_groups WHERE id = ?1").c_str());
        s.bind(1, id);
        if (!s.step())
            throw CoreException(ErrorCode::DataLoad, "run group " + std::to_string(id) + " does not exist");
        return readGroup(s);
    });
}

Result<std::vector<RunGroup>> RunStore::listGroups()
{
    return guarded<std::vector<RunGroup>>(m_mutex, m_impl.get(), [&](Impl& i) {
        Statement s = i.db.prepare((std::string("SELECT ") + kGroupColumns + " FROM run_groups ORDER BY id").c_str());
        std::vector<RunGroup> out;
        while (s.step())
            out.push_back(readGroup(s));
        return out;
    });
}

Result<std::vector<EvalUnits>> RunStore::evalUnits(const std::vector<int64_t>& runs)
{
    return guarded<std::vector<EvalUnits>>(m_mutex, m_impl.get(), [&](Impl& i) {
        std::vector<EvalUnits> out;
        for (int64_t run : runs) {
            Statement s = i.db.prepare("SELECT run_id, variant, task, metric, users, vals FROM eval_units WHERE run_id = ?1 "
                                       "ORDER BY variant, task, metric");
            s.bind(1, run);
            while (s.step()) {
                EvalUnits u;
                u.run_id = s.int64(0);
                u.variant = s.text(1);
                u.task = s.text(2);
                u.metric = s.text(3);
                u.users = store_detail::parseIntList(s.text(4));
                u.values = store_detail::parseRealList(s.text(5));
                out.push_back(std::move(u));
            }
        }
        return out;
    });
}

Result<std::vector<StageRecord>> RunStore::stages(int64_t run)
{
    return guarded<std::vector<StageRecord>>(m_mutex, m_impl.get(), [&](Impl& i) {
        Statement s = i.db.prepare((std::string("SELECT ") + kStageColumns + " FROM stages WHERE run_id = ?1 ORDER BY id").c_str());
        s.bind(1, run);
        std::vector<StageRecord> out;
        while (s.step())
            out.push_back(readStage(s));
        return out;
    });
}

Result<StageRecord> RunStore::findFinishedStage(const std::string& content_hash)
{
    return guarded<StageRecord>(m_mutex, m_impl.get(), [&](Impl& i) {
        Statement s = i.db.prepare((std::string("SELECT ") + kStageColumns + " FROM stages "
                                   "WHERE content_hash = ?1 AND status = 'finished' ORDER BY ended_at DESC, id DESC LIMIT 1").c_str());
        s.bind(1, content_hash);
        return s.step() ? readStage(s) : StageRecord{};
    });
}

Result<MetricSeries> RunStore::metricSeries(int64_t run, const std::string& stage, const std::string& name, int64_t since_step)
{
    return guarded<MetricSeries>(m_mutex, m_impl.get(), [&](Impl& i) {
        MetricSeries out;
        out.run_id = run;
        out.stage = stage;
        out.name = name;
        Statement s = i.db.prepare("SELECT p.step, p.wall_time, p.value FROM metric_series m JOIN metric_points p ON p.series_id = m.id "
                                   "WHERE m.run_id = ?1 AND m.stage = ?2 AND m.name = ?3 AND p.step >= ?4 ORDER BY p.step");
        s.bind(1, run).bind(2, stage).bind(3, name).bind(4, since_step);
        while (s.step()) {
            out.steps.push_back(s.int64(0));
            out.wall_times.push_back(s.realOrZero(1));
            out.values.push_back(s.real(2));
        }
        return out;
    });
}

Result<std::vector<SeriesInfo>> RunStore::metricNames(int64_t run)
{
    return guarded<std::vector<SeriesInfo>>(m_mutex, m_impl.get(), [&](Impl& i) {
        Statement s = i.db.prepare(
            "SELECT m.stage, m.name, COUNT(p.step), MIN(p.step), MAX(p.step), "
            "(SELECT value FROM metric_points q WHERE q.series_id = m.id ORDER BY q.step DESC LIMIT 1) "
            "FROM metric_series m JOIN metric_points p ON p.series_id = m.id WHERE m.run_id = ?1 "
            "GROUP BY m.id ORDER BY m.id");
        s.bind(1, run);
        std::vector<SeriesInfo> out;
        while (s.step())
            out.push_back(SeriesInfo{s.text(0), s.text(1), s.int64(2), s.int64(3), s.int64(4), s.real(5)});
        return out;
    });
}

Result<std::vector<EvalRecord>> RunStore::evalResults(int64_t run)
{
    return evalResults(std::vector<int64_t>{run});
}

Result<std::vector<EvalRecord>> RunStore::evalResults(const std::vector<int64_t>& runs)
{
    return guarded<std::vector<EvalRecord>>(m_mutex, m_impl.get(), [&](Impl& i) {
        std::vector<EvalRecord> out;
        for (int64_t run : runs) {
            Statement s = i.db.prepare("SELECT run_id, variant, task, metric, value, n, std_error FROM eval_results WHERE run_id = ?1 "
                                       "ORDER BY variant, task, metric");
            s.bind(1, run);
            while (s.step())
                out.push_back(readEval(s));
        }
        return out;
    });
}

Result<std::vector<SampleRow>> RunStore::samples(const SampleFilter& f)
{
    return guarded<std::vector<SampleRow>>(m_mutex, m_impl.get(), [&](Impl& i) {
        Statement s = i.db.prepare(
            "SELECT id, run_id, stage, variant, task, step, prompt, output, details_json, created_at FROM samples "
            "WHERE run_id = ?1 AND (?2 = '' OR stage = ?2) AND (?3 = '' OR variant = ?3) AND (?4 = '' OR task = ?4) "
            "AND (?5 = '' OR prompt LIKE ?6 ESCAPE '\\' OR output LIKE ?6 ESCAPE '\\') ORDER BY id LIMIT ?7 OFFSET ?8");
        s.bind(1, f.run_id).bind(2, f.stage).bind(3, f.variant).bind(4, f.task).bind(5, f.text).bind(6, likePattern(f.text));
        s.bind(7, static_cast<int64_t>(f.limit > 0 ? f.limit : -1)).bind(8, static_cast<int64_t>(f.offset));
        std::vector<SampleRow> out;
        while (s.step())
            out.push_back(SampleRow{s.int64(0), s.int64(1), s.text(2), s.text(3), s.text(4), s.int64(5), s.text(6), s.text(7),
                                    s.text(8), s.realOrZero(9)});
        return out;
    });
}

Result<int64_t> RunStore::countSamples(const SampleFilter& f)
{
    return guarded<int64_t>(m_mutex, m_impl.get(), [&](Impl& i) {
        Statement s = i.db.prepare(
            "SELECT COUNT(*) FROM samples WHERE run_id = ?1 AND (?2 = '' OR stage = ?2) AND (?3 = '' OR variant = ?3) "
            "AND (?4 = '' OR task = ?4) AND (?5 = '' OR prompt LIKE ?6 ESCAPE '\\' OR output LIKE ?6 ESCAPE '\\')");
        s.bind(1, f.run_id).bind(2, f.stage).bind(3, f.variant).bind(4, f.task).bind(5, f.text).bind(6, likePattern(f.text));
        s.step();
        return s.int64(0);
    });
}

Result<std::vector<ArtifactRecord>> RunStore::artifacts(int64_t run)
{
    return guarded<std::vector<ArtifactRecord>>(m_mutex, m_impl.get(), [&](Impl& i) {
        Statement s = i.db.prepare("SELECT id, run_id, path, kind, sha256, size, created_at FROM artifacts WHERE run_id = ?1 ORDER BY id");
        s.bind(1, run);
        std::vector<ArtifactRecord> out;
        while (s.step())
            out.push_back(ArtifactRecord{s.int64(0), s.int64(1), s.text(2), s.text(3), s.text(4), s.int64(5), s.realOrZero(6)});
        return out;
    });
}

std::vector<EvalRow> toEvalRows(const std::vector<EvalRecord>& results)
{
    std::vector<EvalRow> out;
    out.reserve(results.size());
    for (const auto& r : results)
        out.push_back(EvalRow{r.run_id, r.variant, r.task, r.metric, r.value, static_cast<long>(r.n), r.std_error});
    return out;
}

}  // namespace recalign::core
