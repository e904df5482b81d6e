// The runs table (see runs_table.h).
#include "widgets/runs_table.h"

#include "widgets/icons.h"
#include "widgets/series_math.h"

#include <QAction>
#include <QCollator>
#include <QEvent>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelection>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QSet>
#include <QSignalBlocker>
#include <QTableView>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>
#include <utility>

namespace recalign::widgets {

namespace runs_table_detail {

// A config value as a number (the whole text must parse).
bool parseNumber(const std::string& text, double* out)
{
    bool ok = false;
    const double v = QString::fromStdString(text).trimmed().toDouble(&ok);
    if (ok && out)
        *out = v;
    return ok;
}

QString metricText(double v)
{
    if (std::isnan(v))
        return QStringLiteral("NaN");
    if (std::isinf(v))
        return v > 0 ? QStringLiteral("inf") : QStringLiteral("-inf");
    return QString::number(v, 'g', 4);
}

// A column's identity across resets: "f:<index>", "c:<key>" or "m:<name>".
QString columnId(const RunsTableModel& model, int column)
{
    switch (model.columnKind(column)) {
    case RunsTableModel::FixedKind: return QStringLiteral("f:") + QString::number(column);
    case RunsTableModel::ConfigKind:
        return QStringLiteral("c:")
            + QString::fromStdString(model.configKeys()[static_cast<size_t>(column - RunsTableModel::FixedColumns)]);
    case RunsTableModel::MetricKind:
        return QStringLiteral("m:") + model.metricAt(column);
    }
    return {};
}

int columnFromId(const RunsTableModel& model, const QString& id)
{
    for (int c = 0; c < model.columnCount(); ++c)
        if (columnId(model, c) == id)
            return c;
    return -1;
}

}  // namespace runs_table_detail

using runs_table_detail::metricText;
using runs_table_detail::parseNumber;

// ---- model ---------------------------------------------------------------------------------------

RunsTableModel::RunsTableModel(QObject* parent) : QAbstractTableModel(parent) {}

void RunsTableModel::setRows(std::vector<RunsTableRow> rows)
{
    beginResetModel();
    m_rows = std::move(rows);
    rebuildColumns();
    endResetModel();
}

void RunsTableModel::setMetricColumns(const QStringList& names)
{
    beginResetModel();
    m_wantedMetrics = names;
    rebuildColumns();
    endResetModel();
}

void RunsTableModel::rebuildColumns()
{
    std::vector<std::map<std::string, std::string>> configs;
    configs.reserve(m_rows.size());
    for (const auto& r : m_rows)
        configs.push_back(r.config);
    m_configKeys = differingConfigKeys(configs);
    m_configNumeric.assign(m_configKeys.size(), false);
    for (size_t k = 0; k < m_configKeys.size(); ++k) {
        bool any = false, all = true;
        for (const auto& r : m_rows) {
            const auto it = r.config.find(m_configKeys[k]);
            if (it == r.config.end())
                continue;
            any = true;
            if (!parseNumber(it->second, nullptr)) {
                all = false;
                break;
            }
        }
        m_configNumeric[k] = any && all;
    }
    const QStringList available = availableMetrics();
    m_metricColumns.clear();
    for (const QString& name : m_wantedMetrics)
        if (available.contains(name) && !m_metricColumns.contains(name))
            m_metricColumns << name;
}

QStringList RunsTableModel::availableMetrics() const
{
    std::set<std::string> keys;
    for (const auto& r : m_rows)
        for (const auto& kv : r.metrics)
            keys.insert(kv.first);
    QStringList out;
    for (const auto& k : keys)
        out << QString::fromStdString(k);
    return out;
}

RunsTableModel::ColumnKind RunsTableModel::columnKind(int column) const
{
    if (column < FixedColumns)
        return FixedKind;
    if (column < FixedColumns + static_cast<int>(m_configKeys.size()))
        return ConfigKind;
    return MetricKind;
}

bool RunsTableModel::isNumericColumn(int column) const
{
    switch (columnKind(column)) {
    case FixedKind: return column == IdColumn || column == SeedColumn;
    case ConfigKind: return m_configNumeric[static_cast<size_t>(column - FixedColumns)];
    case MetricKind: return true;
    }
    return false;
}

const QString& RunsTableModel::metricAt(int column) const
{
    return m_metricColumns[column - FixedColumns - static_cast<int>(m_configKeys.size())];
}

int RunsTableModel::configColumn(const QString& key) const
{
    const std::string k = key.toStdString();
    for (size_t i = 0; i < m_configKeys.size(); ++i)
        if (m_configKeys[i] == k)
            return FixedColumns + static_cast<int>(i);
    return -1;
}

int RunsTableModel::metricColumn(const QString& name) const
{
    const int i = m_metricColumns.indexOf(name);
    return i < 0 ? -1 : FixedColumns + static_cast<int>(m_configKeys.size()) + i;
}

int RunsTableModel::rowOfRun(int64_t id) const
{
    for (size_t i = 0; i < m_rows.size(); ++i)
        if (m_rows[i].id == id)
            return static_cast<int>(i);
    return -1;
}

int RunsTableModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : static_cast<int>(m_rows.size());
}

int RunsTableModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0
                            : FixedColumns + static_cast<int>(m_configKeys.size()) + static_cast<int>(m_metricColumns.size());
}

QVariant RunsTableModel::sortValue(int row, int column) const
{
    const RunsTableRow& r = m_rows[static_cast<size_t>(row)];
    switch (columnKind(column)) {
    case FixedKind:
        switch (column) {
        case IdColumn: return static_cast<double>(r.id);
        case NameColumn: return r.name;
        case GroupColumn: return r.group.isEmpty() ? QVariant() : QVariant(r.group);
        case SeedColumn: return static_cast<double>(r.seed);
        case StatusColumn: return r.status;
        default: return {};
        }
    case ConfigKind: {
        const size_t k = static_cast<size_t>(column - FixedColumns);
        const auto it = r.config.find(m_configKeys[k]);
        if (it == r.config.end())
            return {};
        double v = 0;
        if (m_configNumeric[k] && parseNumber(it->second, &v))
            return v;
        return QString::fromStdString(it->second);
    }
    case MetricKind: {
        const QString& name = metricAt(column);
        const auto it = r.metrics.find(name.toStdString());
        if (it == r.metrics.end() || std::isnan(it->second))
            return {};
        return it->second;
    }
    }
    return {};
}

QString RunsTableModel::displayText(int row, int column) const
{
    const RunsTableRow& r = m_rows[static_cast<size_t>(row)];
    switch (columnKind(column)) {
    case FixedKind:
        switch (column) {
        case IdColumn: return QString::number(r.id);
        case NameColumn: return r.name;
        case GroupColumn: return r.group;
        case SeedColumn: return QString::number(r.seed);
        case StatusColumn: return r.status;
        default: return {};
        }
    case ConfigKind: {
        const auto it = r.config.find(m_configKeys[static_cast<size_t>(column - FixedColumns)]);
        return it == r.config.end() ? QString() : QString::fromStdString(it->second);
    }
    case MetricKind: {
        const QString& name = metricAt(column);
        const auto it = r.metrics.find(name.toStdString());
        return it == r.metrics.end() ? QString() : metricText(it->second);
    }
    }
    return {};
}

QVariant RunsTableModel::data(const QModelIndex& index, int role) const
{
    if (!index.isValid() || index.row() >= rowCount() || index.column() >= columnCount())
        return {};
    switch (role) {
    case Qt::DisplayRole: return displayText(index.row(), index.column());
    case Qt::ToolTipRole: {
        if (columnKind(index.column()) != MetricKind)
            return {};
        const QString& name = metricAt(index.column());
        const auto& metrics = m_rows[static_cast<size_t>(index.row())].metrics;
        const auto it = metrics.find(name.toStdString());
        return it == metrics.end() ? QVariant() : QVariant(QString::number(it->second, 'g', 10));
    }
    case Qt::TextAlignmentRole:
        return isNumericColumn(index.column()) ? QVariant(Qt::AlignRight | Qt::AlignVCenter)
                                               : QVariant(Qt::AlignLeft | Qt::AlignVCenter);
    case SortRole: return sortValue(index.row(), index.column());
    case RunIdRole: return static_cast<qint64>(m_rows[static_cast<size_t>(index.row())].id);
    default: return {};
    }
}

