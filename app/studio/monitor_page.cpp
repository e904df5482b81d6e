// MonitorPage implementation.
#include "app/studio/monitor_page.h"
#include "app/studio/themed_icons.h"

#include "widgets/icons.h"
#include "widgets/metric_dashboard.h"
#include "widgets/theme.h"

#include <QDateTime>
#include <QEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QSplitter>
#include <QToolButton>
#include <QVBoxLayout>

namespace recalign::studio {

MonitorPage::MonitorPage(QWidget* parent) : QWidget(parent)
{
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(0);

    auto* head = new QHBoxLayout;
    head->setContentsMargins(12, 8, 12, 4);
    m_caption = new QLabel(this);
    m_caption->setTextFormat(Qt::PlainText);
    m_caption->setWordWrap(true);
    QFont f = m_caption->font();
    f.setBold(true);
    m_caption->setFont(f);
    m_clear = new QToolButton(this);
    withIcon(m_clear, QStringLiteral("remove"));
    m_clear->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    m_exportCsv = new QToolButton(this);
    withIcon(m_exportCsv, QStringLiteral("export"));
    m_exportCsv->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    head->addWidget(m_caption, 1);
    head->addWidget(m_exportCsv);
    head->addWidget(m_clear);
    layout->addLayout(head);

    auto* split = new QSplitter(Qt::Vertical, this);
    m_dashboard = new widgets::MetricDashboard(split);
    m_dashboard->setHideEmpty(true);  // charts appear as their metrics arrive (TensorBoard-like)
    auto* logBox = new QWidget(split);
    auto* logLayout = new QVBoxLayout(logBox);
    logLayout->setContentsMargins(12, 4, 12, 8);
    logLayout->setSpacing(4);
    auto* logHead = new QHBoxLayout;
    m_logTitle = new QLabel(logBox);
    m_clearLog = new QToolButton(logBox);
    m_clearLog->setAutoRaise(true);
    withIcon(m_clearLog, QStringLiteral("remove"));
    logHead->addWidget(m_logTitle, 1);
    logHead->addWidget(m_clearLog);
    logLayout->addLayout(logHead);
    m_log = new QPlainTextEdit(logBox);
    m_log->setReadOnly(true);
    m_log->setMaximumBlockCount(10000);
    m_log->setLineWrapMode(QPlainTextEdit::NoWrap);
    QFont mono(QStringLiteral("monospace"));
    mono.setStyleHint(QFont::Monospace);
    mono.setPointSizeF(font().pointSizeF() * 0.92);
    m_log->setFont(mono);
    logLayout->addWidget(m_log);
    split->addWidget(m_dashboard);
    split->addWidget(logBox);
    split->setStretchFactor(0, 4);
    split->setStretchFactor(1, 1);
    split->setSizes({600, 160});
    layout->addWidget(split, 1);

    connect(m_clear, &QToolButton::clicked, this, &MonitorPage::clearRequested);
    connect(m_exportCsv, &QToolButton::clicked, this, &MonitorPage::exportCsvWithDialog);
    connect(m_clearLog, &QToolButton::clicked, m_log, &QPlainTextEdit::clear);
    retranslate();
}

void MonitorPage::retranslate()
{
    m_clear->setText(tr("Clear charts"));
    m_clear->setToolTip(tr("Remove every run from the charts"));
    m_exportCsv->setText(tr("Export CSV…"));
    m_exportCsv->setToolTip(tr("Save the data of every visible chart as one CSV file"));
    m_logTitle->setText(tr("Log"));
    m_clearLog->setToolTip(tr("Clear the log"));
    if (m_captionText.isEmpty())
        m_caption->setText(tr("Select runs in the Runs panel, or start one from Configure."));
}

void MonitorPage::changeEvent(QEvent* event)
{
    QWidget::changeEvent(event);
    if (event->type() == QEvent::LanguageChange)
        retranslate();
}

void MonitorPage::setCaption(const QString& text)
{
    m_captionText = text;
    if (text.isEmpty())
        retranslate();
    else
        m_caption->setText(text);
}

void MonitorPage::appendLog(int level, const QString& text)
{
    static const char* const kLevels[] = {"debug", "info", "warning", "error"};
    const int l = std::clamp(level, 0, 3);
    const QString stamp = QDateTime::currentDateTime().toString(QStringLiteral("HH:mm:ss"));
    const QString line = QStringLiteral("%1  %2  %3").arg(stamp, QString::fromLatin1(kLevels[l]).leftJustified(7), text);
    if (l >= 2) {
        const QColor c = l == 3 ? widgets::errorTextColor(palette()) : QColor(196, 130, 20);
        m_log->appendHtml(QStringLiteral("<span style=\"color:%1\">%2</span>")
                              .arg(c.name(), line.toHtmlEscaped().replace(QLatin1Char(' '), QStringLiteral("&nbsp;"))));
    } else {
        m_log->appendPlainText(line);
    }
}

int MonitorPage::logLineCount() const { return m_log->document()->blockCount(); }

bool MonitorPage::exportCsv(const QString& path)
{
    return m_dashboard->exportCsv(path);
}

void MonitorPage::exportCsvWithDialog()
{
    QString path = QFileDialog::getSaveFileName(this, tr("Export visible charts as CSV"), tr("charts.csv"),
                                                tr("CSV file (*.csv)"));
    if (path.isEmpty())
        return;
    if (QFileInfo(path).suffix().isEmpty())
        path += QStringLiteral(".csv");
    if (!exportCsv(path))
        QMessageBox::warning(this, tr("Export CSV"), tr("Could not write %1.").arg(path));
}

}  // namespace recalign::studio
