// Workspace: the folder the GUI works in (runs.sqlite plus stage outputs) and the GUI thread's
// own connection to its run store (readers and the workers' writers use separate connections;
// WAL keeps them apart). Emits when another workspace is opened.
#pragma once

#include "core/api/store_api.h"

#include <QObject>
#include <QString>

#include <memory>

namespace recalign::studio {

class Workspace : public QObject {
    Q_OBJECT
public:
    explicit Workspace(QObject* parent = nullptr);
    ~Workspace() override;

    // Opens (creating the folder and the store when needed). False with errorString() on failure;
    // the previous workspace then stays open.
    bool open(const QString& folder);
    bool isOpen() const { return m_store && m_store->isOpen(); }
    QString path() const { return m_path; }
    QString errorString() const { return m_error; }
    // The GUI thread's connection (open() must have succeeded).
    core::RunStore& store() { return *m_store; }
    // Runs that opening marked interrupted (their process died while running).
    QList<qint64> recoveredRuns() const { return m_recovered; }

Q_SIGNALS:
    void opened(const QString& path);

private:
    std::unique_ptr<core::RunStore> m_store;
    QString m_path;
    QString m_error;
    QList<qint64> m_recovered;
};

}  // namespace recalign::studio
