// RunListModel: the workspace's experiments (top level) and their runs (children) as a tree,
// from RunStore::listRuns; status icons, times and seeds. RunFilterProxy filters it by text
// (an experiment that matches keeps all its runs). Refreshing with an unchanged structure
// updates cells in place, so selections and scroll positions survive the periodic refresh.
#pragma once

#include "core/api/store_api.h"

#include <QAbstractItemModel>
#include <QSortFilterProxyModel>

#include <vector>

namespace recalign::studio {

class RunListModel : public QAbstractItemModel {
    Q_OBJECT
public:
    enum Column { Name, Status, Started, Duration, Seed, ColumnCount };
    enum Role {
        RunIdRole = Qt::UserRole + 1,  // qint64, 0 on experiment rows
        StatusRole,                    // int (core::RunStatus) on run rows
        IsRunRole,                     // bool
    };
    explicit RunListModel(QObject* parent = nullptr);

    // Replaces the content (runs newest first, as listRuns returns them).
    void setRuns(std::vector<core::RunInfo> runs);
    // Reads the store; false (content unchanged) when it cannot.
    bool refresh(core::RunStore& store);
    // The time "now" used for the duration of running runs (tests pin it).
    void setNow(double unixSeconds) { m_now = unixSeconds; }

    int runCount() const;
    const core::RunInfo* run(const QModelIndex& index) const;
    const core::RunInfo* runById(qint64 id) const;
    QModelIndex indexOfRun(qint64 id) const;

    QModelIndex index(int row, int column, const QModelIndex& parent = {}) const override;
    QModelIndex parent(const QModelIndex& child) const override;
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

private:
    struct Group {
        QString name;
        std::vector<core::RunInfo> runs;
    };
    static std::vector<Group> groupRuns(std::vector<core::RunInfo> runs);
    QVariant groupData(const Group& g, int column, int role) const;
    QVariant runData(const core::RunInfo& r, int column, int role) const;

    std::vector<Group> m_groups;
    double m_now = 0;  // 0 = the clock
};

// Case-insensitive text filter over every column; parents of matches and children of matching
// experiments stay visible.
class RunFilterProxy : public QSortFilterProxyModel {
    Q_OBJECT
public:
    explicit RunFilterProxy(QObject* parent = nullptr);
};

// "45 s", "3 min 20 s", "2 h 5 min".
QString formatDuration(double seconds);

}  // namespace recalign::studio
