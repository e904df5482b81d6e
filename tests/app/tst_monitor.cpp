// The Monitor with seed groups (torch-free: recalign_studio_lib only): MonitorController draws a
// group's runs as one band series per stage (mean ± std or min–max) or as lines, names reused
// stages, filters by stage, and exports CSV; the stage-filter helpers; a screenshot of a seed
// band in <build>/screenshots/monitor-seed-band.png.
#include "app/studio/monitor_controller.h"
#include "app/studio/monitor_page.h"

#include "widgets/icons.h"
#include "widgets/metric_dashboard.h"
#include "widgets/metric_plot.h"
#include "widgets/series_math.h"
#include "widgets/theme.h"

#include "app_fixtures.h"

#include "core/api/store_api.h"

#include <QFile>
#include <QFileInfo>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <random>

using namespace recalign;
using namespace recalign::studio;
using widgets::BandMode;

namespace tst_monitor_detail {

constexpr int kSteps = 60;
const char* const kReward = "env/reward_mean";

// A noisy PPO reward curve of one seed (deterministic).
double reward(int seed, int step)
{
    std::mt19937 rng(static_cast<unsigned>(seed * 1000 + step));
    std::normal_distribution<double> noise(0.0, 0.06);
    const double t = static_cast<double>(step) / kSteps;
    return 0.15 + 0.5 * (1.0 - std::exp(-3.5 * t)) + 0.03 * seed + noise(rng);
}

}  // namespace tst_monitor_detail
using namespace tst_monitor_detail;

class TstMonitor : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void stageFilterChoicesGroupStagesByPrefix();
    void aSeedGroupIsDrawnAsOneBandPerStage();
    void bandModeNoneDrawsOneLinePerRun();
    void aGroupWithOneShownRunStaysALine();
    void reusedStagesNameTheRunThatComputedThem();
    void theStageFilterHidesOtherStagesLiveOnesToo();
    void csvOfAllVisibleChartsHasTheBandAndItsBounds();
    void screenshotOfASeedBand();

private:
    core::RunStore m_store;
    int64_t m_group = 0;
    int64_t m_runs[3] = {0, 0, 0};
    int64_t m_reuser = 0;  // ungrouped; sft_v2 reused from m_runs[0]
};

void TstMonitor::initTestCase()
{
    widgets::initResources();
    QVERIFY(!m_store.openInMemory());
    core::RunGroup g;
    g.name = "quickstart";
    g.seeds = {0, 1, 2};
    auto gid = m_store.createGroup(g);
    QVERIFY2(gid, gid ? "" : gid.error().toString().c_str());
    m_group = gid.value();
    std::vector<core::MetricPoint> points;
    for (int seed = 0; seed < 3; ++seed) {
        core::NewRun r;
        r.group_id = m_group;
        r.name = "quickstart";
        r.seed = seed;
        r.config_json = "{\"seeds\":[0,1,2],\"ppo\":{\"kl_coef\":0.1},\"seed\":" + std::to_string(seed) + "}";
        r.status = core::RunStatus::Finished;
        auto id = m_store.createRun(r);
        QVERIFY(id);
        m_runs[seed] = id.value();
        for (const char* stage : {"sft_v2", "ppo_v3"}) {
            auto st = m_store.beginStage(id.value(), stage, std::string("h-") + stage + std::to_string(seed), "");
            QVERIFY(st);
            QVERIFY(!m_store.endStage(st.value(), core::StageStatus::Finished));
        }
        // Seed 2 misses the last reward step: that step has n = 2.
        const double t0 = 1.7e9 + 3600.0 * seed;
        for (int step = 1; step <= kSteps - (seed == 2 ? 1 : 0); ++step)
            points.push_back({id.value(), "ppo_v3", kReward, step, t0 + step, reward(seed, step)});
        for (int step = 1; step <= 20; ++step)
            points.push_back({id.value(), "sft_v2", "loss", step, t0 - 100 + step, 3.0 / step + 0.1 * seed});
    }
    QVERIFY(!m_store.appendMetrics(points));
    // An ungrouped run that took sft_v2 from the cache of the first seed, and ran sft_v1 itself.
    core::NewRun r;
    r.name = "quickstart";
    r.config_json = "{\"seeds\":[5]}";
    r.seed = 5;
    auto id = m_store.createRun(r);
    QVERIFY(id);
    m_reuser = id.value();
    auto st = m_store.beginStage(m_reuser, "sft_v2", "h-sft_v20", "");
    QVERIFY(st);
    QVERIFY(!m_store.markStageReused(st.value(), m_runs[0]));
    QVERIFY(!m_store.endStage(st.value(), core::StageStatus::Finished));
    auto st1 = m_store.beginStage(m_reuser, "sft_v1", "h-v1", "");
    QVERIFY(st1);
    QVERIFY(!m_store.endStage(st1.value(), core::StageStatus::Finished));
    QVERIFY(!m_store.appendMetrics({{m_reuser, "sft_v1", "loss", 1, 1.7e9, 2.0}, {m_reuser, "sft_v1", "loss", 2, 1.7e9 + 1, 1.5}}));
    auto copied = m_store.metricSeries(m_reuser, "sft_v2", "loss");
    QVERIFY(copied);
    QCOMPARE(copied.value().values.size(), size_t(20));  // the store copied the reused curves
}

