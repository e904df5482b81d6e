// SampleListView: filterable samples with per-item badges (see sample_list_view.h).
#include "widgets/sample_list_view.h"

#include "widgets/icons.h"
#include "widgets/theme.h"

#include <QApplication>
#include <QComboBox>
#include <QEvent>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPainter>
#include <QPainterPath>
#include <QPlainTextEdit>
#include <QScrollArea>
#include <QSplitter>
#include <QTableView>
#include <QTableWidget>
#include <QVBoxLayout>

#include <algorithm>
#include <set>

namespace recalign::widgets {

// ---- delegates ---------------------------------------------------------------------------------

void PillDelegate::paint(QPainter* painter, const QStyleOptionViewItem& option,
                         const QModelIndex& index) const
{
    const QVariant colorValue = index.data(BadgeColorRole);
    if (!colorValue.isValid()) {
        QStyledItemDelegate::paint(painter, option, index);
        return;
    }
    QStyleOptionViewItem opt = option;
    initStyleOption(&opt, index);
    // Background/selection only; the pill is drawn by hand.
    opt.text.clear();
    opt.icon = QIcon();
    QApplication::style()->drawControl(QStyle::CE_ItemViewItem, &opt, painter, opt.widget);

    const QColor color = colorValue.value<QColor>();
    const bool dark = isDark(option.palette);
    const QString text = index.data(Qt::DisplayRole).toString();
    const QIcon icon = index.data(Qt::DecorationRole).value<QIcon>();
    const QFontMetrics fm(option.font);
    const int iconSize = 14;
    const int pad = 6;
    const int w = std::min(option.rect.width() - 4, pad + iconSize + 4 + fm.horizontalAdvance(text) + pad + 2);
    const int h = std::min(option.rect.height() - 4, fm.height() + 4);
    const QRect pill(option.rect.left() + 3, option.rect.center().y() - h / 2, w, h);

    painter->save();
    painter->setRenderHint(QPainter::Antialiasing);
    QColor fill = color;
    fill.setAlpha(dark ? 70 : 38);
    QColor border = color;
    border.setAlpha(dark ? 200 : 150);
    painter->setPen(QPen(border, 1));
    painter->setBrush(fill);
    painter->drawRoundedRect(QRectF(pill).adjusted(0.5, 0.5, -0.5, -0.5), h / 2.0, h / 2.0);
    if (!icon.isNull())
        icon.paint(painter, QRect(pill.left() + pad - 2, pill.center().y() - iconSize / 2 + 1,
                                  iconSize, iconSize));
    painter->setPen(dark ? color.lighter(150) : color.darker(150));
    painter->drawText(pill.adjusted(pad + iconSize + 2, 0, -pad, 0), Qt::AlignVCenter | Qt::AlignLeft,
                      fm.elidedText(text, Qt::ElideRight, pill.width() - pad * 2 - iconSize));
    painter->restore();
}

QSize PillDelegate::sizeHint(const QStyleOptionViewItem& option, const QModelIndex& index) const
{
    QSize s = QStyledItemDelegate::sizeHint(option, index);
    const QFontMetrics fm(option.font);
    s.setWidth(std::max(s.width(), fm.horizontalAdvance(index.data().toString()) + 36));
    s.setHeight(std::max(s.height(), fm.height() + 8));
    return s;
}

void ValueBarDelegate::paint(QPainter* painter, const QStyleOptionViewItem& option,
                             const QModelIndex& index) const
{
    const QVariant v = index.data(BarValueRole);
    if (v.isValid() && m_maxAbs > 0) {
        QStyleOptionViewItem opt = option;
        initStyleOption(&opt, index);
        const QString text = opt.text;
        opt.text.clear();
        QApplication::style()->drawControl(QStyle::CE_ItemViewItem, &opt, painter, opt.widget);
        const double value = v.toDouble();
        const QRect r = option.rect.adjusted(4, 4, -4, -4);
        const int zero = r.left() + r.width() / 2;
        const int len = static_cast<int>(std::round(std::min(1.0, std::abs(value) / m_maxAbs) * r.width() / 2));
        const QRect bar = value >= 0 ? QRect(zero, r.top(), len, r.height())
                                     : QRect(zero - len, r.top(), len, r.height());
        QColor c = value >= 0 ? QColor(46, 157, 91) : QColor(208, 69, 58);
        c.setAlpha(isDark(option.palette) ? 110 : 70);
        painter->save();
        painter->fillRect(bar, c);
        QColor axis = option.palette.color(QPalette::Text);
        axis.setAlpha(80);
        painter->setPen(axis);
        painter->drawLine(zero, r.top(), zero, r.bottom());
        painter->setPen(option.state & QStyle::State_Selected
                            ? option.palette.color(QPalette::HighlightedText)
                            : option.palette.color(QPalette::Text));
        painter->drawText(option.rect.adjusted(6, 0, -6, 0), Qt::AlignVCenter | Qt::AlignRight, text);
        painter->restore();
        return;
    }
    QStyledItemDelegate::paint(painter, option, index);
}

// ---- the view ----------------------------------------------------------------------------------

namespace sample_list_view_detail {

QLabel* sectionTitle(QWidget* parent)
{
    auto* l = new QLabel(parent);
    QFont f = l->font();
    f.setBold(true);
    l->setFont(f);
    l->setContentsMargins(0, 6, 0, 0);
    return l;
}

QString esc(const std::string& s)
{
    return QString::fromStdString(s).toHtmlEscaped();
}

}  // namespace sample_list_view_detail

using sample_list_view_detail::esc;
using sample_list_view_detail::sectionTitle;

SampleListView::SampleListView(QWidget* parent) : QWidget(parent)
{
    m_model = new SampleListModel(this);
    m_proxy = new SampleFilterProxy(this);
    m_proxy->setSourceModel(m_model);
    m_items = new SampleItemsModel(this);

    auto* outer = new QVBoxLayout(this);
    outer->setContentsMargins(0, 0, 0, 0);
    outer->setSpacing(6);

    // Filter bar.
    auto* bar = new QHBoxLayout;
    bar->setContentsMargins(8, 6, 8, 0);
    bar->setSpacing(8);
    m_taskLabel = new QLabel(this);
    m_taskCombo = new QComboBox(this);
    m_variantLabel = new QLabel(this);
    m_variantCombo = new QComboBox(this);
    m_hitCombo = new QComboBox(this);
    m_illegalCombo = new QComboBox(this);
    m_search = new QLineEdit(this);
    m_search->setClearButtonEnabled(true);
    m_search->addAction(icon(QStringLiteral("search")), QLineEdit::LeadingPosition);
    m_search->setMinimumWidth(200);
    m_count = new QLabel(this);
    bar->addWidget(m_taskLabel);
    bar->addWidget(m_taskCombo);
    bar->addWidget(m_variantLabel);
    bar->addWidget(m_variantCombo);
    bar->addWidget(m_hitCombo);
    bar->addWidget(m_illegalCombo);
    bar->addWidget(m_search, 1);
    bar->addWidget(m_count);
    outer->addLayout(bar);

    auto* split = new QSplitter(Qt::Horizontal, this);
    outer->addWidget(split, 1);

    m_table = new QTableView(split);
    m_table->setModel(m_proxy);
    m_table->setSortingEnabled(true);
    m_table->sortByColumn(-1, Qt::AscendingOrder);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->setAlternatingRowColors(true);
    m_table->setShowGrid(false);
    m_table->verticalHeader()->hide();
    m_table->verticalHeader()->setDefaultSectionSize(m_table->fontMetrics().height() + 8);
    m_table->horizontalHeader()->setStretchLastSection(true);
    m_table->horizontalHeader()->setHighlightSections(false);
    m_table->setWordWrap(false);

    // Details.
    auto* scroll = new QScrollArea(split);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    auto* details = new QWidget(scroll);
    auto* dl = new QVBoxLayout(details);
    dl->setContentsMargins(10, 4, 10, 10);
    dl->setSpacing(4);
    m_header = new QLabel(details);
    m_header->setTextFormat(Qt::RichText);
    m_header->setWordWrap(true);
    QFont hf = m_header->font();
    hf.setPointSizeF(hf.pointSizeF() + 1.5);
    m_header->setFont(hf);
    dl->addWidget(m_header);
    m_instructionTitle = sectionTitle(details);
    dl->addWidget(m_instructionTitle);
    m_instruction = new QLabel(details);
    m_instruction->setWordWrap(true);
    m_instruction->setTextInteractionFlags(Qt::TextSelectableByMouse);
    dl->addWidget(m_instruction);
    m_historyTitle = sectionTitle(details);
    dl->addWidget(m_historyTitle);
    m_history = new QLabel(details);
    m_history->setWordWrap(true);
    m_history->setTextFormat(Qt::RichText);
    m_history->setTextInteractionFlags(Qt::TextSelectableByMouse);
    dl->addWidget(m_history);
    m_listTitle = sectionTitle(details);
    dl->addWidget(m_listTitle);
    m_itemsView = new QTableView(details);
    m_itemsView->setModel(m_items);
    m_itemsView->verticalHeader()->hide();
    m_itemsView->setShowGrid(false);
    m_itemsView->setAlternatingRowColors(true);
    m_itemsView->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_itemsView->setItemDelegateForColumn(SampleItemsModel::Status, new PillDelegate(m_itemsView));
    m_itemsView->setItemDelegateForColumn(SampleItemsModel::Category, new PillDelegate(m_itemsView));
    m_rewardDelegate = new ValueBarDelegate(m_itemsView);
    m_itemsView->setItemDelegateForColumn(SampleItemsModel::Reward, m_rewardDelegate);
    m_itemsView->horizontalHeader()->setSectionResizeMode(SampleItemsModel::Title, QHeaderView::Stretch);
    m_itemsView->verticalHeader()->setDefaultSectionSize(m_itemsView->fontMetrics().height() + 10);
    m_itemsView->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    dl->addWidget(m_itemsView);
    m_breakdownTitle = sectionTitle(details);
    dl->addWidget(m_breakdownTitle);
    m_breakdown = new QTableWidget(0, 2, details);
    m_breakdown->verticalHeader()->hide();
    m_breakdown->horizontalHeader()->hide();
    m_breakdown->setShowGrid(false);
    m_breakdown->horizontalHeader()->setSectionResizeMode(0, QHeaderView::ResizeToContents);
    m_breakdown->horizontalHeader()->setSectionResizeMode(1, QHeaderView::Stretch);
    m_breakdown->verticalHeader()->setDefaultSectionSize(m_breakdown->fontMetrics().height() + 8);
    m_breakdown->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_breakdownDelegate = new ValueBarDelegate(m_breakdown);
    m_breakdown->setItemDelegateForColumn(1, m_breakdownDelegate);
    m_breakdown->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    dl->addWidget(m_breakdown);
    m_outputTitle = sectionTitle(details);
    dl->addWidget(m_outputTitle);
    m_output = new QPlainTextEdit(details);
    m_output->setReadOnly(true);
    m_output->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_output->setMaximumHeight(110);
    dl->addWidget(m_output);
    dl->addStretch(1);
    scroll->setWidget(details);
    split->addWidget(m_table);
    split->addWidget(scroll);
    split->setStretchFactor(0, 5);
    split->setStretchFactor(1, 6);

    retranslate();

    connect(m_taskCombo, qOverload<int>(&QComboBox::currentIndexChanged), this,
            [this] { m_proxy->setTask(m_taskCombo->currentData().toString()); updateCount(); });
    connect(m_variantCombo, qOverload<int>(&QComboBox::currentIndexChanged), this,
            [this] { m_proxy->setVariant(m_variantCombo->currentData().toString()); updateCount(); });
    connect(m_hitCombo, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] {
        m_proxy->setHitFilter(static_cast<SampleFilterProxy::HitFilter>(m_hitCombo->currentData().toInt()));
        updateCount();
    });
    connect(m_illegalCombo, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] {
        m_proxy->setIllegalFilter(
            static_cast<SampleFilterProxy::IllegalFilter>(m_illegalCombo->currentData().toInt()));
        updateCount();
    });
    connect(m_search, &QLineEdit::textChanged, this, [this](const QString& t) {
        m_proxy->setSearchText(t);
        updateCount();
    });
    connect(m_table->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            [this](const QModelIndex& current) {
                showSample(current.isValid() ? m_proxy->mapToSource(current).row() : -1);
            });
    showSample(-1);
}

