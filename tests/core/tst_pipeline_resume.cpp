// Kill -9 and resume through the CLI: a miniature experiment (sasrec, v2, full; LoRA SFT) runs
// uninterrupted in one workspace; in others it is SIGKILLed in the middle of PPO, or inside SFT
// before and then after its first checkpoint, and continued with `run --resume`. The resumed run
// must finish with the same tables, evaluation rows, samples, metric series (no step missing or
// twice, same values) and byte-identical SFT and PPO adapters.
#include "core/api/store_api.h"
#include "core/train/train_state.h"
#include "tst_cli.h"

#include <QCryptographicHash>
#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QTemporaryDir>
#include <QThread>
#include <QtTest>

#include <cmath>
#include <csignal>
#include <filesystem>
#include <map>
#include <set>
#include <tuple>

using namespace recalign::core;
namespace fs = std::filesystem;

namespace tst_pipeline_resume_detail {

using tst_cli::CliRun;
using tst_cli::cli;
using tst_cli::kCli;
const QString kFixture = QStringLiteral(RECALIGN_SOURCE_DIR "/tests/fixtures/pipeline/resume.yaml");
constexpr int64_t kPpoIterations = 8;  // ppo.max_iterations in the fixture
constexpr int64_t kSftEpochs = 2;      // sft.epochs in the fixture

// The stage's output folder (<ws>/artifacts/<stage>-<hash>), "" when it does not exist yet.
std::string stageDir(const QString& workspace, const std::string& stage)
{
    const fs::path artifacts = fs::path(workspace.toStdString()) / "artifacts";
    std::error_code ec;
    if (!fs::is_directory(artifacts, ec))
        return {};
    for (const auto& e : fs::directory_iterator(artifacts, ec))
        if (e.is_directory() && e.path().filename().string().rfind(stage + "-", 0) == 0)
            return e.path().string();
    return {};
}

// The progress counter a training checkpoint holds (PPO: iterations done; SFT: epochs done),
// -1 when the stage has no checkpoint yet.
int64_t checkpointProgress(const std::string& dir, const std::string& file, const std::string& key)
{
    if (dir.empty() || !fs::exists(dir + "/" + file))
        return -1;
    StateReader r(dir + "/" + file);  // written by rename: always a complete file
    return r.getInt(key);
}

struct Snapshot {
    QString tables;  // `recalign export RUN --format csv --table all`
    RunStatus status = RunStatus::Queued;
    std::set<std::tuple<std::string, std::string, std::string, double, int64_t, double>> eval;
    // stage/name -> (step -> value); timing metrics keep their steps but not their values.
    std::map<std::string, std::map<int64_t, double>> metrics;
    std::multiset<std::tuple<std::string, std::string, std::string, int64_t, std::string, std::string>> samples;
    std::map<std::string, std::string> stageStatus;  // name -> every status seen, joined
    std::map<std::string, QByteArray> weights;       // sft_v2 best/ and ppo_full actor/ files -> sha256
};

bool timingMetric(const std::string& name)
{
    return name.find("time") != std::string::npos || name.find("second") != std::string::npos
        || (name.size() > 2 && name.compare(name.size() - 2, 2, "_s") == 0);
}

QByteArray fileHash(const QString& path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return QCryptographicHash::hash(f.readAll(), QCryptographicHash::Sha256).toHex();
}

// Reads everything the comparison needs from a workspace holding exactly one run.
bool snapshot(const QString& workspace, Snapshot& s, QString& why)
{
    RunStore store;
    if (Error e = store.open(workspace.toStdString() + "/" + kStoreFileName)) {
        why = QString::fromStdString(e.toString());
        return false;
    }
    auto runs = store.listRuns();
    if (!runs || runs.value().size() != 1) {
        why = QStringLiteral("expected exactly one run in %1").arg(workspace);
        return false;
    }
    const RunInfo run = runs.value().front();
    s.status = run.status;
    const CliRun exp = cli({QStringLiteral("export"), QString::number(run.id), QStringLiteral("--workspace"), workspace,
                            QStringLiteral("--format"), QStringLiteral("csv"), QStringLiteral("--table"),
                            QStringLiteral("all")});
    if (exp.code != 0) {
        why = exp.out;
        return false;
    }
    s.tables = exp.out;
    const auto evalRows = store.evalResults(run.id);
    const auto names = store.metricNames(run.id);
    const auto stages = store.stages(run.id);
    if (!evalRows || !names || !stages) {
        why = QStringLiteral("cannot read the run store of %1").arg(workspace);
        return false;
    }
    for (const auto& r : evalRows.value())
        s.eval.emplace(r.variant, r.task, r.metric, r.value, r.n, r.std_error);
    for (const auto& info : names.value()) {
        const auto series = store.metricSeries(run.id, info.stage, info.name).value();
        auto& points = s.metrics[info.stage + "/" + info.name];
        for (size_t i = 0; i < series.steps.size(); ++i) {
            if (points.count(series.steps[i])) {
                why = QStringLiteral("duplicate step %1 in %2/%3")
                          .arg(series.steps[i])
                          .arg(QString::fromStdString(info.stage), QString::fromStdString(info.name));
                return false;
            }
            points[series.steps[i]] = timingMetric(info.name) ? 0.0 : series.values[i];
        }
    }
    SampleFilter f;
    f.run_id = run.id;
    f.limit = 0;
    const auto samples = store.samples(f);
    if (!samples) {
        why = QString::fromStdString(samples.error().toString());
        return false;
    }
    for (const auto& r : samples.value())
        s.samples.emplace(r.stage, r.variant, r.task, r.step, r.prompt, r.output);
    for (const auto& st : stages.value()) {
        auto& text = s.stageStatus[st.name];
        text += (text.empty() ? "" : ",") + std::string(stageStatusName(st.status));
    }
    for (const auto& [stage, sub] : {std::pair<std::string, std::string>{"sft_v2", "best"}, {"ppo_full", "actor"},
                                     {"rl_full_grpo", "actor"}}) {
        const std::string dir = stageDir(workspace, stage) + "/" + sub;
        if (fs::is_directory(dir))
            for (const auto& e : fs::directory_iterator(dir))
                s.weights[stage + "/" + sub + "/" + e.path().filename().string()]
                    = fileHash(QString::fromStdString(e.path().string()));
    }
    return true;
}

// Where a run is killed: in `stage`, once its checkpoint `file` reports progress `key` >=
// `at_least`; or, with at_least < 0, `delay_ms` after the stage started, before any checkpoint.
struct KillPoint {
    std::string stage;
    std::string file;
    std::string key;
    int64_t at_least = 1;
    int delay_ms = 0;
};

struct Killed {
    bool ok = false;
    QString why;
    int64_t progress = -1;  // what the stage's checkpoint holds after the kill (-1: none)
};

int64_t onlyRunId(const QString& workspace)
{
    RunStore store;
    if (store.open(workspace.toStdString() + "/" + kStoreFileName))
        return 0;
    auto runs = store.listRuns();
    return runs && runs.value().size() == 1 ? runs.value().front().id : 0;
}

}  // namespace tst_pipeline_resume_detail

