// RunsDock: the workspace's experiments and runs (RunListModel through a text filter) with a
// context menu: open, resume, cancel, delete (with confirmation) and reveal files. Actions go
// to the StudioController; the selected runs drive the Monitor, Compare and Inspect tabs.
#pragma once

#include <QDockWidget>
#include <QList>

class QAction;
class QLabel;
class QLineEdit;
class QTreeView;

namespace recalign::studio {

class RunFilterProxy;
class StudioController;

class RunsDock : public QDockWidget {
    Q_OBJECT
public:
    RunsDock(StudioController* controller, QWidget* parent = nullptr);

    // Selected runs (an experiment row stands for all its runs), newest first.
    QList<qint64> selectedRuns() const;
    void selectRuns(const QList<qint64>& ids);
    QTreeView* view() const { return m_view; }
    QLineEdit* filterEdit() const { return m_filter; }
    QAction* resumeAction() const { return m_resume; }
    QAction* cancelAction() const { return m_cancel; }
    QAction* deleteAction() const { return m_delete; }

public Q_SLOTS:
    void resumeSelected();
    void cancelSelected();
    void deleteSelected();  // asks first
    void revealSelected();

Q_SIGNALS:
    void selectionChanged(const QList<qint64>& runs);
    void openRequested(const QList<qint64>& runs);
    void message(const QString& text);

protected:
    void changeEvent(QEvent* event) override;

private:
    void retranslate();
    void updateActions();
    void showMenu(const QPoint& pos);
    qint64 currentRun() const;

    StudioController* m_controller;
    RunFilterProxy* m_proxy = nullptr;
    QLineEdit* m_filter = nullptr;
    QTreeView* m_view = nullptr;
    QLabel* m_count = nullptr;
    QAction* m_open = nullptr;
    QAction* m_resume = nullptr;
    QAction* m_cancel = nullptr;
    QAction* m_delete = nullptr;
    QAction* m_reveal = nullptr;
    QList<qint64> m_restore;  // selection kept over model resets
};

}  // namespace recalign::studio
