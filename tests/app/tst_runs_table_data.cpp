// Runs table rows from a crafted store: flattened configs, seed group labels, final metrics from
// evaluation results (HR@K, TCP, the CPA mean over the I2 tasks) and PPO list-reward series, and
// the default metric columns. Torch-free: links recalign_studio_lib only.
#include "app/studio/run_data.h"
#include "app/studio/runs_table_data.h"

#include "core/api/store_api.h"
#include "core/api/tables.h"

#include <QTemporaryDir>
#include <QtTest>

#include <cmath>

using namespace recalign;
using namespace recalign::studio;

namespace {

core::EvalRecord eval(int64_t run, const char* variant, const char* task, const char* metric, double value)
{
    core::EvalRecord r;
    r.run_id = run;
    r.variant = variant;
    r.task = task;
    r.metric = metric;
    r.value = value;
    r.n = 100;
    return r;
}

core::StepRecord step(const char* stage, long n, std::vector<std::pair<std::string, double>> metrics)
{
    core::StepRecord s;
    s.stage = stage;
    s.step = n;
    s.wall_time = 1.7e9 + static_cast<double>(n);
    s.metrics = std::move(metrics);
    return s;
}

const widgets::RunsTableRow* findRow(const std::vector<widgets::RunsTableRow>& rows, int64_t id)
{
    for (const auto& r : rows)
        if (r.id == id)
            return &r;
    return nullptr;
}

}  // namespace

class TstRunsTableData : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void init();
    void cleanup();
    void rowsCarryIdNameGroupSeedStatusAndConfig();
    void finalMetricsFromEvaluationResults();
    void listRewardFromPpoSeries();
    void defaultMetricsPreferTheFullVariant();
    void finalMetricsIgnoreOtherRuns();

private:
    QTemporaryDir m_dir;
    core::RunStore m_store;
    int64_t m_group = 0;
    int64_t m_run1 = 0, m_run2 = 0, m_run3 = 0;
};