using namespace tst_pipeline_resume_detail;

class TstPipelineResume : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void killDuringPpoThenResumeGivesTheUninterruptedResults();
    void killDuringGrpoThenResumeGivesTheUninterruptedResults();
    void killsDuringSftBeforeAndAfterItsCheckpointThenResumeGiveTheUninterruptedResults();
    void keptStatesProbeLikeTheirVariants();

private:
    // `recalign probe --list` of the only run in `workspace` names `expected` ("ppo_full latest
    // (iteration 3)"), and probing that state answers; returns the line's --model/--adapters.
    QStringList probeKeptState(const QString& workspace, const QString& expected);
    // Runs the fixture in `workspace` (continuing `resumeRun` when > 0) and SIGKILLs it at `at`.
    Killed runAndKill(const QString& workspace, int64_t resumeRun, const KillPoint& at);
    void resumeAndCompare(const QString& workspace);

    QTemporaryDir m_dir;
    Snapshot m_reference;
};

void TstPipelineResume::initTestCase()
{
    QVERIFY(m_dir.isValid());
    const QString ws = m_dir.filePath(QStringLiteral("A"));
    const CliRun r = cli({QStringLiteral("run"), kFixture, QStringLiteral("--workspace"), ws});
    QVERIFY2(r.code == 0, qPrintable(r.out.right(3000)));
    QString why;
    QVERIFY2(snapshot(ws, m_reference, why), qPrintable(why));
    QCOMPARE(m_reference.status, RunStatus::Finished);
    // The reference itself is complete: eight PPO iterations, two SFT epochs, every variant.
    const auto& reward = m_reference.metrics["ppo_full/env/reward_mean"];
    QCOMPARE(int64_t(reward.size()), kPpoIterations);
    QCOMPARE(reward.begin()->first, int64_t(1));
    QVERIFY(!m_reference.metrics["sft_v2/loss"].empty());
    QCOMPARE(m_reference.weights.size(), size_t(6));  // adapter config + weights, SFT, PPO and GRPO
    QCOMPARE(int64_t(m_reference.metrics["rl_full_grpo/env/reward_mean"].size()), kPpoIterations);
    std::set<std::string> variants;
    for (const auto& e : m_reference.eval)
        variants.insert(std::get<0>(e));
    QCOMPARE(variants, (std::set<std::string>{"sasrec", "v2", "full", "full_grpo"}));
    QVERIFY(m_reference.tables.contains(QStringLiteral("Ours_full")));
}

