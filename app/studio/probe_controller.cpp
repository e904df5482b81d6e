// ProbeController implementation.
#include "app/studio/probe_controller.h"

#include "app/studio/training_session.h"

#include <QThread>

namespace recalign::studio {

void ProbeWorker::generate(const QVector<core::ProbeRequest>& requests)
{
    for (int i = 0; i < requests.size(); ++i)
        Q_EMIT resultReady(i, core::runProbe(requests[i]));  // never throws
    Q_EMIT finished();
}

void ProbeWorker::loadCatalogue(const QString& workspace, qint64 runId)
{
    Q_EMIT catalogueReady(runId, core::probeCatalogue(workspace.toStdString(), static_cast<long>(runId)));
}

ProbeController::ProbeController(QObject* parent) : QObject(parent)
{
    qRegisterMetaType<recalign::core::ProbeResult>();
    qRegisterMetaType<recalign::core::ProbeCatalogue>();
    m_thread = new QThread(this);
    m_thread->setObjectName(QStringLiteral("probe"));
    m_worker = new ProbeWorker;
    m_worker->moveToThread(m_thread);
    connect(m_thread, &QThread::started, m_worker, [] { lowerWorkerThreadPriority(); });
    connect(m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
    connect(m_worker, &ProbeWorker::resultReady, this, &ProbeController::resultReady);
    connect(m_worker, &ProbeWorker::finished, this, [this] {
        m_busy = false;
        Q_EMIT finished();
    });
    connect(m_worker, &ProbeWorker::catalogueReady, this, &ProbeController::catalogueReady);
    m_thread->start();
}

ProbeController::~ProbeController()
{
    m_thread->quit();
    m_thread->wait();
}

bool ProbeController::generate(const QVector<core::ProbeRequest>& requests)
{
    if (m_busy || requests.isEmpty())
        return false;
    m_busy = true;
    Q_EMIT started(requests.size());
    QMetaObject::invokeMethod(m_worker, [w = m_worker, requests] { w->generate(requests); }, Qt::QueuedConnection);
    return true;
}

void ProbeController::loadCatalogue(const QString& workspace, qint64 runId)
{
    QMetaObject::invokeMethod(m_worker, [w = m_worker, workspace, runId] { w->loadCatalogue(workspace, runId); },
                              Qt::QueuedConnection);
}

}  // namespace recalign::studio
