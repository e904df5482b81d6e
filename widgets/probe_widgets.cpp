// Probe panel pieces: token log-prob heat strip and history editor (see probe_widgets.h).
#include "widgets/probe_widgets.h"

#include "widgets/icons.h"
#include "widgets/theme.h"

#include <QCompleter>
#include <QEvent>
#include <QHBoxLayout>
#include <QHelpEvent>
#include <QLabel>
#include <QLineEdit>
#include <QLinearGradient>
#include <QListWidget>
#include <QPainter>
#include <QStringListModel>
#include <QToolButton>
#include <QToolTip>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <limits>

namespace recalign::widgets {

// ---- colour ------------------------------------------------------------------------------------

QColor logProbColor(double logprob, bool dark)
{
    if (!std::isfinite(logprob))
        logprob = -7.0;
    const double t = std::clamp(1.0 + logprob / 7.0, 0.0, 1.0);  // 0 at p <= e^-7, 1 at p = 1
    const int hue = static_cast<int>(std::lround(120.0 * t));    // red -> yellow -> green
    return QColor::fromHsv(hue, dark ? 150 : 110, dark ? 120 : 250);
}

// ---- TokenHeatStrip ----------------------------------------------------------------------------

namespace probe_widgets_detail {

constexpr int kPadX = 4;
constexpr int kGap = 2;
constexpr int kSpaceGap = 6;
constexpr int kLineGap = 4;

QString chipLabel(const std::string& text)
{
    QString s = QString::fromStdString(text);
    if (s.trimmed().isEmpty() && !s.isEmpty())
        return s.contains(QLatin1Char('\n')) ? QStringLiteral("↵") : QStringLiteral("␣");
    s.replace(QLatin1Char('\n'), QStringLiteral("↵"));
    s.replace(QLatin1Char('\t'), QStringLiteral("⇥"));
    return s.trimmed();
}

}  // namespace probe_widgets_detail

TokenHeatStrip::TokenHeatStrip(QWidget* parent) : QWidget(parent)
{
    setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Preferred);
    setMouseTracking(true);
    setAttribute(Qt::WA_Hover);
}

void TokenHeatStrip::setTokens(std::vector<TokenLogProb> tokens)
{
    m_tokens = std::move(tokens);
    relayout();
    updateGeometry();
    update();
}

std::vector<TokenHeatStrip::Chip> TokenHeatStrip::layoutChips(int width, int* height) const
{
    using namespace probe_widgets_detail;
    const QFontMetrics fm(font());
    const int chipH = fm.height() + 6;
    std::vector<Chip> chips;
    chips.reserve(m_tokens.size());
    int x = 0, y = 0;
    for (const auto& token : m_tokens) {
        Chip c;
        c.label = chipLabel(token.text);
        const int w = fm.horizontalAdvance(c.label) + 2 * kPadX;
        const bool space = !token.text.empty() && token.text.front() == ' ';
        int at = x == 0 ? 0 : x + (space ? kSpaceGap : kGap);
        if (at + w > width && x > 0) {
            y += chipH + kLineGap;
            at = 0;
        }
        c.rect = QRect(at, y, w, chipH);
        x = at + w;
        chips.push_back(c);
        if (token.text.find('\n') != std::string::npos) {  // a newline token ends the line
            y += chipH + kLineGap;
            x = 0;
        }
    }
    const int legend = fm.height() + 16;
    *height = (chips.empty() ? 0 : chips.back().rect.bottom() + 1 + kLineGap) + legend;
    return chips;
}

void TokenHeatStrip::relayout()
{
    int h = 0;
    m_chips = layoutChips(std::max(80, width()), &h);
    m_legendHeight = QFontMetrics(font()).height() + 16;
}

int TokenHeatStrip::heightForWidth(int width) const
{
    int h = 0;
    layoutChips(std::max(80, width), &h);
    return h;
}

QSize TokenHeatStrip::sizeHint() const
{
    return {480, heightForWidth(480)};
}

QSize TokenHeatStrip::minimumSizeHint() const
{
    return {160, QFontMetrics(font()).height() * 2 + 22};
}

void TokenHeatStrip::resizeEvent(QResizeEvent* event)
{
    QWidget::resizeEvent(event);
    relayout();
}

int TokenHeatStrip::tokenAt(const QPoint& pos) const
{
    for (size_t i = 0; i < m_chips.size(); ++i)
        if (m_chips[i].rect.contains(pos))
            return static_cast<int>(i);
    return -1;
}

QString TokenHeatStrip::tokenToolTip(int index) const
{
    if (index < 0 || index >= static_cast<int>(m_tokens.size()))
        return {};
    const auto& t = m_tokens[static_cast<size_t>(index)];
    QString shown = QString::fromStdString(t.text);
    shown.replace(QLatin1Char('\n'), QStringLiteral("\\n"));
    return tr("token %1: \"%2\"\nlog p = %3   p = %4")
        .arg(index + 1)
        .arg(shown)
        .arg(QString::number(t.logprob, 'f', 3))
        .arg(QString::number(std::exp(t.logprob), 'g', 3));
}