void TstMonitor::stageFilterChoicesGroupStagesByPrefix()
{
    QCOMPARE(stagePrefix(QStringLiteral("sft_palr")), QStringLiteral("sft"));
    QCOMPARE(stagePrefix(QStringLiteral("base_model")), QStringLiteral("base"));
    QCOMPARE(stagePrefix(QStringLiteral("teacher")), QStringLiteral("teacher"));
    const QStringList stages = {QStringLiteral("ppo_full"), QStringLiteral("sft_v2"), QStringLiteral("teacher"),
                                QStringLiteral("base_model"), QStringLiteral("sft_v1"), QStringLiteral("ppo_v3"),
                                QStringLiteral("eval_v2"), QStringLiteral("sft_v1")};
    const auto choices = stageFilterChoices(stages);
    QStringList values;
    for (const auto& c : choices)
        values << c.second;
    QCOMPARE(values, (QStringList{QString(), QStringLiteral("prefix:base"), QStringLiteral("prefix:teacher"),
                                  QStringLiteral("prefix:sft"), QStringLiteral("stage:sft_v1"),
                                  QStringLiteral("stage:sft_v2"), QStringLiteral("prefix:ppo"),
                                  QStringLiteral("stage:ppo_full"), QStringLiteral("stage:ppo_v3"),
                                  QStringLiteral("prefix:eval")}));
    QCOMPARE(choices[1].first, QStringLiteral("Pre-training (base_model)"));
    QCOMPARE(choices[2].first, QStringLiteral("Teacher"));
    QCOMPARE(choices[3].first, QStringLiteral("SFT (all)"));
    QVERIFY(stageFilterChoices({QStringLiteral("sft_v2"), QStringLiteral("sft_v2")}).isEmpty());
    QVERIFY(stageMatches(QString(), QStringLiteral("ppo_v3")));
    QVERIFY(stageMatches(QStringLiteral("prefix:sft"), QStringLiteral("sft_palr")));
    QVERIFY(!stageMatches(QStringLiteral("prefix:sft"), QStringLiteral("ppo_v3")));
    QVERIFY(stageMatches(QStringLiteral("stage:sft_v1"), QStringLiteral("sft_v1")));
    QVERIFY(!stageMatches(QStringLiteral("stage:sft_v1"), QStringLiteral("sft_v2")));
}

