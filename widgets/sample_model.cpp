// Models over evaluated samples (see sample_model.h).
#include "widgets/sample_model.h"

#include "widgets/icons.h"

#include <QColor>
#include <QFont>
#include <QIcon>
#include <QLocale>

namespace recalign::widgets {

namespace sample_model_detail {

QColor badgeColor(ItemBadge badge)
{
    switch (badge) {
    case ItemBadge::Legal: return QColor(46, 157, 91);
    case ItemBadge::NonExistent: return QColor(208, 69, 58);
    case ItemBadge::Duplicate: return QColor(217, 145, 43);
    case ItemBadge::InHistory: return QColor(142, 92, 199);
    case ItemBadge::BeyondK: return QColor(107, 118, 137);
    }
    return {};
}

QColor categoryColor(CategoryMatch match)
{
    switch (match) {
    case CategoryMatch::In: return QColor(31, 154, 165);
    case CategoryMatch::Out: return QColor(140, 148, 162);
    case CategoryMatch::Unknown: break;
    }
    return {};
}

QString formatReward(double v)
{
    return std::isfinite(v) ? QString::number(v, 'f', 3) : QString();
}

QString fromStd(const std::string& s)
{
    return QString::fromStdString(s);
}

}  // namespace sample_model_detail

using sample_model_detail::formatReward;
using sample_model_detail::fromStd;

bool sampleIsHit(const SampleView& s)
{
    for (const auto& item : s.items)
        if (item.is_target)
            return true;
    return false;
}

int countBadge(const SampleView& s, ItemBadge badge)
{
    int n = 0;
    for (const auto& item : s.items)
        n += item.badge == badge;
    return n;
}

int countIllegal(const SampleView& s)
{
    return static_cast<int>(s.items.size()) - countBadge(s, ItemBadge::Legal);
}

QString badgeText(ItemBadge badge)
{
    switch (badge) {
    case ItemBadge::Legal: return SampleItemsModel::tr("legal");
    case ItemBadge::NonExistent: return SampleItemsModel::tr("non-existent");
    case ItemBadge::Duplicate: return SampleItemsModel::tr("duplicate");
    case ItemBadge::InHistory: return SampleItemsModel::tr("in history");
    case ItemBadge::BeyondK: return SampleItemsModel::tr("beyond k");
    }
    return {};
}

QString badgeIconName(ItemBadge badge)
{
    switch (badge) {
    case ItemBadge::Legal: return QStringLiteral("badge-legal");
    case ItemBadge::NonExistent: return QStringLiteral("badge-nonexistent");
    case ItemBadge::Duplicate: return QStringLiteral("badge-duplicate");
    case ItemBadge::InHistory: return QStringLiteral("badge-in-history");
    case ItemBadge::BeyondK: return QStringLiteral("badge-beyond-k");
    }
    return {};
}

QString categoryText(CategoryMatch match)
{
    switch (match) {
    case CategoryMatch::In: return SampleItemsModel::tr("in category");
    case CategoryMatch::Out: return SampleItemsModel::tr("out of category");
    case CategoryMatch::Unknown: break;
    }
    return {};
}

QString categoryIconName(CategoryMatch match)
{
    switch (match) {
    case CategoryMatch::In: return QStringLiteral("badge-category-in");
    case CategoryMatch::Out: return QStringLiteral("badge-category-out");
    case CategoryMatch::Unknown: break;
    }
    return {};
}

// ---- SampleListModel ---------------------------------------------------------------------------

SampleListModel::SampleListModel(QObject* parent) : QAbstractTableModel(parent) {}

void SampleListModel::setSamples(std::vector<SampleView> samples)
{
    beginResetModel();
    m_samples = std::move(samples);
    endResetModel();
}

void SampleListModel::appendSamples(const std::vector<SampleView>& samples)
{
    if (samples.empty())
        return;
    const int first = static_cast<int>(m_samples.size());
    beginInsertRows({}, first, first + static_cast<int>(samples.size()) - 1);
    m_samples.insert(m_samples.end(), samples.begin(), samples.end());
    endInsertRows();
}

int SampleListModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : static_cast<int>(m_samples.size());
}

int SampleListModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant SampleListModel::data(const QModelIndex& index, int role) const
{
    if (!index.isValid() || index.row() >= rowCount())
        return {};
    const SampleView& s = m_samples[static_cast<size_t>(index.row())];
    if (role == SampleRowRole)
        return index.row();
    const int illegal = countIllegal(s);
    const bool hit = sampleIsHit(s);
    if (role == Qt::DisplayRole) {
        switch (index.column()) {
        case Task: return fromStd(s.task);
        case Variant: return fromStd(s.variant);
        case User: return QString::number(s.user);
        case K: return s.k;
        case Items: return QStringLiteral("%1/%2").arg(s.items.size()).arg(s.k);
        case Hit: return hit ? tr("hit") : QString();
        case Illegal: return illegal ? QString::number(illegal) : QString();
        case ListReward: return formatReward(s.list_reward);
        case Intention: return fromStd(s.intention).simplified();
        }
    } else if (role == SortRole) {
        switch (index.column()) {
        case User: return static_cast<qlonglong>(s.user);
        case K: return s.k;
        case Items: return static_cast<int>(s.items.size());
        case Hit: return hit ? 1 : 0;
        case Illegal: return illegal;
        case ListReward: return std::isfinite(s.list_reward) ? s.list_reward : -1e300;
        default: return data(index, Qt::DisplayRole);
        }
    } else if (role == Qt::DecorationRole) {
        if (index.column() == Hit && hit)
            return icon(QStringLiteral("badge-hit"));
        if (index.column() == Illegal && illegal)
            return icon(QStringLiteral("warning"));
    } else if (role == Qt::TextAlignmentRole) {
        switch (index.column()) {
        case User: case K: case Items: case Illegal: case ListReward:
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        default: break;
        }
    } else if (role == Qt::ToolTipRole) {
        if (index.column() == Illegal && illegal) {
            QStringList parts;
            for (ItemBadge b : {ItemBadge::NonExistent, ItemBadge::Duplicate, ItemBadge::InHistory,
                                ItemBadge::BeyondK})
                if (const int n = countBadge(s, b))
                    parts << QStringLiteral("%1 × %2").arg(n).arg(badgeText(b));
            return parts.join(QLatin1Char('\n'));
        }
        if (index.column() == Intention)
            return fromStd(s.intention);
    }
    return {};
}

QVariant SampleListModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case Task: return tr("Task");
    case Variant: return tr("Variant");
    case User: return tr("User");
    case K: return tr("k");
    case Items: return tr("Items");
    case Hit: return tr("Hit");
    case Illegal: return tr("Illegal");
    case ListReward: return tr("List reward");
    case Intention: return tr("Instruction");
    }
    return {};
}

// ---- SampleFilterProxy -------------------------------------------------------------------------

SampleFilterProxy::SampleFilterProxy(QObject* parent) : QSortFilterProxyModel(parent)
{
    setSortRole(SortRole);
}

void SampleFilterProxy::setTask(const QString& task)
{
    m_task = task;
    invalidateFilter();
}

void SampleFilterProxy::setVariant(const QString& variant)
{
    m_variant = variant;
    invalidateFilter();
}

void SampleFilterProxy::setHitFilter(HitFilter f)
{
    m_hit = f;
    invalidateFilter();
}

void SampleFilterProxy::setIllegalFilter(IllegalFilter f)
{
    m_illegal = f;
    invalidateFilter();
}

void SampleFilterProxy::setSearchText(const QString& text)
{
    m_search = text.trimmed();
    invalidateFilter();
}

