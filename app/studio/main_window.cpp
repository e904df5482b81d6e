// MainWindow: composition of the application's window (see main_window.h).
#include "app/studio/main_window.h"
#include "app/studio/themed_icons.h"

#include "app/studio/app_settings.h"
#include "app/studio/compare_page.h"
#include "app/studio/configure_page.h"
#include "app/studio/inspect_page.h"
#include "app/studio/monitor_controller.h"
#include "app/studio/monitor_page.h"
#include "app/studio/probe_controller.h"
#include "app/studio/probe_page.h"
#include "app/studio/run_controller.h"
#include "app/studio/run_data.h"
#include "app/studio/run_list_model.h"
#include "app/studio/runs_dock.h"
#include "app/studio/runs_table_data.h"
#include "app/studio/settings_dialog.h"
#include "app/studio/studio_controller.h"
#include "app/studio/workspace.h"
#include "widgets/icons.h"
#include "widgets/runs_table.h"
#include "widgets/theme.h"

#include "core/api/info.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QFileDialog>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QProgressBar>
#include <QStatusBar>
#include <QTabWidget>
#include <QToolBar>

namespace recalign::studio {

namespace main_window_detail {
// Icons of the tabs, in Tab order.
QStringList tabIcons()
{
    return {QStringLiteral("configure"), QStringLiteral("chart"), QStringLiteral("compare"),
            QStringLiteral("inspect"), QStringLiteral("probe"), QStringLiteral("table")};
}
}  // namespace main_window_detail

MainWindow::MainWindow(const QString& workspace, QWidget* parent) : QMainWindow(parent)
{
    setObjectName(QStringLiteral("MainWindow"));
    setWindowIcon(widgets::icon(QStringLiteral("recalign")));
    m_controller = new StudioController(this);
    m_probe = new ProbeController(this);
    createPages();
    createActions();
    createMenus();
    createStatusBar();
    wire();
    retranslate();
    for (int i = 0; i < m_tabs->count(); ++i)
        m_stale << false;

    resize(1360, 860);
    if (!AppSettings::windowGeometry().isEmpty())
        restoreGeometry(AppSettings::windowGeometry());
    if (!AppSettings::windowState().isEmpty())
        restoreState(AppSettings::windowState());

    QString folder = workspace;
    if (folder.isEmpty())
        folder = AppSettings::lastWorkspace();
    if (folder.isEmpty())
        folder = QDir::current().absoluteFilePath(QStringLiteral("workspace"));
    if (!openWorkspace(folder))
        statusBar()->showMessage(m_controller->errorString(), 10000);
}

MainWindow::~MainWindow() = default;

void MainWindow::createPages()
{
    m_tabs = new QTabWidget(this);
    m_tabs->setDocumentMode(true);
    m_configure = new ConfigurePage(m_tabs);
    m_monitorPage = new MonitorPage(m_tabs);
    m_monitor = new MonitorController(m_monitorPage->dashboard(), this);
    m_compare = new ComparePage(m_tabs);
    m_inspect = new InspectPage(m_tabs);
    m_probePage = new ProbePage(m_tabs);
    m_runsTable = new widgets::RunsTable(m_tabs);
    const QStringList icons = main_window_detail::tabIcons();
    for (QWidget* page : {static_cast<QWidget*>(m_configure), static_cast<QWidget*>(m_monitorPage),
                          static_cast<QWidget*>(m_compare), static_cast<QWidget*>(m_inspect),
                          static_cast<QWidget*>(m_probePage), static_cast<QWidget*>(m_runsTable)})
        m_tabs->addTab(page, QString());
    for (int i = 0; i < icons.size(); ++i)
        setThemedTabIcon(m_tabs, i, icons[i]);
    setCentralWidget(m_tabs);

    // The project's experiments/ folder: next to the working directory or the source tree.
    QString experiments = QDir::current().absoluteFilePath(QStringLiteral("experiments"));
    if (!QDir(experiments).exists())
        experiments = QStringLiteral(RECALIGN_STUDIO_EXPERIMENTS_DIR);
    m_configure->setExperimentsFolder(experiments);

    m_dock = new RunsDock(m_controller, this);
    addDockWidget(Qt::LeftDockWidgetArea, m_dock);
    resizeDocks({m_dock}, {360}, Qt::Horizontal);
}

void MainWindow::createActions()
{
    auto make = [this](const char* iconName, const QKeySequence& key) {
        auto* a = new QAction(this);
        if (*iconName)
            withIcon(a, QString::fromLatin1(iconName));
        if (!key.isEmpty())
            a->setShortcut(key);
        return a;
    };
    m_newAction = make("add", QKeySequence::New);
    m_openAction = make("open", QKeySequence::Open);
    m_saveAction = make("save", QKeySequence::Save);
    m_saveAsAction = make("save", QKeySequence::SaveAs);
    m_workspaceAction = make("browse", QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O));
    m_settingsAction = make("settings", QKeySequence(Qt::CTRL | Qt::Key_Comma));
    m_quitAction = make("", QKeySequence::Quit);
    m_runAction = make("run", QKeySequence(Qt::CTRL | Qt::Key_R));
    m_validateAction = make("info", QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_V));
    m_cancelAction = make("stop", QKeySequence(Qt::CTRL | Qt::Key_Period));
    m_cancelAction->setEnabled(false);
    m_refreshAction = make("refresh", QKeySequence(Qt::Key_F5));  // not QKeySequence::Refresh: Ctrl+R runs
    m_aboutAction = make("recalign", QKeySequence());
    for (int i = 0; i < m_tabs->count(); ++i) {
        auto* a = withIcon(new QAction(this), main_window_detail::tabIcons().value(i));
        a->setShortcut(QKeySequence(Qt::CTRL | (Qt::Key_1 + i)));
        connect(a, &QAction::triggered, this, [this, i] { m_tabs->setCurrentIndex(i); });
        m_tabActions << a;
    }
    m_dockAction = m_dock->toggleViewAction();
    m_dockAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_0));

    connect(m_newAction, &QAction::triggered, this, [this] {
        if (m_configure->maybeSave())
            m_configure->newExperiment();
        m_tabs->setCurrentWidget(m_configure);
    });
    connect(m_openAction, &QAction::triggered, this, [this] {
        m_tabs->setCurrentWidget(m_configure);
        m_configure->openWithDialog();
    });
    connect(m_saveAction, &QAction::triggered, m_configure, &ConfigurePage::save);
    connect(m_saveAsAction, &QAction::triggered, m_configure, &ConfigurePage::saveAsWithDialog);
    connect(m_workspaceAction, &QAction::triggered, this, &MainWindow::chooseWorkspace);
    connect(m_settingsAction, &QAction::triggered, this, &MainWindow::showSettings);
    connect(m_quitAction, &QAction::triggered, this, &QWidget::close);
    connect(m_runAction, &QAction::triggered, this, [this] {
        m_tabs->setCurrentWidget(m_configure);
        m_configure->requestRun();
    });
    connect(m_validateAction, &QAction::triggered, this, [this] {
        m_tabs->setCurrentWidget(m_configure);
        m_configure->validate();
    });
    connect(m_cancelAction, &QAction::triggered, this, [this] { m_controller->cancelRun(0); });
    connect(m_refreshAction, &QAction::triggered, this, [this] {
        m_controller->refreshRuns();
        for (bool& s : m_stale)
            s = true;
        refreshTab(m_tabs->currentIndex());
    });
    connect(m_aboutAction, &QAction::triggered, this, [this] {
        const core::SystemInfo info = core::systemInfo();
        QMessageBox::about(this, tr("About RecAlign Studio"),
                           tr("<h3>RecAlign Studio %1</h3><p>Reproduces <i>Aligning Large Language Models for "
                              "Controllable Recommendations</i> (Lu et al., ACL 2024): a SASRec teacher, "
                              "instruction tasks, LoRA SFT and PPO, evaluation and this workbench.</p>"
                              "<p>torch %2 · SQLite %3 · commit %4</p>")
                               .arg(QString::fromStdString(info.app_version), QString::fromStdString(info.torch_version),
                                    QString::fromStdString(info.sqlite_version),
                                    QString::fromStdString(info.git_commit)));
    });
}