void SampleListView::retranslate()
{
    m_taskLabel->setText(tr("Task"));
    m_variantLabel->setText(tr("Variant"));
    {
        const QSignalBlocker b(m_hitCombo);
        const int cur = std::max(0, m_hitCombo->currentIndex());
        m_hitCombo->clear();
        m_hitCombo->addItem(tr("Hits and misses"), static_cast<int>(SampleFilterProxy::HitFilter::Any));
        m_hitCombo->addItem(icon(QStringLiteral("badge-hit")), tr("Hits only"),
                            static_cast<int>(SampleFilterProxy::HitFilter::Hit));
        m_hitCombo->addItem(tr("Misses only"), static_cast<int>(SampleFilterProxy::HitFilter::Miss));
        m_hitCombo->setCurrentIndex(cur);
    }
    {
        const QSignalBlocker b(m_illegalCombo);
        const int cur = std::max(0, m_illegalCombo->currentIndex());
        using F = SampleFilterProxy::IllegalFilter;
        m_illegalCombo->clear();
        m_illegalCombo->addItem(tr("Any legality"), static_cast<int>(F::Any));
        m_illegalCombo->addItem(icon(badgeIconName(ItemBadge::Legal)), tr("All items legal"),
                                static_cast<int>(F::AllLegal));
        m_illegalCombo->addItem(icon(QStringLiteral("warning")), tr("Any illegal item"),
                                static_cast<int>(F::AnyIllegal));
        m_illegalCombo->addItem(icon(badgeIconName(ItemBadge::NonExistent)), tr("Non-existent items"),
                                static_cast<int>(F::NonExistent));
        m_illegalCombo->addItem(icon(badgeIconName(ItemBadge::Duplicate)), tr("Duplicates"),
                                static_cast<int>(F::Duplicate));
        m_illegalCombo->addItem(icon(badgeIconName(ItemBadge::InHistory)), tr("Items from the history"),
                                static_cast<int>(F::InHistory));
        m_illegalCombo->addItem(icon(badgeIconName(ItemBadge::BeyondK)), tr("Items beyond k"),
                                static_cast<int>(F::BeyondK));
        m_illegalCombo->setCurrentIndex(cur);
    }
    m_search->setPlaceholderText(tr("Search titles, instructions, outputs…"));
    m_instructionTitle->setText(tr("Instruction"));
    m_historyTitle->setText(tr("History"));
    m_listTitle->setText(tr("Generated list"));
    m_breakdownTitle->setText(tr("List reward"));
    m_outputTitle->setText(tr("Raw output"));
    refreshChoices();
    updateCount();
    showSample(m_current);
}

