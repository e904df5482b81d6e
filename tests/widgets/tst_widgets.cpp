// Widgets: the plot maths (smoothing, decimation, x-axis, outliers, legends, seed-group
// aggregation, CSV), MetricPlot and the dashboard (bands, hidden series, CSV export), AblationTable marks and export, SampleListView badges and filters, ConfigForm
// editors / issues / round trip, probe pieces, translations, and a screenshot of each widget.
#include "widgets/ablation_table.h"
#include "widgets/config_form.h"
#include "widgets/icons.h"
#include "widgets/metric_dashboard.h"
#include "widgets/metric_plot.h"
#include "widgets/probe_widgets.h"
#include "widgets/sample_list_view.h"
#include "widgets/series_math.h"
#include "widgets/theme.h"

#include "widget_fixtures.h"

#include "core/api/experiment.h"
#include "core/api/tables.h"

#include <qcustomplot.h>  // the test pokes at the plots; no torch in this TU

#include <QCheckBox>
#include <QClipboard>
#include <QComboBox>
#include <QCompleter>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QLabel>
#include <QLineEdit>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QTranslator>
#include <QtTest>

#include <cmath>
#include <random>

using namespace recalign;
using namespace recalign::widgets;


using namespace widget_fixtures;

class TstWidgets : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    // series maths
    void smoothingMatchesHandComputedValues();
    void constantSeriesIsReturnedUnchanged();
    void incrementalSmoothingEqualsBatchSmoothing();
    void decimationKeepsASingleSpikeAmong100kPointsAndBoundsTheCount();
    void xAxisTransformsStepWallAndRelativeTime();
    void outlierRangeIsThe5thTo95thPercentile();
    void legendShowsOnlyTheConfigKeysThatDiffer();
    void aggregateSeriesMatchesHandComputedValues();
    void bandBoundsAreMinMaxOrMeanPlusMinusStd();
    void csvFieldsAreQuotedAndReadBack();
    // plots
    void metricPlotAppendPointsFillsDataAndKeepsSpikes();
    void metricPlotHoverReadoutNamesRunAndValue();
    void metricPlotExportsPngSvgAndPdf();
    void dashboardRoutesMetricsAndSharesItsControls();
    void metricPlotDrawsABandUnderTheSmoothedMean();
    void metricPlotHiddenSeriesAreNotDrawnFittedOrExported();
    void metricPlotCsvExportReadsBackWithBandBounds();
    void dashboardBandsRunTagsStageChoicesAndCsv();
    // tables
    void ablationTableMarksBestBoldAndSecondUnderlined();
    void ablationTableExportEqualsTheCoreExport();
    // samples
    void sampleListShowsTheBadgesOfACraftedSample();
    void sampleListFiltersByTaskVariantHitIllegalKindAndText();
    // config form
    void yamlScalarHelpersRoundTrip();
    void configFormBuildsAnEditorForEachType();
    void configFormShowsAnIssueNextToItsField();
    void configFormRoundTripsValues();
    void configFormValuesAreReadBackByTheCoreForEveryExperimentField();
    // probe
    void heatStripColoursAndTooltipsFollowLogProbs();
    void historyEditorAcceptsOnlyCatalogueTitles();
    // resources
    void iconsAndSpanishTranslationAreEmbedded();
};

void TstWidgets::initTestCase()
{
    initResources();
    applyTheme(*qApp, Theme::Light);
}

// ---- series maths ------------------------------------------------------------------------------

void TstWidgets::smoothingMatchesHandComputedValues()
{
    // w = 0.5 over [1, 2, 3]: last = 0.5, 1.25, 2.125; debias 1 - 0.5^n = 0.5, 0.75, 0.875.
    const auto a = smoothDebiasedEma({1, 2, 3}, 0.5);
    QCOMPARE(a.size(), size_t(3));
    QCOMPARE(a[0], 1.0);
    QVERIFY(std::abs(a[1] - 1.25 / 0.75) < 1e-12);
    QVERIFY(std::abs(a[2] - 2.125 / 0.875) < 1e-12);
    // Non-finite values pass through and do not advance the average.
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const auto b = smoothDebiasedEma({1, nan, 3, std::numeric_limits<double>::infinity()}, 0.5);
    QCOMPARE(b[0], 1.0);
    QVERIFY(std::isnan(b[1]));
    QVERIFY(std::abs(b[2] - 1.75 / 0.75) < 1e-12);  // second finite value: n = 2
    QVERIFY(std::isinf(b[3]));
    // TensorBoard's default 0.6 over [10, 0]: 4.0/0.4 = 10, then 2.4/0.64 = 3.75.
    const auto c = smoothDebiasedEma({10, 0}, 0.6);
    QVERIFY(std::abs(c[0] - 10.0) < 1e-12);
    QVERIFY(std::abs(c[1] - 3.75) < 1e-12);
    // Weight 0 is the identity.
    const std::vector<double> raw{3, -1, 4, 1, -5};
    QCOMPARE(smoothDebiasedEma(raw, 0.0), raw);
}

void TstWidgets::constantSeriesIsReturnedUnchanged()
{
    for (double w : {0.1, 0.6, 0.9, 0.999}) {
        for (double c : {0.1, 1.0 / 3.0, -2.7, 1e-7, 12345.678}) {
            const std::vector<double> ys(500, c);
            QCOMPARE(smoothDebiasedEma(ys, w), ys);
        }
    }
}

void TstWidgets::incrementalSmoothingEqualsBatchSmoothing()
{
    const auto ys = synthetic(1000, 1.0, 0.2, 0.1, 7);
    const auto batch = smoothDebiasedEma(ys, 0.8);
    DebiasedEma ema(0.8);
    for (size_t i = 0; i < ys.size(); ++i)
        QCOMPARE(ema.push(ys[i]), batch[i]);
}

void TstWidgets::decimationKeepsASingleSpikeAmong100kPointsAndBoundsTheCount()
{
    const int n = 100000;
    const auto xs = iota(n, 0.0);
    auto ys = synthetic(n, 0.0, 1.0, 0.01, 3);
    ys[54321] = 100.0;   // one KL blow-up
    ys[77777] = -50.0;   // and one dip
    for (int buckets : {200, 800, 1920}) {
        const auto [ox, oy] = decimateMinMax(xs, ys, buckets);
        QVERIFY2(ox.size() <= size_t(2 * buckets + 4), qPrintable(QString::number(ox.size())));
        QCOMPARE(ox.size(), oy.size());
        QCOMPARE(*std::max_element(oy.begin(), oy.end()), 100.0);
        QCOMPARE(*std::min_element(oy.begin(), oy.end()), -50.0);
        QCOMPARE(ox.front(), 0.0);  // first and last points kept
        QCOMPARE(oy.front(), ys.front());
        QCOMPARE(ox.back(), double(n - 1));
        QCOMPARE(oy.back(), ys.back());
        QVERIFY(std::is_sorted(ox.begin(), ox.end()));
        // The spike sits at its own x.
        const auto at = std::find(oy.begin(), oy.end(), 100.0) - oy.begin();
        QCOMPARE(ox[static_cast<size_t>(at)], 54321.0);
    }
    // A visible window keeps one neighbour on each side and the spike when it is inside.
    std::vector<double> ox, oy;
    decimateMinMax(xs.data(), ys.data(), xs.size(), 50000, 60000, 100, ox, oy);
    QCOMPARE(ox.front(), 49999.0);
    QCOMPARE(ox.back(), 60001.0);
    QVERIFY(std::find(oy.begin(), oy.end(), 100.0) != oy.end());
    QVERIFY(ox.size() <= size_t(2 * 100 + 4));
    // Every bucket count terminates and stays bounded. Steps 1..1000 over [1, 1000] with 185
    // buckets made an earlier version spin: a bucket edge computed as xMin + (b+1)*width fell
    // just below the point whose bucket index was b.
    const auto steps = iota(1000, 1.0);
    const auto vals = synthetic(1000, 0.0, 1.0, 0.1, 9);
    for (int buckets = 100; buckets < 800; ++buckets) {
        decimateMinMax(steps.data(), vals.data(), steps.size(), 1.0, 1000.0, buckets, ox, oy);
        QVERIFY(ox.size() <= size_t(2 * buckets + 4));
        QCOMPARE(ox.front(), 1.0);
        QCOMPARE(ox.back(), 1000.0);
    }
    // Small inputs come back unchanged.
    const auto small = decimateMinMax({1, 2, 3}, {5, 6, 7}, 100);
    QCOMPARE(small.second, (std::vector<double>{5, 6, 7}));
}

