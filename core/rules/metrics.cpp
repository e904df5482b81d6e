// Per-sample metrics (RECLM-GEN §6.2) and their per-task aggregation.
#include "core/rules/metrics.h"

#include "core/util/strings.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <set>
#include <unordered_set>

namespace recalign::core {

SampleMetrics computeSampleMetrics(const Sample& s, const std::vector<ParsedLine>& parsed, const Dataset& data)
{
    SampleMetrics m;
    m.k = s.item_count;
    m.parsed = static_cast<int>(parsed.size());
    m.correct_count = m.parsed == m.k ? 1.0 : 0.0;
    const size_t K = std::min(parsed.size(), static_cast<size_t>(std::max(m.k, 0)));
    const std::unordered_set<ItemId> history(s.history.begin(), s.history.end());
    const bool hasC = s.target_category >= 0 && s.target_category < data.numCategories();
    m.has_category = hasC && s.control != Control::None;
    std::set<std::string> seen;
    bool hit = false;
    for (size_t i = 0; i < K; ++i) {
        const ParsedLine& p = parsed[i];
        const ItemId it = p.item;
        const std::string key = it > 0 ? "#" + std::to_string(it) : "t:" + str::normalizeSpace(p.title);
        if (!seen.insert(key).second)
            ++m.repeat;
        if (it <= 0) {
            ++m.non_exist;
            continue;
        }
        if (history.count(it))
            ++m.in_history;
        if (hasC && data.inCategory(it, s.target_category))
            ++m.target_category;
        if (!hit && s.target > 0 && it == s.target) {
            hit = true;
            m.hr = 1.0;
            m.ndcg = 1.0 / std::log2(static_cast<double>(i) + 2.0);
            m.mrr = 1.0 / (static_cast<double>(i) + 1.0);
        }
    }
    const int cc = s.category_count;
    switch (s.control) {
    case Control::AtMost:
        m.has_cpa = true;
        m.cpa = m.target_category + m.non_exist <= cc ? 1.0 : 0.0;
        break;
    case Control::AtLeast:
        m.has_cpa = true;
        m.cpa = m.target_category >= cc ? 1.0 : 0.0;
        break;
    case Control::About:
        m.has_cpa = true;
        m.cpa = std::abs(m.target_category - cc) <= 1 ? 1.0 : 0.0;
        break;
    default:
        break;
    }
    return m;
}

void MetricsAccumulator::Welford::push(double x)
{
    ++n;
    const double d = x - mean;
    mean += d / static_cast<double>(n);
    m2 += d * (x - mean);
}

std::vector<std::pair<const char*, double>> sampleMetricValues(const SampleMetrics& m)
{
    const double K = m.k > 0 ? static_cast<double>(m.k) : 1.0;
    std::vector<std::pair<const char*, double>> v = {
        {"hr", m.hr},
        {"ndcg", m.ndcg},
        {"mrr", m.mrr},
        {"correct_count", m.correct_count},
        {"non_exist", double(m.non_exist)},
        {"non_exist_ratio", m.non_exist / K},
        {"repeat", double(m.repeat)},
        {"repeat_ratio", m.repeat / K},
        {"in_history", double(m.in_history)},
        {"in_history_ratio", m.in_history / K},
    };
    // Per generated item: a shorter list has fewer illegal items by itself.
    const int length = m.k > 0 ? std::min(m.parsed, m.k) : m.parsed;
    v.push_back({"list_length", double(length)});
    if (length > 0)
        v.push_back({"illegal_per_item", double(m.repeat + m.non_exist + m.in_history) / length});
    if (m.has_category) {
        v.push_back({"tcp", double(m.target_category)});
        v.push_back({"tcp_ratio", m.target_category / K});
        v.push_back({"tcp_pct", 100.0 * m.target_category / K});
    }
    if (m.has_cpa) {
        v.push_back({"cpa", m.cpa});
        v.push_back({"cpa_pct", 100.0 * m.cpa});
    }
    return v;
}

void MetricsAccumulator::add(const std::string& task, const SampleMetrics& m)
{
    Task* t = nullptr;
    for (auto& existing : m_tasks)
        if (existing.name == task)
            t = &existing;
    if (!t) {
        m_tasks.push_back({task, 0, 0, {}});
        t = &m_tasks.back();
    }
    if (m.parsed == 0 && !m_countEmpty) {
        ++t->empty;
        return;
    }
    ++t->samples;
    for (const auto& [name, value] : sampleMetricValues(m))
        t->values[name].push(value);
}

std::vector<TaskMetrics> MetricsAccumulator::results() const
{
    std::vector<TaskMetrics> out;
    for (const auto& t : m_tasks) {
        TaskMetrics r;
        r.task = t.name;
        r.samples = t.samples;
        r.empty = t.empty;
        for (const auto& [name, w] : t.values) {
            MetricStat s;
            s.n = w.n;
            s.mean = w.mean;
            s.se = w.n > 1 ? std::sqrt(w.m2 / static_cast<double>(w.n - 1) / static_cast<double>(w.n)) : 0.0;
            r.values[name] = s;
        }
        out.push_back(std::move(r));
    }
    return out;
}

nlohmann::json sampleMetricsToJson(const SampleMetrics& m)
{
    const double K = m.k > 0 ? static_cast<double>(m.k) : 1.0;
    nlohmann::json j = {{"k", m.k},
                        {"parsed", m.parsed},
                        {"correct_count", m.correct_count},
                        {"hr", m.hr},
                        {"ndcg", m.ndcg},
                        {"mrr", m.mrr},
                        {"non_exist", m.non_exist},
                        {"non_exist_ratio", m.non_exist / K},
                        {"repeat", m.repeat},
                        {"repeat_ratio", m.repeat / K},
                        {"in_history", m.in_history},
                        {"in_history_ratio", m.in_history / K}};
    if (m.has_category) {
        j["tcp"] = m.target_category;
        j["tcp_pct"] = 100.0 * m.target_category / K;
    }
    if (m.has_cpa)
        j["cpa"] = m.cpa;
    return j;
}

nlohmann::json taskMetricsToJson(const TaskMetrics& t)
{
    nlohmann::json values = nlohmann::json::object();
    for (const auto& [name, s] : t.values)
        values[name] = {{"mean", s.mean}, {"se", s.se}, {"n", s.n}};
    return {{"task", t.task}, {"samples", t.samples}, {"empty", t.empty}, {"values", std::move(values)}};
}

}  // namespace recalign::core
