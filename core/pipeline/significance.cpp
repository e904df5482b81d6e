// Paired significance of table cells (core/api/tables.h): the paired bootstrap stratified by
// seed, the Wilcoxon signed-rank test and Holm's correction, and their export. Torch-free.
#include "core/api/tables.h"
#include "core/api/experiment.h"

#include "core/util/strings.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <random>
#include <sstream>

namespace recalign::core {

BootstrapResult pairedBootstrap(const std::vector<std::vector<double>>& strata, int resamples, uint64_t seed)
{
    BootstrapResult out;
    size_t total = 0;
    double sum = 0;
    for (const auto& s : strata) {
        total += s.size();
        sum += std::accumulate(s.begin(), s.end(), 0.0);
    }
    if (total == 0)
        return out;
    out.mean = sum / static_cast<double>(total);
    const int b = std::max(1, resamples);
    std::mt19937_64 rng(seed);
    std::vector<double> means(static_cast<size_t>(b));
    for (int r = 0; r < b; ++r) {
        double acc = 0;
        for (const auto& s : strata) {
            if (s.empty())
                continue;
            std::uniform_int_distribution<size_t> pick(0, s.size() - 1);
            for (size_t k = 0; k < s.size(); ++k)
                acc += s[pick(rng)];
        }
        means[static_cast<size_t>(r)] = acc / static_cast<double>(total);
    }
    std::sort(means.begin(), means.end());
    // Percentile interval with linear interpolation between order statistics.
    auto quantile = [&](double q) {
        const double pos = q * static_cast<double>(b - 1);
        const size_t lo = static_cast<size_t>(std::floor(pos));
        const size_t hi = std::min(lo + 1, means.size() - 1);
        return means[lo] + (pos - static_cast<double>(lo)) * (means[hi] - means[lo]);
    };
    out.low = quantile(0.025);
    out.high = quantile(0.975);
    const double atMostZero = static_cast<double>(std::upper_bound(means.begin(), means.end(), 0.0) - means.begin());
    const double atLeastZero = static_cast<double>(means.end() - std::lower_bound(means.begin(), means.end(), 0.0));
    out.p = std::min(1.0, 2.0 * std::min(1.0 + atMostZero, 1.0 + atLeastZero) / (1.0 + b));
    return out;
}

namespace {

double normalSf(double z) { return 0.5 * std::erfc(z / std::sqrt(2.0)); }

}  // namespace

double wilcoxonSignedRankP(const std::vector<double>& diffs)
{
    std::vector<double> d;
    for (double x : diffs)
        if (std::isfinite(x) && x != 0.0)
            d.push_back(x);
    const size_t n = d.size();
    if (n == 0)
        return 1.0;
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return std::fabs(d[a]) < std::fabs(d[b]); });
    std::vector<double> rank(n);
    bool ties = false;
    double tieTerm = 0;  // sum of t^3 - t over groups of tied |d|
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && std::fabs(d[order[j]]) == std::fabs(d[order[i]]))
            ++j;
        const double avg = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;
        for (size_t k = i; k < j; ++k)
            rank[order[k]] = avg;
        const double t = static_cast<double>(j - i);
        if (j - i > 1) {
            ties = true;
            tieTerm += t * t * t - t;
        }
        i = j;
    }
    double wPlus = 0;
    for (size_t i = 0; i < n; ++i)
        if (d[i] > 0)
            wPlus += rank[i];
    const double nn = static_cast<double>(n);
    if (n <= 50 && !ties) {
        // Exact null distribution: counts of subsets of {1..n} by their rank sum.
        const size_t maxSum = n * (n + 1) / 2;
        std::vector<double> count(maxSum + 1, 0.0);
        count[0] = 1.0;
        for (size_t r = 1; r <= n; ++r)
            for (size_t s = maxSum; s >= r; --s)
                count[s] += count[s - r];
        const double total = std::pow(2.0, nn);
        const size_t w = static_cast<size_t>(std::llround(wPlus));
        double le = 0, ge = 0;
        for (size_t s = 0; s <= maxSum; ++s) {
            if (s <= w)
                le += count[s];
            if (s >= w)
                ge += count[s];
        }
        return std::min(1.0, 2.0 * std::min(le, ge) / total);
    }
    const double mean = nn * (nn + 1) / 4.0;
    const double var = nn * (nn + 1) * (2 * nn + 1) / 24.0 - tieTerm / 48.0;
    if (var <= 0)
        return 1.0;
    const double z = (wPlus - mean) / std::sqrt(var);
    return std::min(1.0, 2.0 * normalSf(std::fabs(z)));
}

std::vector<double> holmAdjust(const std::vector<double>& p)
{
    const size_t m = p.size();
    std::vector<size_t> order(m);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p[a] < p[b]; });
    std::vector<double> out(m);
    double running = 0;
    for (size_t k = 0; k < m; ++k) {
        running = std::max(running, std::min(1.0, static_cast<double>(m - k) * p[order[k]]));
        out[order[k]] = running;
    }
    return out;
}