bool SampleFilterProxy::filterAcceptsRow(int sourceRow, const QModelIndex& /*sourceParent*/) const
{
    const auto* model = qobject_cast<const SampleListModel*>(sourceModel());
    if (!model || sourceRow >= model->rowCount())
        return false;
    const SampleView& s = model->sample(sourceRow);
    if (!m_task.isEmpty() && fromStd(s.task) != m_task)
        return false;
    if (!m_variant.isEmpty() && fromStd(s.variant) != m_variant)
        return false;
    const bool hit = sampleIsHit(s);
    if ((m_hit == HitFilter::Hit && !hit) || (m_hit == HitFilter::Miss && hit))
        return false;
    switch (m_illegal) {
    case IllegalFilter::Any: break;
    case IllegalFilter::AllLegal: if (countIllegal(s) > 0) return false; break;
    case IllegalFilter::AnyIllegal: if (countIllegal(s) == 0) return false; break;
    case IllegalFilter::NonExistent: if (!countBadge(s, ItemBadge::NonExistent)) return false; break;
    case IllegalFilter::Duplicate: if (!countBadge(s, ItemBadge::Duplicate)) return false; break;
    case IllegalFilter::InHistory: if (!countBadge(s, ItemBadge::InHistory)) return false; break;
    case IllegalFilter::BeyondK: if (!countBadge(s, ItemBadge::BeyondK)) return false; break;
    }
    if (m_search.isEmpty())
        return true;
    auto has = [&](const std::string& text) {
        return fromStd(text).contains(m_search, Qt::CaseInsensitive);
    };
    if (has(s.intention) || has(s.output) || has(s.target_title) || has(s.target_category) ||
        QString::number(s.user) == m_search)
        return true;
    for (const auto& h : s.history)
        if (has(h))
            return true;
    for (const auto& item : s.items)
        if (has(item.title))
            return true;
    return false;
}

// ---- SampleItemsModel --------------------------------------------------------------------------

SampleItemsModel::SampleItemsModel(QObject* parent) : QAbstractTableModel(parent) {}

void SampleItemsModel::setSample(const SampleView& sample)
{
    beginResetModel();
    m_items = sample.items;
    m_k = sample.k;
    endResetModel();
}

void SampleItemsModel::clear()
{
    beginResetModel();
    m_items.clear();
    m_k = 0;
    endResetModel();
}

int SampleItemsModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : static_cast<int>(m_items.size());
}

int SampleItemsModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant SampleItemsModel::data(const QModelIndex& index, int role) const
{
    if (!index.isValid() || index.row() >= rowCount())
        return {};
    const SampleItemView& item = m_items[static_cast<size_t>(index.row())];
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case Position: return index.row() + 1;
        case Title: return fromStd(item.title);
        case Status: return badgeText(item.badge);
        case Category: return categoryText(item.category);
        case Rank: return item.rank > 0 ? QLocale().toString(static_cast<qlonglong>(item.rank)) : QString();
        case Reward: return formatReward(item.reward);
        }
        break;
    case BadgeRole:
        return static_cast<int>(item.badge);
    case CategoryRole:
        return static_cast<int>(item.category);
    case BadgeColorRole:
        if (index.column() == Status)
            return sample_model_detail::badgeColor(item.badge);
        if (index.column() == Category && item.category != CategoryMatch::Unknown)
            return sample_model_detail::categoryColor(item.category);
        break;
    case BarValueRole:
        if (index.column() == Reward && std::isfinite(item.reward))
            return item.reward;
        break;
    case Qt::DecorationRole:
        if (index.column() == Status)
            return icon(badgeIconName(item.badge));
        if (index.column() == Category && item.category != CategoryMatch::Unknown)
            return icon(categoryIconName(item.category));
        if (index.column() == Title && item.is_target)
            return icon(QStringLiteral("badge-hit"));
        break;
    case Qt::FontRole:
        if (index.column() == Title && item.is_target) {
            QFont f;
            f.setBold(true);
            return f;
        }
        if (index.column() == Title && item.badge != ItemBadge::Legal) {
            QFont f;
            f.setStrikeOut(item.badge == ItemBadge::NonExistent);
            f.setItalic(true);
            return f;
        }
        break;
    case Qt::TextAlignmentRole:
        if (index.column() == Position || index.column() == Rank || index.column() == Reward)
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        break;
    case Qt::ToolTipRole:
        if (index.column() == Title && item.is_target)
            return tr("The held-out next item: a hit");
        if (index.column() == Rank)
            return tr("Rank of this item in the SASRec teacher's scores over the catalogue "
                      "(1 = the teacher's top choice)");
        if (index.column() == Status && index.row() >= m_k && m_k > 0)
            return tr("Position %1 is beyond the requested k = %2").arg(index.row() + 1).arg(m_k);
        break;
    default:
        break;
    }
    return {};
}

QVariant SampleItemsModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case Position: return QStringLiteral("#");
    case Title: return tr("Generated item");
    case Status: return tr("Status");
    case Category: return tr("Category");
    case Rank: return tr("SASRec rank");
    case Reward: return tr("Item reward");
    }
    return {};
}

}  // namespace recalign::widgets
