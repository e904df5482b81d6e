// The studio end to end with the real pipeline: a miniature experiment started from Configure
// fills the Monitor (live batches, then the stored series) and ends with rows in Compare (whose
// export equals `recalign export`'s) and samples in Inspect; the Probe runs the tiny pretrained
// model (stories260K) and the teacher side by side; a cancelled run leaves the store
// consistent and resumes from the runs dock; a screenshot of every tab. The whole loop with SFT
// and PPO over a two-seed group: live reward and KL in the Monitor, cancel at a deterministic
// pause point, resume of the group, mean ± std in Compare, samples in Inspect.
#include "app/studio/app_settings.h"
#include "app/studio/compare_page.h"
#include "app/studio/configure_page.h"
#include "app/studio/experiment_document.h"
#include "app/studio/inspect_page.h"
#include "app/studio/main_window.h"
#include "app/studio/monitor_controller.h"
#include "app/studio/monitor_page.h"
#include "app/studio/probe_controller.h"
#include "app/studio/probe_page.h"
#include "app/studio/probe_result_view.h"
#include "app/studio/run_controller.h"
#include "app/studio/run_list_model.h"
#include "app/studio/runs_dock.h"
#include "app/studio/studio_controller.h"
#include "app/studio/workspace.h"
#include "widgets/ablation_table.h"
#include "widgets/icons.h"
#include "widgets/metric_dashboard.h"
#include "widgets/metric_plot.h"
#include "widgets/probe_widgets.h"
#include "widgets/runs_table.h"
#include "widgets/sample_list_view.h"
#include "widgets/theme.h"

#include "app_fixtures.h"

#include "core/api/experiment.h"
#include "core/api/store_api.h"
#include "core/api/tables.h"

#include <QCheckBox>
#include <QComboBox>
#include <QElapsedTimer>
#include <QFile>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QProcess>
#include <QPushButton>
#include <QSignalSpy>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QTimer>
#include <QTreeView>
#include <QtTest>

#include <memory>

using namespace recalign;
using namespace recalign::studio;

class TstStudioRun : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void miniatureRunFromConfigureFillsMonitorAndCompare();
    void compareExportEqualsTheCli();
    void inspectShowsTheRunsSamples();
    void probeProducesAnAnnotatedListWithATinyModel();
    void probeTakesAnyModelAndKeptStatesFromTheForm();
    void cancelLeavesTheStoreConsistentAndResumeFinishes();
    void screenshotsOfEveryTab();
    void seedGroupWithSftAndPpoRunsCancelsAndResumesFromTheGui();
    void twoLocalProcessesRunFromTheGuiAsOneRun();
    void cleanupTestCase();

private:
    QTemporaryDir m_settings;
    QTemporaryDir m_workspace;
    std::unique_ptr<MainWindow> m_window;
    qint64 m_run = 0;
    qint64 m_resumedRun = 0;  // cancelled, then resumed to the end
    QList<QVector<MetricPoint>> m_batches;
};

namespace tst_studio_run_detail {
const char* kFixture = RECALIGN_SOURCE_DIR "/tests/fixtures/app/mini.yaml";

// Writes `from` with every (old, new) replacement applied to `to`; "" when a file cannot be used.
QString editedCopy(const QString& from, const QString& to, const QList<QPair<QString, QString>>& edits)
{
    QFile in(from);
    if (!in.open(QIODevice::ReadOnly))
        return {};
    QString yaml = QString::fromUtf8(in.readAll());
    for (const auto& [before, after] : edits)
        yaml.replace(before, after);
    QFile out(to);
    if (!out.open(QIODevice::WriteOnly) || out.write(yaml.toUtf8()) < 0)
        return {};
    return to;
}
}  // namespace tst_studio_run_detail

void TstStudioRun::initTestCase()
{
    QVERIFY(m_settings.isValid() && m_workspace.isValid());
    app_fixtures::isolateSettings(m_settings.path());
    widgets::initResources();
    widgets::applyTheme(*qApp, widgets::Theme::Light);
    m_window = std::make_unique<MainWindow>(m_workspace.path());
    m_window->resize(1600, 960);
    m_window->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
}

