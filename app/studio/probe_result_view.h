// ProbeResultView: one probe's answer: which checkpoint, the parsed list with a badge per item
// (the Inspect view's models and delegates), per-token log-probs as a heat strip, the reward
// breakdown, the raw text and the prompt. Plain data in (a ProbeResult and its request).
#pragma once

#include "core/api/probe.h"

#include <QWidget>

class QLabel;
class QPlainTextEdit;
class QScrollArea;
class QTabWidget;
class QTableView;
class QTableWidget;

namespace recalign::widgets {
class SampleItemsModel;
class TokenHeatStrip;
class ValueBarDelegate;
}  // namespace recalign::widgets

namespace recalign::studio {

class ProbeResultView : public QWidget {
    Q_OBJECT
public:
    explicit ProbeResultView(QWidget* parent = nullptr);

    void setHeading(const QString& heading);
    void showResult(const core::ProbeRequest& request, const core::ProbeResult& result);
    void showBusy();
    void clear();

    widgets::SampleItemsModel* itemsModel() const { return m_items; }
    widgets::TokenHeatStrip* heatStrip() const { return m_strip; }
    QString rawText() const;
    QString summaryText() const;

protected:
    void changeEvent(QEvent* event) override;
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    void retranslate();
    void fitStrip();
    void fitColumns();

    QLabel* m_heading = nullptr;
    QLabel* m_summary = nullptr;
    QLabel* m_listTitle = nullptr;
    QTableView* m_itemsView = nullptr;
    widgets::SampleItemsModel* m_items = nullptr;
    widgets::ValueBarDelegate* m_rewardDelegate = nullptr;
    QLabel* m_stripTitle = nullptr;
    QScrollArea* m_stripScroll = nullptr;
    widgets::TokenHeatStrip* m_strip = nullptr;
    QTabWidget* m_tabs = nullptr;
    QTableWidget* m_breakdown = nullptr;
    widgets::ValueBarDelegate* m_breakdownDelegate = nullptr;
    QPlainTextEdit* m_output = nullptr;
    QPlainTextEdit* m_prompt = nullptr;
};

}  // namespace recalign::studio
