// recalign-studio entry point: settings (threads once, before any torch op; language; theme),
// then the window. `recalign-studio [WORKSPACE | FILE.yaml]` opens a workspace or an experiment.
#include "app/studio/app_settings.h"
#include "app/studio/configure_page.h"
#include "app/studio/main_window.h"
#include "widgets/icons.h"
#include "widgets/theme.h"

#include "core/api/info.h"

#include <QApplication>
#include <QCommandLineParser>

// The thread pools' start-up settings before any library's initialiser (core/api/info.h).
RECALIGN_PRESET_THREAD_POOLS;

int main(int argc, char** argv)
{
    recalign::core::applyAllocatorPolicy();  // before the first large allocation (core/api/info.h)
    recalign::core::applyBlasCorePolicy();   // OpenBLAS's kernels for this CPU (core/api/info.h)
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("RecAlign Studio"));
    QApplication::setOrganizationName(QStringLiteral("RecAlign"));
    QApplication::setApplicationVersion(QStringLiteral(RECALIGN_STUDIO_VERSION));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("RecAlign Studio: configure, run, monitor, compare, inspect "
                                                    "and probe controllable-recommendation experiments."));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument(QStringLiteral("path"),
                                 QStringLiteral("Workspace folder to open, or an experiment file (.yaml) to open in Configure"));
    parser.process(app);

    // torch's intra-op pool is process-wide: set it once, before any torch op (STYLE.md §3.3).
    // The process default (model unknown): the budget to torch, OpenBLAS one thread; a run
    // applies the plan for its model (core/api/info.h).
    recalign::core::applyThreadPlan(recalign::studio::AppSettings::torchThreads(), 0, false);
    recalign::widgets::initResources();
    recalign::widgets::installTranslation(recalign::studio::AppSettings::language());
    recalign::widgets::applyTheme(app, recalign::studio::AppSettings::theme());
    QApplication::setWindowIcon(recalign::widgets::icon(QStringLiteral("recalign")));

    const QStringList args = parser.positionalArguments();
    const QString arg = args.isEmpty() ? QString() : args.front();
    const bool isExperiment = arg.endsWith(QLatin1String(".yaml")) || arg.endsWith(QLatin1String(".yml"));
    recalign::studio::MainWindow window(isExperiment ? QString() : arg);
    if (isExperiment)
        window.configurePage()->openFile(arg);
    window.show();
    return QApplication::exec();
}
