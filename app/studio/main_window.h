// MainWindow: composes the runs dock, the five tabs (Configure, Monitor, Compare, Inspect,
// Probe), menus, toolbar, shortcuts and the status bar, and wires them to the controllers
// (StudioController, MonitorController, ProbeController). No business logic here.
#pragma once

#include <QList>
#include <QMainWindow>

#include <utility>
#include <vector>

class QAction;
class QLabel;
class QMenu;
class QProgressBar;
class QTabWidget;
class QToolBar;

namespace recalign::widgets {
class RunsTable;
}

namespace recalign::studio {

class ComparePage;
class ConfigurePage;
class InspectPage;
class MonitorController;
class MonitorPage;
class ProbeController;
class ProbePage;
class RunsDock;
class StudioController;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    enum Tab { ConfigureTab, MonitorTab, CompareTab, InspectTab, ProbeTab, RunsTab };

    // Opens `workspace` ("" = the last one, else ./workspace).
    explicit MainWindow(const QString& workspace = {}, QWidget* parent = nullptr);
    ~MainWindow() override;

    StudioController* controller() const { return m_controller; }
    MonitorController* monitor() const { return m_monitor; }
    ProbeController* probe() const { return m_probe; }
    RunsDock* runsDock() const { return m_dock; }
    ConfigurePage* configurePage() const { return m_configure; }
    MonitorPage* monitorPage() const { return m_monitorPage; }
    ComparePage* comparePage() const { return m_compare; }
    InspectPage* inspectPage() const { return m_inspect; }
    ProbePage* probePage() const { return m_probePage; }
    widgets::RunsTable* runsTable() const { return m_runsTable; }
    QTabWidget* tabs() const { return m_tabs; }
    QLabel* blasLabel() const { return m_blasLabel; }
    QProgressBar* progressBar() const { return m_progress; }

    bool openWorkspace(const QString& folder);
    // Shows these runs in Monitor, Compare and Inspect (what selecting them in the dock does).
    void showRuns(const QList<qint64>& runs);
    QList<qint64> shownRuns() const { return m_selected; }

protected:
    void closeEvent(QCloseEvent* event) override;
    void changeEvent(QEvent* event) override;

private:
    void createPages();
    void createActions();
    void createMenus();
    void createStatusBar();
    void wire();
    void retranslate();
    void refreshTab(int tab);
    void refreshProbeRuns();
    void onProgress(const QString& label, const QString& stage, qint64 step, qint64 total);
    void onJobFinished(int ticket, qint64 runId, int errorCode, const QString& message);
    void showSettings();
    void chooseWorkspace();
    QString runsCaption(const QList<qint64>& runs) const;

    StudioController* m_controller = nullptr;
    MonitorController* m_monitor = nullptr;
    ProbeController* m_probe = nullptr;
    RunsDock* m_dock = nullptr;
    QTabWidget* m_tabs = nullptr;
    ConfigurePage* m_configure = nullptr;
    MonitorPage* m_monitorPage = nullptr;
    ComparePage* m_compare = nullptr;
    InspectPage* m_inspect = nullptr;
    ProbePage* m_probePage = nullptr;
    widgets::RunsTable* m_runsTable = nullptr;  // the Runs tab: runs with differing keys and final metrics

    QLabel* m_jobLabel = nullptr;
    QProgressBar* m_progress = nullptr;
    QLabel* m_deviceLabel = nullptr;
    QLabel* m_blasLabel = nullptr;
    QLabel* m_threadsLabel = nullptr;

    QAction* m_newAction = nullptr;
    QAction* m_openAction = nullptr;
    QAction* m_saveAction = nullptr;
    QAction* m_saveAsAction = nullptr;
    QAction* m_workspaceAction = nullptr;
    QAction* m_settingsAction = nullptr;
    QAction* m_quitAction = nullptr;
    QAction* m_runAction = nullptr;
    QAction* m_validateAction = nullptr;
    QAction* m_cancelAction = nullptr;
    QAction* m_refreshAction = nullptr;
    QAction* m_aboutAction = nullptr;
    QList<QAction*> m_tabActions;
    QAction* m_dockAction = nullptr;
    QMenu* m_fileMenu = nullptr;
    QMenu* m_runMenu = nullptr;
    QMenu* m_viewMenu = nullptr;
    QMenu* m_helpMenu = nullptr;
    QToolBar* m_toolbar = nullptr;

    QList<qint64> m_selected;
    int m_showCount = 0;  // showRuns() calls
    QList<bool> m_stale;  // per tab: the selection changed since it was last filled
    std::vector<std::pair<qint64, QString>> m_probeRuns;
};

}  // namespace recalign::studio