void TstRunsTableData::init()
{
    QVERIFY(m_dir.isValid());
    const std::string path = QDir(m_dir.path()).filePath(QStringLiteral("runs-%1.sqlite").arg(QString::fromLatin1(QTest::currentTestFunction()))).toStdString();
    const core::Error opened = m_store.open(path);
    QVERIFY2(opened.ok(), opened.toString().c_str());

    core::RunGroup g;
    g.name = "quickstart seeds";
    g.seeds = {0, 1};
    auto gid = m_store.createGroup(g);
    QVERIFY2(gid.ok(), gid.error().toString().c_str());
    m_group = gid.value();

    auto add = [this](const std::string& name, int64_t seed, int64_t group, const std::string& config,
                      core::RunStatus status) -> int64_t {
        core::NewRun r;
        r.name = name;
        r.seed = seed;
        r.group_id = group;
        r.config_json = config;
        r.status = status;
        auto id = m_store.createRun(r);
        return id ? id.value() : 0;
    };
    m_run1 = add("quick (seed 0)", 0, m_group,
                 R"({"ppo":{"kl_coef":0.05,"epochs":4},"evaluation":{"topk":10},"seeds":[0,1]})",
                 core::RunStatus::Finished);
    m_run2 = add("quick (seed 1)", 1, m_group,
                 R"({"ppo":{"kl_coef":0.1,"epochs":4},"evaluation":{"topk":10},"seeds":[0,1]})",
                 core::RunStatus::Finished);
    m_run3 = add("", 7, 0, R"({"ppo":{"kl_coef":0.1,"epochs":4},"evaluation":{"topk":20}})", core::RunStatus::Failed);
    QVERIFY(m_run1 > 0 && m_run2 > 0 && m_run3 > 0);

    namespace v = core::variant_name;
    namespace t = core::task_name;
    namespace m = core::metric_name;
    const core::Error put = m_store.putEvalResults({
        eval(m_run1, v::kFull, t::kI0, m::kHr, 0.31),
        eval(m_run1, v::kFull, t::kI0, m::kNdcg, 0.17),
        eval(m_run1, v::kFull, t::kI1Plus, m::kTcp, 6.5),
        eval(m_run1, v::kFull, t::kI1Plus, m::kTcpPct, 65.0),  // not a column
        eval(m_run1, v::kFull, t::kI1Minus, m::kTcp, 0.5),
        eval(m_run1, v::kFull, t::kI2Le20, m::kCpa, 0.50),
        eval(m_run1, v::kFull, t::kI2Ge30, m::kCpa, 0.70),
        eval(m_run1, v::kFull, t::kI2Approx30, m::kCpa, 0.30),
        eval(m_run1, v::kFull, t::kI2Approx30, m::kCpaPct, 30.0),  // not a column
        eval(m_run1, v::kV2, t::kI0, m::kHr, 0.25),
        eval(m_run1, v::kSasRec, t::kI0, m::kHr, 0.40),
        eval(m_run2, v::kFull, t::kI0, m::kHr, 0.29),
        eval(m_run2, v::kFull, t::kI2Le20, m::kCpa, 0.40),
        eval(m_run2, v::kFull, t::kI2Ge30, m::kCpa, 0.60),
        eval(m_run2, v::kFull, t::kI2Approx30, m::kCpa, 0.80),
        eval(m_run3, v::kV2, t::kI0, m::kHr, 0.21),
    });
    QVERIFY2(put.ok(), put.toString().c_str());

    // Run 1: PPO full with training and validation list rewards (the last values count), a
    // per-task validation series (left out), and an SFT stage (not PPO).
    const core::Error steps = m_store.appendSteps(m_run1, {
        step("sft_v2", 1, {{"val/list_reward", 9.0}, {"loss", 1.0}}),
        step("ppo_full", 1, {{"reward/list_mean", 0.10}, {"reward/item_mean", 0.5}}),
        step("ppo_full", 2, {{"reward/list_mean", 0.20}, {"val/list_reward", 0.15}, {"val/i0/list_reward", 0.9}}),
        step("ppo_full", 3, {{"reward/list_mean", 0.30}}),
        step("ppo_full", 4, {{"reward/list_mean", 0.35}, {"val/list_reward", 0.25}}),
        step("ppo_v3", 1, {{"reward/list_mean", 0.05}}),
    });
    QVERIFY2(steps.ok(), steps.toString().c_str());
    // Run 2: training list reward only.
    QVERIFY(m_store.appendSteps(m_run2, {step("ppo_full", 1, {{"reward/list_mean", 0.12}})}).ok());
}

void TstRunsTableData::cleanup()
{
    m_store.close();
}

void TstRunsTableData::rowsCarryIdNameGroupSeedStatusAndConfig()
{
    auto rows = runsTableRows(m_store);
    QVERIFY2(rows.ok(), rows.error().toString().c_str());
    QCOMPARE(rows.value().size(), size_t(3));
    QCOMPARE(rows.value().front().id, m_run3);  // newest first, as listRuns

    const auto* r1 = findRow(rows.value(), m_run1);
    const auto* r3 = findRow(rows.value(), m_run3);
    QVERIFY(r1 && r3);
    QCOMPARE(r1->name, QStringLiteral("quick (seed 0)"));
    QCOMPARE(r1->group, QStringLiteral("quickstart seeds"));
    QCOMPARE(r1->seed, int64_t(0));
    QCOMPARE(r1->status, runStatusText(core::RunStatus::Finished));
    QCOMPARE(r1->config.at("ppo.kl_coef"), std::string("0.05"));
    QCOMPARE(r1->config.at("ppo.epochs"), std::string("4"));
    QCOMPARE(r1->config.at("seeds"), std::string("[0, 1]"));

    QCOMPARE(r3->name, runDisplayName(m_store.runInfo(m_run3).value()));  // "run N"
    QCOMPARE(r3->group, QString());
    QCOMPARE(r3->seed, int64_t(7));
    QCOMPARE(r3->status, runStatusText(core::RunStatus::Failed));

    // A filter passes through to listRuns.
    core::RunFilter f;
    f.group_id = m_group;
    auto grouped = runsTableRows(m_store, f);
    QVERIFY(grouped.ok());
    QCOMPARE(grouped.value().size(), size_t(2));
}