void TstWidgets::xAxisTransformsStepWallAndRelativeTime()
{
    const std::vector<double> steps{1, 2, 3}, walls{1000.5, 1002.5, 1010.0};
    QCOMPARE(transformX(steps, walls, XAxisMode::Step), steps);
    QCOMPARE(transformX(steps, walls, XAxisMode::WallTime), walls);
    QCOMPARE(transformX(steps, walls, XAxisMode::RelativeTime), (std::vector<double>{0.0, 2.0, 9.5}));
    QCOMPARE(transformX(steps, {}, XAxisMode::RelativeTime), steps);  // no walls: steps
}

void TstWidgets::outlierRangeIsThe5thTo95thPercentile()
{
    std::vector<double> ys;
    for (int i = 0; i <= 100; ++i)
        ys.push_back(i);
    const auto r = outlierRange(ys);
    QCOMPARE(r.first, 5.0);
    QCOMPARE(r.second, 95.0);
    QCOMPARE(percentile({1, 2}, 0.5), 1.5);
    std::vector<double> spiky(1000, 1.0);
    spiky[10] = 1e9;
    spiky[11] = std::numeric_limits<double>::quiet_NaN();
    QCOMPARE(outlierRange(spiky).second, 1.0);
    QVERIFY(std::isnan(outlierRange({}).first));
}

void TstWidgets::legendShowsOnlyTheConfigKeysThatDiffer()
{
    using Map = std::map<std::string, std::string>;
    const std::vector<Map> configs{{{"sft.lr", "1e-05"}, {"seed", "0"}, {"ppo.kl_coef", "0.1"}},
                                   {{"sft.lr", "1e-05"}, {"seed", "1"}, {"ppo.kl_coef", "0.1"}},
                                   {{"sft.lr", "1e-05"}, {"seed", "0"}, {"ppo.kl_coef", "0.3"}, {"x", "y"}}};
    QCOMPARE(differingConfigKeys(configs), (std::vector<std::string>{"ppo.kl_coef", "seed", "x"}));
    QCOMPARE(differingConfigKeys({configs[0]}), std::vector<std::string>{});
    QCOMPARE(legendLabel("run 3", configs[2], {"ppo.kl_coef", "seed"}), std::string("run 3  ppo.kl_coef=0.3, seed=0"));
    QCOMPARE(legendLabel("run 1", configs[0], {"x"}), std::string("run 1  x=-"));

    MetricPlot plot;
    plot.setRunInfo(QStringLiteral("a"), QStringLiteral("run 1"), configs[0]);
    QCOMPARE(plot.legendText(QStringLiteral("a")), QStringLiteral("run 1"));  // alone: name only
    plot.setRunInfo(QStringLiteral("b"), QStringLiteral("run 2"), configs[1]);
    QCOMPARE(plot.legendText(QStringLiteral("a")), QStringLiteral("run 1  seed=0"));
    QCOMPARE(plot.legendText(QStringLiteral("b")), QStringLiteral("run 2  seed=1"));
}

// ---- plots -------------------------------------------------------------------------------------

void TstWidgets::metricPlotAppendPointsFillsDataAndKeepsSpikes()
{
    MetricPlot plot;
    plot.resize(900, 320);
    plot.show();
    QVERIFY(QTest::qWaitForWindowExposed(&plot));
    const int n = 100000;
    const auto steps = iota(n);
    auto ys = synthetic(n, 0.5, 0.1, 0.02, 11);
    ys[61234] = 25.0;
    std::vector<double> walls(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i)
        walls[static_cast<size_t>(i)] = 1.7e9 + 0.5 * i;
    QElapsedTimer timer;
    timer.start();
    const int batch = 1000;  // live data arrives in batches
    for (int first = 0; first < n; first += batch) {
        const auto b = static_cast<std::ptrdiff_t>(first), e = static_cast<std::ptrdiff_t>(first + batch);
        plot.appendPoints(QStringLiteral("run"), {steps.begin() + b, steps.begin() + e},
                          {ys.begin() + b, ys.begin() + e}, {walls.begin() + b, walls.begin() + e});
    }
    const qint64 appendMs = timer.elapsed();
    timer.restart();
    plot.customPlot()->replot();
    const qint64 replotMs = timer.elapsed();
    qInfo("100 batches of 1000 points: append %lld ms, one replot %lld ms", appendMs, replotMs);
    QCOMPARE(plot.pointCount(QStringLiteral("run")), size_t(n));
    const int shown = plot.displayedPointCount(QStringLiteral("run"));
    QVERIFY(shown > 100);
    QVERIFY2(shown <= 2 * 900 + 4, qPrintable(QString::number(shown)));
    QVERIFY(plot.displayedSmoothedCount(QStringLiteral("run")) <= 2 * 900 + 4);
    double maxShown = -1e300;
    for (auto it = plot.customPlot()->graph(0)->data()->constBegin();
         it != plot.customPlot()->graph(0)->data()->constEnd(); ++it)
        maxShown = std::max(maxShown, it->value);
    QCOMPARE(maxShown, 25.0);  // the raw spike survives decimation
    QCOMPARE(plot.smoothedValues(QStringLiteral("run")), smoothDebiasedEma(ys, 0.6));
    QVERIFY(appendMs < 5000);

    // Changing the smoothing recomputes the curve; the x-axis mode keeps the data.
    plot.setSmoothing(0.9);
    QCOMPARE(plot.smoothedValues(QStringLiteral("run")), smoothDebiasedEma(ys, 0.9));
    plot.setXAxisMode(XAxisMode::RelativeTime);
    QCOMPARE(plot.customPlot()->xAxis->range().upper, 0.5 * (n - 1));
    plot.setLogScale(true);
    QVERIFY(plot.logScale());
    plot.setPoints(QStringLiteral("run"), {1, 2}, {3, 4});
    QCOMPARE(plot.pointCount(QStringLiteral("run")), size_t(2));
}

void TstWidgets::metricPlotHoverReadoutNamesRunAndValue()
{
    MetricPlot plot;
    plot.resize(600, 300);
    plot.show();
    QVERIFY(QTest::qWaitForWindowExposed(&plot));
    plot.setSmoothing(0.0);
    plot.appendPoints(QStringLiteral("r1"), {1, 2, 3, 4, 5}, {1, 2, 3, 2, 1});
    plot.setRunInfo(QStringLiteral("r1"), QStringLiteral("Ours_full"), {});
    plot.customPlot()->replot();
    QSignalSpy spy(&plot, &MetricPlot::hovered);
    const double px = plot.customPlot()->xAxis->coordToPixel(3.0);
    const double py = plot.customPlot()->yAxis->coordToPixel(3.0);
    const QString text = plot.showReadoutAt(QPointF(px + 2, py + 3));
    QVERIFY2(text.contains(QStringLiteral("Ours_full")), qPrintable(text));
    QVERIFY2(text.contains(QStringLiteral("step 3")), qPrintable(text));
    QCOMPARE(spy.count(), 1);
    QCOMPARE(spy.at(0).at(1).toDouble(), 3.0);
    QCOMPARE(spy.at(0).at(2).toDouble(), 3.0);
}

