// MetricDashboard: a grid of metric charts with shared controls (see metric_dashboard.h).
#include "widgets/metric_dashboard.h"

#include "widgets/metric_plot.h"
#include "widgets/theme.h"

#include <QCheckBox>
#include <QComboBox>
#include <QEvent>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QSaveFile>
#include <QScrollArea>
#include <QSlider>
#include <QVBoxLayout>

#include <cmath>

namespace recalign::widgets {

QVector<MetricChartSpec> defaultMetricCharts()
{
    auto one = [](const QString& title, const char* key) {
        return MetricChartSpec{title, {QString::fromLatin1(key)}, {}};
    };
    return {
        one(MetricDashboard::tr("SFT loss"), "loss"),
        one(MetricDashboard::tr("Learning rate"), "learning_rate"),
        one(MetricDashboard::tr("Reward (total)"), "env/reward_total"),
        one(MetricDashboard::tr("Item reward"), "env/reward_item"),
        one(MetricDashboard::tr("List reward"), "env/reward_list"),
        MetricChartSpec{MetricDashboard::tr("KL divergence"),
                        {QStringLiteral("objective/kl"), QStringLiteral("objective/kl_k3")},
                        {QStringLiteral("k1"), QStringLiteral("k3")}},
        one(MetricDashboard::tr("KL coefficient β"), "objective/kl_coef"),
        one(MetricDashboard::tr("Clip fraction"), "ppo/policy/clipfrac"),
        one(MetricDashboard::tr("Entropy"), "objective/entropy"),
        one(MetricDashboard::tr("Value loss"), "ppo/loss/value"),
        one(MetricDashboard::tr("Explained variance"), "ppo/val/var_explained"),
        one(MetricDashboard::tr("Response length (tokens)"), "tokens/responses_len_mean"),
        MetricChartSpec{MetricDashboard::tr("Illegal-item rates"),
                        {QStringLiteral("illegal/nonexistent"), QStringLiteral("illegal/duplicate"),
                         QStringLiteral("illegal/in_history"), QStringLiteral("illegal/beyond_k")},
                        {MetricDashboard::tr("non-existent"), MetricDashboard::tr("duplicate"),
                         MetricDashboard::tr("in history"), MetricDashboard::tr("beyond k")}},
    };
}

MetricDashboard::MetricDashboard(QWidget* parent) : QWidget(parent)
{
    auto* outer = new QVBoxLayout(this);
    outer->setContentsMargins(0, 0, 0, 0);
    outer->setSpacing(6);

    auto* bar = new QHBoxLayout;
    bar->setContentsMargins(8, 6, 8, 0);
    bar->setSpacing(10);
    m_smoothLabel = new QLabel(this);
    m_smoothSlider = new QSlider(Qt::Horizontal, this);
    m_smoothSlider->setRange(0, 999);
    m_smoothSlider->setValue(static_cast<int>(std::lround(m_smoothing * 1000)));
    m_smoothSlider->setMaximumWidth(220);
    m_smoothSlider->setMinimumWidth(120);
    m_smoothValue = new QLabel(this);
    m_smoothValue->setMinimumWidth(40);
    m_xLabel = new QLabel(this);
    m_xCombo = new QComboBox(this);
    m_rawBox = new QCheckBox(this);
    m_rawBox->setChecked(true);
    m_outlierBox = new QCheckBox(this);
    m_hideEmptyBox = new QCheckBox(this);
    m_bandLabel = new QLabel(this);
    m_bandCombo = new QComboBox(this);
    m_stageLabel = new QLabel(this);
    m_stageCombo = new QComboBox(this);
    m_stageCombo->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    m_bandCombo->setObjectName(QStringLiteral("bandMode"));
    m_stageCombo->setObjectName(QStringLiteral("stageFilter"));
    for (QWidget* w : {static_cast<QWidget*>(m_bandLabel), static_cast<QWidget*>(m_bandCombo),
                       static_cast<QWidget*>(m_stageLabel), static_cast<QWidget*>(m_stageCombo)})
        w->setVisible(false);
    bar->addWidget(m_smoothLabel);
    bar->addWidget(m_smoothSlider);
    bar->addWidget(m_smoothValue);
    bar->addSpacing(12);
    bar->addWidget(m_xLabel);
    bar->addWidget(m_xCombo);
    bar->addSpacing(12);
    bar->addWidget(m_rawBox);
    bar->addWidget(m_outlierBox);
    bar->addWidget(m_hideEmptyBox);
    bar->addSpacing(12);
    bar->addWidget(m_bandLabel);
    bar->addWidget(m_bandCombo);
    bar->addWidget(m_stageLabel);
    bar->addWidget(m_stageCombo);
    bar->addStretch(1);
    outer->addLayout(bar);
    m_legend = new QLabel(this);
    m_legend->setTextFormat(Qt::RichText);
    m_legend->setWordWrap(true);
    m_legend->setContentsMargins(10, 0, 10, 0);
    m_legend->setVisible(false);
    outer->addWidget(m_legend);

    auto* scroll = new QScrollArea(this);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    m_gridHost = new QWidget(scroll);
    m_grid = new QGridLayout(m_gridHost);
    m_grid->setContentsMargins(8, 4, 8, 8);
    m_grid->setSpacing(10);
    scroll->setWidget(m_gridHost);
    outer->addWidget(scroll, 1);

    retranslate();
    connect(m_smoothSlider, &QSlider::valueChanged, this,
            [this](int v) { setSmoothing(v / 1000.0); });
    // Index -1 comes while a combo is being destroyed (its model goes first): ignored.
    connect(m_xCombo, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int i) {
        if (i < 0)
            return;
        setXAxisMode(static_cast<XAxisMode>(m_xCombo->itemData(i).toInt()));
    });
    connect(m_rawBox, &QCheckBox::toggled, this, [this](bool on) {
        for (MetricPlot* p : m_plots)
            p->setShowRaw(on);
    });
    connect(m_outlierBox, &QCheckBox::toggled, this, [this](bool on) {
        for (MetricPlot* p : m_plots)
            p->setIgnoreOutliers(on);
    });
    connect(m_hideEmptyBox, &QCheckBox::toggled, this, &MetricDashboard::setHideEmpty);
    connect(m_bandCombo, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int i) {
        if (i < 0)
            return;
        setBandMode(static_cast<BandMode>(m_bandCombo->itemData(i).toInt()));
    });
    connect(m_stageCombo, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int i) {
        if (i < 0)
            return;
        setStageFilter(m_stageCombo->itemData(i).toString());
    });
    setCharts(defaultMetricCharts());
}

