// The studio window and its controllers without a real training run: the runs list, Configure's
// load -> edit -> validate -> save round trip, Inspect's badges for a crafted sample, Compare's
// LaTeX equal to core::exportTable's, event-loop latency while a CPU-heavy job runs, a failed
// job's error, deleting runs, settings and window state.
#include "app/studio/app_settings.h"
#include "app/studio/compare_page.h"
#include "app/studio/configure_page.h"
#include "app/studio/experiment_document.h"
#include "app/studio/inspect_page.h"
#include "app/studio/main_window.h"
#include "app/studio/monitor_controller.h"
#include "app/studio/monitor_page.h"
#include "app/studio/run_controller.h"
#include "app/studio/run_data.h"
#include "app/studio/run_list_model.h"
#include "app/studio/studio_controller.h"
#include "app/studio/workspace.h"
#include "widgets/ablation_table.h"
#include "widgets/config_form.h"
#include "widgets/icons.h"
#include "widgets/metric_dashboard.h"
#include "widgets/metric_plot.h"
#include "widgets/sample_list_view.h"
#include "widgets/theme.h"

#include "app_fixtures.h"

#include "core/api/experiment.h"
#include "core/api/tables.h"

#include <QCheckBox>
#include <QDoubleSpinBox>
#include <QElapsedTimer>
#include <QLabel>
#include <QListWidget>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QRegularExpression>
#include <QProgressBar>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QToolButton>
#include <QtTest>

#include <algorithm>
#include <cmath>

using namespace recalign;
using namespace recalign::studio;

class TstStudio : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void runListGroupsRunsByExperimentAndFilters();
    void configureLoadEditValidateSaveRoundTrip();
    void configureShowsYamlErrorsAndKeepsTheLastGoodForm();
    void inspectShowsTheRightBadgesForACraftedSample();
    void compareLatexExportEqualsExportTable();
    void aGrpoRecipeShowsItsRowAndCurves();
    void eventLoopStaysResponsiveWhileACpuHeavyJobRuns();
    void aFailedJobShowsItsErrorAndTheAppKeepsRunning();
    void deleteRunRemovesItFromListAndStore();
    void settingsAndWindowStatePersist();

private:
    QTemporaryDir m_settings;
};

void TstStudio::initTestCase()
{
    QVERIFY(m_settings.isValid());
    app_fixtures::isolateSettings(m_settings.path());
    widgets::initResources();
    widgets::applyTheme(*qApp, widgets::Theme::Light);
}

void TstStudio::runListGroupsRunsByExperimentAndFilters()
{
    core::RunStore store;
    QVERIFY(!store.openInMemory());
    const int64_t ea = store.addExperiment({0, "alpha", "", "", 0}).value();
    const int64_t eb = store.addExperiment({0, "beta", "", "", 0}).value();
    const int64_t r1 = app_fixtures::addRun(store, ea, "alpha (seed 0)", 0, core::RunStatus::Finished, 0.001);
    const int64_t r2 = app_fixtures::addRun(store, eb, "beta (seed 1)", 1, core::RunStatus::Failed, 0.002);
    const int64_t r3 = app_fixtures::addRun(store, ea, "alpha (seed 2)", 2, core::RunStatus::Finished, 0.001);
    QVERIFY(r1 && r2 && r3);
    QVERIFY(!store.setRunStatus(r2, core::RunStatus::Failed, "data file missing"));

    RunListModel model;
    QVERIFY(model.refresh(store));
    QCOMPARE(model.rowCount(), 2);  // two experiments
    QCOMPARE(model.runCount(), 3);
    const QModelIndex alpha = model.index(0, 0);  // newest run first: r3 (alpha)
    QCOMPARE(alpha.data().toString(), QStringLiteral("alpha"));
    QCOMPARE(model.rowCount(alpha), 2);
    QCOMPARE(model.index(0, 0, alpha).data(RunListModel::RunIdRole).toLongLong(), r3);
    const QModelIndex failed = model.indexOfRun(r2);
    QVERIFY(failed.isValid());
    QCOMPARE(failed.parent().data().toString(), QStringLiteral("beta"));
    QCOMPARE(failed.siblingAtColumn(RunListModel::Status).data().toString(), QStringLiteral("failed"));
    QVERIFY(failed.data(Qt::ToolTipRole).toString().contains(QStringLiteral("data file missing")));
    QVERIFY(!failed.data(Qt::DecorationRole).value<QIcon>().isNull());

    // A refresh with the same runs keeps the structure (no reset: selections survive).
    QSignalSpy resets(&model, &QAbstractItemModel::modelReset);
    QVERIFY(model.refresh(store));
    QCOMPARE(resets.size(), 0);
    app_fixtures::addRun(store, eb, "beta (seed 3)", 3, core::RunStatus::Running, 0.002);
    QVERIFY(model.refresh(store));
    QCOMPARE(resets.size(), 1);
    QCOMPARE(model.runCount(), 4);

    RunFilterProxy proxy;
    proxy.setSourceModel(&model);
    proxy.setFilterFixedString(QStringLiteral("failed"));
    QCOMPARE(proxy.rowCount(), 1);
    QCOMPARE(proxy.rowCount(proxy.index(0, 0)), 1);
    proxy.setFilterFixedString(QStringLiteral("alpha"));  // the experiment matches: all its runs
    QCOMPARE(proxy.rowCount(), 1);
    QCOMPARE(proxy.rowCount(proxy.index(0, 0)), 2);
    QCOMPARE(formatDuration(200), QStringLiteral("3 min 20 s"));
}