void TstMonitor::aSeedGroupIsDrawnAsOneBandPerStage()
{
    widgets::MetricDashboard dash;
    MonitorController ctl(&dash);
    QCOMPARE(ctl.bandMode(), BandMode::StdDev);  // bands by default
    QVERIFY(ctl.showRuns(m_store, {m_runs[0], m_runs[1], m_runs[2]}));
    const QString band = QStringLiteral("group:%1:ppo_v3").arg(m_group);
    QCOMPARE(ctl.seriesKeys(), (QStringList{band, QStringLiteral("group:%1:sft_v2").arg(m_group)}));
    widgets::MetricPlot* plot = dash.plotFor(QString::fromLatin1(kReward));
    QVERIFY(plot);
    QCOMPARE(plot->runs(), QStringList{band});
    QVERIFY(plot->hasBand(band));
    QCOMPARE(plot->pointCount(band), size_t(kSteps));
    QCOMPARE(plot->legendText(band), QStringLiteral("quickstart · ppo_v3 (n=3, mean ± std)"));
    const QStringList legend = dash.legendLines();
    QCOMPARE(legend.filter(QStringLiteral("quickstart · ppo_v3 (n=3, mean ± std)")).size(), 1);
    // The mean and the sample std at step 1, by hand; the last step has two runs.
    const double a = reward(0, 1), b = reward(1, 1), c = reward(2, 1);
    const double mean = (a + b + c) / 3;
    const double sd = std::sqrt(((a - mean) * (a - mean) + (b - mean) * (b - mean) + (c - mean) * (c - mean)) / 2);
    plot->setSmoothing(0.0);
    QCOMPARE(plot->smoothedValues(band).front(), mean);
    QVERIFY(std::abs(plot->smoothedBand(band).first.front() - (mean - sd)) < 1e-12);
    QVERIFY(std::abs(plot->smoothedBand(band).second.front() - (mean + sd)) < 1e-12);
    QCOMPARE(plot->smoothedValues(band).back(), (reward(0, kSteps) + reward(1, kSteps)) / 2);
    // Min–max regroups without the store.
    ctl.setBandMode(BandMode::MinMax);
    QCOMPARE(dash.bandMode(), BandMode::MinMax);
    QVERIFY(plot->hasBand(band));
    QCOMPARE(plot->legendText(band), QStringLiteral("quickstart · ppo_v3 (n=3, mean, min–max)"));
    plot->setSmoothing(0.0);
    QCOMPARE(plot->smoothedBand(band).first.front(), std::min({a, b, c}));
    QCOMPARE(plot->smoothedBand(band).second.front(), std::max({a, b, c}));
}

void TstMonitor::bandModeNoneDrawsOneLinePerRun()
{
    widgets::MetricDashboard dash;
    MonitorController ctl(&dash);
    ctl.setBandMode(BandMode::None);
    QVERIFY(ctl.showRuns(m_store, {m_runs[0], m_runs[1], m_runs[2]}));
    QCOMPARE(ctl.seriesCount(), 6);
    widgets::MetricPlot* plot = dash.plotFor(QString::fromLatin1(kReward));
    QCOMPARE(plot->runs().size(), 3);
    for (const QString& id : plot->runs())
        QVERIFY(!plot->hasBand(id));
    QVERIFY(plot->runs().contains(QStringLiteral("run:%1:ppo_v3").arg(m_runs[1])));
    ctl.setBandMode(BandMode::StdDev);
    QCOMPARE(ctl.seriesCount(), 2);
    QCOMPARE(plot->runs().size(), 1);
}

void TstMonitor::aGroupWithOneShownRunStaysALine()
{
    widgets::MetricDashboard dash;
    MonitorController ctl(&dash);
    QVERIFY(ctl.showRuns(m_store, {m_runs[1]}));
    widgets::MetricPlot* plot = dash.plotFor(QString::fromLatin1(kReward));
    const QString key = QStringLiteral("run:%1:ppo_v3").arg(m_runs[1]);
    QCOMPARE(plot->runs(), QStringList{key});
    QVERIFY(!plot->hasBand(key));
    // Live series stay lines even while a group band is shown.
    QVERIFY(ctl.showRuns(m_store, {m_runs[0], m_runs[1]}));
    ctl.startLive(7, QStringLiteral("quickstart"));
    ctl.appendLive({{QStringLiteral("ppo_v3"), QString::fromLatin1(kReward), 1, 10, 1.7e9, 0.2},
                    {QStringLiteral("ppo_v3"), QString::fromLatin1(kReward), 2, 10, 1.7e9 + 1, 0.3}});
    QCOMPARE(plot->runs().size(), 2);
    QVERIFY(plot->hasBand(QStringLiteral("group:%1:ppo_v3").arg(m_group)));
    QVERIFY(!plot->hasBand(QStringLiteral("live:7:ppo_v3")));
    QVERIFY(plot->legendText(QStringLiteral("group:%1:ppo_v3").arg(m_group)).contains(QStringLiteral("n=2")));
}