void TstWidgets::metricPlotExportsPngSvgAndPdf()
{
    MetricPlot plot;
    plot.setTitle(QStringLiteral("objective/kl"));
    plot.resize(640, 360);
    plot.appendPoints(QStringLiteral("a"), iota(500), synthetic(500, 0.0, 3.0, 0.3, 5, 250, 8.0));
    plot.appendPoints(QStringLiteral("b"), iota(400), synthetic(400, 0.0, 2.0, 0.3, 6));
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString png = dir.filePath(QStringLiteral("chart.png"));
    const QString svg = dir.filePath(QStringLiteral("chart.svg"));
    const QString pdf = dir.filePath(QStringLiteral("chart.pdf"));
    QVERIFY(plot.exportImage(png, 640, 360));
    QVERIFY(plot.exportImage(svg, 640, 360));
    QVERIFY(plot.exportImage(pdf, 640, 360));
    QVERIFY(!plot.exportImage(dir.filePath(QStringLiteral("chart.bmpx"))));
    auto head = [](const QString& path, int n) {
        QFile f(path);
        return f.open(QIODevice::ReadOnly) ? f.read(n) : QByteArray();
    };
    QVERIFY(QFileInfo(png).size() > 1000);
    QVERIFY(QFileInfo(svg).size() > 1000);
    QVERIFY(QFileInfo(pdf).size() > 1000);
    QCOMPARE(head(png, 4), QByteArray("\x89PNG"));
    QCOMPARE(head(pdf, 4), QByteArray("%PDF"));
    QVERIFY(head(svg, 400).contains("<svg"));
    QImage image(png);
    QCOMPARE(image.size(), QSize(1280, 720));  // exported at 2x
}

void TstWidgets::dashboardRoutesMetricsAndSharesItsControls()
{
    MetricDashboard dash;
    QVERIFY(dash.plotFor(QStringLiteral("loss")) != nullptr);
    QVERIFY(dash.plotFor(QStringLiteral("objective/kl")) == dash.plotFor(QStringLiteral("objective/kl_k3")));
    dash.appendStep(QStringLiteral("7"), 1, 1.7e9, {{"loss", 2.5}, {"objective/kl", 0.1}, {"objective/kl_k3", 0.09}});
    dash.appendStep(QStringLiteral("7"), 2, 1.7e9 + 1, {{"loss", 2.1}, {"objective/kl", 0.2}, {"my/new_metric", 1.0}});
    QCOMPARE(dash.plotFor(QStringLiteral("loss"))->pointCount(QStringLiteral("7")), size_t(2));
    QCOMPARE(dash.plotFor(QStringLiteral("objective/kl"))->runs().size(), 2);  // k1 and k3 series
    MetricPlot* added = dash.plotFor(QStringLiteral("my/new_metric"));
    QVERIFY(added != nullptr);
    QCOMPARE(added->title(), QStringLiteral("my/new_metric"));
    dash.setRunInfo(QStringLiteral("7"), QStringLiteral("run 7"), {{"seed", "0"}});
    QVERIFY(dash.plotFor(QStringLiteral("objective/kl"))->legendText(QStringLiteral("7\nk3")).startsWith(QStringLiteral("run 7 · k3")));
    dash.setRunInfo(QStringLiteral("8"), QStringLiteral("run 8"), {{"seed", "1"}});
    QCOMPARE(dash.legendLines(), (QStringList{QStringLiteral("run 7  seed=0"), QStringLiteral("run 8  seed=1")}));
    // A run keeps its colour in every chart.
    dash.appendStep(QStringLiteral("8"), 1, 1.7e9, {{"objective/kl", 0.3}, {"loss", 2.0}});
    QVERIFY(!dash.plotFor(QStringLiteral("loss"))->legendVisible());
    dash.setSmoothing(0.25);
    dash.setXAxisMode(XAxisMode::WallTime);
    for (MetricPlot* p : dash.plots()) {
        QCOMPARE(p->smoothing(), 0.25);
        QCOMPARE(p->xAxisMode(), XAxisMode::WallTime);
    }
    dash.removeRun(QStringLiteral("7"));
    QCOMPARE(dash.plotFor(QStringLiteral("objective/kl"))->runs(), QStringList{QStringLiteral("8\nk1")});
    QCOMPARE(dash.legendLines(), QStringList{QStringLiteral("run 8")});
}

// ---- tables ------------------------------------------------------------------------------------

void TstWidgets::ablationTableMarksBestBoldAndSecondUnderlined()
{
    const core::Table t = i1Table();
    AblationTable table;
    table.setTable(t);
    AblationModel* m = table.model();
    QCOMPARE(m->rowCount(), int(t.rows.size()));
    auto rowOf = [&](const char* name) {
        for (int r = 0; r < m->rowCount(); ++r)
            if (m->headerData(r, Qt::Vertical, Qt::DisplayRole).toString() == QLatin1String(name))
                return r;
        return -1;
    };
    auto font = [&](int r, int c) { return m->data(m->index(r, c), Qt::FontRole).value<QFont>(); };
    const int full = rowOf("Ours_full"), v2 = rowOf("Ours_v2"), sas = rowOf("SASRec"), zero = rowOf("Zero-shot");
    QVERIFY(full >= 0 && v2 >= 0 && sas >= 0);
    // Column 0: +C HR@10 (higher is better): full 0.0437 best, SASRec 0.0412 second.
    QVERIFY(font(full, 0).bold());
    QVERIFY(!font(full, 0).underline());
    QVERIFY(font(sas, 0).underline());
    QVERIFY(!font(v2, 0).bold() && !font(v2, 0).underline());
    // Column 5: -C TCP@10 (lower is better): full 5.20 best, v2 8.70 second; Zero-shot missing.
    QVERIFY(t.columns[5].lower_is_better);
    QVERIFY(font(full, 5).bold());
    QVERIFY(font(v2, 5).underline());
    QCOMPARE(m->data(m->index(zero >= 0 ? zero : 0, 5), AblationModel::MarkRole).toInt(), int(AblationModel::None));
    if (zero >= 0) {
        QCOMPARE(m->data(m->index(zero, 5), Qt::DisplayRole).toString(), QStringLiteral("–"));
        QVERIFY(!m->data(m->index(zero, 5), AblationModel::ValueRole).isValid());
    }
    QCOMPARE(m->data(m->index(full, 0), Qt::DisplayRole).toString(), QStringLiteral("0.0437"));
    table.setShowStdErr(true);
    QCOMPARE(m->data(m->index(full, 0), Qt::DisplayRole).toString(), QStringLiteral("0.0437 ± 0.0040"));
    // Bar chart: one bar per non-missing cell.
    table.setChartColumn(5);
    QCOMPARE(table.chartBarCount(), int(t.rows.size()) - 1);
    table.setChartColumn(0);
    QCOMPARE(table.chartBarCount(), int(t.rows.size()));
}

void TstWidgets::ablationTableExportEqualsTheCoreExport()
{
    const core::Table t = i1Table();
    AblationTable table;
    table.setTable(t);
    for (auto f : {core::ExportFormat::Csv, core::ExportFormat::Latex, core::ExportFormat::Markdown})
        QCOMPARE(table.exportText(f), core::exportTable(t, f));
    const std::string latex = table.exportText(core::ExportFormat::Latex);
    QVERIFY(latex.find("\\toprule") != std::string::npos);
    QVERIFY(latex.find("\\textbf{0.0437}") != std::string::npos);
    QVERIFY(latex.find("\\underline{0.0412}") != std::string::npos);
    QTemporaryDir dir;
    const QString md = dir.filePath(QStringLiteral("t.md"));
    QVERIFY(table.saveTo(md));
    QFile f(md);
    QVERIFY(f.open(QIODevice::ReadOnly));
    QCOMPARE(f.readAll().toStdString(), core::exportTable(t, core::ExportFormat::Markdown));
    table.setShowStdErr(true);
    core::ExportOptions o;
    o.with_stderr = true;
    QCOMPARE(table.exportText(core::ExportFormat::Latex), core::exportTable(t, core::ExportFormat::Latex, o));
    table.copyToClipboard(core::ExportFormat::Markdown);
    QCOMPARE(QApplication::clipboard()->text().toStdString(), core::exportTable(t, core::ExportFormat::Markdown, o));
}

