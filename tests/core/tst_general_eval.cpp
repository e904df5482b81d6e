// General ability (core/pipeline/general_eval.h): MMLU / GSM8K loaders and error paths, answer
// extraction, k-shot prompts, MMLU scoring on stories260K checked against log-likelihoods recomputed
// here by plain forward passes, and GSM8K generation end to end.
#include "core/api/tables.h"
#include "core/llm/loaders.h"
#include "core/pipeline/general_eval.h"
#include "core/rules/general.h"
#include "core/util/json_text.h"
#include "core/util/strings.h"

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include <QTemporaryDir>
#include <QtTest>

#include <array>
#include <cmath>
#include <map>
#include <filesystem>
#include <set>

using namespace recalign::core;

namespace tst_general_eval_detail {

const std::string kStories = RECALIGN_SHARED_DIR "/models/stories260K/";
const std::string kMmluFixture = RECALIGN_SOURCE_DIR "/tests/fixtures/general/mmlu_tiny.csv";
const std::string kGsm8kFixture = RECALIGN_SOURCE_DIR "/tests/fixtures/general/gsm8k_tiny.jsonl";

// The error a call throws ("" when it does not throw), with its code.
template <typename F> std::string errorOf(F f, ErrorCode* code = nullptr)
{
    try {
        f();
    } catch (const CoreException& e) {
        if (code)
            *code = e.error().code;
        return e.error().message;
    }
    return {};
}

bool contains(const std::string& s, const std::string& part)
{
    return s.find(part) != std::string::npos;
}

std::vector<int32_t> withBos(const Tokenizer& tok, const std::string& text)
{
    std::vector<int32_t> t{tok.bosId()};
    const auto body = tok.encode(text);
    t.insert(t.end(), body.begin(), body.end());
    return t;
}

// log p(continuation | prompt) by one plain forward over prompt + continuation (no cache, no padding).
double plainLogLikelihood(llm::LlamaModelImpl& model, const std::vector<int32_t>& prompt,
                          const std::vector<int32_t>& continuation)
{
    std::vector<int64_t> ids(prompt.begin(), prompt.end());
    ids.insert(ids.end(), continuation.begin(), continuation.end());
    torch::NoGradGuard noGrad;
    const torch::Tensor in = torch::tensor(ids, torch::kLong).view({1, static_cast<int64_t>(ids.size())});
    const torch::Tensor lp = torch::log_softmax(model.forward(in).logits, -1);
    double sum = 0.0;
    for (size_t j = 0; j < continuation.size(); ++j)
        sum += lp[0][static_cast<int64_t>(prompt.size() + j) - 1][continuation[j]].item<double>();
    return sum;
}

class StopAlways : public Observer {
public:
    bool stopRequested() const override { return true; }
};

} // namespace tst_general_eval_detail

using namespace tst_general_eval_detail;

class TstGeneralEval : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void mmluFixtureParsesHeaderQuotesAndLetters();
    void mmluParserFollowsRfc4180();
    void mmluErrorsNameFileLineAndWhatWasExpected();
    void gsm8kFixtureParsesReferencesWithoutCommas();
    void gsm8kErrorsNameFileLineAndKey();
    void invalidUtf8InInputFilesNamesTheLineAndOutputsStayVisible();
    void numbersAreFoundAndNormalised();
    void exactMatchOnHandMadeGenerations();
    void promptsFollowThePapersFormats();
    void promptFittingDropsTheEarliestExamplesThenCutsLeft();
    void kShotExamplesAreNotScoredAndLimitCaps();
    void mmluPredictionIsTheArgmaxOfIndependentLogLikelihoods();
    void mmluScoresDoNotDependOnTheBatch();
    void gsm8kRunsEndToEndWithTheRealModel();
    void generalAbilityRowsAndSamplesForTheStore();
    void mmluFolderGivesOneSubjectPerTestFileWithItsDevShots();
    void stopRequestCancels();

private:
    llm::LoadedModel m_lm;
    std::vector<MmluQuestion> m_mmlu;
    std::vector<Gsm8kProblem> m_gsm8k;
};