void MetricDashboard::retranslate()
{
    m_smoothLabel->setText(tr("Smoothing"));
    m_smoothSlider->setToolTip(tr("Exponential moving average with TensorBoard's debiasing; 0 "
                                  "shows the raw values"));
    m_smoothValue->setText(QString::number(m_smoothing, 'f', 3));
    m_xLabel->setText(tr("X-axis"));
    const QSignalBlocker block(m_xCombo);
    m_xCombo->clear();
    m_xCombo->addItem(tr("Step"), static_cast<int>(XAxisMode::Step));
    m_xCombo->addItem(tr("Relative time"), static_cast<int>(XAxisMode::RelativeTime));
    m_xCombo->addItem(tr("Wall time"), static_cast<int>(XAxisMode::WallTime));
    m_xCombo->setCurrentIndex(m_xCombo->findData(static_cast<int>(m_xMode)));
    m_rawBox->setText(tr("Raw curves"));
    m_rawBox->setToolTip(tr("Draw the unsmoothed values faded under each smoothed curve"));
    m_outlierBox->setText(tr("Ignore outliers"));
    m_outlierBox->setToolTip(tr("Fit the y-axis to the 5th–95th percentile of the visible values"));
    m_hideEmptyBox->setText(tr("Hide empty charts"));
    m_bandLabel->setText(tr("Seeds"));
    m_bandCombo->setToolTip(tr("How a seed group (one experiment run with several seeds) is drawn"));
    {
        const QSignalBlocker blockBand(m_bandCombo);
        m_bandCombo->clear();
        m_bandCombo->addItem(tr("One line per run"), static_cast<int>(BandMode::None));
        m_bandCombo->addItem(tr("Mean, min–max band"), static_cast<int>(BandMode::MinMax));
        m_bandCombo->addItem(tr("Mean ± 1 std band"), static_cast<int>(BandMode::StdDev));
        m_bandCombo->setCurrentIndex(m_bandCombo->findData(static_cast<int>(m_bandMode)));
    }
    m_stageLabel->setText(tr("Stages"));
    m_stageCombo->setToolTip(tr("Show only the series of some pipeline stages"));
}