// ---- samples -----------------------------------------------------------------------------------

void TstWidgets::sampleListShowsTheBadgesOfACraftedSample()
{
    SampleListView view;
    view.setSamples({craftedSample()});
    QCOMPARE(view.visibleCount(), 1);
    QVERIFY(view.currentSample() != nullptr);
    SampleItemsModel* items = view.itemsModel();
    QCOMPARE(items->rowCount(), 6);
    const ItemBadge expected[] = {ItemBadge::Legal, ItemBadge::Legal, ItemBadge::NonExistent,
                                  ItemBadge::Duplicate, ItemBadge::InHistory, ItemBadge::BeyondK};
    const char* texts[] = {"legal", "legal", "non-existent", "duplicate", "in history", "beyond k"};
    for (int r = 0; r < 6; ++r) {
        const QModelIndex status = items->index(r, SampleItemsModel::Status);
        QCOMPARE(status.data(BadgeRole).toInt(), int(expected[r]));
        QCOMPARE(status.data(Qt::DisplayRole).toString(), QString::fromLatin1(texts[r]));
        QVERIFY(!status.data(Qt::DecorationRole).value<QIcon>().isNull());
        QVERIFY(status.data(BadgeColorRole).value<QColor>().isValid());
    }
    // Category badges: in / unknown / out.
    QCOMPARE(items->index(0, SampleItemsModel::Category).data().toString(), QStringLiteral("in category"));
    QCOMPARE(items->index(2, SampleItemsModel::Category).data().toString(), QString());
    QCOMPARE(items->index(4, SampleItemsModel::Category).data().toString(), QStringLiteral("out of category"));
    QCOMPARE(items->index(4, SampleItemsModel::Category).data(CategoryRole).toInt(), int(CategoryMatch::Out));
    // The target is marked; ranks and rewards are shown.
    QVERIFY(items->index(0, SampleItemsModel::Title).data(Qt::FontRole).value<QFont>().bold());
    QVERIFY(!items->index(0, SampleItemsModel::Title).data(Qt::DecorationRole).value<QIcon>().isNull());
    QCOMPARE(items->index(4, SampleItemsModel::Rank).data().toString(), QStringLiteral("240"));
    QCOMPARE(items->index(2, SampleItemsModel::Rank).data().toString(), QString());
    QCOMPARE(items->index(1, SampleItemsModel::Reward).data().toString(), QStringLiteral("0.620"));
    QVERIFY(items->index(5, SampleItemsModel::Status).data(Qt::ToolTipRole).toString().contains(QStringLiteral("k = 5")));
    // The sample row: hit, 4 illegal items, list reward.
    SampleListModel* list = view.model();
    QCOMPARE(list->index(0, SampleListModel::Hit).data().toString(), QStringLiteral("hit"));
    QCOMPARE(list->index(0, SampleListModel::Illegal).data().toString(), QStringLiteral("4"));
    QCOMPARE(list->index(0, SampleListModel::Items).data().toString(), QStringLiteral("6/5"));
    QCOMPARE(list->index(0, SampleListModel::ListReward).data().toString(), QStringLiteral("0.350"));
    QVERIFY(view.detailsHeaderText().contains(QStringLiteral("Comedy")));
    QCOMPARE(countIllegal(craftedSample()), 4);
    QVERIFY(sampleIsHit(craftedSample()));
}

void TstWidgets::sampleListFiltersByTaskVariantHitIllegalKindAndText()
{
    SampleListView view;
    const auto samples = manySamples();
    view.setSamples(samples);
    QCOMPARE(view.visibleCount(), 24);
    auto expect = [&](auto pred) {
        int n = 0;
        for (const auto& s : samples)
            n += pred(s) ? 1 : 0;
        return n;
    };
    view.setTaskFilter(QStringLiteral("i1+"));
    QCOMPARE(view.visibleCount(), 6);
    view.setVariantFilter(QStringLiteral("full"));
    QCOMPARE(view.visibleCount(), expect([](const SampleView& s) { return s.task == "i1+" && s.variant == "full"; }));
    view.setTaskFilter(QString());
    view.setVariantFilter(QString());
    view.setHitFilter(SampleFilterProxy::HitFilter::Hit);
    QCOMPARE(view.visibleCount(), expect([](const SampleView& s) { return sampleIsHit(s); }));
    view.setHitFilter(SampleFilterProxy::HitFilter::Miss);
    QCOMPARE(view.visibleCount(), expect([](const SampleView& s) { return !sampleIsHit(s); }));
    view.setHitFilter(SampleFilterProxy::HitFilter::Any);
    view.setIllegalFilter(SampleFilterProxy::IllegalFilter::Duplicate);
    QCOMPARE(view.visibleCount(), expect([](const SampleView& s) { return countBadge(s, ItemBadge::Duplicate) > 0; }));
    view.setIllegalFilter(SampleFilterProxy::IllegalFilter::NonExistent);
    QCOMPARE(view.visibleCount(), expect([](const SampleView& s) { return countBadge(s, ItemBadge::NonExistent) > 0; }));
    view.setIllegalFilter(SampleFilterProxy::IllegalFilter::AllLegal);
    QCOMPARE(view.visibleCount(), expect([](const SampleView& s) { return countIllegal(s) == 0; }));
    view.setIllegalFilter(SampleFilterProxy::IllegalFilter::Any);
    view.setSearchText(QStringLiteral("gamma 17"));  // an item title, case-insensitive
    QCOMPARE(view.visibleCount(), 1);
    QVERIFY(view.selectVisibleRow(0));
    QCOMPARE(view.currentSample()->user, 117L);
    view.setSearchText(QStringLiteral("alpha 2"));  // history titles: Alpha 2, Alpha 20..23
    QCOMPARE(view.visibleCount(), 5);
    view.setSearchText(QString());
    QCOMPARE(view.visibleCount(), 24);
}

// ---- config form -------------------------------------------------------------------------------

void TstWidgets::yamlScalarHelpersRoundTrip()
{
    // The form reads and writes values through core/api/experiment.h's YAML scalar helpers.
    using S = std::string;
    using L = std::vector<std::string>;
    QCOMPARE(core::yamlUnquote("'it''s'"), S("it's"));
    QCOMPARE(core::yamlUnquote("\"a\\\"b\\n\""), S("a\"b\n"));
    QCOMPARE(core::yamlQuoteIfNeeded("cpu"), S("cpu"));
    QCOMPARE(core::yamlQuoteIfNeeded(""), S("\"\""));
    QCOMPARE(core::yamlQuoteIfNeeded("true"), S("\"true\""));
    QCOMPARE(core::yamlQuoteIfNeeded("1e-5"), S("\"1e-5\""));
    QCOMPARE(core::yamlQuoteIfNeeded("a: b"), S("\"a: b\""));
    QCOMPARE(core::yamlParseFlowList("[a, 'b, c', \"d\"]"), (L{"a", "b, c", "d"}));
    QCOMPARE(core::yamlParseFlowList("[]"), L());
    QCOMPARE(core::yamlParseFlowList("1, 5,10"), (L{"1", "5", "10"}));
    const L items{"x", "y, z", "", "tab\there"};
    QCOMPARE(core::yamlParseFlowList(core::yamlFormatFlowList(items)), items);
    bool b = false;
    QVERIFY(core::yamlParseBool("Yes", &b) && b);
    QVERIFY(!core::yamlParseBool("maybe", &b));
    QCOMPARE(core::yamlFormatNumber(3e-4), S("3e-04"));
    QCOMPARE(core::yamlFormatNumber(0.5), S("0.5"));
}