void TstStudio::configureLoadEditValidateSaveRoundTrip()
{
    const QString source = QStringLiteral(RECALIGN_SOURCE_DIR "/experiments/quickstart.yaml");
    ConfigurePage page;
    page.setExperimentsFolder(QStringLiteral(RECALIGN_SOURCE_DIR "/experiments"));
    QVERIFY(page.openFile(source));
    ExperimentDocument* doc = page.document();
    QVERIFY(!doc->isModified());
    QCOMPARE(page.form()->value("ppo.max_iterations"), std::string("40"));
    QCOMPARE(page.form()->value("name"), std::string("quickstart"));
    QVERIFY(page.variantBox(QStringLiteral("full"))->isChecked());
    QVERIFY(page.yamlEdit()->toPlainText().contains(QStringLiteral("max_iterations: 40")));

    // Edit a field as the user does (through its editor): the YAML follows.
    auto* lr = qobject_cast<QDoubleSpinBox*>(page.form()->editorFor("sft.lr"));
    QVERIFY(lr);
    lr->setValue(0.003);
    QCOMPARE(doc->config().sft.lr, 0.003);
    QVERIFY(doc->isModified());
    auto reread = core::checkExperimentText(page.yamlEdit()->toPlainText().toStdString(), doc->baseDir().toStdString());
    QVERIFY(reread.ok());
    QCOMPARE(reread.config.sft.lr, 0.003);

    // Variant check boxes edit the variants list (and the form's editor).
    page.variantBox(QStringLiteral("full"))->setChecked(false);
    QCOMPARE(doc->config().variants.size(), size_t(7));
    QCOMPARE(page.form()->value("variants"), std::string("[sasrec, mostpop, zeroshot, palr, v1, v2, v3]"));

    // An invalid value typed in the raw YAML: the issue is shown next to its field.
    QString yaml = page.yamlEdit()->toPlainText();
    static const QRegularExpression klCoef(QStringLiteral("(\\n\\s*)kl_coef: [^\\s#]+"));
    QVERIFY(yaml.contains(klCoef));
    yaml.replace(klCoef, QStringLiteral("\\1kl_coef: -1"));
    page.yamlEdit()->setPlainText(yaml);
    page.flushYaml();
    QVERIFY(!doc->errors().empty());
    QCOMPARE(doc->errors().front().key, std::string("ppo.kl_coef"));
    QVERIFY(!page.validate());
    QLabel* error = page.form()->errorLabelFor("ppo.kl_coef");
    QVERIFY(error);
    QVERIFY(!error->text().isEmpty());
    QVERIFY(!error->isHidden());
    QVERIFY(page.issueList()->count() >= 1);
    QVERIFY(page.issueList()->item(0)->text().contains(QStringLiteral("ppo.kl_coef")));

    // Fixed in the form: valid again.
    page.form()->setValue("ppo.kl_coef", "0.07");
    Q_EMIT page.form()->valueEdited(QStringLiteral("ppo.kl_coef"));
    QVERIFY(page.validate());
    QVERIFY(page.form()->errorLabelFor("ppo.kl_coef")->isHidden() || page.form()->errorLabelFor("ppo.kl_coef")->text().isEmpty());

    // Save elsewhere and read the file back: exactly the edited config.
    QTemporaryDir dir;
    const QString saved = dir.filePath(QStringLiteral("edited.yaml"));
    QVERIFY(page.saveAs(saved));
    QVERIFY(!doc->isModified());
    QCOMPARE(doc->path(), saved);
    const core::ExperimentCheck back = core::checkExperimentFile(saved.toStdString());
    QVERIFY2(back.ok(), back.errors.empty() ? "" : back.errors.front().message.c_str());
    auto expected = core::loadExperiment(source.toStdString());
    QVERIFY(expected);
    core::ExperimentConfig want = expected.value();
    QVERIFY(core::setFieldFromText(want, "sft.lr", "0.003").empty());
    QVERIFY(core::setFieldFromText(want, "variants", "[sasrec, mostpop, zeroshot, palr, v1, v2, v3]").empty());
    QVERIFY(core::setFieldFromText(want, "ppo.kl_coef", "0.07").empty());
    QCOMPARE(QString::fromStdString(core::canonicalJson(back.config)), QString::fromStdString(core::canonicalJson(want)));

    // And opening the saved file shows the same values.
    ConfigurePage again;
    QVERIFY(again.openFile(saved));
    QCOMPARE(again.form()->value("sft.lr"), std::string("0.003"));
    QVERIFY(!again.variantBox(QStringLiteral("full"))->isChecked());
    QVERIFY(again.variantBox(QStringLiteral("v3"))->isChecked());
}

