// General-ability evaluation: MMLU-style CSV / GSM8K-style JSON-lines loaders, k-shot prompts,
// MMLU letter log-likelihood scoring over a KV cache, GSM8K greedy generation and exact match.
#include "core/pipeline/general_eval.h"

#include "core/api/error.h"
#include "core/api/tables.h"
#include "core/llm/generation.h"
#include "core/llm/llama_model.h"
#include "core/tokenizer/tokenizer.h"
#include "core/util/csv.h"
#include "core/util/files.h"
#include "core/util/strings.h"
#include "core/util/json_text.h"

#include <nlohmann/json.hpp>

#include <torch/types.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>

namespace recalign::core {

namespace general_eval_detail {

[[noreturn]] void failAt(const std::string& name, int line, const std::string& what)
{
    const std::string where = name + ":" + std::to_string(line);
    throw CoreException(ErrorCode::DataLoad, where + ": " + what, where);
}

struct CsvRow {
    std::vector<std::string> fields;
    int line = 0; // where the row starts
};

// RFC 4180 (core/util/csv.h): records end at LF, CRLF or a lone CR; a quoted field may hold
// commas, line breaks (CRLF reads as LF) and "" (one quote), and nothing may follow its closing
// quote but a comma or the end of the row. A UTF-8 byte-order mark is skipped; blank rows too.
std::vector<CsvRow> parseCsv(const std::string& text, const std::string& name)
{
    std::vector<CsvRow> rows;
    const std::string_view all(text);
    size_t i = all.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
    int line = 1;  // of the next physical line
    int start = line;  // of the record being read
    CsvRecordParser parser;
    while (i < all.size()) {
        size_t end = i;
        while (end < all.size() && all[end] != '\n' && all[end] != '\r')
            ++end;
        const bool loneCr = end < all.size() && all[end] == '\r' && !(end + 1 < all.size() && all[end + 1] == '\n');
        const bool complete = parser.addLine(all.substr(i, end - i), loneCr ? "\r" : "\n");
        i = end == all.size() ? end : end + (loneCr || all[end] == '\n' ? 1 : 2);
        ++line;
        if (parser.strayLine() >= 0)
            failAt(name, start + parser.strayLine(),
                   std::string("unexpected '") + parser.strayChar() +
                       "' after a closing quote (expected ',' or the end of the row; a quote "
                       "inside a quoted field is written \"\")");
        if (!complete)
            continue;
        if (!parser.blank())
            rows.push_back({std::move(parser.fields()), start});
        parser.reset();
        start = line;
    }
    if (parser.lines() > 0)
        failAt(name, start + parser.openQuoteLine(),
               "unterminated quoted field (expected a closing '\"' before the end of the file)");
    return rows;
}

bool isMmluHeader(const CsvRow& row)
{
    static const char* kNames[] = {"question", "a", "b", "c", "d", "answer"};
    if (row.fields.size() != 6)
        return false;
    for (size_t i = 0; i < 6; ++i)
        if (str::toLower(str::trim(row.fields[i])) != kNames[i])
            return false;
    return true;
}

bool isDigit(char c)
{
    return c >= '0' && c <= '9';
}
bool isAlnum(char c)
{
    return isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// A prompt within `budget` tokens: as many of the examples nearest the question as fit.
template <typename T, typename Render>
GeneralPrompt fitPrompt(const Tokenizer& tokenizer, const std::vector<T>& examples, const T& item,
                        int64_t budget, Render render)
{
    if (budget < 2)
        throw CoreException(ErrorCode::InvalidConfig, "general evaluation: a context of " +
                                                          std::to_string(budget) +
                                                          " tokens leaves no room for a prompt");
    auto withBos = [&](std::vector<int32_t> body) {
        std::vector<int32_t> t;
        if (tokenizer.bosId() >= 0)
            t.push_back(tokenizer.bosId());
        t.insert(t.end(), body.begin(), body.end());
        return t;
    };
    GeneralPrompt p;
    for (int shots = static_cast<int>(examples.size()); shots >= 0; --shots) {
        const std::vector<T> kept(examples.end() - shots, examples.end());
        std::vector<int32_t> body = tokenizer.encode(render(kept, item));
        if (static_cast<int64_t>(body.size()) + (tokenizer.bosId() >= 0 ? 1 : 0) <= budget) {
            p.tokens = withBos(std::move(body));
            p.shots = shots;
            return p;
        }
        if (shots == 0) {
            const int64_t keep = budget - (tokenizer.bosId() >= 0 ? 1 : 0);
            p.tokens = withBos(std::vector<int32_t>(body.end() - keep, body.end()));
            p.truncated = true;
        }
    }
    return p;
}

// The prompt as text for the inspector (the decoded tokens when it was cut).
template <typename T, typename Render>
std::string promptText(const Tokenizer& tokenizer, const std::vector<T>& examples, const T& item,
                       const GeneralPrompt& p, Render render)
{
    if (p.truncated)
        return tokenizer.decode(p.tokens);
    const std::vector<T> kept(examples.end() - p.shots, examples.end());
    return render(kept, item);
}

struct EvalModeScope {
    explicit EvalModeScope(llm::LlamaModelImpl& model) : m(model), was(model.is_training()) { m.eval(); }
    ~EvalModeScope() { m.train(was); }
    llm::LlamaModelImpl& m;
    bool was;
};

int64_t contextLength(const llm::LlamaModelImpl& model, const GeneralEvalOptions& o)
{
    return o.max_seq_len > 0 ? o.max_seq_len : static_cast<int64_t>(model.config().max_seq_len);
}

double epochSeconds()
{
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void reportGeneralProgress(Observer* observer, const GeneralEvalOptions& o, const char* metric, long done,
                           long total)
{
    if (!observer || o.stage.empty())
        return;
    StepRecord r;
    r.stage = o.stage;
    r.step = done;
    r.total_steps = total;
    r.wall_time = epochSeconds();
    r.metrics = {{metric, static_cast<double>(done)}};
    observer->onStep(r);
}

void checkStop(Observer* observer, const char* what)
{
    if (observer && observer->stopRequested())
        throw CoreException(ErrorCode::Cancelled, std::string(what) + " evaluation cancelled");
}

// [first, end) of the scored rows: after the k examples, at most `limit`.
std::pair<size_t, size_t> scoredRange(size_t rows, int k, long limit, const char* task, const char* key)
{
    const size_t first = static_cast<size_t>(std::max(0, k));
    if (rows <= first)
        throw CoreException(ErrorCode::InvalidConfig,
                            std::string(task) + ": the file has " + std::to_string(rows) + " rows and " +
                                key + " is " + std::to_string(k) +
                                "; the first k rows are the examples, so none is left to score",
                            std::string("evaluation.") + key);
    size_t end = rows;
    if (limit > 0)
        end = std::min(end, first + static_cast<size_t>(limit));
    return {first, end};
}

const char kLetters[4] = {'A', 'B', 'C', 'D'};

} // namespace general_eval_detail

// ---- Files ------------------------------------------------------------------------------------

std::vector<MmluQuestion> parseMmlu(const std::string& text, const std::string& name)
{
    if (const int bad = str::firstInvalidUtf8Line(text))
        general_eval_detail::failAt(name, bad, "invalid UTF-8 (MMLU files are UTF-8 CSV)");
    const std::vector<general_eval_detail::CsvRow> rows = general_eval_detail::parseCsv(text, name);
    std::vector<MmluQuestion> out;
    for (size_t r = 0; r < rows.size(); ++r) {
        const general_eval_detail::CsvRow& row = rows[r];
        if (r == 0 && general_eval_detail::isMmluHeader(row))
            continue;
        if (row.fields.size() != 6)
            general_eval_detail::failAt(name, row.line,
                                        "expected 6 columns (question,A,B,C,D,answer), found " +
                                            std::to_string(row.fields.size()));
        MmluQuestion q;
        q.line = row.line;
        q.question = str::trim(row.fields[0]);
        if (q.question.empty())
            general_eval_detail::failAt(name, row.line,
                                        "column 'question' is empty (expected the question text)");
        for (size_t c = 0; c < 4; ++c)
            q.choices[c] = str::trim(row.fields[c + 1]);
        const std::string answer = str::trim(row.fields[5]);
        const char letter =
            answer.size() == 1 ? static_cast<char>(std::toupper(static_cast<unsigned char>(answer[0]))) : 0;
        if (letter < 'A' || letter > 'D')
            general_eval_detail::failAt(name, row.line,
                                        "column 'answer': expected a letter A-D, found '" + answer + "'");
        q.answer = letter - 'A';
        out.push_back(std::move(q));
    }
    if (out.empty())
        throw CoreException(ErrorCode::DataLoad,
                            name + ": no questions (expected CSV rows question,A,B,C,D,answer)", name);
    return out;
}

std::vector<MmluQuestion> loadMmlu(const std::string& path)
{
    return parseMmlu(readFile(path, ErrorCode::DataLoad, "the MMLU file"), path);
}

std::vector<MmluSubject> loadMmluSubjects(const std::string& path, int kShot, std::vector<std::string>* files)
{
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::is_directory(path, ec)) {
        if (files)
            files->push_back(path);
        // A file named as MMLU's (SUBJECT_test.csv / SUBJECT_dev.csv) names its subject for the header.
        MmluSubject one{fs::path(path).stem().string(), loadMmlu(path)};
        for (const char* suffix : {"_test", "_dev"})
            if (str::endsWith(one.name, suffix))
                for (MmluQuestion& q : one.rows)
                    q.subject = one.name.substr(0, one.name.size() - std::string(suffix).size());
        return {std::move(one)};
    }
    std::map<std::string, std::string> tests, devs;  // subject -> file
    for (const fs::path& dir : {fs::path(path), fs::path(path) / "test", fs::path(path) / "dev"}) {
        if (!fs::is_directory(dir, ec))
            continue;
        for (const auto& e : fs::directory_iterator(dir, ec)) {
            const std::string n = e.path().filename().string();
            if (str::endsWith(n, "_test.csv"))
                tests[n.substr(0, n.size() - 9)] = e.path().string();
            else if (str::endsWith(n, "_dev.csv"))
                devs[n.substr(0, n.size() - 8)] = e.path().string();
        }
    }
    if (tests.empty())
        throw CoreException(ErrorCode::DataLoad,
                            path + ": expected MMLU subject files SUBJECT_test.csv (in the folder or its test/ folder, "
                                   "with SUBJECT_dev.csv beside them or in dev/), found none",
                            path);
    std::vector<MmluSubject> out;
    for (const auto& [subject, testFile] : tests) {
        const auto dev = devs.find(subject);
        if (dev == devs.end())
            throw CoreException(ErrorCode::DataLoad,
                                testFile + ": expected its k-shot examples in " + subject
                                    + "_dev.csv (beside it or in the dev/ folder, as MMLU is published), found none",
                                testFile);
        MmluSubject s;
        s.name = subject;
        const std::vector<MmluQuestion> examples = loadMmlu(dev->second);
        if (examples.size() < static_cast<size_t>(std::max(0, kShot)))
            throw CoreException(ErrorCode::InvalidConfig,
                                "evaluation.mmlu_k_shot: " + std::to_string(kShot) + " examples, but " + dev->second + " holds "
                                    + std::to_string(examples.size()),
                                "evaluation.mmlu_k_shot");
        s.rows.assign(examples.begin(), examples.begin() + std::max(0, kShot));
        const std::vector<MmluQuestion> questions = loadMmlu(testFile);
        s.rows.insert(s.rows.end(), questions.begin(), questions.end());
        for (MmluQuestion& q : s.rows)
            q.subject = subject;
        if (files) {
            files->push_back(dev->second);
            files->push_back(testFile);
        }
        out.push_back(std::move(s));
    }
    return out;
}

std::vector<Gsm8kProblem> parseGsm8k(const std::string& text, const std::string& name)
{
    if (const int bad = str::firstInvalidUtf8Line(text))
        general_eval_detail::failAt(name, bad, "invalid UTF-8 (GSM8K files are UTF-8 JSON lines)");
    std::vector<Gsm8kProblem> out;
    int line = 0;
    size_t pos = text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
    while (pos < text.size()) {
        size_t eol = text.find('\n', pos);
        if (eol == std::string::npos)
            eol = text.size();
        std::string row = text.substr(pos, eol - pos);
        pos = eol + 1;
        ++line;
        if (str::trim(row).empty())
            continue;
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(row);
        } catch (const nlohmann::json::exception& e) {
            general_eval_detail::failAt(
                name, line,
                std::string(
                    "not valid JSON (expected an object with string keys 'question' and 'answer'): ") +
                    e.what());
        }
        if (!j.is_object())
            general_eval_detail::failAt(name, line,
                                        "expected a JSON object with string keys 'question' and 'answer'");
        auto field = [&](const char* key) {
            const auto it = j.find(key);
            if (it == j.end())
                general_eval_detail::failAt(name, line,
                                            std::string("key '") + key + "' is missing (expected a string)");
            if (!it->is_string())
                general_eval_detail::failAt(name, line,
                                            std::string("key '") + key + "': expected a string, found " +
                                                it->type_name());
            return it->get<std::string>();
        };
        Gsm8kProblem p;
        p.line = line;
        p.question = field("question");
        p.answer = field("answer");
        const size_t mark = p.answer.rfind("####");
        if (mark == std::string::npos)
            general_eval_detail::failAt(
                name, line, "key 'answer': expected the final answer after '####' (e.g. '#### 42')");
        const auto numbers = findNumbers(std::string_view(p.answer).substr(mark + 4));
        if (numbers.empty())
            general_eval_detail::failAt(
                name, line, "key 'answer': expected a number after the last '####' (e.g. '#### 42')");
        p.reference = normalizeNumber(numbers.front());
        out.push_back(std::move(p));
    }
    if (out.empty())
        throw CoreException(
            ErrorCode::DataLoad,
            name + ": no problems (expected JSON lines {\"question\": ..., \"answer\": \"... #### N\"})",
            name);
    return out;
}

std::vector<Gsm8kProblem> loadGsm8k(const std::string& path)
{
    return parseGsm8k(readFile(path, ErrorCode::DataLoad, "the GSM8K file"), path);
}

// ---- Answers ----------------------------------------------------------------------------------

std::string normalizeNumber(std::string_view number)
{
    std::string s;
    for (char c : str::trim(number))
        if (c != ',')
            s += c;
    if (!s.empty() && s[0] == '+')
        s.erase(0, 1);
    if (s.find('.') != std::string::npos) {
        while (!s.empty() && s.back() == '0')
            s.pop_back();
        if (!s.empty() && s.back() == '.')
            s.pop_back();
    }
    if (s == "-0" || s == "-")
        s = "0";
    return s;
}

std::vector<std::string> findNumbers(std::string_view t)
{
    std::vector<std::string> out;
    const size_t n = t.size();
    for (size_t i = 0; i < n;) {
        const bool signedStart = (t[i] == '-' || t[i] == '+') && i + 1 < n &&
                                 general_eval_detail::isDigit(t[i + 1]) &&
                                 (i == 0 || !general_eval_detail::isAlnum(t[i - 1]));
        if (!signedStart && !general_eval_detail::isDigit(t[i])) {
            ++i;
            continue;
        }
        size_t j = signedStart ? i + 1 : i;
        while (j < n && general_eval_detail::isDigit(t[j]))
            ++j;
        // Thousands separators: a comma followed by exactly three digits.
        while (j + 3 < n && t[j] == ',' && general_eval_detail::isDigit(t[j + 1]) &&
               general_eval_detail::isDigit(t[j + 2]) && general_eval_detail::isDigit(t[j + 3]) &&
               (j + 4 >= n || !general_eval_detail::isDigit(t[j + 4])))
            j += 4;
        if (j + 1 < n && t[j] == '.' && general_eval_detail::isDigit(t[j + 1])) {
            ++j;
            while (j < n && general_eval_detail::isDigit(t[j]))
                ++j;
        }
        out.emplace_back(t.substr(i, j - i));
        i = j;
    }
    return out;
}

ExtractedAnswer extractGsm8kAnswer(std::string_view text)
{
    const size_t mark = text.rfind("####");
    if (mark != std::string_view::npos) {
        const auto after = findNumbers(text.substr(mark + 4));
        if (!after.empty())
            return {normalizeNumber(after.front()), "####"};
    }
    const auto all = findNumbers(text);
    if (!all.empty())
        return {normalizeNumber(all.back()), "last_number"};
    return {"", "none"};
}

std::string cutAtNextQuestion(std::string_view text)
{
    const size_t pos = text.find(kGsm8kStop);
    return std::string(text.substr(0, pos));
}

bool gsm8kCorrect(std::string_view generation, const std::string& reference)
{
    const ExtractedAnswer e = extractGsm8kAnswer(cutAtNextQuestion(generation));
    return !e.value.empty() && e.value == normalizeNumber(reference);
}

// ---- Prompts ----------------------------------------------------------------------------------

std::string mmluBlock(const MmluQuestion& q, bool withAnswer)
{
    std::string s = q.question;
    for (size_t c = 0; c < 4; ++c)
        s += std::string("\n") + general_eval_detail::kLetters[c] + ". " + q.choices[c];
    s += "\nAnswer:";
    if (withAnswer)
        s += std::string(" ") + general_eval_detail::kLetters[q.answer] + "\n\n";
    return s;
}

std::string mmluHeader(const std::string& subject)
{
    std::string s = "The following are multiple choice questions (with answers)";
    if (!subject.empty()) {
        std::string spaced = subject;
        std::replace(spaced.begin(), spaced.end(), '_', ' ');
        s += " about " + spaced;
    }
    return s + ".\n\n";
}

std::string mmluPromptText(const std::vector<MmluQuestion>& examples, const MmluQuestion& q)
{
    std::string s = mmluHeader(q.subject);
    for (const auto& e : examples)
        s += mmluBlock(e, true);
    return s + mmluBlock(q, false);
}

std::string gsm8kPromptText(const std::vector<Gsm8kProblem>& examples, const Gsm8kProblem& p)
{
    std::string s;
    for (const auto& e : examples)
        s += "Question: " + e.question + "\nAnswer: " + e.answer + "\n\n";
    return s + "Question: " + p.question + "\nAnswer:";
}

GeneralPrompt fitMmluPrompt(const Tokenizer& tokenizer, const std::vector<MmluQuestion>& examples,
                            const MmluQuestion& q, int64_t budget)
{
    return general_eval_detail::fitPrompt(tokenizer, examples, q, budget, mmluPromptText);
}

GeneralPrompt fitGsm8kPrompt(const Tokenizer& tokenizer, const std::vector<Gsm8kProblem>& examples,
                             const Gsm8kProblem& p, int64_t budget)
{
    return general_eval_detail::fitPrompt(tokenizer, examples, p, budget, gsm8kPromptText);
}

std::array<std::vector<int32_t>, 4> mmluLetterTokens(const Tokenizer& tokenizer)
{
    const std::vector<int32_t> context = tokenizer.encode("Answer:");
    std::array<std::vector<int32_t>, 4> out;
    for (size_t c = 0; c < 4; ++c) {
        const std::vector<int32_t> full =
            tokenizer.encode(std::string("Answer: ") + general_eval_detail::kLetters[c]);
        size_t common = 0;
        while (common < context.size() && common < full.size() && context[common] == full[common])
            ++common;
        out[c].assign(full.begin() + static_cast<std::ptrdiff_t>(common), full.end());
        if (out[c].empty())
            throw CoreException(ErrorCode::Internal,
                                std::string("MMLU: the tokenizer gives no tokens for the answer ' ") +
                                    general_eval_detail::kLetters[c] + "'");
    }
    return out;
}

// ---- Evaluation -------------------------------------------------------------------------------

AccuracyStat accuracyStat(long correct, long n)
{
    AccuracyStat s;
    s.n = n;
    s.correct = correct;
    if (n > 0) {
        s.accuracy = static_cast<double>(correct) / static_cast<double>(n);
        s.std_error = std::sqrt(s.accuracy * (1.0 - s.accuracy) / static_cast<double>(n));
    }
    return s;
}

std::vector<MmluOutcome> evaluateMmlu(llm::LlamaModelImpl& model, const Tokenizer& tokenizer,
                                      const std::vector<MmluQuestion>& questions,
                                      const GeneralEvalOptions& options, Observer* observer)
{
    const auto [first, end] = general_eval_detail::scoredRange(questions.size(), options.eval.mmlu_k_shot,
                                                               options.eval.general_limit, "MMLU", "mmlu_k_shot");
    const std::vector<MmluQuestion> examples(questions.begin(),
                                             questions.begin() + static_cast<std::ptrdiff_t>(first));
    const auto letters = mmluLetterTokens(tokenizer);
    int64_t extra = 0; // positions the letters' later tokens need after the prompt
    for (const auto& l : letters)
        extra = std::max<int64_t>(extra, static_cast<int64_t>(l.size()) - 1);
    const int64_t budget = general_eval_detail::contextLength(model, options) - extra;
    const size_t batch = static_cast<size_t>(std::max(1, options.eval.batch));

    general_eval_detail::EvalModeScope evalMode(model);
    c10::InferenceMode inference;
    const auto device = model.embed_tokens->weight.device();
    std::vector<MmluOutcome> out;
    out.reserve(end - first);
    for (size_t b = first; b < end; b += batch) {
        general_eval_detail::checkStop(observer, "MMLU");
        const size_t e = std::min(end, b + batch);
        const int64_t B = static_cast<int64_t>(e - b);
        std::vector<std::vector<int32_t>> prompts;
        for (size_t i = b; i < e; ++i) {
            MmluOutcome o;
            o.index = i;
            o.answer = questions[i].answer;
            o.prompt = fitMmluPrompt(tokenizer, examples, questions[i], budget);
            prompts.push_back(o.prompt.tokens);
            out.push_back(std::move(o));
        }
        auto [tokens, mask] = llm::leftPad(prompts);
        llm::KvCache cache = model.makeCache(B, tokens.size(1) + std::max<int64_t>(extra, 1));
        llm::ForwardOptions last;
        last.outputs_last = 1;
        // (B, V): log p(next token | prompt)
        const torch::Tensor next =
            torch::log_softmax(
                model.forwardCached(tokens.to(device), cache, mask.to(device), last).logits.select(1, 0), -1)
                .to(torch::kCPU)
                .contiguous();
        const int64_t promptSlots = cache.length;
        const std::vector<int64_t> promptPos = cache.next_pos;
        const int64_t V = next.size(1);
        const float* np = next.data_ptr<float>();
        for (size_t c = 0; c < 4; ++c) {
            const std::vector<int32_t>& lt = letters[c];
            for (int64_t r = 0; r < B; ++r)
                out[b - first + static_cast<size_t>(r)].loglik[c] = np[r * V + lt[0]];
            if (lt.size() < 2)
                continue;
            // Teacher forcing over the letter's later tokens from the prompt's cached state.
            cache.length = promptSlots;
            cache.next_pos = promptPos;
            const int64_t T = static_cast<int64_t>(lt.size()) - 1;
            std::vector<int64_t> feed;
            for (int64_t r = 0; r < B; ++r)
                for (int64_t t = 0; t < T; ++t)
                    feed.push_back(lt[static_cast<size_t>(t)]);
            const torch::Tensor in = torch::tensor(feed, torch::kLong).view({B, T}).to(device);
            const torch::Tensor lp =
                torch::log_softmax(model.forwardCached(in, cache).logits, -1).to(torch::kCPU).contiguous();
            const float* lpp = lp.data_ptr<float>();
            for (int64_t r = 0; r < B; ++r)
                for (int64_t t = 0; t < T; ++t)
                    out[b - first + static_cast<size_t>(r)].loglik[c] +=
                        lpp[(r * T + t) * V + lt[static_cast<size_t>(t + 1)]];
        }
        for (size_t i = b; i < e; ++i) {
            MmluOutcome& o = out[i - first];
            o.predicted =
                static_cast<int>(std::max_element(o.loglik.begin(), o.loglik.end()) - o.loglik.begin());
        }
        general_eval_detail::reportGeneralProgress(observer, options, "eval/mmlu_done",
                                                   static_cast<long>(e - first),
                                                   static_cast<long>(end - first));
    }
    return out;
}

std::vector<Gsm8kOutcome> evaluateGsm8k(llm::LlamaModelImpl& model, const Tokenizer& tokenizer,
                                        const std::vector<Gsm8kProblem>& problems,
                                        const GeneralEvalOptions& options, Observer* observer)
{
    const auto [first, end] = general_eval_detail::scoredRange(problems.size(), options.eval.gsm8k_k_shot,
                                                               options.eval.general_limit, "GSM8K", "gsm8k_k_shot");
    const std::vector<Gsm8kProblem> examples(problems.begin(),
                                             problems.begin() + static_cast<std::ptrdiff_t>(first));
    const int64_t context = general_eval_detail::contextLength(model, options);
    const int64_t maxNew = std::max(1, options.eval.gsm8k_max_new_tokens);
    // The prompt gets what generation leaves, but at least half the context.
    const int64_t budget = std::min(context - 1, std::max(context - maxNew, context / 2));
    const size_t batch = static_cast<size_t>(std::max(1, options.eval.batch));
    std::vector<Gsm8kOutcome> out;
    out.reserve(end - first);
    for (size_t b = first; b < end; b += batch) {
        general_eval_detail::checkStop(observer, "GSM8K");
        const size_t e = std::min(end, b + batch);
        std::vector<std::vector<int32_t>> prompts;
        int64_t longest = 0;
        for (size_t i = b; i < e; ++i) {
            Gsm8kOutcome o;
            o.index = i;
            o.prompt = fitGsm8kPrompt(tokenizer, examples, problems[i], budget);
            longest = std::max<int64_t>(longest, static_cast<int64_t>(o.prompt.tokens.size()));
            prompts.push_back(o.prompt.tokens);
            out.push_back(std::move(o));
        }
        llm::GenerationConfig gen;
        gen.temperature = 0.0; // greedy
        gen.max_new_tokens = static_cast<int>(std::max<int64_t>(1, std::min(maxNew, context - longest)));
        gen.stop_strings = {kGsm8kStop};
        gen.seed = options.seed;
        const llm::GenerationResult res = llm::generate(model, prompts, gen, &tokenizer);
        for (size_t i = b; i < e; ++i) {
            Gsm8kOutcome& o = out[i - first];
            std::vector<int32_t> ids = res.tokens[i - b];
            while (!ids.empty() && ids.back() == tokenizer.eosId())
                ids.pop_back();
            o.output = cutAtNextQuestion(tokenizer.decode(ids));
            o.extracted = extractGsm8kAnswer(o.output);
            o.correct = !o.extracted.value.empty() && o.extracted.value == problems[i].reference;
        }
        general_eval_detail::reportGeneralProgress(observer, options, "eval/gsm8k_done",
                                                   static_cast<long>(e - first),
                                                   static_cast<long>(end - first));
    }
    return out;
}

GeneralEvalResult evaluateGeneralAbility(const std::string& variant, llm::LlamaModelImpl& model,
                                         const Tokenizer& tokenizer, const GeneralSuite& suite,
                                         const GeneralEvalOptions& options, Observer& observer)
{
    GeneralEvalResult result;
    auto sample = [&](const char* task, size_t step, std::string prompt, std::string output,
                      const nlohmann::json& d) {
        SampleRecord rec;
        rec.stage = "eval";
        rec.variant = variant;
        rec.task = task;
        rec.step = static_cast<long>(step);
        rec.prompt = std::move(prompt);
        rec.output = std::move(output);
        rec.details_json = jsonText(d);
        result.samples.push_back(std::move(rec));
    };
    if (!suite.mmlu.empty()) {
        // Per subject, then the macro average (each subject weighs the same, as the MMLU paper's
        // average); the kept samples are the first ones of the first subjects.
        double sumAccuracy = 0.0, sumSquaredError = 0.0;
        long n = 0, truncated = 0, kept = 0;
        const auto letters = mmluLetterTokens(tokenizer);
        for (const MmluSubject& subject : suite.mmlu) {
        const auto items = evaluateMmlu(model, tokenizer, subject.rows, options, &observer);
        const std::vector<MmluQuestion> examples(subject.rows.begin(),
                                                 subject.rows.begin() + std::max(0, options.eval.mmlu_k_shot));
        long correct = 0;
        for (const auto& o : items) {
            correct += o.predicted == o.answer ? 1 : 0;
            truncated += o.prompt.truncated || o.prompt.shots < options.eval.mmlu_k_shot ? 1 : 0;
        }
        const AccuracyStat s = accuracyStat(correct, static_cast<long>(items.size()));
        sumAccuracy += s.accuracy;
        sumSquaredError += s.std_error * s.std_error;
        n += s.n;
        if (suite.mmlu.size() > 1)
            result.records.push_back({0, variant, std::string(task_name::kMmlu) + "/" + subject.name, metric_name::kAccuracy,
                                      s.accuracy, s.n, s.std_error});
        for (size_t i = 0; i < items.size() && kept < options.samples_kept; ++i, ++kept) {
            const MmluOutcome& o = items[i];
            const MmluQuestion& q = subject.rows[o.index];
            nlohmann::json d;
            d["task"] = task_name::kMmlu;
            d["subject"] = subject.name;
            d["line"] = q.line;
            d["answer"] = std::string(1, general_eval_detail::kLetters[o.answer]);
            d["predicted"] = std::string(1, general_eval_detail::kLetters[o.predicted]);
            d["correct"] = o.predicted == o.answer;
            d["target"] = std::string(1, general_eval_detail::kLetters[o.answer]) + ". " +
                          q.choices[static_cast<size_t>(o.answer)];
            d["shots"] = o.prompt.shots;
            d["truncated"] = o.prompt.truncated;
            d["prompt_tokens"] = o.prompt.tokens.size();
            d["prompt_ids"] = o.prompt.tokens; // exactly what the model read (BOS first)
            nlohmann::json ll = nlohmann::json::object(), choices = nlohmann::json::array();
            for (size_t c = 0; c < 4; ++c) {
                ll[std::string(1, general_eval_detail::kLetters[c])] = o.loglik[c];
                choices.push_back(
                    {{"title", std::string(1, general_eval_detail::kLetters[c]) + ". " + q.choices[c]},
                     {"is_target", static_cast<int>(c) == o.answer},
                     {"loglik", o.loglik[c]},
                     {"ids", letters[c]}});
            }
            d["loglik"] = ll;
            d["items"] = choices;
            sample(task_name::kMmlu, o.index,
                   general_eval_detail::promptText(tokenizer, examples, q, o.prompt, mmluPromptText),
                   std::string(1, general_eval_detail::kLetters[o.predicted]) + ". " +
                       q.choices[static_cast<size_t>(o.predicted)],
                   d);
        }
        }
        const double subjects = static_cast<double>(suite.mmlu.size());
        result.records.push_back({0, variant, task_name::kMmlu, metric_name::kAccuracy, sumAccuracy / subjects, n,
                                  std::sqrt(sumSquaredError) / subjects});
        result.records.push_back({0, variant, task_name::kMmlu, "prompts_truncated", static_cast<double>(truncated), n, 0.0});
    }
    if (!suite.gsm8k.empty()) {
        const auto items = evaluateGsm8k(model, tokenizer, suite.gsm8k, options, &observer);
        const std::vector<Gsm8kProblem> examples(suite.gsm8k.begin(),
                                                 suite.gsm8k.begin() + std::max(0, options.eval.gsm8k_k_shot));
        long correct = 0, truncated = 0;
        for (const auto& o : items) {
            correct += o.correct ? 1 : 0;
            truncated += o.prompt.truncated || o.prompt.shots < options.eval.gsm8k_k_shot ? 1 : 0;
        }
        const AccuracyStat s = accuracyStat(correct, static_cast<long>(items.size()));
        result.records.push_back(
            {0, variant, task_name::kGsm8k, metric_name::kAccuracy, s.accuracy, s.n, s.std_error});
        result.records.push_back({0, variant, task_name::kGsm8k, "prompts_truncated", static_cast<double>(truncated), s.n, 0.0});
        for (size_t i = 0; i < items.size() && static_cast<long>(i) < options.samples_kept; ++i) {
            const Gsm8kOutcome& o = items[i];
            const Gsm8kProblem& p = suite.gsm8k[o.index];
            nlohmann::json d;
            d["task"] = task_name::kGsm8k;
            d["line"] = p.line;
            d["reference"] = p.reference;
            d["target"] = p.reference;
            d["extracted"] = o.extracted.value;
            d["source"] = o.extracted.source;
            d["correct"] = o.correct;
            d["shots"] = o.prompt.shots;
            d["truncated"] = o.prompt.truncated;
            d["prompt_tokens"] = o.prompt.tokens.size();
            sample(task_name::kGsm8k, o.index,
                   general_eval_detail::promptText(tokenizer, examples, p, o.prompt, gsm8kPromptText),
                   o.output, d);
        }
    }
    return result;
}

} // namespace recalign::core
