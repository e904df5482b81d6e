// MonitorController implementation.
#include "app/studio/monitor_controller.h"

#include "app/studio/run_data.h"

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

MonitorController::MonitorController(widgets::MetricDashboard* dashboard, QObject* parent)
    : QObject(parent), m_dashboard(dashboard)
{
    const auto charts = monitorCharts();
    for (const auto& c : charts)
        for (const QString& k : c.keys)
            m_keys.insert(k);
    m_dashboard->setCharts(charts);
}

QString MonitorController::liveKey(const QString& stage) const
{
    return QStringLiteral("live:%1:%2").arg(m_liveTicket).arg(stage);
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
    for (auto& [id, b] : batches) {
        const QString key = liveKey(id.first);
        if (m_series.find(key) == m_series.end()) {
            m_series[key] = 0;
            auto config = m_liveConfig;
            config["stage"] = id.first.toStdString();
            const QString name = m_liveRun > 0 ? tr("#%1 %2 · %3 (live)").arg(m_liveRun).arg(m_liveLabel, id.first)
                                               : tr("%1 · %2 (live)").arg(m_liveLabel, id.first);
            m_dashboard->setRunInfo(key, name, config);
        }
        m_dashboard->appendPoints(key, id.second, b.steps, b.ys, b.walls);
        m_livePoints += static_cast<qint64>(b.steps.size());
    }
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
    Q_EMIT contentChanged();
}

bool MonitorController::showRuns(core::RunStore& store, const QList<qint64>& runs)
{
    for (auto it = m_series.begin(); it != m_series.end();) {
        if (it->second != 0) {
            m_dashboard->removeRun(it->first);
            it = m_series.erase(it);
        } else {
            ++it;
        }
    }
    m_shown.clear();
    bool ok = true;
    for (qint64 id : runs) {
        if (m_liveTicket != 0 && id == m_liveRun)
            continue;  // its live series are already shown
        m_shown << id;
        ok = loadRun(store, id) && ok;
    }
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
    const auto config = flattenConfigJson(info.value().config_json);
    const QString display = runDisplayName(info.value());
    for (const core::SeriesInfo& s : names.value()) {
        const QString metric = QString::fromStdString(s.name);
        if (!m_keys.contains(metric) || s.stage == "teacher_eval")  // one final point: Compare's
            continue;
        auto series = store.metricSeries(runId, s.stage, s.name);
        if (!series)
            continue;
        const QString stage = QString::fromStdString(s.stage);
        const QString key = QStringLiteral("run:%1:%2").arg(runId).arg(stage);
        if (m_series.find(key) == m_series.end()) {
            m_series[key] = runId;
            auto c = config;
            c["stage"] = s.stage;
            m_dashboard->setRunInfo(key, tr("#%1 %2 · %3").arg(runId).arg(display, stage), c);
        }
        const auto& v = series.value();
        std::vector<double> steps(v.steps.begin(), v.steps.end());
        m_dashboard->appendPoints(key, metric, steps, v.values, v.wall_times);
    }
    return true;
}

void MonitorController::clear()
{
    for (const auto& [key, run] : m_series)
        m_dashboard->removeRun(key);
    m_series.clear();
    m_shown.clear();
    m_dashboard->clear();
    Q_EMIT contentChanged();
}

}  // namespace recalign::studio