void MetricDashboard::changeEvent(QEvent* event)
{
    QWidget::changeEvent(event);
    if (event->type() == QEvent::LanguageChange)
        retranslate();
    else if (event->type() == QEvent::PaletteChange)
        updateLegend();
}

void MetricDashboard::setCharts(const QVector<MetricChartSpec>& charts)
{
    m_specs = charts;
    rebuildGrid();
}

void MetricDashboard::rebuildGrid()
{
    for (MetricPlot* p : m_plots)
        delete p;
    m_plots.clear();
    m_routes.clear();
    for (int c = 0; c < m_specs.size(); ++c) {
        m_plots.push_back(createPlot(m_specs[c]));
        for (int k = 0; k < m_specs[c].keys.size(); ++k) {
            Route r;
            r.chart = c;
            if (m_specs[c].keys.size() > 1)
                r.suffix = k < m_specs[c].key_labels.size() ? m_specs[c].key_labels[k]
                                                            : m_specs[c].keys[k];
            m_routes[m_specs[c].keys[k]] = r;
        }
    }
    relayout();
}

void MetricDashboard::relayout()
{
    while (m_grid->count() > 0)
        m_grid->takeAt(0);
    int slot = 0;
    for (MetricPlot* p : m_plots) {
        const bool show = !m_hideEmpty || p->hasVisibleSeries();
        p->setVisible(show);
        if (!show)
            continue;
        m_grid->addWidget(p, slot / m_columns, slot % m_columns);
        ++slot;
    }
    for (int c = 0; c < m_columns; ++c)
        m_grid->setColumnStretch(c, 1);
}

namespace metric_dashboard_detail {

// Line styles that tell the keys of a multi-key chart apart (colour tells the runs apart).
Qt::PenStyle keyStyle(int k)
{
    static const Qt::PenStyle kStyles[] = {Qt::SolidLine, Qt::DashLine, Qt::DotLine, Qt::DashDotLine};
    return kStyles[k % 4];
}

// A text picture of a line style, for the chart's subtitle.
QString keyStyleGlyph(int k)
{
    static const char* const kGlyphs[] = {"──", "- -", "···", "-·-"};
    return QString::fromUtf8(kGlyphs[k % 4]);
}

}  // namespace metric_dashboard_detail

MetricPlot* MetricDashboard::createPlot(const MetricChartSpec& spec)
{
    auto* plot = new MetricPlot(m_gridHost);
    if (spec.keys.size() > 1) {  // which line style is which key
        QStringList parts;
        for (int k = 0; k < spec.keys.size(); ++k)
            parts << QStringLiteral("%1 %2").arg(metric_dashboard_detail::keyStyleGlyph(k),
                                                 k < spec.key_labels.size() ? spec.key_labels[k] : spec.keys[k]);
        plot->setSubtitle(parts.join(QStringLiteral("    ")));
    }
    plot->setTitle(spec.title);
    plot->setSmoothing(m_smoothing);
    plot->setXAxisMode(m_xMode);
    plot->setShowRaw(m_rawBox->isChecked());
    plot->setIgnoreOutliers(m_outlierBox->isChecked());
    plot->setLegendVisible(false);  // the dashboard's shared legend names the runs
    plot->setMinimumHeight(210);
    return plot;
}

int MetricDashboard::runIndex(const QString& run)
{
    for (size_t i = 0; i < m_runOrder.size(); ++i)
        if (m_runOrder[i] == run)
            return static_cast<int>(i);
    // A run shown again (regrouped, refiltered) takes its old colour back when that is free.
    if (const auto it = m_lastColor.find(run); it != m_lastColor.end()) {
        const auto slot = static_cast<size_t>(it->second);
        if (slot < m_runOrder.size() && m_runOrder[slot].isEmpty()) {
            m_runOrder[slot] = run;
            updateLegend();
            return it->second;
        }
    }
    m_runOrder.push_back(run);
    updateLegend();
    return static_cast<int>(m_runOrder.size()) - 1;
}

