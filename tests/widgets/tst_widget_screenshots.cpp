// Writes a screenshot of each widget with data to <build>/screenshots/ (QWidget::grab, offscreen),
// light and dark, so the look can be reviewed without a display. Data are deterministic synthetic
// series and crafted samples (see widget_fixtures.h); each shot also asserts that it was written.
#include "widgets/ablation_table.h"
#include "widgets/config_form.h"
#include "widgets/icons.h"
#include "widgets/metric_dashboard.h"
#include "widgets/metric_plot.h"
#include "widgets/probe_widgets.h"
#include "widgets/sample_list_view.h"
#include "widgets/theme.h"

#include "widget_fixtures.h"

#include "core/api/experiment.h"

#include <qcustomplot.h>  // no torch in this TU

#include <QGridLayout>
#include <QLabel>
#include <QVBoxLayout>
#include <QtTest>

#include <map>
#include <random>

using namespace recalign;
using namespace recalign::widgets;
using namespace widget_fixtures;

namespace screenshot_detail {

const char* const kRunNames[] = {"3", "4", "5"};
const std::map<std::string, std::string> kConfigs[] = {{{"ppo.kl_coef", "0.1"}, {"seed", "0"}},
                                                       {{"ppo.kl_coef", "0.3"}, {"seed", "0"}},
                                                       {{"ppo.kl_coef", "0.1"}, {"seed", "1"}}};

}  // namespace screenshot_detail
using namespace screenshot_detail;

class TstWidgetScreenshots : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void dashboardInLightAndDarkThemes();
    void chartWithHoverReadout();
    void ablationTableWithBarChart();
    void sampleListWithBadges();
    void configFormWithIssues();
    void probePieces();
    void iconSheet();
};

void TstWidgetScreenshots::initTestCase()
{
    initResources();
    applyTheme(*qApp, Theme::Light);
}

void TstWidgetScreenshots::dashboardInLightAndDarkThemes()
{
    // The dashboard: three runs of a PPO-like training, one with a KL blow-up.
    MetricDashboard dash;
    dash.resize(1500, 980);
    for (int r = 0; r < 3; ++r) {
        const QString run = QString::fromLatin1(kRunNames[r]);
        dash.setRunInfo(run, QStringLiteral("run %1").arg(run), kConfigs[r]);
        const int n = 2000 - 300 * r;
        const auto steps = iota(n);
        std::vector<double> walls(static_cast<size_t>(n));
        for (int i = 0; i < n; ++i)
            walls[static_cast<size_t>(i)] = 1.7e9 + 3.0 * i;
        const unsigned s = 100u * static_cast<unsigned>(r);
        auto add = [&](const char* key, std::vector<double> ys) { dash.appendPoints(run, QString::fromLatin1(key), steps, ys, walls); };
        add("loss", synthetic(n, 2.4, 0.6 + 0.1 * r, 0.08, s + 1));
        std::vector<double> lr(static_cast<size_t>(n));
        for (int i = 0; i < n; ++i)
            lr[static_cast<size_t>(i)] = 1e-5 * std::min(1.0, i / 100.0) * (1.0 - 0.9 * i / n);
        add("learning_rate", lr);
        add("env/reward_total", synthetic(n, -0.4, 0.8 - 0.15 * r, 0.15, s + 2));
        add("env/reward_item", synthetic(n, -0.2, 0.5 - 0.1 * r, 0.12, s + 3));
        add("env/reward_list", synthetic(n, -0.2, 0.3 - 0.05 * r, 0.1, s + 4));
        add("objective/kl", synthetic(n, 0.0, 4.0 - r, 0.4, s + 5, r == 0 ? 1234 : -1, 18.0));
        add("objective/kl_k3", synthetic(n, 0.0, 3.2 - r, 0.3, s + 6));
        add("objective/kl_coef", synthetic(n, r == 1 ? 0.3 : 0.1, r == 1 ? 0.22 : 0.07, 0.0005, s + 7));
        add("ppo/policy/clipfrac", synthetic(n, 0.02, 0.12, 0.02, s + 8));
        add("objective/entropy", synthetic(n, 2.2, 1.1, 0.06, s + 9));
        add("ppo/loss/value", synthetic(n, 0.9, 0.15, 0.05, s + 10));
        add("ppo/val/var_explained", synthetic(n, -0.3, 0.7, 0.07, s + 11));
        add("tokens/responses_len_mean", synthetic(n, 48, 61, 2.0, s + 12));
        add("illegal/nonexistent", synthetic(n, 0.30, 0.04, 0.02, s + 13));
        add("illegal/duplicate", synthetic(n, 0.12, 0.01, 0.01, s + 14));
    }
    QVERIFY(saveShot(&dash, QStringLiteral("metric_dashboard.png")));
    applyTheme(*qApp, Theme::Dark);
    QVERIFY(saveShot(&dash, QStringLiteral("metric_dashboard_dark.png")));
    applyTheme(*qApp, Theme::Light);
}

