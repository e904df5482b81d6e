// Pure maths behind the metric plots (see series_math.h).
#include "widgets/series_math.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <set>

namespace recalign::widgets {

// ---- smoothing ---------------------------------------------------------------------------------

DebiasedEma::DebiasedEma(double weight) : m_weight(std::clamp(weight, 0.0, 1.0)) {}

double DebiasedEma::push(double y)
{
    if (!std::isfinite(y))
        return y;
    m_last = m_last * m_weight + (1.0 - m_weight) * y;
    ++m_count;
    m_debias *= m_weight;  // w^n
    m_min = m_count == 1 ? y : std::min(m_min, y);
    m_max = m_count == 1 ? y : std::max(m_max, y);
    if (m_weight == 1.0)
        return m_last;
    // The debiased EMA is a convex combination of the values seen so far; clamping to their
    // range removes rounding excursions, so a constant series comes back exactly (TB #786).
    return std::clamp(m_last / (1.0 - m_debias), m_min, m_max);
}

void DebiasedEma::reset()
{
    m_last = 0.0;
    m_debias = 1.0;
    m_count = 0;
    m_min = m_max = 0.0;
}

std::vector<double> smoothDebiasedEma(const std::vector<double>& ys, double weight)
{
    DebiasedEma ema(weight);
    std::vector<double> out;
    out.reserve(ys.size());
    for (double y : ys)
        out.push_back(ema.push(y));
    return out;
}

// ---- decimation --------------------------------------------------------------------------------

void decimateMinMax(const double* xs, const double* ys, std::size_t n, double xMin, double xMax,
                    int buckets, std::vector<double>& outX, std::vector<double>& outY)
{
    outX.clear();
    outY.clear();
    if (n == 0)
        return;
    buckets = std::max(1, buckets);
    // Visible part [first, last) plus one neighbour on each side.
    std::size_t first = std::lower_bound(xs, xs + n, xMin) - xs;
    std::size_t last = std::upper_bound(xs, xs + n, xMax) - xs;
    const std::size_t before = first > 0 ? first - 1 : n;  // n = none
    const std::size_t after = last < n ? last : n;
    auto emit = [&](std::size_t i) {
        if (std::isfinite(ys[i])) {
            outX.push_back(xs[i]);
            outY.push_back(ys[i]);
        }
    };
    if (before != n)
        emit(before);
    const std::size_t visible = last > first ? last - first : 0;
    if (visible <= static_cast<std::size_t>(2 * buckets) || !(xMax > xMin)) {
        for (std::size_t i = first; i < last; ++i)
            emit(i);
    } else {
        outX.reserve(2 * static_cast<std::size_t>(buckets) + 4);
        outY.reserve(2 * static_cast<std::size_t>(buckets) + 4);
        const double width = (xMax - xMin) / buckets;
        // The first and last visible points are kept as they are; the buckets cover the rest.
        emit(first);
        std::size_t i = first + 1;
        const std::size_t end = last - 1;
        // Bucket of x; monotonic in x, so each bucket is one run of consecutive points.
        auto bucketOf = [&](double x) {
            return std::clamp(static_cast<int>((x - xMin) / width), 0, buckets - 1);
        };
        while (i < end) {
            const int b = bucketOf(xs[i]);
            std::size_t iMin = n, iMax = n;
            for (; i < end && bucketOf(xs[i]) == b; ++i) {
                if (!std::isfinite(ys[i]))
                    continue;
                if (iMin == n || ys[i] < ys[iMin])
                    iMin = i;
                if (iMax == n || ys[i] > ys[iMax])
                    iMax = i;
            }
            if (iMin == n)
                continue;
            if (iMin == iMax) {
                emit(iMin);
            } else {
                emit(std::min(iMin, iMax));
                emit(std::max(iMin, iMax));
            }
        }
        emit(end);
    }
    if (after != n)
        emit(after);
}

std::pair<std::vector<double>, std::vector<double>> decimateMinMax(const std::vector<double>& xs,
                                                                   const std::vector<double>& ys,
                                                                   int buckets)
{
    std::pair<std::vector<double>, std::vector<double>> out;
    const std::size_t n = std::min(xs.size(), ys.size());
    if (n == 0)
        return out;
    decimateMinMax(xs.data(), ys.data(), n, xs.front(), xs[n - 1], buckets, out.first, out.second);
    return out;
}

// ---- x-axis ------------------------------------------------------------------------------------

std::vector<double> transformX(const std::vector<double>& steps, const std::vector<double>& walls,
                               XAxisMode mode)
{
    if (mode == XAxisMode::Step || walls.size() != steps.size() || walls.empty())
        return steps;
    if (mode == XAxisMode::WallTime)
        return walls;
    std::vector<double> out(walls.size());
    const double origin = walls.front();
    for (std::size_t i = 0; i < walls.size(); ++i)
        out[i] = walls[i] - origin;
    return out;
}

// ---- y-range -----------------------------------------------------------------------------------

double percentile(std::vector<double> values, double q)
{
    values.erase(std::remove_if(values.begin(), values.end(),
                                [](double v) { return !std::isfinite(v); }),
                 values.end());
    if (values.empty())
        return std::numeric_limits<double>::quiet_NaN();
    std::sort(values.begin(), values.end());
    const double pos = std::clamp(q, 0.0, 1.0) * static_cast<double>(values.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(pos));
    const auto hi = static_cast<std::size_t>(std::ceil(pos));
    const double t = pos - static_cast<double>(lo);
    return values[lo] + (values[hi] - values[lo]) * t;
}

std::pair<double, double> outlierRange(const std::vector<double>& ys, double lo, double hi)
{
    return {percentile(ys, lo), percentile(ys, hi)};
}

// ---- legends -----------------------------------------------------------------------------------

std::vector<std::string> differingConfigKeys(
    const std::vector<std::map<std::string, std::string>>& configs)
{
    std::vector<std::string> out;
    if (configs.size() < 2)
        return out;
    std::set<std::string> keys;
    for (const auto& c : configs)
        for (const auto& kv : c)
            keys.insert(kv.first);
    for (const auto& key : keys) {
        const auto ref = configs.front().find(key);
        for (const auto& c : configs) {
            const auto it = c.find(key);
            const bool refMissing = ref == configs.front().end();
            const bool missing = it == c.end();
            if (refMissing != missing || (!missing && it->second != ref->second)) {
                out.push_back(key);
                break;
            }
        }
    }
    return out;
}

std::string legendLabel(const std::string& name, const std::map<std::string, std::string>& config,
                        const std::vector<std::string>& keys)
{
    std::string out = name;
    if (keys.empty())
        return out;
    out += "  ";
    for (std::size_t i = 0; i < keys.size(); ++i) {
        if (i)
            out += ", ";
        const auto it = config.find(keys[i]);
        out += keys[i] + "=" + (it == config.end() ? std::string("-") : it->second);
    }
    return out;
}

// ---- seed groups -------------------------------------------------------------------------------

SeriesAggregate aggregateSeries(const std::vector<RunSeries>& runs)
{
    constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
    struct Cell {
        std::vector<double> values;
        double wallSum = 0;
        int walls = 0;
    };
    std::map<double, Cell> cells;  // step -> the runs' finite values there
    for (const RunSeries& run : runs) {
        const std::size_t n = std::min(run.steps.size(), run.values.size());
        const bool haveWalls = run.walls.size() >= n;
        std::map<double, std::pair<double, double>> last;  // step -> (value, wall): last one wins
        for (std::size_t i = 0; i < n; ++i)
            last[run.steps[i]] = {run.values[i], haveWalls ? run.walls[i] : kNaN};
        for (const auto& [step, vw] : last) {
            Cell& c = cells[step];  // the step joins the union even when its value is not finite
            if (!std::isfinite(vw.first))
                continue;
            c.values.push_back(vw.first);
            if (std::isfinite(vw.second)) {
                c.wallSum += vw.second;
                ++c.walls;
            }
        }
    }
    SeriesAggregate out;
    bool allWalls = true;
    for (const auto& [step, c] : cells) {
        const int n = static_cast<int>(c.values.size());
        double mean = kNaN, sd = kNaN, lo = kNaN, hi = kNaN;
        if (n > 0) {
            double sum = 0;
            for (double v : c.values)
                sum += v;
            mean = sum / n;
            lo = *std::min_element(c.values.begin(), c.values.end());
            hi = *std::max_element(c.values.begin(), c.values.end());
            if (n > 1) {
                double ss = 0;  // two passes: no cancellation for values far from 0
                for (double v : c.values)
                    ss += (v - mean) * (v - mean);
                sd = std::sqrt(ss / (n - 1));
            }
        }
        out.steps.push_back(step);
        out.mean.push_back(mean);
        out.std.push_back(sd);
        out.min.push_back(lo);
        out.max.push_back(hi);
        out.count.push_back(n);
        if (c.walls > 0)
            out.walls.push_back(c.wallSum / c.walls);
        else
            allWalls = false;
    }
    if (!allWalls)
        out.walls.clear();
    return out;
}

void bandBounds(const SeriesAggregate& a, BandMode mode, std::vector<double>& lo,
                std::vector<double>& hi)
{
    lo.clear();
    hi.clear();
    if (mode == BandMode::None)
        return;
    const std::size_t n = a.steps.size();
    lo.resize(n);
    hi.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        if (mode == BandMode::MinMax) {
            lo[i] = a.min[i];
            hi[i] = a.max[i];
        } else {
            const double sd = std::isfinite(a.std[i]) ? a.std[i] : 0.0;
            lo[i] = a.mean[i] - sd;  // NaN when the mean is (count 0)
            hi[i] = a.mean[i] + sd;
        }
    }
}

