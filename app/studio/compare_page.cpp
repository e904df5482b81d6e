// ComparePage implementation.
#include "app/studio/compare_page.h"
#include "app/studio/themed_icons.h"

#include "widgets/ablation_table.h"
#include "widgets/icons.h"

#include <QDir>
#include <QEvent>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QMessageBox>
#include <QScrollArea>
#include <QTabWidget>
#include <QToolButton>
#include <QVBoxLayout>

namespace recalign::studio {

namespace compare_page_detail {
bool formatFromSuffix(const QString& path, core::ExportFormat* format)
{
    const QString ext = QFileInfo(path).suffix().toLower();
    if (ext == QLatin1String("csv"))
        *format = core::ExportFormat::Csv;
    else if (ext == QLatin1String("tex"))
        *format = core::ExportFormat::Latex;
    else if (ext == QLatin1String("md"))
        *format = core::ExportFormat::Markdown;
    else
        return false;
    return true;
}
}  // namespace compare_page_detail

ComparePage::ComparePage(QWidget* parent) : QWidget(parent)
{
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(12, 8, 12, 8);
    layout->setSpacing(8);
    auto* head = new QHBoxLayout;
    m_caption = new QLabel(this);
    m_caption->setWordWrap(true);
    QFont f = m_caption->font();
    f.setBold(true);
    m_caption->setFont(f);
    m_exportAll = new QToolButton(this);
    withIcon(m_exportAll, QStringLiteral("export"));
    m_exportAll->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    head->addWidget(m_caption, 1);
    head->addWidget(m_exportAll);
    layout->addLayout(head);
    m_empty = new QLabel(this);
    m_empty->setWordWrap(true);
    m_empty->setAlignment(Qt::AlignCenter);
    m_empty->setMinimumHeight(60);
    layout->addWidget(m_empty);
    m_tabs = new QTabWidget(this);
    m_tabs->setDocumentMode(true);
    for (size_t i = 0; i < core::allTableKinds().size(); ++i) {
        // A table's tool row can be wider than the window: it scrolls instead of widening it.
        auto* scroll = new QScrollArea(m_tabs);
        scroll->setWidgetResizable(true);
        scroll->setFrameShape(QFrame::NoFrame);
        auto* t = new widgets::AblationTable(scroll);
        scroll->setWidget(t);
        m_tables.push_back(t);
        m_tabs->addTab(scroll, QString());
    }
    layout->addWidget(m_tabs, 1);
    connect(m_exportAll, &QToolButton::clicked, this, &ComparePage::saveAllWithDialog);
    retranslate();
    setTables({}, QString());
}

void ComparePage::retranslate()
{
    const QStringList names = {tr("I0 · sequential"), tr("I1 · category control"), tr("I2 · proportion control"),
                               tr("Formatting")};
    for (int i = 0; i < m_tabs->count() && i < names.size(); ++i)
        m_tabs->setTabText(i, names[i]);
    m_exportAll->setText(tr("Export all…"));
    m_exportAll->setToolTip(tr("Write the four tables to one CSV, LaTeX or Markdown file"));
    m_empty->setText(tr("No evaluation results yet. Select finished runs in the Runs panel; each "
                        "evaluated variant becomes a row."));
    if (m_captionText.isEmpty())
        m_caption->setText(tr("Compare"));
}

void ComparePage::changeEvent(QEvent* event)
{
    QWidget::changeEvent(event);
    if (event->type() == QEvent::LanguageChange)
        retranslate();
}

void ComparePage::setTables(const std::vector<core::Table>& tables, const QString& caption)
{
    const bool wasEmpty = rowCount() == 0;
    m_data = tables;
    m_captionText = caption;
    m_caption->setText(caption.isEmpty() ? tr("Compare") : caption);
    const auto kinds = core::allTableKinds();
    for (size_t i = 0; i < m_tables.size(); ++i) {
        core::Table t;
        for (const core::Table& candidate : tables)
            if (candidate.id == core::tableKindName(kinds[i]))
                t = candidate;
        m_tables[i]->setTable(t);
    }
    const bool any = rowCount() > 0;
    for (size_t i = 0; i < m_tables.size(); ++i)  // tabs without rows are greyed out
        m_tabs->setTabEnabled(static_cast<int>(i), !any || !m_tables[i]->table().rows.empty());
    if (any && wasEmpty)
        m_tabs->setCurrentIndex(0);
    m_empty->setVisible(!any);
    m_tabs->setVisible(any);
    m_exportAll->setEnabled(any);
    if (any && !m_tabs->isTabEnabled(m_tabs->currentIndex()))
        for (int i = 0; i < m_tabs->count(); ++i)
            if (m_tabs->isTabEnabled(i)) {
                m_tabs->setCurrentIndex(i);
                break;
            }
}

widgets::AblationTable* ComparePage::table(core::TableKind kind) const
{
    const auto kinds = core::allTableKinds();
    for (size_t i = 0; i < kinds.size() && i < m_tables.size(); ++i)
        if (kinds[i] == kind)
            return m_tables[i];
    return nullptr;
}

int ComparePage::rowCount() const
{
    int n = 0;
    for (const auto* t : m_tables)
        n += static_cast<int>(t->table().rows.size());
    return n;
}

std::string ComparePage::exportAll(core::ExportFormat format) const
{
    std::vector<core::Table> tables;  // all four, as `recalign export --table all` writes them
    for (const auto* t : m_tables)
        tables.push_back(t->table());
    return core::exportTables(tables, format);
}

bool ComparePage::saveAll(const QString& path)
{
    core::ExportFormat format;
    if (!compare_page_detail::formatFromSuffix(path, &format))
        return false;
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate))
        return false;
    return f.write(QByteArray::fromStdString(exportAll(format))) >= 0;
}

void ComparePage::saveAllWithDialog()
{
    const QString path = QFileDialog::getSaveFileName(this, tr("Export tables"), QStringLiteral("tables.tex"),
                                                      tr("LaTeX (*.tex);;CSV (*.csv);;Markdown (*.md)"));
    if (path.isEmpty())
        return;
    if (!saveAll(path))
        QMessageBox::warning(this, tr("Export tables"),
                             tr("Could not write %1 (use a .tex, .csv or .md name).").arg(QDir::toNativeSeparators(path)));
}

}  // namespace recalign::studio