void TstGeneralEval::initTestCase()
{
    torch::manual_seed(0);
    m_lm = llm::loadAnyModel(kStories + "stories260K.bin", kStories + "tok512.model");
    QVERIFY(m_lm.tokenizer.isLoaded());
    m_lm.model->eval();
    m_mmlu = loadMmlu(kMmluFixture);
    m_gsm8k = loadGsm8k(kGsm8kFixture);
}

void TstGeneralEval::mmluFixtureParsesHeaderQuotesAndLetters()
{
    QCOMPARE(m_mmlu.size(), size_t(12)); // the header row is not a question
    QCOMPARE(m_mmlu[0].question, std::string("How many legs does a spider have?"));
    QCOMPARE(m_mmlu[0].choices[1], std::string("Eight"));
    QCOMPARE(m_mmlu[0].answer, 1);
    QCOMPARE(m_mmlu[0].line, 2);
    // A quoted field with doubled quotes, and one with commas.
    QCOMPARE(m_mmlu[2].question,
             std::string("Which word completes the saying \"the early bird catches the ___\"?"));
    QCOMPARE(m_mmlu[5].question,
             std::string("A shop sells apples, pears and plums. Which of these is NOT sold there?"));
    QCOMPARE(m_mmlu[3].answer, 2); // lower-case "c"
    QCOMPARE(m_mmlu[11].choices[3], std::string("8"));
    QCOMPARE(m_mmlu[11].line, 13);
}

void TstGeneralEval::mmluParserFollowsRfc4180()
{
    // No header, CRLF rows, a quoted field spanning two lines, a blank line, a BOM, no final newline.
    const std::string text = "\xEF\xBB\xBF"
                             "\"Two\r\nlines, \"\"quoted\"\"\",x,y,z,w,a\r\n"
                             "\r\n"
                             "Plain,1,2,3,4,D";
    const auto q = parseMmlu(text, "mem.csv");
    QCOMPARE(q.size(), size_t(2));
    QCOMPARE(q[0].question, std::string("Two\nlines, \"quoted\""));
    QCOMPARE(q[0].answer, 0);
    QCOMPARE(q[1].line, 4); // rows 1-2, blank line 3
    QCOMPARE(q[1].answer, 3);
    // An empty choice is allowed.
    QCOMPARE(parseMmlu("Q,a,b,c,,B\n", "m").front().choices[3], std::string());
}

void TstGeneralEval::mmluErrorsNameFileLineAndWhatWasExpected()
{
    struct Case {
        const char* text;
        const char* where;
        const char* expected;
    };
    const Case cases[] = {
        {"question,A,B,C,D,answer\nQ1,a,b,c,d,A\nQ2,a,b,c,A\n", "bad.csv:3:", "expected 6 columns"},
        {"Q1,a,b,c,d,A\nQ2,a,b,c,d,E\n", "bad.csv:2:", "expected a letter A-D, found 'E'"},
        {"Q1,a,b,c,d,AB\n", "bad.csv:1:", "column 'answer'"},
        {"Q1,a,b,c,d,A\n\"Q2,a,b,c,d,B\nQ3,a,b,c,d,C\n", "bad.csv:2:", "unterminated quoted field"},
        {"Q1,a,b,c,d,A\n\"Q2\" extra,a,b,c,d,B\n", "bad.csv:2:", "after a closing quote"},
        {"Q1,a,b,c,d,A\n  ,a,b,c,d,B\n", "bad.csv:2:", "column 'question' is empty"},
        {"question,A,B,C,D,answer\n", "bad.csv", "no questions"},
        {"", "bad.csv", "no questions"},
    };
    for (const Case& c : cases) {
        ErrorCode code = ErrorCode::None;
        const std::string msg = errorOf([&] { parseMmlu(c.text, "bad.csv"); }, &code);
        QVERIFY2(contains(msg, c.where) && contains(msg, c.expected),
                 (std::string(c.text) + " -> " + msg).c_str());
        QCOMPARE(code, ErrorCode::DataLoad);
    }
    const std::string missing = errorOf([] { loadMmlu("/nonexistent/mmlu.csv"); });
    QVERIFY2(contains(missing, "/nonexistent/mmlu.csv"), missing.c_str());
}

