// The paper's result tables (I0, I1, I2, formatting) built from evaluation rows, and their CSV /
// LaTeX (booktabs) / Markdown export. The CLI's `recalign export` and the GUI's Compare tab both
// call these functions, so their output is identical.
#include "core/api/tables.h"
#include "core/api/experiment.h"

#include "core/util/strings.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

namespace recalign::core {

const std::vector<std::string>& paperVariantOrder()
{
    static const std::vector<std::string> order = {
        variant_name::kSasRec, variant_name::kMostPop, variant_name::kZeroShot, variant_name::kPalr,
        variant_name::kV1,     variant_name::kV2,      variant_name::kV3,       variant_name::kFull};
    return order;
}

std::string variantDisplayName(const std::string& variant)
{
    static const std::map<std::string, std::string> names = {
        {variant_name::kSasRec, "SASRec"},   {variant_name::kMostPop, "MostPop"},
        {variant_name::kZeroShot, "Zero-shot"}, {variant_name::kPalr, "PALR"},
        {variant_name::kV1, "Ours_v1"},      {variant_name::kV2, "Ours_v2"},
        {variant_name::kV3, "Ours_v3"},      {variant_name::kFull, "Ours_full"}};
    auto it = names.find(variant);
    if (it != names.end())
        return it->second;
    // A recipe: its base's name, the RL algorithm it names, "+CD" for constrained decoding.
    VariantRecipe r;
    if (!parseVariantRecipe(variant, &r))
        return variant;
    std::string base = r.trainedName().substr(0, r.trainedName().find('_'));
    std::string out = r.align == VariantRecipe::Align::Dpo ? "DPO"
        : r.align == VariantRecipe::Align::Sdpo          ? "S-DPO"
                                                         : variantDisplayName(base);
    if (r.algorithm_set) {
        static const std::map<RlAlgorithm, std::string> algs = {{RlAlgorithm::Ppo, "PPO"},
                                                                 {RlAlgorithm::Grpo, "GRPO"},
                                                                 {RlAlgorithm::Rloo, "RLOO"},
                                                                 {RlAlgorithm::ReinforcePp, "REINFORCE++"}};
        out += " (" + (r.dr_grpo ? std::string("Dr. GRPO") : algs.at(r.algorithm)) + ")";
    }
    return r.constrained ? out + " +CD" : out;
}

bool parseTableKind(const std::string& text, TableKind* kind)
{
    for (TableKind k : allTableKinds())
        if (text == tableKindName(k)) {
            *kind = k;
            return true;
        }
    return false;
}

const char* tableKindName(TableKind kind)
{
    switch (kind) {
    case TableKind::I0: return "i0";
    case TableKind::I1: return "i1";
    case TableKind::I2: return "i2";
    case TableKind::Format: return "format";
    }
    return "";
}

std::vector<TableKind> allTableKinds() { return {TableKind::I0, TableKind::I1, TableKind::I2, TableKind::Format}; }

namespace tables_detail {

struct ColumnSpec {
    TableColumn column;
    bool optional = false;  // dropped when every cell is missing
};

static ColumnSpec col(std::string name, std::string group, std::string task, std::string metric, bool lower,
                      bool ranked, int digits, double scale = 1.0, bool optional = false)
{
    ColumnSpec s;
    s.column = TableColumn{std::move(name), std::move(group), std::move(task), std::move(metric), lower, ranked, digits, scale};
    s.optional = optional;
    return s;
}

static std::vector<ColumnSpec> columnsFor(TableKind kind, int k, std::string* title)
{
    using namespace metric_name;
    using namespace task_name;
    const std::string K = std::to_string(k);
    switch (kind) {
    case TableKind::I0:
        *title = "I0: sequential recommendation";
        return {col("HR@" + K, "", kI0, kHr, false, true, 4), col("NDCG@" + K, "", kI0, kNdcg, false, true, 4)};
    case TableKind::I1:
        *title = "I1: category control (+C: items of C; -C: items not of C; TCP in %)";
        return {col("HR@" + K, "+C", kI1Plus, kHr, false, true, 4),      col("NDCG@" + K, "+C", kI1Plus, kNdcg, false, true, 4),
                col("TCP@" + K, "+C", kI1Plus, kTcpPct, false, true, 2), col("HR@" + K, "-C", kI1Minus, kHr, false, true, 4),
                col("NDCG@" + K, "-C", kI1Minus, kNdcg, false, true, 4), col("TCP@" + K, "-C", kI1Minus, kTcpPct, true, true, 2)};
    case TableKind::I2:
        *title = "I2: category proportion control (CPA and TCP in %)";
        return {col("CPA", "≤20%", kI2Le20, kCpaPct, false, true, 2),     col("TCP@" + K, "≤20%", kI2Le20, kTcpPct, false, false, 2),
                col("CPA", "≥30%", kI2Ge30, kCpaPct, false, true, 2),     col("TCP@" + K, "≥30%", kI2Ge30, kTcpPct, false, false, 2),
                col("CPA", "≈30%", kI2Approx30, kCpaPct, false, true, 2), col("TCP@" + K, "≈30%", kI2Approx30, kTcpPct, false, false, 2)};
    case TableKind::Format:
        *title = "Formatting quality on I0 (CorrectCount in %, others per list; Items = list length, Illegal/item = "
                 "(RepeatItem + NonExist + InHistory) per generated item in %, above 100 when an item is both a repeat and "
                 "in the history) and general ability (%)";
        return {col("CorrectCount", "", kI0, kCorrectCount, false, true, 2, 100.0),
                col("RepeatItem@" + K, "", kI0, kRepeat, true, true, 2),
                col("NonExist@" + K, "", kI0, kNonExist, true, true, 2),
                col("InHistory@" + K, "", kI0, kInHistory, true, true, 2),
                col("Items@" + K, "", kI0, kListLength, false, false, 2, 1.0, true),
                col("Illegal/item %", "", kI0, kIllegalPerItem, true, true, 2, 100.0, true),
                col("CorrectCount (11-15)", "", kItemCount, kCorrectCount, false, true, 2, 100.0, true),
                col("MMLU", "", kMmlu, kAccuracy, false, true, 2, 100.0, true),
                col("GSM8K", "", kGsm8k, kAccuracy, false, true, 2, 100.0, true)};
    }
    return {};
}

// The paper's order; a recipe follows its base (full_grpo and full+cd after full), DPO rows
// come last.
static size_t variantRank(const std::string& v)
{
    const auto& order = paperVariantOrder();
    auto rank = [&](const std::string& name) {
        auto it = std::find(order.begin(), order.end(), name);
        return it == order.end() ? order.size() : static_cast<size_t>(it - order.begin());
    };
    if (const size_t r = rank(v); r < order.size())
        return 2 * r;
    return 2 * rank(v.substr(0, v.find_first_of("_+"))) + 1;
}

static long long scaled(double v, int digits) { return std::llround(v * std::pow(10.0, digits)); }

static std::string latexEscape(const std::string& s)
{
    static const std::vector<std::pair<std::string, std::string>> map = {
        {"\\", "\\textbackslash{}"}, {"&", "\\&"}, {"%", "\\%"}, {"$", "\\$"}, {"#", "\\#"}, {"_", "\\_"},
        {"{", "\\{"}, {"}", "\\}"}, {"~", "\\textasciitilde{}"}, {"^", "\\textasciicircum{}"},
        {"≤", "$\\leq$"}, {"≥", "$\\geq$"}, {"≈", "$\\approx$"}, {"−", "$-$"}, {"±", "$\\pm$"},
        {"↓", "$\\downarrow$"}, {"–", "--"}};
    std::string out;
    for (size_t i = 0; i < s.size();) {
        bool hit = false;
        for (const auto& [from, to] : map)
            if (s.compare(i, from.size(), from) == 0) {
                out += to;
                i += from.size();
                hit = true;
                break;
            }
        if (!hit)
            out += s[i++];
    }
    return out;
}

static std::string csvField(const std::string& s)
{
    if (s.find_first_of(",\"\n\r") == std::string::npos)
        return s;
    std::string out = "\"";
    for (char c : s)
        out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

static std::string markdownEscape(const std::string& s)
{
    std::string out;
    for (char c : s)
        out += c == '|' ? std::string("\\|") : std::string(1, c);
    return out;
}

enum class Mark { None, Best, Second };

static std::vector<std::vector<Mark>> marks(const Table& t)
{
    std::vector<std::vector<Mark>> m(t.rows.size(), std::vector<Mark>(t.columns.size(), Mark::None));
    for (size_t c = 0; c < t.columns.size(); ++c) {
        const ColumnRanking r = rankColumn(t, c);
        for (size_t i : r.best)
            m[i][c] = Mark::Best;
        for (size_t i : r.second)
            m[i][c] = Mark::Second;
    }
    return m;
}

static int rowSeeds(const TableRow& r)
{
    int seeds = 0;
    for (const auto& c : r.cells)
        seeds = std::max(seeds, c.missing ? 0 : c.seeds);
    return seeds;
}

// The most seeds a row averages (1 = no seed groups: a group of one seed reads like a run).
static int maxSeeds(const Table& t)
{
    int n = 1;
    for (const auto& r : t.rows)
        n = std::max(n, rowSeeds(r));
    return n;
}

static bool hasSeedGroups(const Table& t) { return maxSeeds(t) > 1; }

// "Mean ± sample std over n = 3 seeds" (per row in the CSV's seeds column when rows differ).
static std::string seedsNote(const Table& t)
{
    return "Mean ± sample std (n - 1) over n = " + std::to_string(maxSeeds(t)) + " seeds";
}

static std::string toCsv(const Table& t, const ExportOptions& o)
{
    const bool groups = hasSeedGroups(t);
    std::ostringstream out;
    out << "method";
    if (groups)
        out << ",seeds";
    for (const auto& c : t.columns) {
        const std::string name = c.group.empty() ? c.name : c.group + " " + c.name;
        out << "," << csvField(name);
        if (groups)
            out << "," << csvField(name + " std");
        if (o.with_stderr)
            out << "," << csvField(name + " se");
    }
    out << "\n";
    for (const auto& r : t.rows) {
        out << csvField(r.name);
        if (groups)
            out << "," << rowSeeds(r);
        for (size_t c = 0; c < t.columns.size(); ++c) {
            const TableCell& cell = r.cells[c];
            TableCell plain = cell;
            plain.seeds = 1;  // the std has a column of its own
            out << "," << formatCell(plain, t.columns[c], false);
            if (groups)
                out << "," << (cell.missing || cell.seeds < 2 ? std::string() : str::fixed(cell.std_dev * t.columns[c].scale, t.columns[c].digits));
            if (o.with_stderr)
                out << "," << (cell.missing || cell.std_error <= 0 ? std::string() : str::fixed(cell.std_error * t.columns[c].scale, t.columns[c].digits));
        }
        out << "\n";
    }
    return out.str();
}

static std::string toLatex(const Table& t, const ExportOptions& o)
{
    const auto m = marks(t);
    std::ostringstream out;
    std::string caption = latexEscape(t.title);
    if (hasSeedGroups(t))
        caption += ". " + latexEscape(seedsNote(t));
    if (!t.tests_note.empty())
        caption += ". $^\\dagger$ " + latexEscape(t.tests_note);
    out << "\\begin{table}[t]\n  \\centering\n  \\caption{" << caption << "}\n  \\label{tab:" << t.id << "}\n";
    out << "  \\begin{tabular}{l" << std::string(t.columns.size(), 'r') << "}\n    \\toprule\n";
    const bool grouped = std::any_of(t.columns.begin(), t.columns.end(), [](const TableColumn& c) { return !c.group.empty(); });
    if (grouped) {
        std::string head = "   ", rules;
        for (size_t c = 0; c < t.columns.size();) {
            size_t e = c + 1;
            while (e < t.columns.size() && t.columns[e].group == t.columns[c].group)
                ++e;
            const size_t span = e - c;
            if (t.columns[c].group.empty()) {
                for (size_t i = 0; i < span; ++i)
                    head += " &";
            } else {
                head += " & \\multicolumn{" + std::to_string(span) + "}{c}{" + latexEscape(t.columns[c].group) + "}";
                rules += (rules.empty() ? "" : " ") + std::string("\\cmidrule(lr){") + std::to_string(c + 2) + "-" + std::to_string(e + 1) + "}";
            }
            c = e;
        }
        out << head << " \\\\\n    " << rules << "\n";
    }
    out << "    Method";
    for (const auto& c : t.columns)
        out << " & " << latexEscape(c.name) << (c.lower_is_better ? " $\\downarrow$" : "");
    out << " \\\\\n    \\midrule\n";
    for (size_t r = 0; r < t.rows.size(); ++r) {
        out << "    " << latexEscape(t.rows[r].name);
        for (size_t c = 0; c < t.columns.size(); ++c) {
            const TableCell& cell = t.rows[r].cells[c];
            std::string text = cell.missing ? std::string("--") : latexEscape(formatCell(cell, t.columns[c], o.with_stderr));
            if (m[r][c] == Mark::Best)
                text = "\\textbf{" + text + "}";
            else if (m[r][c] == Mark::Second)
                text = "\\underline{" + text + "}";
            if (!cell.missing && cell.significant)
                text += "$^\\dagger$";
            out << " & " << text;
        }
        out << " \\\\\n";
    }
    out << "    \\bottomrule\n  \\end{tabular}\n\\end{table}\n";
    return out.str();
}

static std::string toMarkdown(const Table& t, const ExportOptions& o)
{
    const auto m = marks(t);
    std::ostringstream out;
    out << "**" << markdownEscape(t.title) << "**\n\n| Method |";
    for (const auto& c : t.columns)
        out << " " << markdownEscape(c.group.empty() ? c.name : c.group + " " + c.name) << (c.lower_is_better ? " ↓" : "") << " |";
    out << "\n|:--|";
    for (size_t c = 0; c < t.columns.size(); ++c)
        out << "--:|";
    out << "\n";
    for (size_t r = 0; r < t.rows.size(); ++r) {
        out << "| " << markdownEscape(t.rows[r].name) << " |";
        for (size_t c = 0; c < t.columns.size(); ++c) {
            const TableCell& cell = t.rows[r].cells[c];
            std::string text = cell.missing ? std::string("–") : formatCell(cell, t.columns[c], o.with_stderr);
            if (m[r][c] == Mark::Best)
                text = "**" + text + "**";
            else if (m[r][c] == Mark::Second)
                text = "<u>" + text + "</u>";
            if (!cell.missing && cell.significant)
                text += "†";
            out << " " << text << " |";
        }
        out << "\n";
    }
    if (hasSeedGroups(t))
        out << "\n" << seedsNote(t) << ".";
    if (!t.tests_note.empty())
        out << (hasSeedGroups(t) ? " " : "\n") << "† " << markdownEscape(t.tests_note);
    if (hasSeedGroups(t) || !t.tests_note.empty())
        out << "\n";
    return out.str();
}

}  // namespace tables_detail

using namespace tables_detail;

Table buildTable(TableKind kind, const std::vector<EvalRow>& rows, const TableOptions& options)
{
    Table t;
    t.id = tableKindName(kind);
    std::vector<ColumnSpec> specs = columnsFor(kind, options.k, &t.title);

    // A row stands for a unit: a run (id > 0) or a seed group (-id).
    std::map<int64_t, int64_t> groupOf(options.run_groups.begin(), options.run_groups.end());
    auto unitOf = [&](int64_t run) -> int64_t {
        auto it = groupOf.find(run);
        return options.per_seed || it == groupOf.end() || it->second <= 0 ? run : -it->second;
    };
    // Index the rows: (unit, variant) -> run -> (task, metric) -> last row.
    using Cells = std::map<std::pair<std::string, std::string>, const EvalRow*>;
    std::map<std::pair<int64_t, std::string>, std::map<int64_t, Cells>> byRow;
    std::set<int64_t> runs, units;
    for (const auto& r : rows) {
        byRow[{unitOf(r.run_id), r.variant}][r.run_id][{r.task, r.metric}] = &r;
        runs.insert(r.run_id);
        units.insert(unitOf(r.run_id));
    }
    // Run order: the order of options.run_labels, then ascending id; a group sorts by its first run.
    std::map<int64_t, size_t> runOrder;
    std::map<int64_t, std::string> runLabel, groupLabel(options.group_labels.begin(), options.group_labels.end());
    for (const auto& [id, label] : options.run_labels) {
        runOrder.emplace(id, runOrder.size());
        runLabel.emplace(id, label);
    }
    for (int64_t id : runs)
        runOrder.emplace(id, runOrder.size());
    std::map<int64_t, size_t> unitOrder;
    for (int64_t id : runs) {
        const int64_t u = unitOf(id);
        auto it = unitOrder.find(u);
        if (it == unitOrder.end() || runOrder[id] < it->second)
            unitOrder[u] = runOrder[id];
    }
    const bool labelRows = options.always_label_runs || units.size() > 1;

    std::vector<std::pair<int64_t, std::string>> keys;
    for (const auto& [key, cells] : byRow)
        keys.push_back(key);
    std::stable_sort(keys.begin(), keys.end(), [&](const auto& a, const auto& b) {
        const size_t ra = variantRank(a.second), rb = variantRank(b.second);
        if (ra != rb)
            return ra < rb;
        if (a.second != b.second)
            return a.second < b.second;
        return unitOrder[a.first] < unitOrder[b.first];
    });

    auto has = [&](const std::pair<int64_t, std::string>& key, const TableColumn& c) {
        for (const auto& [run, cells] : byRow[key])
            if (cells.count({c.task, c.metric}))
                return true;
        return false;
    };
    std::vector<bool> keep(specs.size(), true);
    for (size_t c = 0; c < specs.size(); ++c) {
        if (!specs[c].optional)
            continue;
        bool any = false;
        for (const auto& key : keys)
            any = any || has(key, specs[c].column);
        keep[c] = any;
    }
    for (size_t c = 0; c < specs.size(); ++c)
        if (keep[c])
            t.columns.push_back(specs[c].column);

    for (const auto& key : keys) {
        TableRow row;
        const auto& perRun = byRow[key];
        std::vector<int64_t> rowRuns;
        for (const auto& [run, cells] : perRun)
            rowRuns.push_back(run);
        std::stable_sort(rowRuns.begin(), rowRuns.end(), [&](int64_t a, int64_t b) { return runOrder[a] < runOrder[b]; });
        row.runs = rowRuns;
        row.run_id = rowRuns.front();
        row.group_id = key.first < 0 ? -key.first : 0;
        row.variant = key.second;
        row.name = variantDisplayName(key.second);
        if (labelRows) {
            if (row.group_id > 0) {
                auto it = groupLabel.find(row.group_id);
                row.name += " (" + (it != groupLabel.end() ? it->second : "group " + std::to_string(row.group_id)) + ")";
            } else {
                auto it = runLabel.find(key.first);
                row.name += " (" + (it != runLabel.end() ? it->second : "run " + std::to_string(key.first)) + ")";
            }
        }
        bool any = false;
        for (const auto& column : t.columns) {
            TableCell cell;
            std::vector<const EvalRow*> found;
            for (int64_t run : rowRuns) {
                const Cells& cells = perRun.at(run);
                auto it = cells.find({column.task, column.metric});
                if (it != cells.end() && std::isfinite(it->second->value))
                    found.push_back(it->second);
            }
            if (!found.empty()) {
                const double k = static_cast<double>(found.size());
                double sum = 0, se2 = 0;
                long n = 0;
                for (const EvalRow* r : found) {
                    sum += r->value;
                    se2 += r->std_error * r->std_error;
                    n += r->n;
                }
                cell.value = sum / k;
                cell.n = n;
                cell.std_error = std::sqrt(se2) / k;
                cell.seeds = static_cast<int>(found.size());
                if (found.size() > 1) {
                    double ss = 0;
                    for (const EvalRow* r : found)
                        ss += (r->value - cell.value) * (r->value - cell.value);
                    cell.std_dev = std::sqrt(ss / (k - 1));
                }
                cell.missing = false;
                any = true;
            }
            row.cells.push_back(cell);
        }
        if (any)
            t.rows.push_back(std::move(row));
    }
    return t;
}

ColumnRanking rankColumn(const Table& table, size_t col)
{
    ColumnRanking out;
    if (col >= table.columns.size() || !table.columns[col].ranked)
        return out;
    const TableColumn& c = table.columns[col];
    std::set<long long> values;
    for (const auto& r : table.rows)
        if (col < r.cells.size() && !r.cells[col].missing)
            values.insert(scaled(r.cells[col].value * c.scale, c.digits));
    size_t present = 0;
    for (const auto& r : table.rows)
        present += col < r.cells.size() && !r.cells[col].missing;
    if (present < 2)
        return out;
    std::vector<long long> ordered(values.begin(), values.end());
    if (!c.lower_is_better)
        std::reverse(ordered.begin(), ordered.end());
    for (size_t i = 0; i < table.rows.size(); ++i) {
        const TableCell& cell = table.rows[i].cells[col];
        if (cell.missing)
            continue;
        const long long v = scaled(cell.value * c.scale, c.digits);
        if (v == ordered[0])
            out.best.push_back(i);
        else if (ordered.size() > 1 && v == ordered[1])
            out.second.push_back(i);
    }
    return out;
}

std::string formatCell(const TableCell& cell, const TableColumn& column, bool with_stderr)
{
    if (cell.missing)
        return {};
    std::string s = str::fixed(cell.value * column.scale, column.digits);
    if (s == "-" + str::fixed(0.0, column.digits))
        s = s.substr(1);  // no "-0.00"
    if (cell.seeds > 1)
        s += " ± " + str::fixed(cell.std_dev * column.scale, column.digits);
    if (with_stderr && cell.std_error > 0)
        s += cell.seeds > 1 ? " [se " + str::fixed(cell.std_error * column.scale, column.digits) + "]"
                            : " ± " + str::fixed(cell.std_error * column.scale, column.digits);
    return s;
}

std::string exportTests(const Table& table, ExportFormat format)
{
    std::ostringstream out;
    const std::vector<std::string> header = {"comparison", "column", "units", "seeds", "mean diff", "95% CI",
                                             "p bootstrap", "p Wilcoxon", "p bootstrap (Holm)", "p Wilcoxon (Holm)",
                                             "significant"};
    auto pval = [](double p) { return p < 1e-4 ? std::string("<0.0001") : str::fixed(p, 4); };
    std::vector<std::vector<std::string>> rows;
    for (const auto& t : table.tests) {
        const TableColumn& c = table.columns[t.column];
        const int digits = c.digits;
        rows.push_back({table.rows[t.row_a].name + " vs " + table.rows[t.row_b].name,
                        c.group.empty() ? c.name : c.group + " " + c.name, std::to_string(t.units), std::to_string(t.strata),
                        str::fixed(t.mean_diff, digits),
                        "[" + str::fixed(t.ci_low, digits) + ", " + str::fixed(t.ci_high, digits) + "]", pval(t.p_bootstrap),
                        pval(t.p_wilcoxon), pval(t.p_bootstrap_holm), pval(t.p_wilcoxon_holm), t.significant ? "yes" : "no"});
    }
    switch (format) {
    case ExportFormat::Csv:
        out << "# significance: " << table.title << "\n";
        for (size_t k = 0; k < header.size(); ++k)
            out << (k ? "," : "") << csvField(header[k]);
        out << "\n";
        for (const auto& r : rows) {
            for (size_t k = 0; k < r.size(); ++k)
                out << (k ? "," : "") << csvField(r[k]);
            out << "\n";
        }
        break;
    case ExportFormat::Markdown:
        out << "**Significance: " << table.title << "**\n\n|";
        for (const auto& h : header)
            out << " " << h << " |";
        out << "\n|:--|:--|" << std::string("--:|--:|--:|--:|--:|--:|--:|--:|:-:|") << "\n";
        for (const auto& r : rows) {
            out << "|";
            for (const auto& c : r)
                out << " " << markdownEscape(c) << " |";
            out << "\n";
        }
        if (!table.tests_note.empty())
            out << "\nSignificant: " << table.tests_note << ".\n";
        break;
    case ExportFormat::Latex: {
        out << "\\begin{table}[t]\n  \\centering\n  \\caption{Significance: " << latexEscape(table.title) << ". "
            << latexEscape(table.tests_note) << "}\n  \\begin{tabular}{llrrrrrrrrc}\n    \\toprule\n    ";
        for (size_t k = 0; k < header.size(); ++k)
            out << (k ? " & " : "") << latexEscape(header[k]);
        out << " \\\\\n    \\midrule\n";
        for (const auto& r : rows) {
            out << "    ";
            for (size_t k = 0; k < r.size(); ++k)
                out << (k ? " & " : "") << latexEscape(r[k]);
            out << " \\\\\n";
        }
        out << "    \\bottomrule\n  \\end{tabular}\n\\end{table}\n";
        break;
    }
    }
    return out.str();
}

std::string exportTable(const Table& table, ExportFormat format, const ExportOptions& options)
{
    switch (format) {
    case ExportFormat::Csv: return toCsv(table, options);
    case ExportFormat::Latex: return toLatex(table, options);
    case ExportFormat::Markdown: return toMarkdown(table, options);
    }
    return {};
}

std::string exportTables(const std::vector<Table>& tables, ExportFormat format, const ExportOptions& options)
{
    std::string out;
    for (size_t i = 0; i < tables.size(); ++i) {
        if (i)
            out += "\n";
        if (format == ExportFormat::Csv)
            out += "# " + tables[i].title + "\n";
        out += exportTable(tables[i], format, options);
    }
    return out;
}

}  // namespace recalign::core
