// MonitorController implementation.
#include "app/studio/monitor_controller.h"

#include "app/studio/run_data.h"

#include <algorithm>
#include <set>
#include <vector>

namespace recalign::studio {

QVector<widgets::MetricChartSpec> monitorCharts()
{
    auto one = [](const QString& title, const char* key) {
        return widgets::MetricChartSpec{title, {QString::fromLatin1(key)}, {}};
    };
    return {
        one(MonitorController::tr("Training loss"), "loss"),
        one(MonitorController::tr("Learning rate"), "learning_rate"),
        one(MonitorController::tr("Gradient norm"), "grad_norm"),
        one(MonitorController::tr("Throughput (tokens/s)"), "tokens_per_s"),
        one(MonitorController::tr("Reward (total)"), "env/reward_mean"),
        one(MonitorController::tr("Item reward"), "reward/item_mean"),
        one(MonitorController::tr("List reward"), "reward/list_mean"),
        widgets::MetricChartSpec{MonitorController::tr("KL divergence"),
                                 {QStringLiteral("objective/kl"), QStringLiteral("objective/kl_k3")},
                                 {QStringLiteral("k1"), QStringLiteral("k3")}},
        one(MonitorController::tr("KL coefficient β"), "objective/kl_coef"),
        one(MonitorController::tr("Clip fraction"), "ppo/policy/clipfrac"),
        one(MonitorController::tr("Approximate KL (policy)"), "ppo/policy/approxkl"),
        one(MonitorController::tr("Entropy"), "ppo/policy/entropy"),
        one(MonitorController::tr("Value loss"), "ppo/val/loss"),
        // The critic-free algorithms (GRPO, RLOO, REINFORCE++): what a group gives them to learn.
        one(MonitorController::tr("Group reward std"), "env/group_reward_std"),
        one(MonitorController::tr("Groups with zero reward std"), "env/frac_reward_zero_std"),
        one(MonitorController::tr("KL loss term (k3)"), "objective/kl_loss"),
        // DPO / S-DPO (TRL's names).
        widgets::MetricChartSpec{MonitorController::tr("Preference rewards (β log-ratio)"),
                                 {QStringLiteral("rewards/chosen"), QStringLiteral("rewards/rejected"),
                                  QStringLiteral("rewards/margins")},
                                 {MonitorController::tr("chosen"), MonitorController::tr("rejected"),
                                  MonitorController::tr("margin")}},
        one(MonitorController::tr("Preference accuracy"), "rewards/accuracies"),
        one(MonitorController::tr("Explained variance"), "ppo/val/var_explained"),
        one(MonitorController::tr("Response length (tokens)"), "tokens/responses_len_mean"),
        widgets::MetricChartSpec{MonitorController::tr("Illegal-item rates"),
                                 {QStringLiteral("illegal/nonexist"), QStringLiteral("illegal/repeat"),
                                  QStringLiteral("illegal/inhistory"), QStringLiteral("illegal/beyond_k")},
                                 {MonitorController::tr("non-existent"), MonitorController::tr("duplicate"), MonitorController::tr("in history"), MonitorController::tr("beyond k")}},
        widgets::MetricChartSpec{MonitorController::tr("SFT validation"),
                                 {QStringLiteral("val/hr"), QStringLiteral("val/ndcg")},
                                 {QStringLiteral("HR"), QStringLiteral("NDCG")}},
        one(MonitorController::tr("PPO validation list reward"), "validation/score"),
        widgets::MetricChartSpec{MonitorController::tr("Teacher validation NDCG@10"),
                                 {QStringLiteral("valid_full/ndcg@10"), QStringLiteral("valid_sampled/ndcg@10")},
                                 {MonitorController::tr("full ranking"), MonitorController::tr("sampled")}},
    };
}

// ---- stage filter ------------------------------------------------------------------------------

QString stagePrefix(const QString& stage)
{
    const int cut = stage.indexOf(QLatin1Char('_'));
    return cut > 0 ? stage.left(cut) : stage;
}

namespace monitor_detail {

// Pipeline order of the stage families; others follow by name.
int prefixRank(const QString& prefix)
{
    static const char* const kOrder[] = {"data", "base", "teacher", "sft", "ppo", "rl", "dpo", "eval"};
    for (int i = 0; i < 8; ++i)
        if (prefix == QLatin1String(kOrder[i]))
            return i;
    return 8;
}

QString prefixLabel(const QString& prefix)
{
    if (prefix == QLatin1String("data"))
        return MonitorController::tr("Data");
    if (prefix == QLatin1String("base"))
        return MonitorController::tr("Pre-training");
    if (prefix == QLatin1String("teacher"))
        return MonitorController::tr("Teacher");
    if (prefix == QLatin1String("sft"))
        return MonitorController::tr("SFT");
    if (prefix == QLatin1String("ppo"))
        return MonitorController::tr("PPO");
    if (prefix == QLatin1String("rl"))
        return MonitorController::tr("RL (GRPO, RLOO, REINFORCE++ rows)");
    if (prefix == QLatin1String("dpo"))
        return MonitorController::tr("DPO / S-DPO");
    if (prefix == QLatin1String("eval"))
        return MonitorController::tr("Evaluation");
    return prefix;
}

// The stage of a series key ("run:12:sft_v2" -> "sft_v2").
QString stageOfKey(const QString& key)
{
    return key.section(QLatin1Char(':'), 2);
}

// The config entries all `configs` share (the legend then shows what differs between groups).
std::map<std::string, std::string> commonConfig(const std::vector<const std::map<std::string, std::string>*>& configs)
{
    if (configs.empty())
        return {};
    std::map<std::string, std::string> out = *configs.front();
    for (const auto* c : configs)
        for (auto it = out.begin(); it != out.end();) {
            const auto other = c->find(it->first);
            if (other == c->end() || other->second != it->second)
                it = out.erase(it);
            else
                ++it;
        }
    return out;
}

}  // namespace monitor_detail

QVector<QPair<QString, QString>> stageFilterChoices(const QStringList& stages)
{
    std::set<QString> unique(stages.begin(), stages.end());
    unique.erase(QString());
    if (unique.size() < 2)
        return {};
    std::map<QString, QStringList> byPrefix;
    for (const QString& st : unique)
        byPrefix[stagePrefix(st)] << st;  // sorted: std::set order
    std::vector<QString> prefixes;
    for (const auto& kv : byPrefix)
        prefixes.push_back(kv.first);
    std::stable_sort(prefixes.begin(), prefixes.end(), [](const QString& a, const QString& b) {
        return monitor_detail::prefixRank(a) < monitor_detail::prefixRank(b);
    });
    QVector<QPair<QString, QString>> out;
    out.push_back({MonitorController::tr("All stages"), QString()});
    for (const QString& prefix : prefixes) {
        const QStringList& members = byPrefix[prefix];
        QString label = monitor_detail::prefixLabel(prefix);
        if (members.size() == 1 && members.front() != prefix)
            label = MonitorController::tr("%1 (%2)").arg(label, members.front());
        else if (members.size() > 1)
            label = MonitorController::tr("%1 (all)").arg(label);
        out.push_back({label, QStringLiteral("prefix:") + prefix});
        if (members.size() > 1)
            for (const QString& st : members)
                out.push_back({QStringLiteral("    ") + st, QStringLiteral("stage:") + st});
    }
    return out;
}

bool stageMatches(const QString& filter, const QString& stage)
{
    if (filter.isEmpty())
        return true;
    if (filter.startsWith(QLatin1String("prefix:")))
        return stagePrefix(stage) == filter.mid(7);
    if (filter.startsWith(QLatin1String("stage:")))
        return stage == filter.mid(6);
    return true;
}

// ---- controller --------------------------------------------------------------------------------

MonitorController::MonitorController(widgets::MetricDashboard* dashboard, QObject* parent)
    : QObject(parent), m_dashboard(dashboard)
{
    const auto charts = monitorCharts();
    for (const auto& c : charts)
        for (const QString& k : c.keys)
            m_keys.insert(k);
    m_dashboard->setCharts(charts);
    m_dashboard->setBandControlVisible(true);
    m_bandMode = m_dashboard->bandMode();
    m_stageFilter = m_dashboard->stageFilter();
    connect(m_dashboard, &widgets::MetricDashboard::bandModeChanged, this, [this](widgets::BandMode mode) {
        if (mode == m_bandMode)
            return;
        m_bandMode = mode;
        renderStored();
        Q_EMIT contentChanged();
    });
    connect(m_dashboard, &widgets::MetricDashboard::stageFilterChanged, this, [this](const QString& value) {
        m_stageFilter = value;
        for (const auto& kv : m_series)
            applyStageFilter(kv.first);
        Q_EMIT contentChanged();
    });
}

void MonitorController::setBandMode(widgets::BandMode mode)
{
    m_dashboard->setBandMode(mode);  // its signal regroups
}

void MonitorController::setStageFilter(const QString& value)
{
    m_dashboard->setStageFilter(value);
}

QStringList MonitorController::seriesKeys() const
{
    QStringList out;
    for (const auto& kv : m_series)
        out << kv.first;
    return out;
}

QStringList MonitorController::visibleSeriesKeys() const
{
    QStringList out;
    for (const auto& kv : m_series)
        if (stageMatches(m_stageFilter, monitor_detail::stageOfKey(kv.first)))
            out << kv.first;
    return out;
}

void MonitorController::applyStageFilter(const QString& key)
{
    m_dashboard->setRunVisible(key, stageMatches(m_stageFilter, monitor_detail::stageOfKey(key)));
}

void MonitorController::refreshStages()
{
    QStringList stages;
    for (const auto& kv : m_series)
        stages << monitor_detail::stageOfKey(kv.first);
    m_dashboard->setStageChoices(stageFilterChoices(stages));  // may reset the filter (signal)
}

QString MonitorController::liveKey(const QString& stage) const
{
    return QStringLiteral("live:%1:%2").arg(m_liveTicket).arg(stage);
}

QString MonitorController::groupName(qint64 group) const
{
    const auto it = m_groupNames.find(group);
    return it != m_groupNames.end() && !it->second.isEmpty() ? it->second : tr("group %1").arg(group);
}

void MonitorController::startLive(int ticket, const QString& label)
{
    m_liveTicket = ticket;
    m_liveLabel = label;
    m_liveRun = 0;
    m_liveConfig.clear();
}

void MonitorController::setLiveRun(core::RunStore& store, qint64 runId)
{
    m_liveRun = runId;
    auto info = store.runInfo(runId);
    if (!info)
        return;
    m_liveConfig = flattenConfigJson(info.value().config_json);
    for (const auto& [key, run] : m_series) {
        if (run != 0 || !key.startsWith(QStringLiteral("live:%1:").arg(m_liveTicket)))
            continue;
        const QString stage = key.section(QLatin1Char(':'), 2);
        auto config = m_liveConfig;
        config["stage"] = stage.toStdString();
        m_dashboard->setRunInfo(key, tr("#%1 %2 · %3 (live)").arg(runId).arg(m_liveLabel, stage), config);
        m_dashboard->setRunTag(key, QString::number(runId), stage);
    }
}

void MonitorController::appendLive(const QVector<MetricPoint>& points)
{
    if (m_liveTicket == 0)
        return;
    struct Batch {
        std::vector<double> steps, ys, walls;
    };
    std::map<std::pair<QString, QString>, Batch> batches;  // (stage, metric)
    for (const MetricPoint& p : points) {
        if (!m_keys.contains(p.name) || p.stage == QLatin1String("teacher_eval"))
            continue;
        Batch& b = batches[{p.stage, p.name}];
        b.steps.push_back(static_cast<double>(p.step));
        b.ys.push_back(p.value);
        b.walls.push_back(p.wall_time);
    }
    bool newStage = false;
    for (auto& [id, b] : batches) {
        const QString key = liveKey(id.first);
        if (m_series.find(key) == m_series.end()) {
            m_series[key] = 0;
            auto config = m_liveConfig;
            config["stage"] = id.first.toStdString();
            const QString name = m_liveRun > 0 ? tr("#%1 %2 · %3 (live)").arg(m_liveRun).arg(m_liveLabel, id.first)
                                               : tr("%1 · %2 (live)").arg(m_liveLabel, id.first);
            m_dashboard->setRunInfo(key, name, config);
            m_dashboard->setRunTag(key, m_liveRun > 0 ? QString::number(m_liveRun) : m_liveLabel, id.first);
            applyStageFilter(key);
            newStage = true;
        }
        m_dashboard->appendPoints(key, id.second, b.steps, b.ys, b.walls);
        m_livePoints += static_cast<qint64>(b.steps.size());
    }
    if (newStage)
        refreshStages();
    if (!batches.empty())
        Q_EMIT contentChanged();
}

void MonitorController::endLive(core::RunStore* store, int ticket, qint64 runId)
{
    if (ticket != m_liveTicket)
        return;
    const QString prefix = QStringLiteral("live:%1:").arg(ticket);
    for (auto it = m_series.begin(); it != m_series.end();) {
        if (it->first.startsWith(prefix)) {
            m_dashboard->removeRun(it->first);
            it = m_series.erase(it);
        } else {
            ++it;
        }
    }
    m_liveTicket = 0;
    m_liveRun = 0;
    if (store && runId > 0) {
        if (!m_shown.contains(runId))
            m_shown << runId;
        loadRun(*store, runId);
    }
    renderStored();
    Q_EMIT contentChanged();
}

bool MonitorController::showRuns(core::RunStore& store, const QList<qint64>& runs)
{
    m_shown.clear();
    m_stored.clear();
    m_groupNames.clear();
    bool ok = true;
    for (qint64 id : runs) {
        if (m_liveTicket != 0 && id == m_liveRun)
            continue;  // its live series are already shown
        m_shown << id;
        ok = loadRun(store, id) && ok;
    }
    renderStored();
    Q_EMIT contentChanged();
    return ok;
}

bool MonitorController::loadRun(core::RunStore& store, qint64 runId)
{
    auto info = store.runInfo(runId);
    auto names = store.metricNames(runId);
    if (!info || !names) {
        m_error = QString::fromStdString((!info ? info.error() : names.error()).toString());
        return false;
    }
    StoredRun run;
    run.id = runId;
    run.group = info.value().group_id;
    run.seed = info.value().seed;
    run.display = runDisplayName(info.value());
    run.config = flattenConfigJson(info.value().config_json);
    if (auto stages = store.stages(runId)) {
        for (const core::StageRecord& st : stages.value())  // a later record of a stage wins
            run.reusedFrom[QString::fromStdString(st.name)] = st.reused_from_run;
    }
    if (run.group != 0 && m_groupNames.find(run.group) == m_groupNames.end()) {
        auto group = store.group(run.group);
        m_groupNames[run.group] = group ? QString::fromStdString(group.value().name) : QString();
    }
    for (const core::SeriesInfo& s : names.value()) {
        const QString metric = QString::fromStdString(s.name);
        if (!m_keys.contains(metric) || s.stage == "teacher_eval")  // one final point: Compare's
            continue;
        auto series = store.metricSeries(runId, s.stage, s.name);
        if (!series)
            continue;
        const auto& v = series.value();
        StoredSeries out;
        out.stage = QString::fromStdString(s.stage);
        out.metric = metric;
        out.steps.assign(v.steps.begin(), v.steps.end());
        out.values = v.values;
        out.walls = v.wall_times;
        run.series.push_back(std::move(out));
    }
    for (auto it = m_stored.begin(); it != m_stored.end(); ++it)
        if (it->id == runId) {
            *it = std::move(run);
            return true;
        }
    m_stored.push_back(std::move(run));
    return true;
}

void MonitorController::removeStoredSeries()
{
    for (auto it = m_series.begin(); it != m_series.end();) {
        if (it->second != 0) {
            m_dashboard->removeRun(it->first);
            it = m_series.erase(it);
        } else {
            ++it;
        }
    }
}

void MonitorController::renderStored()
{
    removeStoredSeries();
    // Which (group, stage) pairs become bands: shown runs of the group with two or more distinct
    // seeds have the stage (a resumed run and the run it continues share their seed).
    std::map<std::pair<qint64, QString>, std::vector<const StoredRun*>> members;
    if (m_bandMode != widgets::BandMode::None)
        for (const StoredRun& run : m_stored) {
            if (run.group == 0)
                continue;
            std::set<QString> stages;
            for (const StoredSeries& s : run.series)
                stages.insert(s.stage);
            for (const QString& st : stages)
                members[{run.group, st}].push_back(&run);
        }
    auto isBand = [&](qint64 group, const QString& stage) {
        const auto it = members.find({group, stage});
        if (it == members.end())
            return false;
        std::set<int64_t> seeds;
        for (const StoredRun* r : it->second)
            seeds.insert(r->seed);
        return seeds.size() >= 2;
    };
    auto reusedNote = [](const std::vector<qint64>& from) {
        QStringList ids;
        for (qint64 r : from)
            if (r != 0 && !ids.contains(QStringLiteral("#%1").arg(r)))
                ids << QStringLiteral("#%1").arg(r);
        return ids.isEmpty() ? QString() : QLatin1Char(' ') + tr("(reused from %1)").arg(ids.join(QStringLiteral(", ")));
    };
    std::set<std::pair<qint64, QString>> drawnBands;
    for (const StoredRun& run : m_stored) {
        for (const StoredSeries& s : run.series) {
            if (run.group != 0 && isBand(run.group, s.stage)) {
                if (!drawnBands.insert({run.group, s.stage}).second)
                    continue;
                // The group's band for this stage: every metric of every member run.
                const auto& runs = members[{run.group, s.stage}];
                const QString key = QStringLiteral("group:%1:%2").arg(run.group).arg(s.stage);
                m_series[key] = -run.group;
                std::vector<const std::map<std::string, std::string>*> configs;
                std::vector<qint64> reused;
                std::map<QString, std::vector<widgets::RunSeries>> byMetric;
                for (const StoredRun* m : runs) {
                    configs.push_back(&m->config);
                    const auto r = m->reusedFrom.find(s.stage);
                    reused.push_back(r != m->reusedFrom.end() ? r->second : 0);
                    for (const StoredSeries& ms : m->series)
                        if (ms.stage == s.stage)
                            byMetric[ms.metric].push_back(widgets::RunSeries{ms.steps, ms.values, ms.walls});
                }
                auto config = monitor_detail::commonConfig(configs);
                config["stage"] = s.stage.toStdString();
                const QString stat = m_bandMode == widgets::BandMode::MinMax ? tr("n=%1, mean, min–max")
                                                                             : tr("n=%1, mean ± std");
                const QString name = tr("%1 · %2 (%3)").arg(groupName(run.group), s.stage,
                                                             stat.arg(runs.size()))
                                     + reusedNote(reused);
                m_dashboard->setRunInfo(key, name, config);
                m_dashboard->setRunTag(key, QStringLiteral("%1 [group %2]").arg(groupName(run.group)).arg(run.group),
                                       s.stage);
                applyStageFilter(key);
                for (const auto& [metric, series] : byMetric)
                    m_dashboard->setBandSeries(key, metric, widgets::aggregateSeries(series), m_bandMode);
                continue;
            }
            const QString key = QStringLiteral("run:%1:%2").arg(run.id).arg(s.stage);
            if (m_series.find(key) == m_series.end()) {
                m_series[key] = run.id;
                auto c = run.config;
                c["stage"] = s.stage.toStdString();
                const auto r = run.reusedFrom.find(s.stage);
                const QString name = tr("#%1 %2 · %3").arg(run.id).arg(run.display, s.stage)
                                     + reusedNote({r != run.reusedFrom.end() ? r->second : 0});
                m_dashboard->setRunInfo(key, name, c);
                m_dashboard->setRunTag(key, QString::number(run.id), s.stage);
                applyStageFilter(key);
            }
            m_dashboard->appendPoints(key, s.metric, s.steps, s.values, s.walls);
        }
    }
    refreshStages();
}

void MonitorController::clear()
{
    for (const auto& [key, run] : m_series)
        m_dashboard->removeRun(key);
    m_series.clear();
    m_shown.clear();
    m_stored.clear();
    m_groupNames.clear();
    m_dashboard->clear();
    refreshStages();
    Q_EMIT contentChanged();
}

}  // namespace recalign::studio
