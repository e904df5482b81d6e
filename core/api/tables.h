// The evaluation vocabulary (variant, task and metric names shared by the rules layer, the store,
// the CLI and the GUI) and the paper's result tables as plain data, with their CSV / LaTeX /
// Markdown export. Torch-free and Qt-free; implemented in core/pipeline/tables.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace recalign::core {

// ---- Names -----------------------------------------------------------------------------------
// Stored verbatim in the run store (eval_results.variant / task / metric); never translate them.

namespace variant_name {
inline constexpr const char* kSasRec = "sasrec";      // the SASRec teacher itself
inline constexpr const char* kMostPop = "mostpop";    // most-popular floor baseline
inline constexpr const char* kZeroShot = "zeroshot";  // the base LLM prompted without fine-tuning
inline constexpr const char* kPalr = "palr";          // SFT on the user's real next items
inline constexpr const char* kV1 = "v1";              // SFT on I0 only
inline constexpr const char* kV2 = "v2";              // SFT on I0-I4
inline constexpr const char* kV3 = "v3";              // v2 + PPO with the list-level reward only
inline constexpr const char* kFull = "full";          // v2 + PPO with item- and list-level rewards
}  // namespace variant_name

// Test tasks (RECLM-GEN §3.1 test set). The spelling is what core/rules' EvalTask::parse
// accepts (the I2 suffix is the percentage).
namespace task_name {
inline constexpr const char* kI0 = "i0";                   // sequential recommendation
inline constexpr const char* kI1Plus = "i1+";              // +C: items of category C
inline constexpr const char* kI1Minus = "i1-";             // -C: items not of category C
inline constexpr const char* kI2Le20 = "i2le_20";          // proportion of C <= 20 %
inline constexpr const char* kI2Ge30 = "i2ge_30";          // proportion of C >= 30 %
inline constexpr const char* kI2Approx30 = "i2approx_30";  // proportion of C ~= 30 %
inline constexpr const char* kItemCount = "itemcount";     // asks for 11..15 items
inline constexpr const char* kMmlu = "mmlu";               // general ability: multiple choice
inline constexpr const char* kGsm8k = "gsm8k";             // general ability: grade-school maths
}  // namespace task_name

// Metric names as stored in eval_results.metric: the keys of core/rules' TaskMetrics::values
// (RECLM-GEN §6.2), at the experiment's K (evaluation.topk; the tables print "@K" in headers).
// Units: hr, ndcg, mrr, correct_count, cpa, accuracy are fractions in [0, 1]; *_pct are percent;
// repeat, non_exist, in_history, tcp are average counts per list (the released convention) and
// *_ratio the same divided by K.
namespace metric_name {
inline constexpr const char* kHr = "hr";
inline constexpr const char* kNdcg = "ndcg";
inline constexpr const char* kMrr = "mrr";
inline constexpr const char* kCorrectCount = "correct_count";  // share of lists with exactly k items
inline constexpr const char* kRepeat = "repeat";
inline constexpr const char* kNonExist = "non_exist";
inline constexpr const char* kInHistory = "in_history";
inline constexpr const char* kListLength = "list_length";            // items in the list's first K (count)
inline constexpr const char* kIllegalPerItem = "illegal_per_item";   // (repeat + non_exist + in_history) / list_length; empty lists not counted
inline constexpr const char* kTcp = "tcp";                     // items of the list in C (count)
inline constexpr const char* kTcpPct = "tcp_pct";              // target-category proportion, %
inline constexpr const char* kCpa = "cpa";                     // category-proportion accuracy
inline constexpr const char* kCpaPct = "cpa_pct";              // the same in %
inline constexpr const char* kAccuracy = "accuracy";           // MMLU / GSM8K
}  // namespace metric_name

// The paper's row order: SASRec, MostPop, Zero-shot, PALR, Ours_v1, Ours_v2, Ours_v3, Ours_full.
const std::vector<std::string>& paperVariantOrder();
// "sasrec" -> "SASRec", "v1" -> "Ours_v1", ...; unknown names are returned unchanged.
std::string variantDisplayName(const std::string& variant);

// ---- Tables ----------------------------------------------------------------------------------

// One evaluation result as stored (run store eval_results row).
struct EvalRow {
    int64_t run_id = 0;
    std::string variant;
    std::string task;
    std::string metric;
    double value = 0.0;
    long n = 0;           // samples averaged
    double std_error = 0.0;  // standard error of the mean (0 = unknown)
};

