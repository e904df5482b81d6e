// MetricsBuffer implementation.
#include "app/studio/metrics_buffer.h"

namespace recalign::studio {

bool MetricsBuffer::append(const QVector<MetricPoint>& points)
{
    std::lock_guard<std::mutex> lock(m_mutex);
    const bool wasEmpty = m_points.isEmpty();
    m_points += points;
    return wasEmpty && !points.isEmpty();
}

QVector<MetricPoint> MetricsBuffer::take()
{
    std::lock_guard<std::mutex> lock(m_mutex);
    QVector<MetricPoint> out;
    out.swap(m_points);
    return out;
}

int MetricsBuffer::size() const
{
    std::lock_guard<std::mutex> lock(m_mutex);
    return static_cast<int>(m_points.size());
}

}  // namespace recalign::studio
