// Metrics of RECLM-GEN §6.2 per sample (HR@K, NDCG@K, MRR, CorrectCount, NonExist@K,
// RepeatItem@K, InHistory@K, TCP, CPA per I2 variant) and their aggregation per task with the
// number of samples and a standard error. Counts ("Rate" metrics in the released code) and
// ratios (count / K) are both kept; TCP also as %. Torch-free.
#pragma once

#include "core/rules/parse.h"
#include "core/rules/sample.h"

#include <nlohmann/json_fwd.hpp>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace recalign::core {

struct SampleMetrics {
    int k = 0;                 // item_count
    int parsed = 0;            // len(O), before truncation to K
    double correct_count = 0;  // 1[len(O) == K]
    double hr = 0;             // 1[target ∈ O_K]
    double ndcg = 0;           // 1/log2(pos+2)
    double mrr = 0;            // 1/(pos+1)
    int non_exist = 0;         // titles of O_K not in the catalogue
    int repeat = 0;            // titles of O_K equal to an earlier one
    int in_history = 0;        // items of O_K in the prompt's history
    bool has_category = false;
    int target_category = 0;   // items of O_K in C (TCP as a count)
    bool has_cpa = false;      // I2 only
    double cpa = 0;            // ≤: 1[TCP + NonExist ≤ cc]; ≥: 1[TCP ≥ cc]; ≈: 1[|TCP − cc| ≤ 1]
};

// Uses each line's `item` (the fuzzy-mapped one when the parse enabled it, as the released
// metrics do).
SampleMetrics computeSampleMetrics(const Sample& s, const std::vector<ParsedLine>& parsed, const Dataset& data);

// A metric's mean over the counted samples, its standard error (sample sd / √n), and n.
struct MetricStat {
    double mean = 0;
    double se = 0;
    long n = 0;
};

struct TaskMetrics {
    std::string task;
    long samples = 0;        // samples counted in the averages
    long empty = 0;          // samples skipped because their parsed list was empty
    std::map<std::string, MetricStat> values;  // "hr", "ndcg", "mrr", "correct_count", "non_exist",
                                               // "non_exist_ratio", "repeat", "repeat_ratio",
                                               // "in_history", "in_history_ratio", "tcp", "tcp_ratio",
                                               // "tcp_pct", "cpa", "cpa_pct"
};

// The per-sample values that MetricsAccumulator averages, by metric name (the TaskMetrics keys;
// tcp* only with a category, cpa* only for I2; list_length = items among the first K, and
// illegal_per_item = (repeat + non_exist + in_history) / list_length only for non-empty lists).
std::vector<std::pair<const char*, double>> sampleMetricValues(const SampleMetrics& m);

// Accumulates sample metrics per task name. Samples with an empty parse are skipped (the
// released behaviour) unless `countEmpty`.
class MetricsAccumulator {
public:
    explicit MetricsAccumulator(bool countEmpty = false) : m_countEmpty(countEmpty) {}
    void add(const std::string& task, const SampleMetrics& m);
    std::vector<TaskMetrics> results() const;  // in first-seen task order

private:
    struct Welford {
        long n = 0;
        double mean = 0, m2 = 0;
        void push(double x);
    };
    struct Task {
        std::string name;
        long samples = 0, empty = 0;
        std::map<std::string, Welford> values;
    };
    bool m_countEmpty;
    std::vector<Task> m_tasks;
};

nlohmann::json sampleMetricsToJson(const SampleMetrics& m);
nlohmann::json taskMetricsToJson(const TaskMetrics& t);

}  // namespace recalign::core
