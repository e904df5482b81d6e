// StudioController (GUI thread): the application's behaviour behind the window. Owns the
// workspace, the run list and the RunController; starts, resumes, cancels and deletes runs;
// follows the running job (which store run it is, its stage and progress) and turns failures
// into one signal the window shows. The window only wires this to its widgets.
#pragma once

#include "app/studio/metrics_buffer.h"

#include <QObject>
#include <QSet>
#include <QString>
#include <QStringList>
#include <QTimer>

#include <utility>
#include <vector>

namespace recalign::studio {

class RunController;
class RunListModel;
class Workspace;

class StudioController : public QObject {
    Q_OBJECT
public:
    explicit StudioController(QObject* parent = nullptr);
    ~StudioController() override;

    Workspace* workspace() const { return m_workspace; }
    RunController* runController() const { return m_runs; }
    RunListModel* runList() const { return m_model; }

    // Opens a workspace folder (refused while a job runs). False with errorString().
    bool openWorkspace(const QString& folder);
    QString errorString() const { return m_error; }

    // Queues `experimentPath` (a YAML file) as a run in the workspace; returns the job ticket
    // (0 with errorString() when no workspace is open).
    int startRun(const QString& experimentPath);
    // Queues the continuation of a stored run (its experiment file, or the text recorded in the
    // store when the file is gone). 0 with errorString() when it cannot.
    int resumeRun(qint64 runId);
    // Stops the job running `runId` (0 = whatever runs). False when that run is not ours.
    bool cancelRun(qint64 runId = 0);
    // Deletes a run and its records from the store (not while it runs). Files stay (stage
    // outputs are shared, content-addressed). False with errorString().
    bool deleteRun(qint64 runId);
    // (stage name, output folder) of each stage of a run, for "reveal files".
    std::vector<std::pair<QString, QString>> runFolders(qint64 runId);

    bool isBusy() const;
    qint64 liveRunId() const { return m_liveRun; }  // 0 = none known yet
    int liveTicket() const { return m_liveTicket; }
    QString liveLabel() const { return m_liveLabel; }
    bool canCancel(qint64 runId) const;

public Q_SLOTS:
    void refreshRuns();

Q_SIGNALS:
    void workspaceOpened(const QString& path);
    void liveJobStarted(int ticket, const QString& label);
    // The store run of the live job became known (new runs: after the first refresh).
    void liveRunChanged(qint64 runId);
    void progressChanged(const QString& label, const QString& stage, qint64 step, qint64 total);
    // A job ended; `runId` is its store run (0 when it failed before creating one).
    void liveJobFinished(int ticket, qint64 runId, int errorCode, const QString& message);
    // A job failed (not cancelled): a title and the message, for a dialog and the log.
    void runFailed(const QString& title, const QString& message);
    void runsRefreshed();

private:
    void onJobStarted(int ticket, const QString& label);
    void onJobFinished(int ticket, int errorCode, const QString& message, qlonglong runId);
    void onStageBegan(const QString& stage, qlonglong total);
    void onMetrics(const QVector<recalign::studio::MetricPoint>& points);
    int enqueueRun(const QString& label, const QString& path, qint64 resume);

    Workspace* m_workspace = nullptr;
    RunController* m_runs = nullptr;
    RunListModel* m_model = nullptr;
    QTimer m_refreshTimer;
    QString m_error;

    int m_liveTicket = 0;
    QString m_liveLabel;
    qint64 m_liveRun = 0;
    QSet<qint64> m_knownRuns;  // run ids present when the live job started
    QString m_stage;
    qint64 m_step = 0;
    qint64 m_total = 0;
    QHash<int, qint64> m_resumeOf;  // ticket -> resumed run
};

}  // namespace recalign::studio
