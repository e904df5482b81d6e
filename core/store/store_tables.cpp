// storeTables / groupRunIds (core/api/store_api.h): the paper's tables for runs of the store,
// with seed groups aggregated and the paired significance tests. Torch-free.
#include "core/api/store_api.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>

namespace recalign::core {

namespace {

int configTopK(const std::string& configJson)
{
    try {
        const auto j = nlohmann::json::parse(configJson);
        if (j.contains("evaluation") && j["evaluation"].contains("topk"))
            return j["evaluation"]["topk"].get<int>();
    } catch (const std::exception&) {
    }
    return 0;
}

}  // namespace

Result<std::vector<int64_t>> groupRunIds(RunStore& store, int64_t group)
{
    auto g = store.group(group);
    if (!g)
        return g.error();
    RunFilter f;
    f.group_id = group;
    auto runs = store.listRuns(f);  // newest first
    if (!runs)
        return runs.error();
    std::vector<int64_t> out;
    for (int64_t seed : g.value().seeds)
        for (const auto& r : runs.value())
            if (r.seed == seed) {
                out.push_back(r.id);
                break;
            }
    return out;
}

Result<std::vector<Table>> storeTables(RunStore& store, const std::vector<int64_t>& runs, const StoreTableOptions& options)
{
    auto results = store.evalResults(runs);
    if (!results)
        return results.error();
    TableOptions to;
    to.k = options.k;
    to.per_seed = options.per_seed;
    std::map<int64_t, bool> labelled;
    for (int64_t id : runs) {
        auto info = store.runInfo(id);
        if (!info)
            return info.error();
        if (to.k <= 0)
            to.k = configTopK(info.value().config_json);
        if (info.value().group_id > 0) {
            to.run_groups.emplace_back(id, info.value().group_id);
            if (!labelled[info.value().group_id]) {
                labelled[info.value().group_id] = true;
                auto g = store.group(info.value().group_id);
                to.group_labels.emplace_back(info.value().group_id,
                                             g ? "group " + std::to_string(g.value().id) + ": " + g.value().name
                                               : "group " + std::to_string(info.value().group_id));
            }
        }
    }
    if (to.k <= 0)
        to.k = 10;
    std::vector<EvalUnits> units;
    if (options.significance) {
        auto u = store.evalUnits(runs);
        if (!u)
            return u.error();
        units = std::move(u.value());
    }
    const std::vector<EvalRow> rows = toEvalRows(results.value());
    std::vector<Table> tables;
    for (TableKind kind : options.kinds.empty() ? allTableKinds() : options.kinds) {
        Table t = buildTable(kind, rows, to);
        if (options.significance)
            addSignificance(t, units, options.tests);
        tables.push_back(std::move(t));
    }
    return tables;
}

}  // namespace recalign::core