Killed TstPipelineResume::runAndKill(const QString& workspace, int64_t resumeRun, const KillPoint& at)
{
    Killed k;
    QStringList args{QStringLiteral("run"), kFixture, QStringLiteral("--workspace"), workspace};
    if (resumeRun > 0)
        args << QStringLiteral("--resume") << QString::number(resumeRun);
    QProcess p;
    p.setProcessChannelMode(QProcess::MergedChannels);
    p.start(kCli, args);
    if (!p.waitForStarted(30000)) {
        k.why = QStringLiteral("the CLI did not start");
        return k;
    }
    QElapsedTimer timer, inStage;
    timer.start();
    bool killed = false;
    while (!killed && timer.elapsed() < 300000 && p.state() != QProcess::NotRunning) {
        const std::string dir = stageDir(workspace, at.stage);
        if (!dir.empty() && !fs::exists(dir + "/DONE.json")) {
            if (!inStage.isValid())
                inStage.start();
            int64_t progress = -1;
            try {
                progress = checkpointProgress(dir, at.file, at.key);
            } catch (const std::exception&) {
                progress = -1;  // being replaced right now: look again
            }
            if (at.at_least >= 0 ? progress >= at.at_least : inStage.elapsed() >= at.delay_ms) {
                p.kill();  // SIGKILL
                killed = true;
            }
        }
        if (!killed)
            QThread::msleep(2);
    }
    p.waitForFinished(30000);
    const QString out = QString::fromUtf8(p.readAll());
    if (!killed) {
        k.why = QStringLiteral("the run was not killed in %1:\n%2").arg(QString::fromStdString(at.stage), out.right(3000));
        return k;
    }
    // Died by the signal, not by finishing or failing on its own.
    if (p.exitStatus() != QProcess::CrashExit || p.exitCode() != SIGKILL) {
        k.why = QStringLiteral("exit status %1, code %2").arg(int(p.exitStatus())).arg(p.exitCode());
        return k;
    }
    const std::string dir = stageDir(workspace, at.stage);
    if (fs::exists(dir + "/DONE.json")) {
        k.why = QStringLiteral("the stage finished before the kill");
        return k;
    }
    k.progress = checkpointProgress(dir, at.file, at.key);
    k.ok = true;
    return k;
}