QVariant RunsTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || section < 0 || section >= columnCount())
        return QAbstractTableModel::headerData(section, orientation, role);
    if (role != Qt::DisplayRole && role != Qt::ToolTipRole)
        return {};
    switch (columnKind(section)) {
    case FixedKind:
        if (role == Qt::ToolTipRole)
            return {};
        switch (section) {
        case IdColumn: return tr("Run");
        case NameColumn: return tr("Name");
        case GroupColumn: return tr("Group");
        case SeedColumn: return tr("Seed");
        case StatusColumn: return tr("Status");
        default: return {};
        }
    case ConfigKind: {
        const QString key = QString::fromStdString(m_configKeys[static_cast<size_t>(section - FixedColumns)]);
        return role == Qt::ToolTipRole ? tr("Configuration: %1").arg(key) : key;
    }
    case MetricKind: {
        const QString& name = metricAt(section);
        return role == Qt::ToolTipRole ? tr("Final metric: %1").arg(name) : name;
    }
    }
    return {};
}

// ---- proxy ---------------------------------------------------------------------------------------

RunsTableProxy::RunsTableProxy(QObject* parent) : QSortFilterProxyModel(parent)
{
    setSortRole(RunsTableModel::SortRole);
    setFilterKeyColumn(-1);
    setFilterCaseSensitivity(Qt::CaseInsensitive);
    setDynamicSortFilter(true);
}

bool RunsTableProxy::lessThan(const QModelIndex& left, const QModelIndex& right) const
{
    const QVariant l = left.data(sortRole());
    const QVariant r = right.data(sortRole());
    const bool lMissing = !l.isValid(), rMissing = !r.isValid();
    if (lMissing || rMissing) {
        if (lMissing == rMissing)
            return false;
        // Missing last in both orders: a descending sort reverses the comparison.
        return sortOrder() == Qt::AscendingOrder ? rMissing : lMissing;
    }
    const bool lNum = l.userType() == QMetaType::Double, rNum = r.userType() == QMetaType::Double;
    if (lNum && rNum)
        return l.toDouble() < r.toDouble();
    if (lNum != rNum)
        return lNum;  // numbers before text (mixed columns do not occur for one model column)
    static thread_local QCollator collator = [] {
        QCollator c;
        c.setNumericMode(true);
        c.setCaseSensitivity(Qt::CaseInsensitive);
        return c;
    }();
    return collator.compare(l.toString(), r.toString()) < 0;
}

// ---- widget --------------------------------------------------------------------------------------

