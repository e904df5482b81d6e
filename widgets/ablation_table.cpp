// AblationTable: result table with best/second marks, bar chart and export (see ablation_table.h).
#include "widgets/ablation_table.h"

#include "widgets/icons.h"
#include "widgets/theme.h"

#include <qcustomplot.h>

#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QComboBox>
#include <QEvent>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QMimeData>
#include <QSplitter>
#include <QTableView>
#include <QToolButton>
#include <QVBoxLayout>

#include <cmath>

namespace recalign::widgets {

namespace ablation_table_detail {

QString qs(const std::string& s)
{
    return QString::fromStdString(s);
}

QString headerText(const core::TableColumn& c)
{
    return c.group.empty() ? qs(c.name) : qs(c.group) + QLatin1Char('\n') + qs(c.name);
}

}  // namespace ablation_table_detail

using ablation_table_detail::headerText;
using ablation_table_detail::qs;

// ---- AblationModel -----------------------------------------------------------------------------

AblationModel::AblationModel(QObject* parent) : QAbstractTableModel(parent) {}

void AblationModel::setTable(const core::Table& table)
{
    beginResetModel();
    m_table = table;
    m_marks.assign(table.rows.size(), std::vector<int>(table.columns.size(), None));
    for (size_t c = 0; c < table.columns.size(); ++c) {
        const core::ColumnRanking r = core::rankColumn(table, c);
        for (size_t row : r.best)
            m_marks[row][c] = Best;
        for (size_t row : r.second)
            m_marks[row][c] = Second;
    }
    endResetModel();
}

void AblationModel::setShowStdErr(bool on)
{
    m_stderr = on;
    if (rowCount() > 0 && columnCount() > 0)
        Q_EMIT dataChanged(index(0, 0), index(rowCount() - 1, columnCount() - 1), {Qt::DisplayRole});
}

int AblationModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : static_cast<int>(m_table.rows.size());
}

int AblationModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : static_cast<int>(m_table.columns.size());
}

QVariant AblationModel::data(const QModelIndex& index, int role) const
{
    if (!index.isValid() || index.row() >= rowCount() || index.column() >= columnCount())
        return {};
    const auto& row = m_table.rows[static_cast<size_t>(index.row())];
    const auto& col = m_table.columns[static_cast<size_t>(index.column())];
    if (static_cast<size_t>(index.column()) >= row.cells.size())
        return {};
    const core::TableCell& cell = row.cells[static_cast<size_t>(index.column())];
    const int mark = m_marks[static_cast<size_t>(index.row())][static_cast<size_t>(index.column())];
    switch (role) {
    case Qt::DisplayRole:
        return cell.missing ? QStringLiteral("–")
                            : qs(core::formatCell(cell, col, m_stderr)) + (cell.significant ? QStringLiteral("†") : QString());
    case Qt::FontRole: {
        if (mark == None)
            return {};
        QFont f;
        f.setBold(mark == Best);
        f.setUnderline(mark == Second);
        return f;
    }
    case Qt::ForegroundRole:
        if (cell.missing)
            return QColor(140, 146, 156);
        break;
    case Qt::TextAlignmentRole:
        return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
    case Qt::ToolTipRole: {
        if (cell.missing)
            return tr("No result for %1 on %2").arg(qs(row.name), qs(col.task));
        QString tip = tr("%1 · %2 (%3)\nvalue %4\nn = %5")
                          .arg(qs(row.name), qs(col.name), qs(col.task))
                          .arg(QString::number(cell.value, 'g', 8))
                          .arg(cell.n);
        if (cell.seeds > 1)
            tip += QLatin1Char('\n') + tr("mean of %1 seeds, sample std %2").arg(cell.seeds).arg(QString::number(cell.std_dev, 'g', 4));
        if (cell.std_error > 0)
            tip += QLatin1Char('\n') + tr("standard error %1").arg(QString::number(cell.std_error, 'g', 4));
        if (cell.significant)
            tip += QLatin1Char('\n') + tr("† significant: %1").arg(qs(m_table.tests_note));
        tip += QLatin1Char('\n') + (col.lower_is_better ? tr("lower is better") : tr("higher is better"));
        if (mark == Best)
            tip += QLatin1Char('\n') + tr("best in column");
        else if (mark == Second)
            tip += QLatin1Char('\n') + tr("second best in column");
        return tip;
    }
    case MarkRole:
        return mark;
    case ValueRole:
        return cell.missing ? QVariant() : QVariant(cell.value);
    default:
        break;
    }
    return {};
}

