// MetricsBuffer: the hand-off of step metrics from a worker thread to the GUI thread. The worker
// appends under a mutex; the GUI drains everything at once on a timer (STYLE.md §3.4), so the
// event loop sees at most one notification per drain however fast steps run.
#pragma once

#include <QMetaType>
#include <QString>
#include <QVector>

#include <mutex>

namespace recalign::studio {

struct MetricPoint {
    QString stage;
    QString name;
    qint64 step = 0;
    qint64 total_steps = 0;  // the stage's step count (0 = unknown), for progress displays
    double wall_time = 0.0;  // seconds since the Unix epoch
    double value = 0.0;
};

class MetricsBuffer {
public:
    // Appends points; returns true when the buffer was empty before (caller then notifies).
    bool append(const QVector<MetricPoint>& points);
    // Takes everything buffered so far.
    QVector<MetricPoint> take();
    int size() const;

private:
    mutable std::mutex m_mutex;
    QVector<MetricPoint> m_points;
};

}  // namespace recalign::studio

Q_DECLARE_METATYPE(recalign::studio::MetricPoint)
