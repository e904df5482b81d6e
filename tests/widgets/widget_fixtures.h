// Shared fixtures of the widget tests: deterministic synthetic series, a crafted I1 table and
// samples, a schema with every field type, and the screenshot helper.
#pragma once

#include "widgets/metric_plot.h"
#include "widgets/sample_model.h"

#include "core/api/config_schema.h"
#include "core/api/tables.h"

#include <QApplication>
#include <QDir>
#include <QFileInfo>
#include <QTest>
#include <QWidget>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace widget_fixtures {

using namespace recalign;
using namespace recalign::widgets;


inline QString screenshotDir()
{
    const QString dir = QStringLiteral(RECALIGN_BINARY_DIR "/screenshots");
    QDir().mkpath(dir);
    return dir;
}

inline bool saveShot(QWidget* w, const QString& name)
{
    w->show();
    QCoreApplication::processEvents();
    QTest::qWait(30);  // queued replots and layouts
    const QString path = screenshotDir() + QLatin1Char('/') + name;
    const bool ok = w->grab().save(path);
    w->hide();
    return ok && QFileInfo(path).size() > 0;
}

// A PPO-looking synthetic series (deterministic): trend + noise + optional spike.
inline std::vector<double> synthetic(int n, double start, double end, double noise, unsigned seed,
                              int spikeAt = -1, double spike = 0.0)
{
    std::mt19937 rng(seed);
    std::normal_distribution<double> g(0.0, noise);
    std::vector<double> ys(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
        const double t = static_cast<double>(i) / std::max(1, n - 1);
        ys[static_cast<size_t>(i)] = start + (end - start) * (1.0 - std::exp(-4.0 * t)) + g(rng);
    }
    if (spikeAt >= 0 && spikeAt < n)
        ys[static_cast<size_t>(spikeAt)] += spike;
    return ys;
}

inline std::vector<double> iota(int n, double first = 1.0)
{
    std::vector<double> v(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i)
        v[static_cast<size_t>(i)] = first + i;
    return v;
}

inline core::Table i1Table()
{
    using namespace core;
    // Cells follow the table's own columns (task, metric), so renamed metrics keep working.
    const Table layout = buildTable(TableKind::I1, {});
    // columns: +C HR, NDCG, TCP; -C HR, NDCG, TCP (lower TCP is better for -C)
    struct R { const char* v; double cells[6]; };
    const R data[] = {{"sasrec", {0.0412, 0.0213, 31.2, 0.0398, 0.0201, 27.9}},
                      {"zeroshot", {0.0034, 0.0012, 22.4, 0.0021, 0.0011, -1}},
                      {"v1", {0.0356, 0.0178, 45.5, 0.0311, 0.0160, 20.1}},
                      {"v2", {0.0398, 0.0199, 71.2, 0.0367, 0.0183, 8.7}},
                      {"full", {0.0437, 0.0221, 78.9, 0.0401, 0.0207, 5.2}}};
    std::vector<EvalRow> rows;
    for (const R& r : data)
        for (size_t c = 0; c < layout.columns.size() && c < 6; ++c)
            if (r.cells[c] >= 0)  // Zero-shot's -C TCP stays missing
                rows.push_back(EvalRow{1, r.v, layout.columns[c].task, layout.columns[c].metric, r.cells[c], 200,
                                       r.cells[c] > 1 ? 1.5 : 0.004});
    return buildTable(TableKind::I1, rows);
}

inline SampleView craftedSample()
{
    SampleView s;
    s.task = "i1+";
    s.variant = "full";
    s.user = 42;
    s.history = {"Toy Story (1995)", "Heat (1995)", "GoldenEye (1995)", "Casino (1995)"};
    s.intention = "Recommend 5 comedy movies the user will enjoy next.";
    s.target_category = "Comedy";
    s.target_title = "Mallrats (1995)";
    s.k = 5;
    s.items = {
        {"Mallrats (1995)", ItemBadge::Legal, CategoryMatch::In, 3, 0.91, true},
        {"Clerks (1994)", ItemBadge::Legal, CategoryMatch::In, 17, 0.62, false},
        {"The Comedy Movie That Never Was", ItemBadge::NonExistent, CategoryMatch::Unknown, 0, -1.0, false},
        {"Clerks (1994)", ItemBadge::Duplicate, CategoryMatch::In, 17, -0.5, false},
        {"Heat (1995)", ItemBadge::InHistory, CategoryMatch::Out, 240, -0.8, false},
        {"Friday (1995)", ItemBadge::BeyondK, CategoryMatch::In, 55, 0.0, false},
    };
    s.list_reward = 0.35;
    s.breakdown = {{"count", 0.0}, {"category proportion", 0.6}, {"illegal penalty", -0.25}};
    s.output = "1. Mallrats (1995)\n2. Clerks (1994)\n3. The Comedy Movie That Never Was\n...";
    return s;
}

inline std::vector<SampleView> manySamples()
{
    std::vector<SampleView> out;
    const char* tasks[] = {"i0", "i1+", "i1-", "i2le20"};
    const char* variants[] = {"v2", "full"};
    for (int i = 0; i < 24; ++i) {
        SampleView s;
        s.task = tasks[i % 4];
        s.variant = variants[(i / 4) % 2];
        s.user = 100 + i;
        s.k = 3;
        s.history = {"Alpha " + std::to_string(i), "Beta"};
        s.intention = "recommend three";
        s.items = {{"Gamma " + std::to_string(i), ItemBadge::Legal, CategoryMatch::Unknown, 5, 0.5, i % 3 == 0},
                   {"Delta", i % 4 == 1 ? ItemBadge::Duplicate : ItemBadge::Legal, CategoryMatch::Unknown, 9, 0.1, false},
                   {"Epsilon", i % 6 == 2 ? ItemBadge::NonExistent : ItemBadge::Legal, CategoryMatch::Unknown, 0, 0.0, false}};
        s.list_reward = 0.1 * (i % 5);
        out.push_back(s);
    }
    return out;
}

inline std::vector<core::ConfigField> typedSchema()
{
    using T = core::ConfigField::Type;
    std::vector<core::ConfigField> f;
    auto add = [&](const char* key, T type, const char* def, const char* group) {
        core::ConfigField c;
        c.key = key;
        c.type = type;
        c.default_value = def;
        c.group = group;
        c.doc = std::string("doc of ") + key;
        f.push_back(c);
        return &f.back();
    };
    add("name", T::String, "experiment", "experiment");
    add("verbose", T::Bool, "false", "experiment");
    auto* threads = add("threads", T::Int, "0", "experiment");
    threads->has_range = true;
    threads->min = 0;
    threads->max = 64;
    add("seeds", T::IntList, "[0]", "experiment");
    auto* variants = add("variants", T::StringList, "[v1, v2]", "experiment");
    variants->choices = {"v1", "v2", "v3", "full"};
    add("ppo.tags", T::StringList, "[a, b]", "ppo");
    auto* kl = add("ppo.kl_coef", T::Double, "0.3", "ppo");
    kl->has_range = true;
    kl->min = 0;
    kl->max = 10;
    add("ppo.lr", T::Double, "1e-05", "ppo");
    add("ppo.gammas", T::DoubleList, "[1, 0.95]", "ppo");
    auto* est = add("ppo.kl_estimator", T::Enum, "k1", "ppo");
    est->choices = {"k1", "k3"};
    add("dataset.path", T::Path, "", "dataset");
    return f;
}

}  // namespace widget_fixtures
