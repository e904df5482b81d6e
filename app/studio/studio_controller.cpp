// StudioController implementation.
#include "app/studio/studio_controller.h"

#include "app/studio/app_settings.h"
#include "app/studio/run_controller.h"
#include "app/studio/run_list_model.h"
#include "app/studio/workspace.h"

#include "core/api/runners.h"
#include "core/api/store_api.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>

namespace recalign::studio {

namespace studio_controller_detail {
constexpr int kRefreshBusyMs = 1500;   // run list refresh while a job runs
constexpr int kRefreshIdleMs = 10000;  // and otherwise (runs started by the CLI)
}  // namespace studio_controller_detail

StudioController::StudioController(QObject* parent)
    : QObject(parent), m_workspace(new Workspace(this)), m_runs(new RunController(this)), m_model(new RunListModel(this))
{
    connect(m_runs, &RunController::jobStarted, this, &StudioController::onJobStarted);
    connect(m_runs, &RunController::jobFinished, this, &StudioController::onJobFinished);
    connect(m_runs, &RunController::stageBegan, this, &StudioController::onStageBegan);
    connect(m_runs, &RunController::metricsDrained, this, &StudioController::onMetrics);
    m_refreshTimer.setInterval(studio_controller_detail::kRefreshIdleMs);
    connect(&m_refreshTimer, &QTimer::timeout, this, &StudioController::refreshRuns);
    m_refreshTimer.start();
}

StudioController::~StudioController()
{
    m_runs->cancelAll();
    m_runs->waitForIdle(60000);
}

bool StudioController::openWorkspace(const QString& folder)
{
    if (isBusy()) {
        m_error = tr("A run is in progress; cancel it or wait before switching workspaces.");
        return false;
    }
    if (!m_workspace->open(folder)) {
        m_error = m_workspace->errorString();
        return false;
    }
    refreshRuns();
    Q_EMIT workspaceOpened(m_workspace->path());
    return true;
}

bool StudioController::isBusy() const { return m_runs->isRunning() || m_runs->queuedCount() > 0; }

int StudioController::enqueueRun(const QString& label, const QString& path, qint64 resume)
{
    // The file is read and validated once, here; a bad file becomes a failed job like any other.
    auto loaded = core::runRequestFromFile(QFileInfo(path).absoluteFilePath().toStdString());
    if (!loaded) {
        const core::Error error = loaded.error();
        return m_runs->enqueue(label, [error](core::Observer&) {
            core::RunOutcome failed;
            failed.error = error;
            return failed;
        });
    }
    core::RunRequest request = loaded.value();
    request.workspace = m_workspace->path().toStdString();
    request.default_threads = AppSettings::torchThreads();
    request.processes = AppSettings::processes();
    if (resume > 0)
        request.resume_run = std::to_string(resume);
    const int ticket = m_runs->enqueue(label, [request](core::Observer& o) { return core::runExperiment(request, o); });
    if (resume > 0)
        m_resumeOf.insert(ticket, resume);
    return ticket;
}

int StudioController::startRun(const QString& experimentPath)
{
    if (!m_workspace->isOpen()) {
        m_error = tr("Open a workspace first.");
        return 0;
    }
    if (!QFileInfo::exists(experimentPath)) {
        m_error = tr("The experiment file %1 does not exist.").arg(QDir::toNativeSeparators(experimentPath));
        return 0;
    }
    return enqueueRun(QFileInfo(experimentPath).completeBaseName(), experimentPath, 0);
}

int StudioController::resumeRun(qint64 runId)
{
    if (!m_workspace->isOpen()) {
        m_error = tr("Open a workspace first.");
        return 0;
    }
    core::RunStore& store = m_workspace->store();
    auto info = store.runInfo(runId);
    if (!info) {
        m_error = tr("Run %1 is not in this workspace.").arg(runId);
        return 0;
    }
    if (info.value().status == core::RunStatus::Running || canCancel(runId)) {
        m_error = tr("Run %1 is still running.").arg(runId);
        return 0;
    }
    auto experiments = store.listExperiments();
    QString path;
    std::string recorded;
    if (experiments) {
        for (const core::ExperimentRecord& e : experiments.value())
            if (e.id == info.value().experiment_id) {
                path = QString::fromStdString(e.file_path);
                recorded = e.config_yaml;
            }
    }
    if (path.isEmpty() || !QFileInfo::exists(path)) {
        if (recorded.empty()) {
            m_error = tr("Run %1 has no experiment file or recorded configuration to resume from.").arg(runId);
            return 0;
        }
        // The file is gone: resume from the text recorded with the run.
        const QString dir = m_workspace->path() + QStringLiteral("/resume");
        QDir().mkpath(dir);
        path = dir + QStringLiteral("/run-%1.yaml").arg(runId);
        QFile f(path);
        if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate) || f.write(QByteArray::fromStdString(recorded)) < 0) {
            m_error = tr("Cannot write %1").arg(QDir::toNativeSeparators(path));
            return 0;
        }
    }
    return enqueueRun(tr("resume run %1").arg(runId), path, runId);
}