void TstGeneralEval::gsm8kFixtureParsesReferencesWithoutCommas()
{
    QCOMPARE(m_gsm8k.size(), size_t(8));
    QCOMPARE(m_gsm8k[0].reference, std::string("7"));
    QCOMPARE(m_gsm8k[3].reference, std::string("1550")); // "#### 1,550"
    QCOMPARE(m_gsm8k[3].line, 4);
    QVERIFY(contains(m_gsm8k[5].answer, "\n#### 3"));
}

void TstGeneralEval::invalidUtf8InInputFilesNamesTheLineAndOutputsStayVisible()
{
    // Input files: "file:line: invalid UTF-8", before any other reading of the line.
    QCOMPARE(str::firstInvalidUtf8Line("ok\nalso ok\n"), 0);
    QCOMPARE(str::firstInvalidUtf8Line("ok\nCaf\xe9\n"), 2);
    QCOMPARE(str::firstInvalidUtf8Line("Caf\xc3\xa9\n\n\xff"), 3);
    ErrorCode code = ErrorCode::None;
    std::string msg = errorOf([&] { parseGsm8k("{\"question\": \"q\", \"answer\": \"#### 1\"}\n{\"question\": \"Caf\xe9\", "
                                               "\"answer\": \"#### 2\"}\n", "g.jsonl"); }, &code);
    QVERIFY2(contains(msg, "g.jsonl:2: invalid UTF-8"), msg.c_str());
    QCOMPARE(code, ErrorCode::DataLoad);
    msg = errorOf([&] { parseMmlu("q,a,b,c,d,A\nq2,a,b,\xe9,d,B\n", "m.csv"); }, &code);
    QVERIFY2(contains(msg, "m.csv:2: invalid UTF-8"), msg.c_str());
    msg = errorOf([&] { parseShareGpt("[\n {\"conversations\": [\"\xe9\"]}\n]", "s.json"); }, &code);
    QVERIFY2(contains(msg, "s.json:2: invalid UTF-8"), msg.c_str());
    const ExperimentCheck check = checkExperimentText("version: 1\nname: caf\xe9\n", "");
    QVERIFY(!check.ok());
    QCOMPARE(check.errors.front().line, 2);
    QVERIFY2(contains(check.errors.front().message, "invalid UTF-8"), check.errors.front().message.c_str());

    // Model outputs: the JSON text shows each invalid byte as U+FFFD; the string keeps its bytes.
    const std::string output = "1. Caf\xe9 (1990)\n2. Other";
    nlohmann::json j = {{"output", output}};
    std::string text;
    try {
        text = jsonText(j);
    } catch (const std::exception& e) {
        QFAIL(e.what());
    }
    QCOMPARE(QString::fromStdString(text), QStringLiteral("{\"output\":\"1. Caf\uFFFD (1990)\\n2. Other\"}"));
    QCOMPARE(nlohmann::json::parse(text)["output"].get<std::string>(), std::string("1. Caf\xEF\xBF\xBD (1990)\n2. Other"));
    QCOMPARE(j["output"].get<std::string>().size(), output.size());
}

void TstGeneralEval::gsm8kErrorsNameFileLineAndKey()
{
    struct Case {
        const char* text;
        const char* where;
        const char* expected;
    };
    const Case cases[] = {
        {"{\"question\": \"q\", \"answer\": \"#### 1\"}\n{\"question\": \"q\", \"answer\": \n",
         "g.jsonl:2:", "not valid JSON"},
        {"\n{\"answer\": \"#### 1\"}\n", "g.jsonl:2:", "key 'question' is missing"},
        {"{\"question\": 3, \"answer\": \"#### 1\"}\n",
         "g.jsonl:1:", "key 'question': expected a string, found number"},
        {"{\"question\": \"q\", \"answer\": [\"#### 1\"]}\n",
         "g.jsonl:1:", "key 'answer': expected a string"},
        {"{\"question\": \"q\", \"answer\": \"it is 4\"}\n",
         "g.jsonl:1:", "key 'answer': expected the final answer after '####'"},
        {"{\"question\": \"q\", \"answer\": \"#### four\"}\n",
         "g.jsonl:1:", "key 'answer': expected a number"},
        {"[1, 2]\n", "g.jsonl:1:", "expected a JSON object"},
        {"\n\n", "g.jsonl", "no problems"},
    };
    for (const Case& c : cases) {
        ErrorCode code = ErrorCode::None;
        const std::string msg = errorOf([&] { parseGsm8k(c.text, "g.jsonl"); }, &code);
        QVERIFY2(contains(msg, c.where) && contains(msg, c.expected),
                 (std::string(c.text) + " -> " + msg).c_str());
        QCOMPARE(code, ErrorCode::DataLoad);
    }
}