void TstWidgetScreenshots::chartWithHoverReadout()
{
    // One chart with the hover read-out.
    MetricPlot single;
    single.setTitle(QStringLiteral("objective/kl (k1)"));
    single.resize(760, 380);
    for (int r = 0; r < 3; ++r)
        single.setRunInfo(QString::fromLatin1(kRunNames[r]), QStringLiteral("run %1").arg(QLatin1String(kRunNames[r])), kConfigs[r]);
    single.appendPoints(QStringLiteral("3"), iota(2000), synthetic(2000, 0.0, 4.0, 0.4, 5, 1234, 18.0));
    single.appendPoints(QStringLiteral("4"), iota(1700), synthetic(1700, 0.0, 3.0, 0.4, 105));
    single.show();
    QVERIFY(QTest::qWaitForWindowExposed(&single));
    single.customPlot()->replot();
    const QPointF at(single.customPlot()->xAxis->coordToPixel(900), single.customPlot()->yAxis->coordToPixel(3.6));
    QVERIFY(!single.showReadoutAt(at).isEmpty());
    single.customPlot()->replot();
    QVERIFY(single.grab().save(screenshotDir() + QStringLiteral("/metric_plot_hover.png")));
}

void TstWidgetScreenshots::ablationTableWithBarChart()
{
    // The I1 table with its bar chart.
    AblationTable table;
    table.resize(1100, 620);
    table.setTable(i1Table());
    table.setChartColumn(2);
    QVERIFY(saveShot(&table, QStringLiteral("ablation_table.png")));
}

void TstWidgetScreenshots::sampleListWithBadges()
{
    // Samples.
    SampleListView samples;
    samples.resize(1400, 760);
    auto all = manySamples();
    all.insert(all.begin(), craftedSample());
    samples.setSamples(all);
    samples.selectVisibleRow(0);
    QVERIFY(saveShot(&samples, QStringLiteral("sample_list_view.png")));
}

void TstWidgetScreenshots::configFormWithIssues()
{
    // The experiment form with two issues.
    ConfigForm form;
    form.resize(1000, 760);
    form.setSchema(core::experimentSchema());
    form.setValues({{"name", "movielens-small"}, {"ppo.kl_coef", "0.3"}});
    form.setIssues({{"dataset.path", "'data/ml-latest-small' does not exist", 7},
                    {"dataset.min_rating", "must be between 0 and 100, got 250", 9}});
    QVERIFY(saveShot(&form, QStringLiteral("config_form.png")));
}

void TstWidgetScreenshots::probePieces()
{
    // Probe pieces.
    QWidget probe;
    auto* layout = new QVBoxLayout(&probe);
    auto* history = new HistoryEditor(&probe);
    history->setCatalogue({QStringLiteral("Toy Story (1995)"), QStringLiteral("Heat (1995)"), QStringLiteral("Casino (1995)")});
    history->setHistory({QStringLiteral("Toy Story (1995)"), QStringLiteral("Heat (1995)"), QStringLiteral("Casino (1995)")});
    auto* strip = new TokenHeatStrip(&probe);
    std::vector<TokenLogProb> tokens;
    const char* words[] = {"1", ".", " Mall", "rats", " (", "1", "9", "9", "5", ")", "\n", "2", ".", " Cl", "erks",
                           " (", "1", "9", "9", "4", ")", "\n", "3", ".", " The", " Comedy", " Movie", " That", " Never", " Was"};
    std::mt19937 rng(3);
    std::uniform_real_distribution<double> u(-6.5, 0.0);
    for (const char* w : words)
        tokens.push_back({w, std::string(w).find_first_of("0123456789.()") != std::string::npos ? u(rng) / 8 : u(rng)});
    strip->setTokens(tokens);
    layout->addWidget(history);
    layout->addWidget(strip);
    probe.resize(720, 440);
    QVERIFY(saveShot(&probe, QStringLiteral("probe_widgets.png")));
}

void TstWidgetScreenshots::iconSheet()
{
    // The icon set.
    QWidget sheet;
    auto* grid = new QGridLayout(&sheet);
    const QStringList names = QDir(QStringLiteral(":/icons")).entryList();
    int i = 0;
    for (const QString& file : names) {
        const QString name = QFileInfo(file).completeBaseName();
        auto* l = new QLabel(&sheet);
        l->setPixmap(icon(name).pixmap(32, 32));
        auto* t = new QLabel(name, &sheet);
        grid->addWidget(l, i / 6, (i % 6) * 2);
        grid->addWidget(t, i / 6, (i % 6) * 2 + 1);
        ++i;
    }
    QVERIFY(saveShot(&sheet, QStringLiteral("icons.png")));
    qInfo("screenshots in %s", qPrintable(screenshotDir()));
}

QTEST_MAIN(TstWidgetScreenshots)
#include "tst_widget_screenshots.moc"