void TstRunsTableData::finalMetricsFromEvaluationResults()
{
    auto rows = runsTableRows(m_store);
    QVERIFY(rows.ok());
    const auto& m1 = findRow(rows.value(), m_run1)->metrics;
    QCOMPARE(m1.at("full HR@10 (i0)"), 0.31);
    QCOMPARE(m1.at("full NDCG@10 (i0)"), 0.17);
    QCOMPARE(m1.at("full TCP (+C)"), 6.5);
    QCOMPARE(m1.at("full TCP (-C)"), 0.5);
    QVERIFY(std::abs(m1.at("full CPA (I2 mean)") - (0.50 + 0.70 + 0.30) / 3.0) < 1e-12);
    QCOMPARE(m1.at("v2 HR@10 (i0)"), 0.25);
    QCOMPARE(m1.at("sasrec HR@10 (i0)"), 0.40);
    QCOMPARE(m1.count("v2 CPA (I2 mean)"), size_t(0));
    for (const auto& kv : m1)  // tcp_pct / cpa_pct make no columns
        QVERIFY2(kv.first.find("pct") == std::string::npos, kv.first.c_str());

    const auto& m2 = findRow(rows.value(), m_run2)->metrics;
    QVERIFY(std::abs(m2.at("full CPA (I2 mean)") - (0.40 + 0.60 + 0.80) / 3.0) < 1e-12);
    QCOMPARE(m2.count("full TCP (+C)"), size_t(0));

    // Run 3's K is 20 (evaluation.topk).
    const auto& m3 = findRow(rows.value(), m_run3)->metrics;
    QCOMPARE(m3.at("v2 HR@20 (i0)"), 0.21);
    QCOMPARE(m3.size(), size_t(1));
}

void TstRunsTableData::listRewardFromPpoSeries()
{
    auto rows = runsTableRows(m_store);
    QVERIFY(rows.ok());
    const auto& m1 = findRow(rows.value(), m_run1)->metrics;
    QCOMPARE(m1.at("ppo_full list reward (train)"), 0.35);  // last reward/list_mean
    QCOMPARE(m1.at("ppo_full list reward (val)"), 0.25);    // last val/list_reward
    QCOMPARE(m1.at("ppo_v3 list reward (train)"), 0.05);
    QCOMPARE(m1.count("sft_v2 list reward (val)"), size_t(0));
    int listKeys = 0;
    for (const auto& kv : m1)
        listKeys += kv.first.find("list reward") != std::string::npos;
    QCOMPARE(listKeys, 3);  // no per-task val/i0/list_reward column
    const auto& m2 = findRow(rows.value(), m_run2)->metrics;
    QCOMPARE(m2.at("ppo_full list reward (train)"), 0.12);
    QCOMPARE(m2.count("ppo_full list reward (val)"), size_t(0));
}

void TstRunsTableData::defaultMetricsPreferTheFullVariant()
{
    auto rows = runsTableRows(m_store);
    QVERIFY(rows.ok());
    QCOMPARE(defaultRunsTableMetrics(rows.value()),
             (QStringList{QStringLiteral("full HR@10 (i0)"), QStringLiteral("full TCP (+C)"),
                          QStringLiteral("full CPA (I2 mean)"), QStringLiteral("ppo_full list reward (val)")}));
    // Run 3 alone has only v2: its HR@20.
    std::vector<widgets::RunsTableRow> only3{*findRow(rows.value(), m_run3)};
    QCOMPARE(defaultRunsTableMetrics(only3), (QStringList{QStringLiteral("v2 HR@20 (i0)")}));
    QVERIFY(defaultRunsTableMetrics({}).isEmpty());
}

void TstRunsTableData::finalMetricsIgnoreOtherRuns()
{
    const std::vector<core::EvalRecord> results{eval(1, "full", "i0", "hr", 0.5), eval(2, "full", "i0", "hr", 0.9)};
    core::SeriesInfo s;
    s.stage = "ppo_full";
    s.name = "val/list_reward";
    s.points = 0;  // an empty series makes no column
    const auto m = runFinalMetrics(1, results, {s}, 5);
    QCOMPARE(m.size(), size_t(1));
    QCOMPARE(m.at("full HR@5 (i0)"), 0.5);
}

QTEST_GUILESS_MAIN(TstRunsTableData)
#include "tst_runs_table_data.moc"