void MainWindow::createMenus()
{
    m_fileMenu = menuBar()->addMenu(QString());
    m_fileMenu->addActions({m_newAction, m_openAction, m_saveAction, m_saveAsAction});
    m_fileMenu->addSeparator();
    m_fileMenu->addAction(m_workspaceAction);
    m_fileMenu->addAction(m_settingsAction);
    m_fileMenu->addSeparator();
    m_fileMenu->addAction(m_quitAction);
    m_runMenu = menuBar()->addMenu(QString());
    m_runMenu->addActions({m_runAction, m_validateAction, m_cancelAction});
    m_runMenu->addSeparator();
    m_runMenu->addActions({m_dock->resumeAction(), m_dock->deleteAction()});
    m_runMenu->addSeparator();
    m_runMenu->addAction(m_refreshAction);
    m_viewMenu = menuBar()->addMenu(QString());
    m_viewMenu->addActions(m_tabActions);
    m_viewMenu->addSeparator();
    m_viewMenu->addAction(m_dockAction);
    m_helpMenu = menuBar()->addMenu(QString());
    m_helpMenu->addAction(m_aboutAction);
    m_helpMenu->addAction(QString(), qApp, &QApplication::aboutQt)->setObjectName(QStringLiteral("aboutQt"));

    m_toolbar = addToolBar(QString());
    m_toolbar->setObjectName(QStringLiteral("MainToolbar"));
    m_toolbar->setMovable(false);
    m_toolbar->setIconSize(QSize(18, 18));
    m_toolbar->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    m_toolbar->addActions({m_newAction, m_openAction, m_saveAction});
    m_toolbar->addSeparator();
    m_toolbar->addActions({m_runAction, m_cancelAction});
    m_toolbar->addSeparator();
    m_toolbar->addActions({m_refreshAction, m_workspaceAction, m_settingsAction});
}