void TstStudio::configureShowsYamlErrorsAndKeepsTheLastGoodForm()
{
    ConfigurePage page;
    QVERIFY(page.openFile(QStringLiteral(RECALIGN_SOURCE_DIR "/experiments/quickstart.yaml")));
    page.yamlEdit()->setPlainText(QStringLiteral("version: 1\nname: [unclosed\n"));
    page.flushYaml();
    QVERIFY(!page.document()->isReadable());
    QVERIFY(!page.form()->isEnabled());
    QCOMPARE(page.form()->value("name"), std::string("quickstart"));  // the last good form stays
    QVERIFY(page.issueList()->count() >= 1);
    QVERIFY(page.issueList()->item(0)->text().contains(QStringLiteral("YAML")));
    page.yamlEdit()->setPlainText(QStringLiteral("version: 1\nname: renamed\n"));
    page.flushYaml();
    QVERIFY(page.document()->isReadable());
    QVERIFY(page.form()->isEnabled());
    QCOMPARE(page.form()->value("name"), std::string("renamed"));
}

void TstStudio::inspectShowsTheRightBadgesForACraftedSample()
{
    QTemporaryDir ws;
    int64_t run = 0;
    {
        core::RunStore store;
        QVERIFY(!store.open(core::workspaceStorePath(ws.path().toStdString())));
        const int64_t e = store.addExperiment({0, "crafted", "", "", 0}).value();
        run = app_fixtures::addRun(store, e, "crafted (seed 0)", 0, core::RunStatus::Finished, 0.001);
        core::SampleRecord s;
        s.stage = "eval";
        s.variant = "v2";
        s.task = "i1+";
        s.prompt = "[INST] I'd like some comedy [/INST]";
        s.output = "1. Delta (2005)\n2. Epsilon (2007)\n3. No Such Film\n4. Delta (2005)\n5. Beta (2001)\n6. Zeta (2009)";
        s.details_json = app_fixtures::craftedDetails();
        QVERIFY(store.addSample(run, s));
        s.task = "i0";
        s.output = "1. Gamma (2003)";
        s.details_json = "{\"task\":\"i0\",\"user\":3,\"k\":2,\"history\":[\"Alpha (1999)\"],\"target\":\"Beta (2001)\",\"target_category\":\"\","
                         "\"items\":[{\"title\":\"Gamma (2003)\",\"legality\":\"legal\",\"in_category\":false,\"is_target\":false,\"rank\":2,\"reward\":0.1}],"
                         "\"reward\":{\"list_reward\":0.1}}";
        QVERIFY(store.addSample(run, s));
    }
    MainWindow w(ws.path());
    w.showRuns({run});
    w.tabs()->setCurrentIndex(MainWindow::InspectTab);
    widgets::SampleListView* view = w.inspectPage()->view();
    QCOMPARE(view->visibleCount(), 2);
    view->setTaskFilter(QStringLiteral("i1+"));
    QCOMPARE(view->visibleCount(), 1);
    QVERIFY(view->selectVisibleRow(0));
    const widgets::SampleView* s = view->currentSample();
    QVERIFY(s);
    QCOMPARE(s->variant, std::string("v2"));
    QCOMPARE(s->k, 4);
    QCOMPARE(s->target_category, std::string("Comedy"));
    QCOMPARE(s->history.size(), size_t(3));
    QCOMPARE(s->list_reward, 0.35);

    widgets::SampleItemsModel* items = view->itemsModel();
    QCOMPARE(items->rowCount(), 6);
    using B = widgets::ItemBadge;
    using C = widgets::CategoryMatch;
    const B badges[] = {B::Legal, B::Legal, B::NonExistent, B::Duplicate, B::InHistory, B::BeyondK};
    const C cats[] = {C::In, C::Out, C::Out, C::In, C::In, C::In};
    for (int r = 0; r < 6; ++r) {
        QCOMPARE(items->index(r, widgets::SampleItemsModel::Status).data(widgets::BadgeRole).toInt(), int(badges[r]));
        QCOMPARE(items->index(r, widgets::SampleItemsModel::Category).data(widgets::CategoryRole).toInt(), int(cats[r]));
    }
    QCOMPARE(items->index(2, widgets::SampleItemsModel::Status).data().toString(), QStringLiteral("non-existent"));
    QCOMPARE(items->index(0, widgets::SampleItemsModel::Rank).data().toString(), QStringLiteral("1"));  // 0-based 0
    QCOMPARE(items->index(1, widgets::SampleItemsModel::Rank).data().toString(), QStringLiteral("12"));
    QVERIFY(items->index(2, widgets::SampleItemsModel::Rank).data().toString().isEmpty());  // not ranked
    QVERIFY(!items->index(0, widgets::SampleItemsModel::Title).data(Qt::DecorationRole).value<QIcon>().isNull());  // hit
    QCOMPARE(widgets::countIllegal(*s), 4);
    QVERIFY(widgets::sampleIsHit(*s));

    // Filters by hit, illegal kind and text.
    view->setTaskFilter(QString());
    view->setIllegalFilter(widgets::SampleFilterProxy::IllegalFilter::NonExistent);
    QCOMPARE(view->visibleCount(), 1);
    view->setIllegalFilter(widgets::SampleFilterProxy::IllegalFilter::AllLegal);
    QCOMPARE(view->visibleCount(), 1);
    view->setIllegalFilter(widgets::SampleFilterProxy::IllegalFilter::Any);
    view->setHitFilter(widgets::SampleFilterProxy::HitFilter::Hit);
    QCOMPARE(view->visibleCount(), 1);
    view->setHitFilter(widgets::SampleFilterProxy::HitFilter::Any);
    view->setSearchText(QStringLiteral("gamma"));
    QCOMPARE(view->visibleCount(), 2);  // in one history, in the other's list
    view->setSearchText(QStringLiteral("epsilon"));
    QCOMPARE(view->visibleCount(), 1);
}

