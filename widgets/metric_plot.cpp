// MetricPlot: a live multi-run chart of one metric (see metric_plot.h).
#include "widgets/metric_plot.h"

#include "widgets/theme.h"

#include <qcustomplot.h>

#include <QDateTime>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <limits>

namespace recalign::widgets {

struct MetricPlot::Series {
    QString run;
    QString displayName;
    std::map<std::string, std::string> config;
    std::vector<double> steps, ys, walls;  // as appended
    std::vector<double> xs;                // x for the current axis mode
    std::vector<double> smoothed;          // debiased EMA of ys
    DebiasedEma ema;
    QCPGraph* raw = nullptr;
    QCPGraph* smooth = nullptr;
    int colorIndex = 0;
    Qt::PenStyle style = Qt::SolidLine;
    bool visible = true;
    SeriesTag tag;
    // Band (seed group): raw bounds per point, their smoothing, and the runs counted per point.
    BandMode bandMode = BandMode::None;
    std::vector<double> lo, hi, loSmoothed, hiSmoothed;
    std::vector<int> counts;
    QCPGraph* bandLo = nullptr;  // created on first band, on the "bands" layer
    QCPGraph* bandHi = nullptr;  // filled down to bandLo (channel fill)
    bool hasBand() const { return bandMode != BandMode::None && !lo.empty(); }
};

namespace metric_plot_detail {

QVector<double> toQVector(const std::vector<double>& v)
{
    return QVector<double>(v.begin(), v.end());
}

QString formatValue(double v)
{
    if (!std::isfinite(v))
        return QString::number(v);
    const double a = std::abs(v);
    if (a != 0.0 && (a < 1e-3 || a >= 1e6))
        return QString::number(v, 'e', 3);
    return QString::number(v, 'g', 5);
}

}  // namespace metric_plot_detail

using metric_plot_detail::formatValue;
using metric_plot_detail::toQVector;

MetricPlot::MetricPlot(QWidget* parent) : QWidget(parent)
{
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    m_plot = new QCustomPlot(this);
    layout->addWidget(m_plot);
    m_plot->setMinimumSize(240, 180);
    m_plot->setNoAntialiasingOnDrag(true);
    m_plot->setPlottingHint(QCP::phCacheLabels, true);
    m_plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    m_plot->axisRect()->setRangeDrag(Qt::Horizontal);
    m_plot->axisRect()->setRangeZoom(Qt::Horizontal);

    // Title row above the axis rect; legend row below it (never covers the curves).
    // Rows: title, subtitle, axis rect, legend; arrangeLayout() adds only the non-empty ones.
    m_titleElement = new QCPTextElement(m_plot, QString(), QFont(font().family(), 10, QFont::DemiBold));
    QFont subFont = font();
    subFont.setPointSizeF(std::max(7.0, subFont.pointSizeF() - 1.0));
    m_subtitleElement = new QCPTextElement(m_plot, QString(), subFont);
    m_legendRow = new QCPLayoutGrid;
    m_legendRow->setMargins(QMargins(6, 0, 6, 4));
    m_plot->axisRect()->insetLayout()->take(m_plot->legend);  // QCustomPlot puts it there
    m_legendRow->addElement(0, 0, m_plot->legend);
    m_plot->legend->setFillOrder(QCPLegend::foColumnsFirst);
    m_plot->legend->setWrap(2);
    m_plot->legend->setVisible(false);
    QFont small = font();
    small.setPointSizeF(std::max(7.0, small.pointSizeF() - 1.0));
    m_plot->legend->setFont(small);
    m_plot->legend->setIconSize(18, 8);
    m_plot->legend->setRowSpacing(1);
    m_plot->legend->setColumnSpacing(14);
    m_plot->xAxis->setTickLabelFont(small);
    m_plot->yAxis->setTickLabelFont(small);

    // Bands live on a layer under the curves (above the grid).
    m_plot->addLayer(QStringLiteral("bands"), m_plot->layer(QStringLiteral("main")), QCustomPlot::limBelow);
    // Hover items live on a layer above the curves.
    m_plot->addLayer(QStringLiteral("hover"), m_plot->layer(QStringLiteral("main")), QCustomPlot::limAbove);
    m_plot->setCurrentLayer(QStringLiteral("hover"));
    m_cursor = new QCPItemStraightLine(m_plot);
    m_cursor->setVisible(false);
    m_tracer = new QCPItemTracer(m_plot);
    m_tracer->setStyle(QCPItemTracer::tsCircle);
    m_tracer->setSize(9);
    m_tracer->setVisible(false);
    m_tracer->position->setType(QCPItemPosition::ptPlotCoords);
    m_readout = new QCPItemText(m_plot);
    m_readout->setVisible(false);
    m_readout->setPadding(QMargins(6, 4, 6, 4));
    m_readout->setFont(small);
    m_readout->setTextAlignment(Qt::AlignLeft);
    m_readout->position->setType(QCPItemPosition::ptAbsolute);
    m_readout->setClipToAxisRect(false);
    m_plot->setCurrentLayer(QStringLiteral("main"));

    connect(m_plot->xAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this,
            [this](const QCPRange&) { onXRangeChanged(); });
    connect(m_plot, &QCustomPlot::mouseMove, this, &MetricPlot::onMouseMove);
    connect(m_plot, &QCustomPlot::mouseDoubleClick, this, [this](QMouseEvent*) { resetView(); });
    m_plot->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(m_plot, &QWidget::customContextMenuRequested, this, &MetricPlot::showContextMenu);
    m_plot->setMouseTracking(true);
    m_plot->installEventFilter(this);

    applyXTicker();
    applyColors();
    arrangeLayout();
}

MetricPlot::~MetricPlot()
{
    // Elements arrangeLayout() took out of the layout go back in, so QCustomPlot deletes them in
    // its own order (its plottables still refer to the legend while they are destroyed).
    QCPLayoutGrid* grid = m_plot->plotLayout();
    for (QCPLayoutElement* e : {static_cast<QCPLayoutElement*>(m_titleElement),
                                static_cast<QCPLayoutElement*>(m_subtitleElement),
                                static_cast<QCPLayoutElement*>(m_legendRow)})
        if (!e->layout())
            grid->addElement(grid->rowCount(), 0, e);
}

void MetricPlot::arrangeLayout()
{
    QCPLayoutGrid* grid = m_plot->plotLayout();
    QCPAxisRect* rect = m_plot->axisRect();
    const bool legend = m_legendVisible && m_plot->legend->itemCount() > 0;
    for (QCPLayoutElement* e : {static_cast<QCPLayoutElement*>(m_titleElement),
                                static_cast<QCPLayoutElement*>(m_subtitleElement),
                                static_cast<QCPLayoutElement*>(rect),
                                static_cast<QCPLayoutElement*>(m_legendRow)})
        if (e->layout() == grid)
            grid->take(e);
    grid->simplify();
    int row = 0;
    auto add = [&](QCPLayoutElement* e, double stretch) {
        grid->addElement(row, 0, e);
        grid->setRowStretchFactor(row, stretch);
        ++row;
    };
    if (!m_titleElement->text().isEmpty())
        add(m_titleElement, 0.001);
    if (!m_subtitleElement->text().isEmpty())
        add(m_subtitleElement, 0.001);
    add(rect, 1.0);
    if (legend)
        add(m_legendRow, 0.001);
    m_titleElement->setVisible(!m_titleElement->text().isEmpty());
    m_subtitleElement->setVisible(!m_subtitleElement->text().isEmpty());
    m_legendRow->setVisible(legend);
    m_plot->legend->setVisible(legend);
}

void MetricPlot::setSubtitle(const QString& subtitle)
{
    m_subtitleElement->setText(subtitle);
    arrangeLayout();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void MetricPlot::setTitle(const QString& title)
{
    m_title = title;
    m_titleElement->setText(title);
    arrangeLayout();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

// ---- series ------------------------------------------------------------------------------------

MetricPlot::Series* MetricPlot::find(const QString& run) const
{
    for (const auto& s : m_series)
        if (s->run == run)
            return s.get();
    return nullptr;
}

MetricPlot::Series& MetricPlot::ensure(const QString& run)
{
    if (Series* s = find(run))
        return *s;
    auto s = std::make_unique<Series>();
    s->run = run;
    s->displayName = run;
    s->ema = DebiasedEma(m_smoothing);
    s->colorIndex = m_nextColor++;
    s->raw = m_plot->addGraph();
    s->raw->removeFromLegend();
    s->raw->setVisible(m_showRaw);
    s->smooth = m_plot->addGraph();
    s->raw->setAdaptiveSampling(false);  // decimated already
    s->smooth->setAdaptiveSampling(false);
    m_series.push_back(std::move(s));
    applyColors();
    updateLegend();
    return *m_series.back();
}

void MetricPlot::appendPoints(const QString& run, const std::vector<double>& steps,
                              const std::vector<double>& ys, const std::vector<double>& walls)
{
    Series& s = ensure(run);
    if (s.bandMode != BandMode::None) {  // live points on a band: the band no longer fits
        s.bandMode = BandMode::None;
        s.lo.clear();
        s.hi.clear();
        s.loSmoothed.clear();
        s.hiSmoothed.clear();
        s.counts.clear();
        if (s.bandLo) {
            s.bandLo->data()->clear();
            s.bandHi->data()->clear();
        }
    }
    const std::size_t n = std::min(steps.size(), ys.size());
    const bool hadWalls = !s.walls.empty() || s.steps.empty();
    const bool haveWalls = walls.size() >= n && n > 0;
    if (!(hadWalls && haveWalls) && !s.walls.empty())
        s.walls.clear();  // wall times must cover every point or none
    const bool keepWalls = hadWalls && haveWalls;
    for (std::size_t i = 0; i < n; ++i) {
        s.steps.push_back(steps[i]);
        s.ys.push_back(ys[i]);
        if (keepWalls)
            s.walls.push_back(walls[i]);
        s.smoothed.push_back(s.ema.push(ys[i]));
    }
    if (s.ys.size() == n)  // first points: the run enters the legend
        updateLegend();
    recomputeX(s);
    if (!m_userView) {
        fitAxes();
    } else {
        redecimate(s);
    }
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void MetricPlot::setPoints(const QString& run, const std::vector<double>& steps,
                           const std::vector<double>& ys, const std::vector<double>& walls)
{
    if (Series* s = find(run)) {
        s->steps.clear();
        s->ys.clear();
        s->walls.clear();
        s->smoothed.clear();
        s->ema = DebiasedEma(m_smoothing);
    }
    appendPoints(run, steps, ys, walls);
}

void MetricPlot::setBandSeries(const QString& run, const SeriesAggregate& aggregate, BandMode mode)
{
    setPoints(run, aggregate.steps, aggregate.mean, aggregate.walls);
    Series& s = *find(run);
    bandBounds(aggregate, mode, s.lo, s.hi);
    s.bandMode = s.lo.empty() ? BandMode::None : mode;
    s.counts = aggregate.count;
    if (s.bandMode != BandMode::None && !s.bandLo) {
        s.bandLo = m_plot->addGraph();
        s.bandHi = m_plot->addGraph();
        for (QCPGraph* g : {s.bandLo, s.bandHi}) {
            g->setLayer(QStringLiteral("bands"));
            g->removeFromLegend();
            g->setAdaptiveSampling(false);
            g->setVisible(s.visible);
        }
        s.bandHi->setChannelFillGraph(s.bandLo);
        applyColors();
    }
    recomputeBandSmoothing(s);
    if (!m_userView)
        fitAxes();
    else
        redecimate(s);
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

bool MetricPlot::hasBand(const QString& run) const
{
    const Series* s = find(run);
    return s && s->hasBand();
}

std::pair<std::vector<double>, std::vector<double>> MetricPlot::smoothedBand(const QString& run) const
{
    const Series* s = find(run);
    if (!s || !s->hasBand())
        return {};
    return {s->loSmoothed, s->hiSmoothed};
}

int MetricPlot::displayedBandCount(const QString& run) const
{
    const Series* s = find(run);
    return s && s->bandLo ? s->bandLo->data()->size() : 0;
}

void MetricPlot::setRunVisible(const QString& run, bool visible)
{
    Series* s = find(run);
    if (!s || s->visible == visible)
        return;
    s->visible = visible;
    s->raw->setVisible(visible && m_showRaw);
    s->smooth->setVisible(visible);
    if (s->bandLo) {
        s->bandLo->setVisible(visible);
        s->bandHi->setVisible(visible);
    }
    hideReadout();
    updateLegend();
    if (!m_userView)
        fitAxes();
    else
        fitY();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

bool MetricPlot::runVisible(const QString& run) const
{
    const Series* s = find(run);
    return s && s->visible;
}

bool MetricPlot::hasVisibleSeries() const
{
    for (const auto& s : m_series)
        if (s->visible && !s->ys.empty())
            return true;
    return false;
}

void MetricPlot::setSeriesTag(const QString& run, const SeriesTag& tag)
{
    ensure(run).tag = tag;
}

SeriesTag MetricPlot::seriesTag(const QString& run) const
{
    const Series* s = find(run);
    return s ? s->tag : SeriesTag{};
}

void MetricPlot::removeRun(const QString& run)
{
    for (auto it = m_series.begin(); it != m_series.end(); ++it) {
        if ((*it)->run == run) {
            m_plot->removeGraph((*it)->raw);
            m_plot->removeGraph((*it)->smooth);
            if ((*it)->bandLo) {
                m_plot->removeGraph((*it)->bandHi);
                m_plot->removeGraph((*it)->bandLo);
            }
            m_series.erase(it);
            break;
        }
    }
    hideReadout();
    updateLegend();
    fitAxes();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void MetricPlot::clear()
{
    m_plot->clearGraphs();
    m_series.clear();
    m_nextColor = 0;
    m_userView = false;
    hideReadout();
    updateLegend();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

QStringList MetricPlot::runs() const
{
    QStringList out;
    for (const auto& s : m_series)
        out << s->run;
    return out;
}

std::size_t MetricPlot::pointCount(const QString& run) const
{
    const Series* s = find(run);
    return s ? s->ys.size() : 0;
}

int MetricPlot::displayedPointCount(const QString& run) const
{
    const Series* s = find(run);
    return s ? s->raw->data()->size() : 0;
}

int MetricPlot::displayedSmoothedCount(const QString& run) const
{
    const Series* s = find(run);
    return s ? s->smooth->data()->size() : 0;
}

std::vector<double> MetricPlot::smoothedValues(const QString& run) const
{
    const Series* s = find(run);
    return s ? s->smoothed : std::vector<double>{};
}

void MetricPlot::setRunInfo(const QString& run, const QString& displayName,
                            const std::map<std::string, std::string>& config)
{
    Series& s = ensure(run);
    s.displayName = displayName.isEmpty() ? run : displayName;
    s.config = config;
    updateLegend();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

QString MetricPlot::legendText(const QString& run) const
{
    const Series* s = find(run);
    return s ? s->smooth->name() : QString();
}

void MetricPlot::updateLegend()
{
    std::vector<std::map<std::string, std::string>> configs;
    for (const auto& s : m_series)
        if (s->visible)
            configs.push_back(s->config);
    const std::vector<std::string> keys = differingConfigKeys(configs);
    bool any = false;
    for (const auto& s : m_series) {
        s->smooth->setName(QString::fromStdString(
            legendLabel(s->displayName.toStdString(), s->config, keys)));
        // Runs without points in this chart (or hidden) stay out of its legend.
        if (s->ys.empty() || !s->visible) {
            s->smooth->removeFromLegend();
        } else if (s->smooth->addToLegend()) {
            // Room under the baseline so underscores in config keys are not clipped.
            if (QCPAbstractLegendItem* item = m_plot->legend->itemWithPlottable(s->smooth))
                item->setMargins(QMargins(4, 1, 8, 4));
        }
        any = any || !s->ys.empty();
    }
    (void)any;
    arrangeLayout();
}

void MetricPlot::setRunStyle(const QString& run, int colorIndex, Qt::PenStyle style)
{
    Series& s = ensure(run);
    s.colorIndex = colorIndex;
    s.style = style;
    m_nextColor = std::max(m_nextColor, colorIndex + 1);
    applyColors();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void MetricPlot::setLegendVisible(bool on)
{
    m_legendVisible = on;
    updateLegend();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

// ---- CSV rows (written by metric_plot_export.cpp) ---------------------------------------------

std::vector<CsvSeries> MetricPlot::csvSeries() const
{
    std::vector<CsvSeries> out;
    for (const auto& s : m_series) {
        if (!s->visible || s->ys.empty())
            continue;
        CsvSeries c;
        c.run = (s->tag.run.isEmpty() ? s->run : s->tag.run).toStdString();
        c.stage = s->tag.stage.toStdString();
        c.series = (s->tag.metric.isEmpty() ? m_title : s->tag.metric).toStdString();
        c.steps = s->steps;
        c.values = s->ys;
        c.smoothed = s->smoothed;
        if (!s->hasBand()) {
            c.walls = s->walls;
            out.push_back(std::move(c));
            continue;
        }
        // A band: its mean, then its bounds as "<key>:lo" / "<key>:hi" (no wall times: the
        // group's runs ran at different times).
        CsvSeries lo = c, hi = c;
        lo.series += ":lo";
        lo.values = s->lo;
        lo.smoothed = s->loSmoothed;
        hi.series += ":hi";
        hi.values = s->hi;
        hi.smoothed = s->hiSmoothed;
        out.push_back(std::move(c));
        out.push_back(std::move(lo));
        out.push_back(std::move(hi));
    }
    return out;
}

// ---- derived data ------------------------------------------------------------------------------

void MetricPlot::recomputeX(Series& s)
{
    s.xs = transformX(s.steps, s.walls, m_xMode);
}

void MetricPlot::recomputeSmoothing(Series& s)
{
    s.ema = DebiasedEma(m_smoothing);
    s.smoothed.clear();
    s.smoothed.reserve(s.ys.size());
    for (double y : s.ys)
        s.smoothed.push_back(s.ema.push(y));
    recomputeBandSmoothing(s);
}

void MetricPlot::recomputeBandSmoothing(Series& s)
{
    // The bounds take the mean's smoothing, so the channel stays around the smoothed curve.
    s.loSmoothed = smoothDebiasedEma(s.lo, m_smoothing);
    s.hiSmoothed = smoothDebiasedEma(s.hi, m_smoothing);
}

int MetricPlot::pixelBuckets() const
{
    const int w = m_plot->axisRect()->width();
    return w >= 50 ? w : 400;
}

void MetricPlot::redecimate(Series& s)
{
    const QCPRange range = m_plot->xAxis->range();
    const int buckets = pixelBuckets();
    std::vector<double> ox, oy;
    auto push = [&](QCPGraph* g, const std::vector<double>& ys) {
        const double* yp = ys.data();
        std::vector<double> positive;
        if (m_logScale) {  // a log axis cannot show y <= 0: treat those points as gaps
            positive = ys;
            for (double& y : positive)
                if (!(y > 0.0))
                    y = std::numeric_limits<double>::quiet_NaN();
            yp = positive.data();
        }
        decimateMinMax(s.xs.data(), yp, std::min(s.xs.size(), ys.size()), range.lower,
                       range.upper, buckets, ox, oy);
        g->setData(toQVector(ox), toQVector(oy), /*alreadySorted=*/true);
    };
    push(s.raw, s.ys);
    push(s.smooth, s.smoothed);
    if (s.bandLo) {
        if (s.hasBand()) {
            push(s.bandLo, s.loSmoothed);
            push(s.bandHi, s.hiSmoothed);
        } else {
            s.bandLo->data()->clear();
            s.bandHi->data()->clear();
        }
    }
}

void MetricPlot::redecimateAll()
{
    for (auto& s : m_series)
        redecimate(*s);
}

void MetricPlot::fitAxes()
{
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (const auto& s : m_series) {
        if (s->xs.empty() || !s->visible)
            continue;
        lo = std::min(lo, s->xs.front());
        hi = std::max(hi, s->xs.back());
    }
    if (!std::isfinite(lo)) {
        lo = 0;
        hi = 1;
    } else if (hi <= lo) {
        lo -= 1;
        hi += 1;
    }
    m_updating = true;
    m_plot->xAxis->setRange(lo, hi);
    m_updating = false;
    redecimateAll();
    fitY();
}

void MetricPlot::fitY()
{
    const QCPRange xr = m_plot->xAxis->range();
    std::vector<double> visible;
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    auto take = [&](const std::vector<double>& xs, const std::vector<double>& ys) {
        const auto first = std::lower_bound(xs.begin(), xs.end(), xr.lower) - xs.begin();
        const auto last = std::upper_bound(xs.begin(), xs.end(), xr.upper) - xs.begin();
        for (auto i = first; i < last && i < static_cast<long>(ys.size()); ++i) {
            const double y = ys[i];
            if (!std::isfinite(y) || (m_logScale && y <= 0.0))
                continue;
            if (m_ignoreOutliers) {
                visible.push_back(y);
            } else {
                lo = std::min(lo, y);
                hi = std::max(hi, y);
            }
        }
    };
    for (const auto& s : m_series) {
        if (!s->visible)
            continue;
        if (m_showRaw)
            take(s->xs, s->ys);
        take(s->xs, s->smoothed);
        if (s->hasBand()) {
            take(s->xs, s->loSmoothed);
            take(s->xs, s->hiSmoothed);
        }
    }
    if (m_ignoreOutliers && !visible.empty()) {
        const auto r = outlierRange(visible);
        lo = r.first;
        hi = r.second;
    }
    if (!std::isfinite(lo) || !std::isfinite(hi)) {
        lo = m_logScale ? 0.1 : 0.0;
        hi = m_logScale ? 10.0 : 1.0;
    }
    m_updating = true;
    if (m_logScale) {
        if (hi <= lo) {
            lo /= 2;
            hi *= 2;
        }
        const double pad = std::pow(hi / lo, 0.06);
        m_plot->yAxis->setRange(lo / pad, hi * pad);
    } else {
        double span = hi - lo;
        if (span <= 0)
            span = std::abs(hi) > 0 ? std::abs(hi) * 0.1 : 1.0;
        m_plot->yAxis->setRange(lo - 0.06 * span, hi + 0.06 * span);
    }
    m_updating = false;
}

void MetricPlot::resetView()
{
    m_userView = false;
    fitAxes();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void MetricPlot::onXRangeChanged()
{
    if (m_updating)
        return;
    m_userView = true;  // only the user changes the range outside m_updating
    redecimateAll();
    fitY();
}

// ---- settings ----------------------------------------------------------------------------------

void MetricPlot::setSmoothing(double weight)
{
    weight = std::clamp(weight, 0.0, 0.999);
    if (weight == m_smoothing)
        return;
    m_smoothing = weight;
    for (auto& s : m_series)
        recomputeSmoothing(*s);
    redecimateAll();
    fitY();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void MetricPlot::setXAxisMode(XAxisMode mode)
{
    if (mode == m_xMode)
        return;
    m_xMode = mode;
    for (auto& s : m_series)
        recomputeX(*s);
    applyXTicker();
    hideReadout();
    m_userView = false;
    fitAxes();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void MetricPlot::setLogScale(bool on)
{
    if (on == m_logScale)
        return;
    m_logScale = on;
    m_plot->yAxis->setScaleType(on ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
    if (on)
        m_plot->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>::create());
    else
        m_plot->yAxis->setTicker(QSharedPointer<QCPAxisTicker>::create());
    redecimateAll();
    fitY();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void MetricPlot::setIgnoreOutliers(bool on)
{
    m_ignoreOutliers = on;
    fitY();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void MetricPlot::setShowRaw(bool on)
{
    m_showRaw = on;
    for (auto& s : m_series)
        s->raw->setVisible(on && s->visible);
    fitY();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void MetricPlot::applyXTicker()
{
    switch (m_xMode) {
    case XAxisMode::Step: {
        m_plot->xAxis->setTicker(QSharedPointer<QCPAxisTicker>::create());
        m_plot->xAxis->setLabel(tr("step"));
        break;
    }
    case XAxisMode::WallTime: {
        auto t = QSharedPointer<QCPAxisTickerDateTime>::create();
        t->setDateTimeFormat(QStringLiteral("hh:mm\nMMM d"));
        m_plot->xAxis->setTicker(t);
        m_plot->xAxis->setLabel(QString());
        break;
    }
    case XAxisMode::RelativeTime: {
        auto t = QSharedPointer<QCPAxisTickerTime>::create();
        t->setTimeFormat(QStringLiteral("%h:%m:%s"));
        m_plot->xAxis->setTicker(t);
        m_plot->xAxis->setLabel(tr("relative time (h:m:s)"));
        break;
    }
    }
}

void MetricPlot::applyColors()
{
    const QPalette pal = palette();
    const PlotColors c = plotColorsFor(pal);
    m_plot->setBackground(c.background);
    m_plot->axisRect()->setBackground(c.background);
    for (QCPAxis* axis : {m_plot->xAxis, m_plot->yAxis}) {
        axis->setBasePen(QPen(c.axis, 1));
        axis->setTickPen(QPen(c.axis, 1));
        axis->setSubTickPen(QPen(c.axis, 1));
        axis->setTickLabelColor(c.axis);
        axis->setLabelColor(c.axis);
        axis->grid()->setPen(QPen(c.grid, 1, Qt::SolidLine));
        axis->grid()->setZeroLinePen(QPen(c.grid.darker(140), 1));
        axis->setSubTicks(false);
        axis->setTickLengthIn(0);
        axis->setTickLengthOut(3);
    }
    m_plot->axisRect()->setupFullAxesBox(false);
    m_plot->xAxis2->setVisible(false);
    m_plot->yAxis2->setVisible(false);
    m_titleElement->setTextColor(c.text);
    QColor muted = c.text;
    muted.setAlpha(160);
    m_subtitleElement->setTextColor(muted);
    m_plot->legend->setBrush(Qt::NoBrush);
    m_plot->legend->setBorderPen(Qt::NoPen);
    m_plot->legend->setTextColor(c.text);
    for (const auto& s : m_series) {
        const QColor color = seriesColor(s->colorIndex, pal);
        QColor faded = color;
        faded.setAlpha(isDark(pal) ? 60 : 48);
        s->raw->setPen(QPen(faded, 1.0));
        QPen pen(color, 1.8);
        pen.setStyle(s->style);
        s->smooth->setPen(pen);
        if (s->bandLo) {
            QColor fill = color;
            fill.setAlpha(isDark(pal) ? 70 : 55);
            QColor edge = color;
            edge.setAlpha(isDark(pal) ? 110 : 90);
            for (QCPGraph* g : {s->bandLo, s->bandHi})
                g->setPen(QPen(edge, 0.8));
            s->bandLo->setBrush(Qt::NoBrush);
            s->bandHi->setBrush(fill);
        }
    }
    m_tracer->setPen(QPen(c.background, 2.0));
    m_tracer->setBrush(c.text);
    QColor cursor = c.text;
    cursor.setAlpha(90);
    m_cursor->setPen(QPen(cursor, 1, Qt::DashLine));
    QColor box = pal.color(QPalette::ToolTipBase);
    box.setAlpha(235);
    m_readout->setBrush(box);
    m_readout->setPen(QPen(c.grid.darker(200), 1));
    m_readout->setColor(pal.color(QPalette::ToolTipText));
}

bool MetricPlot::eventFilter(QObject* watched, QEvent* event)
{
    if (watched == m_plot && event->type() == QEvent::Leave && m_readout->visible()) {
        hideReadout();
        m_plot->replot(QCustomPlot::rpQueuedReplot);
    }
    return QWidget::eventFilter(watched, event);
}

void MetricPlot::changeEvent(QEvent* event)
{
    QWidget::changeEvent(event);
    if (event->type() == QEvent::PaletteChange) {
        applyColors();
        m_plot->replot(QCustomPlot::rpQueuedReplot);
    } else if (event->type() == QEvent::LanguageChange) {
        applyXTicker();
        m_plot->replot(QCustomPlot::rpQueuedReplot);
    }
}

void MetricPlot::resizeEvent(QResizeEvent* event)
{
    QWidget::resizeEvent(event);
    // Decimation depends on the pixel width: redo it once the new layout is known.
    QMetaObject::invokeMethod(
        this,
        [this] {
            redecimateAll();
            m_plot->replot(QCustomPlot::rpQueuedReplot);
        },
        Qt::QueuedConnection);
}

// ---- hover read-out ----------------------------------------------------------------------------

void MetricPlot::onMouseMove(QMouseEvent* event)
{
    if (!m_plot->axisRect()->rect().contains(event->pos())) {
        if (m_readout->visible()) {
            hideReadout();
            m_plot->replot(QCustomPlot::rpQueuedReplot);
        }
        return;
    }
    showReadoutAt(event->position());
}

QString MetricPlot::showReadoutAt(const QPointF& pixel)
{
    const double mx = m_plot->xAxis->pixelToCoord(pixel.x());
    const Series* best = nullptr;
    std::size_t bestIdx = 0;
    double bestDist = std::numeric_limits<double>::infinity();
    for (const auto& s : m_series) {
        if (s->xs.empty() || !s->visible)
            continue;
        const auto it = std::lower_bound(s->xs.begin(), s->xs.end(), mx);
        std::size_t idx = static_cast<std::size_t>(it - s->xs.begin());
        if (idx >= s->xs.size())
            idx = s->xs.size() - 1;
        if (idx > 0 && std::abs(s->xs[idx - 1] - mx) < std::abs(s->xs[idx] - mx))
            --idx;
        const double y = s->smoothed[idx];
        if (!std::isfinite(y))
            continue;
        const double dx = m_plot->xAxis->coordToPixel(s->xs[idx]) - pixel.x();
        const double dy = m_plot->yAxis->coordToPixel(y) - pixel.y();
        const double d = std::hypot(dx, dy);
        if (d < bestDist) {
            bestDist = d;
            best = s.get();
            bestIdx = idx;
        }
    }
    if (!best) {
        hideReadout();
        return {};
    }
    const double x = best->xs[bestIdx];
    const double y = best->smoothed[bestIdx];
    QString xText;
    switch (m_xMode) {
    case XAxisMode::Step:
        xText = tr("step %1").arg(QLocale().toString(static_cast<qlonglong>(best->steps[bestIdx])));
        break;
    case XAxisMode::WallTime:
        xText = QDateTime::fromMSecsSinceEpoch(static_cast<qint64>(x * 1000.0))
                    .toString(QStringLiteral("yyyy-MM-dd hh:mm:ss"));
        break;
    case XAxisMode::RelativeTime: {
        const auto secs = static_cast<qint64>(x);
        xText = tr("%1:%2:%3 elapsed")
                    .arg(secs / 3600)
                    .arg((secs / 60) % 60, 2, 10, QLatin1Char('0'))
                    .arg(secs % 60, 2, 10, QLatin1Char('0'));
        break;
    }
    }
    QString text = tr("%1\n%2\nsmoothed %3   raw %4")
                       .arg(best->displayName, xText, formatValue(y), formatValue(best->ys[bestIdx]));
    if (best->hasBand() && bestIdx < best->loSmoothed.size()) {
        const int n = bestIdx < best->counts.size() ? best->counts[bestIdx] : 0;
        text += QLatin1Char('\n') + (best->bandMode == BandMode::MinMax
                                         ? tr("min–max %1 … %2   n=%3")
                                         : tr("±1 std %1 … %2   n=%3"))
                                        .arg(formatValue(best->loSmoothed[bestIdx]),
                                             formatValue(best->hiSmoothed[bestIdx]))
                                        .arg(n);
    }
    m_tracer->position->setCoords(x, y);
    m_tracer->setBrush(seriesColor(best->colorIndex, palette()));
    m_tracer->setVisible(true);
    m_cursor->point1->setCoords(x, m_plot->yAxis->range().lower);
    m_cursor->point2->setCoords(x, m_plot->yAxis->range().upper);
    m_cursor->setVisible(true);
    const QPointF at(m_plot->xAxis->coordToPixel(x), m_plot->yAxis->coordToPixel(y));
    const QRect area = m_plot->axisRect()->rect();
    const bool right = at.x() > area.center().x();
    const bool below = at.y() < area.center().y();
    m_readout->setPositionAlignment((right ? Qt::AlignRight : Qt::AlignLeft) |
                                    (below ? Qt::AlignTop : Qt::AlignBottom));
    m_readout->position->setCoords(at.x() + (right ? -10 : 10), at.y() + (below ? 10 : -10));
    m_readout->setText(text);
    m_readout->setVisible(true);
    m_plot->replot(QCustomPlot::rpQueuedReplot);
    Q_EMIT hovered(best->run, x, y);
    return text;
}

void MetricPlot::hideReadout()
{
    m_cursor->setVisible(false);
    m_tracer->setVisible(false);
    m_readout->setVisible(false);
}

}  // namespace recalign::widgets
