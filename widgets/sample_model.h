// Plain structs for evaluated samples as the Inspect view shows them, and the Qt models over
// them: a table of samples, a filter proxy (task, variant, hit, illegal kind, text) and a table
// of one sample's generated items with their badges. No business logic: the app fills the
// structs from the store / evaluation results.
#pragma once

#include <QAbstractTableModel>
#include <QSortFilterProxyModel>
#include <QString>

#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace recalign::widgets {

// Legality of one generated item (RECLM-GEN's illegal kinds).
enum class ItemBadge { Legal, NonExistent, Duplicate, InHistory, BeyondK };
// Whether the item belongs to the task's target category (I1/I2); Unknown for tasks without one.
enum class CategoryMatch { Unknown, In, Out };

struct SampleItemView {
    std::string title;
    ItemBadge badge = ItemBadge::Legal;
    CategoryMatch category = CategoryMatch::Unknown;
    long rank = 0;  // the SASRec teacher's 1-based catalogue rank; 0 = unknown / not in catalogue
    double reward = std::numeric_limits<double>::quiet_NaN();  // item-level reward
    bool is_target = false;  // the held-out next item (a hit)
};

struct SampleView {
    std::string task;     // "i0", "i1+", ... (core/api/tables.h task_name)
    std::string variant;  // "v2", "full", ...
    long user = 0;
    std::vector<std::string> history;  // titles, oldest first
    std::string intention;             // the instruction as given to the model
    std::string target_category;       // "" when the task has none
    std::string target_title;          // the held-out next item ("" when unknown)
    int k = 0;                         // requested list length
    std::vector<SampleItemView> items; // the parsed generated list, in order
    double list_reward = std::numeric_limits<double>::quiet_NaN();
    std::vector<std::pair<std::string, double>> breakdown;  // list-reward terms (name, value)
    std::string prompt;  // full prompt text (optional)
    std::string output;  // raw generated text (optional)
};

bool sampleIsHit(const SampleView& s);
int countBadge(const SampleView& s, ItemBadge badge);
int countIllegal(const SampleView& s);

QString badgeText(ItemBadge badge);        // translated: "legal", "non-existent", ...
QString badgeIconName(ItemBadge badge);    // "badge-legal", ... (widgets/icons.h)
QString categoryText(CategoryMatch match); // translated: "in category", "out of category", ""
QString categoryIconName(CategoryMatch match);

// Roles shared by the models (beyond Qt's).
enum SampleRole {
    BadgeRole = Qt::UserRole + 1,  // ItemBadge as int (items model, status column)
    CategoryRole,                  // CategoryMatch as int
    BadgeColorRole,                // QColor of a pill badge
    SampleRowRole,                 // source row (samples model)
    SortRole,                      // numeric sort key
    BarValueRole,                  // double for value-bar cells
};

// Table of samples: Task | Variant | User | k | Items | Hit | Illegal | List reward | Intention.
class SampleListModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Task, Variant, User, K, Items, Hit, Illegal, ListReward, Intention, ColumnCount };
    explicit SampleListModel(QObject* parent = nullptr);

    void setSamples(std::vector<SampleView> samples);
    void appendSamples(const std::vector<SampleView>& samples);
    const SampleView& sample(int row) const { return m_samples.at(static_cast<size_t>(row)); }
    const std::vector<SampleView>& samples() const { return m_samples; }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

private:
    std::vector<SampleView> m_samples;
};

// Filters a SampleListModel. Empty task/variant = all.
class SampleFilterProxy : public QSortFilterProxyModel {
    Q_OBJECT
public:
    enum class HitFilter { Any, Hit, Miss };
    enum class IllegalFilter { Any, AllLegal, AnyIllegal, NonExistent, Duplicate, InHistory, BeyondK };
    explicit SampleFilterProxy(QObject* parent = nullptr);

    void setTask(const QString& task);
    void setVariant(const QString& variant);
    void setHitFilter(HitFilter f);
    void setIllegalFilter(IllegalFilter f);
    // Case-insensitive substring over history titles, intention, item titles, output and user id.
    void setSearchText(const QString& text);

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const override;

private:
    QString m_task, m_variant, m_search;
    HitFilter m_hit = HitFilter::Any;
    IllegalFilter m_illegal = IllegalFilter::Any;
};

// One sample's generated list: # | Title | Status | Category | SASRec rank | Item reward.
class SampleItemsModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Position, Title, Status, Category, Rank, Reward, ColumnCount };
    explicit SampleItemsModel(QObject* parent = nullptr);
    void setSample(const SampleView& sample);
    void clear();

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

private:
    std::vector<SampleItemView> m_items;
    int m_k = 0;
};

}  // namespace recalign::widgets