void TstGeneralEval::numbersAreFoundAndNormalised()
{
    QCOMPARE(normalizeNumber("1,234"), std::string("1234"));
    QCOMPARE(normalizeNumber("+5"), std::string("5"));
    QCOMPARE(normalizeNumber("12.0"), std::string("12"));
    QCOMPARE(normalizeNumber("12."), std::string("12"));
    QCOMPARE(normalizeNumber("12.50"), std::string("12.5"));
    QCOMPARE(normalizeNumber("-0.0"), std::string("0"));
    QCOMPARE(normalizeNumber(" 100 "), std::string("100"));
    QCOMPARE(normalizeNumber("100"), std::string("100")); // integers keep their zeros

    const auto n = findNumbers("He paid $1,250.50 for 3 items, then 5-2=3 and -4 left. Lists 3,4 and 10.");
    const std::vector<std::string> expected = {"1,250.50", "3", "5", "2", "3", "-4", "3", "4", "10"};
    QCOMPARE(n, expected);

    ExtractedAnswer a = extractGsm8kAnswer("so 4 + 5 = 9\n#### 9 apples, not 10");
    QCOMPARE(a.value, std::string("9"));
    QCOMPARE(a.source, std::string("####"));
    a = extractGsm8kAnswer("#### 3\nmore #### 1,000.0"); // the last marker wins
    QCOMPARE(a.value, std::string("1000"));
    a = extractGsm8kAnswer("She has 12 cats and 7 dogs, so 19 pets.");
    QCOMPARE(a.value, std::string("19"));
    QCOMPARE(a.source, std::string("last_number"));
    a = extractGsm8kAnswer("no idea");
    QCOMPARE(a.value, std::string());
    QCOMPARE(a.source, std::string("none"));
    QCOMPARE(cutAtNextQuestion("x = 2\n\nQuestion: what is 5?"), std::string("x = 2"));
    QCOMPARE(cutAtNextQuestion("no stop"), std::string("no stop"));
}

void TstGeneralEval::exactMatchOnHandMadeGenerations()
{
    // The model starts the next problem: numbers after the stop do not count.
    QVERIFY(gsm8kCorrect(" 1,200 + 350 = 1550 houses.\n#### 1,550\n\nQuestion: How many are 99?",
                         m_gsm8k[3].reference));
    QVERIFY(gsm8kCorrect(" They eat 5 slices, so 3 are left.\n\nQuestion: 8 more?", "3"));
    QVERIFY(gsm8kCorrect("The answer is 12.0", "12"));
    QVERIFY(!gsm8kCorrect("The answer is 12.5", "12"));
    QVERIFY(!gsm8kCorrect("#### 31", "3")); // exact, not a prefix
    QVERIFY(!gsm8kCorrect("I do not know.", "3"));
    QVERIFY(gsm8kCorrect("#### +7", "7"));
}

void TstGeneralEval::promptsFollowThePapersFormats()
{
    const std::vector<MmluQuestion> ex = {m_mmlu[0]};
    const std::string mmlu = mmluPromptText(ex, m_mmlu[1]);
    QCOMPARE(mmlu,
             std::string("The following are multiple choice questions (with answers).\n\n"
                         "How many legs does a spider have?\nA. Six\nB. Eight\nC. Ten\nD. Four\nAnswer: B\n\n"
                         "What colour do you get by mixing blue and yellow?\nA. Green\nB. Purple\nC. Orange\n"
                         "D. Brown\nAnswer:"));
    const std::vector<Gsm8kProblem> gex = {m_gsm8k[0]};
    const std::string gsm = gsm8kPromptText(gex, m_gsm8k[1]);
    QCOMPARE(
        gsm,
        std::string("Question: Mia has 3 red balloons and 4 blue balloons. How many balloons does she have?\n"
                    "Answer: Mia has 3 + 4 = <<3+4=7>>7 balloons.\n#### 7\n\n"
                    "Question: A box holds 6 eggs. How many eggs are in 5 boxes?\nAnswer:"));
    // Zero-shot: the header and the question only.
    QCOMPARE(mmluPromptText({}, m_mmlu[0]), mmluHeader("") + mmluBlock(m_mmlu[0], false));
    // A known subject is named as the MMLU paper's header does (one space, not its two).
    MmluQuestion q = m_mmlu[0];
    q.subject = "high_school_mathematics";
    QCOMPARE(mmluPromptText({}, q),
             "The following are multiple choice questions (with answers) about high school mathematics.\n\n" +
                 mmluBlock(q, false));
}