void MainWindow::createStatusBar()
{
    m_jobLabel = new QLabel(this);
    m_progress = new QProgressBar(this);
    m_progress->setMaximumWidth(180);
    m_progress->setMaximumHeight(16);
    m_progress->setTextVisible(false);
    m_progress->setVisible(false);
    const core::SystemInfo info = core::systemInfo();
    m_deviceLabel = new QLabel(this);
    m_deviceLabel->setText(info.cuda_available ? tr("Device: CUDA (%1)").arg(info.cuda_devices.size())
                                               : tr("Device: CPU"));
    m_blasLabel = new QLabel(tr("BLAS: %1").arg(QString::fromStdString(info.blas.name)), this);
    m_blasLabel->setToolTip(QString::fromStdString(info.blas.library_path));
    if (info.blas.is_reference) {
        m_blasLabel->setStyleSheet(QStringLiteral("color: #c0392b; font-weight: bold"));
        m_blasLabel->setToolTip(QString::fromStdString(core::blasWarning(info.blas)));
    }
    m_threadsLabel = new QLabel(tr("Threads: %1").arg(info.intra_op_threads), this);
    statusBar()->addPermanentWidget(m_jobLabel);
    statusBar()->addPermanentWidget(m_progress);
    statusBar()->addPermanentWidget(m_deviceLabel);
    statusBar()->addPermanentWidget(m_blasLabel);
    statusBar()->addPermanentWidget(m_threadsLabel);
}