void addSignificance(Table& table, const std::vector<EvalUnits>& units, const SignificanceOptions& options)
{
    table.tests.clear();
    table.tests_note.clear();
    for (auto& row : table.rows)
        for (auto& cell : row.cells)
            cell.significant = false;
    // (run, variant, task, metric) -> units
    std::map<std::tuple<int64_t, std::string, std::string, std::string>, const EvalUnits*> index;
    for (const auto& u : units)
        index[{u.run_id, u.variant, u.task, u.metric}] = &u;

    auto sameUnit = [](const TableRow& a, const TableRow& b) {
        return a.group_id > 0 ? a.group_id == b.group_id : b.group_id == 0 && a.run_id == b.run_id;
    };
    // The pairs asked for, then each recipe row against what it adds to (recipe_pairs).
    std::vector<std::pair<std::string, std::string>> pairs = options.pairs;
    if (options.recipe_pairs)
        for (const auto& row : table.rows) {
            VariantRecipe r;
            const auto& paper = paperVariantOrder();
            if (std::find(paper.begin(), paper.end(), row.variant) != paper.end()
                || !parseVariantRecipe(row.variant, &r))
                continue;  // one of the paper's rows (or not a recipe)
            std::pair<std::string, std::string> p{row.variant,
                                                  r.constrained ? r.trainedName() : std::string(variant_name::kV2)};
            if (std::find(pairs.begin(), pairs.end(), p) == pairs.end())
                pairs.push_back(p);
        }
    std::vector<std::string> pairNames;
    for (const auto& [va, vb] : pairs) {
        for (size_t ra = 0; ra < table.rows.size(); ++ra) {
            if (table.rows[ra].variant != va)
                continue;
            for (size_t rb = 0; rb < table.rows.size(); ++rb) {
                if (table.rows[rb].variant != vb || !sameUnit(table.rows[ra], table.rows[rb]))
                    continue;
                bool tested = false;
                for (size_t c = 0; c < table.columns.size(); ++c) {
                    const TableColumn& col = table.columns[c];
                    std::vector<std::vector<double>> strata;
                    std::vector<double> all;
                    for (int64_t run : table.rows[ra].runs) {
                        auto ia = index.find({run, va, col.task, col.metric});
                        auto ib = index.find({run, vb, col.task, col.metric});
                        if (ia == index.end() || ib == index.end())
                            continue;
                        // Match by user, k-th occurrence with k-th occurrence.
                        std::map<std::pair<int64_t, int>, double> bValues;
                        std::map<int64_t, int> seen;
                        for (size_t k = 0; k < ib->second->users.size(); ++k)
                            bValues[{ib->second->users[k], seen[ib->second->users[k]]++}] = ib->second->values[k];
                        seen.clear();
                        std::vector<double> diffs;
                        for (size_t k = 0; k < ia->second->users.size(); ++k) {
                            const int64_t user = ia->second->users[k];
                            auto it = bValues.find({user, seen[user]++});
                            if (it == bValues.end())
                                continue;
                            const double x = (ia->second->values[k] - it->second) * col.scale;
                            if (std::isfinite(x))
                                diffs.push_back(x);
                        }
                        if (diffs.empty())
                            continue;
                        all.insert(all.end(), diffs.begin(), diffs.end());
                        strata.push_back(std::move(diffs));
                    }
                    if (all.empty())
                        continue;
                    PairedTest t;
                    t.row_a = ra;
                    t.row_b = rb;
                    t.column = c;
                    t.units = static_cast<long>(all.size());
                    t.strata = static_cast<int>(strata.size());
                    const BootstrapResult b = pairedBootstrap(strata, options.resamples, options.seed);
                    t.mean_diff = b.mean;
                    t.ci_low = b.low;
                    t.ci_high = b.high;
                    t.p_bootstrap = b.p;
                    t.p_wilcoxon = wilcoxonSignedRankP(all);
                    table.tests.push_back(t);
                    tested = true;
                }
                if (tested) {
                    const std::string name = variantDisplayName(va) + " vs " + variantDisplayName(vb);
                    if (std::find(pairNames.begin(), pairNames.end(), name) == pairNames.end())
                        pairNames.push_back(name);
                }
            }
        }
    }
    if (table.tests.empty())
        return;
    std::vector<double> pb, pw;
    for (const auto& t : table.tests) {
        pb.push_back(t.p_bootstrap);
        pw.push_back(t.p_wilcoxon);
    }
    const auto hb = holmAdjust(pb), hw = holmAdjust(pw);
    for (size_t k = 0; k < table.tests.size(); ++k) {
        PairedTest& t = table.tests[k];
        t.p_bootstrap_holm = hb[k];
        t.p_wilcoxon_holm = hw[k];
        t.significant = t.p_bootstrap_holm <= options.alpha;
        if (t.significant)
            table.rows[t.row_a].cells[t.column].significant = true;
    }
    std::ostringstream note;
    note << "differs from the row it is tested against (" << str::join(pairNames, ", ")
         << ") by a paired bootstrap over (seed, user) units (" << options.resamples
         << " resamples of users, stratified by seed; 95 % percentile interval), p <= " << options.alpha
         << " after Holm's correction over the " << table.tests.size() << " tests of this table; Wilcoxon signed-rank p reported beside";
    table.tests_note = note.str();
}

}  // namespace recalign::core