RunsTable::RunsTable(QWidget* parent) : QWidget(parent)
{
    m_model = new RunsTableModel(this);
    m_proxy = new RunsTableProxy(this);
    m_proxy->setSourceModel(m_model);

    m_filter = new QLineEdit(this);
    m_filter->setObjectName(QStringLiteral("runsTableFilter"));
    m_filter->setClearButtonEnabled(true);
    m_metricsMenu = new QMenu(this);
    m_metricsButton = new QToolButton(this);
    m_metricsButton->setObjectName(QStringLiteral("runsTableMetrics"));
    m_metricsButton->setPopupMode(QToolButton::InstantPopup);
    m_metricsButton->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    m_metricsButton->setIcon(icon(QStringLiteral("table")));
    m_metricsButton->setMenu(m_metricsMenu);
    m_count = new QLabel(this);

    m_view = new QTableView(this);
    m_view->setObjectName(QStringLiteral("runsTableView"));
    m_view->setModel(m_proxy);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_view->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_view->setAlternatingRowColors(true);
    m_view->setWordWrap(false);
    m_view->verticalHeader()->hide();
    m_view->verticalHeader()->setDefaultSectionSize(m_view->fontMetrics().height() + 8);
    m_view->horizontalHeader()->setSectionsMovable(true);
    m_view->horizontalHeader()->setHighlightSections(false);
    m_view->horizontalHeader()->setSectionResizeMode(QHeaderView::Interactive);
    m_view->setSortingEnabled(true);
    m_view->sortByColumn(RunsTableModel::IdColumn, Qt::DescendingOrder);  // newest first

    auto* bar = new QHBoxLayout;
    bar->setContentsMargins(0, 0, 0, 0);
    bar->addWidget(m_filter, 1);
    bar->addWidget(m_metricsButton);
    bar->addWidget(m_count);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(bar);
    layout->addWidget(m_view, 1);

    connect(m_filter, &QLineEdit::textChanged, this, [this](const QString& text) {
        m_proxy->setFilterFixedString(text);
        updateCount();
    });
    connect(m_view->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            [this] { onSelectionChanged(); });

    retranslate();
    rebuildMetricsMenu();
    updateCount();
}

void RunsTable::resetKeepingState(const std::function<void()>& change)
{
    const QList<qint64> before = selectedRuns();
    const int sortColumn = m_proxy->sortColumn();
    const Qt::SortOrder order = m_proxy->sortOrder();
    const QString sortId = sortColumn >= 0 && sortColumn < m_model->columnCount()
        ? runs_table_detail::columnId(*m_model, sortColumn)
        : QString();
    auto columnIds = [this] {
        QStringList ids;
        for (int c = 0; c < m_model->columnCount(); ++c)
            ids << runs_table_detail::columnId(*m_model, c);
        return ids;
    };
    const QStringList columnsBefore = columnIds();
    const bool wasEmpty = m_model->rowCount() == 0;
    m_syncing = true;
    change();  // resets the model (which clears the selection without signals)
    const int restored = runs_table_detail::columnFromId(*m_model, sortId);
    if (restored < 0)
        m_view->sortByColumn(RunsTableModel::IdColumn, Qt::DescendingOrder);
    else
        m_view->sortByColumn(restored, order);
    if (wasEmpty || columnIds() != columnsBefore)  // a refresh keeps the user's widths
        m_view->resizeColumnsToContents();
    m_syncing = false;
    applySelection(before, /*scroll=*/false);  // a refresh does not move the view
    rebuildMetricsMenu();
    updateCount();
    const QList<qint64> after = selectedRuns();
    if (after.size() != before.size()) {  // runs that were selected are gone
        m_lastEmitted = after;
        Q_EMIT selectionChanged(after);
    }
}

void RunsTable::setRows(std::vector<RunsTableRow> rows)
{
    // The model keeps the chosen metric columns.
    resetKeepingState([&] { m_model->setRows(std::move(rows)); });
}

void RunsTable::setChosenMetrics(const QStringList& names)
{
    m_chosen.clear();
    for (const QString& n : names)
        if (!m_chosen.contains(n))
            m_chosen << n;
    resetKeepingState([&] { m_model->setMetricColumns(m_chosen); });
}

void RunsTable::toggleMetric(const QString& name, bool on)
{
    QStringList next = m_chosen;
    if (on && !next.contains(name))
        next << name;
    else if (!on)
        next.removeAll(name);
    if (next == m_chosen)
        return;
    setChosenMetrics(next);
    Q_EMIT chosenMetricsChanged(m_chosen);
}