QStringList MetricDashboard::legendLines() const
{
    std::vector<std::map<std::string, std::string>> configs;
    for (const QString& run : m_runOrder) {
        if (run.isEmpty() || m_hidden.count(run))  // a removed run's colour slot, a hidden run
            continue;
        const auto it = m_runInfo.find(run);
        configs.push_back(it != m_runInfo.end() ? it->second.config : std::map<std::string, std::string>{});
    }
    const auto keys = differingConfigKeys(configs);
    QStringList lines;
    size_t c = 0;
    for (const QString& run : m_runOrder) {
        if (run.isEmpty() || m_hidden.count(run))
            continue;
        const auto it = m_runInfo.find(run);
        const QString name = it != m_runInfo.end() ? it->second.display : run;
        lines << QString::fromStdString(legendLabel(name.toStdString(), configs[c++], keys));
    }
    return lines;
}

void MetricDashboard::updateLegend()
{
    std::vector<std::map<std::string, std::string>> configs;
    for (const QString& run : m_runOrder) {
        const auto it = m_runInfo.find(run);
        if (!run.isEmpty() && !m_hidden.count(run))
            configs.push_back(it != m_runInfo.end() ? it->second.config : std::map<std::string, std::string>{});
    }
    const auto keys = differingConfigKeys(configs);
    const QColor text = palette().color(QPalette::WindowText), window = palette().color(QPalette::Window);
    const QColor muted((text.red() * 2 + window.red()) / 3, (text.green() * 2 + window.green()) / 3,
                       (text.blue() * 2 + window.blue()) / 3);
    QStringList parts;
    size_t c = 0;
    for (size_t i = 0; i < m_runOrder.size(); ++i) {
        const QString& run = m_runOrder[i];
        if (run.isEmpty() || m_hidden.count(run))
            continue;
        const auto it = m_runInfo.find(run);
        const QString name = it != m_runInfo.end() ? it->second.display : run;
        const std::string detail = legendLabel("", configs[c++], keys);
        // A band's swatch is a filled block; a line's a line.
        const QString glyph = m_bandRuns.count(run) ? QStringLiteral("▆▆") : QStringLiteral("━━");
        parts << QStringLiteral("<span style=\"color:%1; font-weight:bold\">%5</span>&nbsp;%2"
                                "&nbsp;<span style=\"color:%3\">%4</span>")
                     .arg(seriesColor(static_cast<int>(i), palette()).name(), name.toHtmlEscaped(), muted.name(),
                          QString::fromStdString(detail).trimmed().toHtmlEscaped(), glyph);
    }
    m_legend->setText(parts.join(QStringLiteral("&nbsp;&nbsp;&nbsp;&nbsp;&nbsp; ")));
    m_legend->setVisible(!parts.isEmpty());
}

MetricDashboard::Route MetricDashboard::route(const QString& metric)
{
    if (const auto it = m_routes.find(metric); it != m_routes.end())
        return it->second;
    // An unknown metric gets its own chart, titled by its key.
    m_specs.push_back(MetricChartSpec{metric, {metric}, {}});
    m_plots.push_back(createPlot(m_specs.back()));
    Route r;
    r.chart = static_cast<int>(m_plots.size()) - 1;
    m_routes[metric] = r;
    relayout();
    return r;
}

QString MetricDashboard::seriesId(const QString& run, const Route& r) const
{
    return r.suffix.isEmpty() ? run : run + QLatin1Char('\n') + r.suffix;
}

bool MetricDashboard::isOurs(const QString& id, const QString& run) const
{
    return id == run || id.startsWith(run + QLatin1Char('\n'));
}

MetricPlot* MetricDashboard::prepareSeries(const QString& run, const QString& metric, QString* id, bool* fresh)
{
    const Route r = route(metric);
    MetricPlot* plot = m_plots[r.chart];
    *id = seriesId(run, r);
    *fresh = !plot->runs().contains(*id);
    if (*fresh) {
        const auto keys = m_specs[r.chart].keys;
        plot->setRunStyle(*id, runIndex(run), metric_dashboard_detail::keyStyle(std::max(0, static_cast<int>(keys.indexOf(metric)))));
        const auto tag = m_runTags.find(run);
        plot->setSeriesTag(*id, SeriesTag{tag != m_runTags.end() ? tag->second.csvRun : run,
                                          tag != m_runTags.end() ? tag->second.stage : QString(), metric});
        if (m_hidden.count(run))
            plot->setRunVisible(*id, false);
    }
    return plot;
}

