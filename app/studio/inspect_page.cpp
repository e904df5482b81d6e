// InspectPage implementation.
#include "app/studio/inspect_page.h"

#include "widgets/sample_list_view.h"

#include <QEvent>
#include <QLabel>
#include <QVBoxLayout>

namespace recalign::studio {

InspectPage::InspectPage(QWidget* parent) : QWidget(parent)
{
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(12, 8, 12, 8);
    layout->setSpacing(6);
    m_caption = new QLabel(this);
    m_caption->setWordWrap(true);
    QFont f = m_caption->font();
    f.setBold(true);
    m_caption->setFont(f);
    layout->addWidget(m_caption);
    m_view = new widgets::SampleListView(this);
    layout->addWidget(m_view, 1);
    retranslate();
}

void InspectPage::retranslate()
{
    if (m_captionText.isEmpty())
        m_caption->setText(tr("Select evaluated runs in the Runs panel to inspect their generated lists."));
}

void InspectPage::changeEvent(QEvent* event)
{
    QWidget::changeEvent(event);
    if (event->type() == QEvent::LanguageChange)
        retranslate();
}

void InspectPage::setSamples(std::vector<widgets::SampleView> samples, const QString& caption)
{
    m_captionText = caption;
    if (caption.isEmpty())
        retranslate();
    else
        m_caption->setText(caption);
    m_view->setSamples(std::move(samples));
    if (m_view->visibleCount() > 0)
        m_view->selectVisibleRow(0);
}

}  // namespace recalign::studio
