// MetricPlot: one live chart of one metric for several runs (QCustomPlot). Each run is drawn as
// a faded raw curve under its smoothed curve (TensorBoard's debiased EMA), decimated to the pixel
// width (min/max per pixel, so spikes survive at 100k points), with an x-axis choice, log scale,
// a hover read-out, a legend with only the config keys that differ, and PNG/PDF/SVG/CSV export.
// A series can carry a band (a seed group's mean with its min–max or ±std channel): the channel
// is filled, translucent in the series colour, under the mean's curves, and its bounds follow
// the same smoothing as the mean. Series can be hidden (filters) without losing their points.
// Plain data in; the math lives in series_math.h.
#pragma once

#include "widgets/series_math.h"

#include <QString>
#include <QStringList>
#include <QWidget>

#include <map>
#include <memory>
#include <string>
#include <vector>

class QCustomPlot;
class QCPGraph;
class QCPItemStraightLine;
class QCPItemTracer;
class QCPItemText;
class QCPLayoutGrid;
class QCPTextElement;
class QMouseEvent;

namespace recalign::widgets {

// What a series is, for CSV export: its run (a run id or a seed group's label), its stage and the
// metric key it plots. Unset fields fall back to the series id, "" and the chart title.
struct SeriesTag {
    QString run;
    QString stage;
    QString metric;
};

class MetricPlot : public QWidget {
    Q_OBJECT
public:
    explicit MetricPlot(QWidget* parent = nullptr);
    ~MetricPlot() override;

    void setTitle(const QString& title);
    QString title() const { return m_title; }
    // A smaller second line under the title (e.g. which line style is which key).
    void setSubtitle(const QString& subtitle);

    // Appends points to `run`'s series (created on first use). `steps` and `ys` have the same
    // length; `walls` (seconds since the Unix epoch) is either empty or as long as `steps`.
    // Incremental: smoothing continues where it stopped; the chart is replotted queued.
    void appendPoints(const QString& run, const std::vector<double>& steps,
                      const std::vector<double>& ys, const std::vector<double>& walls = {});
    // Replaces `run`'s series.
    void setPoints(const QString& run, const std::vector<double>& steps,
                   const std::vector<double>& ys, const std::vector<double>& walls = {});
    // Replaces `run`'s series with a seed group's mean (aggregate.steps / mean / walls) and, unless
    // `mode` is None, its band (bandBounds()). appendPoints() on it later drops the band.
    void setBandSeries(const QString& run, const SeriesAggregate& aggregate, BandMode mode);
    bool hasBand(const QString& run) const;
    // The band's bounds as drawn (smoothed like the mean); empty when the series has no band.
    std::pair<std::vector<double>, std::vector<double>> smoothedBand(const QString& run) const;
    int displayedBandCount(const QString& run) const;  // lower-bound points after decimation
    void removeRun(const QString& run);
    void clear();

    // Hidden series keep their points but are not drawn, fitted, hovered, exported or listed.
    void setRunVisible(const QString& run, bool visible);
    bool runVisible(const QString& run) const;
    bool hasVisibleSeries() const;  // a visible series with at least one point
    void setSeriesTag(const QString& run, const SeriesTag& tag);
    SeriesTag seriesTag(const QString& run) const;

    QStringList runs() const;
    std::size_t pointCount(const QString& run) const;      // raw points stored
    int displayedPointCount(const QString& run) const;     // raw-curve points after decimation
    int displayedSmoothedCount(const QString& run) const;  // smoothed-curve points after decimation
    std::vector<double> smoothedValues(const QString& run) const;

    // Display name and flat config of a run; the legend shows the keys that differ between runs.
    void setRunInfo(const QString& run, const QString& displayName,
                    const std::map<std::string, std::string>& config);
    QString legendText(const QString& run) const;
    // Colour (index into seriesColor()) and line style of a run's smoothed curve; by default
    // runs take the next colour and a solid line. The dashboard keeps a run's colour the same
    // in every chart.
    void setRunStyle(const QString& run, int colorIndex, Qt::PenStyle style = Qt::SolidLine);
    // The legend row under the chart (shown by default; exports always include it).
    void setLegendVisible(bool on);
    bool legendVisible() const { return m_legendVisible; }

    void setSmoothing(double weight);  // 0..0.999, default 0.6
    double smoothing() const { return m_smoothing; }
    void setXAxisMode(XAxisMode mode);
    XAxisMode xAxisMode() const { return m_xMode; }
    void setLogScale(bool on);
    bool logScale() const { return m_logScale; }
    void setIgnoreOutliers(bool on);
    bool ignoreOutliers() const { return m_ignoreOutliers; }
    void setShowRaw(bool on);
    bool showRaw() const { return m_showRaw; }

    // Fits both axes to the data again (also on double click).
    void resetView();

    // Hover read-out at a widget-pixel position of the plot; returns the text shown ("" when no
    // point is near). Used by the mouse handler and by tests.
    QString showReadoutAt(const QPointF& pixel);
    void hideReadout();

    // Exports by file extension (.png, .pdf, .svg). Width/height 0 = the current size.
    bool exportImage(const QString& path, int width = 0, int height = 0);
    bool exportPng(const QString& path, int width = 0, int height = 0);
    bool exportPdf(const QString& path, int width = 0, int height = 0);
    bool exportSvg(const QString& path, int width = 0, int height = 0);
    // The visible series as CSV rows (series_math.h: CsvSeries, kSeriesCsvHeader), without and
    // with the header line; exportCsv writes the header and rows (UTF-8).
    std::vector<CsvSeries> csvSeries() const;
    QString toCsv() const;
    bool exportCsv(const QString& path);

    QCustomPlot* customPlot() const { return m_plot; }
    QSize sizeHint() const override { return {420, 260}; }

Q_SIGNALS:
    void hovered(const QString& run, double x, double y);

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;
    void changeEvent(QEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;

private:
    struct Series;
    Series* find(const QString& run) const;
    Series& ensure(const QString& run);
    void recomputeX(Series& s);
    void recomputeSmoothing(Series& s);
    void redecimate(Series& s);
    void redecimateAll();
    void updateLegend();
    void arrangeLayout();
    void applyColors();
    void applyXTicker();
    void fitAxes();
    void fitY();
    int pixelBuckets() const;
    void onXRangeChanged();
    void onMouseMove(QMouseEvent* event);
    void showContextMenu(const QPoint& pos);
    void exportWithDialog();
    void exportCsvWithDialog();
    void recomputeBandSmoothing(Series& s);

    QCustomPlot* m_plot = nullptr;
    QCPTextElement* m_titleElement = nullptr;
    QCPTextElement* m_subtitleElement = nullptr;
    QCPLayoutGrid* m_legendRow = nullptr;
    QCPItemTracer* m_tracer = nullptr;
    QCPItemStraightLine* m_cursor = nullptr;
    QCPItemText* m_readout = nullptr;
    std::vector<std::unique_ptr<Series>> m_series;
    QString m_title;
    double m_smoothing = 0.6;
    XAxisMode m_xMode = XAxisMode::Step;
    bool m_logScale = false;
    bool m_ignoreOutliers = false;
    bool m_showRaw = true;
    bool m_userView = false;  // the user zoomed or dragged: stop following new data
    bool m_updating = false;  // guards range-change recursion
    bool m_legendVisible = true;
    int m_nextColor = 0;
};

}  // namespace recalign::widgets