// ---- CSV ---------------------------------------------------------------------------------------

std::string csvField(const std::string& text)
{
    if (text.find_first_of(",\"\r\n") == std::string::npos)
        return text;
    std::string out = "\"";
    for (char c : text) {
        if (c == '"')
            out += '"';
        out += c;
    }
    out += '"';
    return out;
}

std::string csvNumber(double v)
{
    if (std::isnan(v))
        return "nan";
    if (std::isinf(v))
        return v > 0 ? "inf" : "-inf";
    // Shortest round-trip form; plain decimals (no exponent) for everyday magnitudes, so wall
    // times read 1700000000.25, not 1.70000000025e+09.
    char buf[400];
    const double a = std::abs(v);
    const bool plain = a == 0.0 || (a >= 1e-4 && a < 1e15);
    const auto r = plain ? std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed)
                         : std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
}

void appendSeriesCsv(std::string& out, const CsvSeries& s)
{
    const std::string tail = "," + csvField(s.run) + "," + csvField(s.stage) + "," + csvField(s.series) + ",";
    const std::size_t n = std::min(s.steps.size(), s.values.size());
    const bool walls = s.walls.size() >= n;
    for (std::size_t i = 0; i < n; ++i) {
        out += csvNumber(s.steps[i]);
        out += ',';
        if (walls && std::isfinite(s.walls[i]))
            out += csvNumber(s.walls[i]);
        out += tail;
        out += csvNumber(s.values[i]);
        out += ',';
        if (i < s.smoothed.size())
            out += csvNumber(s.smoothed[i]);
        out += '\n';
    }
}

std::vector<std::vector<std::string>> parseCsv(const std::string& text)
{
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> row(1);
    bool quoted = false, any = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        any = true;
        if (quoted) {
            if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
                row.back() += '"';
                ++i;
            } else if (c == '"') {
                quoted = false;
            } else {
                row.back() += c;
            }
        } else if (c == '"') {
            quoted = true;
        } else if (c == ',') {
            row.emplace_back();
        } else if (c == '\n') {
            rows.push_back(std::move(row));
            row.assign(1, std::string());
            any = false;
        } else if (c != '\r') {
            row.back() += c;
        }
    }
    if (any)
        rows.push_back(std::move(row));
    return rows;
}

}  // namespace recalign::widgets