void TstGeneralEval::promptFittingDropsTheEarliestExamplesThenCutsLeft()
{
    const Tokenizer& tok = m_lm.tokenizer;
    const std::vector<MmluQuestion> ex(m_mmlu.begin(), m_mmlu.begin() + 3);
    const MmluQuestion& q = m_mmlu[5];
    const auto full = withBos(tok, mmluPromptText(ex, q));
    GeneralPrompt p = fitMmluPrompt(tok, ex, q, static_cast<int64_t>(full.size()));
    QCOMPARE(p.shots, 3);
    QVERIFY(!p.truncated);
    QCOMPARE(p.tokens, full);

    // One token short: the earliest example goes, the two nearest the question stay.
    p = fitMmluPrompt(tok, ex, q, static_cast<int64_t>(full.size()) - 1);
    QCOMPARE(p.shots, 2);
    QCOMPARE(p.tokens, withBos(tok, mmluPromptText({ex[1], ex[2]}, q)));

    // Not even the question fits: cut on the left, BOS kept.
    const auto bare = withBos(tok, mmluPromptText({}, q));
    p = fitMmluPrompt(tok, ex, q, 20);
    QVERIFY(p.truncated);
    QCOMPARE(p.shots, 0);
    QCOMPARE(p.tokens.size(), size_t(20));
    QCOMPARE(p.tokens.front(), tok.bosId());
    QVERIFY(std::equal(p.tokens.begin() + 1, p.tokens.end(), bare.end() - 19));

    const std::vector<Gsm8kProblem> gex(m_gsm8k.begin(), m_gsm8k.begin() + 2);
    const auto gfull = withBos(tok, gsm8kPromptText(gex, m_gsm8k[4]));
    GeneralPrompt g = fitGsm8kPrompt(tok, gex, m_gsm8k[4], static_cast<int64_t>(gfull.size()) - 1);
    QCOMPARE(g.shots, 1);
    QCOMPARE(g.tokens, withBos(tok, gsm8kPromptText({gex[1]}, m_gsm8k[4])));
}

void TstGeneralEval::kShotExamplesAreNotScoredAndLimitCaps()
{
    GeneralEvalOptions o;
    o.eval.mmlu_k_shot = 2;
    auto items = evaluateMmlu(*m_lm.model, m_lm.tokenizer, m_mmlu, o);
    QCOMPARE(items.size(), size_t(10));
    QCOMPARE(items.front().index, size_t(2));
    QCOMPARE(items.back().index, size_t(11));
    for (const auto& it : items) {
        QCOMPARE(it.prompt.shots, 2); // the two examples always fit stories260K's 512 positions
        QCOMPARE(it.answer, m_mmlu[it.index].answer);
    }
    o.eval.general_limit = 3;
    items = evaluateMmlu(*m_lm.model, m_lm.tokenizer, m_mmlu, o);
    QCOMPARE(items.size(), size_t(3));
    QCOMPARE(items.back().index, size_t(4));

    o.eval.mmlu_k_shot = 12;
    ErrorCode code = ErrorCode::None;
    const std::string msg = errorOf([&] { evaluateMmlu(*m_lm.model, m_lm.tokenizer, m_mmlu, o); }, &code);
    QVERIFY2(contains(msg, "mmlu_k_shot"), msg.c_str());
    QCOMPARE(code, ErrorCode::InvalidConfig);
}

