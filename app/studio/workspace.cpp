// Workspace implementation.
#include "app/studio/workspace.h"

#include <QDir>
#include <QFileInfo>

namespace recalign::studio {

Workspace::Workspace(QObject* parent) : QObject(parent) {}

Workspace::~Workspace() = default;

bool Workspace::open(const QString& folder)
{
    const QString abs = QFileInfo(folder).absoluteFilePath();
    if (!QDir().mkpath(abs)) {
        m_error = tr("Cannot create the workspace folder %1").arg(QDir::toNativeSeparators(abs));
        return false;
    }
    auto store = std::make_unique<core::RunStore>();
    if (auto err = store->open(core::workspaceStorePath(abs.toStdString()))) {
        m_error = tr("Cannot open the run store of %1: %2")
                      .arg(QDir::toNativeSeparators(abs), QString::fromStdString(err.toString()));
        return false;
    }
    m_store = std::move(store);
    m_recovered.clear();
    for (int64_t id : m_store->recoveredRuns())
        m_recovered << static_cast<qint64>(id);
    m_path = abs;
    m_error.clear();
    Q_EMIT opened(m_path);
    return true;
}

}  // namespace recalign::studio