void TstStudioRun::miniatureRunFromConfigureFillsMonitorAndCompare()
{
    MainWindow& w = *m_window;
    RunController* runs = w.controller()->runController();
    QSignalSpy drained(runs, &RunController::metricsDrained);
    QSignalSpy finished(runs, &RunController::jobFinished);
    QSignalSpy liveRun(w.controller(), &StudioController::liveRunChanged);
    int liveSeriesSeen = 0;
    QObject guard;  // the connection ends with this test function
    connect(runs, &RunController::metricsDrained, &guard, [&] {
        if (widgets::MetricPlot* p = w.monitorPage()->dashboard()->plotFor(QStringLiteral("loss")))
            liveSeriesSeen = std::max(liveSeriesSeen, static_cast<int>(p->runs().size()));
    });

    // As a user does it: open the experiment in Configure and press Run.
    w.tabs()->setCurrentIndex(MainWindow::ConfigureTab);
    QVERIFY(w.configurePage()->openFile(QString::fromLatin1(tst_studio_run_detail::kFixture)));
    QVERIFY(w.configurePage()->document()->errors().empty());
    QElapsedTimer clock;
    clock.start();
    QVERIFY(w.configurePage()->requestRun());
    QCOMPARE(w.tabs()->currentIndex(), int(MainWindow::MonitorTab));
    QVERIFY(w.controller()->isBusy());
    QVERIFY(finished.wait(900000));
    qInfo("miniature run: %.1f s, %d metric batches", clock.elapsed() / 1000.0, int(drained.size()));
    QCOMPARE(finished.at(0).at(1).toInt(), int(core::ErrorCode::None));
    m_run = finished.at(0).at(3).toLongLong();
    QVERIFY(m_run > 0);

    // Live metrics arrived in coalesced batches and reached the loss chart while it ran.
    QVERIFY(drained.size() >= 1);
    int teacherLoss = 0;
    for (const auto& args : drained)
        for (const MetricPoint& p : args.at(0).value<QVector<MetricPoint>>())
            teacherLoss += p.stage == QLatin1String("teacher") && p.name == QLatin1String("loss");
    QCOMPARE(teacherLoss, 2);  // two epochs
    QCOMPARE(liveSeriesSeen, 1);
    QVERIFY(liveRun.size() >= 1);
    QCOMPARE(liveRun.last().at(0).toLongLong(), m_run);

    // After the run, the Monitor shows the stored series of the run.
    widgets::MetricPlot* loss = w.monitorPage()->dashboard()->plotFor(QStringLiteral("loss"));
    QVERIFY(loss);
    QCOMPARE(loss->runs().size(), 1);
    QCOMPARE(loss->pointCount(loss->runs().front()), size_t(2));
    QVERIFY(w.monitor()->shownRuns().contains(m_run));
    QVERIFY(w.monitorPage()->logView()->toPlainText().contains(QStringLiteral("run %1").arg(m_run)));

    // The run is selected in the dock, finished; Compare has its rows.
    QCOMPARE(w.runsDock()->selectedRuns(), QList<qint64>{m_run});
    const core::RunInfo* info = w.controller()->runList()->runById(m_run);
    QVERIFY(info);
    QCOMPARE(int(info->status), int(core::RunStatus::Finished));
    w.tabs()->setCurrentIndex(MainWindow::CompareTab);
    widgets::AblationTable* i0 = w.comparePage()->table(core::TableKind::I0);
    QStringList rows;
    for (const auto& r : i0->table().rows)
        rows << QString::fromStdString(r.name);
    QCOMPARE(rows, (QStringList{QStringLiteral("SASRec"), QStringLiteral("MostPop"), QStringLiteral("Zero-shot")}));
    QVERIFY(w.comparePage()->table(core::TableKind::I1)->table().rows.size() == 3);
    QVERIFY(!w.progressBar()->isVisible());
}

void TstStudioRun::compareExportEqualsTheCli()
{
    QVERIFY(m_run > 0);
    m_window->tabs()->setCurrentIndex(MainWindow::CompareTab);
    QVERIFY(m_window->comparePage()->rowCount() > 0);
    const QString cli = QStringLiteral(RECALIGN_BINARY_DIR "/bin/recalign");
    QVERIFY2(QFile::exists(cli), "the recalign CLI is built with this test");
    for (const auto& [flag, format] : {std::pair<const char*, core::ExportFormat>{"latex", core::ExportFormat::Latex},
                                       {"csv", core::ExportFormat::Csv},
                                       {"markdown", core::ExportFormat::Markdown}}) {
        QProcess p;
        p.start(cli, {QStringLiteral("export"), QString::number(m_run), QStringLiteral("--workspace"), m_workspace.path(),
                      QStringLiteral("--format"), QString::fromLatin1(flag), QStringLiteral("--table"), QStringLiteral("all")});
        QVERIFY(p.waitForFinished(120000));
        QCOMPARE(p.exitCode(), 0);
        const QString expected = QString::fromUtf8(p.readAllStandardOutput());
        QVERIFY(expected.size() > 100);
        QCOMPARE(QString::fromStdString(m_window->comparePage()->exportAll(format)), expected);
    }
    // One table through the widget equals the CLI's single-table export too.
    QProcess p;
    p.start(cli, {QStringLiteral("export"), QString::number(m_run), QStringLiteral("--workspace"), m_workspace.path(),
                  QStringLiteral("--format"), QStringLiteral("latex"), QStringLiteral("--table"), QStringLiteral("i0")});
    QVERIFY(p.waitForFinished(120000));
    QCOMPARE(QString::fromStdString(m_window->comparePage()->table(core::TableKind::I0)->exportText(core::ExportFormat::Latex)),
             QString::fromUtf8(p.readAllStandardOutput()));
}