void TstStudio::aGrpoRecipeShowsItsRowAndCurves()
{
    // A run with the recipe row full_grpo: its RL stage (rl_full_grpo) with GRPO's curves and
    // its evaluation rows beside v2's.
    QTemporaryDir ws;
    int64_t run = 0;
    {
        core::RunStore store;
        QVERIFY(!store.open(core::workspaceStorePath(ws.path().toStdString())));
        const int64_t e = store.addExperiment({0, "algorithms", "", "", 0}).value();
        run = app_fixtures::addRun(store, e, "algorithms (seed 0)", 0, core::RunStatus::Finished, 0.001);
        auto st = store.beginStage(run, "rl_full_grpo", "h-grpo", "");
        QVERIFY(st);
        QVERIFY(!store.endStage(st.value(), core::StageStatus::Finished));
        std::vector<core::MetricPoint> points;
        for (int step = 1; step <= 5; ++step)
            for (const auto& [name, value] : std::vector<std::pair<std::string, double>>{
                     {"env/reward_mean", 0.1 * step}, {"objective/kl_loss", 0.01 * step},
                     {"env/group_reward_std", 0.5 / step}, {"env/frac_reward_zero_std", 0.05 * step}})
                points.push_back({run, "rl_full_grpo", name, step, 1.7e9 + step, value});
        QVERIFY(!store.appendMetrics(points));
        std::vector<core::EvalRecord> rows = app_fixtures::evalRows(run, 0.0);
        for (auto r : app_fixtures::evalRows(run, 0.02))
            if (r.variant == "v2") {
                r.variant = "full_grpo";
                rows.push_back(r);
            }
        QVERIFY(!store.putEvalResults(rows));
    }
    MainWindow w(ws.path());
    w.showRuns({run});
    w.tabs()->setCurrentIndex(MainWindow::CompareTab);
    widgets::AblationModel* model = w.comparePage()->table(core::TableKind::I0)->model();
    QStringList headers;
    for (int r = 0; r < model->rowCount(); ++r)
        headers << model->headerData(r, Qt::Vertical, Qt::DisplayRole).toString();
    QVERIFY2(headers.filter(QStringLiteral("Ours_full (GRPO)")).size() == 1, qPrintable(headers.join(QStringLiteral(" | "))));
    // After Ours_v2 (a recipe follows its base; full's would come between).
    QVERIFY(headers.indexOf(QRegularExpression(QStringLiteral(".*Ours_full \\(GRPO\\).*")))
            > headers.indexOf(QRegularExpression(QStringLiteral(".*Ours_v2.*"))));
    w.tabs()->setCurrentIndex(MainWindow::MonitorTab);
    for (const char* name : {"env/frac_reward_zero_std", "env/group_reward_std", "objective/kl_loss"}) {
        widgets::MetricPlot* plot = w.monitorPage()->dashboard()->plotFor(QString::fromLatin1(name));
        QVERIFY2(plot, name);
        QCOMPARE(plot->runs().size(), 1);
        QCOMPARE(plot->pointCount(plot->runs().front()), size_t(5));
        QVERIFY(plot->runs().front().endsWith(QStringLiteral("rl_full_grpo")));
    }
}