void SampleListView::changeEvent(QEvent* event)
{
    QWidget::changeEvent(event);
    if (event->type() == QEvent::LanguageChange)
        retranslate();
}

void SampleListView::refreshChoices()
{
    std::set<std::string> tasks, variants;
    for (const auto& s : m_model->samples()) {
        tasks.insert(s.task);
        variants.insert(s.variant);
    }
    auto fill = [](QComboBox* combo, const std::set<std::string>& values, const QString& all) {
        const QString current = combo->currentData().toString();
        const QSignalBlocker b(combo);
        combo->clear();
        combo->addItem(all, QString());
        for (const auto& v : values)
            combo->addItem(QString::fromStdString(v), QString::fromStdString(v));
        const int idx = combo->findData(current);
        combo->setCurrentIndex(idx >= 0 ? idx : 0);
    };
    fill(m_taskCombo, tasks, tr("All tasks"));
    fill(m_variantCombo, variants, tr("All variants"));
    m_proxy->setTask(m_taskCombo->currentData().toString());
    m_proxy->setVariant(m_variantCombo->currentData().toString());
}

void SampleListView::updateCount()
{
    m_count->setText(tr("%1 of %n sample(s)", nullptr, m_model->rowCount()).arg(m_proxy->rowCount()));
}

void SampleListView::setSamples(std::vector<SampleView> samples)
{
    m_model->setSamples(std::move(samples));
    refreshChoices();
    m_table->resizeColumnsToContents();
    updateCount();
    if (!selectVisibleRow(0))
        showSample(-1);
}