void TstMonitor::reusedStagesNameTheRunThatComputedThem()
{
    widgets::MetricDashboard dash;
    MonitorController ctl(&dash);
    QVERIFY(ctl.showRuns(m_store, {m_reuser, m_runs[0]}));
    widgets::MetricPlot* loss = dash.plotFor(QStringLiteral("loss"));
    const QString reused = QStringLiteral("run:%1:sft_v2").arg(m_reuser);
    QVERIFY(loss->runs().contains(reused));
    QCOMPARE(dash.legendLines().filter(QStringLiteral("(reused from")).size(), 1);
    QVERIFY2(loss->legendText(reused).startsWith(QStringLiteral("#%1 quickstart · sft_v2 (reused from #%2)")
                                                     .arg(m_reuser)
                                                     .arg(m_runs[0])),
             qPrintable(loss->legendText(reused)));
    // Computed stages say nothing.
    QVERIFY(!loss->legendText(QStringLiteral("run:%1:sft_v1").arg(m_reuser)).contains(QStringLiteral("reused")));
    QVERIFY(!loss->legendText(QStringLiteral("run:%1:sft_v2").arg(m_runs[0])).contains(QStringLiteral("reused")));
    QCOMPARE(loss->pointCount(reused), size_t(20));
}

void TstMonitor::theStageFilterHidesOtherStagesLiveOnesToo()
{
    widgets::MetricDashboard dash;
    dash.setHideEmpty(true);
    MonitorController ctl(&dash);
    QVERIFY(ctl.showRuns(m_store, {m_runs[0], m_runs[1], m_runs[2], m_reuser}));
    QStringList values;
    for (const auto& c : dash.stageChoices())
        values << c.second;
    QCOMPARE(values, (QStringList{QString(), QStringLiteral("prefix:sft"), QStringLiteral("stage:sft_v1"),
                                  QStringLiteral("stage:sft_v2"), QStringLiteral("prefix:ppo")}));
    ctl.startLive(3, QStringLiteral("quickstart"));
    ctl.appendLive({{QStringLiteral("ppo_v3"), QString::fromLatin1(kReward), 1, 10, 1.7e9, 0.2},
                    {QStringLiteral("sft_v2"), QStringLiteral("loss"), 1, 10, 1.7e9, 2.2}});
    ctl.setStageFilter(QStringLiteral("prefix:ppo"));
    QCOMPARE(dash.stageFilter(), QStringLiteral("prefix:ppo"));
    QCOMPARE(ctl.visibleSeriesKeys(),
             (QStringList{QStringLiteral("group:%1:ppo_v3").arg(m_group), QStringLiteral("live:3:ppo_v3")}));
    widgets::MetricPlot* loss = dash.plotFor(QStringLiteral("loss"));
    QVERIFY(!loss->hasVisibleSeries());
    QVERIFY(loss->isHidden());  // hide-empty charts
    QCOMPARE(dash.legendLines().size(), 2);
    // A live series of a hidden stage arrives hidden.
    ctl.appendLive({{QStringLiteral("sft_v1"), QStringLiteral("loss"), 1, 10, 1.7e9, 2.0}});
    QVERIFY(!dash.runVisible(QStringLiteral("live:3:sft_v1")));
    ctl.setStageFilter(QStringLiteral("stage:sft_v1"));
    QCOMPARE(ctl.visibleSeriesKeys(),
             (QStringList{QStringLiteral("live:3:sft_v1"), QStringLiteral("run:%1:sft_v1").arg(m_reuser)}));
    QVERIFY(loss->hasVisibleSeries());
    ctl.setStageFilter(QString());
    QCOMPARE(ctl.visibleSeriesKeys().size(), ctl.seriesCount());
}

