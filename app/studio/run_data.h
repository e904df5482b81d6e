// Conversions from the run store's plain records to what the widgets show: flattened run
// configs for legends, evaluated samples (details_json) as SampleViews, probe results as a
// SampleView, the paper's tables for a set of runs, status names and icons. No widgets here.
#pragma once

#include "core/api/probe.h"
#include "core/api/store_api.h"
#include "core/api/tables.h"
#include "widgets/sample_model.h"

#include <QString>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace recalign::studio {

// A run's canonical config JSON as dotted keys -> scalar text ("ppo.kl_coef" -> "0.05"; lists
// as "[a, b]"). Invalid JSON gives an empty map.
std::map<std::string, std::string> flattenConfigJson(const std::string& json);

// One evaluated sample (a RunStore sample row; details_json as core/pipeline/evaluation.cpp's
// sampleDetails writes it) as the Inspect view shows it. Store ranks are 0-based; the view's
// are 1-based (0 = unknown). `ok` is false when details_json cannot be read (the prompt and
// output are still filled).
widgets::SampleView sampleViewFromRow(const core::SampleRow& row, bool* ok = nullptr);
// The same from the JSON text alone.
widgets::SampleView sampleViewFromDetails(const std::string& detailsJson, bool* ok = nullptr);

// A probe result as a SampleView (parsed items with their badges and the reward breakdown).
widgets::SampleView sampleViewFromProbe(const core::ProbeRequest& request, const core::ProbeResult& result);

// "legal" | "beyond_k" | "non_existent" | "duplicate" | "in_history" -> badge (unknown = Legal).
widgets::ItemBadge badgeFromLegality(const std::string& legality);

// Translated status text and the icon name (resources/icons/status-*.svg) of a run status.
QString runStatusText(core::RunStatus status);
QString runStatusIcon(core::RunStatus status);

// "quickstart (seed 0)" or "run 7" when the run has no name.
QString runDisplayName(const core::RunInfo& run);

// The experiment's K (evaluation.topk) from a run's config JSON; `fallback` when absent.
int runTopK(const core::RunInfo& run, int fallback = 10);

// The four paper tables (I0, I1, I2, Format) over the evaluation results of `runs`, with rows
// labelled by run when there are several. Reads the store (GUI-thread connection).
core::Result<std::vector<core::Table>> compareTables(core::RunStore& store, const std::vector<int64_t>& runs);

// Every stored sample of `runs` (newest-first runs keep their order), at most `limit` per run.
core::Result<std::vector<widgets::SampleView>> loadSampleViews(core::RunStore& store,
                                                               const std::vector<int64_t>& runs,
                                                               int limit = 20000);

}  // namespace recalign::studio
