// The runs table's rows (widgets/runs_table.h) from the run store: every run with its
// flattened config, seed group label and final metrics. No widgets here.
//
// Final metric columns (names are data keys, not translated; K = the run's evaluation.topk):
//   "<variant> HR@K (i0)", "<variant> NDCG@K (i0)"  task i0, metrics hr / ndcg
//   "<variant> TCP (+C)", "<variant> TCP (-C)"      tasks i1+ / i1-, metric tcp
//   "<variant> CPA (I2 mean)"                       mean of metric cpa over the I2 tasks the
//                                                   run has (i2le_20, i2ge_30, i2approx_30)
//   "<stage> list reward (val)"                     last value of val/list_reward of a ppo_* stage
//   "<stage> list reward (train)"                   last value of reward/list_mean of a ppo_* stage
#pragma once

#include "core/api/error.h"
#include "core/api/store_api.h"
#include "widgets/runs_table.h"

#include <QStringList>

#include <map>
#include <string>
#include <vector>

namespace recalign::studio {

// The final metrics of one run from its evaluation results and its metric series (records of
// other runs are ignored). `k` labels the HR / NDCG columns.
std::map<std::string, double> runFinalMetrics(int64_t run, const std::vector<core::EvalRecord>& results,
                                              const std::vector<core::SeriesInfo>& series, int k = 10);

// One row per run of `filter` (newest first), groups named by store.group(id).name ("group N"
// when the group cannot be read).
core::Result<std::vector<widgets::RunsTableRow>> runsTableRows(core::RunStore& store,
                                                               const core::RunFilter& filter = {});

// The default metric columns: the full variant's HR@K, TCP (+C), CPA and ppo_full's list reward
// (validation, else training) where the rows have them. Without a "full" variant, the last
// variant of the paper's order that the rows have (and its ppo_ stage).
QStringList defaultRunsTableMetrics(const std::vector<widgets::RunsTableRow>& rows);

}  // namespace recalign::studio
