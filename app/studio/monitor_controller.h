// MonitorController: feeds the Monitor's MetricDashboard. Live metric batches from the
// RunController (one series per job and stage) and, for finished runs, the series stored in
// the run store (one per run and stage), with each series' run config for the legend's
// differing keys. Only the metrics the Monitor charts (monitorCharts()) are shown; the store
// keeps everything.
#pragma once

#include "app/studio/metrics_buffer.h"
#include "widgets/metric_dashboard.h"

#include "core/api/store_api.h"

#include <QList>
#include <QObject>
#include <QSet>
#include <QString>

#include <map>
#include <string>

namespace recalign::studio {

// The Monitor's charts, keyed by the trainers' metric names (core/train, core/sasrec).
QVector<widgets::MetricChartSpec> monitorCharts();

class MonitorController : public QObject {
    Q_OBJECT
public:
    explicit MonitorController(widgets::MetricDashboard* dashboard, QObject* parent = nullptr);

    // A job started: its batches go to series "<label> · <stage> (live)".
    void startLive(int ticket, const QString& label);
    // The live job's store run became known: its config names the live series in the legend.
    void setLiveRun(core::RunStore& store, qint64 runId);
    void appendLive(const QVector<MetricPoint>& points);
    // The job ended: its live series are replaced by the stored ones of `runId` (when > 0).
    void endLive(core::RunStore* store, int ticket, qint64 runId);

    // Shows the stored series of `runs` (replacing the stored runs shown before; the live job
    // stays). False with errorString() when the store cannot be read.
    bool showRuns(core::RunStore& store, const QList<qint64>& runs);
    QList<qint64> shownRuns() const { return m_shown; }
    void clear();
    QString errorString() const { return m_error; }

    qint64 livePointsShown() const { return m_livePoints; }
    int seriesCount() const { return static_cast<int>(m_series.size()); }

Q_SIGNALS:
    void contentChanged();

private:
    bool loadRun(core::RunStore& store, qint64 runId);
    QString liveKey(const QString& stage) const;

    widgets::MetricDashboard* m_dashboard;
    QSet<QString> m_keys;  // metric names charted
    QList<qint64> m_shown;
    std::map<QString, qint64> m_series;  // series key -> run id (0 = live)
    int m_liveTicket = 0;
    QString m_liveLabel;
    qint64 m_liveRun = 0;
    std::map<std::string, std::string> m_liveConfig;
    qint64 m_livePoints = 0;
    QString m_error;
};

}  // namespace recalign::studio