void MainWindow::wire()
{
    StudioController* c = m_controller;
    RunController* runs = c->runController();
    connect(m_dock, &RunsDock::selectionChanged, this, &MainWindow::showRuns);
    connect(m_dock, &RunsDock::openRequested, this, [this](const QList<qint64>& ids) {
        showRuns(ids);
        m_tabs->setCurrentWidget(m_monitorPage);
    });
    connect(m_dock, &RunsDock::message, this, [this](const QString& text) { statusBar()->showMessage(text, 5000); });
    connect(m_tabs, &QTabWidget::currentChanged, this, &MainWindow::refreshTab);
    connect(m_configure, &ConfigurePage::statusMessage, this,
            [this](const QString& text) { statusBar()->showMessage(text, 6000); });
    connect(m_configure, &ConfigurePage::runRequested, this, [this](const QString& path) {
        if (m_controller->startRun(path) == 0) {
            QMessageBox::warning(this, tr("Run experiment"), m_controller->errorString());
            return;
        }
        m_tabs->setCurrentWidget(m_monitorPage);
    });

    connect(c, &StudioController::liveJobStarted, this, [this](int ticket, const QString& label) {
        m_monitor->startLive(ticket, label);
        m_monitorPage->appendLog(1, tr("Started %1").arg(label));
        m_cancelAction->setEnabled(true);
    });
    connect(runs, &RunController::metricsDrained, m_monitor, &MonitorController::appendLive);
    connect(runs, &RunController::logLine, m_monitorPage, &MonitorPage::appendLog);
    connect(c, &StudioController::liveRunChanged, this, [this](qint64 run) {
        m_monitor->setLiveRun(m_controller->workspace()->store(), run);
    });
    connect(c, &StudioController::progressChanged, this, &MainWindow::onProgress);
    connect(c, &StudioController::liveJobFinished, this, &MainWindow::onJobFinished);
    connect(c, &StudioController::runFailed, this, [this](const QString& title, const QString& message) {
        m_monitorPage->appendLog(3, message);
        auto* box = new QMessageBox(QMessageBox::Critical, title, message, QMessageBox::Ok, this);
        box->setAttribute(Qt::WA_DeleteOnClose);
        box->open();  // not exec(): the event loop (and other runs) keep going
    });
    connect(c, &StudioController::runsRefreshed, this, &MainWindow::refreshProbeRuns);
    // The Runs tab's selection is the dock's (which drives Monitor, Compare and Inspect); the
    // table's selectRuns does not signal back, so there is no loop.
    connect(m_runsTable, &widgets::RunsTable::selectionChanged, m_dock, &RunsDock::selectRuns);
    connect(m_dock, &RunsDock::selectionChanged, m_runsTable, &widgets::RunsTable::selectRuns);
    connect(c, &StudioController::runsRefreshed, this, [this] {
        m_stale[RunsTab] = true;
        refreshTab(m_tabs->currentIndex());
    });
    connect(c, &StudioController::workspaceOpened, this, [this](const QString& path) {
        setWindowTitle(tr("RecAlign Studio — %1").arg(QDir::toNativeSeparators(path)));
        m_probePage->setWorkspace(path);
        AppSettings::setLastWorkspace(path);
        m_monitor->clear();
        showRuns({});
        const QList<qint64> recovered = m_controller->workspace()->recoveredRuns();
        if (!recovered.isEmpty())
            m_monitorPage->appendLog(2, tr("%n run(s) were interrupted (their process ended while running) and "
                                           "are marked failed; resume them from the Runs panel.",
                                           nullptr, static_cast<int>(recovered.size())));
    });
    connect(m_monitorPage, &MonitorPage::clearRequested, this, [this] { m_monitor->clear(); });

    connect(m_probePage, &ProbePage::catalogueWanted, this, [this](qint64 run) {
        m_probe->loadCatalogue(m_controller->workspace()->path(), run);
    });
    connect(m_probe, &ProbeController::catalogueReady, m_probePage, &ProbePage::setCatalogue);
    connect(m_probePage, &ProbePage::generateRequested, m_probe, &ProbeController::generate);
    connect(m_probe, &ProbeController::started, this, [this] { m_probePage->showBusy(true); });
    connect(m_probe, &ProbeController::resultReady, m_probePage, &ProbePage::showResult);
    connect(m_probe, &ProbeController::finished, this, [this] { m_probePage->showBusy(false); });
}

void MainWindow::retranslate()
{
    m_tabs->setTabText(ConfigureTab, tr("Configure"));
    m_tabs->setTabText(MonitorTab, tr("Monitor"));
    m_tabs->setTabText(CompareTab, tr("Compare"));
    m_tabs->setTabText(InspectTab, tr("Inspect"));
    m_tabs->setTabText(ProbeTab, tr("Probe"));
    m_tabs->setTabText(RunsTab, tr("Runs"));
    for (int i = 0; i < m_tabActions.size(); ++i)
        m_tabActions[i]->setText(m_tabs->tabText(i));
    m_fileMenu->setTitle(tr("&File"));
    m_runMenu->setTitle(tr("&Run"));
    m_viewMenu->setTitle(tr("&View"));
    m_helpMenu->setTitle(tr("&Help"));
    m_toolbar->setWindowTitle(tr("Main toolbar"));
    m_newAction->setText(tr("&New experiment"));
    m_openAction->setText(tr("&Open experiment…"));
    m_saveAction->setText(tr("&Save experiment"));
    m_saveAsAction->setText(tr("Save experiment &as…"));
    m_workspaceAction->setText(tr("Open &workspace…"));
    m_settingsAction->setText(tr("Se&ttings…"));
    m_quitAction->setText(tr("&Quit"));
    m_runAction->setText(tr("&Run experiment"));
    m_runAction->setToolTip(tr("Save, validate and queue the experiment (Ctrl+R)"));
    m_validateAction->setText(tr("&Validate experiment"));
    m_cancelAction->setText(tr("&Cancel run"));
    m_cancelAction->setToolTip(tr("Stop the running job at its next step (Ctrl+.)"));
    m_refreshAction->setText(tr("Re&fresh"));
    m_aboutAction->setText(tr("&About RecAlign Studio"));
    for (QAction* a : m_helpMenu->actions())
        if (a->objectName() == QLatin1String("aboutQt"))
            a->setText(tr("About &Qt"));
    if (m_controller->workspace()->isOpen())
        setWindowTitle(tr("RecAlign Studio — %1").arg(QDir::toNativeSeparators(m_controller->workspace()->path())));
    else
        setWindowTitle(tr("RecAlign Studio"));
}