QVariant AblationModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation == Qt::Horizontal && section >= 0 && section < columnCount()) {
        const auto& c = m_table.columns[static_cast<size_t>(section)];
        if (role == Qt::DisplayRole)
            return headerText(c) + (c.lower_is_better ? QStringLiteral(" ↓") : QStringLiteral(" ↑"));
        if (role == Qt::ToolTipRole)
            return tr("%1 on task %2; %3").arg(qs(c.metric), qs(c.task),
                                                c.lower_is_better ? tr("lower is better")
                                                                  : tr("higher is better"));
    }
    if (orientation == Qt::Vertical && section >= 0 && section < rowCount()) {
        if (role == Qt::DisplayRole)
            return qs(m_table.rows[static_cast<size_t>(section)].name);
        if (role == Qt::TextAlignmentRole)
            return QVariant::fromValue(Qt::AlignLeft | Qt::AlignVCenter);
    }
    return {};
}

// ---- AblationTable -----------------------------------------------------------------------------

AblationTable::AblationTable(QWidget* parent) : QWidget(parent)
{
    m_model = new AblationModel(this);
    auto* outer = new QVBoxLayout(this);
    outer->setContentsMargins(0, 0, 0, 0);
    outer->setSpacing(6);

    auto* bar = new QHBoxLayout;
    bar->setContentsMargins(8, 6, 8, 0);
    bar->setSpacing(8);
    m_title = new QLabel(this);
    QFont tf = m_title->font();
    tf.setBold(true);
    tf.setPointSizeF(tf.pointSizeF() + 1);
    m_title->setFont(tf);
    m_stderrBox = new QCheckBox(this);
    m_chartBox = new QCheckBox(this);
    m_chartBox->setChecked(true);
    m_chartColumn = new QComboBox(this);
    m_format = new QComboBox(this);
    m_copy = new QToolButton(this);
    m_copy->setIcon(icon(QStringLiteral("copy")));
    m_copy->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    m_save = new QToolButton(this);
    m_save->setIcon(icon(QStringLiteral("export")));
    m_save->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    bar->addWidget(m_title);
    bar->addStretch(1);
    bar->addWidget(m_stderrBox);
    bar->addWidget(m_chartBox);
    bar->addWidget(m_chartColumn);
    bar->addSpacing(12);
    bar->addWidget(m_format);
    bar->addWidget(m_copy);
    bar->addWidget(m_save);
    outer->addLayout(bar);

    auto* split = new QSplitter(Qt::Vertical, this);
    m_view = new QTableView(split);
    m_view->setModel(m_model);
    m_view->setAlternatingRowColors(true);
    m_view->setShowGrid(false);
    m_view->setSelectionMode(QAbstractItemView::ContiguousSelection);
    m_view->horizontalHeader()->setDefaultAlignment(Qt::AlignCenter);
    m_view->horizontalHeader()->setHighlightSections(false);
    m_view->verticalHeader()->setHighlightSections(false);
    m_view->verticalHeader()->setDefaultSectionSize(m_view->fontMetrics().height() + 10);
    m_view->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    m_view->verticalHeader()->setMinimumWidth(110);
    m_view->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    m_view->horizontalHeader()->setMinimumSectionSize(84);
    m_chart = new QCustomPlot(split);
    m_chart->setMinimumHeight(180);
    m_chart->plotLayout()->insertRow(0);
    m_chartTitle = new QCPTextElement(m_chart, QString(), QFont(font().family(), 9, QFont::DemiBold));
    m_chart->plotLayout()->addElement(0, 0, m_chartTitle);
    split->addWidget(m_view);
    split->addWidget(m_chart);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 2);
    outer->addWidget(split, 1);

    retranslate();
    connect(m_stderrBox, &QCheckBox::toggled, this, &AblationTable::setShowStdErr);
    connect(m_chartBox, &QCheckBox::toggled, this, &AblationTable::setChartVisible);
    connect(m_chartColumn, qOverload<int>(&QComboBox::currentIndexChanged), this,
            [this] { updateChart(); });
    connect(m_copy, &QToolButton::clicked, this, [this] { copyToClipboard(currentFormat()); });
    connect(m_save, &QToolButton::clicked, this, &AblationTable::saveWithDialog);
}