void TstStudio::compareLatexExportEqualsExportTable()
{
    QTemporaryDir ws;
    int64_t r1 = 0, r2 = 0;
    {
        core::RunStore store;
        QVERIFY(!store.open(core::workspaceStorePath(ws.path().toStdString())));
        const int64_t e = store.addExperiment({0, "tables", "", "", 0}).value();
        r1 = app_fixtures::addRun(store, e, "tables (seed 0)", 0, core::RunStatus::Finished, 0.001);
        r2 = app_fixtures::addRun(store, e, "tables (seed 1)", 1, core::RunStatus::Finished, 0.002);
        QVERIFY(!store.putEvalResults(app_fixtures::evalRows(r1, 0.0)));
        QVERIFY(!store.putEvalResults(app_fixtures::evalRows(r2, 0.013)));
    }
    MainWindow w(ws.path());
    w.showRuns({r2, r1});
    w.tabs()->setCurrentIndex(MainWindow::CompareTab);
    ComparePage* page = w.comparePage();
    QCOMPARE(page->rowCount(), 18);  // I0, I1 and Format: 6 rows each (3 variants x 2 runs)

    // What `recalign export r2,r1 --format latex` computes: the same store rows, options, calls.
    core::RunStore reader;
    QVERIFY(!reader.open(core::workspaceStorePath(ws.path().toStdString())));
    const auto rows = core::toEvalRows(reader.evalResults(std::vector<int64_t>{r2, r1}).value());
    core::TableOptions options;
    options.k = 10;
    for (core::TableKind kind : {core::TableKind::I0, core::TableKind::I1}) {
        const core::Table want = core::buildTable(kind, rows, options);
        widgets::AblationTable* t = page->table(kind);
        QVERIFY(t);
        const std::string latex = t->exportText(core::ExportFormat::Latex);
        QCOMPARE(QString::fromStdString(latex), QString::fromStdString(core::exportTable(want, core::ExportFormat::Latex)));
        QVERIFY(latex.find("\\textbf{") != std::string::npos);
        QVERIFY(latex.find("\\underline{") != std::string::npos);
        QVERIFY(latex.find("\\toprule") != std::string::npos);
        QCOMPARE(t->exportText(core::ExportFormat::Markdown), core::exportTable(want, core::ExportFormat::Markdown));
        QCOMPARE(t->exportText(core::ExportFormat::Csv), core::exportTable(want, core::ExportFormat::Csv));
    }
    std::vector<core::Table> all;
    for (core::TableKind kind : core::allTableKinds())
        all.push_back(core::buildTable(kind, rows, options));
    QCOMPARE(QString::fromStdString(page->exportAll(core::ExportFormat::Latex)),
             QString::fromStdString(core::exportTables(all, core::ExportFormat::Latex)));
    // Rows from two runs are labelled by run; the best HR@10 of I0 is run r2's Ours_v2.
    widgets::AblationModel* model = page->table(core::TableKind::I0)->model();
    int bestRow = -1;
    for (int r = 0; r < model->rowCount(); ++r)
        if (model->index(r, 0).data(widgets::AblationModel::MarkRole).toInt() == widgets::AblationModel::Best)
            bestRow = r;
    QVERIFY(bestRow >= 0);
    QVERIFY(model->headerData(bestRow, Qt::Vertical, Qt::DisplayRole).toString().contains(QStringLiteral("Ours_v2")));
    QVERIFY(model->headerData(bestRow, Qt::Vertical, Qt::DisplayRole).toString().contains(QString::number(r2)));
    QTemporaryDir out;
    QVERIFY(page->saveAll(out.filePath(QStringLiteral("tables.md"))));
    QFile md(out.filePath(QStringLiteral("tables.md")));
    QVERIFY(md.open(QIODevice::ReadOnly));
    QCOMPARE(md.readAll().toStdString(), core::exportTables(all, core::ExportFormat::Markdown));
}