void TstStudioRun::inspectShowsTheRunsSamples()
{
    QVERIFY(m_run > 0);
    MainWindow& w = *m_window;
    w.tabs()->setCurrentIndex(MainWindow::InspectTab);
    widgets::SampleListView* view = w.inspectPage()->view();
    QVERIFY(view->visibleCount() > 20);
    view->setVariantFilter(QStringLiteral("sasrec"));
    const int sasrec = view->visibleCount();
    QVERIFY(sasrec > 0);
    // The teacher's own lists: legal items only, each with a teacher rank.
    QVERIFY(view->selectVisibleRow(0));
    const widgets::SampleView* s = view->currentSample();
    QVERIFY(s);
    QVERIFY(!s->items.empty());
    QVERIFY(!s->history.empty());
    for (const auto& item : s->items) {
        QCOMPARE(int(item.badge), int(widgets::ItemBadge::Legal));
        QVERIFY(item.rank > 0);
    }
    view->setVariantFilter(QString());
    view->setTaskFilter(QStringLiteral("i1+"));
    QVERIFY(view->selectVisibleRow(0));
    QVERIFY(!view->currentSample()->target_category.empty());
    view->setTaskFilter(QString());
}

void TstStudioRun::probeProducesAnAnnotatedListWithATinyModel()
{
    QVERIFY(m_run > 0);
    MainWindow& w = *m_window;
    w.tabs()->setCurrentIndex(MainWindow::ProbeTab);
    ProbePage* page = w.probePage();
    QSignalSpy catalogue(w.probe(), &ProbeController::catalogueReady);
    page->selectRun(0, m_run, QStringLiteral("zeroshot"));
    page->selectRun(1, m_run, QStringLiteral("sasrec"));
    page->setCompare(true);
    QTRY_VERIFY_WITH_TIMEOUT(page->generateButton()->isEnabled(), 60000);
    page->selectRun(0, m_run, QStringLiteral("zeroshot"));
    page->selectRun(1, m_run, QStringLiteral("sasrec"));
    page->setUser(3);
    page->taskCombo()->setCurrentIndex(page->taskCombo()->findData(QStringLiteral("i1+")));
    const QVector<core::ProbeRequest> requests = page->requests();
    QCOMPARE(requests.size(), 2);
    QCOMPARE(requests[0].variant, std::string("zeroshot"));
    QCOMPARE(requests[1].variant, std::string("sasrec"));
    QCOMPARE(requests[0].task, std::string("i1+"));
    QVERIFY(!requests[0].category.empty());

    // Constrained decoding makes the tiny story model name catalogue titles: a list to judge.
    QSignalSpy results(w.probe(), &ProbeController::resultReady);
    QSignalSpy done(w.probe(), &ProbeController::finished);
    page->constrainedBox()->setChecked(true);
    QVERIFY(page->requests()[0].constrained);
    page->generate();
    QVERIFY(done.wait(300000));
    QCOMPARE(results.size(), 2);
    const auto zero = results.at(0).at(1).value<core::ProbeResult>();
    const auto teacher = results.at(1).at(1).value<core::ProbeResult>();
    QVERIFY2(zero.error.ok(), zero.error.message.c_str());
    QVERIFY2(teacher.error.ok(), teacher.error.message.c_str());
    qInfo("probe zero-shot: %zu tokens, %zu items, %.2f s; output: %s", zero.tokens.size(), zero.items.size(),
          zero.seconds, zero.output.substr(0, 160).c_str());

    ProbeResultView* a = page->resultView(0);
    ProbeResultView* b = page->resultView(1);
    QVERIFY(a->itemsModel()->rowCount() > 0);  // the annotated list
    QCOMPARE(a->itemsModel()->rowCount(), static_cast<int>(zero.items.size()));
    for (int r = 0; r < a->itemsModel()->rowCount(); ++r) {
        const auto badge = a->itemsModel()->index(r, widgets::SampleItemsModel::Status).data(widgets::BadgeRole).toInt();
        QVERIFY(badge != int(widgets::ItemBadge::NonExistent));  // constrained: every title exists
        QVERIFY(a->itemsModel()->index(r, widgets::SampleItemsModel::Category).data(widgets::CategoryRole).toInt()
                != int(widgets::CategoryMatch::Unknown));  // I1 has a target category
    }
    QCOMPARE(a->heatStrip()->tokens().size(), zero.tokens.size());
    QVERIFY(!zero.tokens.empty());
    QVERIFY(std::isfinite(a->heatStrip()->meanLogProb()));
    QVERIFY(a->heatStrip()->meanLogProb() < 0);
    QVERIFY(!a->rawText().isEmpty());
    QCOMPARE(b->itemsModel()->rowCount(), 10);  // the teacher's top 10
    QVERIFY(b->heatStrip()->tokens().empty());  // no LLM, no log-probs
    QVERIFY(b->isVisible());
}

