// AppSettings: the application's persistent preferences (QSettings): language, theme, torch
// threads, the last workspace and the window's geometry/state. Preferences only; nothing here
// drives training (the experiment file does).
#pragma once

#include "widgets/theme.h"

#include <QByteArray>
#include <QString>
#include <QStringList>

namespace recalign::studio {

class AppSettings {
public:
    static QString language();          // "en" (default) or "es"
    static void setLanguage(const QString& language);
    static widgets::Theme theme();      // Light by default
    static void setTheme(widgets::Theme theme);
    // torch intra-op threads; default 1 on machines with <= 2 cores (the GUI keeps one), else
    // half the cores. Applied once at start-up.
    static int torchThreads();
    static void setTorchThreads(int threads);
    static int defaultTorchThreads();
    // Local data-parallel processes per run (RunRequest::processes): 1 = the run in this
    // process's worker thread; N > 1 = `recalign run --nproc N` in a child process, followed
    // through the store. Applies to the next run started.
    static int processes();
    static void setProcesses(int processes);

    static QString lastWorkspace();     // "" = none yet
    static void setLastWorkspace(const QString& path);
    static QStringList recentExperiments();  // newest first, at most 8
    static void addRecentExperiment(const QString& path);

    static QByteArray windowGeometry();
    static QByteArray windowState();
    static void setWindow(const QByteArray& geometry, const QByteArray& state);
};

}  // namespace recalign::studio