namespace tst_studio_detail {
// A CPU-bound job: each step mixes 300k pseudo-random numbers and reports trainer-named metrics.
core::RunOutcome heavyJob(core::Observer& o, double seconds, long* stepsDone)
{
    o.onStageBegin("sft_v2", 0);
    QElapsedTimer t;
    t.start();
    uint64_t x = 88172645463325252ull;
    double acc = 0;
    long step = 0;
    while (t.elapsed() < seconds * 1000) {
        if (o.stopRequested()) {
            core::RunOutcome out;
            out.error = core::Error{core::ErrorCode::Cancelled, "stopped", {}};
            return out;
        }
        for (int i = 0; i < 300000; ++i) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            acc += static_cast<double>(x >> 11) * 0x1.0p-53;
        }
        ++step;
        core::StepRecord r;
        r.stage = "sft_v2";
        r.step = step;
        r.wall_time = core::unixNow();
        const double mean = acc / (300000.0 * static_cast<double>(step));
        r.metrics = {{"loss", 2.0 / std::sqrt(double(step)) + mean}, {"learning_rate", 1e-3},
                     {"grad_norm", mean}, {"tokens_per_s", 1000.0}, {"env/reward_mean", mean - 0.5},
                     {"objective/kl", 0.01 * step}, {"objective/kl_k3", 0.009 * step}};
        o.onStep(r);
    }
    o.onStageEnd("sft_v2");
    *stepsDone = step;
    return {};
}
}  // namespace tst_studio_detail