void TstPipelineResume::resumeAndCompare(const QString& workspace)
{
    const int64_t run = onlyRunId(workspace);
    QVERIFY(run > 0);
    const CliRun r = cli({QStringLiteral("run"), kFixture, QStringLiteral("--workspace"), workspace,
                          QStringLiteral("--resume"), QString::number(run)});
    QVERIFY2(r.code == 0, qPrintable(r.out.right(3000)));
    QVERIFY2(r.out.contains(QStringLiteral(": resumed from")), qPrintable(r.out.right(3000)));

    Snapshot b;
    QString why;
    QVERIFY2(snapshot(workspace, b, why), qPrintable(why));
    QCOMPARE(b.status, RunStatus::Finished);
    QCOMPARE(b.tables, m_reference.tables);
    QVERIFY(b.eval == m_reference.eval);
    // Every series has the same steps (none missing, none twice) and the same values.
    QCOMPARE(b.metrics.size(), m_reference.metrics.size());
    for (const auto& [name, points] : m_reference.metrics) {
        QVERIFY2(b.metrics.count(name), name.c_str());
        const auto& got = b.metrics.at(name);
        QVERIFY2(got.size() == points.size(), qPrintable(QStringLiteral("%1: %2 steps, expected %3")
                                                              .arg(QString::fromStdString(name))
                                                              .arg(got.size())
                                                              .arg(points.size())));
        for (const auto& [step, value] : points) {
            QVERIFY2(got.count(step), qPrintable(QStringLiteral("%1: step %2 missing")
                                                     .arg(QString::fromStdString(name))
                                                     .arg(step)));
            QVERIFY2(got.at(step) == value || (std::isnan(value) && std::isnan(got.at(step))),
                     qPrintable(QStringLiteral("%1 step %2: %3 vs %4")
                                    .arg(QString::fromStdString(name))
                                    .arg(step)
                                    .arg(got.at(step), 0, 'g', 17)
                                    .arg(value, 0, 'g', 17)));
        }
    }
    QCOMPARE(b.samples.size(), m_reference.samples.size());
    QVERIFY(b.samples == m_reference.samples);
    for (const auto& [file, hash] : m_reference.weights)
        QVERIFY2(b.weights.count(file) && b.weights.at(file) == hash, file.c_str());
    // The interrupted stage's row does not stay "running"; every stage finished.
    for (const auto& [name, statuses] : b.stageStatus) {
        QVERIFY2(statuses.find("running") == std::string::npos, qPrintable(QString::fromStdString(name + ": " + statuses)));
        QVERIFY2(statuses.find("finished") != std::string::npos, qPrintable(QString::fromStdString(name + ": " + statuses)));
    }
}

void TstPipelineResume::killDuringPpoThenResumeGivesTheUninterruptedResults()
{
    const QString ws = m_dir.filePath(QStringLiteral("B"));
    const Killed k = runAndKill(ws, 0, {"ppo_full", "ppo_state.safetensors", "ppo/iteration", 2, 0});
    QVERIFY2(k.ok, qPrintable(k.why));
    qInfo("killed after PPO iteration %lld of %lld", static_cast<long long>(k.progress),
          static_cast<long long>(kPpoIterations));
    // The kill landed inside PPO: some iterations checkpointed, not all.
    QVERIFY2(k.progress > 0 && k.progress < kPpoIterations, qPrintable(QString::number(k.progress)));
    // The killed stage's last state can be probed before anything resumes it.
    QVERIFY(!probeKeptState(ws, QStringLiteral("ppo_full latest (iteration %1)").arg(k.progress)).isEmpty());
    resumeAndCompare(ws);
}

// The same for a critic-free stage (a recipe row's rl_full_grpo: no critic, no value head).
void TstPipelineResume::killDuringGrpoThenResumeGivesTheUninterruptedResults()
{
    const QString ws = m_dir.filePath(QStringLiteral("G"));
    const Killed k = runAndKill(ws, 0, {"rl_full_grpo", "ppo_state.safetensors", "ppo/iteration", 2, 0});
    QVERIFY2(k.ok, qPrintable(k.why));
    qInfo("killed after GRPO iteration %lld of %lld", static_cast<long long>(k.progress),
          static_cast<long long>(kPpoIterations));
    QVERIFY2(k.progress > 0 && k.progress < kPpoIterations, qPrintable(QString::number(k.progress)));
    resumeAndCompare(ws);
}