void TstWidgets::configFormBuildsAnEditorForEachType()
{
    ConfigForm form;
    form.setSchema(typedSchema());
    QVERIFY(qobject_cast<QLineEdit*>(form.editorFor("name")));
    QVERIFY(qobject_cast<QCheckBox*>(form.editorFor("verbose")));
    auto* spin = qobject_cast<QSpinBox*>(form.editorFor("threads"));
    QVERIFY(spin);
    QCOMPARE(spin->minimum(), 0);
    QCOMPARE(spin->maximum(), 64);
    auto* dspin = qobject_cast<ScientificSpinBox*>(form.editorFor("ppo.kl_coef"));
    QVERIFY(dspin);
    QCOMPARE(dspin->maximum(), 10.0);
    QCOMPARE(dspin->text(), QStringLiteral("0.3"));
    QCOMPARE(qobject_cast<ScientificSpinBox*>(form.editorFor("ppo.lr"))->text(), QStringLiteral("1e-05"));
    auto* combo = qobject_cast<QComboBox*>(form.editorFor("ppo.kl_estimator"));
    QVERIFY(combo);
    QCOMPARE(combo->count(), 2);
    QVERIFY(qobject_cast<QLineEdit*>(form.editorFor("dataset.path")));
    QVERIFY(qobject_cast<QLineEdit*>(form.editorFor("seeds")));
    QVERIFY(qobject_cast<QCheckBox*>(form.editorFor("variants")));  // choice list: check boxes
    QVERIFY(form.editorFor("ppo.lr")->toolTip().contains(QStringLiteral("doc of ppo.lr")));
    QVERIFY(form.editorFor("threads")->toolTip().contains(QStringLiteral("64")));
    QCOMPARE(form.groupTitle("ppo"), QStringLiteral("PPO"));
    QCOMPARE(form.editorFor("nope"), nullptr);
}

void TstWidgets::configFormShowsAnIssueNextToItsField()
{
    ConfigForm form;
    form.setSchema(typedSchema());
    form.resize(700, 800);
    form.show();
    form.setIssues({{"ppo.kl_coef", "must be >= 0, got -1", 12}, {"ppo.bogus", "unknown key", 3},
                    {"seeds[1]", "expected an integer, got 'x'", 0}});
    QLabel* err = form.errorLabelFor("ppo.kl_coef");
    QVERIFY(err);
    QVERIFY(err->isVisible());
    QVERIFY(err->text().contains(QStringLiteral("must be >= 0")));
    QVERIFY(err->text().contains(QStringLiteral("12")));
    QVERIFY(form.editorFor("ppo.kl_coef")->property("invalid").toBool());
    // The error label sits right under its editor, in the same row.
    QCOMPARE(err->parentWidget(), form.editorFor("ppo.kl_coef")->parentWidget());
    QVERIFY(form.errorLabelFor("seeds")->isVisible());  // element issue -> its list field
    QVERIFY(!form.errorLabelFor("ppo.lr")->isVisible());
    QCOMPARE(form.bannerIssues().size(), 1);
    QVERIFY(form.bannerIssues().front().contains(QStringLiteral("ppo.bogus")));
    QCOMPARE(form.issueCount(), 3);
    QVERIFY(form.focusFirstIssue());
    form.clearIssues();
    QVERIFY(!err->isVisible());
    QVERIFY(!form.editorFor("ppo.kl_coef")->property("invalid").toBool());
}

void TstWidgets::configFormRoundTripsValues()
{
    ConfigForm form;
    form.setSchema(typedSchema());
    const std::map<std::string, std::string> in{
        {"name", "my run"}, {"verbose", "true"}, {"threads", "8"}, {"seeds", "[1, 5, 10]"},
        {"variants", "[v2, full]"}, {"ppo.tags", "[x, \"y, z\"]"}, {"ppo.kl_coef", "0.05"},
        {"ppo.lr", "1.41e-05"}, {"ppo.gammas", "[0.99, 1]"}, {"ppo.kl_estimator", "k3"},
        {"dataset.path", "/data/ml-latest-small"}};
    QVERIFY(form.setValues(in).isEmpty());
    QCOMPARE(form.values(), in);
    QCOMPARE(form.changedValues(), in);  // every value differs from its default
    QCOMPARE(form.setValues({{"unknown.key", "1"}}), QStringList{QStringLiteral("unknown.key")});
    form.resetToDefaults();
    QVERIFY(form.changedValues().empty());
    QCOMPARE(form.value("ppo.lr"), std::string("1e-05"));
    QCOMPARE(form.value("dataset.path"), std::string());
    QVERIFY(form.setValue("name", "\"quoted: yes\""));  // YAML-quoted input is unquoted
    QCOMPARE(form.value("name"), std::string("quoted: yes"));
    form.resetToDefaults();
    // Editing through the widgets marks the field changed and reports it.
    QSignalSpy spy(&form, &ConfigForm::valueEdited);
    qobject_cast<QCheckBox*>(form.editorFor("verbose"))->setChecked(true);
    QCOMPARE(spy.count(), 1);
    QCOMPARE(spy.at(0).at(0).toString(), QStringLiteral("verbose"));
    QCOMPARE(form.changedValues(), (std::map<std::string, std::string>{{"verbose", "true"}}));
}

void TstWidgets::configFormValuesAreReadBackByTheCoreForEveryExperimentField()
{
    const auto& schema = core::experimentSchema();
    QVERIFY(schema.size() > 50);
    ConfigForm form;
    form.setSchema(schema);
    const core::ExperimentConfig defaults = core::defaultExperiment();
    std::map<std::string, std::string> in;
    for (const auto& f : schema) {
        QVERIFY2(form.editorFor(f.key) != nullptr, f.key.c_str());
        in[f.key] = core::fieldValueText(defaults, f.key);
    }
    QVERIFY(form.setValues(in).isEmpty());
    // Every value the form writes reads back in the core to the same config.
    core::ExperimentConfig back = core::defaultExperiment();
    back.name = "changed";  // overwritten below
    for (const auto& [key, text] : form.values()) {
        const auto issues = core::setFieldFromText(back, key, text);
        QVERIFY2(issues.empty(), qPrintable(QString::fromStdString(key + " = " + text + ": " +
                                                                   (issues.empty() ? "" : issues[0].message))));
    }
    for (const auto& f : schema)
        QVERIFY2(core::fieldValueText(back, f.key) == core::fieldValueText(defaults, f.key),
                 qPrintable(QString::fromStdString(f.key + ": " + core::fieldValueText(back, f.key) + " != " +
                                                   core::fieldValueText(defaults, f.key))));
    QCOMPARE(core::canonicalJson(back), core::canonicalJson(defaults));
    QVERIFY(form.changedValues().empty());
}

// ---- probe -------------------------------------------------------------------------------------

