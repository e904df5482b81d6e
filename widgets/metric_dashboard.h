// MetricDashboard: a grid of MetricPlots (one per chart spec) sharing the smoothing, x-axis,
// raw-curve and outlier controls. Charts with several metric keys (KL k1/k3, illegal-item rates)
// draw one series per run and key. Unknown metric keys get a chart of their own on first use.
// A "run" here is any series id the caller chooses (the Monitor uses one per run and stage, or
// one per seed group and stage drawn as a band). Optional controls, shown when the caller asks:
// the band mode (how seed groups are drawn) and a stage filter whose choices the caller gives;
// the dashboard only reports their changes. CSV export covers every visible series.
#pragma once

#include "widgets/series_math.h"

#include <QPair>
#include <QString>
#include <QStringList>
#include <QVector>
#include <QWidget>

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

class QCheckBox;
class QComboBox;
class QGridLayout;
class QLabel;
class QSlider;

namespace recalign::widgets {

class MetricPlot;

// One chart: a title and the metric keys it overlays (labels name each key inside the chart).
struct MetricChartSpec {
    QString title;
    QStringList keys;        // metric names as the trainer logs them (StepRecord::metrics)
    QStringList key_labels;  // short labels, same length as keys (used when keys.size() > 1)
};

// The default charts: SFT loss and learning rate; PPO reward total/item/list, KL k1/k3, KL
// coefficient, clip fraction, entropy, value loss, explained variance, response length and
// illegal-item rates. Titles are translated.
QVector<MetricChartSpec> defaultMetricCharts();

class MetricDashboard : public QWidget {
    Q_OBJECT
public:
    explicit MetricDashboard(QWidget* parent = nullptr);

    void setCharts(const QVector<MetricChartSpec>& charts);
    QVector<MetricChartSpec> charts() const { return m_specs; }

    // Appends points of one metric of one run.
    void appendPoints(const QString& run, const QString& metric, const std::vector<double>& steps,
                      const std::vector<double>& ys, const std::vector<double>& walls = {});
    // Appends one step record's metrics (name, value) at `step` / `wall`.
    void appendStep(const QString& run, double step, double wall,
                    const std::vector<std::pair<std::string, double>>& metrics);
    void setRunInfo(const QString& run, const QString& displayName,
                    const std::map<std::string, std::string>& config);
    // What a run's series are called in CSV exports: the run column (a run id or a group's
    // label) and the stage column (default: the run's id and "").
    void setRunTag(const QString& run, const QString& csvRun, const QString& stage);
    // Replaces `run`'s series of `metric` with a seed group's mean and band (MetricPlot).
    void setBandSeries(const QString& run, const QString& metric, const SeriesAggregate& aggregate,
                       BandMode mode);
    void removeRun(const QString& run);
    void clear();
    // Hides or shows every series of `run` (kept, not drawn; out of the legend and CSV).
    void setRunVisible(const QString& run, bool visible);
    bool runVisible(const QString& run) const { return m_hidden.count(run) == 0; }

    // The plot that shows `metric` (nullptr when no chart has it).
    MetricPlot* plotFor(const QString& metric) const;
    QVector<MetricPlot*> plots() const { return m_plots; }
    // The shared legend's text (one line per run: name and the config keys that differ).
    QStringList legendLines() const;

    void setSmoothing(double weight);
    double smoothing() const { return m_smoothing; }
    void setXAxisMode(XAxisMode mode);
    XAxisMode xAxisMode() const { return m_xMode; }
    void setHideEmpty(bool on);
    void setColumns(int columns);

    // The band-mode control ("Seeds": lines / min–max band / ±1 std band); hidden by default.
    void setBandControlVisible(bool on);
    void setBandMode(BandMode mode);
    BandMode bandMode() const { return m_bandMode; }
    // The stage filter: (label, value) choices, the first being "all" by convention. Hidden
    // while there are none. Keeps the current value when it is still offered, else the first.
    void setStageChoices(const QVector<QPair<QString, QString>>& choices);
    QVector<QPair<QString, QString>> stageChoices() const { return m_stageChoices; }
    void setStageFilter(const QString& value);
    QString stageFilter() const { return m_stageFilter; }

    // Every visible chart's visible series as one CSV (series_math.h: header and rows).
    QString toCsv() const;
    bool exportCsv(const QString& path) const;

Q_SIGNALS:
    void smoothingChanged(double weight);
    void xAxisModeChanged(XAxisMode mode);
    void bandModeChanged(BandMode mode);
    void stageFilterChanged(const QString& value);

protected:
    void changeEvent(QEvent* event) override;

private:
    struct Route {
        int chart = -1;
        QString suffix;  // key label for multi-key charts
    };
    Route route(const QString& metric);
    QString seriesId(const QString& run, const Route& r) const;
    // The plot and series id of (run, metric), styled and named on first use.
    MetricPlot* prepareSeries(const QString& run, const QString& metric, QString* id, bool* fresh);
    void finishSeries(MetricPlot* plot, const QString& id, const QString& run, const QString& metric, bool fresh);
    bool isOurs(const QString& id, const QString& run) const;
    MetricPlot* createPlot(const MetricChartSpec& spec);
    int runIndex(const QString& run);
    void updateLegend();
    void rebuildGrid();
    void relayout();
    void retranslate();

    QVector<MetricChartSpec> m_specs;
    QVector<MetricPlot*> m_plots;
    std::map<QString, Route> m_routes;
    struct RunInfo {
        QString display;
        std::map<std::string, std::string> config;
    };
    std::map<QString, RunInfo> m_runInfo;
    struct RunTag {
        QString csvRun;
        QString stage;
    };
    std::map<QString, RunTag> m_runTags;
    std::set<QString> m_hidden;       // runs not drawn
    std::set<QString> m_bandRuns;     // runs drawn as bands (legend glyph)
    std::vector<QString> m_runOrder;  // colour index = position
    std::map<QString, int> m_lastColor;  // a removed run's colour, for when it comes back
    BandMode m_bandMode = BandMode::StdDev;
    QVector<QPair<QString, QString>> m_stageChoices;
    QString m_stageFilter;
    double m_smoothing = 0.6;
    XAxisMode m_xMode = XAxisMode::Step;
    bool m_hideEmpty = false;
    int m_columns = 3;

    QSlider* m_smoothSlider = nullptr;
    QLabel* m_smoothLabel = nullptr;
    QLabel* m_smoothValue = nullptr;
    QLabel* m_xLabel = nullptr;
    QComboBox* m_xCombo = nullptr;
    QCheckBox* m_rawBox = nullptr;
    QCheckBox* m_outlierBox = nullptr;
    QCheckBox* m_hideEmptyBox = nullptr;
    QLabel* m_bandLabel = nullptr;
    QComboBox* m_bandCombo = nullptr;
    QLabel* m_stageLabel = nullptr;
    QComboBox* m_stageCombo = nullptr;
    QLabel* m_legend = nullptr;
    QWidget* m_gridHost = nullptr;
    QGridLayout* m_grid = nullptr;
};

}  // namespace recalign::widgets