void TstStudio::eventLoopStaysResponsiveWhileACpuHeavyJobRuns()
{
    QTemporaryDir ws;
    MainWindow w(ws.path());
    w.show();
    w.tabs()->setCurrentIndex(MainWindow::MonitorTab);
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    QSignalSpy finished(w.controller()->runController(), &RunController::jobFinished);
    QSignalSpy drained(w.controller()->runController(), &RunController::metricsDrained);
    long steps = 0;
    w.controller()->runController()->enqueue(QStringLiteral("heavy"), [&steps](core::Observer& o) {
        return tst_studio_detail::heavyJob(o, 3.0, &steps);
    });
    QElapsedTimer clock;
    clock.start();
    qint64 last = 0, maxGap = 0;
    std::vector<qint64> gaps;
    QTimer tick;
    tick.setInterval(10);
    int plotted = 0;
    connect(&tick, &QTimer::timeout, this, [&] {
        const qint64 now = clock.elapsed();
        gaps.push_back(now - last);
        maxGap = std::max(maxGap, now - last);
        last = now;
        if (widgets::MetricPlot* p = w.monitorPage()->dashboard()->plotFor(QStringLiteral("loss")))
            plotted = std::max(plotted, static_cast<int>(p->runs().size()));
    });
    last = clock.elapsed();
    tick.start();
    QVERIFY(finished.wait(30000));
    tick.stop();
    std::sort(gaps.begin(), gaps.end());
    const qint64 p50 = gaps.empty() ? 0 : gaps[gaps.size() / 2];
    const qint64 p95 = gaps.empty() ? 0 : gaps[gaps.size() * 95 / 100];
    qInfo("heavy job: %ld steps in %.1f s; %d drains; timer gaps (10 ms timer): p50 %lld ms, p95 %lld ms, "
          "max %lld ms over %zu ticks; %lld live points charted",
          steps, clock.elapsed() / 1000.0, int(drained.size()), p50, p95, maxGap, gaps.size(),
          static_cast<long long>(w.monitor()->livePointsShown()));
    QCOMPARE(finished.at(0).at(1).toInt(), int(core::ErrorCode::None));
    QVERIFY(steps > 10);
    QVERIFY(drained.size() >= 2);
    QVERIFY(drained.size() < steps);  // coalesced
    QCOMPARE(w.monitor()->livePointsShown(), qint64(steps) * 7);
    QCOMPARE(plotted, 1);  // the live series reached the loss chart
    QVERIFY2(maxGap < 100, qPrintable(QStringLiteral("max event-loop gap %1 ms").arg(maxGap)));
}

void TstStudio::aFailedJobShowsItsErrorAndTheAppKeepsRunning()
{
    QTemporaryDir ws;
    MainWindow w(ws.path());
    w.show();
    QSignalSpy failed(w.controller(), &StudioController::runFailed);
    QSignalSpy finished(w.controller()->runController(), &RunController::jobFinished);
    w.controller()->runController()->enqueue(QStringLiteral("broken"), [](core::Observer& o) {
        o.onLog(core::LogLevel::Info, "loading ratings");
        core::RunOutcome out;
        out.error = core::Error{core::ErrorCode::DataLoad, "ratings.csv:3: expected 4 fields", {}};
        return out;
    });
    QVERIFY(finished.wait(10000));
    QCOMPARE(failed.size(), 1);
    QVERIFY(failed.at(0).at(1).toString().contains(QStringLiteral("ratings.csv:3: expected 4 fields")));
    QVERIFY(w.monitorPage()->logView()->toPlainText().contains(QStringLiteral("ratings.csv:3")));
    QVERIFY(w.monitorPage()->logView()->toPlainText().contains(QStringLiteral("loading ratings")));
    QMessageBox* box = nullptr;
    QTRY_VERIFY((box = w.findChild<QMessageBox*>()) != nullptr);
    QVERIFY(box->text().contains(QStringLiteral("ratings.csv:3")));
    box->close();
    // A job that throws is reported the same way; the next job still runs.
    w.controller()->runController()->enqueue(QStringLiteral("throws"), [](core::Observer&) -> core::RunOutcome {
        throw std::runtime_error("out of memory in a test");
    });
    w.controller()->runController()->enqueue(QStringLiteral("fine"), [](core::Observer&) { return core::RunOutcome{}; });
    QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 3, 10000);
    QCOMPARE(failed.size(), 2);
    QCOMPARE(finished.at(2).at(1).toInt(), int(core::ErrorCode::None));
    QVERIFY(!w.controller()->isBusy());
    QVERIFY(!w.progressBar()->isVisible());
}

