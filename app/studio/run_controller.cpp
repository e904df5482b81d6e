// RunController implementation.
#include "app/studio/run_controller.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QThread>

namespace recalign::studio {

RunController::RunController(QObject* parent) : QObject(parent)
{
    qRegisterMetaType<recalign::studio::MetricPoint>();
    qRegisterMetaType<QVector<recalign::studio::MetricPoint>>();
    m_drainTimer.setSingleShot(true);
    m_drainTimer.setInterval(kDrainIntervalMs);
    connect(&m_drainTimer, &QTimer::timeout, this, &RunController::drain);
}

RunController::~RunController()
{
    cancelAll();
    waitForIdle(30000);
    // Worker threads still winding down after their job (see onSessionFinished).
    for (QThread* t : findChildren<QThread*>()) {
        t->quit();
        t->wait();
    }
}

int RunController::enqueue(const QString& label, TrainingSession::Job job)
{
    const int ticket = m_nextTicket++;
    m_queue.enqueue({ticket, label, std::move(job)});
    if (!m_session)
        startNext();
    return ticket;
}

void RunController::cancelCurrent()
{
    if (m_session)
        m_session->requestStop();
}

void RunController::cancelAll()
{
    m_queue.clear();
    cancelCurrent();
}

bool RunController::waitForIdle(int timeoutMs)
{
    QElapsedTimer t;
    t.start();
    while (m_session && t.elapsed() < timeoutMs) {
        QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
        QThread::msleep(5);
    }
    return m_session == nullptr;
}

void RunController::startNext()
{
    if (m_session || m_queue.isEmpty())
        return;
    Pending next = m_queue.dequeue();
    m_currentTicket = next.ticket;
    m_currentLabel = next.label;
    m_thread = new QThread(this);
    m_session = new TrainingSession(std::move(next.job));
    m_session->moveToThread(m_thread);
    connect(m_thread, &QThread::started, m_session, &TrainingSession::run);
    connect(m_session, &TrainingSession::metricsAvailable, this, [this] {
        if (!m_drainTimer.isActive())
            m_drainTimer.start();
    });
    connect(m_session, &TrainingSession::stageBegan, this, &RunController::stageBegan);
    connect(m_session, &TrainingSession::stageEnded, this, &RunController::stageEnded);
    connect(m_session, &TrainingSession::sampleArrived, this, &RunController::sampleArrived);
    connect(m_session, &TrainingSession::logLine, this, &RunController::logLine);
    connect(m_session, &TrainingSession::finished, this, &RunController::onSessionFinished);
    Q_EMIT jobStarted(m_currentTicket, m_currentLabel);
    m_thread->start();
}

void RunController::drain()
{
    if (!m_session)
        return;
    QVector<MetricPoint> points = m_session->buffer().take();
    if (!points.isEmpty())
        Q_EMIT metricsDrained(points);
}

void RunController::onSessionFinished(int errorCode, const QString& message, qlonglong runId)
{
    drain();  // the last points
    m_drainTimer.stop();
    QThread* thread = m_thread;
    TrainingSession* session = m_session;
    m_thread = nullptr;
    m_session = nullptr;
    // The worker winds down on its own; the GUI thread does not wait for it (a low-priority
    // worker on a busy machine can take a while to be scheduled). The session and the thread
    // are deleted once the thread has finished.
    disconnect(session, nullptr, this, nullptr);
    connect(thread, &QThread::finished, session, &QObject::deleteLater);
    connect(thread, &QThread::finished, thread, &QObject::deleteLater);
    thread->quit();
    const int ticket = m_currentTicket;
    m_currentLabel.clear();
    Q_EMIT jobFinished(ticket, errorCode, message, runId);
    if (m_queue.isEmpty())
        Q_EMIT idle();
    else
        startNext();
}

}  // namespace recalign::studio
