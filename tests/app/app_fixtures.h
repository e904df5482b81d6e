// Shared helpers of the app tests: isolated settings, a workspace store with crafted runs,
// evaluation results and samples, and the screenshot folder.
#pragma once

#include "core/api/store_api.h"

#include <QCoreApplication>
#include <QDir>
#include <QSettings>
#include <QString>
#include <QTemporaryDir>

#include <string>
#include <vector>

namespace app_fixtures {

// Settings go to a temporary folder, so tests never read or write the user's.
inline void isolateSettings(const QString& folder)
{
    QCoreApplication::setOrganizationName(QStringLiteral("RecAlignTests"));
    QCoreApplication::setApplicationName(QStringLiteral("RecAlignStudioTests"));
    QSettings::setDefaultFormat(QSettings::IniFormat);
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, folder);
    QSettings().clear();
}

inline QString screenshotDir()
{
    const QString dir = QStringLiteral(RECALIGN_BINARY_DIR "/screenshots");
    QDir().mkpath(dir);
    return dir;
}

// A crafted evaluated sample: an I1 +C sample (target category "Comedy", k = 4) whose list has
// every badge: a legal in-category hit (teacher rank 0), a legal out-of-category item, a
// non-existent title, a duplicate, an in-history item and one item beyond k.
inline std::string craftedDetails()
{
    return "{\"task\":\"i1+\",\"user\":7,\"k\":4,\"intention\":\"I'd like some comedy\","
           "\"history\":[\"Alpha (1999)\",\"Beta (2001)\",\"Gamma (2003)\"],\"target\":\"Delta (2005)\","
           "\"target_category\":\"Comedy\",\"control\":\"+C\",\"category_count\":0,\"items\":["
           "{\"title\":\"Delta (2005)\",\"item\":4,\"fuzzy\":false,\"legality\":\"legal\",\"in_category\":true,\"is_target\":true,\"rank\":0,\"reward\":0.9},"
           "{\"title\":\"Epsilon (2007)\",\"item\":5,\"fuzzy\":false,\"legality\":\"legal\",\"in_category\":false,\"is_target\":false,\"rank\":11,\"reward\":-0.2},"
           "{\"title\":\"No Such Film\",\"item\":0,\"fuzzy\":false,\"legality\":\"non_existent\",\"in_category\":false,\"is_target\":false,\"rank\":-1,\"reward\":-1},"
           "{\"title\":\"Delta (2005)\",\"item\":4,\"fuzzy\":false,\"legality\":\"duplicate\",\"in_category\":true,\"is_target\":false,\"rank\":0,\"reward\":-1},"
           "{\"title\":\"Beta (2001)\",\"item\":2,\"fuzzy\":false,\"legality\":\"in_history\",\"in_category\":true,\"is_target\":false,\"rank\":3,\"reward\":-1},"
           "{\"title\":\"Zeta (2009)\",\"item\":6,\"fuzzy\":false,\"legality\":\"beyond_k\",\"in_category\":true,\"is_target\":false,\"rank\":5,\"reward\":-1}],"
           "\"metrics\":{\"hr\":1.0,\"ndcg\":1.0},"
           "\"reward\":{\"variant\":\"paper\",\"list_reward\":0.35,\"item_reward_sum\":-3.3,\"sum_scores_star\":1.2,"
           "\"score_ctl_list\":0.5,\"legal\":2,\"count_in\":1,\"count_out\":1}}";
}

// A run with a config JSON that names K = 10 and a seed.
inline int64_t addRun(recalign::core::RunStore& store, int64_t experiment, const std::string& name, int64_t seed,
                      recalign::core::RunStatus status, double lr)
{
    recalign::core::NewRun r;
    r.experiment_id = experiment;
    r.name = name;
    r.config_json = "{\"evaluation\":{\"topk\":10},\"seeds\":[" + std::to_string(seed) + "],\"sft\":{\"lr\":"
                    + std::to_string(lr) + "}}";
    r.seed = seed;
    r.status = status;
    auto id = store.createRun(r);
    return id ? id.value() : 0;
}

// Evaluation rows of three variants on I0 and I1 (+C/-C) with distinct values, for the tables.
inline std::vector<recalign::core::EvalRecord> evalRows(int64_t run, double shift)
{
    std::vector<recalign::core::EvalRecord> rows;
    const char* variants[] = {"sasrec", "mostpop", "v2"};
    for (int v = 0; v < 3; ++v) {
        const double base = 0.05 * (v + 1) + shift;
        for (const char* task : {"i0", "i1+", "i1-"}) {
            rows.push_back({run, variants[v], task, "hr", base, 100, 0.01});
            rows.push_back({run, variants[v], task, "ndcg", base / 2, 100, 0.005});
            rows.push_back({run, variants[v], task, "correct_count", 1.0 - base, 100, 0.0});
            rows.push_back({run, variants[v], task, "repeat", base / 10, 100, 0.0});
            rows.push_back({run, variants[v], task, "non_exist", base / 5, 100, 0.0});
            rows.push_back({run, variants[v], task, "in_history", base / 20, 100, 0.0});
            rows.push_back({run, variants[v], task, "tcp", 10 * base, 100, 0.0});
        }
    }
    return rows;
}

}  // namespace app_fixtures
