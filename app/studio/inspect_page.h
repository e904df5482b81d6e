// InspectPage: the Inspect tab: every evaluated sample of the selected runs in a SampleListView
// (filters by task, variant, hit and illegal kind, text search; badges per generated item).
#pragma once

#include "widgets/sample_model.h"

#include <QWidget>

#include <vector>

class QLabel;

namespace recalign::widgets {
class SampleListView;
}

namespace recalign::studio {

class InspectPage : public QWidget {
    Q_OBJECT
public:
    explicit InspectPage(QWidget* parent = nullptr);

    void setSamples(std::vector<widgets::SampleView> samples, const QString& caption);
    widgets::SampleListView* view() const { return m_view; }

protected:
    void changeEvent(QEvent* event) override;

private:
    void retranslate();

    QLabel* m_caption = nullptr;
    widgets::SampleListView* m_view = nullptr;
    QString m_captionText;
};

}  // namespace recalign::studio
