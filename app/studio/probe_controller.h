// ProbeController (GUI thread): runs core::runProbe and core::probeCatalogue on its own worker
// QThread (a probe must not wait behind a training run in the RunController's queue) and
// delivers the results by queued signals. One request batch at a time; a batch holds one probe
// per checkpoint shown side by side.
#pragma once

#include "core/api/probe.h"

#include <QMetaType>
#include <QObject>
#include <QString>
#include <QVector>

class QThread;

Q_DECLARE_METATYPE(recalign::core::ProbeResult)
Q_DECLARE_METATYPE(recalign::core::ProbeCatalogue)

namespace recalign::studio {

class ProbeWorker;

class ProbeController : public QObject {
    Q_OBJECT
public:
    explicit ProbeController(QObject* parent = nullptr);
    ~ProbeController() override;

    // Runs the requests one after another; false when a batch is still running.
    bool generate(const QVector<core::ProbeRequest>& requests);
    // Loads the catalogue (titles, categories, users, variants) of a run.
    void loadCatalogue(const QString& workspace, qint64 runId);
    bool isBusy() const { return m_busy; }

Q_SIGNALS:
    void started(int count);
    void resultReady(int slot, const recalign::core::ProbeResult& result);
    void finished();
    void catalogueReady(qint64 runId, const recalign::core::ProbeCatalogue& catalogue);

private:
    QThread* m_thread = nullptr;
    ProbeWorker* m_worker = nullptr;
    bool m_busy = false;
};

// Lives on the controller's thread; not for direct use.
class ProbeWorker : public QObject {
    Q_OBJECT
public:
    void generate(const QVector<core::ProbeRequest>& requests);
    void loadCatalogue(const QString& workspace, qint64 runId);

Q_SIGNALS:
    void resultReady(int slot, const recalign::core::ProbeResult& result);
    void finished();
    void catalogueReady(qint64 runId, const recalign::core::ProbeCatalogue& catalogue);
};

}  // namespace recalign::studio
