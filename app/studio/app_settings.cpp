// AppSettings implementation (QSettings under the application's organisation and name).
#include "app/studio/app_settings.h"

#include <QSettings>
#include <QThread>

#include <algorithm>

namespace recalign::studio {

namespace app_settings_detail {
constexpr int kMaxRecent = 8;
}

QString AppSettings::language()
{
    const QString lang = QSettings().value(QStringLiteral("ui/language"), QStringLiteral("en")).toString();
    return lang == QLatin1String("es") ? lang : QStringLiteral("en");
}

void AppSettings::setLanguage(const QString& language) { QSettings().setValue(QStringLiteral("ui/language"), language); }

widgets::Theme AppSettings::theme()
{
    return QSettings().value(QStringLiteral("ui/theme"), QStringLiteral("light")).toString() == QLatin1String("dark")
        ? widgets::Theme::Dark
        : widgets::Theme::Light;
}

void AppSettings::setTheme(widgets::Theme theme)
{
    QSettings().setValue(QStringLiteral("ui/theme"),
                         theme == widgets::Theme::Dark ? QStringLiteral("dark") : QStringLiteral("light"));
}

int AppSettings::defaultTorchThreads()
{
    const int cores = std::max(1, QThread::idealThreadCount());
    return cores <= 2 ? 1 : cores / 2;
}

int AppSettings::torchThreads()
{
    const int n = QSettings().value(QStringLiteral("compute/torch_threads"), defaultTorchThreads()).toInt();
    return std::clamp(n, 1, std::max(1, QThread::idealThreadCount()));
}

void AppSettings::setTorchThreads(int threads) { QSettings().setValue(QStringLiteral("compute/torch_threads"), threads); }

int AppSettings::processes()
{
    return std::clamp(QSettings().value(QStringLiteral("compute/processes"), 1).toInt(), 1, 64);
}

void AppSettings::setProcesses(int processes) { QSettings().setValue(QStringLiteral("compute/processes"), processes); }

QString AppSettings::lastWorkspace() { return QSettings().value(QStringLiteral("workspace/last")).toString(); }

void AppSettings::setLastWorkspace(const QString& path) { QSettings().setValue(QStringLiteral("workspace/last"), path); }

QStringList AppSettings::recentExperiments()
{
    return QSettings().value(QStringLiteral("experiments/recent")).toStringList();
}

void AppSettings::addRecentExperiment(const QString& path)
{
    QStringList recent = recentExperiments();
    recent.removeAll(path);
    recent.prepend(path);
    while (recent.size() > app_settings_detail::kMaxRecent)
        recent.removeLast();
    QSettings().setValue(QStringLiteral("experiments/recent"), recent);
}

QByteArray AppSettings::windowGeometry() { return QSettings().value(QStringLiteral("window/geometry")).toByteArray(); }

QByteArray AppSettings::windowState() { return QSettings().value(QStringLiteral("window/state")).toByteArray(); }

void AppSettings::setWindow(const QByteArray& geometry, const QByteArray& state)
{
    QSettings s;
    s.setValue(QStringLiteral("window/geometry"), geometry);
    s.setValue(QStringLiteral("window/state"), state);
}

}  // namespace recalign::studio