void MainWindow::changeEvent(QEvent* event)
{
    QMainWindow::changeEvent(event);
    if (event->type() == QEvent::LanguageChange)
        retranslate();
    else if (event->type() == QEvent::PaletteChange || event->type() == QEvent::ApplicationPaletteChange)
        refreshThemedIcons(this);  // icons are rendered in the palette's text colour
}

bool MainWindow::openWorkspace(const QString& folder)
{
    if (!m_controller->openWorkspace(folder)) {
        statusBar()->showMessage(m_controller->errorString(), 10000);
        return false;
    }
    return true;
}

void MainWindow::chooseWorkspace()
{
    const QString folder = QFileDialog::getExistingDirectory(this, tr("Open workspace"),
                                                             m_controller->workspace()->path());
    if (!folder.isEmpty() && !openWorkspace(folder))
        QMessageBox::warning(this, tr("Open workspace"), m_controller->errorString());
}

QString MainWindow::runsCaption(const QList<qint64>& runs) const
{
    if (runs.isEmpty())
        return {};
    QStringList names;
    for (qint64 id : runs) {
        const core::RunInfo* r = m_controller->runList()->runById(id);
        names << (r ? tr("#%1 %2").arg(id).arg(runDisplayName(*r)) : tr("#%1").arg(id));
    }
    return names.join(QStringLiteral(", "));
}

void MainWindow::showRuns(const QList<qint64>& runs)
{
    m_selected = runs;
    ++m_showCount;
    for (bool& s : m_stale)
        s = true;
    // The Monitor follows the selection at once (cheap); the tables and samples when shown.
    refreshTab(MonitorTab);
    refreshTab(m_tabs->currentIndex());
    if (runs.size() >= 1)
        m_probePage->selectRun(0, runs.front());
}

void MainWindow::refreshTab(int tab)
{
    if (tab < 0 || tab >= m_stale.size() || !m_stale[tab] || !m_controller->workspace()->isOpen())
        return;
    m_stale[tab] = false;
    core::RunStore& store = m_controller->workspace()->store();
    const QString caption = runsCaption(m_selected);
    std::vector<int64_t> ids(m_selected.begin(), m_selected.end());
    switch (tab) {
    case MonitorTab:
        if (!m_monitor->showRuns(store, m_selected))
            statusBar()->showMessage(m_monitor->errorString(), 8000);
        m_monitorPage->setCaption(caption);
        break;
    case CompareTab: {
        auto tables = compareTables(store, ids);
        if (!tables)
            statusBar()->showMessage(QString::fromStdString(tables.error().toString()), 8000);
        m_compare->setTables(tables ? tables.value() : std::vector<core::Table>{}, caption);
        break;
    }
    case InspectTab: {
        auto samples = loadSampleViews(store, ids);
        if (!samples)
            statusBar()->showMessage(QString::fromStdString(samples.error().toString()), 8000);
        m_inspect->setSamples(samples ? std::move(samples).value() : std::vector<widgets::SampleView>{},
                              caption.isEmpty() ? QString() : tr("Samples of %1").arg(caption));
        break;
    }
    case RunsTab: {
        auto rows = runsTableRows(store);
        if (!rows) {
            statusBar()->showMessage(QString::fromStdString(rows.error().toString()), 8000);
            break;
        }
        if (m_runsTable->chosenMetrics().isEmpty())
            m_runsTable->setChosenMetrics(defaultRunsTableMetrics(rows.value()));
        m_runsTable->setRows(std::move(rows).value());
        m_runsTable->selectRuns(m_selected);
        break;
    }
    default: break;
    }
}

