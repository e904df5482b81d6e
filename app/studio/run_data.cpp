// Store records -> widget data (see run_data.h).
#include "app/studio/run_data.h"

#include <QCoreApplication>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonValue>

#include <cmath>
#include <limits>

namespace recalign::studio {

namespace run_data_detail {

QString jsonScalarText(const QJsonValue& v)
{
    switch (v.type()) {
    case QJsonValue::Bool: return v.toBool() ? QStringLiteral("true") : QStringLiteral("false");
    case QJsonValue::Double: {
        const double d = v.toDouble();
        if (std::floor(d) == d && std::abs(d) < 1e15)
            return QString::number(static_cast<qint64>(d));
        return QString::number(d, 'g', 10);
    }
    case QJsonValue::String: return v.toString();
    case QJsonValue::Null: return QStringLiteral("null");
    default: return {};
    }
}

void flatten(const QJsonValue& v, const QString& prefix, std::map<std::string, std::string>& out)
{
    if (v.isObject()) {
        const QJsonObject o = v.toObject();
        for (auto it = o.begin(); it != o.end(); ++it)
            flatten(it.value(), prefix.isEmpty() ? it.key() : prefix + QLatin1Char('.') + it.key(), out);
    } else if (v.isArray()) {
        QStringList parts;
        for (const QJsonValue& e : v.toArray()) {
            if (e.isObject())
                parts << QString::fromUtf8(QJsonDocument(e.toObject()).toJson(QJsonDocument::Compact));
            else if (e.isArray())
                parts << QString::fromUtf8(QJsonDocument(e.toArray()).toJson(QJsonDocument::Compact));
            else
                parts << jsonScalarText(e);
        }
        out[prefix.toStdString()] = (QLatin1Char('[') + parts.join(QStringLiteral(", ")) + QLatin1Char(']')).toStdString();
    } else {
        out[prefix.toStdString()] = jsonScalarText(v).toStdString();
    }
}

std::string str(const QJsonObject& o, const char* key)
{
    return o.value(QLatin1String(key)).toString().toStdString();
}

double num(const QJsonObject& o, const char* key, double fallback = std::numeric_limits<double>::quiet_NaN())
{
    const QJsonValue v = o.value(QLatin1String(key));
    return v.isDouble() ? v.toDouble() : fallback;
}

// The terms of the list reward (core/rules rewardToJson keys) in the papers' notation; the
// views add the total (list_reward) themselves.
std::vector<std::pair<std::string, double>> breakdownFromReward(const QJsonObject& reward)
{
    static const std::pair<const char*, const char*> kTerms[] = {
        {"sum_scores_star", "\u03a3 Scores*"},          // paper: discounted teacher scores
        {"sum_rank_corr", "\u03a3 rank_corr"},          // recai
        {"normaliser", "B(k)"},                        // recai normaliser (1 for the paper's)
        {"score_ctl_list", "Score^ctl_list"},          // paper: control term of the list
        {"l_task", "L_task"},                          // recai
        {"item_reward_sum", "\u03a3 R_item"},
    };
    std::vector<std::pair<std::string, double>> out;
    for (const auto& [key, label] : kTerms) {
        const QJsonValue v = reward.value(QLatin1String(key));
        if (!v.isDouble() || (std::string(key) == "normaliser" && v.toDouble() == 1.0))
            continue;
        out.emplace_back(QString::fromUtf8(label).toStdString(), v.toDouble());
    }
    return out;
}

}  // namespace run_data_detail

using run_data_detail::num;
using run_data_detail::str;

std::map<std::string, std::string> flattenConfigJson(const std::string& json)
{
    std::map<std::string, std::string> out;
    const QJsonDocument doc = QJsonDocument::fromJson(QByteArray::fromStdString(json));
    if (doc.isObject())
        run_data_detail::flatten(doc.object(), QString(), out);
    return out;
}

widgets::ItemBadge badgeFromLegality(const std::string& legality)
{
    if (legality == "non_existent")
        return widgets::ItemBadge::NonExistent;
    if (legality == "duplicate")
        return widgets::ItemBadge::Duplicate;
    if (legality == "in_history")
        return widgets::ItemBadge::InHistory;
    if (legality == "beyond_k")
        return widgets::ItemBadge::BeyondK;
    return widgets::ItemBadge::Legal;
}

widgets::SampleView sampleViewFromDetails(const std::string& detailsJson, bool* ok)
{
    widgets::SampleView v;
    QJsonParseError error{};
    const QJsonDocument doc = QJsonDocument::fromJson(QByteArray::fromStdString(detailsJson), &error);
    if (ok)
        *ok = doc.isObject();
    if (!doc.isObject())
        return v;
    const QJsonObject o = doc.object();
    v.task = str(o, "task");
    v.user = static_cast<long>(num(o, "user", 0));
    v.k = static_cast<int>(num(o, "k", 0));
    v.intention = str(o, "intention");
    v.target_category = str(o, "target_category");
    v.target_title = str(o, "target");
    for (const QJsonValue& h : o.value(QLatin1String("history")).toArray())
        v.history.push_back(h.toString().toStdString());
    const bool hasCategory = !v.target_category.empty();
    for (const QJsonValue& iv : o.value(QLatin1String("items")).toArray()) {
        const QJsonObject it = iv.toObject();
        widgets::SampleItemView item;
        item.title = str(it, "title");
        item.badge = badgeFromLegality(str(it, "legality"));
        if (hasCategory && it.contains(QLatin1String("in_category")))
            item.category = it.value(QLatin1String("in_category")).toBool() ? widgets::CategoryMatch::In
                                                                               : widgets::CategoryMatch::Out;
        const double rank = num(it, "rank", -1);
        item.rank = rank >= 0 ? static_cast<long>(rank) + 1 : 0;
        item.reward = num(it, "reward");
        item.is_target = it.value(QLatin1String("is_target")).toBool();
        v.items.push_back(std::move(item));
    }
    const QJsonObject reward = o.value(QLatin1String("reward")).toObject();
    v.list_reward = num(reward, "list_reward");
    v.breakdown = run_data_detail::breakdownFromReward(reward);
    return v;
}

widgets::SampleView sampleViewFromRow(const core::SampleRow& row, bool* ok)
{
    widgets::SampleView v = sampleViewFromDetails(row.details_json, ok);
    if (v.task.empty())
        v.task = row.task;
    v.variant = row.variant;
    v.prompt = row.prompt;
    v.output = row.output;
    return v;
}

widgets::SampleView sampleViewFromProbe(const core::ProbeRequest& request, const core::ProbeResult& result)
{
    bool ok = false;
    widgets::SampleView v = sampleViewFromDetails(result.details_json, &ok);
    v.variant = request.variant;
    if (v.task.empty())
        v.task = request.task;
    if (v.k == 0)
        v.k = request.k;
    if (v.target_category.empty())
        v.target_category = request.category;
    if (v.history.empty())
        v.history = request.history;
    v.prompt = result.prompt;
    v.output = result.output;
    // The probe's own lists are authoritative for the items and the breakdown.
    v.items.clear();
    for (const core::ProbeItem& p : result.items) {
        widgets::SampleItemView item;
        item.title = p.title;
        item.badge = badgeFromLegality(p.legality);
        item.category = !p.has_category ? widgets::CategoryMatch::Unknown
            : p.in_category             ? widgets::CategoryMatch::In
                                        : widgets::CategoryMatch::Out;
        item.rank = p.rank >= 0 ? p.rank + 1 : 0;
        item.reward = p.reward;
        item.is_target = p.is_target;
        v.items.push_back(std::move(item));
    }
    v.list_reward = result.list_reward;
    return v;
}

QString runStatusText(core::RunStatus status)
{
    switch (status) {
    case core::RunStatus::Queued: return QCoreApplication::translate("RunStatus", "queued");
    case core::RunStatus::Running: return QCoreApplication::translate("RunStatus", "running");
    case core::RunStatus::Finished: return QCoreApplication::translate("RunStatus", "finished");
    case core::RunStatus::Failed: return QCoreApplication::translate("RunStatus", "failed");
    case core::RunStatus::Cancelled: return QCoreApplication::translate("RunStatus", "cancelled");
    }
    return {};
}

QString runStatusIcon(core::RunStatus status)
{
    return QStringLiteral("status-") + QLatin1String(core::runStatusName(status));
}

QString runDisplayName(const core::RunInfo& run)
{
    if (run.name.empty())
        return QCoreApplication::translate("RunStatus", "run %1").arg(run.id);
    return QString::fromStdString(run.name);
}

int runTopK(const core::RunInfo& run, int fallback)
{
    const auto flat = flattenConfigJson(run.config_json);
    const auto it = flat.find("evaluation.topk");
    if (it == flat.end())
        return fallback;
    bool ok = false;
    const int k = QString::fromStdString(it->second).toInt(&ok);
    return ok && k > 0 ? k : fallback;
}

core::Result<std::vector<core::Table>> compareTables(core::RunStore& store, const std::vector<int64_t>& runs)
{
    // The same tables as `recalign export` (core::storeTables): seed groups as mean ± std rows,
    // the paired tests marked, K from the first run's evaluation.topk.
    return core::storeTables(store, runs);
}

core::Result<std::vector<widgets::SampleView>> loadSampleViews(core::RunStore& store, const std::vector<int64_t>& runs,
                                                               int limit)
{
    std::vector<widgets::SampleView> out;
    for (int64_t id : runs) {
        core::SampleFilter filter;
        filter.run_id = id;
        filter.limit = limit;
        auto rows = store.samples(filter);
        if (!rows)
            return rows.error();
        for (const core::SampleRow& row : rows.value())
            out.push_back(sampleViewFromRow(row));
    }
    return out;
}

}  // namespace recalign::studio