// The per-unit values behind one evaluation result: the unit is one test prompt (a user of one
// task); `users[i]` answered with `values[i]`. Paired tests match two variants' units by user
// within a run (same seed, same prompts).
struct EvalUnits {
    int64_t run_id = 0;
    std::string variant;
    std::string task;
    std::string metric;
    std::vector<int64_t> users;
    std::vector<double> values;
};

struct TableColumn {
    std::string name;    // header text, e.g. "HR@10"
    std::string group;   // spanning header, e.g. "+C" ("" = none)
    std::string task;    // where the cell values come from
    std::string metric;
    bool lower_is_better = false;
    bool ranked = true;  // false: no best/second marking (e.g. TCP under a proportion target)
    int digits = 4;      // decimals shown
    double scale = 1.0;  // shown value = stored value x scale (fractions shown as %)
};

struct TableCell {
    double value = 0.0;      // a run's value, or the mean over a seed group's runs
    long n = 0;              // units (prompts) behind the value, summed over the runs
    double std_error = 0.0;  // per-unit standard error (a group: of the mean of its runs' means)
    bool missing = true;
    int seeds = 1;           // runs averaged (a seed group's runs that have the value)
    double std_dev = 0.0;    // sample std (n - 1) across those runs (0 with one run)
    bool significant = false;  // differs from the row its significance pair names (see Table::tests)
};

struct TableRow {
    std::string name;     // display name, e.g. "Ours_full" or "Ours_full (run 3)"
    std::string variant;  // stored variant name
    int64_t run_id = 0;   // the run (a group's row: its first run)
    int64_t group_id = 0; // the seed group aggregated in this row (0 = one run)
    std::vector<int64_t> runs;  // the runs behind the row
    std::vector<TableCell> cells;  // one per column
};

// One paired comparison of two rows of a table in one column (see addSignificance).
struct PairedTest {
    size_t row_a = 0, row_b = 0;  // rows of the table (a is tested against b)
    size_t column = 0;
    long units = 0;               // paired (seed, user) units
    int strata = 0;               // seeds (runs) contributing units
    double mean_diff = 0.0;       // mean of a - b over the units, in displayed units (x scale)
    double ci_low = 0.0, ci_high = 0.0;  // paired bootstrap 95 % percentile interval
    double p_bootstrap = 1.0;     // two-sided bootstrap p (the interval's test)
    double p_wilcoxon = 1.0;      // Wilcoxon signed-rank, two-sided
    double p_bootstrap_holm = 1.0, p_wilcoxon_holm = 1.0;  // Holm-adjusted over the table's tests
    bool significant = false;     // p_bootstrap_holm <= alpha
};

struct Table {
    std::string id;      // "i0", "i1", "i2", "format"
    std::string title;   // caption
    std::vector<TableColumn> columns;
    std::vector<TableRow> rows;
    std::vector<PairedTest> tests;  // addSignificance's results (empty = not tested)
    std::string tests_note;         // what the † marks mean (the LaTeX caption adds it)
};

enum class TableKind { I0, I1, I2, Format };
enum class ExportFormat { Csv, Latex, Markdown };

struct TableOptions {
    int k = 10;  // K printed in the headers ("HR@10"): the experiment's evaluation.topk
    // Label rows with their run when the rows come from several runs ("Ours_v2 (run 7)").
    // Automatically on when more than one run id occurs.
    bool always_label_runs = false;
    std::vector<std::pair<int64_t, std::string>> run_labels;  // run id -> label (default "run N")
    // Seed groups: run id -> group id. Runs of one group become one row per variant with the mean
    // and sample std across the runs (unless per_seed); runs not listed stay rows of their own.
    std::vector<std::pair<int64_t, int64_t>> run_groups;
    std::vector<std::pair<int64_t, std::string>> group_labels;  // group id -> label (default "group N")
    bool per_seed = false;  // one row per run even within a group
};

struct ExportOptions {
    bool with_stderr = false;  // append "± se" (LaTeX $\pm$) where a standard error is known
};

// "i0" | "i1" | "i2" | "format" -> kind; false when unknown.
bool parseTableKind(const std::string& text, TableKind* kind);
const char* tableKindName(TableKind kind);
std::vector<TableKind> allTableKinds();

