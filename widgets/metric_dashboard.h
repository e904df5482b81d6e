// MetricDashboard: a grid of MetricPlots (one per chart spec) sharing the smoothing, x-axis,
// raw-curve and outlier controls. Charts with several metric keys (KL k1/k3, illegal-item rates)
// draw one series per run and key. Unknown metric keys get a chart of their own on first use.
#pragma once

#include "widgets/series_math.h"

#include <QString>
#include <QStringList>
#include <QVector>
#include <QWidget>

#include <map>
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
    void removeRun(const QString& run);
    void clear();

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

Q_SIGNALS:
    void smoothingChanged(double weight);
    void xAxisModeChanged(XAxisMode mode);

protected:
    void changeEvent(QEvent* event) override;

private:
    struct Route {
        int chart = -1;
        QString suffix;  // key label for multi-key charts
    };
    Route route(const QString& metric);
    QString seriesId(const QString& run, const Route& r) const;
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
    std::vector<QString> m_runOrder;  // colour index = position
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
    QLabel* m_legend = nullptr;
    QWidget* m_gridHost = nullptr;
    QGridLayout* m_grid = nullptr;
};

}  // namespace recalign::widgets