void TstMonitor::csvOfAllVisibleChartsHasTheBandAndItsBounds()
{
    MonitorPage page;
    MonitorController ctl(page.dashboard());
    QVERIFY(ctl.showRuns(m_store, {m_runs[0], m_runs[1], m_runs[2], m_reuser}));
    ctl.setStageFilter(QStringLiteral("prefix:ppo"));
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("monitor.csv"));
    QVERIFY(page.exportCsv(path));
    QFile f(path);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const auto rows = widgets::parseCsv(f.readAll().toStdString());
    QCOMPARE(rows.front(), (std::vector<std::string>{"step", "wall_time", "run", "stage", "series", "value",
                                                     "smoothed_value"}));
    QCOMPARE(rows.size(), size_t(1 + 3 * kSteps));  // mean, lo, hi; sft stages filtered out
    const std::string label = "quickstart [group " + std::to_string(m_group) + "]";
    std::map<std::string, std::vector<double>> bySeries;
    for (size_t i = 1; i < rows.size(); ++i) {
        QCOMPARE(rows[i].size(), size_t(7));
        QCOMPARE(rows[i][2], label);
        QCOMPARE(rows[i][3], std::string("ppo_v3"));
        QCOMPARE(rows[i][1], std::string());
        bySeries[rows[i][4]].push_back(std::stod(rows[i][5]));
        if (rows[i][4] == kReward && rows[i][0] == "1") {
            QCOMPARE(std::stod(rows[i][5]), (reward(0, 1) + reward(1, 1) + reward(2, 1)) / 3);
            QCOMPARE(std::stod(rows[i][6]), std::stod(rows[i][5]));  // first smoothed value = value
        }
    }
    QCOMPARE(bySeries.size(), size_t(3));
    const auto& lo = bySeries[std::string(kReward) + ":lo"];
    const auto& hi = bySeries[std::string(kReward) + ":hi"];
    const auto& mean = bySeries[kReward];
    QCOMPARE(lo.size(), size_t(kSteps));
    for (int i = 0; i < kSteps; ++i)
        QVERIFY(lo[i] <= mean[i] && mean[i] <= hi[i]);
    // One run's rows carry its id and wall times.
    ctl.setBandMode(BandMode::None);
    const auto lines = widgets::parseCsv(page.dashboard()->toCsv().toStdString());
    QCOMPARE(lines.size(), size_t(1 + 3 * kSteps - 1));
    QCOMPARE(lines[1][2], std::to_string(m_runs[0]));
    QCOMPARE(lines[1][1], std::string("1700000001"));
}

void TstMonitor::screenshotOfASeedBand()
{
    MonitorPage page;
    MonitorController ctl(page.dashboard());
    page.resize(1280, 760);
    QVERIFY(ctl.showRuns(m_store, {m_runs[0], m_runs[1], m_runs[2]}));
    page.dashboard()->setSmoothing(0.3);
    page.setCaption(QStringLiteral("quickstart: seeds 0, 1, 2 (mean ± 1 std)"));
    page.appendLog(1, QStringLiteral("Showing seed group %1 (3 runs)").arg(m_group));
    page.show();
    QVERIFY(QTest::qWaitForWindowExposed(&page));
    QTest::qWait(50);
    const QString dir = app_fixtures::screenshotDir();
    const QString shot = dir + QStringLiteral("/monitor-seed-band.png");
    QVERIFY(page.grab().save(shot));
    QVERIFY(QFileInfo(shot).size() > 10000);
    // The chart's own exports include the band.
    widgets::MetricPlot* plot = page.dashboard()->plotFor(QString::fromLatin1(kReward));
    const QString png = dir + QStringLiteral("/monitor-seed-band-chart.png");
    QVERIFY(plot->exportImage(png, 640, 360));
    QTemporaryDir tmp;
    const QString svg = tmp.filePath(QStringLiteral("band.svg"));
    const QString pdf = tmp.filePath(QStringLiteral("band.pdf"));
    QVERIFY(plot->exportImage(svg, 640, 360));
    QVERIFY(plot->exportImage(pdf, 640, 360));
    QVERIFY(QFileInfo(pdf).size() > 1000);
    QFile f(svg);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QByteArray text = f.readAll();
    QVERIFY(text.contains("fill-opacity"));  // the translucent channel
    // The band colour is in the exported image: a pixel between the bounds, off the mean line.
    QImage image(png);
    QVERIFY(!image.isNull());
}

QTEST_MAIN(TstMonitor)
#include "tst_monitor.moc"
