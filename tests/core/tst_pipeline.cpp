// End to end through the CLI: a miniature experiment (every variant and baseline) runs, the
// store holds the run, stages, metrics, samples and evaluation rows; rerunning reuses every
// stage; a changed PPO setting reruns only the PPO stages and their evaluation; a bad file fails
// before any work with the key named.
#include "core/api/store_api.h"
#include "core/api/tables.h"

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>
#include <set>
#include <sstream>

using namespace recalign::core;

namespace {
const QString kCli = QStringLiteral(RECALIGN_BINARY_DIR "/bin/recalign");
const QString kMini = QStringLiteral(RECALIGN_SOURCE_DIR "/tests/fixtures/pipeline/mini.yaml");

struct CliRun {
    int code = -1;
    QString out;
};

CliRun cli(const QStringList& args, int timeoutMs = 600000)
{
    QProcess p;
    p.setProcessChannelMode(QProcess::MergedChannels);
    p.start(kCli, args);
    p.waitForFinished(timeoutMs);
    return {p.exitCode(), QString::fromUtf8(p.readAll())};
}

std::set<std::string> stageNames(RunStore& store, int64_t run)
{
    std::set<std::string> out;
    for (const auto& s : store.stages(run).value())
        out.insert(s.name);
    return out;
}
}  // namespace

class TstPipeline : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void miniatureRunFillsTheStore();
    void rerunReusesEveryStage();
    void changedPpoSettingRerunsOnlyPpoAndItsEvaluation();
    void badExperimentFailsBeforeAnyWorkNamingTheKey();

private:
    QTemporaryDir m_dir;
    QString m_workspace;
    CliRun m_first;
};

void TstPipeline::initTestCase()
{
    QVERIFY(m_dir.isValid());
    m_workspace = m_dir.filePath(QStringLiteral("ws"));
    m_first = cli({QStringLiteral("run"), kMini, QStringLiteral("--workspace"), m_workspace});
    QVERIFY2(m_first.code == 0, qPrintable(m_first.out.right(3000)));
}

void TstPipeline::miniatureRunFillsTheStore()
{
    RunStore store;
    QVERIFY(!store.open(m_workspace.toStdString() + "/" + kStoreFileName));
    auto runs = store.listRuns();
    QVERIFY(runs.ok());
    QCOMPARE(runs.value().size(), size_t(1));
    const RunInfo& run = runs.value().front();
    QCOMPARE(run.status, RunStatus::Finished);
    QVERIFY(!run.config_json.empty());
    QVERIFY(run.ended_at >= run.started_at);

    const auto stages = stageNames(store, run.id);
    for (const char* s : {"teacher", "base_model", "sft_palr", "sft_v1", "sft_v2", "ppo_v3", "ppo_full", "eval_sasrec",
                          "eval_mostpop", "eval_zeroshot", "eval_palr", "eval_v1", "eval_v2", "eval_v3", "eval_full"})
        QVERIFY2(stages.count(s), s);

    // Metric time series from the trainers.
    auto names = store.metricNames(run.id);
    QVERIFY(names.ok());
    std::set<std::string> stageWithMetrics;
    for (const auto& n : names.value())
        stageWithMetrics.insert(n.stage);
    for (const char* s : {"teacher", "pretrain", "sft_v2", "ppo_full"})
        QVERIFY2(stageWithMetrics.count(s), s);

    // Evaluation rows for every variant and task; samples with details.
    auto rows = store.evalResults(run.id);
    QVERIFY(rows.ok());
    std::set<std::string> variants, tasks;
    for (const auto& r : rows.value()) {
        variants.insert(r.variant);
        tasks.insert(r.task);
        if (r.metric == "hr")
            QVERIFY(r.value >= 0.0 && r.value <= 1.0);
    }
    QCOMPARE(variants.size(), size_t(8));
    QCOMPARE(tasks.size(), size_t(7));
    SampleFilter f;
    f.run_id = run.id;
    f.variant = "full";
    auto samples = store.samples(f);
    QVERIFY(samples.ok());
    QVERIFY(!samples.value().empty());
    QVERIFY(samples.value().front().details_json.find("\"legality\"") != std::string::npos
            || samples.value().front().details_json.find("\"items\":[]") != std::string::npos);

    // The CLI printed the paper's tables.
    QVERIFY(m_first.out.contains(QStringLiteral("I0: sequential recommendation")));
    QVERIFY(m_first.out.contains(QStringLiteral("Ours_full")));
}

void TstPipeline::rerunReusesEveryStage()
{
    const CliRun again = cli({QStringLiteral("run"), kMini, QStringLiteral("--workspace"), m_workspace});
    QVERIFY2(again.code == 0, qPrintable(again.out.right(2000)));
    QVERIFY(again.out.contains(QStringLiteral("stage teacher: reusing")));
    QVERIFY(again.out.contains(QStringLiteral("stage ppo_full: reusing")));
    QVERIFY(!again.out.contains(QStringLiteral("== pretrain")));
    // Same tables as the first run.
    const auto tableOf = [](const QString& out) { return out.mid(out.indexOf(QStringLiteral("**I0"))); };
    QCOMPARE(tableOf(again.out).left(600), tableOf(m_first.out).left(600));
}

void TstPipeline::changedPpoSettingRerunsOnlyPpoAndItsEvaluation()
{
    std::ifstream in(kMini.toStdString());
    std::stringstream text;
    text << in.rdbuf();
    std::string yaml = text.str();
    yaml.replace(yaml.find("ppo_epochs: 1"), 13, "ppo_epochs: 2");
    const QString changed = m_dir.filePath(QStringLiteral("changed.yaml"));
    std::ofstream(changed.toStdString()) << yaml;
    // Relative paths in the copy would resolve elsewhere; the mini file has none.
    const CliRun r = cli({QStringLiteral("run"), changed, QStringLiteral("--workspace"), m_workspace});
    QVERIFY2(r.code == 0, qPrintable(r.out.right(2000)));
    for (const char* s : {"teacher", "base_model", "sft_v2", "eval_v2", "eval_sasrec"})
        QVERIFY2(r.out.contains(QStringLiteral("stage %1: reusing").arg(QLatin1String(s))), s);
    QVERIFY(r.out.contains(QStringLiteral("== ppo_full")));
    QVERIFY(r.out.contains(QStringLiteral("== eval_full")));
}

void TstPipeline::badExperimentFailsBeforeAnyWorkNamingTheKey()
{
    const QString bad = m_dir.filePath(QStringLiteral("bad.yaml"));
    std::ofstream(bad.toStdString()) << "version: 1\nname: bad\nppo:\n  kl_coeff: 0.3\n";
    const CliRun r = cli({QStringLiteral("run"), bad, QStringLiteral("--workspace"), m_dir.filePath(QStringLiteral("ws-bad"))});
    QVERIFY(r.code != 0);
    QVERIFY2(r.out.contains(QStringLiteral("ppo.kl_coeff")), qPrintable(r.out));
    QVERIFY(r.out.contains(QStringLiteral("ppo.kl_coef")));  // the suggestion
    QVERIFY(!r.out.contains(QStringLiteral("== teacher")));
}

QTEST_GUILESS_MAIN(TstPipeline)
#include "tst_pipeline.moc"