bool StudioController::canCancel(qint64 runId) const
{
    if (!m_runs->isRunning())
        return false;
    return runId == 0 || runId == m_liveRun;
}

bool StudioController::cancelRun(qint64 runId)
{
    if (!canCancel(runId))
        return false;
    m_runs->cancelCurrent();
    return true;
}

bool StudioController::deleteRun(qint64 runId)
{
    if (!m_workspace->isOpen()) {
        m_error = tr("Open a workspace first.");
        return false;
    }
    auto info = m_workspace->store().runInfo(runId);
    if (!info) {
        m_error = tr("Run %1 is not in this workspace.").arg(runId);
        return false;
    }
    if (runId == m_liveRun || info.value().status == core::RunStatus::Running) {
        m_error = tr("Run %1 is running; cancel it before deleting it.").arg(runId);
        return false;
    }
    if (auto err = m_workspace->store().deleteRun(runId)) {
        m_error = QString::fromStdString(err.toString());
        return false;
    }
    refreshRuns();
    return true;
}

std::vector<std::pair<QString, QString>> StudioController::runFolders(qint64 runId)
{
    std::vector<std::pair<QString, QString>> out;
    if (!m_workspace->isOpen())
        return out;
    auto stages = m_workspace->store().stages(runId);
    if (!stages)
        return out;
    for (const core::StageRecord& s : stages.value())
        if (!s.output_path.empty())
            out.emplace_back(QString::fromStdString(s.name), QString::fromStdString(s.output_path));
    return out;
}

void StudioController::refreshRuns()
{
    if (!m_workspace->isOpen())
        return;
    m_model->refresh(m_workspace->store());
    if (m_runs->isRunning() && m_liveRun == 0) {
        // The live job's run is the one that appeared after it started.
        qint64 newest = 0;
        for (int g = 0; g < m_model->rowCount(); ++g) {
            const QModelIndex group = m_model->index(g, 0);
            for (int r = 0; r < m_model->rowCount(group); ++r) {
                const qint64 id = m_model->index(r, 0, group).data(RunListModel::RunIdRole).toLongLong();
                if (!m_knownRuns.contains(id))
                    newest = std::max(newest, id);
            }
        }
        if (newest > 0) {
            m_liveRun = newest;
            Q_EMIT liveRunChanged(m_liveRun);
        }
    }
    Q_EMIT runsRefreshed();
}

void StudioController::onJobStarted(int ticket, const QString& label)
{
    m_liveTicket = ticket;
    m_liveLabel = label;
    m_liveRun = m_resumeOf.value(ticket, 0);
    m_stage.clear();
    m_step = m_total = 0;
    m_knownRuns.clear();
    if (m_workspace->isOpen()) {
        if (auto runs = m_workspace->store().listRuns())
            for (const core::RunInfo& r : runs.value())
                m_knownRuns.insert(r.id);
    }
    m_refreshTimer.setInterval(studio_controller_detail::kRefreshBusyMs);
    Q_EMIT liveJobStarted(ticket, label);
    if (m_liveRun > 0)
        Q_EMIT liveRunChanged(m_liveRun);
    Q_EMIT progressChanged(m_liveLabel, QString(), 0, 0);
}

void StudioController::onStageBegan(const QString& stage, qlonglong total)
{
    if (m_liveRun == 0)
        refreshRuns();  // the run exists in the store before its first stage: name it now
    m_stage = stage;
    m_step = 0;
    m_total = total;
    Q_EMIT progressChanged(m_liveLabel, m_stage, m_step, m_total);
}

void StudioController::onMetrics(const QVector<MetricPoint>& points)
{
    bool changed = false;
    for (const MetricPoint& p : points) {
        if (p.stage != m_stage && p.total_steps > 0) {  // trainers report inside their stage
            m_stage = p.stage;
            m_step = 0;
        }
        if (p.stage == m_stage && p.step > m_step) {
            m_step = p.step;
            changed = true;
        }
        if (p.stage == m_stage && p.total_steps > 0 && p.total_steps != m_total) {
            m_total = p.total_steps;
            changed = true;
        }
    }
    if (changed)
        Q_EMIT progressChanged(m_liveLabel, m_stage, m_step, m_total);
}

void StudioController::onJobFinished(int ticket, int errorCode, const QString& message, qlonglong runId)
{
    const QString label = m_liveLabel;
    m_resumeOf.remove(ticket);
    if (runId > 0)
        m_liveRun = runId;
    const qint64 run = m_liveRun;
    m_liveTicket = 0;
    m_liveRun = 0;
    m_liveLabel.clear();
    if (!m_runs->isRunning())
        m_refreshTimer.setInterval(studio_controller_detail::kRefreshIdleMs);
    refreshRuns();
    Q_EMIT liveJobFinished(ticket, run, errorCode, message);
    const auto code = static_cast<core::ErrorCode>(errorCode);
    if (code != core::ErrorCode::None && code != core::ErrorCode::Cancelled)
        Q_EMIT runFailed(tr("Run \"%1\" failed").arg(label),
                         tr("%1 error: %2").arg(QString::fromLatin1(core::errorCodeName(code)), message));
}

}  // namespace recalign::studio
