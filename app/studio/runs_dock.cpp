// RunsDock implementation.
#include "app/studio/runs_dock.h"
#include "app/studio/themed_icons.h"

#include "app/studio/run_list_model.h"
#include "app/studio/studio_controller.h"
#include "app/studio/workspace.h"
#include "widgets/icons.h"

#include <QAction>
#include <QDesktopServices>
#include <QDir>
#include <QEvent>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QMessageBox>
#include <QTreeView>
#include <QUrl>
#include <QVBoxLayout>

namespace recalign::studio {

RunsDock::RunsDock(StudioController* controller, QWidget* parent) : QDockWidget(parent), m_controller(controller)
{
    setObjectName(QStringLiteral("RunsDock"));
    auto* host = new QWidget(this);
    auto* layout = new QVBoxLayout(host);
    layout->setContentsMargins(6, 6, 6, 6);
    layout->setSpacing(6);
    m_filter = new QLineEdit(host);
    m_filter->setClearButtonEnabled(true);
    withIcon(m_filter->addAction(QIcon(), QLineEdit::LeadingPosition), QStringLiteral("filter"));
    layout->addWidget(m_filter);

    m_proxy = new RunFilterProxy(this);
    m_proxy->setSourceModel(controller->runList());
    m_view = new QTreeView(host);
    m_view->setModel(m_proxy);
    m_view->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setContextMenuPolicy(Qt::CustomContextMenu);
    m_view->setUniformRowHeights(true);
    m_view->setAlternatingRowColors(true);
    m_view->setAllColumnsShowFocus(true);
    m_view->header()->setStretchLastSection(false);
    m_view->header()->setSectionResizeMode(RunListModel::Name, QHeaderView::Stretch);
    for (int c = RunListModel::Status; c < RunListModel::ColumnCount; ++c)
        m_view->header()->setSectionResizeMode(c, QHeaderView::ResizeToContents);
    m_view->setColumnHidden(RunListModel::Started, true);  // in the tooltip; the header menu shows it
    m_view->setColumnHidden(RunListModel::Seed, true);
    layout->addWidget(m_view, 1);
    m_count = new QLabel(host);
    layout->addWidget(m_count);
    setWidget(host);
    setMinimumWidth(280);

    m_open = withIcon(new QAction(this), QStringLiteral("chart"));
    m_resume = withIcon(new QAction(this), QStringLiteral("resume"));
    m_cancel = withIcon(new QAction(this), QStringLiteral("stop"));
    m_delete = withIcon(new QAction(this), QStringLiteral("delete"));
    m_delete->setShortcut(QKeySequence::Delete);
    m_delete->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    m_view->addAction(m_delete);
    m_reveal = withIcon(new QAction(this), QStringLiteral("reveal"));

    connect(m_filter, &QLineEdit::textChanged, this, [this](const QString& text) {
        m_proxy->setFilterFixedString(text);
        m_view->expandAll();
    });
    connect(m_view, &QTreeView::customContextMenuRequested, this, &RunsDock::showMenu);
    connect(m_view, &QTreeView::doubleClicked, this, [this] { Q_EMIT openRequested(selectedRuns()); });
    connect(m_view->selectionModel(), &QItemSelectionModel::selectionChanged, this, [this] {
        updateActions();
        Q_EMIT selectionChanged(selectedRuns());
    });
    connect(m_open, &QAction::triggered, this, [this] { Q_EMIT openRequested(selectedRuns()); });
    connect(m_resume, &QAction::triggered, this, &RunsDock::resumeSelected);
    connect(m_cancel, &QAction::triggered, this, &RunsDock::cancelSelected);
    connect(m_delete, &QAction::triggered, this, &RunsDock::deleteSelected);
    connect(m_reveal, &QAction::triggered, this, &RunsDock::revealSelected);
    auto* model = controller->runList();
    connect(model, &QAbstractItemModel::modelAboutToBeReset, this, [this] { m_restore = selectedRuns(); });
    connect(model, &QAbstractItemModel::modelReset, this, [this] {
        m_view->expandAll();
        selectRuns(m_restore);
    });
    connect(controller, &StudioController::runsRefreshed, this, [this] {
        m_count->setText(tr("%n run(s)", nullptr, m_controller->runList()->runCount()));
        updateActions();
    });
    retranslate();
    updateActions();
}

void RunsDock::retranslate()
{
    setWindowTitle(tr("Runs"));
    m_filter->setPlaceholderText(tr("Filter runs (name, status, date)…"));
    m_open->setText(tr("&Open in Monitor"));
    m_resume->setText(tr("&Resume"));
    m_resume->setToolTip(tr("Continue the run from its last checkpoints"));
    m_cancel->setText(tr("&Cancel"));
    m_delete->setText(tr("&Delete…"));
    m_reveal->setText(tr("Reveal &files"));
    m_count->setText(tr("%n run(s)", nullptr, m_controller->runList()->runCount()));
}

void RunsDock::changeEvent(QEvent* event)
{
    QDockWidget::changeEvent(event);
    if (event->type() == QEvent::LanguageChange)
        retranslate();
}

QList<qint64> RunsDock::selectedRuns() const
{
    QList<qint64> ids;
    auto* model = m_controller->runList();
    for (const QModelIndex& proxyIndex : m_view->selectionModel()->selectedRows()) {
        const QModelIndex index = m_proxy->mapToSource(proxyIndex);
        if (index.data(RunListModel::IsRunRole).toBool()) {
            const qint64 id = index.data(RunListModel::RunIdRole).toLongLong();
            if (!ids.contains(id))
                ids << id;
        } else {
            for (int r = 0; r < model->rowCount(index); ++r) {
                const qint64 id = model->index(r, 0, index).data(RunListModel::RunIdRole).toLongLong();
                if (!ids.contains(id))
                    ids << id;
            }
        }
    }
    std::sort(ids.begin(), ids.end(), std::greater<qint64>());
    return ids;
}

void RunsDock::selectRuns(const QList<qint64>& ids)
{
    QItemSelection selection;
    for (qint64 id : ids) {
        const QModelIndex index = m_proxy->mapFromSource(m_controller->runList()->indexOfRun(id));
        if (index.isValid())
            selection.select(index, index.siblingAtColumn(RunListModel::ColumnCount - 1));
    }
    m_view->selectionModel()->select(selection, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
}

qint64 RunsDock::currentRun() const
{
    const QList<qint64> ids = selectedRuns();
    return ids.size() == 1 ? ids.front() : 0;
}

void RunsDock::updateActions()
{
    const QList<qint64> ids = selectedRuns();
    const qint64 one = ids.size() == 1 ? ids.front() : 0;
    const core::RunInfo* info = one ? m_controller->runList()->runById(one) : nullptr;
    m_open->setEnabled(!ids.isEmpty());
    m_resume->setEnabled(info && info->status != core::RunStatus::Running && info->status != core::RunStatus::Finished
                         && !m_controller->canCancel(one));
    m_cancel->setEnabled(one && m_controller->canCancel(one));
    m_delete->setEnabled(!ids.isEmpty());
    m_reveal->setEnabled(one != 0);
}

void RunsDock::showMenu(const QPoint& pos)
{
    updateActions();
    QMenu menu(this);
    menu.addAction(m_open);
    menu.addSeparator();
    menu.addAction(m_resume);
    menu.addAction(m_cancel);
    menu.addSeparator();
    if (const qint64 run = currentRun()) {
        QMenu* reveal = menu.addMenu(widgets::icon(QStringLiteral("reveal")), m_reveal->text());
        reveal->addAction(tr("Workspace folder"), this, [this] {
            QDesktopServices::openUrl(QUrl::fromLocalFile(m_controller->workspace()->path()));
        });
        const auto folders = m_controller->runFolders(run);
        if (!folders.empty())
            reveal->addSeparator();
        for (const auto& [stage, path] : folders)
            reveal->addAction(stage, this, [path = path] { QDesktopServices::openUrl(QUrl::fromLocalFile(path)); });
    }
    menu.addAction(m_delete);
    menu.exec(m_view->viewport()->mapToGlobal(pos));
}

void RunsDock::resumeSelected()
{
    const qint64 run = currentRun();
    if (!run)
        return;
    if (m_controller->resumeRun(run) == 0)
        QMessageBox::warning(this, tr("Resume run"), m_controller->errorString());
    else
        Q_EMIT message(tr("Run %1 queued to resume.").arg(run));
}

void RunsDock::cancelSelected()
{
    const qint64 run = currentRun();
    if (run && m_controller->cancelRun(run))
        Q_EMIT message(tr("Cancelling run %1…").arg(run));
}

void RunsDock::deleteSelected()
{
    const QList<qint64> ids = selectedRuns();
    if (ids.isEmpty())
        return;
    QStringList names;
    for (qint64 id : ids)
        names << QString::number(id);
    const auto answer = QMessageBox::question(
        this, tr("Delete runs"),
        tr("Delete %n run(s) (%1) with their metrics, results and samples from the store? Stage "
           "outputs on disk are kept (other runs may share them).",
           nullptr, static_cast<int>(ids.size()))
            .arg(names.join(QStringLiteral(", "))),
        QMessageBox::Yes | QMessageBox::Cancel, QMessageBox::Cancel);
    if (answer != QMessageBox::Yes)
        return;
    for (qint64 id : ids)
        if (!m_controller->deleteRun(id)) {
            QMessageBox::warning(this, tr("Delete runs"), m_controller->errorString());
            break;
        }
}

void RunsDock::revealSelected()
{
    const qint64 run = currentRun();
    const auto folders = run ? m_controller->runFolders(run) : std::vector<std::pair<QString, QString>>{};
    const QString path = folders.empty() ? m_controller->workspace()->path() : folders.back().second;
    QDesktopServices::openUrl(QUrl::fromLocalFile(path));
}

}  // namespace recalign::studio