void TstStudio::deleteRunRemovesItFromListAndStore()
{
    QTemporaryDir ws;
    int64_t keep = 0, gone = 0;
    {
        core::RunStore store;
        QVERIFY(!store.open(core::workspaceStorePath(ws.path().toStdString())));
        const int64_t e = store.addExperiment({0, "del", "", "", 0}).value();
        keep = app_fixtures::addRun(store, e, "keep", 0, core::RunStatus::Finished, 0.001);
        gone = app_fixtures::addRun(store, e, "gone", 1, core::RunStatus::Cancelled, 0.001);
        QVERIFY(!store.putEvalResults(app_fixtures::evalRows(gone, 0)));
    }
    StudioController c;
    QVERIFY(c.openWorkspace(ws.path()));
    QCOMPARE(c.runList()->runCount(), 2);
    QVERIFY(c.deleteRun(gone));
    QCOMPARE(c.runList()->runCount(), 1);
    QVERIFY(!c.runList()->runById(gone));
    QVERIFY(!c.workspace()->store().runInfo(gone));
    QVERIFY(c.workspace()->store().evalResults(gone).value().empty());
    QVERIFY(c.workspace()->store().runInfo(keep));
    QVERIFY(!c.deleteRun(gone));  // already gone: an error, not a crash
    QVERIFY(!c.errorString().isEmpty());
    QVERIFY(!c.cancelRun(keep));   // not running here
    QCOMPARE(c.resumeRun(keep), 0);  // no experiment file or recorded text
}

void TstStudio::settingsAndWindowStatePersist()
{
    QTemporaryDir ws;
    AppSettings::setLanguage(QStringLiteral("es"));
    AppSettings::setTheme(widgets::Theme::Dark);
    AppSettings::setTorchThreads(1);
    QCOMPARE(AppSettings::language(), QStringLiteral("es"));
    QCOMPARE(AppSettings::theme(), widgets::Theme::Dark);
    QCOMPARE(AppSettings::torchThreads(), 1);
    AppSettings::setLanguage(QStringLiteral("en"));
    AppSettings::setTheme(widgets::Theme::Light);
    {
        MainWindow w(ws.path());
        w.show();
        w.resize(1333, 777);
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QVERIFY(w.close());
    }
    QCOMPARE(AppSettings::lastWorkspace(), QFileInfo(ws.path()).absoluteFilePath());
    QVERIFY(!AppSettings::windowGeometry().isEmpty());
    MainWindow again;  // no workspace given: the last one
    QCOMPARE(again.controller()->workspace()->path(), QFileInfo(ws.path()).absoluteFilePath());
    QCOMPARE(again.size(), QSize(1333, 777));
    QVERIFY(again.blasLabel()->text().startsWith(QStringLiteral("BLAS: ")));

    // A theme change re-renders the icons in the new text colour; a language change retranslates
    // (no crash, texts stay filled).
    auto* newButton = again.configurePage()->findChild<QToolButton*>();
    QVERIFY(newButton && !newButton->icon().isNull());
    const QImage light = newButton->icon().pixmap(16).toImage();
    widgets::applyTheme(*qApp, widgets::Theme::Dark);
    const QImage dark = newButton->icon().pixmap(16).toImage();
    QVERIFY(light != dark);
    widgets::applyTheme(*qApp, widgets::Theme::Light);
    QCOMPARE(newButton->icon().pixmap(16).toImage(), light);
    widgets::installTranslation(QStringLiteral("es"));
    QVERIFY(!again.tabs()->tabText(MainWindow::ProbeTab).isEmpty());
    widgets::installTranslation(QStringLiteral("en"));
    QCOMPARE(again.tabs()->tabText(MainWindow::ProbeTab), QStringLiteral("Probe"));
}

QTEST_MAIN(TstStudio)
#include "tst_studio.moc"
