// AblationTable: one of the paper's result tables (core::Table: rows = methods, columns =
// metrics) with the best value per column bold and the second underlined (core::rankColumn,
// the same marks the CLI's LaTeX/Markdown export uses), an optional bar chart of one metric
// with standard-error bars, and export / copy through core::exportTable so the GUI's output
// equals `recalign export`'s.
#pragma once

#include "core/api/tables.h"

#include <QAbstractTableModel>
#include <QWidget>

#include <string>
#include <vector>

class QCheckBox;
class QComboBox;
class QCPTextElement;
class QCustomPlot;
class QLabel;
class QTableView;
class QToolButton;

namespace recalign::widgets {

// A read-only model over a core::Table.
class AblationModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Mark { None = 0, Best = 1, Second = 2 };
    static constexpr int MarkRole = Qt::UserRole + 40;   // Mark as int
    static constexpr int ValueRole = Qt::UserRole + 41;  // double, invalid when missing

    explicit AblationModel(QObject* parent = nullptr);
    void setTable(const core::Table& table);
    const core::Table& table() const { return m_table; }
    void setShowStdErr(bool on);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

private:
    core::Table m_table;
    std::vector<std::vector<int>> m_marks;  // [row][col]
    bool m_stderr = false;
};

class AblationTable : public QWidget {
    Q_OBJECT
public:
    explicit AblationTable(QWidget* parent = nullptr);

    void setTable(const core::Table& table);
    const core::Table& table() const { return m_model->table(); }
    AblationModel* model() const { return m_model; }

    // The export text, identical to the CLI's for the same table and options.
    std::string exportText(core::ExportFormat format) const;
    // Copies the table in `format` (plain text) plus an HTML rendering for rich-text targets.
    void copyToClipboard(core::ExportFormat format);
    // Writes the export to `path`; the format follows the extension (.csv, .tex, .md).
    bool saveTo(const QString& path);

    void setShowStdErr(bool on);
    void setChartVisible(bool on);
    bool chartVisible() const;
    // Shows column `col` in the bar chart.
    void setChartColumn(int col);
    int chartColumn() const;
    int chartBarCount() const;  // bars currently drawn
    QCustomPlot* chart() const { return m_chart; }

protected:
    void changeEvent(QEvent* event) override;

private:
    void retranslate();
    void updateChart();
    void saveWithDialog();
    core::ExportFormat currentFormat() const;

    AblationModel* m_model = nullptr;
    QLabel* m_title = nullptr;
    QTableView* m_view = nullptr;
    QCheckBox* m_stderrBox = nullptr;
    QCheckBox* m_chartBox = nullptr;
    QComboBox* m_chartColumn = nullptr;
    QComboBox* m_format = nullptr;
    QToolButton* m_copy = nullptr;
    QToolButton* m_save = nullptr;
    QCustomPlot* m_chart = nullptr;
    QCPTextElement* m_chartTitle = nullptr;
    int m_bars = 0;
};

}  // namespace recalign::widgets