void AblationTable::retranslate()
{
    m_stderrBox->setText(tr("± standard error"));
    m_chartBox->setText(tr("Bar chart"));
    const QSignalBlocker b(m_format);
    const int cur = std::max(0, m_format->currentIndex());
    m_format->clear();
    m_format->addItem(tr("LaTeX (booktabs)"), static_cast<int>(core::ExportFormat::Latex));
    m_format->addItem(tr("Markdown"), static_cast<int>(core::ExportFormat::Markdown));
    m_format->addItem(tr("CSV"), static_cast<int>(core::ExportFormat::Csv));
    m_format->setCurrentIndex(cur);
    m_copy->setText(tr("Copy"));
    m_copy->setToolTip(tr("Copy the table to the clipboard in the chosen format"));
    m_save->setText(tr("Export…"));
    m_save->setToolTip(tr("Save the table as CSV, LaTeX or Markdown (same output as `recalign export`)"));
}

void AblationTable::changeEvent(QEvent* event)
{
    QWidget::changeEvent(event);
    if (event->type() == QEvent::LanguageChange)
        retranslate();
    else if (event->type() == QEvent::PaletteChange)
        updateChart();
}

void AblationTable::setTable(const core::Table& table)
{
    m_model->setTable(table);
    m_title->setText(qs(table.title));
    {
        const QSignalBlocker b(m_chartColumn);
        const int previous = m_chartColumn->currentIndex();
        m_chartColumn->clear();
        for (const auto& c : table.columns)
            m_chartColumn->addItem(headerText(c).replace(QLatin1Char('\n'), QLatin1Char(' ')));
        m_chartColumn->setCurrentIndex(previous >= 0 && previous < m_chartColumn->count() ? previous : 0);
    }
    // The table takes the height of its rows; the chart gets the rest.
    const int rows = m_model->rowCount();
    const int h = m_view->horizontalHeader()->sizeHint().height() +
                  rows * m_view->verticalHeader()->defaultSectionSize() + 2 * m_view->frameWidth() + 2;
    m_view->setMaximumHeight(std::max(h, 80));
    updateChart();
}

void AblationTable::setShowStdErr(bool on)
{
    {
        const QSignalBlocker b(m_stderrBox);
        m_stderrBox->setChecked(on);
    }
    m_model->setShowStdErr(on);
}

void AblationTable::setChartVisible(bool on)
{
    {
        const QSignalBlocker b(m_chartBox);
        m_chartBox->setChecked(on);
    }
    m_chart->setVisible(on);
    m_chartColumn->setEnabled(on);
}

bool AblationTable::chartVisible() const
{
    return m_chartBox->isChecked();
}

void AblationTable::setChartColumn(int col)
{
    m_chartColumn->setCurrentIndex(col);
    updateChart();
}

int AblationTable::chartColumn() const
{
    return m_chartColumn->currentIndex();
}

int AblationTable::chartBarCount() const
{
    return m_bars;
}