void SampleListView::appendSamples(const std::vector<SampleView>& samples)
{
    m_model->appendSamples(samples);
    refreshChoices();
    updateCount();
    if (m_current < 0)
        selectVisibleRow(0);
}

void SampleListView::setTaskFilter(const QString& task)
{
    const int idx = m_taskCombo->findData(task);
    if (idx >= 0) {
        m_taskCombo->setCurrentIndex(idx);
    } else {  // not among the loaded tasks: filter anyway (shows nothing)
        m_proxy->setTask(task);
        updateCount();
    }
}

void SampleListView::setVariantFilter(const QString& variant)
{
    const int idx = m_variantCombo->findData(variant);
    if (idx >= 0) {
        m_variantCombo->setCurrentIndex(idx);
    } else {
        m_proxy->setVariant(variant);
        updateCount();
    }
}

void SampleListView::setHitFilter(SampleFilterProxy::HitFilter f)
{
    m_hitCombo->setCurrentIndex(m_hitCombo->findData(static_cast<int>(f)));
}

void SampleListView::setIllegalFilter(SampleFilterProxy::IllegalFilter f)
{
    m_illegalCombo->setCurrentIndex(m_illegalCombo->findData(static_cast<int>(f)));
}

void SampleListView::setSearchText(const QString& text)
{
    m_search->setText(text);
}

