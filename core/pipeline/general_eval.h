// General-ability evaluation (the paper's MMLU / GSM8K columns): loaders for MMLU-style CSV and
// GSM8K-style JSON lines, the k-shot prompts, MMLU scoring by the log-likelihood of each answer
// letter, GSM8K greedy generation with final-number exact match. Torch-free header.
#pragma once

#include "core/api/experiment.h"
#include "core/api/observer.h"
#include "core/api/store_api.h"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace recalign::core {
class Tokenizer;
namespace llm {
class LlamaModelImpl;
}

// ---- Files ------------------------------------------------------------------------------------

struct MmluQuestion {
    std::string question;
    std::array<std::string, 4> choices; // A, B, C, D
    int answer = 0;                     // 0..3 (A..D)
    int line = 0;                       // 1-based line where the row starts
    std::string subject;                // "abstract_algebra" (from SUBJECT_test.csv / _dev.csv); "" = unknown
};

struct Gsm8kProblem {
    std::string question;
    std::string answer;    // the worked answer, ending "#### N"
    std::string reference; // N normalised (normalizeNumber)
    int line = 0;
};

// MMLU-style CSV (RFC 4180: quoted fields may hold commas, "" and newlines; CRLF or LF): rows
// question, A, B, C, D, answer (a letter A-D, any case). A first row reading
// question,A,B,C,D,answer (any case) is a header and skipped; blank lines are skipped. Throws
// CoreException(DataLoad) naming file:line and what was expected: wrong column count, bad answer
// letter, empty question, unterminated quote, text after a closing quote, no rows, unreadable file.
std::vector<MmluQuestion> loadMmlu(const std::string& path);
std::vector<MmluQuestion> parseMmlu(const std::string& text, const std::string& name);

// One MMLU subject: its rows, the first k (evaluation.mmlu_k_shot) being the k-shot examples.
struct MmluSubject {
    std::string name;                // "abstract_algebra"; a single file: its name without .csv
    std::vector<MmluQuestion> rows;  // the examples, then the questions scored
};
// `path` a file: one subject whose first k rows are the examples (as before). `path` a folder in
// MMLU's published layout (test/SUBJECT_test.csv with dev/SUBJECT_dev.csv, or both kinds in the
// folder itself): one subject per test file, sorted by name, its examples the first k rows of
// its dev file (the MMLU paper's 5-shot prompts). Throws DataLoad naming the folder or file when
// no test file, or a test file's dev file, is found; InvalidConfig when a dev file has fewer than
// k rows. `files`: every file read, in order (for the stage hash).
std::vector<MmluSubject> loadMmluSubjects(const std::string& path, int kShot, std::vector<std::string>* files = nullptr);

// GSM8K-style JSON lines: one object per non-blank line with string fields "question" and
// "answer"; the reference is the number after the answer's last "####" (commas removed). Throws
// CoreException(DataLoad) naming file:line and the key (missing, not a string, no "#### N").
std::vector<Gsm8kProblem> loadGsm8k(const std::string& path);
std::vector<Gsm8kProblem> parseGsm8k(const std::string& text, const std::string& name);

// ---- Answers ----------------------------------------------------------------------------------

// "1,234" -> "1234", "+5" -> "5", "12.0" / "12." / "12.50" -> "12" / "12" / "12.5", "-0" -> "0".
std::string normalizeNumber(std::string_view number);
// Every number in `text` in order, as written ("-3", "1,234.5"): an optional sign (not after a
// letter or digit), digits with thousands commas, an optional fractional part. A sentence's
// final "." is not part of the number.
std::vector<std::string> findNumbers(std::string_view text);

struct ExtractedAnswer {
    std::string value;  // normalised; "" when the text holds no number
    std::string source; // "####" | "last_number" | "none"
};
// The number after the last "####" when there is one, else the last number in the text.
ExtractedAnswer extractGsm8kAnswer(std::string_view text);
// The text up to the first "\n\nQuestion:" (the model starting the next problem).
std::string cutAtNextQuestion(std::string_view text);
// Exact match of the extracted answer with a (normalised) reference.
bool gsm8kCorrect(std::string_view generation, const std::string& reference);

// ---- Prompts ----------------------------------------------------------------------------------

// "The following are multiple choice questions (with answers) about abstract algebra.\n\n" (the
// MMLU paper's header, with one space where its evaluate.py prints two; without " about ..." when
// the subject is unknown).
std::string mmluHeader(const std::string& subject);
inline constexpr const char* kGsm8kStop = "\n\nQuestion:";

// "Q\nA. ..\nB. ..\nC. ..\nD. ..\nAnswer:" plus " X\n\n" when `withAnswer` (the MMLU paper's format).
std::string mmluBlock(const MmluQuestion& q, bool withAnswer);
// Header (of the question's subject), every example with its answer, then the question ending "Answer:".
std::string mmluPromptText(const std::vector<MmluQuestion>& examples, const MmluQuestion& q);
// "Question: ...\nAnswer: <full answer>\n\n" per example, then "Question: <q>\nAnswer:".
std::string gsm8kPromptText(const std::vector<Gsm8kProblem>& examples, const Gsm8kProblem& p);

