// Pure maths behind the metric plots: TensorBoard's debiased EMA smoothing, min/max-per-pixel
// decimation, x-axis transforms, the "ignore outliers" y-range, differing-key legends, seed-group
// aggregation (mean curve with a band) and the series CSV format.
// Free functions on plain data (no Qt widgets) so tests call them directly.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace recalign::widgets {

// TensorBoard's debiased exponential moving average (ANCHORS §D.2, `classicSmoothing`).
// `weight` is clamped to [0, 1]; 0 returns the input; 1 skips debiasing (TensorBoard does the
// same; the output then stays at 0). Non-finite values pass through unchanged and do not advance
// the average. Outputs are clamped to the range of the values seen so far (the EMA is a convex
// combination of them), so a constant series is returned bit-for-bit unchanged.
std::vector<double> smoothDebiasedEma(const std::vector<double>& ys, double weight);

// Incremental form of smoothDebiasedEma for live data: feed values one at a time.
class DebiasedEma {
public:
    explicit DebiasedEma(double weight = 0.6);
    double weight() const { return m_weight; }
    double push(double y);  // returns the smoothed value (y itself when y is not finite)
    void reset();

private:
    double m_weight;
    double m_last = 0.0;
    double m_debias = 1.0;  // w^n
    long m_count = 0;
    double m_min = 0.0, m_max = 0.0;  // range of the finite values seen
};

// Min/max-per-bucket decimation of a series sorted by x. The range [xMin, xMax] is split into
// `buckets` equal buckets (one per pixel); each bucket emits its minimum and maximum y in the
// order they occur, so a single spike survives at any zoom. The last point before xMin and the
// first point after xMax are kept so lines reach the plot edges, and the first and last points
// of the visible part are always kept. Non-finite y values are skipped. When the visible part
// has no more than 2 * buckets points it is returned unchanged. Output size <= 2 * buckets + 4.
void decimateMinMax(const double* xs, const double* ys, std::size_t n, double xMin, double xMax,
                    int buckets, std::vector<double>& outX, std::vector<double>& outY);

// Convenience overload over the whole x-range of the series.
std::pair<std::vector<double>, std::vector<double>> decimateMinMax(const std::vector<double>& xs,
                                                                   const std::vector<double>& ys,
                                                                   int buckets);

// Which value goes on the x-axis (TensorBoard's Step / Relative / Wall).
enum class XAxisMode { Step, WallTime, RelativeTime };

// x values for one series: the steps, the wall times (seconds since the Unix epoch), or the
// seconds since the series' first wall time. Falls back to steps when walls are missing.
std::vector<double> transformX(const std::vector<double>& steps, const std::vector<double>& walls,
                               XAxisMode mode);

// Linear-interpolated percentile (q in [0, 1]) of the finite values; NaN when there are none.
double percentile(std::vector<double> values, double q);

// TensorBoard's "ignore outliers" y-extent: the [lo, hi] percentiles (default 5th-95th) of the
// finite values. Returns {NaN, NaN} when there is no finite value.
std::pair<double, double> outlierRange(const std::vector<double>& ys, double lo = 0.05,
                                       double hi = 0.95);

// The config keys whose values differ between runs (a key missing from some run counts as
// differing). Sorted. Fewer than two runs: empty.
std::vector<std::string> differingConfigKeys(
    const std::vector<std::map<std::string, std::string>>& configs);

// A legend label: "name  key=value, key=value" over `keys` (values missing from `config` are
// shown as "-"). With no keys, the name alone.
std::string legendLabel(const std::string& name, const std::map<std::string, std::string>& config,
                        const std::vector<std::string>& keys);

// ---- seed groups -------------------------------------------------------------------------------

// One run's series of one metric: steps, values and (empty or as long as steps) wall times.
struct RunSeries {
    std::vector<double> steps;
    std::vector<double> values;
    std::vector<double> walls;
};

// Several runs of one metric aggregated step by step (a seed group's curve).
//   steps: the union of the runs' steps, ascending.
//   count: how many runs have a finite value at that step (a run without the step, or with NaN
//          or +-inf there, does not count).
//   mean, min, max: over those values (NaN when count is 0).
//   std:   the sample standard deviation (n - 1 in the denominator) over those values; NaN when
//          count < 2 (undefined for one value). bandBounds() treats that NaN as 0, so a StdDev
//          band narrows onto the mean where only one run has the step.
//   walls: the mean wall time of the counted runs that have one at that step; empty when any
//          step has none (plots then fall back to steps).
// A run with the same step twice counts its last value there.
struct SeriesAggregate {
    std::vector<double> steps;
    std::vector<double> mean;
    std::vector<double> std;
    std::vector<double> min;
    std::vector<double> max;
    std::vector<int> count;
    std::vector<double> walls;
};

SeriesAggregate aggregateSeries(const std::vector<RunSeries>& runs);

// How a seed group is drawn: one line per run, or its mean with a min–max or ±1 sample-std band.
enum class BandMode { None, MinMax, StdDev };

// The band of an aggregate: [min, max] or [mean - std, mean + std] (std NaN, i.e. one run,
// counts as 0). Steps with count 0 give NaN bounds. BandMode::None gives empty vectors.
void bandBounds(const SeriesAggregate& aggregate, BandMode mode, std::vector<double>& lo,
                std::vector<double>& hi);

// ---- CSV ---------------------------------------------------------------------------------------

// The chart CSV format (one row per point):
//   step,wall_time,run,stage,series,value,smoothed_value
// step: the x step; wall_time: Unix seconds, empty when the series has none (and for bands);
// run: the run id or a seed group's label; stage: the pipeline stage; series: the metric key;
// value / smoothed_value: the raw value and its debiased-EMA smoothing as charted. A seed band
// writes its mean under the metric key and its bounds as two more series, "<key>:lo" and
// "<key>:hi" (their smoothed_value uses the same smoothing). Non-finite values are written as
// "nan", "inf", "-inf". Fields are quoted as RFC 4180 says (when they hold a comma, a quote, CR
// or LF; quotes doubled); lines end in "\n".
struct CsvSeries {
    std::string run;
    std::string stage;
    std::string series;
    std::vector<double> steps;
    std::vector<double> walls;  // empty = none
    std::vector<double> values;
    std::vector<double> smoothed;
};

inline constexpr const char* kSeriesCsvHeader = "step,wall_time,run,stage,series,value,smoothed_value";

std::string csvField(const std::string& text);
// Shortest text that reads back as the same double, without an exponent for magnitudes in
// [1e-4, 1e15) ("nan", "inf", "-inf" when not finite).
std::string csvNumber(double v);
// Appends the rows of one series (no header) to `out`.
void appendSeriesCsv(std::string& out, const CsvSeries& series);
// Splits CSV text into rows of fields (RFC 4180 quoting, CRLF or LF; for tests and round trips).
std::vector<std::vector<std::string>> parseCsv(const std::string& text);

}  // namespace recalign::widgets