void TstPipelineResume::killsDuringSftBeforeAndAfterItsCheckpointThenResumeGiveTheUninterruptedResults()
{
    const QString ws = m_dir.filePath(QStringLiteral("C"));
    // First kill: inside the first SFT epoch, before any checkpoint (the stage restarts from
    // scratch, after stages the resumed process reuses instead of running).
    const Killed first = runAndKill(ws, 0, {"sft_v2", "sft_state.safetensors", "sft/epoch", -1, 150});
    QVERIFY2(first.ok, qPrintable(first.why));
    QCOMPARE(first.progress, int64_t(-1));
    const int64_t run = onlyRunId(ws);
    QVERIFY(run > 0);
    // Second kill, of the resumed run: after the first epoch's checkpoint, inside the second.
    const Killed second = runAndKill(ws, run, {"sft_v2", "sft_state.safetensors", "sft/epoch", 1, 0});
    QVERIFY2(second.ok, qPrintable(second.why));
    qInfo("killed before the first SFT checkpoint, then after epoch %lld of %lld",
          static_cast<long long>(second.progress), static_cast<long long>(kSftEpochs));
    QVERIFY2(second.progress > 0 && second.progress < kSftEpochs, qPrintable(QString::number(second.progress)));
    QVERIFY(!probeKeptState(ws, QStringLiteral("sft_v2 latest (step")).isEmpty());
    resumeAndCompare(ws);
}

QStringList TstPipelineResume::probeKeptState(const QString& workspace, const QString& expected)
{
    const QString run = QString::number(onlyRunId(workspace));
    const CliRun list = cli({QStringLiteral("probe"), QStringLiteral("--workspace"), workspace, QStringLiteral("--run"), run,
                             QStringLiteral("--list")});
    if (list.code != 0 || !list.out.contains(expected)) {
        qWarning("%s", qPrintable(list.out));
        return {};
    }
    QString line = list.out.mid(list.out.indexOf(expected));
    line = line.left(line.indexOf(QLatin1Char('\n')));
    const QStringList args = line.mid(line.indexOf(QStringLiteral("):")) + 2).split(QLatin1Char(' '), Qt::SkipEmptyParts);
    const CliRun probe = cli(QStringList{QStringLiteral("probe"), QStringLiteral("--workspace"), workspace,
                                         QStringLiteral("--run"), run, QStringLiteral("--user"), QStringLiteral("2"),
                                         QStringLiteral("--max-new-tokens"), QStringLiteral("32")}
                             + args);
    if (probe.code != 0 || !probe.out.contains(QStringLiteral("--- list reward"))) {
        qWarning("%s", qPrintable(probe.out.right(2000)));
        return {};
    }
    return args;
}

void TstPipelineResume::keptStatesProbeLikeTheirVariants()
{
    // The finished reference run: PPO's last state (no validation, so the exported actor is the
    // last iteration's) probes exactly as the `full` variant; SFT's last state is listed too.
    const QString ws = m_dir.filePath(QStringLiteral("A"));
    const QStringList ppo = probeKeptState(ws, QStringLiteral("ppo_full latest (iteration %1)").arg(kPpoIterations));
    QVERIFY(!ppo.isEmpty());
    QVERIFY(ppo.last().endsWith(QStringLiteral("ppo_state.safetensors")));
    QVERIFY(!probeKeptState(ws, QStringLiteral("sft_v2 latest (step")).isEmpty());
    const QStringList common = {QStringLiteral("probe"), QStringLiteral("--workspace"), ws, QStringLiteral("--run"),
                                QString::number(onlyRunId(ws)), QStringLiteral("--user"), QStringLiteral("5"),
                                QStringLiteral("--max-new-tokens"), QStringLiteral("48")};
    const CliRun full = cli(common + QStringList{QStringLiteral("--variant"), QStringLiteral("full")});
    const CliRun state = cli(common + ppo);
    QVERIFY2(full.code == 0 && state.code == 0, qPrintable(full.out.right(1000) + state.out.right(1000)));
    const QString out = full.out.mid(full.out.indexOf(QStringLiteral("--- output")));
    QVERIFY(out.size() > 30);
    QCOMPARE(state.out.mid(state.out.indexOf(QStringLiteral("--- output"))), out);
}

QTEST_GUILESS_MAIN(TstPipelineResume)
#include "tst_pipeline_resume.moc"
