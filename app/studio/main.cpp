// recalign-studio entry point.
#include "app/studio/main_window.h"

#include <QApplication>

int main(int argc, char** argv)
{
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("RecAlign Studio"));
    QApplication::setOrganizationName(QStringLiteral("RecAlign"));
    recalign::studio::MainWindow window;
    window.show();
    return QApplication::exec();
}