void MetricDashboard::finishSeries(MetricPlot* plot, const QString& id, const QString& run,
                                   const QString& metric, bool fresh)
{
    if (!fresh)
        return;
    const Route r = route(metric);
    const auto info = m_runInfo.find(run);
    const QString display = info != m_runInfo.end() ? info->second.display : run;
    const QString name = r.suffix.isEmpty() ? display : display + QStringLiteral(" · ") + r.suffix;
    plot->setRunInfo(id, name, info != m_runInfo.end() ? info->second.config
                                                       : std::map<std::string, std::string>{});
    if (m_hideEmpty)
        relayout();
}

void MetricDashboard::appendPoints(const QString& run, const QString& metric,
                                   const std::vector<double>& steps, const std::vector<double>& ys,
                                   const std::vector<double>& walls)
{
    QString id;
    bool fresh = false;
    MetricPlot* plot = prepareSeries(run, metric, &id, &fresh);
    plot->appendPoints(id, steps, ys, walls);
    finishSeries(plot, id, run, metric, fresh);
}

void MetricDashboard::setBandSeries(const QString& run, const QString& metric,
                                    const SeriesAggregate& aggregate, BandMode mode)
{
    QString id;
    bool fresh = false;
    MetricPlot* plot = prepareSeries(run, metric, &id, &fresh);
    plot->setBandSeries(id, aggregate, mode);
    if (mode != BandMode::None && !m_bandRuns.count(run)) {
        m_bandRuns.insert(run);
        updateLegend();
    }
    finishSeries(plot, id, run, metric, fresh);
}

void MetricDashboard::setRunTag(const QString& run, const QString& csvRun, const QString& stage)
{
    m_runTags[run] = RunTag{csvRun, stage};
    for (MetricPlot* plot : m_plots)
        for (const QString& id : plot->runs())
            if (isOurs(id, run)) {
                SeriesTag tag = plot->seriesTag(id);
                tag.run = csvRun;
                tag.stage = stage;
                plot->setSeriesTag(id, tag);
            }
}

void MetricDashboard::setRunVisible(const QString& run, bool visible)
{
    if (visible == !m_hidden.count(run))
        return;
    if (visible)
        m_hidden.erase(run);
    else
        m_hidden.insert(run);
    for (MetricPlot* plot : m_plots)
        for (const QString& id : plot->runs())
            if (isOurs(id, run))
                plot->setRunVisible(id, visible);
    updateLegend();
    if (m_hideEmpty)
        relayout();
}

void MetricDashboard::appendStep(const QString& run, double step, double wall,
                                 const std::vector<std::pair<std::string, double>>& metrics)
{
    for (const auto& [name, value] : metrics)
        appendPoints(run, QString::fromStdString(name), {step}, {value}, {wall});
}

void MetricDashboard::setRunInfo(const QString& run, const QString& displayName,
                                 const std::map<std::string, std::string>& config)
{
    m_runInfo[run] = RunInfo{displayName.isEmpty() ? run : displayName, config};
    runIndex(run);
    updateLegend();
    for (MetricPlot* plot : m_plots) {
        for (const QString& id : plot->runs()) {
            if (id == run) {
                plot->setRunInfo(id, m_runInfo[run].display, config);
            } else if (id.startsWith(run + QLatin1Char('\n'))) {
                const QString suffix = id.mid(run.size() + 1);
                plot->setRunInfo(id, m_runInfo[run].display + QStringLiteral(" · ") + suffix, config);
            }
        }
    }
}

void MetricDashboard::removeRun(const QString& run)
{
    m_runInfo.erase(run);
    m_runTags.erase(run);
    m_hidden.erase(run);
    m_bandRuns.erase(run);
    // Colours stay with the remaining runs; the removed run's slot is left free.
    for (size_t i = 0; i < m_runOrder.size(); ++i)
        if (m_runOrder[i] == run) {
            m_lastColor[run] = static_cast<int>(i);
            m_runOrder[i] = QString();
        }
    updateLegend();
    for (MetricPlot* plot : m_plots)
        for (const QString& id : plot->runs())
            if (id == run || id.startsWith(run + QLatin1Char('\n')))
                plot->removeRun(id);
    if (m_hideEmpty)
        relayout();
}