double TokenHeatStrip::meanLogProb() const
{
    if (m_tokens.empty())
        return std::numeric_limits<double>::quiet_NaN();
    double sum = 0;
    for (const auto& t : m_tokens)
        sum += t.logprob;
    return sum / static_cast<double>(m_tokens.size());
}

bool TokenHeatStrip::event(QEvent* event)
{
    if (event->type() == QEvent::ToolTip) {
        auto* help = static_cast<QHelpEvent*>(event);
        const int i = tokenAt(help->pos());
        if (i >= 0)
            QToolTip::showText(help->globalPos(), tokenToolTip(i), this, m_chips[static_cast<size_t>(i)].rect);
        else
            QToolTip::hideText();
        return true;
    }
    if (event->type() == QEvent::FontChange)
        relayout();
    return QWidget::event(event);
}

void TokenHeatStrip::paintEvent(QPaintEvent*)
{
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    const bool dark = isDark(palette());
    const QColor text = palette().color(QPalette::Text);
    for (size_t i = 0; i < m_chips.size(); ++i) {
        const Chip& c = m_chips[i];
        p.setPen(Qt::NoPen);
        p.setBrush(logProbColor(m_tokens[i].logprob, dark));
        p.drawRoundedRect(QRectF(c.rect).adjusted(0.5, 0.5, -0.5, -0.5), 3, 3);
        p.setPen(dark ? QColor(240, 240, 240) : QColor(25, 25, 25));
        p.drawText(c.rect, Qt::AlignCenter, c.label);
    }
    // Legend: the colour scale and the sequence's mean log-prob / perplexity.
    const QFontMetrics fm(font());
    const int y = height() - m_legendHeight + 8;
    const QRect bar(0, y + 2, 140, fm.height() - 4);
    QLinearGradient g(bar.topLeft(), bar.topRight());
    for (int s = 0; s <= 7; ++s)
        g.setColorAt(s / 7.0, logProbColor(-7.0 + s, dark));
    p.setPen(Qt::NoPen);
    p.setBrush(g);
    p.drawRoundedRect(bar, 2, 2);
    QColor muted = text;
    muted.setAlpha(170);
    p.setPen(muted);
    const double mean = meanLogProb();
    QString legend = tr("p ≤ 0.001 … p = 1");
    if (std::isfinite(mean))
        legend += QStringLiteral("   ·   ") +
                  tr("%n token(s), mean log p %1, perplexity %2", nullptr, static_cast<int>(m_tokens.size()))
                      .arg(QString::number(mean, 'f', 3), QString::number(std::exp(-mean), 'f', 2));
    p.drawText(QRect(bar.right() + 8, y, width() - bar.right() - 8, fm.height()),
               Qt::AlignVCenter | Qt::AlignLeft, legend);
}

// ---- HistoryEditor -----------------------------------------------------------------------------

HistoryEditor::HistoryEditor(QWidget* parent) : QWidget(parent)
{
    auto* outer = new QVBoxLayout(this);
    outer->setContentsMargins(0, 0, 0, 0);
    outer->setSpacing(4);
    m_title = new QLabel(this);
    outer->addWidget(m_title);
    auto* row = new QHBoxLayout;
    row->setSpacing(4);
    m_input = new QLineEdit(this);
    m_input->setClearButtonEnabled(true);
    m_catalogueModel = new QStringListModel(this);
    m_completer = new QCompleter(m_catalogueModel, this);
    m_completer->setCaseSensitivity(Qt::CaseInsensitive);
    m_completer->setFilterMode(Qt::MatchContains);
    m_completer->setCompletionMode(QCompleter::PopupCompletion);
    m_completer->setMaxVisibleItems(12);
    m_input->setCompleter(m_completer);
    m_add = new QToolButton(this);
    m_add->setIcon(icon(QStringLiteral("add")));
    row->addWidget(m_input, 1);
    row->addWidget(m_add);
    outer->addLayout(row);

    auto* body = new QHBoxLayout;
    body->setSpacing(4);
    m_list = new QListWidget(this);
    m_list->setDragDropMode(QAbstractItemView::InternalMove);
    m_list->setAlternatingRowColors(true);
    body->addWidget(m_list, 1);
    auto* buttons = new QVBoxLayout;
    buttons->setSpacing(2);
    m_up = new QToolButton(this);
    m_up->setIcon(icon(QStringLiteral("up")));
    m_down = new QToolButton(this);
    m_down->setIcon(icon(QStringLiteral("down")));
    m_remove = new QToolButton(this);
    m_remove->setIcon(icon(QStringLiteral("remove")));
    m_clear = new QToolButton(this);
    m_clear->setIcon(icon(QStringLiteral("delete")));
    for (QToolButton* b : {m_up, m_down, m_remove, m_clear})
        buttons->addWidget(b);
    buttons->addStretch(1);
    body->addLayout(buttons);
    outer->addLayout(body, 1);
    m_message = new QLabel(this);
    m_message->setWordWrap(true);
    m_message->setStyleSheet(QStringLiteral("color: %1").arg(errorTextColor(palette()).name()));
    m_message->setVisible(false);
    outer->addWidget(m_message);

    auto addCurrent = [this] {
        if (addTitle(m_input->text()))
            m_input->clear();
    };
    connect(m_input, &QLineEdit::returnPressed, this, addCurrent);
    connect(m_add, &QToolButton::clicked, this, addCurrent);
    connect(m_completer, qOverload<const QString&>(&QCompleter::activated), this, [this](const QString& t) {
        if (addTitle(t))
            QMetaObject::invokeMethod(m_input, &QLineEdit::clear, Qt::QueuedConnection);
    });
    connect(m_remove, &QToolButton::clicked, this, [this] { removeAt(m_list->currentRow()); });
    connect(m_up, &QToolButton::clicked, this, [this] { moveUp(m_list->currentRow()); });
    connect(m_down, &QToolButton::clicked, this, [this] { moveDown(m_list->currentRow()); });
    connect(m_clear, &QToolButton::clicked, this, [this] { setHistory({}); });
    connect(m_list, &QListWidget::currentRowChanged, this, &HistoryEditor::updateButtons);
    connect(m_list->model(), &QAbstractItemModel::rowsMoved, this, [this] {
        updateButtons();
        Q_EMIT historyChanged();
    });
    retranslate();
    updateButtons();
}

