// Store -> runs table rows (see runs_table_data.h).
#include "app/studio/runs_table_data.h"

#include "app/studio/run_data.h"
#include "core/api/tables.h"

#include <QCoreApplication>

#include <algorithm>
#include <set>
#include <utility>

namespace recalign::studio {

namespace runs_table_data_detail {

bool startsWith(const std::string& s, const std::string& prefix)
{
    return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

bool endsWith(const std::string& s, const std::string& suffix)
{
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A PPO stage's list-reward series: "val/list_reward" (validation) or "reward/list_mean"
// (training rollouts), as core/train logs them; per-task validation series
// ("val/<task>/list_reward") are left out. Returns "val", "train" or "".
std::string listRewardKind(const core::SeriesInfo& s)
{
    if (!startsWith(s.stage, "ppo_") || s.name.find("reward") == std::string::npos
        || s.name.find("list") == std::string::npos
        || std::count(s.name.begin(), s.name.end(), '/') > 1)
        return {};
    return startsWith(s.name, "val/") ? "val" : "train";
}

}  // namespace runs_table_data_detail

using runs_table_data_detail::endsWith;
using runs_table_data_detail::startsWith;

std::map<std::string, double> runFinalMetrics(int64_t run, const std::vector<core::EvalRecord>& results,
                                              const std::vector<core::SeriesInfo>& series, int k)
{
    namespace task = core::task_name;
    namespace metric = core::metric_name;
    const std::string K = std::to_string(k);
    std::map<std::string, double> out;
    std::map<std::string, std::pair<double, int>> cpa;  // variant -> (sum, count) over I2 tasks
    for (const core::EvalRecord& r : results) {
        if (r.run_id != run)
            continue;
        const std::string& v = r.variant;
        if (r.task == task::kI0 && r.metric == metric::kHr)
            out[v + " HR@" + K + " (i0)"] = r.value;
        else if (r.task == task::kI0 && r.metric == metric::kNdcg)
            out[v + " NDCG@" + K + " (i0)"] = r.value;
        else if (r.task == task::kI1Plus && r.metric == metric::kTcp)
            out[v + " TCP (+C)"] = r.value;
        else if (r.task == task::kI1Minus && r.metric == metric::kTcp)
            out[v + " TCP (-C)"] = r.value;
        else if ((r.task == task::kI2Le20 || r.task == task::kI2Ge30 || r.task == task::kI2Approx30)
                 && r.metric == metric::kCpa) {
            cpa[v].first += r.value;
            cpa[v].second += 1;
        }
    }
    for (const auto& [variant, sc] : cpa)
        out[variant + " CPA (I2 mean)"] = sc.first / sc.second;
    for (const core::SeriesInfo& s : series) {
        const std::string kind = runs_table_data_detail::listRewardKind(s);
        if (!kind.empty() && s.points > 0)
            out[s.stage + " list reward (" + kind + ")"] = s.last_value;
    }
    return out;
}

core::Result<std::vector<widgets::RunsTableRow>> runsTableRows(core::RunStore& store, const core::RunFilter& filter)
{
    auto runs = store.listRuns(filter);
    if (!runs)
        return runs.error();
    std::vector<int64_t> ids;
    for (const core::RunInfo& r : runs.value())
        ids.push_back(r.id);
    std::vector<core::EvalRecord> results;
    if (!ids.empty()) {
        auto res = store.evalResults(ids);
        if (!res)
            return res.error();
        results = std::move(res).value();
    }
    std::map<int64_t, QString> groupNames;
    std::vector<widgets::RunsTableRow> rows;
    rows.reserve(runs.value().size());
    for (const core::RunInfo& r : runs.value()) {
        widgets::RunsTableRow row;
        row.id = r.id;
        row.name = runDisplayName(r);
        row.seed = r.seed;
        row.status = runStatusText(r.status);
        row.config = flattenConfigJson(r.config_json);
        if (r.group_id != 0) {
            auto it = groupNames.find(r.group_id);
            if (it == groupNames.end()) {
                auto g = store.group(r.group_id);
                QString label = g && !g.value().name.empty()
                    ? QString::fromStdString(g.value().name)
                    : QCoreApplication::translate("RunsTableData", "group %1").arg(r.group_id);
                it = groupNames.emplace(r.group_id, label).first;
            }
            row.group = it->second;
        }
        auto series = store.metricNames(r.id);
        if (!series)
            return series.error();
        row.metrics = runFinalMetrics(r.id, results, series.value(), runTopK(r));
        rows.push_back(std::move(row));
    }
    return rows;
}

QStringList defaultRunsTableMetrics(const std::vector<widgets::RunsTableRow>& rows)
{
    std::set<std::string> keys;
    for (const auto& r : rows)
        for (const auto& kv : r.metrics)
            keys.insert(kv.first);
    // The variant: "full" when present, else the last of the paper's order with a result.
    std::string variant;
    const auto& order = core::paperVariantOrder();
    for (auto v = order.rbegin(); v != order.rend() && variant.empty(); ++v)
        for (const std::string& key : keys)
            if (startsWith(key, *v + " ")) {
                variant = *v;
                break;
            }
    QStringList out;
    if (variant.empty())
        return out;
    auto add = [&](const std::string& key) {
        if (keys.count(key))
            out << QString::fromStdString(key);
    };
    for (const std::string& key : keys)
        if (startsWith(key, variant + " HR@") && endsWith(key, " (i0)")) {
            add(key);
            break;
        }
    add(variant + " TCP (+C)");
    add(variant + " CPA (I2 mean)");
    const std::string stage = "ppo_" + variant;
    if (keys.count(stage + " list reward (val)"))
        add(stage + " list reward (val)");
    else
        add(stage + " list reward (train)");
    return out;
}

}  // namespace recalign::studio