void AblationTable::updateChart()
{
    m_chart->clearPlottables();
    m_chart->clearItems();
    m_bars = 0;
    const QPalette pal = palette();
    const PlotColors pc = plotColorsFor(pal);
    m_chart->setBackground(pc.background);
    m_chart->axisRect()->setBackground(pc.background);
    for (QCPAxis* axis : {m_chart->xAxis, m_chart->yAxis}) {
        axis->setBasePen(QPen(pc.axis, 1));
        axis->setTickPen(QPen(pc.axis, 1));
        axis->setSubTickPen(Qt::NoPen);
        axis->setTickLabelColor(pc.axis);
        axis->setLabelColor(pc.axis);
        axis->grid()->setPen(QPen(pc.grid, 1));
    }
    m_chart->xAxis->grid()->setVisible(false);
    const int col = m_chartColumn->currentIndex();
    const core::Table& t = m_model->table();
    if (col < 0 || static_cast<size_t>(col) >= t.columns.size()) {
        m_chart->replot(QCustomPlot::rpQueuedReplot);
        return;
    }
    const core::ColumnRanking ranking = core::rankColumn(t, static_cast<size_t>(col));
    auto textTicker = QSharedPointer<QCPAxisTickerText>::create();
    QVector<double> keys, values, errors;
    QVector<int> marks;
    double lo = 0, hi = 0;
    for (size_t r = 0; r < t.rows.size(); ++r) {
        const core::TableCell& cell = t.rows[r].cells[static_cast<size_t>(col)];
        const double key = static_cast<double>(r + 1);
        textTicker->addTick(key, qs(t.rows[r].name));
        if (cell.missing)
            continue;
        keys << key;
        values << cell.value;
        // Error bars: the spread across seeds for a seed group's mean, else the per-unit standard error.
        const double err = cell.seeds > 1 ? cell.std_dev : cell.std_error;
        errors << err;
        lo = std::min(lo, cell.value - err);
        hi = std::max(hi, cell.value + err);
        const bool best = std::find(ranking.best.begin(), ranking.best.end(), r) != ranking.best.end();
        const bool second = std::find(ranking.second.begin(), ranking.second.end(), r) != ranking.second.end();
        marks << (best ? AblationModel::Best : second ? AblationModel::Second : AblationModel::None);
    }
    // One QCPBars per mark so each group gets its colour.
    const QColor accent = pal.color(QPalette::Highlight);
    QColor plain = pc.text;
    plain.setAlpha(isDark(pal) ? 90 : 70);
    QColor secondColor = accent;
    secondColor.setAlpha(130);
    for (int mark : {AblationModel::None, AblationModel::Second, AblationModel::Best}) {
        QVector<double> k, v, e;
        for (int i = 0; i < keys.size(); ++i)
            if (marks[i] == mark) {
                k << keys[i];
                v << values[i];
                e << errors[i];
            }
        if (k.isEmpty())
            continue;
        auto* bars = new QCPBars(m_chart->xAxis, m_chart->yAxis);
        bars->setWidth(0.62);
        bars->setData(k, v, true);
        const QColor c = mark == AblationModel::Best ? accent : mark == AblationModel::Second ? secondColor : plain;
        bars->setBrush(c);
        bars->setPen(QPen(c.darker(120), 1));
        m_bars += k.size();
        bool anyError = false;
        for (double x : e)
            anyError = anyError || x > 0;
        if (anyError) {
            auto* err = new QCPErrorBars(m_chart->xAxis, m_chart->yAxis);
            err->setDataPlottable(bars);
            err->setData(e);
            err->setPen(QPen(pc.axis, 1));
            err->setWhiskerWidth(6);
        }
    }
    // Value labels above the bars, at the table's precision.
    const auto& column = t.columns[static_cast<size_t>(col)];
    for (int i = 0; i < keys.size(); ++i) {
        auto* label = new QCPItemText(m_chart);
        label->position->setCoords(keys[i], values[i] + (values[i] >= 0 ? errors[i] : -errors[i]));
        label->setPositionAlignment(Qt::AlignHCenter | (values[i] >= 0 ? Qt::AlignBottom : Qt::AlignTop));
        label->setPadding(QMargins(0, 2, 0, 2));
        label->setText(QString::number(values[i], 'f', column.digits));
        label->setColor(pc.axis);
        QFont f = font();
        f.setPointSizeF(std::max(7.0, f.pointSizeF() - 1));
        f.setBold(marks[i] == AblationModel::Best);
        label->setFont(f);
    }
    m_chart->xAxis->setTicker(textTicker);
    m_chart->xAxis->setTickLabelRotation(t.rows.size() > 5 ? 30 : 0);
    m_chart->xAxis->setRange(0.3, static_cast<double>(t.rows.size()) + 0.7);
    const double span = hi - lo > 0 ? hi - lo : 1.0;
    m_chart->yAxis->setRange(lo < 0 ? lo - 0.08 * span : 0.0, hi + 0.12 * span);
    const auto& c = t.columns[static_cast<size_t>(col)];
    m_chartTitle->setText(headerText(c).replace(QLatin1Char('\n'), QLatin1Char(' ')) +
                          (c.lower_is_better ? tr(" (lower is better)") : tr(" (higher is better)")));
    m_chartTitle->setTextColor(pc.text);
    m_chart->replot(QCustomPlot::rpQueuedReplot);
}