void TstGeneralEval::mmluPredictionIsTheArgmaxOfIndependentLogLikelihoods()
{
    const Tokenizer& tok = m_lm.tokenizer;
    const auto letters = mmluLetterTokens(tok);
    // tok512 has the piece "▁B" but not "▁A": " A" is two tokens, so teacher forcing is exercised.
    QCOMPARE(letters[0].size(), size_t(2));
    QCOMPARE(letters[1].size(), size_t(1));

    GeneralEvalOptions o;
    o.eval.mmlu_k_shot = 2;
    o.eval.batch = 4;
    const auto items = evaluateMmlu(*m_lm.model, tok, m_mmlu, o);
    const std::vector<MmluQuestion> ex(m_mmlu.begin(), m_mmlu.begin() + 2);
    std::set<int> predictions;
    for (const auto& it : items) {
        const std::string text = mmluPromptText(ex, m_mmlu[it.index]);
        const auto prompt = withBos(tok, text);
        QCOMPARE(it.prompt.tokens, prompt);
        std::array<double, 4> ll{};
        for (size_t c = 0; c < 4; ++c) {
            // The letter tokens are what the whole text tokenises to after the prompt.
            const auto whole = withBos(tok, text + " " + std::string(1, static_cast<char>('A' + c)));
            QVERIFY(std::equal(prompt.begin(), prompt.end(), whole.begin()));
            QCOMPARE(
                std::vector<int32_t>(whole.begin() + static_cast<std::ptrdiff_t>(prompt.size()), whole.end()),
                letters[c]);
            ll[c] = plainLogLikelihood(*m_lm.model, prompt, letters[c]);
            QVERIFY2(std::abs(ll[c] - it.loglik[c]) < 1e-3,
                     (std::to_string(ll[c]) + " vs " + std::to_string(it.loglik[c])).c_str());
            QVERIFY(ll[c] < 0.0);
        }
        const int argmax = static_cast<int>(std::max_element(ll.begin(), ll.end()) - ll.begin());
        QCOMPARE(it.predicted, argmax);
        predictions.insert(it.predicted);
    }
    QVERIFY(!predictions.empty());
}

void TstGeneralEval::mmluScoresDoNotDependOnTheBatch()
{
    GeneralEvalOptions o;
    o.eval.mmlu_k_shot = 1;
    o.eval.general_limit = 5;
    o.eval.batch = 1;
    const auto one = evaluateMmlu(*m_lm.model, m_lm.tokenizer, m_mmlu, o);
    o.eval.batch = 5; // left-padded rows of different lengths
    const auto five = evaluateMmlu(*m_lm.model, m_lm.tokenizer, m_mmlu, o);
    QCOMPARE(one.size(), five.size());
    for (size_t i = 0; i < one.size(); ++i) {
        QCOMPARE(one[i].predicted, five[i].predicted);
        for (size_t c = 0; c < 4; ++c)
            QVERIFY(std::abs(one[i].loglik[c] - five[i].loglik[c]) < 1e-3);
    }
}

void TstGeneralEval::gsm8kRunsEndToEndWithTheRealModel()
{
    GeneralEvalOptions o;
    o.eval.gsm8k_k_shot = 1;
    o.eval.gsm8k_max_new_tokens = 40;
    o.eval.batch = 4;
    const auto items = evaluateGsm8k(*m_lm.model, m_lm.tokenizer, m_gsm8k, o);
    QCOMPARE(items.size(), size_t(7));
    long correct = 0;
    for (const auto& it : items) {
        QVERIFY(it.index >= 1);
        QVERIFY(!contains(it.output, kGsm8kStop));
        QVERIFY(!it.output.empty());
        const ExtractedAnswer again = extractGsm8kAnswer(it.output);
        QCOMPARE(it.extracted.value, again.value);
        QCOMPARE(it.correct, !again.value.empty() && again.value == m_gsm8k[it.index].reference);
        QVERIFY(it.prompt.tokens.size() + 40 <= 512);
        correct += it.correct;
    }
    const AccuracyStat s = accuracyStat(correct, static_cast<long>(items.size()));
    QVERIFY(s.accuracy >= 0.0 && s.accuracy <= 1.0);
    QCOMPARE(s.n, 7L);

    // Greedy and per-row: the same outputs one at a time.
    o.eval.batch = 1;
    o.eval.general_limit = 2;
    const auto single = evaluateGsm8k(*m_lm.model, m_lm.tokenizer, m_gsm8k, o);
    QCOMPARE(single.size(), size_t(2));
    for (size_t i = 0; i < single.size(); ++i)
        QCOMPARE(single[i].output, items[i].output);
}

