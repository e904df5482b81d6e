// TrainingSession implementation.
#include "app/studio/training_session.h"

#ifdef __linux__
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace recalign::studio {

void lowerWorkerThreadPriority()
{
#ifdef __linux__
    // On Linux the nice value is per thread (setpriority with a thread id).
    const auto tid = static_cast<id_t>(syscall(SYS_gettid));
    const int current = getpriority(PRIO_PROCESS, tid);
    if (current < 10)
        setpriority(PRIO_PROCESS, tid, 10);
#endif
}

TrainingSession::TrainingSession(Job job, QObject* parent) : QObject(parent), m_job(std::move(job)) {}

void TrainingSession::onStageBegin(const std::string& stage, long totalSteps)
{
    Q_EMIT stageBegan(QString::fromStdString(stage), totalSteps);
}

void TrainingSession::onStageEnd(const std::string& stage) { Q_EMIT stageEnded(QString::fromStdString(stage)); }

void TrainingSession::onStep(const core::StepRecord& record)
{
    QVector<MetricPoint> points;
    points.reserve(static_cast<int>(record.metrics.size()));
    const QString stage = QString::fromStdString(record.stage);
    for (const auto& [name, value] : record.metrics)
        points.push_back({stage, QString::fromStdString(name), record.step, record.total_steps, record.wall_time, value});
    if (m_buffer.append(points))
        Q_EMIT metricsAvailable();
}

void TrainingSession::onSample(const core::SampleRecord& s)
{
    Q_EMIT sampleArrived(QString::fromStdString(s.stage), QString::fromStdString(s.task),
                         QString::fromStdString(s.prompt), QString::fromStdString(s.output),
                         QString::fromStdString(s.details_json));
}

void TrainingSession::onLog(core::LogLevel level, const std::string& text)
{
    Q_EMIT logLine(static_cast<int>(level), QString::fromStdString(text));
}

void TrainingSession::run()
{
    lowerWorkerThreadPriority();  // the GUI thread keeps its share of the CPU
    core::RunOutcome outcome;
    try {
        outcome = m_job(*this);
    } catch (const std::exception& e) {  // the job should not throw; never let it cross the thread
        outcome.error = core::Error{core::ErrorCode::Internal, e.what(), {}};
    }
    Q_EMIT finished(static_cast<int>(outcome.error.code), QString::fromStdString(outcome.error.message),
                    outcome.run_id);
}

}  // namespace recalign::studio
