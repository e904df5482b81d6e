// MonitorController: feeds the Monitor's MetricDashboard. Live metric batches from the
// RunController (one series per job and stage) and, for finished runs, the series stored in
// the run store (one per run and stage), with each series' run config for the legend's
// differing keys. Only the metrics the Monitor charts (monitorCharts()) are shown; the store
// keeps everything.
//
// Seed groups: stored runs of one seed group (RunInfo::group_id) that share a stage are drawn
// as one series, the group's mean with a band (the dashboard's band mode: min–max or ±1 sample
// std; "one line per run" draws them as before). A (group, stage) whose shown runs have fewer
// than two distinct seeds (one run, or a run and its resumption) stays lines. Live series are always lines. The stored series are kept here, so changing the
// band mode regroups them without reading the store again.
//
// Stage filter: the dashboard's stage control offers "all", each stage prefix ("sft" for
// sft_v1, sft_v2, sft_palr) and each stage of a prefix with several; series of other stages
// are hidden (kept). Reused stages (StageRecord::reused_from_run) say so in their name.
//
// Series keys: "live:<ticket>:<stage>", "run:<run id>:<stage>", "group:<group id>:<stage>".
#pragma once

#include "app/studio/metrics_buffer.h"
#include "widgets/metric_dashboard.h"

#include "core/api/store_api.h"

#include <QList>
#include <QObject>
#include <QPair>
#include <QSet>
#include <QString>
#include <QVector>

#include <map>
#include <string>
#include <vector>

namespace recalign::studio {

// The Monitor's charts, keyed by the trainers' metric names (core/train, core/sasrec).
QVector<widgets::MetricChartSpec> monitorCharts();

// ---- stage filter (pure) ------------------------------------------------------------------------

// The family of a stage: its name up to the first '_' ("sft_v2" -> "sft", "base_model" -> "base",
// "teacher" -> "teacher").
QString stagePrefix(const QString& stage);
// The stage filter's (label, value) choices for the stages present: ("All stages", ""), then per
// prefix in pipeline order (data, base, teacher, sft, ppo, eval, then the others by name)
// (label, "prefix:<p>") and, when the prefix has several stages, each one (indented label,
// "stage:<name>"). Empty when fewer than two stages are present (nothing to filter).
QVector<QPair<QString, QString>> stageFilterChoices(const QStringList& stages);
// Whether `stage` passes the filter value ("" = all).
bool stageMatches(const QString& filter, const QString& stage);

class MonitorController : public QObject {
    Q_OBJECT
public:
    explicit MonitorController(widgets::MetricDashboard* dashboard, QObject* parent = nullptr);

    // A job started: its batches go to series "<label> · <stage> (live)".
    void startLive(int ticket, const QString& label);
    // The live job's store run became known: its config names the live series in the legend.
    void setLiveRun(core::RunStore& store, qint64 runId);
    void appendLive(const QVector<MetricPoint>& points);
    // The job ended: its live series are replaced by the stored ones of `runId` (when > 0).
    void endLive(core::RunStore* store, int ticket, qint64 runId);

    // Shows the stored series of `runs` (replacing the stored runs shown before; the live job
    // stays). False with errorString() when the store cannot be read.
    bool showRuns(core::RunStore& store, const QList<qint64>& runs);
    QList<qint64> shownRuns() const { return m_shown; }
    void clear();
    QString errorString() const { return m_error; }

    // The dashboard's band mode and stage filter (setting them here moves its controls).
    void setBandMode(widgets::BandMode mode);
    widgets::BandMode bandMode() const { return m_bandMode; }
    void setStageFilter(const QString& value);
    QString stageFilter() const { return m_stageFilter; }

    qint64 livePointsShown() const { return m_livePoints; }
    int seriesCount() const { return static_cast<int>(m_series.size()); }
    QStringList seriesKeys() const;
    QStringList visibleSeriesKeys() const;  // those the stage filter lets through

Q_SIGNALS:
    void contentChanged();

private:
    struct StoredSeries {
        QString stage;
        QString metric;
        std::vector<double> steps, values, walls;
    };
    struct StoredRun {
        qint64 id = 0;
        qint64 group = 0;
        int64_t seed = 0;
        QString display;  // runDisplayName()
        std::map<std::string, std::string> config;
        std::map<QString, qint64> reusedFrom;  // stage -> run that computed it
        std::vector<StoredSeries> series;
    };

    bool loadRun(core::RunStore& store, qint64 runId);
    void renderStored();
    void removeStoredSeries();
    void refreshStages();
    void applyStageFilter(const QString& key);
    QString liveKey(const QString& stage) const;
    QString groupName(qint64 group) const;

    widgets::MetricDashboard* m_dashboard;
    QSet<QString> m_keys;  // metric names charted
    QList<qint64> m_shown;
    std::map<QString, qint64> m_series;  // series key -> run id (0 = live, -group id = band)
    std::vector<StoredRun> m_stored;     // shown stored runs, in m_shown order
    std::map<qint64, QString> m_groupNames;
    widgets::BandMode m_bandMode = widgets::BandMode::StdDev;
    QString m_stageFilter;
    int m_liveTicket = 0;
    QString m_liveLabel;
    qint64 m_liveRun = 0;
    std::map<std::string, std::string> m_liveConfig;
    qint64 m_livePoints = 0;
    QString m_error;
};

}  // namespace recalign::studio