void TstStudioRun::probeTakesAnyModelAndKeptStatesFromTheForm()
{
    QVERIFY(m_run > 0);
    MainWindow& w = *m_window;
    w.tabs()->setCurrentIndex(MainWindow::ProbeTab);
    ProbePage* page = w.probePage();
    page->setCompare(true);
    page->selectRun(0, m_run, QStringLiteral("zeroshot"));
    page->selectRun(1, m_run, QStringLiteral("custom"));
    QTRY_VERIFY_WITH_TIMEOUT(page->generateButton()->isEnabled(), 60000);
    // "Other model or adapters" shows the model and adapter fields of its slot only.
    QCOMPARE(page->variantCombo(1)->currentData().toString(), QStringLiteral("custom"));
    QVERIFY(page->modelEdit(1)->isVisible());
    QVERIFY(page->adaptersEdit(1)->isVisible());
    QVERIFY(!page->modelEdit(0)->isVisible());
    // The run's own model given as a file probes exactly as its zero-shot variant.
    const QString model = QStringLiteral(RECALIGN_SHARED_DIR "/models/stories260K/stories260K.bin");
    page->modelEdit(1)->setText(model);
    page->setUser(3);
    page->taskCombo()->setCurrentIndex(page->taskCombo()->findData(QStringLiteral("i0")));
    page->constrainedBox()->setChecked(true);
    const QVector<core::ProbeRequest> requests = page->requests();
    QCOMPARE(requests.size(), 2);
    QCOMPARE(requests[1].variant, std::string("custom"));
    QCOMPARE(QString::fromStdString(requests[1].model_path), model);
    QVERIFY(requests[1].adapters.empty());
    QSignalSpy results(w.probe(), &ProbeController::resultReady);
    QSignalSpy done(w.probe(), &ProbeController::finished);
    page->generate();
    QVERIFY(done.wait(300000));
    QCOMPARE(results.size(), 2);
    const auto zero = results.at(0).at(1).value<core::ProbeResult>();
    const auto custom = results.at(1).at(1).value<core::ProbeResult>();
    QVERIFY2(custom.error.ok(), custom.error.message.c_str());
    QVERIFY(!zero.output.empty());
    QCOMPARE(custom.output, zero.output);
    // A kept trainer state of the catalogue becomes a custom request with its model and adapters.
    core::ProbeCatalogue catalogue = core::probeCatalogue(m_workspace.path().toStdString(), m_run);
    QVERIFY(catalogue.error.ok());
    core::ProbeCheckpoint kept;
    kept.stage = "ppo_full";
    kept.kind = "latest";
    kept.step = 3;
    kept.model_path = "/runs/sft/best";
    kept.adapters = {"/runs/ppo_full/ppo_state.safetensors"};
    catalogue.checkpoints.push_back(kept);
    page->setCatalogue(m_run, catalogue);
    const int k = page->variantCombo(1)->findData(QStringLiteral("checkpoint:0"));
    QVERIFY(k >= 0);
    QVERIFY(page->variantCombo(1)->itemText(k).contains(QStringLiteral("iteration 3")));
    page->variantCombo(1)->setCurrentIndex(k);
    QVERIFY(!page->modelEdit(1)->isVisible());
    const core::ProbeRequest fromState = page->requests().at(1);
    QCOMPARE(fromState.variant, std::string("custom"));
    QCOMPARE(fromState.model_path, kept.model_path);
    QCOMPARE(fromState.adapters, kept.adapters);
    catalogue.checkpoints.clear();
    page->setCatalogue(m_run, catalogue);
    page->selectRun(1, m_run, QStringLiteral("sasrec"));
    page->setCompare(false);
}