void TstWidgets::heatStripColoursAndTooltipsFollowLogProbs()
{
    QVERIFY(logProbColor(0.0, false).hue() > logProbColor(-2.0, false).hue());
    QVERIFY(logProbColor(-2.0, false).hue() > logProbColor(-6.0, false).hue());
    QCOMPARE(logProbColor(-20.0, false), logProbColor(-7.0, false));  // clamped at p ~ 0.001
    QCOMPARE(logProbColor(0.0, false).hue(), 120);
    TokenHeatStrip strip;
    strip.resize(300, 100);
    strip.setTokens({{"1", -0.01}, {".", -0.02}, {" Toy", -1.2}, {" Story", -0.05}, {"\n", -3.0}, {"2", -0.4}});
    strip.resize(300, strip.heightForWidth(300));
    QVERIFY(std::abs(strip.meanLogProb() - (-0.01 - 0.02 - 1.2 - 0.05 - 3.0 - 0.4) / 6) < 1e-12);
    const int hit = strip.tokenAt(QPoint(2, 5));
    QCOMPARE(hit, 0);
    QVERIFY(strip.tokenToolTip(2).contains(QStringLiteral("-1.200")));
    QVERIFY(strip.tokenToolTip(2).contains(QStringLiteral("Toy")));
    QCOMPARE(strip.tokenToolTip(99), QString());
    QVERIFY(strip.heightForWidth(60) > strip.heightForWidth(600));  // wraps when narrow
}

void TstWidgets::historyEditorAcceptsOnlyCatalogueTitles()
{
    HistoryEditor editor;
    editor.setCatalogue({QStringLiteral("Toy Story (1995)"), QStringLiteral("Heat (1995)"),
                         QStringLiteral("Jumanji (1995)")});
    QSignalSpy spy(&editor, &HistoryEditor::historyChanged);
    QVERIFY(editor.addTitle(QStringLiteral("toy story (1995)")));  // canonical spelling kept
    QVERIFY(editor.addTitle(QStringLiteral("Heat (1995)")));
    QVERIFY(!editor.addTitle(QStringLiteral("Not A Movie")));
    QVERIFY(editor.message().contains(QStringLiteral("Not A Movie")));
    QCOMPARE(editor.history(), (QStringList{QStringLiteral("Toy Story (1995)"), QStringLiteral("Heat (1995)")}));
    editor.moveUp(1);
    QCOMPARE(editor.history().front(), QStringLiteral("Heat (1995)"));
    editor.removeAt(0);
    QCOMPARE(editor.history(), QStringList{QStringLiteral("Toy Story (1995)")});
    QCOMPARE(spy.count(), 4);
    // The completer matches anywhere in the title, case-insensitively.
    editor.completer()->setCompletionPrefix(QStringLiteral("MANJ"));
    QCOMPARE(editor.completer()->completionCount(), 1);
    QCOMPARE(editor.completer()->currentCompletion(), QStringLiteral("Jumanji (1995)"));
}

// ---- resources -----------------------------------------------------------------------------

void TstWidgets::iconsAndSpanishTranslationAreEmbedded()
{
    for (const char* name : {"run", "stop", "resume", "open", "save", "export", "delete", "settings", "chart",
                             "table", "inspect", "probe", "status-queued", "status-running", "status-finished",
                             "status-failed", "status-cancelled", "badge-legal", "badge-nonexistent",
                             "badge-duplicate", "badge-in-history", "badge-beyond-k"}) {
        const QIcon i = icon(QString::fromLatin1(name));
        QVERIFY2(!i.isNull(), name);
        QVERIFY2(!i.pixmap(24, 24).toImage().isNull(), name);
    }
    QVERIFY(icon(QStringLiteral("no-such-icon")).isNull());
    const QString qm = translationResource(QStringLiteral("es"));
    QVERIFY2(!qm.isEmpty(), "recalign_es.qm is not embedded");
    MetricDashboard dash;  // exists before the switch: retranslates on LanguageChange
    auto smoothingLabel = [&] {
        for (QLabel* l : dash.findChildren<QLabel*>())
            if (l->text() == QLatin1String("Smoothing") || l->text() == QLatin1String("Suavizado"))
                return l->text();
        return QString();
    };
    QCOMPARE(smoothingLabel(), QStringLiteral("Smoothing"));
    QVERIFY(installTranslation(QStringLiteral("es")));
    QCoreApplication::processEvents();
    QCOMPARE(MetricDashboard::tr("Smoothing"), QStringLiteral("Suavizado"));
    QCOMPARE(badgeText(ItemBadge::NonExistent), QStringLiteral("inexistente"));
    QCOMPARE(SampleListView::tr("%n illegal item(s)", nullptr, 3), QStringLiteral("3 ítems ilegales"));
    QCOMPARE(smoothingLabel(), QStringLiteral("Suavizado"));
    // A Spanish, dark view for the screenshot folder.
    applyTheme(*qApp, Theme::Dark);
    {
        SampleListView samples;
        samples.resize(1400, 760);
        samples.setSamples({craftedSample()});
        QVERIFY(saveShot(&samples, QStringLiteral("sample_list_view_es_dark.png")));
    }
    applyTheme(*qApp, Theme::Light);
    QVERIFY(installTranslation(QStringLiteral("en")));
    QCoreApplication::processEvents();
    QCOMPARE(MetricDashboard::tr("Smoothing"), QStringLiteral("Smoothing"));
    QCOMPARE(smoothingLabel(), QStringLiteral("Smoothing"));
}

// ---- seed groups and CSV -------------------------------------------------------------------------

namespace tst_widgets_detail {

// Three seeds of one metric; step 30 only run B has, step 10 run C has as NaN.
std::vector<RunSeries> threeRuns()
{
    const double nan = std::numeric_limits<double>::quiet_NaN();
    return {RunSeries{{0, 10, 20}, {1, 2, 3}, {100, 110, 120}},
            RunSeries{{0, 10, 30}, {3, 6, 5}, {200, 210, 230}},
            RunSeries{{0, 10, 20}, {2, nan, 9}, {300, 310, 320}}};
}

}  // namespace tst_widgets_detail

void TstWidgets::aggregateSeriesMatchesHandComputedValues()
{
    const SeriesAggregate a = aggregateSeries(tst_widgets_detail::threeRuns());
    QCOMPARE(a.steps, (std::vector<double>{0, 10, 20, 30}));
    QCOMPARE(a.count, (std::vector<int>{3, 2, 2, 1}));
    // step 0: {1, 3, 2}: mean 2, sample std sqrt(((-1)^2 + 1^2 + 0^2) / 2) = 1
    // step 10: {2, 6} (C's NaN does not count): mean 4, std sqrt((4 + 4) / 1) = sqrt(8)
    // step 20: {3, 9}: mean 6, std sqrt(18); step 30: {5}: mean 5, std undefined (NaN)
    QCOMPARE(a.mean, (std::vector<double>{2, 4, 6, 5}));
    QCOMPARE(a.std[0], 1.0);
    QCOMPARE(a.std[1], std::sqrt(8.0));
    QCOMPARE(a.std[2], std::sqrt(18.0));
    QVERIFY(std::isnan(a.std[3]));
    QCOMPARE(a.min, (std::vector<double>{1, 2, 3, 5}));
    QCOMPARE(a.max, (std::vector<double>{3, 6, 9, 5}));
    // Wall times: the mean over the counted runs (step 10: A and B only).
    QCOMPARE(a.walls, (std::vector<double>{200, 160, 220, 230}));

    // A step where no run has a finite value stays, with count 0 and NaN; walls then drop.
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const SeriesAggregate b = aggregateSeries({RunSeries{{1, 2}, {4, nan}, {}}, RunSeries{{1}, {6}, {}}});
    QCOMPARE(b.steps, (std::vector<double>{1, 2}));
    QCOMPARE(b.count, (std::vector<int>{2, 0}));
    QCOMPARE(b.mean[0], 5.0);
    QVERIFY(std::isnan(b.mean[1]) && std::isnan(b.min[1]) && std::isnan(b.std[1]));
    QVERIFY(b.walls.empty());
    // Unsorted input and a repeated step (the last value wins).
    const SeriesAggregate c = aggregateSeries({RunSeries{{5, 1, 5}, {1, 2, 3}, {}}});
    QCOMPARE(c.steps, (std::vector<double>{1, 5}));
    QCOMPARE(c.mean, (std::vector<double>{2, 3}));
    QVERIFY(aggregateSeries({}).steps.empty());
}

