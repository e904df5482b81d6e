// TrainingSession: runs one job (an experiment run, a probe) on a worker QThread and turns the
// core's Observer callbacks into queued signals. Step metrics go through a MetricsBuffer; stop
// requests set an atomic flag the core polls between steps. Nothing throws across the thread.
#pragma once

#include "app/studio/metrics_buffer.h"

#include "core/api/observer.h"
#include "core/api/runners.h"

#include <QObject>
#include <QString>

#include <functional>

namespace recalign::studio {

// Lowers the calling thread's scheduling priority (Linux: nice +10 for this thread and the
// threads it starts), so a worker that trains or generates never starves the GUI thread.
// No-op elsewhere. Called at the start of every worker job.
void lowerWorkerThreadPriority();

class TrainingSession : public QObject, public core::Observer {
    Q_OBJECT
public:
    using Job = std::function<core::RunOutcome(core::Observer&)>;
    explicit TrainingSession(Job job, QObject* parent = nullptr);

    // Called from the GUI thread; deliberately not a slot (the worker's loop is busy).
    void requestStop() { m_stop.request(); }
    MetricsBuffer& buffer() { return m_buffer; }

    // core::Observer, called on the worker thread.
    void onStageBegin(const std::string& stage, long totalSteps) override;
    void onStageEnd(const std::string& stage) override;
    void onStep(const core::StepRecord& record) override;
    void onSample(const core::SampleRecord& sample) override;
    void onLog(core::LogLevel level, const std::string& text) override;
    bool stopRequested() const override { return m_stop.requested(); }

public Q_SLOTS:
    void run();  // runs the job on the thread this object lives in

Q_SIGNALS:
    void metricsAvailable();
    void stageBegan(const QString& stage, qlonglong totalSteps);
    void stageEnded(const QString& stage);
    void sampleArrived(const QString& stage, const QString& task, const QString& prompt,
                       const QString& output, const QString& detailsJson);
    void logLine(int level, const QString& text);
    void finished(int errorCode, const QString& message, qlonglong runId);

private:
    Job m_job;
    core::StopFlag m_stop;
    MetricsBuffer m_buffer;
};

}  // namespace recalign::studio