void MainWindow::refreshProbeRuns()
{
    std::vector<std::pair<qint64, QString>> finished;
    RunListModel* model = m_controller->runList();
    for (int g = 0; g < model->rowCount(); ++g) {
        const QModelIndex group = model->index(g, 0);
        for (int r = 0; r < model->rowCount(group); ++r)
            if (const core::RunInfo* info = model->run(model->index(r, 0, group)))
                if (info->status == core::RunStatus::Finished)
                    finished.emplace_back(info->id, tr("#%1 %2").arg(info->id).arg(runDisplayName(*info)));
    }
    std::sort(finished.begin(), finished.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    if (finished == m_probeRuns)
        return;
    m_probeRuns = finished;
    m_probePage->setRuns(finished);
}

void MainWindow::onProgress(const QString& label, const QString& stage, qint64 step, qint64 total)
{
    m_progress->setVisible(true);
    if (total > 0) {
        m_progress->setRange(0, static_cast<int>(total));
        m_progress->setValue(static_cast<int>(std::min(step, total)));
        m_jobLabel->setText(tr("%1 · %2 %3/%4").arg(label, stage).arg(step).arg(total));
    } else {
        m_progress->setRange(0, 0);  // busy
        m_jobLabel->setText(stage.isEmpty() ? label : tr("%1 · %2").arg(label, stage));
    }
    const int queued = m_controller->runController()->queuedCount();
    if (queued > 0)
        m_jobLabel->setText(m_jobLabel->text() + tr(" (+%n queued)", nullptr, queued));
}

void MainWindow::onJobFinished(int ticket, qint64 runId, int errorCode, const QString& message)
{
    // The live series go; the run's stored series come back once, through the selection below.
    m_monitor->endLive(nullptr, ticket, 0);
    const auto code = static_cast<core::ErrorCode>(errorCode);
    if (code == core::ErrorCode::None)
        m_monitorPage->appendLog(1, tr("Run %1 finished.").arg(runId));
    else if (code == core::ErrorCode::Cancelled)
        m_monitorPage->appendLog(2, tr("Run %1 cancelled: %2").arg(runId).arg(message));
    if (!m_controller->isBusy()) {
        m_progress->setVisible(false);
        m_jobLabel->clear();
        m_cancelAction->setEnabled(false);
    }
    statusBar()->showMessage(code == core::ErrorCode::None ? tr("Run %1 finished.").arg(runId)
                                                           : tr("Run %1 ended: %2").arg(runId).arg(message),
                             8000);
    if (runId > 0) {
        // The new run becomes the selection: Monitor, Compare and Inspect show it (loaded once:
        // by the selection change, or here when the selection does not change).
        const int shown = m_showCount;
        m_dock->selectRuns({runId});
        if (m_showCount == shown)
            showRuns({runId});
    }
}

void MainWindow::showSettings()
{
    SettingsDialog dialog(this);
    if (dialog.exec() != QDialog::Accepted)
        return;
    const QString oldLanguage = AppSettings::language();
    dialog.save();
    if (dialog.language() != oldLanguage)
        widgets::installTranslation(dialog.language());
    widgets::applyTheme(*qApp, dialog.theme());
}

void MainWindow::closeEvent(QCloseEvent* event)
{
    if (m_controller->isBusy()) {
        const auto answer = QMessageBox::question(this, tr("Quit"),
                                                  tr("A run is in progress. Cancel it and quit? The run can be "
                                                     "resumed later from the Runs panel."),
                                                  QMessageBox::Yes | QMessageBox::No, QMessageBox::No);
        if (answer != QMessageBox::Yes) {
            event->ignore();
            return;
        }
        m_controller->runController()->cancelAll();
    }
    if (!m_configure->maybeSave()) {
        event->ignore();
        return;
    }
    AppSettings::setWindow(saveGeometry(), saveState());
    event->accept();
}

}  // namespace recalign::studio
