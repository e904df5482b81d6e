// RunListModel implementation.
#include "app/studio/run_list_model.h"

#include "app/studio/run_data.h"
#include "widgets/icons.h"

#include <QColor>
#include <QDateTime>
#include <QFont>

#include <algorithm>
#include <cmath>

namespace recalign::studio {

namespace run_list_detail {
constexpr quintptr kGroupNode = 0;  // internalId of experiment rows; runs use group index + 1
}

QString formatDuration(double seconds)
{
    if (!(seconds >= 0))
        return {};
    const qint64 s = static_cast<qint64>(std::llround(seconds));
    if (s < 60)
        return RunListModel::tr("%1 s").arg(s);
    if (s < 3600)
        return RunListModel::tr("%1 min %2 s").arg(s / 60).arg(s % 60);
    return RunListModel::tr("%1 h %2 min").arg(s / 3600).arg((s % 3600) / 60);
}

RunListModel::RunListModel(QObject* parent) : QAbstractItemModel(parent) {}

std::vector<RunListModel::Group> RunListModel::groupRuns(std::vector<core::RunInfo> runs)
{
    std::vector<Group> groups;
    for (core::RunInfo& r : runs) {
        const QString name = r.experiment_name.empty() ? tr("(no experiment)") : QString::fromStdString(r.experiment_name);
        auto it = std::find_if(groups.begin(), groups.end(), [&](const Group& g) { return g.name == name; });
        if (it == groups.end()) {
            groups.push_back(Group{name, {}});
            it = groups.end() - 1;
        }
        it->runs.push_back(std::move(r));
    }
    return groups;
}

void RunListModel::setRuns(std::vector<core::RunInfo> runs)
{
    std::vector<Group> groups = groupRuns(std::move(runs));
    bool sameShape = groups.size() == m_groups.size();
    for (size_t g = 0; sameShape && g < groups.size(); ++g) {
        sameShape = groups[g].name == m_groups[g].name && groups[g].runs.size() == m_groups[g].runs.size();
        for (size_t r = 0; sameShape && r < groups[g].runs.size(); ++r)
            sameShape = groups[g].runs[r].id == m_groups[g].runs[r].id;
    }
    if (!sameShape) {
        beginResetModel();
        m_groups = std::move(groups);
        endResetModel();
        return;
    }
    m_groups = std::move(groups);
    for (size_t g = 0; g < m_groups.size(); ++g) {
        const QModelIndex parent = index(static_cast<int>(g), 0);
        Q_EMIT dataChanged(parent, index(static_cast<int>(g), ColumnCount - 1));
        if (!m_groups[g].runs.empty())
            Q_EMIT dataChanged(index(0, 0, parent), index(static_cast<int>(m_groups[g].runs.size()) - 1,
                                                           ColumnCount - 1, parent));
    }
}

bool RunListModel::refresh(core::RunStore& store)
{
    if (!store.isOpen())
        return false;
    auto runs = store.listRuns();
    if (!runs)
        return false;
    setRuns(std::move(runs).value());
    return true;
}

int RunListModel::runCount() const
{
    int n = 0;
    for (const Group& g : m_groups)
        n += static_cast<int>(g.runs.size());
    return n;
}

const core::RunInfo* RunListModel::run(const QModelIndex& index) const
{
    if (!index.isValid() || index.internalId() == run_list_detail::kGroupNode)
        return nullptr;
    const Group& g = m_groups[index.internalId() - 1];
    return index.row() < static_cast<int>(g.runs.size()) ? &g.runs[static_cast<size_t>(index.row())] : nullptr;
}

const core::RunInfo* RunListModel::runById(qint64 id) const
{
    for (const Group& g : m_groups)
        for (const core::RunInfo& r : g.runs)
            if (r.id == id)
                return &r;
    return nullptr;
}

QModelIndex RunListModel::indexOfRun(qint64 id) const
{
    for (size_t g = 0; g < m_groups.size(); ++g)
        for (size_t r = 0; r < m_groups[g].runs.size(); ++r)
            if (m_groups[g].runs[r].id == id)
                return createIndex(static_cast<int>(r), 0, static_cast<quintptr>(g + 1));
    return {};
}

QModelIndex RunListModel::index(int row, int column, const QModelIndex& parent) const
{
    if (row < 0 || column < 0 || column >= ColumnCount)
        return {};
    if (!parent.isValid())
        return row < static_cast<int>(m_groups.size()) ? createIndex(row, column, run_list_detail::kGroupNode)
                                                         : QModelIndex();
    if (parent.internalId() != run_list_detail::kGroupNode)
        return {};
    const Group& g = m_groups[static_cast<size_t>(parent.row())];
    return row < static_cast<int>(g.runs.size()) ? createIndex(row, column, static_cast<quintptr>(parent.row() + 1))
                                                 : QModelIndex();
}

QModelIndex RunListModel::parent(const QModelIndex& child) const
{
    if (!child.isValid() || child.internalId() == run_list_detail::kGroupNode)
        return {};
    return createIndex(static_cast<int>(child.internalId() - 1), 0, run_list_detail::kGroupNode);
}

int RunListModel::rowCount(const QModelIndex& parent) const
{
    if (!parent.isValid())
        return static_cast<int>(m_groups.size());
    if (parent.internalId() == run_list_detail::kGroupNode && parent.column() == 0)
        return static_cast<int>(m_groups[static_cast<size_t>(parent.row())].runs.size());
    return 0;
}

int RunListModel::columnCount(const QModelIndex&) const { return ColumnCount; }

QVariant RunListModel::data(const QModelIndex& index, int role) const
{
    if (!index.isValid())
        return {};
    if (index.internalId() == run_list_detail::kGroupNode)
        return groupData(m_groups[static_cast<size_t>(index.row())], index.column(), role);
    const core::RunInfo* r = run(index);
    return r ? runData(*r, index.column(), role) : QVariant();
}

QVariant RunListModel::groupData(const Group& g, int column, int role) const
{
    if (role == IsRunRole)
        return false;
    if (role == RunIdRole)
        return qint64(0);
    if (column == Name) {
        if (role == Qt::DisplayRole)
            return g.name;
        if (role == Qt::DecorationRole)
            return widgets::icon(QStringLiteral("configure"));
        if (role == Qt::FontRole) {
            QFont f;
            f.setBold(true);
            return f;
        }
        if (role == Qt::ToolTipRole)
            return tr("%n run(s)", nullptr, static_cast<int>(g.runs.size()));
    }
    if (column == Status && role == Qt::DisplayRole) {
        int running = 0;
        for (const auto& r : g.runs)
            running += r.status == core::RunStatus::Running;
        return running ? tr("%n running", nullptr, running) : QString();
    }
    return {};
}

QVariant RunListModel::runData(const core::RunInfo& r, int column, int role) const
{
    if (role == RunIdRole)
        return static_cast<qint64>(r.id);
    if (role == StatusRole)
        return static_cast<int>(r.status);
    if (role == IsRunRole)
        return true;
    const double now = m_now > 0 ? m_now : core::unixNow();
    if (role == Qt::DisplayRole) {
        switch (column) {
        case Name: return tr("#%1  %2").arg(r.id).arg(runDisplayName(r));
        case Status: return runStatusText(r.status);
        case Started:
            return r.started_at > 0 ? QDateTime::fromSecsSinceEpoch(static_cast<qint64>(r.started_at))
                                          .toString(QStringLiteral("yyyy-MM-dd HH:mm"))
                                    : QString();
        case Duration: {
            if (r.started_at <= 0)
                return QString();
            const double end = r.ended_at > 0 ? r.ended_at
                : r.status == core::RunStatus::Running ? now
                                                       : std::max(r.heartbeat_at, r.started_at);
            return formatDuration(end - r.started_at);
        }
        case Seed: return static_cast<qlonglong>(r.seed);
        }
    } else if (role == Qt::DecorationRole && column == Name) {
        return widgets::icon(runStatusIcon(r.status));
    } else if (role == Qt::ToolTipRole) {
        QString tip = tr("Run %1 · %2\nSeed %3 · device %4 · config %5")
                          .arg(r.id)
                          .arg(runStatusText(r.status))
                          .arg(r.seed)
                          .arg(QString::fromStdString(r.env.device.empty() ? std::string("?") : r.env.device),
                               QString::fromStdString(r.config_hash.substr(0, 12)));
        if (r.started_at > 0)
            tip += tr("\nStarted %1").arg(QDateTime::fromSecsSinceEpoch(static_cast<qint64>(r.started_at))
                                               .toString(QStringLiteral("yyyy-MM-dd HH:mm:ss")));
        if (!r.env.git_commit.empty())
            tip += tr("\nCommit %1%2").arg(QString::fromStdString(r.env.git_commit),
                                           r.env.git_dirty ? tr(" (uncommitted changes)") : QString());
        if (r.resumed_from > 0)
            tip += tr("\nResumes run %1").arg(r.resumed_from);
        if (!r.error.empty())
            tip += tr("\nError: %1").arg(QString::fromStdString(r.error));
        return tip;
    } else if (role == Qt::ForegroundRole && column == Status && r.status == core::RunStatus::Failed) {
        return QColor(192, 57, 43);
    } else if (role == Qt::TextAlignmentRole && (column == Seed || column == Duration)) {
        return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
    }
    return {};
}

QVariant RunListModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case Name: return tr("Run");
    case Status: return tr("Status");
    case Started: return tr("Started");
    case Duration: return tr("Duration");
    case Seed: return tr("Seed");
    }
    return {};
}

RunFilterProxy::RunFilterProxy(QObject* parent) : QSortFilterProxyModel(parent)
{
    setRecursiveFilteringEnabled(true);
    setAutoAcceptChildRows(true);
    setFilterCaseSensitivity(Qt::CaseInsensitive);
    setFilterKeyColumn(-1);
}

}  // namespace recalign::studio