int SampleListView::visibleCount() const
{
    return m_proxy->rowCount();
}

bool SampleListView::selectVisibleRow(int row)
{
    if (row < 0 || row >= m_proxy->rowCount())
        return false;
    const QModelIndex idx = m_proxy->index(row, 0);
    m_table->selectionModel()->setCurrentIndex(
        idx, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
    showSample(m_proxy->mapToSource(idx).row());
    return true;
}

const SampleView* SampleListView::currentSample() const
{
    if (m_current < 0 || m_current >= m_model->rowCount())
        return nullptr;
    return &m_model->sample(m_current);
}

QString SampleListView::detailsHeaderText() const
{
    return m_header->text();
}

void SampleListView::showSample(int sourceRow)
{
    const bool changed = sourceRow != m_current;
    m_current = sourceRow;
    const SampleView* s = currentSample();
    if (!s) {
        m_header->setText(tr("<i>Select a sample to see its generated list.</i>"));
        m_instruction->clear();
        m_history->clear();
        m_items->clear();
        m_breakdown->setRowCount(0);
        m_output->clear();
        if (changed)
            Q_EMIT currentSampleChanged(-1);
        return;
    }
    QString header = QStringLiteral("<b>%1</b> · %2 · %3 · k = %4")
                         .arg(esc(s->task), esc(s->variant), tr("user %1").arg(s->user))
                         .arg(s->k);
    if (!s->target_category.empty())
        header += QStringLiteral(" · ") + tr("target category <b>%1</b>").arg(esc(s->target_category));
    const int illegal = countIllegal(*s);
    header += QStringLiteral("<br><span style=\"font-size:small\">%1 · %2 · %3</span>")
                  .arg(sampleIsHit(*s) ? tr("hit") : tr("miss"),
                       tr("%n illegal item(s)", nullptr, illegal),
                       std::isfinite(s->list_reward)
                           ? tr("list reward %1").arg(QString::number(s->list_reward, 'f', 3))
                           : tr("no list reward"));
    m_header->setText(header);
    m_instruction->setText(QString::fromStdString(s->intention));
    QStringList hist;
    const QColor text = palette().color(QPalette::Text), base = palette().color(QPalette::Window);
    const QColor muted((text.red() + base.red()) / 2, (text.green() + base.green()) / 2,
                       (text.blue() + base.blue()) / 2);
    for (size_t i = 0; i < s->history.size(); ++i)
        hist << QStringLiteral("<span style=\"color:%1\">%2.</span>&nbsp;%3")
                    .arg(muted.name())
                    .arg(i + 1)
                    .arg(esc(s->history[i]));
    QString histText = hist.join(QStringLiteral(" &nbsp;·&nbsp; "));
    if (!s->target_title.empty())
        histText += QStringLiteral("<br>") + tr("next (held out): <b>%1</b>").arg(esc(s->target_title));
    m_history->setText(hist.isEmpty() ? tr("<i>(empty)</i>") : histText);

    m_items->setSample(*s);
    double maxAbs = 0;
    for (const auto& item : s->items)
        if (std::isfinite(item.reward))
            maxAbs = std::max(maxAbs, std::abs(item.reward));
    m_rewardDelegate->setMaxAbs(maxAbs > 0 ? maxAbs : 1.0);
    m_itemsView->resizeColumnToContents(SampleItemsModel::Position);
    m_itemsView->resizeColumnToContents(SampleItemsModel::Status);
    m_itemsView->resizeColumnToContents(SampleItemsModel::Category);
    m_itemsView->resizeColumnToContents(SampleItemsModel::Rank);
    m_itemsView->setColumnWidth(SampleItemsModel::Reward, 150);
    // Both tables take the height of their rows; the details pane scrolls.
    auto fitHeight = [](QTableView* view, int rows, bool header) {
        const int h = (header ? view->horizontalHeader()->sizeHint().height() : 0) +
                      rows * view->verticalHeader()->defaultSectionSize() + 2 * view->frameWidth() + 2;
        view->setFixedHeight(std::max(h, view->verticalHeader()->defaultSectionSize() + 8));
    };
    fitHeight(m_itemsView, m_items->rowCount(), true);

    m_breakdown->setRowCount(0);
    double bMax = 0;
    auto addRow = [&](const QString& name, double value, bool bold) {
        const int r = m_breakdown->rowCount();
        m_breakdown->insertRow(r);
        auto* n = new QTableWidgetItem(name);
        auto* v = new QTableWidgetItem(std::isfinite(value) ? QString::number(value, 'f', 3) : QString());
        if (std::isfinite(value))
            v->setData(BarValueRole, value);
        if (bold) {
            QFont f = n->font();
            f.setBold(true);
            n->setFont(f);
            v->setFont(f);
        }
        m_breakdown->setItem(r, 0, n);
        m_breakdown->setItem(r, 1, v);
        if (std::isfinite(value))
            bMax = std::max(bMax, std::abs(value));
    };
    for (const auto& [name, value] : s->breakdown)
        addRow(QString::fromStdString(name), value, false);
    if (std::isfinite(s->list_reward))
        addRow(tr("total"), s->list_reward, true);
    m_breakdownDelegate->setMaxAbs(bMax > 0 ? bMax : 1.0);
    fitHeight(m_breakdown, m_breakdown->rowCount(), false);
    m_output->setPlainText(QString::fromStdString(s->output));
    if (changed)
        Q_EMIT currentSampleChanged(sourceRow);
}

}  // namespace recalign::widgets