void HistoryEditor::retranslate()
{
    m_title->setText(tr("History (oldest first)"));
    m_input->setPlaceholderText(tr("Type a title from the catalogue…"));
    m_add->setToolTip(tr("Add to the history"));
    m_up->setToolTip(tr("Move up (earlier)"));
    m_down->setToolTip(tr("Move down (later)"));
    m_remove->setToolTip(tr("Remove the selected title"));
    m_clear->setToolTip(tr("Clear the history"));
}

void HistoryEditor::changeEvent(QEvent* event)
{
    QWidget::changeEvent(event);
    if (event->type() == QEvent::LanguageChange)
        retranslate();
}

void HistoryEditor::setCatalogue(const QStringList& titles)
{
    m_catalogueModel->setStringList(titles);
    m_canonical.clear();
    for (const QString& t : titles)
        m_canonical.insert(t.toLower(), t);
}

void HistoryEditor::setHistory(const QStringList& titles)
{
    m_list->clear();
    m_list->addItems(titles);
    m_message->setVisible(false);
    updateButtons();
    Q_EMIT historyChanged();
}

QStringList HistoryEditor::history() const
{
    QStringList out;
    for (int i = 0; i < m_list->count(); ++i)
        out << m_list->item(i)->text();
    return out;
}

bool HistoryEditor::addTitle(const QString& title)
{
    const QString t = title.trimmed();
    if (t.isEmpty())
        return false;
    QString canonical = t;
    if (!m_canonical.isEmpty()) {
        const auto it = m_canonical.constFind(t.toLower());
        if (it == m_canonical.constEnd()) {
            m_message->setText(tr("\"%1\" is not in the catalogue.").arg(t));
            m_message->setVisible(true);
            return false;
        }
        canonical = *it;
    }
    m_message->setVisible(false);
    m_list->addItem(canonical);
    m_list->setCurrentRow(m_list->count() - 1);
    updateButtons();
    Q_EMIT historyChanged();
    return true;
}

void HistoryEditor::removeAt(int row)
{
    if (row < 0 || row >= m_list->count())
        return;
    delete m_list->takeItem(row);
    updateButtons();
    Q_EMIT historyChanged();
}

void HistoryEditor::moveUp(int row)
{
    if (row <= 0 || row >= m_list->count())
        return;
    QListWidgetItem* item = m_list->takeItem(row);
    m_list->insertItem(row - 1, item);
    m_list->setCurrentRow(row - 1);
    Q_EMIT historyChanged();
}

void HistoryEditor::moveDown(int row)
{
    if (row < 0 || row + 1 >= m_list->count())
        return;
    QListWidgetItem* item = m_list->takeItem(row);
    m_list->insertItem(row + 1, item);
    m_list->setCurrentRow(row + 1);
    Q_EMIT historyChanged();
}

QString HistoryEditor::message() const
{
    return m_message->isHidden() ? QString() : m_message->text();
}

void HistoryEditor::updateButtons()
{
    const int row = m_list->currentRow();
    m_remove->setEnabled(row >= 0);
    m_up->setEnabled(row > 0);
    m_down->setEnabled(row >= 0 && row + 1 < m_list->count());
    m_clear->setEnabled(m_list->count() > 0);
}

}  // namespace recalign::widgets