void TstStudioRun::cancelLeavesTheStoreConsistentAndResumeFinishes()
{
    MainWindow& w = *m_window;
    // A slower copy (another seed: nothing cached; more teacher epochs) to cancel mid-stage.
    QTemporaryDir dir;
    const QString path = tst_studio_run_detail::editedCopy(
        QString::fromLatin1(tst_studio_run_detail::kFixture), dir.filePath(QStringLiteral("cancel.yaml")),
        {{QStringLiteral("seeds: [0]"), QStringLiteral("seeds: [7]")},
         {QStringLiteral("variants: [sasrec, mostpop, zeroshot]"), QStringLiteral("variants: [sasrec, mostpop]")},
         {QStringLiteral("epochs: 2"), QStringLiteral("epochs: 400")},
         {QStringLiteral("../../../../shared"), QStringLiteral(RECALIGN_SHARED_DIR)}});
    QVERIFY(!path.isEmpty());

    RunController* runs = w.controller()->runController();
    QSignalSpy finished(runs, &RunController::jobFinished);
    bool cancelled = false;
    QObject guard;  // the connection ends with this test function
    connect(runs, &RunController::metricsDrained, &guard, [&](const QVector<MetricPoint>& points) {
        for (const MetricPoint& p : points)
            if (!cancelled && p.stage == QLatin1String("teacher") && p.step >= 3) {
                cancelled = w.controller()->cancelRun(0);
                QVERIFY(cancelled);
            }
    });
    QVERIFY(w.controller()->startRun(path) > 0);
    QVERIFY(finished.wait(300000));
    QVERIFY(cancelled);
    QCOMPARE(finished.at(0).at(1).toInt(), int(core::ErrorCode::Cancelled));
    const qint64 run = finished.at(0).at(3).toLongLong();
    QVERIFY(run > m_run);

    // The store: the run is cancelled with an end time; no stage is left running; what was
    // written before the cancel (teacher epochs) is readable; no evaluation results yet.
    core::RunStore store;
    QVERIFY(!store.open(core::workspaceStorePath(m_workspace.path().toStdString()), {true}));
    const core::RunInfo info = store.runInfo(run).value();
    QCOMPARE(int(info.status), int(core::RunStatus::Cancelled));
    QVERIFY(info.ended_at >= info.started_at && info.ended_at > 0);
    const auto stages = store.stages(run);
    QVERIFY(stages);
    QVERIFY(!stages.value().empty());
    for (const core::StageRecord& s : stages.value())
        QVERIFY2(s.status != core::StageStatus::Running, s.name.c_str());
    const auto series = store.metricSeries(run, "teacher", "loss").value();
    QVERIFY(series.steps.size() >= 3);
    QVERIFY(series.steps.size() < 400);
    QVERIFY(store.evalResults(run).value().empty());
    QCOMPARE(store.runInfo(m_run).value().status, core::RunStatus::Finished);  // the other run untouched
    const core::RunInfo* listed = w.controller()->runList()->runById(run);
    QVERIFY(listed);
    QCOMPARE(int(listed->status), int(core::RunStatus::Cancelled));

    // Resume from the runs dock: it finishes the same run. Meanwhile the window stays
    // responsive (a 10 ms timer never waits 100 ms) while the teacher trains in the worker.
    w.runsDock()->selectRuns({run});
    QVERIFY(w.runsDock()->resumeAction()->isEnabled());
    QElapsedTimer clock;
    clock.start();
    qint64 last = 0, maxGap = 0, maxGapAt = 0, finishedAt = -1;
    int ticks = 0;
    connect(runs, &RunController::jobFinished, &guard, [&] { finishedAt = clock.elapsed(); });
    QTimer tick;
    tick.setInterval(10);
    connect(&tick, &QTimer::timeout, &guard, [&] {
        const qint64 now = clock.elapsed();
        if (now - last > maxGap) {
            maxGap = now - last;
            maxGapAt = now;
        }
        last = now;
        ++ticks;
    });
    tick.start();
    w.runsDock()->resumeSelected();
    QVERIFY(finished.wait(600000));
    QTest::qWait(200);  // the handling of the end (reloading the run's series and tables) counts too
    tick.stop();
    qInfo("resumed run: %.1f s of training; event-loop max gap %lld ms (ending %lld ms after start; job "
          "finished at %lld ms) over %d ticks",
          finishedAt / 1000.0, maxGap, maxGapAt, finishedAt, ticks);
    QVERIFY2(maxGap < 100, qPrintable(QStringLiteral("max event-loop gap %1 ms").arg(maxGap)));
    QCOMPARE(finished.at(1).at(1).toInt(), int(core::ErrorCode::None));
    QCOMPARE(finished.at(1).at(3).toLongLong(), run);
    store.close();
    QVERIFY(!store.open(core::workspaceStorePath(m_workspace.path().toStdString()), {true}));
    QCOMPARE(int(store.runInfo(run).value().status), int(core::RunStatus::Finished));
    QVERIFY(!store.evalResults(run).value().empty());
    const auto resumedLoss = store.metricSeries(run, "teacher", "loss").value();
    QVERIFY(resumedLoss.steps.size() > series.steps.size());  // the teacher went on training
    m_resumedRun = run;
}

