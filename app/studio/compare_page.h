// ComparePage: the Compare tab: the paper's four tables (I0, I1 +C/-C, I2, formatting) for the
// selected runs, each an AblationTable (best bold, second underlined, bar chart, export and copy
// through core::exportTable, so the text equals `recalign export`'s), and "export all".
#pragma once

#include "core/api/tables.h"

#include <QWidget>

#include <vector>

class QLabel;
class QTabWidget;
class QToolButton;

namespace recalign::widgets {
class AblationTable;
}

namespace recalign::studio {

class ComparePage : public QWidget {
    Q_OBJECT
public:
    explicit ComparePage(QWidget* parent = nullptr);

    // Tables in core::allTableKinds() order (the page has one tab per kind).
    void setTables(const std::vector<core::Table>& tables, const QString& caption);
    widgets::AblationTable* table(core::TableKind kind) const;
    int rowCount() const;  // rows over all tables
    // Every table in one text, as `recalign export --table all` writes it.
    std::string exportAll(core::ExportFormat format) const;
    bool saveAll(const QString& path);  // format from the extension (.csv, .tex, .md)

protected:
    void changeEvent(QEvent* event) override;

private:
    void retranslate();
    void saveAllWithDialog();

    QLabel* m_caption = nullptr;
    QLabel* m_empty = nullptr;
    QToolButton* m_exportAll = nullptr;
    QTabWidget* m_tabs = nullptr;
    std::vector<widgets::AblationTable*> m_tables;
    std::vector<core::Table> m_data;
    QString m_captionText;
};

}  // namespace recalign::studio
