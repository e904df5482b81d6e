// RunsTable: a sortable table of runs (TensorBoard's HParams table, MLflow's run table): id,
// name, seed group, seed and status, then the configuration keys whose values differ between
// the rows (differingConfigKeys in series_math.h), then the chosen final metrics. Numeric
// columns sort as numbers, the others as text; missing values sort last in both orders. A tool
// button menu chooses the metric columns; a text box filters the rows. Selecting rows emits
// their run ids. Plain data in, no store: app/studio/runs_table_data.h builds the rows.
#pragma once

#include <QAbstractTableModel>
#include <QList>
#include <QSortFilterProxyModel>
#include <QString>
#include <QStringList>
#include <QWidget>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

class QItemSelection;
class QLabel;
class QLineEdit;
class QMenu;
class QTableView;
class QToolButton;

namespace recalign::widgets {

// One run as the table shows it.
struct RunsTableRow {
    int64_t id = 0;
    QString name;
    QString group;   // seed group label ("" = none)
    int64_t seed = 0;
    QString status;  // translated status text
    std::map<std::string, std::string> config;  // flattened config: dotted key -> value text
    std::map<std::string, double> metrics;      // column name -> final value
};

// The rows as a table model. Columns: the fixed ones (Column), the differing config keys, the
// shown metric columns.
class RunsTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { IdColumn, NameColumn, GroupColumn, SeedColumn, StatusColumn, FixedColumns };
    enum ColumnKind { FixedKind, ConfigKind, MetricKind };
    // Sort key: double for numeric columns, QString otherwise, invalid when missing.
    static constexpr int SortRole = Qt::UserRole + 60;
    static constexpr int RunIdRole = Qt::UserRole + 61;  // qint64, any column

    explicit RunsTableModel(QObject* parent = nullptr);

    void setRows(std::vector<RunsTableRow> rows);
    const std::vector<RunsTableRow>& rows() const { return m_rows; }
    // Metric column names to show, in this order; names no row has are skipped.
    void setMetricColumns(const QStringList& names);

    const std::vector<std::string>& configKeys() const { return m_configKeys; }
    const QStringList& metricColumns() const { return m_metricColumns; }  // the shown ones
    // Every metric key of the rows, sorted.
    QStringList availableMetrics() const;
    ColumnKind columnKind(int column) const;
    bool isNumericColumn(int column) const;
    // The column showing config key / metric `name`; -1 when none.
    int configColumn(const QString& key) const;
    int metricColumn(const QString& name) const;
    const QString& metricAt(int column) const;  // the metric of a MetricKind column
    int rowOfRun(int64_t id) const;  // -1 when absent

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

private:
    void rebuildColumns();
    QVariant sortValue(int row, int column) const;
    QString displayText(int row, int column) const;

    std::vector<RunsTableRow> m_rows;
    QStringList m_wantedMetrics;
    std::vector<std::string> m_configKeys;
    std::vector<bool> m_configNumeric;  // per config key: every present value parses as a number
    QStringList m_metricColumns;
};

// Sorts by RunsTableModel::SortRole (numbers numerically, text case-insensitively and
// naturally, missing values last in both orders) and filters on a substring of any cell.
class RunsTableProxy : public QSortFilterProxyModel {
    Q_OBJECT
public:
    explicit RunsTableProxy(QObject* parent = nullptr);

protected:
    bool lessThan(const QModelIndex& left, const QModelIndex& right) const override;
};

class RunsTable : public QWidget {
    Q_OBJECT
public:
    explicit RunsTable(QWidget* parent = nullptr);

    // Replaces the rows; the selection is kept for the runs still present (no signal unless it
    // shrank) and so are the sort column and order where the column still exists.
    void setRows(std::vector<RunsTableRow> rows);
    // The chosen metric columns (kept across setRows; names absent from the rows are remembered
    // and shown once rows have them). The caller passes its defaults here.
    void setChosenMetrics(const QStringList& names);
    QStringList chosenMetrics() const { return m_chosen; }
    // Every metric key of the rows (what the Metrics menu lists).
    QStringList availableMetrics() const { return m_model->availableMetrics(); }

    // Selected run ids in view order.
    QList<qint64> selectedRuns() const;
    // Selects these runs (those present) without emitting selectionChanged.
    void selectRuns(const QList<qint64>& ids);
    void setFilterText(const QString& text);

    RunsTableModel* model() const { return m_model; }
    RunsTableProxy* proxy() const { return m_proxy; }
    QTableView* view() const { return m_view; }
    QLineEdit* filterEdit() const { return m_filter; }
    QToolButton* metricsButton() const { return m_metricsButton; }
    QMenu* metricsMenu() const { return m_metricsMenu; }

Q_SIGNALS:
    void selectionChanged(const QList<qint64>& runIds);
    void chosenMetricsChanged(const QStringList& names);  // from the Metrics menu

protected:
    void changeEvent(QEvent* event) override;

private:
    // Runs `change` (a model reset) keeping the sort column and the selection.
    void resetKeepingState(const std::function<void()>& change);
    void retranslate();
    void rebuildMetricsMenu();
    void toggleMetric(const QString& name, bool on);
    void applySelection(const QList<qint64>& ids, bool scroll);
    void onSelectionChanged();
    void updateCount();

    RunsTableModel* m_model = nullptr;
    RunsTableProxy* m_proxy = nullptr;
    QLineEdit* m_filter = nullptr;
    QToolButton* m_metricsButton = nullptr;
    QMenu* m_metricsMenu = nullptr;
    QLabel* m_count = nullptr;
    QTableView* m_view = nullptr;
    QStringList m_chosen;
    QList<qint64> m_lastEmitted;
    bool m_syncing = false;  // selection changes made by the table itself
};

}  // namespace recalign::widgets