void TstStudioRun::screenshotsOfEveryTab()
{
    QVERIFY(m_run > 0 && m_resumedRun > 0);
    MainWindow& w = *m_window;
    QVERIFY(w.configurePage()->openFile(QString::fromLatin1(tst_studio_run_detail::kFixture)));
    // Both runs selected: the Monitor overlays them (legend: the config keys that differ) and
    // Compare labels its rows by run.
    w.runsDock()->selectRuns({m_resumedRun, m_run});
    QCOMPARE(w.shownRuns().size(), 2);
    const QStringList legend = w.monitorPage()->dashboard()->legendLines();
    QCOMPARE(legend.size(), 2);  // one series per run and stage (teacher)
    QVERIFY(legend.join(QLatin1Char('\n')).contains(QStringLiteral("seeds=[7]")));
    QVERIFY(!legend.join(QLatin1Char('\n')).contains(QStringLiteral("sft.lr")));  // same in both
    const QString dir = app_fixtures::screenshotDir();
    const QStringList names = {QStringLiteral("configure"), QStringLiteral("monitor"), QStringLiteral("compare"),
                               QStringLiteral("inspect"), QStringLiteral("probe")};
    for (int t = 0; t < names.size(); ++t) {
        if (t == MainWindow::InspectTab) {
            w.runsDock()->selectRuns({m_run});
            w.inspectPage()->view()->setTaskFilter(QStringLiteral("i1+"));
        }
        w.tabs()->setCurrentIndex(t);
        if (t == MainWindow::InspectTab)
            w.inspectPage()->view()->selectVisibleRow(0);
        QTest::qWait(300);  // queued replots and layouts
        const QString path = dir + QStringLiteral("/app-%1.png").arg(names[t]);
        QVERIFY(w.grab().save(path));
        qInfo("screenshot %s", qPrintable(path));
    }
    // The dark theme, on the Compare tab of both runs.
    w.runsDock()->selectRuns({m_resumedRun, m_run});
    widgets::applyTheme(*qApp, widgets::Theme::Dark);
    w.tabs()->setCurrentIndex(MainWindow::CompareTab);
    QTest::qWait(300);
    const QString dark = dir + QStringLiteral("/app-compare-dark.png");
    QVERIFY(w.grab().save(dark));
    qInfo("screenshot %s", qPrintable(dark));
    widgets::applyTheme(*qApp, widgets::Theme::Light);
    QVERIFY(w.minimumSizeHint().width() <= 1400);  // every tab fits a 1400-pixel window
}

