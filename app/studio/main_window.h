// MainWindow: composes the docks, tabs, menus and status bar. No business logic here.
#pragma once

#include <QMainWindow>

class QTabWidget;
class QLabel;

namespace recalign::studio {

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget* parent = nullptr);

private:
    QTabWidget* m_tabs = nullptr;
    QLabel* m_deviceLabel = nullptr;
    QLabel* m_blasLabel = nullptr;
};

}  // namespace recalign::studio
