// Runs the `recalign` CLI from a test (the end-to-end pipeline tests): exit code and merged output.
#pragma once

#include <QProcess>
#include <QString>
#include <QStringList>

namespace tst_cli {

inline const QString kCli = QStringLiteral(RECALIGN_BINARY_DIR "/bin/recalign");

struct CliRun {
    int code = -1;  // -1 when the process crashed or was killed
    QString out;
};

inline CliRun cli(const QStringList& args, int timeoutMs = 600000)
{
    QProcess p;
    p.setProcessChannelMode(QProcess::MergedChannels);
    p.start(kCli, args);
    p.waitForFinished(timeoutMs);
    return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1, QString::fromUtf8(p.readAll())};
}

}  // namespace tst_cli