// Lays evaluation rows out as one of the paper's tables: rows = (run, variant) in paper order
// (unknown variants after, alphabetically; rows with every cell missing are dropped), columns =
// metrics. The Format table gains MMLU / GSM8K columns only when such results exist. If a
// (run, variant, task, metric) occurs twice the last one wins.
Table buildTable(TableKind kind, const std::vector<EvalRow>& rows, const TableOptions& options = {});

// ---- Significance (defined once; the CLI and the GUI call these) -----------------------------
// For a pair of variants (a, b) of the same run or seed group, the unit is a (seed, user) pair:
// both variants answered the same prompt. Per column: the paired bootstrap 95 % interval of the
// mean difference (resamples of users with replacement, stratified by seed), its two-sided p,
// and the Wilcoxon signed-rank p beside it; significance = the bootstrap p after a Holm
// correction over every test of one table <= alpha.
struct SignificanceOptions {
    std::vector<std::pair<std::string, std::string>> pairs = {{"full", "v2"}, {"v2", "v1"}};
    // Also test each recipe row (VariantRecipe) against what it adds to: a +cd row against the
    // same row decoded freely, any other (full_grpo, dpo, ...) against v2.
    bool recipe_pairs = true;
    int resamples = 10000;
    double alpha = 0.05;
    uint64_t seed = 0;  // of the bootstrap's generator (results are reproducible)
};

struct BootstrapResult {
    double mean = 0.0;  // pooled mean over every unit
    double low = 0.0, high = 0.0;
    double p = 1.0;     // two-sided: 2 min(P*(m <= 0), P*(m >= 0)) with (1 + count) / (1 + B), capped at 1
};
// Differences grouped by stratum (seed); each resample draws every stratum's units with
// replacement, as many as it has, and takes the pooled mean.
BootstrapResult pairedBootstrap(const std::vector<std::vector<double>>& strata, int resamples, uint64_t seed);
// Two-sided Wilcoxon signed-rank p (zeros dropped, average ranks for ties; exact null
// distribution for <= 50 non-zero differences without ties, else the normal approximation with
// the tie correction and no continuity correction, as scipy.stats.wilcoxon's defaults). 1 when
// every difference is 0.
double wilcoxonSignedRankP(const std::vector<double>& diffs);
// Holm's step-down adjusted p-values, in the input order.
std::vector<double> holmAdjust(const std::vector<double>& p);
// Tests every configured pair present in the table (rows of the same run or group) in every
// column with units, fills table.tests, marks the cells of `a` significant, and sets tests_note.
void addSignificance(Table& table, const std::vector<EvalUnits>& units, const SignificanceOptions& options = {});
// The tests as a table of their own text (CSV / LaTeX / Markdown): pair, column, units, mean
// difference, 95 % interval, p (bootstrap, Wilcoxon, both Holm-adjusted), significant.
std::string exportTests(const Table& table, ExportFormat format);

// Row indices holding the best / second-best value of column `col` (ties share a place;
// compared at the displayed precision; empty for unranked columns or with < 2 values for second).
struct ColumnRanking {
    std::vector<size_t> best;
    std::vector<size_t> second;
};
ColumnRanking rankColumn(const Table& table, size_t col);

// The cell text as shown (fixed decimals; "" when missing; "mean ± std" for a cell averaged
// over several seeds; with_stderr appends the per-unit standard error, "± se" for a single run
// and " [se x]" for a group).
std::string formatCell(const TableCell& cell, const TableColumn& column, bool with_stderr = false);

// Export. CSV: header "method,<columns>", values at the displayed precision, empty when
// missing, grouped columns named "<group> <name>"; when some row averages several seeds, a
// "seeds" column after the method and a "<column> std" column after each value. LaTeX: booktabs tabular inside a table
// environment, best per ranked column \textbf, second \underline, "--" when missing, $^\dagger$
// on significant cells with the test named in the caption.
// Markdown: GitHub pipe table, best **bold**, second <u>underlined</u>. The CLI and the GUI both
// call these, so their exports are identical.
std::string exportTable(const Table& table, ExportFormat format, const ExportOptions& options = {});
// Several tables one after another (blank line between; CSV tables preceded by "# <title>").
std::string exportTables(const std::vector<Table>& tables, ExportFormat format,
                         const ExportOptions& options = {});

}  // namespace recalign::core
