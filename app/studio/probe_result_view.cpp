// ProbeResultView implementation.
#include "app/studio/probe_result_view.h"

#include "app/studio/run_data.h"
#include "widgets/probe_widgets.h"
#include "widgets/sample_list_view.h"
#include "widgets/sample_model.h"

#include <QEvent>
#include <QHeaderView>
#include <QLabel>
#include <QPlainTextEdit>
#include <QScrollArea>
#include <QTabWidget>
#include <QTableView>
#include <QTableWidget>
#include <QVBoxLayout>

#include <cmath>

namespace recalign::studio {

namespace probe_result_detail {
QLabel* sectionTitle(QWidget* parent)
{
    auto* l = new QLabel(parent);
    QFont f = l->font();
    f.setBold(true);
    l->setFont(f);
    l->setContentsMargins(0, 6, 0, 0);
    return l;
}

QPlainTextEdit* monoText(QWidget* parent)
{
    auto* t = new QPlainTextEdit(parent);
    t->setReadOnly(true);
    QFont mono(QStringLiteral("monospace"));
    mono.setStyleHint(QFont::Monospace);
    t->setFont(mono);
    return t;
}
}  // namespace probe_result_detail

using probe_result_detail::monoText;
using probe_result_detail::sectionTitle;

ProbeResultView::ProbeResultView(QWidget* parent) : QWidget(parent)
{
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(4);
    m_heading = new QLabel(this);
    QFont hf = m_heading->font();
    hf.setBold(true);
    hf.setPointSizeF(hf.pointSizeF() + 1.5);
    m_heading->setFont(hf);
    m_summary = new QLabel(this);
    m_summary->setWordWrap(true);
    m_summary->setTextFormat(Qt::RichText);
    layout->addWidget(m_heading);
    layout->addWidget(m_summary);

    m_listTitle = sectionTitle(this);
    layout->addWidget(m_listTitle);
    m_items = new widgets::SampleItemsModel(this);
    m_itemsView = new QTableView(this);
    m_itemsView->setModel(m_items);
    m_itemsView->setShowGrid(false);
    m_itemsView->setAlternatingRowColors(true);
    m_itemsView->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_itemsView->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_itemsView->setItemDelegateForColumn(widgets::SampleItemsModel::Status, new widgets::PillDelegate(m_itemsView));
    m_itemsView->setItemDelegateForColumn(widgets::SampleItemsModel::Category, new widgets::PillDelegate(m_itemsView));
    m_rewardDelegate = new widgets::ValueBarDelegate(m_itemsView);
    m_itemsView->setItemDelegateForColumn(widgets::SampleItemsModel::Reward, m_rewardDelegate);
    QHeaderView* header = m_itemsView->horizontalHeader();
    for (int c = 0; c < widgets::SampleItemsModel::ColumnCount; ++c)
        header->setSectionResizeMode(c, QHeaderView::ResizeToContents);
    header->setSectionResizeMode(widgets::SampleItemsModel::Title, QHeaderView::Interactive);
    header->setMinimumSectionSize(24);
    m_itemsView->viewport()->installEventFilter(this);
    m_itemsView->verticalHeader()->hide();
    m_itemsView->verticalHeader()->setDefaultSectionSize(m_itemsView->fontMetrics().height() + 10);
    layout->addWidget(m_itemsView, 3);

    m_stripTitle = sectionTitle(this);
    layout->addWidget(m_stripTitle);
    m_stripScroll = new QScrollArea(this);
    m_stripScroll->setWidgetResizable(true);
    m_stripScroll->setFrameShape(QFrame::NoFrame);
    m_stripScroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_strip = new widgets::TokenHeatStrip(m_stripScroll);
    m_stripScroll->setWidget(m_strip);
    m_stripScroll->setMinimumHeight(80);
    m_stripScroll->viewport()->installEventFilter(this);
    layout->addWidget(m_stripScroll, 2);

    m_tabs = new QTabWidget(this);
    m_tabs->setDocumentMode(true);
    m_breakdown = new QTableWidget(0, 2, m_tabs);
    m_breakdown->verticalHeader()->hide();
    m_breakdown->horizontalHeader()->hide();
    m_breakdown->setShowGrid(false);
    m_breakdown->horizontalHeader()->setSectionResizeMode(0, QHeaderView::ResizeToContents);
    m_breakdown->horizontalHeader()->setSectionResizeMode(1, QHeaderView::Stretch);
    m_breakdown->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_breakdownDelegate = new widgets::ValueBarDelegate(m_breakdown);
    m_breakdown->setItemDelegateForColumn(1, m_breakdownDelegate);
    m_output = monoText(m_tabs);
    m_prompt = monoText(m_tabs);
    m_tabs->addTab(m_breakdown, QString());
    m_tabs->addTab(m_output, QString());
    m_tabs->addTab(m_prompt, QString());
    layout->addWidget(m_tabs, 2);
    retranslate();
    clear();
}

void ProbeResultView::retranslate()
{
    m_listTitle->setText(tr("Parsed list"));
    m_stripTitle->setText(tr("Per-token log-probabilities"));
    m_tabs->setTabText(0, tr("Reward breakdown"));
    m_tabs->setTabText(1, tr("Raw output"));
    m_tabs->setTabText(2, tr("Prompt"));
}

void ProbeResultView::changeEvent(QEvent* event)
{
    QWidget::changeEvent(event);
    if (event->type() == QEvent::LanguageChange)
        retranslate();
}

void ProbeResultView::setHeading(const QString& heading) { m_heading->setText(heading); }

bool ProbeResultView::eventFilter(QObject* watched, QEvent* event)
{
    if (watched == m_stripScroll->viewport() && event->type() == QEvent::Resize)
        fitStrip();
    else if (watched == m_itemsView->viewport() && event->type() == QEvent::Resize)
        fitColumns();
    return QWidget::eventFilter(watched, event);
}

void ProbeResultView::fitColumns()
{
    // Titles take the room the badge columns leave, but never less than a readable width
    // (the table then scrolls sideways).
    int others = 0;
    for (int c = 0; c < widgets::SampleItemsModel::ColumnCount; ++c)
        if (c != widgets::SampleItemsModel::Title && !m_itemsView->isColumnHidden(c))
            others += m_itemsView->horizontalHeader()->sectionSize(c);
    const int room = m_itemsView->viewport()->width() - others;
    m_itemsView->setColumnWidth(widgets::SampleItemsModel::Title, std::max(room, 170));
}

void ProbeResultView::fitStrip()
{
    // The strip wraps its tokens to the width; its height follows, and the area scrolls.
    const int width = m_stripScroll->viewport()->width();
    m_strip->setFixedHeight(std::max(m_strip->minimumSizeHint().height(), m_strip->heightForWidth(width)));
}

void ProbeResultView::clear()
{
    m_summary->setText(tr("Press Generate to run the prompt through this checkpoint."));
    m_items->clear();
    m_strip->clear();
    m_breakdown->setRowCount(0);
    m_output->clear();
    m_prompt->clear();
}

void ProbeResultView::showBusy()
{
    clear();
    m_summary->setText(tr("Generating…"));
}

void ProbeResultView::showResult(const core::ProbeRequest& request, const core::ProbeResult& result)
{
    clear();
    m_prompt->setPlainText(QString::fromStdString(result.prompt));
    m_output->setPlainText(QString::fromStdString(result.output));
    if (!result.error.ok()) {
        m_summary->setText(QStringLiteral("<span style=\"color:#c0392b\">%1</span>")
                               .arg(tr("Failed: %1").arg(QString::fromStdString(result.error.message)).toHtmlEscaped()));
        return;
    }
    const widgets::SampleView view = sampleViewFromProbe(request, result);
    m_items->setSample(view);
    fitColumns();
    double maxAbs = 1e-9;
    for (const auto& item : view.items)
        if (std::isfinite(item.reward))
            maxAbs = std::max(maxAbs, std::abs(item.reward));
    m_rewardDelegate->setMaxAbs(maxAbs);

    std::vector<widgets::TokenLogProb> tokens;
    for (size_t i = 0; i < result.tokens.size(); ++i)
        tokens.push_back({result.tokens[i], i < result.logprobs.size() ? result.logprobs[i] : 0.0});
    const bool hasTokens = !tokens.empty();  // recommenders (SASRec, MostPop) have none
    m_stripTitle->setVisible(hasTokens);
    m_stripScroll->setVisible(hasTokens);
    m_strip->setTokens(std::move(tokens));
    fitStrip();

    // The list-reward terms, then the total (bold), as in Inspect.
    std::vector<std::pair<QString, double>> rows;
    for (const auto& [name, value] : view.breakdown)
        rows.emplace_back(QString::fromStdString(name), value);
    rows.emplace_back(tr("R_list (total)"), result.list_reward);
    double bmax = 1e-9;
    for (const auto& row : rows)
        bmax = std::max(bmax, std::abs(row.second));
    m_breakdownDelegate->setMaxAbs(bmax);
    m_breakdown->setRowCount(static_cast<int>(rows.size()));
    for (size_t r = 0; r < rows.size(); ++r) {
        auto* n = new QTableWidgetItem(rows[r].first);
        auto* v = new QTableWidgetItem(QString::number(rows[r].second, 'f', 3));
        v->setData(widgets::BarValueRole, rows[r].second);
        v->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
        if (r + 1 == rows.size()) {
            QFont f = n->font();
            f.setBold(true);
            n->setFont(f);
            v->setFont(f);
        }
        m_breakdown->setItem(static_cast<int>(r), 0, n);
        m_breakdown->setItem(static_cast<int>(r), 1, v);
    }

    const int illegal = widgets::countIllegal(view);
    QString summary = tr("%n item(s)", nullptr, static_cast<int>(view.items.size()));
    summary += QStringLiteral(" · ") + tr("%n illegal", nullptr, illegal);
    summary += QStringLiteral(" · ") + tr("list reward %1").arg(QString::number(result.list_reward, 'f', 3));
    if (!result.tokens.empty())
        summary += QStringLiteral(" · ") + tr("%n token(s), perplexity %1", nullptr, static_cast<int>(result.tokens.size()))
                                               .arg(QString::number(std::exp(-m_strip->meanLogProb()), 'f', 2));
    summary += QStringLiteral(" · ") + tr("%1 s").arg(QString::number(result.seconds, 'f', 2));
    m_summary->setText(summary.toHtmlEscaped());
}

QString ProbeResultView::rawText() const { return m_output->toPlainText(); }

QString ProbeResultView::summaryText() const { return m_summary->text(); }

}  // namespace recalign::studio