struct GeneralPrompt {
    std::vector<int32_t> tokens; // BOS first (when the tokenizer has one)
    int shots = 0;               // examples kept
    bool truncated = false;      // even zero-shot did not fit: cut on the left (BOS kept)
};
// The prompt's tokens within `budget` tokens: all examples when they fit, else the examples
// nearest the question (the earliest are dropped first), else the question alone cut on the left.
GeneralPrompt fitMmluPrompt(const Tokenizer& tokenizer, const std::vector<MmluQuestion>& examples,
                            const MmluQuestion& q, int64_t budget);
GeneralPrompt fitGsm8kPrompt(const Tokenizer& tokenizer, const std::vector<Gsm8kProblem>& examples,
                             const Gsm8kProblem& p, int64_t budget);

// The tokens of the continuations " A" .. " D" after a prompt ending "Answer:": each is
// encode("Answer: X") minus encode("Answer:") (sentencepiece may split " A" into two pieces).
std::array<std::vector<int32_t>, 4> mmluLetterTokens(const Tokenizer& tokenizer);

// ---- Evaluation -------------------------------------------------------------------------------

struct GeneralEvalOptions {
    // The experiment's evaluation section as it is: mmlu_k_shot / gsm8k_k_shot (the file's first k
    // rows are the examples, not scored), general_limit (questions scored per task after the
    // examples, 0 = all), batch (prompts per forward / generation call), gsm8k_max_new_tokens
    // (capped at the model's max_seq_len).
    EvaluationConfig eval = defaultExperiment().evaluation;
    int64_t max_seq_len = 0;  // context the prompts must fit (0 = the model's max_seq_len)
    long samples_kept = 8;    // sample rows kept per task for the inspector
    uint64_t seed = 0;
    std::string stage; // progress records' stage (e.g. "eval_v2"); "" = no progress
};

struct MmluOutcome {
    size_t index = 0;               // row in the file's question list
    int answer = 0;                 // 0..3
    int predicted = 0;              // argmax of loglik (first on ties)
    std::array<double, 4> loglik{}; // log p(" X" | prompt), summed over the letter's tokens
    GeneralPrompt prompt;
};

struct Gsm8kOutcome {
    size_t index = 0;
    std::string output; // the generation, cut at "\n\nQuestion:"
    ExtractedAnswer extracted;
    bool correct = false;
    GeneralPrompt prompt;
};

struct AccuracyStat {
    long n = 0;
    long correct = 0;
    double accuracy = 0.0;  // correct / n
    double std_error = 0.0; // sqrt(p (1 - p) / n)
};
AccuracyStat accuracyStat(long correct, long n);

// MMLU with the model's active adapter: one batched forward over the prompts, the next-token
// log-probabilities of each letter's first token, teacher forcing over the rest of a letter's
// tokens (KV cache, no second pass over the prompt). Throws InvalidConfig when k leaves no
// question to score, Cancelled when the observer asks to stop.
std::vector<MmluOutcome> evaluateMmlu(llm::LlamaModelImpl& model, const Tokenizer& tokenizer,
                                      const std::vector<MmluQuestion>& questions,
                                      const GeneralEvalOptions& options, Observer* observer = nullptr);
// GSM8K: batched greedy generation, stopping at EOS or "\n\nQuestion:".
std::vector<Gsm8kOutcome> evaluateGsm8k(llm::LlamaModelImpl& model, const Tokenizer& tokenizer,
                                        const std::vector<Gsm8kProblem>& problems,
                                        const GeneralEvalOptions& options, Observer* observer = nullptr);

// The files an experiment names (either may be empty = not evaluated).
struct GeneralSuite {
    std::vector<MmluSubject> mmlu;
    std::vector<Gsm8kProblem> gsm8k;
    bool empty() const { return mmlu.empty() && gsm8k.empty(); }
};

struct GeneralEvalResult {
    std::vector<EvalRecord> records;   // task mmlu / gsm8k, metric accuracy; run_id 0
    std::vector<SampleRecord> samples; // stage "eval", task mmlu / gsm8k
};

// Both evaluations as store rows for `variant`: accuracy (0..1), n and standard error per task —
// MMLU's the macro average over its subjects (the MMLU paper's average; standard error
// sqrt(sum of the subjects' squared errors) / subjects), each subject also as task
// "mmlu/SUBJECT" when there are several —, the prompts shortened to fit the context (fewer than
// k examples, or the text cut) as metric prompts_truncated (n = prompts), and the first samples_kept samples per task (prompt, output, details_json with the per-choice
// log-likelihoods or the extracted number).
GeneralEvalResult evaluateGeneralAbility(const std::string& variant, llm::LlamaModelImpl& model,
                                         const Tokenizer& tokenizer, const GeneralSuite& suite,
                                         const GeneralEvalOptions& options, Observer& observer);

} // namespace recalign::core