// The whole loop as a user does it, on the pipeline's miniature experiment (SFT and PPO) with two
// seeds: Configure -> Run; PPO's reward and KL points reach the Monitor while the run goes; the run
// is held at PPO iteration 2 of its first seed (RECALIGN_PAUSE_AT: no race with the trainer on 2
// cores) and cancelled there; Resume in the runs dock finishes the whole group; Compare shows one
// row per method with mean ± std over the two seeds, Inspect the samples, Monitor a seed band.
void TstStudioRun::seedGroupWithSftAndPpoRunsCancelsAndResumesFromTheGui()
{
    MainWindow& w = *m_window;
    QTemporaryDir dir;
    const QString path = tst_studio_run_detail::editedCopy(
        QStringLiteral(RECALIGN_SOURCE_DIR "/tests/fixtures/pipeline/mini.yaml"), dir.filePath(QStringLiteral("group.yaml")),
        {{QStringLiteral("seeds: [0]"), QStringLiteral("seeds: [0, 1]")},
         {QStringLiteral("variants: [sasrec, mostpop, zeroshot, palr, v1, v2, v3, full]"),
          QStringLiteral("variants: [sasrec, v2, full]")},
         {QStringLiteral("../general/"), QStringLiteral(RECALIGN_SOURCE_DIR "/tests/fixtures/general/")}});
    QVERIFY(!path.isEmpty());
    QFile written(path);
    QVERIFY(written.open(QIODevice::ReadOnly));
    QVERIFY(QString::fromUtf8(written.readAll()).contains(QStringLiteral("variants: [sasrec, v2, full]")));

    RunController* runs = w.controller()->runController();
    QSignalSpy finished(runs, &RunController::jobFinished);
    int rewardPoints = 0, klPoints = 0, shownWhileRunning = 0;
    bool cancelled = false;
    QObject guard;
    connect(runs, &RunController::metricsDrained, &guard, [&](const QVector<MetricPoint>& points) {
        for (const MetricPoint& p : points) {
            if (p.stage != QLatin1String("ppo_full"))
                continue;
            rewardPoints += p.name == QLatin1String("env/reward_mean");
            klPoints += p.name == QLatin1String("objective/kl");
        }
        if (widgets::MetricPlot* reward = w.monitorPage()->dashboard()->plotFor(QStringLiteral("env/reward_mean")))
            for (const QString& series : reward->runs())
                shownWhileRunning = std::max(shownWhileRunning, static_cast<int>(reward->pointCount(series)));
        if (!cancelled && rewardPoints >= 2 && klPoints >= 2) {
            cancelled = w.controller()->cancelRun(0);
            QVERIFY(cancelled);
        }
    });
    qputenv("RECALIGN_PAUSE_AT", "ppo_full:2");
    w.tabs()->setCurrentIndex(MainWindow::ConfigureTab);
    QVERIFY(w.configurePage()->openFile(path));
    QVERIFY(w.configurePage()->document()->errors().empty());
    QVERIFY(w.configurePage()->requestRun());
    const bool ended = finished.wait(900000);
    qunsetenv("RECALIGN_PAUSE_AT");
    QVERIFY(ended);
    QVERIFY(cancelled);
    QCOMPARE(finished.at(0).at(1).toInt(), int(core::ErrorCode::Cancelled));
    QVERIFY2(shownWhileRunning >= 2, "the Monitor's reward chart showed PPO's points while the run went");
    const qint64 first = finished.at(0).at(3).toLongLong();
    QVERIFY(w.monitorPage()->logView()->toPlainText().contains(QStringLiteral("paused at ppo_full")));

    core::RunStore store;
    QVERIFY(!store.open(core::workspaceStorePath(m_workspace.path().toStdString()), {true}));
    const core::RunInfo info = store.runInfo(first).value();
    QCOMPARE(int(info.status), int(core::RunStatus::Cancelled));
    QVERIFY(info.group_id > 0);
    QCOMPARE(store.group(info.group_id).value().seeds, std::vector<int64_t>({0, 1}));
    QCOMPARE(core::groupRunIds(store, info.group_id).value().size(), size_t(1));  // seed 1 not started
    store.close();

    // Resume from the runs dock: the cancelled run goes on, then the group's second seed runs.
    QTRY_VERIFY(w.controller()->runList()->runById(first) != nullptr);
    w.runsDock()->selectRuns({first});
    QVERIFY(w.runsDock()->resumeAction()->isEnabled());
    w.runsDock()->resumeSelected();
    QVERIFY(finished.wait(900000));
    QCOMPARE(finished.at(1).at(1).toInt(), int(core::ErrorCode::None));
    QVERIFY(!store.open(core::workspaceStorePath(m_workspace.path().toStdString()), {true}));
    const std::vector<int64_t> group = core::groupRunIds(store, info.group_id).value();
    QCOMPARE(group.size(), size_t(2));
    QCOMPARE(group.front(), first);
    for (int64_t id : group)
        QCOMPARE(int(store.runInfo(id).value().status), int(core::RunStatus::Finished));
    store.close();

    // Both runs selected: Compare aggregates them (one row per method, mean ± std, n = 2).
    QTRY_VERIFY(w.controller()->runList()->runById(group.back()) != nullptr);
    w.runsDock()->selectRuns({group.back(), group.front()});
    w.tabs()->setCurrentIndex(MainWindow::CompareTab);
    const core::Table& i0 = w.comparePage()->table(core::TableKind::I0)->table();
    QStringList rows;
    for (const auto& r : i0.rows)
        rows << QString::fromStdString(r.name);
    QCOMPARE(rows, (QStringList{QStringLiteral("SASRec"), QStringLiteral("Ours_v2"), QStringLiteral("Ours_full")}));
    QCOMPARE(i0.rows[1].cells[0].seeds, 2);
    QVERIFY(QString::fromStdString(w.comparePage()->exportAll(core::ExportFormat::Markdown)).contains(QStringLiteral(" ± ")));
    const QString shots = app_fixtures::screenshotDir();
    QTest::qWait(300);
    QVERIFY(w.grab().save(shots + QStringLiteral("/app-compare-seeds.png")));
    // Inspect: the group's samples.
    w.tabs()->setCurrentIndex(MainWindow::InspectTab);
    QVERIFY(w.inspectPage()->view()->visibleCount() > 0);
    w.inspectPage()->view()->setVariantFilter(QStringLiteral("full"));
    QVERIFY(w.inspectPage()->view()->visibleCount() > 0);
    w.inspectPage()->view()->setVariantFilter(QString());
    // Monitor: one band per stage for the group (seeds 0 and 1).
    w.tabs()->setCurrentIndex(MainWindow::MonitorTab);
    QTest::qWait(300);
    widgets::MetricPlot* reward = w.monitorPage()->dashboard()->plotFor(QStringLiteral("env/reward_mean"));
    QVERIFY(reward);
    bool band = false;
    for (const QString& series : reward->runs())
        band = band || reward->hasBand(series);
    QVERIFY(band);
    QVERIFY(w.grab().save(shots + QStringLiteral("/app-monitor-seed-band.png")));
    // The Runs tab lists the group's runs with the group's name.
    w.tabs()->setCurrentIndex(MainWindow::RunsTab);
    QVERIFY(w.runsTable()->selectedRuns().size() == 2);
    QTest::qWait(200);
    QVERIFY(w.grab().save(shots + QStringLiteral("/app-runs-table.png")));
}

