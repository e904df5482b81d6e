// RunController (GUI thread): a queue of jobs run one at a time, each in a TrainingSession on
// its own worker QThread. Drains step metrics on a ~50 ms single-shot timer and re-emits them
// as one batch; forwards rare events; cancel sets the session's stop flag.
#pragma once

#include "app/studio/metrics_buffer.h"
#include "app/studio/training_session.h"

#include <QObject>
#include <QPointer>
#include <QQueue>
#include <QTimer>

class QThread;

namespace recalign::studio {

class RunController : public QObject {
    Q_OBJECT
public:
    explicit RunController(QObject* parent = nullptr);
    ~RunController() override;

    // Queues a job; it starts when nothing else runs. Returns its queue ticket.
    int enqueue(const QString& label, TrainingSession::Job job);
    void cancelCurrent();   // sets the stop flag; the run ends with Cancelled
    void cancelAll();       // drops queued jobs and cancels the current one
    bool isRunning() const { return m_session != nullptr; }
    int queuedCount() const { return static_cast<int>(m_queue.size()); }
    QString currentLabel() const { return m_currentLabel; }
    // Blocks until the current job ends (for shutdown and tests); returns false on timeout.
    bool waitForIdle(int timeoutMs);

    static constexpr int kDrainIntervalMs = 50;

Q_SIGNALS:
    void jobStarted(int ticket, const QString& label);
    void metricsDrained(const QVector<recalign::studio::MetricPoint>& points);
    void stageBegan(const QString& stage, qlonglong totalSteps);
    void stageEnded(const QString& stage);
    void sampleArrived(const QString& stage, const QString& task, const QString& prompt,
                       const QString& output, const QString& detailsJson);
    void logLine(int level, const QString& text);
    void jobFinished(int ticket, int errorCode, const QString& message, qlonglong runId);
    void idle();

private:
    struct Pending {
        int ticket;
        QString label;
        TrainingSession::Job job;
    };
    void startNext();
    void drain();
    void onSessionFinished(int errorCode, const QString& message, qlonglong runId);

    QQueue<Pending> m_queue;
    QThread* m_thread = nullptr;
    TrainingSession* m_session = nullptr;
    QTimer m_drainTimer;
    int m_nextTicket = 1;
    int m_currentTicket = 0;
    QString m_currentLabel;
};

}  // namespace recalign::studio