core::ExportFormat AblationTable::currentFormat() const
{
    return static_cast<core::ExportFormat>(m_format->currentData().toInt());
}

std::string AblationTable::exportText(core::ExportFormat format) const
{
    core::ExportOptions options;
    options.with_stderr = m_stderrBox->isChecked();
    return core::exportTable(m_model->table(), format, options);
}

void AblationTable::copyToClipboard(core::ExportFormat format)
{
    auto* mime = new QMimeData;
    mime->setText(qs(exportText(format)));
    // An HTML rendering with the same marks for word processors.
    const core::Table& t = m_model->table();
    QString html = QStringLiteral("<table border=\"1\" cellspacing=\"0\" cellpadding=\"3\"><tr><th></th>");
    for (const auto& c : t.columns)
        html += QStringLiteral("<th>%1</th>").arg(headerText(c).toHtmlEscaped().replace(QLatin1Char('\n'), QStringLiteral("<br>")));
    html += QStringLiteral("</tr>");
    for (int r = 0; r < m_model->rowCount(); ++r) {
        html += QStringLiteral("<tr><td>%1</td>").arg(qs(t.rows[static_cast<size_t>(r)].name).toHtmlEscaped());
        for (int c = 0; c < m_model->columnCount(); ++c) {
            const QModelIndex idx = m_model->index(r, c);
            QString text = idx.data().toString().toHtmlEscaped();
            const int mark = idx.data(AblationModel::MarkRole).toInt();
            if (mark == AblationModel::Best)
                text = QStringLiteral("<b>%1</b>").arg(text);
            else if (mark == AblationModel::Second)
                text = QStringLiteral("<u>%1</u>").arg(text);
            html += QStringLiteral("<td align=\"right\">%1</td>").arg(text);
        }
        html += QStringLiteral("</tr>");
    }
    html += QStringLiteral("</table>");
    mime->setHtml(html);
    QApplication::clipboard()->setMimeData(mime);
}

bool AblationTable::saveTo(const QString& path)
{
    const QString ext = QFileInfo(path).suffix().toLower();
    core::ExportFormat format = core::ExportFormat::Csv;
    if (ext == QLatin1String("tex"))
        format = core::ExportFormat::Latex;
    else if (ext == QLatin1String("md"))
        format = core::ExportFormat::Markdown;
    else if (ext != QLatin1String("csv"))
        return false;
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate))
        return false;
    const std::string text = exportText(format);
    return f.write(text.data(), static_cast<qint64>(text.size())) == static_cast<qint64>(text.size());
}

void AblationTable::saveWithDialog()
{
    const core::ExportFormat format = currentFormat();
    const QString ext = format == core::ExportFormat::Latex      ? QStringLiteral("tex")
                        : format == core::ExportFormat::Markdown ? QStringLiteral("md")
                                                                 : QStringLiteral("csv");
    const QString name = (m_model->table().id.empty() ? QStringLiteral("table") : qs(m_model->table().id)) +
                         QLatin1Char('.') + ext;
    QString path = QFileDialog::getSaveFileName(
        this, tr("Export table"), name,
        tr("LaTeX (*.tex);;Markdown (*.md);;CSV (*.csv)"));
    if (path.isEmpty())
        return;
    if (QFileInfo(path).suffix().isEmpty())
        path += QLatin1Char('.') + ext;
    saveTo(path);
}

}  // namespace recalign::widgets