void TstWidgets::bandBoundsAreMinMaxOrMeanPlusMinusStd()
{
    const SeriesAggregate a = aggregateSeries(tst_widgets_detail::threeRuns());
    std::vector<double> lo, hi;
    bandBounds(a, BandMode::MinMax, lo, hi);
    QCOMPARE(lo, a.min);
    QCOMPARE(hi, a.max);
    bandBounds(a, BandMode::StdDev, lo, hi);
    QCOMPARE(lo[0], 1.0);
    QCOMPARE(hi[0], 3.0);
    QCOMPARE(lo[1], 4.0 - std::sqrt(8.0));
    QCOMPARE(hi[2], 6.0 + std::sqrt(18.0));
    QCOMPARE(lo[3], 5.0);  // one run: the band narrows onto the mean
    QCOMPARE(hi[3], 5.0);
    bandBounds(a, BandMode::None, lo, hi);
    QVERIFY(lo.empty() && hi.empty());
}

void TstWidgets::csvFieldsAreQuotedAndReadBack()
{
    QCOMPARE(csvField("plain"), std::string("plain"));
    QCOMPARE(csvField("a,b"), std::string("\"a,b\""));
    QCOMPARE(csvField("say \"hi\""), std::string("\"say \"\"hi\"\"\""));
    QCOMPARE(csvField("two\nlines"), std::string("\"two\nlines\""));
    QCOMPARE(csvNumber(0.1), std::string("0.1"));
    QCOMPARE(csvNumber(1500), std::string("1500"));
    QCOMPARE(csvNumber(1.7e9 + 0.25), std::string("1700000000.25"));
    QCOMPARE(csvNumber(-2.5e-7), std::string("-2.5e-07"));
    QCOMPARE(csvNumber(std::numeric_limits<double>::quiet_NaN()), std::string("nan"));
    QCOMPARE(csvNumber(-std::numeric_limits<double>::infinity()), std::string("-inf"));
    CsvSeries s;
    s.run = "quickstart, \"seeds\"\n[group 3]";
    s.stage = "sft_v2";
    s.series = "env/reward_mean";
    s.steps = {1, 2};
    s.walls = {1.7e9 + 0.25, 1.7e9 + 1.5};
    s.values = {0.1 + 0.2, std::numeric_limits<double>::quiet_NaN()};
    s.smoothed = {0.3, 0.3};
    std::string text = std::string(kSeriesCsvHeader) + "\n";
    appendSeriesCsv(text, s);
    const auto rows = parseCsv(text);
    QCOMPARE(rows.size(), size_t(3));
    QCOMPARE(rows[0], (std::vector<std::string>{"step", "wall_time", "run", "stage", "series", "value", "smoothed_value"}));
    QCOMPARE(rows[1].size(), size_t(7));
    QCOMPARE(rows[1][2], s.run);  // quotes, comma and newline survive
    QCOMPARE(std::stod(rows[1][1]), 1.7e9 + 0.25);
    QCOMPARE(std::stod(rows[1][5]), 0.1 + 0.2);  // shortest round-trip text: bit-exact
    QCOMPARE(rows[2][5], std::string("nan"));
    s.walls.clear();
    std::string noWalls;
    appendSeriesCsv(noWalls, s);
    QCOMPARE(parseCsv(noWalls)[0][1], std::string());  // wall_time empty
}

void TstWidgets::metricPlotDrawsABandUnderTheSmoothedMean()
{
    MetricPlot plot;
    plot.resize(600, 320);
    plot.show();
    QVERIFY(QTest::qWaitForWindowExposed(&plot));
    plot.setSmoothing(0.6);
    const SeriesAggregate a = aggregateSeries(tst_widgets_detail::threeRuns());
    plot.setBandSeries(QStringLiteral("g"), a, BandMode::MinMax);
    plot.setRunInfo(QStringLiteral("g"), QStringLiteral("quickstart · ppo_v3 (n=3, mean, min–max)"), {});
    QVERIFY(plot.hasBand(QStringLiteral("g")));
    QCOMPARE(plot.pointCount(QStringLiteral("g")), size_t(4));
    // The mean and the bounds take the same smoothing.
    QCOMPARE(plot.smoothedValues(QStringLiteral("g")), smoothDebiasedEma(a.mean, 0.6));
    const auto band = plot.smoothedBand(QStringLiteral("g"));
    QCOMPARE(band.first, smoothDebiasedEma(a.min, 0.6));
    QCOMPARE(band.second, smoothDebiasedEma(a.max, 0.6));
    QVERIFY(plot.displayedBandCount(QStringLiteral("g")) >= 4);
    plot.setSmoothing(0.0);
    QCOMPARE(plot.smoothedBand(QStringLiteral("g")).first, a.min);
    // The band sits on its own layer under the curves, filled down to its lower bound.
    QCustomPlot* cp = plot.customPlot();
    int filled = 0;
    for (int i = 0; i < cp->graphCount(); ++i) {
        QCPGraph* g = cp->graph(i);
        if (g->channelFillGraph()) {
            ++filled;
            QCOMPARE(g->layer()->name(), QStringLiteral("bands"));
            QVERIFY(g->brush().color().alpha() < 255);
            QVERIFY(g->layer()->index() < cp->layer(QStringLiteral("main"))->index());
        }
    }
    QCOMPARE(filled, 1);
    QCOMPARE(plot.legendText(QStringLiteral("g")), QStringLiteral("quickstart · ppo_v3 (n=3, mean, min–max)"));
    // The y-range covers the band, not just the mean.
    QVERIFY(cp->yAxis->range().upper >= 9.0);
    QVERIFY(cp->yAxis->range().lower <= 1.0);
    cp->replot();
    const QString text = plot.showReadoutAt(QPointF(cp->xAxis->coordToPixel(20.0), cp->yAxis->coordToPixel(6.0)));
    QVERIFY2(text.contains(QStringLiteral("n=2")), qPrintable(text));
    QVERIFY2(text.contains(QStringLiteral("3")) && text.contains(QStringLiteral("9")), qPrintable(text));
    // Live points on a band series drop the band.
    plot.appendPoints(QStringLiteral("g"), {40}, {5});
    QVERIFY(!plot.hasBand(QStringLiteral("g")));
    QCOMPARE(plot.displayedBandCount(QStringLiteral("g")), 0);
}

void TstWidgets::metricPlotHiddenSeriesAreNotDrawnFittedOrExported()
{
    MetricPlot plot;
    plot.resize(600, 320);
    plot.appendPoints(QStringLiteral("a"), {1, 2, 3}, {1, 2, 3});
    plot.appendPoints(QStringLiteral("b"), {1, 2, 3}, {100, 200, 300});
    QVERIFY(plot.customPlot()->yAxis->range().upper > 300);
    plot.setRunVisible(QStringLiteral("b"), false);
    QVERIFY(!plot.runVisible(QStringLiteral("b")));
    QVERIFY(plot.customPlot()->yAxis->range().upper < 10);
    QCOMPARE(plot.csvSeries().size(), size_t(1));
    QCOMPARE(plot.runs().size(), 2);  // kept
    QCOMPARE(plot.customPlot()->legend->itemCount(), 1);
    plot.setRunVisible(QStringLiteral("a"), false);
    QVERIFY(!plot.hasVisibleSeries());
    plot.setRunVisible(QStringLiteral("b"), true);
    QVERIFY(plot.hasVisibleSeries());
    QCOMPARE(plot.pointCount(QStringLiteral("b")), size_t(3));
}

