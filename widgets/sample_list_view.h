// SampleListView: the Inspect view's reusable part. A filter bar (task, variant, hits, illegal
// kind, text search), a sortable table of evaluated samples, and the selected sample's details:
// history, instruction, the generated list with a badge per item (legality, target category),
// SASRec rank and item reward, and the list-reward breakdown.
#pragma once

#include "widgets/sample_model.h"

#include <QStyledItemDelegate>
#include <QWidget>

#include <vector>

class QComboBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QTableView;
class QTableWidget;

namespace recalign::widgets {

// Paints a cell as a rounded pill in the colour of BadgeColorRole, with its icon and text.
class PillDelegate : public QStyledItemDelegate {
    Q_OBJECT
public:
    using QStyledItemDelegate::QStyledItemDelegate;
    void paint(QPainter* painter, const QStyleOptionViewItem& option,
               const QModelIndex& index) const override;
    QSize sizeHint(const QStyleOptionViewItem& option, const QModelIndex& index) const override;
};

// Paints BarValueRole as a horizontal bar from zero (scaled by maxAbs) under the cell text.
class ValueBarDelegate : public QStyledItemDelegate {
    Q_OBJECT
public:
    using QStyledItemDelegate::QStyledItemDelegate;
    void setMaxAbs(double v) { m_maxAbs = v; }
    void paint(QPainter* painter, const QStyleOptionViewItem& option,
               const QModelIndex& index) const override;

private:
    double m_maxAbs = 1.0;
};

class SampleListView : public QWidget {
    Q_OBJECT
public:
    explicit SampleListView(QWidget* parent = nullptr);

    void setSamples(std::vector<SampleView> samples);
    void appendSamples(const std::vector<SampleView>& samples);

    // Filters (also reachable through the filter bar).
    void setTaskFilter(const QString& task);      // "" = all
    void setVariantFilter(const QString& variant);
    void setHitFilter(SampleFilterProxy::HitFilter f);
    void setIllegalFilter(SampleFilterProxy::IllegalFilter f);
    void setSearchText(const QString& text);

    int visibleCount() const;
    // Shows the details of the row-th visible sample; false when out of range.
    bool selectVisibleRow(int row);
    const SampleView* currentSample() const;

    SampleListModel* model() const { return m_model; }
    SampleFilterProxy* proxy() const { return m_proxy; }
    SampleItemsModel* itemsModel() const { return m_items; }
    QString detailsHeaderText() const;

Q_SIGNALS:
    void currentSampleChanged(int sourceRow);

protected:
    void changeEvent(QEvent* event) override;

private:
    void retranslate();
    void refreshChoices();
    void updateCount();
    void showSample(int sourceRow);

    SampleListModel* m_model = nullptr;
    SampleFilterProxy* m_proxy = nullptr;
    SampleItemsModel* m_items = nullptr;
    int m_current = -1;

    QLabel* m_taskLabel = nullptr;
    QComboBox* m_taskCombo = nullptr;
    QLabel* m_variantLabel = nullptr;
    QComboBox* m_variantCombo = nullptr;
    QComboBox* m_hitCombo = nullptr;
    QComboBox* m_illegalCombo = nullptr;
    QLineEdit* m_search = nullptr;
    QLabel* m_count = nullptr;
    QTableView* m_table = nullptr;

    QLabel* m_header = nullptr;
    QLabel* m_instructionTitle = nullptr;
    QLabel* m_instruction = nullptr;
    QLabel* m_historyTitle = nullptr;
    QLabel* m_history = nullptr;
    QLabel* m_listTitle = nullptr;
    QTableView* m_itemsView = nullptr;
    ValueBarDelegate* m_rewardDelegate = nullptr;
    QLabel* m_breakdownTitle = nullptr;
    QTableWidget* m_breakdown = nullptr;
    ValueBarDelegate* m_breakdownDelegate = nullptr;
    QLabel* m_outputTitle = nullptr;
    QPlainTextEdit* m_output = nullptr;
};

}  // namespace recalign::widgets
