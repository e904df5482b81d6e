// MetricPlot: export (PNG, PDF, SVG, CSV) and the context menu. Split from metric_plot.cpp.
#include "widgets/metric_plot.h"

#include "widgets/icons.h"

#include <qcustomplot.h>

#include <QApplication>
#include <QClipboard>
#include <QFileDialog>
#include <QFileInfo>
#include <QMenu>
#include <QSaveFile>
#include <QSvgGenerator>

namespace recalign::widgets {

// ---- export ------------------------------------------------------------------------------------

bool MetricPlot::exportImage(const QString& path, int width, int height)
{
    const QString ext = QFileInfo(path).suffix().toLower();
    // An exported chart stands alone: it always carries its legend.
    const bool legendWasVisible = m_legendVisible;
    if (!legendWasVisible)
        setLegendVisible(true);
    bool ok = false;
    if (ext == QLatin1String("png"))
        ok = exportPng(path, width, height);
    else if (ext == QLatin1String("pdf"))
        ok = exportPdf(path, width, height);
    else if (ext == QLatin1String("svg"))
        ok = exportSvg(path, width, height);
    if (!legendWasVisible)
        setLegendVisible(false);
    return ok;
}

bool MetricPlot::exportPng(const QString& path, int width, int height)
{
    hideReadout();
    return m_plot->savePng(path, width, height, /*scale=*/2.0);
}

bool MetricPlot::exportPdf(const QString& path, int width, int height)
{
    hideReadout();
    return m_plot->savePdf(path, width, height, QCP::epNoCosmetic, QStringLiteral("RecAlign Studio"),
                           m_title);
}

bool MetricPlot::exportSvg(const QString& path, int width, int height)
{
    hideReadout();
    const int w = width > 0 ? width : m_plot->width();
    const int h = height > 0 ? height : m_plot->height();
    QSvgGenerator generator;
    generator.setFileName(path);
    generator.setSize(QSize(w, h));
    generator.setViewBox(QRect(0, 0, w, h));
    generator.setTitle(m_title);
    generator.setDescription(tr("Exported from RecAlign Studio"));
    QCPPainter painter;
    if (!painter.begin(&generator))
        return false;
    m_plot->toPainter(&painter, w, h);
    painter.end();
    return QFileInfo(path).size() > 0;
}

// ---- CSV ---------------------------------------------------------------------------------------

QString MetricPlot::toCsv() const
{
    std::string text = kSeriesCsvHeader;
    text += '\n';
    for (const CsvSeries& c : csvSeries())
        appendSeriesCsv(text, c);
    return QString::fromStdString(text);
}

bool MetricPlot::exportCsv(const QString& path)
{
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        return false;
    file.write(toCsv().toUtf8());
    return file.commit();
}

void MetricPlot::exportCsvWithDialog()
{
    QString path = QFileDialog::getSaveFileName(this, tr("Export chart data"),
                                                m_title.isEmpty() ? tr("chart") : m_title,
                                                tr("CSV file (*.csv)"));
    if (path.isEmpty())
        return;
    if (QFileInfo(path).suffix().isEmpty())
        path += QStringLiteral(".csv");
    exportCsv(path);
}

void MetricPlot::exportWithDialog()
{
    QString selected;
    QString path = QFileDialog::getSaveFileName(
        this, tr("Export chart"), m_title.isEmpty() ? tr("chart") : m_title,
        tr("PNG image (*.png);;PDF document (*.pdf);;SVG image (*.svg)"), &selected);
    if (path.isEmpty())
        return;
    if (QFileInfo(path).suffix().isEmpty())
        path += selected.contains(QLatin1String("*.pdf"))   ? QStringLiteral(".pdf")
                : selected.contains(QLatin1String("*.svg")) ? QStringLiteral(".svg")
                                                            : QStringLiteral(".png");
    exportImage(path);
}

void MetricPlot::showContextMenu(const QPoint& pos)
{
    QMenu menu(this);
    menu.addAction(icon(QStringLiteral("refresh")), tr("Reset view"), this, &MetricPlot::resetView);
    QAction* log = menu.addAction(icon(QStringLiteral("log-scale")), tr("Logarithmic y-axis"));
    log->setCheckable(true);
    log->setChecked(m_logScale);
    connect(log, &QAction::toggled, this, &MetricPlot::setLogScale);
    QAction* raw = menu.addAction(tr("Show raw curves"));
    raw->setCheckable(true);
    raw->setChecked(m_showRaw);
    connect(raw, &QAction::toggled, this, &MetricPlot::setShowRaw);
    QAction* outliers = menu.addAction(tr("Ignore outliers in y-range"));
    outliers->setCheckable(true);
    outliers->setChecked(m_ignoreOutliers);
    connect(outliers, &QAction::toggled, this, &MetricPlot::setIgnoreOutliers);
    menu.addSeparator();
    menu.addAction(icon(QStringLiteral("copy")), tr("Copy image"), this, [this] {
        hideReadout();
        QApplication::clipboard()->setPixmap(m_plot->toPixmap());
    });
    menu.addAction(icon(QStringLiteral("export")), tr("Export image…"), this,
                   &MetricPlot::exportWithDialog);
    menu.addAction(tr("Export data as CSV…"), this, &MetricPlot::exportCsvWithDialog);
    menu.exec(m_plot->mapToGlobal(pos));
}

}  // namespace recalign::widgets