void TstStudioRun::twoLocalProcessesRunFromTheGuiAsOneRun()
{
    // Settings → "Processes per run" 2: the run is the CLI with --nproc 2 in a child process,
    // followed through the store; the Monitor gets its curves while it runs, the runs dock one run.
    MainWindow& w = *m_window;
    AppSettings::setProcesses(2);
    RunController* runs = w.controller()->runController();
    QSignalSpy finished(runs, &RunController::jobFinished);
    int sftPoints = 0, ppoPoints = 0;
    QObject guard;
    connect(runs, &RunController::metricsDrained, &guard, [&](const QVector<MetricPoint>& points) {
        for (const MetricPoint& p : points) {
            sftPoints += p.stage == QLatin1String("sft_v2") && p.name == QLatin1String("loss");
            ppoPoints += p.stage == QLatin1String("ppo_full") && p.name == QLatin1String("env/reward_mean");
        }
    });
    QVERIFY(w.controller()->startRun(QStringLiteral(RECALIGN_SOURCE_DIR "/tests/fixtures/dist/mini.yaml")) > 0);
    QVERIFY(finished.wait(300000));
    AppSettings::setProcesses(1);
    QVERIFY2(finished.at(0).at(1).toInt() == 0, qPrintable(finished.at(0).at(2).toString()));
    const qint64 run = finished.at(0).at(3).toLongLong();
    QVERIFY(run > 0);
    QCOMPARE(sftPoints, 23);
    QCOMPARE(ppoPoints, 2);
    core::RunStore store;
    QVERIFY(!store.open(core::workspaceStorePath(m_workspace.path().toStdString()), {true}));
    QCOMPARE(int(store.runInfo(run).value().status), int(core::RunStatus::Finished));
    QVERIFY(QFileInfo::exists(m_workspace.filePath(QStringLiteral("ranks/1/runs.sqlite"))));  // rank 1's own store
    QTRY_VERIFY_WITH_TIMEOUT(w.controller()->runList()->runById(run) != nullptr, 10000);
}

void TstStudioRun::cleanupTestCase() { m_window.reset(); }

QTEST_MAIN(TstStudioRun)
#include "tst_studio_run.moc"
