// MainWindow: composition of the application's window.
#include "app/studio/main_window.h"

#include "core/api/info.h"

#include <QLabel>
#include <QMenuBar>
#include <QStatusBar>
#include <QTabWidget>

namespace recalign::studio {

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent)
{
    setWindowTitle(tr("RecAlign Studio"));
    m_tabs = new QTabWidget(this);
    setCentralWidget(m_tabs);
    auto* file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);

    const core::SystemInfo info = core::systemInfo();
    m_deviceLabel = new QLabel(info.cuda_available ? tr("Device: CUDA") : tr("Device: CPU"), this);
    m_blasLabel = new QLabel(tr("BLAS: %1").arg(QString::fromStdString(info.blas.name)), this);
    if (info.blas.is_reference)
        m_blasLabel->setStyleSheet(QStringLiteral("color: #c0392b; font-weight: bold"));
    statusBar()->addPermanentWidget(m_deviceLabel);
    statusBar()->addPermanentWidget(m_blasLabel);
    resize(1280, 820);
}

}  // namespace recalign::studio