void TstGeneralEval::mmluFolderGivesOneSubjectPerTestFileWithItsDevShots()
{
    // The shared MMLU (five subjects, test/ and dev/ as published).
    const std::string folder = RECALIGN_SHARED_DIR "/data/general/mmlu";
    std::vector<std::string> files;
    const auto subjects = loadMmluSubjects(folder, 5, &files);
    QCOMPARE(subjects.size(), size_t(5));
    QCOMPARE(files.size(), size_t(10));
    QCOMPARE(subjects[0].name, std::string("abstract_algebra"));
    QCOMPARE(subjects[4].name, std::string("world_religions"));
    const auto dev = loadMmlu(folder + "/dev/abstract_algebra_dev.csv");
    const auto test = loadMmlu(folder + "/test/abstract_algebra_test.csv");
    QCOMPARE(subjects[0].rows.size(), size_t(5) + test.size());
    QCOMPARE(subjects[0].rows[0].question, dev[0].question);  // the examples: the dev file's first 5
    QCOMPARE(subjects[0].rows[5].question, test[0].question);  // then every test question
    for (const auto& row : subjects[0].rows)
        QCOMPARE(row.subject, std::string("abstract_algebra"));  // the header names it
    QCOMPARE(loadMmluSubjects(folder + "/test/marketing_test.csv", 0)[0].rows[0].subject, std::string("marketing"));
    QCOMPARE(loadMmluSubjects(kMmluFixture, 0)[0].rows[0].subject, std::string());

    // Macro average over subjects, each subject also as mmlu/SUBJECT; two questions per subject.
    GeneralEvalOptions o;
    o.eval.mmlu_k_shot = 5;
    o.eval.general_limit = 2;
    GeneralSuite two;
    two.mmlu = {subjects[0], subjects[3]};
    Observer quiet;
    const GeneralEvalResult r = evaluateGeneralAbility("base", *m_lm.model, m_lm.tokenizer, two, o, quiet);
    std::map<std::string, EvalRecord> byTask;
    for (const auto& rec : r.records)
        if (rec.metric == metric_name::kAccuracy)
            byTask[rec.task] = rec;
    QCOMPARE(byTask.size(), size_t(3));
    const EvalRecord& a = byTask.at("mmlu/abstract_algebra");
    const EvalRecord& m = byTask.at("mmlu/marketing");
    const EvalRecord& macro = byTask.at("mmlu");
    QCOMPARE(a.n, int64_t(2));
    QCOMPARE(macro.n, int64_t(4));
    QCOMPARE(macro.value, (a.value + m.value) / 2.0);
    QVERIFY(std::abs(macro.std_error - std::sqrt(a.std_error * a.std_error + m.std_error * m.std_error) / 2.0) < 1e-12);
    // Prompts cut to fit the model's context are counted (metric prompts_truncated).
    for (const auto& rec : r.records)
        if (rec.metric == "prompts_truncated")
            qInfo("MMLU prompts cut to fit stories260K's context: %.0f of %lld", rec.value, static_cast<long long>(rec.n));

    // Errors name the folder or file and what was expected.
    QTemporaryDir dir;
    const std::string root = dir.path().toStdString();
    std::string msg = errorOf([&] { loadMmluSubjects(root, 5); });
    QVERIFY2(contains(msg, root + ": expected MMLU subject files SUBJECT_test.csv"), msg.c_str());
    std::filesystem::copy_file(folder + "/test/marketing_test.csv", root + "/marketing_test.csv");
    msg = errorOf([&] { loadMmluSubjects(root, 5); });
    QVERIFY2(contains(msg, "marketing_test.csv: expected its k-shot examples in marketing_dev.csv"), msg.c_str());
    std::filesystem::copy_file(folder + "/dev/marketing_dev.csv", root + "/marketing_dev.csv");
    QCOMPARE(loadMmluSubjects(root, 5).size(), size_t(1));
    ErrorCode code = ErrorCode::None;
    msg = errorOf([&] { loadMmluSubjects(root, 6); }, &code);
    QCOMPARE(code, ErrorCode::InvalidConfig);
    QVERIFY2(contains(msg, "evaluation.mmlu_k_shot: 6 examples, but"), msg.c_str());
}