void RunsTable::rebuildMetricsMenu()
{
    const QStringList available = m_model->availableMetrics();
    // Same keys: only the check marks change (never delete an action from its own signal).
    QStringList listed;
    for (const QAction* a : m_metricsMenu->actions())
        if (a->isCheckable())
            listed << a->data().toString();
    if (!available.isEmpty() && listed == available) {
        for (QAction* a : m_metricsMenu->actions()) {
            const QSignalBlocker block(a);
            a->setChecked(m_chosen.contains(a->data().toString()));
        }
        return;
    }
    m_metricsMenu->clear();
    if (available.isEmpty()) {
        QAction* none = m_metricsMenu->addAction(tr("No final metrics yet"));
        none->setEnabled(false);
        return;
    }
    for (const QString& name : available) {
        QAction* a = m_metricsMenu->addAction(name);
        a->setCheckable(true);
        a->setChecked(m_chosen.contains(name));
        a->setData(name);
        connect(a, &QAction::toggled, this, [this, name](bool on) { toggleMetric(name, on); });
    }
}

QList<qint64> RunsTable::selectedRuns() const
{
    QList<qint64> out;
    const QModelIndexList rows = m_view->selectionModel()->selectedRows(RunsTableModel::IdColumn);
    QList<QModelIndex> sorted(rows.begin(), rows.end());
    std::sort(sorted.begin(), sorted.end(), [](const QModelIndex& a, const QModelIndex& b) { return a.row() < b.row(); });
    for (const QModelIndex& i : sorted)
        out << i.data(RunsTableModel::RunIdRole).toLongLong();
    return out;
}

void RunsTable::selectRuns(const QList<qint64>& ids)
{
    applySelection(ids, /*scroll=*/true);
}

void RunsTable::applySelection(const QList<qint64>& ids, bool scroll)
{
    const QSet<qint64> wanted(ids.begin(), ids.end());
    QItemSelection selection;
    QModelIndex firstIndex;
    const int lastColumn = m_proxy->columnCount() - 1;
    for (int r = 0; r < m_proxy->rowCount(); ++r) {
        const QModelIndex idx = m_proxy->index(r, 0);
        if (!wanted.contains(idx.data(RunsTableModel::RunIdRole).toLongLong()))
            continue;
        selection.select(idx, m_proxy->index(r, std::max(0, lastColumn)));
        if (!firstIndex.isValid())
            firstIndex = idx;
    }
    const bool was = m_syncing;
    m_syncing = true;
    m_view->selectionModel()->select(selection, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
    if (firstIndex.isValid()) {
        m_view->selectionModel()->setCurrentIndex(firstIndex, QItemSelectionModel::NoUpdate);
        if (scroll)
            m_view->scrollTo(firstIndex);
    }
    m_syncing = was;
    m_lastEmitted = selectedRuns();
}

void RunsTable::setFilterText(const QString& text)
{
    m_filter->setText(text);  // textChanged applies it
}

void RunsTable::onSelectionChanged()
{
    if (m_syncing)
        return;
    const QList<qint64> now = selectedRuns();
    if (now == m_lastEmitted)
        return;
    m_lastEmitted = now;
    Q_EMIT selectionChanged(now);
}

void RunsTable::updateCount()
{
    const int total = m_model->rowCount();
    const int shown = m_proxy->rowCount();
    if (shown == total)
        m_count->setText(tr("%n run(s)", nullptr, total));
    else
        m_count->setText(tr("%1 of %n run(s)", nullptr, total).arg(shown));
}

void RunsTable::retranslate()
{
    m_filter->setPlaceholderText(tr("Filter runs (any column)"));
    m_metricsButton->setText(tr("Metrics"));
    m_metricsButton->setToolTip(tr("Choose the final metrics shown as columns"));
    if (m_model->columnCount() > 0)
        Q_EMIT m_model->headerDataChanged(Qt::Horizontal, 0, m_model->columnCount() - 1);
    updateCount();
    if (m_model->availableMetrics().isEmpty())
        rebuildMetricsMenu();
}

void RunsTable::changeEvent(QEvent* event)
{
    QWidget::changeEvent(event);
    if (event->type() == QEvent::LanguageChange)
        retranslate();
    else if (event->type() == QEvent::PaletteChange)
        m_metricsButton->setIcon(icon(QStringLiteral("table")));
}

}  // namespace recalign::widgets
