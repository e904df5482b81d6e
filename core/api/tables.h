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
    double value = 0.0;
    long n = 0;
    double std_error = 0.0;
    bool missing = true;
};

struct TableRow {
    std::string name;     // display name, e.g. "Ours_full" or "Ours_full (run 3)"
    std::string variant;  // stored variant name
    int64_t run_id = 0;
    std::vector<TableCell> cells;  // one per column
};

struct Table {
    std::string id;      // "i0", "i1", "i2", "format"
    std::string title;   // caption
    std::vector<TableColumn> columns;
    std::vector<TableRow> rows;
};

enum class TableKind { I0, I1, I2, Format };
enum class ExportFormat { Csv, Latex, Markdown };

struct TableOptions {
    int k = 10;  // K printed in the headers ("HR@10"): the experiment's evaluation.topk
    // Label rows with their run when the rows come from several runs ("Ours_v2 (run 7)").
    // Automatically on when more than one run id occurs.
    bool always_label_runs = false;
    std::vector<std::pair<int64_t, std::string>> run_labels;  // run id -> label (default "run N")
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

// Row indices holding the best / second-best value of column `col` (ties share a place;
// compared at the displayed precision; empty for unranked columns or with < 2 values for second).
struct ColumnRanking {
    std::vector<size_t> best;
    std::vector<size_t> second;
};
ColumnRanking rankColumn(const Table& table, size_t col);

// The cell text as shown (fixed decimals; "" when missing).
std::string formatCell(const TableCell& cell, const TableColumn& column, bool with_stderr = false);

// Export. CSV: header "method,<columns>", values at the displayed precision, empty when
// missing, grouped columns named "<group> <name>". LaTeX: booktabs tabular inside a table
// environment, best per ranked column \textbf, second \underline, "--" when missing.
// Markdown: GitHub pipe table, best **bold**, second <u>underlined</u>. The CLI and the GUI both
// call these, so their exports are identical.
std::string exportTable(const Table& table, ExportFormat format, const ExportOptions& options = {});
// Several tables one after another (blank line between; CSV tables preceded by "# <title>").
std::string exportTables(const std::vector<Table>& tables, ExportFormat format,
                         const ExportOptions& options = {});

}  // namespace recalign::core