void TstWidgets::metricPlotCsvExportReadsBackWithBandBounds()
{
    MetricPlot plot;
    plot.setTitle(QStringLiteral("Reward"));
    plot.setSmoothing(0.5);
    plot.appendPoints(QStringLiteral("run:4:ppo_v3"), {1, 2, 3}, {0.5, 0.7, 0.6}, {1.7e9, 1.7e9 + 2, 1.7e9 + 4});
    plot.setSeriesTag(QStringLiteral("run:4:ppo_v3"), SeriesTag{QStringLiteral("4"), QStringLiteral("ppo_v3"),
                                                                QStringLiteral("env/reward_mean")});
    const SeriesAggregate a = aggregateSeries(tst_widgets_detail::threeRuns());
    plot.setBandSeries(QStringLiteral("group:2:ppo_v3"), a, BandMode::StdDev);
    plot.setSeriesTag(QStringLiteral("group:2:ppo_v3"),
                      SeriesTag{QStringLiteral("seeds, \"A\" [group 2]"), QStringLiteral("ppo_v3"),
                                QStringLiteral("env/reward_mean")});
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("chart.csv"));
    QVERIFY(plot.exportCsv(path));
    QFile f(path);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const auto rows = parseCsv(f.readAll().toStdString());
    QCOMPARE(rows.size(), size_t(1 + 3 + 3 * 4));
    QCOMPARE(rows[0].size(), size_t(7));
    for (const auto& r : rows)
        QCOMPARE(r.size(), size_t(7));
    // One run: its points, wall times and smoothed values as charted.
    const auto runSmoothed = plot.smoothedValues(QStringLiteral("run:4:ppo_v3"));
    QCOMPARE(rows[1], (std::vector<std::string>{"1", "1700000000", "4", "ppo_v3", "env/reward_mean", "0.5",
                                                csvNumber(runSmoothed[0])}));
    QCOMPARE(std::stod(rows[3][6]), runSmoothed[2]);
    // The group: mean, then :lo and :hi, no wall times, the quoted label read back.
    std::vector<double> mean, lo, hi;
    for (size_t i = 4; i < rows.size(); ++i) {
        QCOMPARE(rows[i][2], std::string("seeds, \"A\" [group 2]"));
        QCOMPARE(rows[i][1], std::string());
        const double v = std::stod(rows[i][5]);
        if (rows[i][4] == "env/reward_mean")
            mean.push_back(v);
        else if (rows[i][4] == "env/reward_mean:lo")
            lo.push_back(v);
        else if (rows[i][4] == "env/reward_mean:hi")
            hi.push_back(v);
    }
    QCOMPARE(mean, a.mean);
    QCOMPARE(lo, (std::vector<double>{1, 4 - std::sqrt(8.0), 6 - std::sqrt(18.0), 5}));
    QCOMPARE(hi, (std::vector<double>{3, 4 + std::sqrt(8.0), 6 + std::sqrt(18.0), 5}));
    QCOMPARE(std::stod(rows[4 + 3][6]), plot.smoothedValues(QStringLiteral("group:2:ppo_v3"))[3]);
    QCOMPARE(std::stod(rows[4 + 4 + 1][6]), plot.smoothedBand(QStringLiteral("group:2:ppo_v3")).first[1]);
}

void TstWidgets::dashboardBandsRunTagsStageChoicesAndCsv()
{
    MetricDashboard dash;
    dash.setHideEmpty(true);
    dash.setBandControlVisible(true);
    QCOMPARE(dash.bandMode(), BandMode::StdDev);
    QList<BandMode> modes;
    connect(&dash, &MetricDashboard::bandModeChanged, this, [&](BandMode m) { modes << m; });
    dash.setBandMode(BandMode::MinMax);
    QCOMPARE(modes, QList<BandMode>{BandMode::MinMax});
    auto* bandCombo = dash.findChild<QComboBox*>(QStringLiteral("bandMode"));
    QVERIFY(bandCombo);
    QCOMPARE(bandCombo->currentData().toInt(), int(BandMode::MinMax));

    dash.setRunInfo(QStringLiteral("run:4:sft_v2"), QStringLiteral("#4 quickstart · sft_v2"), {{"seed", "0"}});
    dash.setRunTag(QStringLiteral("run:4:sft_v2"), QStringLiteral("4"), QStringLiteral("sft_v2"));
    dash.appendPoints(QStringLiteral("run:4:sft_v2"), QStringLiteral("loss"), {1, 2}, {2.0, 1.5});
    dash.setRunInfo(QStringLiteral("group:1:ppo_v3"), QStringLiteral("quickstart · ppo_v3 (n=3, mean ± std)"), {});
    dash.setRunTag(QStringLiteral("group:1:ppo_v3"), QStringLiteral("quickstart [group 1]"), QStringLiteral("ppo_v3"));
    dash.setBandSeries(QStringLiteral("group:1:ppo_v3"), QStringLiteral("objective/kl_k3"),
                       aggregateSeries(tst_widgets_detail::threeRuns()), BandMode::StdDev);
    MetricPlot* kl = dash.plotFor(QStringLiteral("objective/kl_k3"));
    QVERIFY(kl->hasBand(QStringLiteral("group:1:ppo_v3\nk3")));
    QCOMPARE(dash.legendLines().size(), 2);

    // CSV of every visible chart: the metric key (not the chart's key label) and the tags.
    auto rows = parseCsv(dash.toCsv().toStdString());
    QCOMPARE(rows.size(), size_t(1 + 2 + 3 * 4));
    QCOMPARE(rows[1][2], std::string("4"));
    QCOMPARE(rows[1][3], std::string("sft_v2"));
    QCOMPARE(rows[1][4], std::string("loss"));
    QCOMPARE(rows[3][2], std::string("quickstart [group 1]"));
    QCOMPARE(rows[3][4], std::string("objective/kl_k3"));
    QCOMPARE(rows.back()[4], std::string("objective/kl_k3:hi"));

    // Stage choices: the combo appears with them and reports the choice.
    QStringList filters;
    connect(&dash, &MetricDashboard::stageFilterChanged, this, [&](const QString& v) { filters << v; });
    dash.setStageChoices({{QStringLiteral("All stages"), QString()}, {QStringLiteral("SFT"), QStringLiteral("prefix:sft")}});
    QCOMPARE(dash.stageFilter(), QString());
    auto* stageCombo = dash.findChild<QComboBox*>(QStringLiteral("stageFilter"));
    QVERIFY(stageCombo);
    QVERIFY(!stageCombo->isHidden());
    stageCombo->setCurrentIndex(1);
    QCOMPARE(filters, QStringList{QStringLiteral("prefix:sft")});
    // The current choice gone: back to the first.
    dash.setStageChoices({{QStringLiteral("All stages"), QString()}, {QStringLiteral("PPO"), QStringLiteral("prefix:ppo")}});
    QCOMPARE(dash.stageFilter(), QString());

    // A hidden run leaves the legend, the CSV and (hide empty) its chart.
    dash.setRunVisible(QStringLiteral("group:1:ppo_v3"), false);
    QCOMPARE(dash.legendLines(), QStringList{QStringLiteral("#4 quickstart · sft_v2")});
    QVERIFY(kl->isHidden());
    rows = parseCsv(dash.toCsv().toStdString());
    QCOMPARE(rows.size(), size_t(3));
    // Removed and shown again, a run gets its colour back.
    dash.setRunVisible(QStringLiteral("group:1:ppo_v3"), true);
    QVERIFY(!kl->isHidden());
    dash.removeRun(QStringLiteral("run:4:sft_v2"));
    dash.appendPoints(QStringLiteral("run:4:sft_v2"), QStringLiteral("loss"), {1}, {2.0});
    QCOMPARE(dash.legendLines().size(), 2);
    QTemporaryDir dir;
    QVERIFY(dash.exportCsv(dir.filePath(QStringLiteral("all.csv"))));
    QVERIFY(QFileInfo(dir.filePath(QStringLiteral("all.csv"))).size() > 100);
}


QTEST_MAIN(TstWidgets)
#include "tst_widgets.moc"