void TstGeneralEval::generalAbilityRowsAndSamplesForTheStore()
{
    GeneralEvalOptions o;
    o.eval.mmlu_k_shot = 2;
    o.eval.gsm8k_k_shot = 1;
    o.eval.general_limit = 4;
    o.eval.gsm8k_max_new_tokens = 24;
    o.samples_kept = 3;
    o.stage = "eval_v2";
    GeneralSuite suite{{{"fixture", m_mmlu}}, m_gsm8k};
    struct Steps : Observer {
        std::vector<StepRecord> steps;
        void onStep(const StepRecord& r) override { steps.push_back(r); }
    } obs;
    const GeneralEvalResult all = evaluateGeneralAbility("v2", *m_lm.model, m_lm.tokenizer, suite, o, obs);
    // Accuracy per task, then the prompts cut to fit the context (none here: short fixtures).
    QCOMPARE(all.records.size(), size_t(4));
    GeneralEvalResult r = all;
    r.records.clear();
    for (const auto& rec : all.records) {
        if (rec.metric == "prompts_truncated") {
            QCOMPARE(rec.value, 0.0);
            QCOMPARE(rec.n, int64_t(4));
            continue;
        }
        r.records.push_back(rec);
    }
    QCOMPARE(r.records.size(), size_t(2));
    for (const auto& rec : r.records) {
        QCOMPARE(rec.variant, std::string("v2"));
        QCOMPARE(rec.metric, std::string(metric_name::kAccuracy));
        QCOMPARE(rec.n, int64_t(4));
        QVERIFY(rec.value >= 0.0 && rec.value <= 1.0);
        QVERIFY(std::abs(rec.std_error - std::sqrt(rec.value * (1 - rec.value) / 4.0)) < 1e-12);
    }
    qInfo("stories260K: MMLU accuracy %.3f, GSM8K accuracy %.3f (n 4 each)", r.records[0].value,
          r.records[1].value);
    QCOMPARE(r.records[0].task, std::string(task_name::kMmlu));
    QCOMPARE(r.records[1].task, std::string(task_name::kGsm8k));

    // The MMLU accuracy is the share of the scored questions whose argmax letter is the answer.
    GeneralEvalOptions mo = o;
    const auto items = evaluateMmlu(*m_lm.model, m_lm.tokenizer, m_mmlu, mo);
    long correct = 0;
    for (const auto& it : items)
        correct += it.predicted == it.answer;
    QCOMPARE(r.records[0].value, correct / 4.0);

    QCOMPARE(r.samples.size(), size_t(6)); // 3 per task
    for (const auto& s : r.samples) {
        QCOMPARE(s.stage, std::string("eval"));
        const auto d = nlohmann::json::parse(s.details_json);
        QCOMPARE(d.at("task").get<std::string>(), s.task);
        if (s.task == task_name::kMmlu) {
            QCOMPARE(d.at("loglik").size(), size_t(4));
            QCOMPARE(d.at("items").size(), size_t(4));
            QVERIFY(contains(s.prompt, "The following are multiple choice questions"));
            QCOMPARE(s.output.substr(0, 1), d.at("predicted").get<std::string>());
        } else {
            QCOMPARE(d.at("extracted").get<std::string>(), extractGsm8kAnswer(s.output).value);
            QVERIFY(contains(s.prompt, "Question: "));
        }
    }
    QVERIFY(!obs.steps.empty());
    QCOMPARE(obs.steps.front().stage, std::string("eval_v2"));
}

void TstGeneralEval::stopRequestCancels()
{
    StopAlways stop;
    GeneralEvalOptions o;
    o.eval.mmlu_k_shot = 0;
    o.eval.gsm8k_k_shot = 0;
    ErrorCode code = ErrorCode::None;
    errorOf([&] { evaluateMmlu(*m_lm.model, m_lm.tokenizer, m_mmlu, o, &stop); }, &code);
    QCOMPARE(code, ErrorCode::Cancelled);
    code = ErrorCode::None;
    errorOf([&] { evaluateGsm8k(*m_lm.model, m_lm.tokenizer, m_gsm8k, o, &stop); }, &code);
    QCOMPARE(code, ErrorCode::Cancelled);
}

QTEST_GUILESS_MAIN(TstGeneralEval)
#include "tst_general_eval.moc"
