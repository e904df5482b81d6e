// MonitorPage: the Monitor tab's composition: the metric dashboard, what it shows, and the
// log panel with the running job's Observer::onLog lines. "Export CSV…" saves every visible
// chart's visible series as one CSV file (series_math.h describes the columns).
#pragma once

#include <QWidget>

class QLabel;
class QPlainTextEdit;
class QToolButton;

namespace recalign::widgets {
class MetricDashboard;
}

namespace recalign::studio {

class MonitorPage : public QWidget {
    Q_OBJECT
public:
    explicit MonitorPage(QWidget* parent = nullptr);

    widgets::MetricDashboard* dashboard() const { return m_dashboard; }
    QPlainTextEdit* logView() const { return m_log; }
    void setCaption(const QString& text);
    // Appends a log line (core::LogLevel as int); errors and warnings are coloured.
    void appendLog(int level, const QString& text);
    int logLineCount() const;
    // Writes the visible charts' data as CSV; false when the file cannot be written.
    bool exportCsv(const QString& path);

Q_SIGNALS:
    void clearRequested();

protected:
    void changeEvent(QEvent* event) override;

private:
    void retranslate();
    void exportCsvWithDialog();

    QLabel* m_caption = nullptr;
    QToolButton* m_clear = nullptr;
    QToolButton* m_exportCsv = nullptr;
    QToolButton* m_clearLog = nullptr;
    QLabel* m_logTitle = nullptr;
    widgets::MetricDashboard* m_dashboard = nullptr;
    QPlainTextEdit* m_log = nullptr;
    QString m_captionText;
};

}  // namespace recalign::studio