void MetricDashboard::clear()
{
    m_runInfo.clear();
    m_runTags.clear();
    m_hidden.clear();
    m_bandRuns.clear();
    m_runOrder.clear();
    m_lastColor.clear();
    updateLegend();
    for (MetricPlot* plot : m_plots)
        plot->clear();
    if (m_hideEmpty)
        relayout();
}

MetricPlot* MetricDashboard::plotFor(const QString& metric) const
{
    const auto it = m_routes.find(metric);
    return it == m_routes.end() ? nullptr : m_plots[it->second.chart];
}

void MetricDashboard::setSmoothing(double weight)
{
    weight = std::clamp(weight, 0.0, 0.999);
    if (std::abs(weight - m_smoothing) < 1e-12)
        return;
    m_smoothing = weight;
    {
        const QSignalBlocker block(m_smoothSlider);
        m_smoothSlider->setValue(static_cast<int>(std::lround(weight * 1000)));
    }
    m_smoothValue->setText(QString::number(weight, 'f', 3));
    for (MetricPlot* p : m_plots)
        p->setSmoothing(weight);
    Q_EMIT smoothingChanged(weight);
}

void MetricDashboard::setXAxisMode(XAxisMode mode)
{
    if (mode == m_xMode)
        return;
    m_xMode = mode;
    {
        const QSignalBlocker block(m_xCombo);
        m_xCombo->setCurrentIndex(m_xCombo->findData(static_cast<int>(mode)));
    }
    for (MetricPlot* p : m_plots)
        p->setXAxisMode(mode);
    Q_EMIT xAxisModeChanged(mode);
}

void MetricDashboard::setHideEmpty(bool on)
{
    m_hideEmpty = on;
    {
        const QSignalBlocker block(m_hideEmptyBox);
        m_hideEmptyBox->setChecked(on);
    }
    relayout();
}

void MetricDashboard::setColumns(int columns)
{
    m_columns = std::max(1, columns);
    relayout();
}

void MetricDashboard::setBandControlVisible(bool on)
{
    m_bandLabel->setVisible(on);
    m_bandCombo->setVisible(on);
}

void MetricDashboard::setBandMode(BandMode mode)
{
    if (mode == m_bandMode)
        return;
    m_bandMode = mode;
    {
        const QSignalBlocker block(m_bandCombo);
        m_bandCombo->setCurrentIndex(m_bandCombo->findData(static_cast<int>(mode)));
    }
    Q_EMIT bandModeChanged(mode);
}

void MetricDashboard::setStageChoices(const QVector<QPair<QString, QString>>& choices)
{
    m_stageChoices = choices;
    QString keep;
    for (const auto& c : choices)
        if (c.second == m_stageFilter)
            keep = m_stageFilter;
    if (keep.isEmpty() && !choices.isEmpty())
        keep = choices.front().second;
    {
        const QSignalBlocker block(m_stageCombo);
        m_stageCombo->clear();
        for (const auto& c : choices)
            m_stageCombo->addItem(c.first, c.second);
        m_stageCombo->setCurrentIndex(std::max(0, m_stageCombo->findData(keep)));
    }
    m_stageLabel->setVisible(!choices.isEmpty());
    m_stageCombo->setVisible(!choices.isEmpty());
    if (keep != m_stageFilter) {
        m_stageFilter = keep;
        Q_EMIT stageFilterChanged(keep);
    }
}

void MetricDashboard::setStageFilter(const QString& value)
{
    if (value == m_stageFilter)
        return;
    m_stageFilter = value;
    {
        const QSignalBlocker block(m_stageCombo);
        const int i = m_stageCombo->findData(value);
        if (i >= 0)
            m_stageCombo->setCurrentIndex(i);
    }
    Q_EMIT stageFilterChanged(value);
}

QString MetricDashboard::toCsv() const
{
    std::string text = kSeriesCsvHeader;
    text += '\n';
    for (const MetricPlot* p : m_plots)
        for (const CsvSeries& c : p->csvSeries())
            appendSeriesCsv(text, c);
    return QString::fromStdString(text);
}

bool MetricDashboard::exportCsv(const QString& path) const
{
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        return false;
    file.write(toCsv().toUtf8());
    return file.commit();
}

}  // namespace recalign::widgets
