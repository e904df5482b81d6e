// End to end through the CLI: a miniature experiment (every variant and baseline) runs, the
// store holds the run, stages, metrics, samples and evaluation rows; rerunning reuses every
// stage; a changed PPO setting reruns only the PPO stages and their evaluation; a bad file fails
// before any work with the key named. The LLM variants also answer the tiny MMLU / GSM8K
// fixtures, and the exported formatting table gains those columns.
#include "core/api/store_api.h"
#include "core/api/tables.h"
#include "core/data/synthetic.h"
#include "core/llm/chat_template.h"
#include "core/llm/llama_model.h"
#include "core/llm/pretrain.h"
#include "core/pipeline/evaluation.h"
#include "core/rules/title_lookup.h"
#include "core/runtime/runtime.h"
#include "core/tokenizer/tokenizer.h"
#include "tst_cli.h"

#include <nlohmann/json.hpp>

#include <QFile>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

using namespace recalign::core;
namespace fs = std::filesystem;

namespace {
using tst_cli::CliRun;
using tst_cli::cli;
using tst_cli::kCli;
const QString kMini = QStringLiteral(RECALIGN_SOURCE_DIR "/tests/fixtures/pipeline/mini.yaml");

std::set<std::string> stageNames(RunStore& store, int64_t run)
{
    std::set<std::string> out;
    const auto stages = store.stages(run).value();  // not a temporary's member: it would dangle
    for (const auto& s : stages)
        out.insert(s.name);
    return out;
}
}  // namespace

class TstPipeline : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void scoreKeepsInvalidUtf8VisibleWithoutShiftingSpans();
    void miniatureRunFillsTheStore();
    void rerunReusesEveryStage();
    void seedGroupRunsEverySeedSharingSeedFreeStages();
    void llmVariantsHaveGeneralAbilityRows();
    void formatTableGainsGeneralAbilityColumns();
    void changedPpoSettingRerunsOnlyPpoAndItsEvaluation();
    void ppoValidationRunsAndKeepsTheBestIteration();
    void changedGeneralFileContentRerunsOnlyLlmEvaluation();
    void badExperimentFailsBeforeAnyWorkNamingTheKey();
    void threadPoolsArePresetBeforeTheirLibrariesLoad();
    void probeTakesAnyModelAndAdapters();
    void constrainedDecodingEvaluationListsOnlyNewTitles();
    void recipeRowsRunAsTheirOwnStages();

private:
    // mini.yaml with one setting replaced, written into the test's folder; the copy lives
    // elsewhere, so its general-ability paths become absolute (same files, same hashes).
    QString miniCopy(const QString& name, const std::string& from, const std::string& to)
    {
        return miniCopy(name, {{from, to}});
    }
    // The same with several replacements (each text must occur).
    QString miniCopy(const QString& name, const std::vector<std::pair<std::string, std::string>>& edits)
    {
        std::ifstream in(kMini.toStdString());
        std::stringstream text;
        text << in.rdbuf();
        std::string yaml = text.str();
        for (const auto& [from, to] : edits) {
            const size_t at = yaml.find(from);
            if (at == std::string::npos)
                return {};
            yaml.replace(at, from.size(), to);
        }
        for (size_t at; (at = yaml.find("../general/")) != std::string::npos;)
            yaml.replace(at, 11, RECALIGN_SOURCE_DIR "/tests/fixtures/general/");
        const QString path = m_dir.filePath(name);
        std::ofstream(path.toStdString()) << yaml;
        return path;
    }
    QTemporaryDir m_dir;
    QString m_workspace;
    CliRun m_first;
};

void TstPipeline::initTestCase()
{
    QVERIFY(m_dir.isValid());
    m_workspace = m_dir.filePath(QStringLiteral("ws"));
    m_first = cli({QStringLiteral("run"), kMini, QStringLiteral("--workspace"), m_workspace});
    QVERIFY2(m_first.code == 0, qPrintable(m_first.out.right(3000)));
}

void TstPipeline::scoreKeepsInvalidUtf8VisibleWithoutShiftingSpans()
{
    // `recalign score` on an output holding a Latin-1 byte: scored, the byte shown as U+FFFD, and
    // every line's byte span (which places item rewards on tokens) as for the same output with a
    // one-byte ASCII letter in its place.
    auto scoreOf = [&](const QByteArray& output, nlohmann::json& report) {
        const QString file = m_dir.filePath(QStringLiteral("output.txt"));
        QFile f(file);
        if (!f.open(QIODevice::WriteOnly))
            return false;
        f.write(output);
        f.close();
        QProcess p;
        p.start(kCli, {QStringLiteral("score"), QStringLiteral("--data"), QStringLiteral("synthetic:1"), QStringLiteral("--user"),
                       QStringLiteral("0"), QStringLiteral("--task"), QStringLiteral("i0"), QStringLiteral("--output"), file});
        if (!p.waitForFinished(60000) || p.exitCode() != 0) {
            qWarning("%s", p.readAllStandardError().constData());
            return false;
        }
        report = nlohmann::json::parse(p.readAllStandardOutput().toStdString());
        return true;
    };
    nlohmann::json latin, ascii;
    QVERIFY(scoreOf(QByteArray("1. Caf\xe9 (1990)\n2. Something Else (2001)\n3. Third Line (1999)\n"), latin));
    QVERIFY(scoreOf(QByteArray("1. Cafe (1990)\n2. Something Else (2001)\n3. Third Line (1999)\n"), ascii));
    QCOMPARE(latin["parsed"].size(), size_t(3));
    QCOMPARE(latin["parsed"][0]["raw"].get<std::string>(), std::string("1. Caf\xEF\xBF\xBD (1990)"));
    for (size_t i = 0; i < 3; ++i)
        QCOMPARE(latin["parsed"][i]["span"], ascii["parsed"][i]["span"]);
    QVERIFY(latin["reward"].contains("list_reward"));
}

void TstPipeline::miniatureRunFillsTheStore()
{
    RunStore store;
    QVERIFY(!store.open(m_workspace.toStdString() + "/" + kStoreFileName));
    auto runs = store.listRuns();
    QVERIFY(runs.ok());
    QCOMPARE(runs.value().size(), size_t(1));
    const RunInfo& run = runs.value().front();
    QCOMPARE(run.status, RunStatus::Finished);
    QVERIFY(!run.config_json.empty());
    QVERIFY(run.ended_at >= run.started_at);

    const auto stages = stageNames(store, run.id);
    for (const char* s : {"teacher", "base_model", "sft_palr", "sft_v1", "sft_v2", "ppo_v3", "ppo_full", "eval_sasrec",
                          "eval_mostpop", "eval_zeroshot", "eval_palr", "eval_v1", "eval_v2", "eval_v3", "eval_full"})
        QVERIFY2(stages.count(s), s);

    // Metric time series from the trainers.
    auto names = store.metricNames(run.id);
    QVERIFY(names.ok());
    std::set<std::string> stageWithMetrics;
    for (const auto& n : names.value())
        stageWithMetrics.insert(n.stage);
    for (const char* s : {"teacher", "pretrain", "sft_v2", "ppo_full"})
        QVERIFY2(stageWithMetrics.count(s), s);

    // Evaluation rows for every variant and task; samples with details.
    auto rows = store.evalResults(run.id);
    QVERIFY(rows.ok());
    std::set<std::string> variants, tasks;
    for (const auto& r : rows.value()) {
        variants.insert(r.variant);
        tasks.insert(r.task);
        if (r.metric == "hr")
            QVERIFY(r.value >= 0.0 && r.value <= 1.0);
    }
    QCOMPARE(variants.size(), size_t(8));
    QCOMPARE(tasks.size(), size_t(9));  // 7 recommendation tasks, mmlu, gsm8k
    // Every evaluated sample carries its breakdown: the prompt's history and the parsed items, each
    // judged. The miniature model's `full` lists may name nothing, but some variant's lists do.
    SampleFilter f;
    f.run_id = run.id;
    auto samples = store.samples(f);
    QVERIFY(samples.ok());
    const std::set<std::string> legalities = {"legal", "beyond_k", "non_existent", "duplicate", "in_history"};
    size_t fullSamples = 0, judgedItems = 0;
    for (const auto& sample : samples.value()) {
        if (sample.stage.rfind("eval", 0) != 0 || sample.task == "mmlu" || sample.task == "gsm8k")
            continue;
        const auto details = nlohmann::json::parse(sample.details_json);
        QVERIFY2(details.contains("items") && details.at("items").is_array(), sample.details_json.c_str());
        QVERIFY2(!details.at("history").empty(), sample.details_json.c_str());
        for (const auto& item : details.at("items")) {
            QVERIFY2(legalities.count(item.at("legality").get<std::string>()), sample.details_json.c_str());
            ++judgedItems;
        }
        fullSamples += sample.variant == "full";
    }
    QVERIFY(fullSamples > 0);
    QVERIFY2(judgedItems > 0, "no evaluated list named an item");

    // The CLI printed the paper's tables.
    QVERIFY(m_first.out.contains(QStringLiteral("I0: sequential recommendation")));
    QVERIFY(m_first.out.contains(QStringLiteral("Ours_full")));
    // The pipeline and its trainers both report each training stage: one header, one "done".
    for (const char* stage : {"teacher", "sft_v2", "ppo_full"}) {
        const QString name = QString::fromLatin1(stage);
        QCOMPARE(m_first.out.count(QStringLiteral("== ") + name + QStringLiteral("\n")), 1);
        QCOMPARE(m_first.out.count(QStringLiteral("== ") + name + QStringLiteral(" done in ")), 1);
    }
}

void TstPipeline::rerunReusesEveryStage()
{
    const CliRun again = cli({QStringLiteral("run"), kMini, QStringLiteral("--workspace"), m_workspace});
    QVERIFY2(again.code == 0, qPrintable(again.out.right(2000)));
    QVERIFY(again.out.contains(QStringLiteral("stage teacher: reusing")));
    QVERIFY(again.out.contains(QStringLiteral("stage ppo_full: reusing")));
    QVERIFY(!again.out.contains(QStringLiteral("== pretrain")));
    // Same tables as the first run.
    const auto tableOf = [](const QString& out) { return out.mid(out.indexOf(QStringLiteral("**I0"))); };
    QCOMPARE(tableOf(again.out).left(600), tableOf(m_first.out).left(600));
}

// `seeds: [0, 1, 2]` runs three runs as one group; the teacher and the base model (seed-free by
// default) are computed at most once and reused by the others, SFT per seed; every run shows the
// reused stages' curves; the tables are mean ± std over the seeds with the paired tests; a group
// with a failed and a missing run is finished by --resume of its first run.
void TstPipeline::seedGroupRunsEverySeedSharingSeedFreeStages()
{
    const QString file = miniCopy(QStringLiteral("seeds.yaml"),
                                  {{"seeds: [0]", "seeds: [0, 1, 2]"},
                                   {"variants: [sasrec, mostpop, zeroshot, palr, v1, v2, v3, full]", "variants: [sasrec, v1, v2]"}});
    QVERIFY(!file.isEmpty());
    const QString ws = m_dir.filePath(QStringLiteral("ws-seeds"));
    const CliRun r = cli({QStringLiteral("run"), file, QStringLiteral("--workspace"), ws});
    QVERIFY2(r.code == 0, qPrintable(r.out.right(3000)));
    QVERIFY2(r.out.contains(QStringLiteral("(group ")), qPrintable(r.out.right(500)));
    QVERIFY2(r.out.contains(QStringLiteral(" ± ")), qPrintable(r.out.right(3000)));  // mean ± std cells
    QVERIFY2(r.out.contains(QStringLiteral("**Significance: I0")), qPrintable(r.out.right(3000)));  // v2 vs v1

    RunStore store;
    QVERIFY(!store.open(ws.toStdString() + "/" + kStoreFileName));
    const auto groups = store.listGroups().value();
    QCOMPARE(groups.size(), size_t(1));
    QCOMPARE(groups[0].seeds, std::vector<int64_t>({0, 1, 2}));
    const auto ids = groupRunIds(store, groups[0].id).value();
    QCOMPARE(ids.size(), size_t(3));
    std::map<std::string, std::set<std::string>> hashes;  // stage -> content hashes over the runs
    int teacherComputed = 0;
    for (size_t k = 0; k < ids.size(); ++k) {
        const RunInfo info = store.runInfo(ids[k]).value();
        QCOMPARE(info.status, RunStatus::Finished);
        QCOMPARE(info.seed, int64_t(k));
        QCOMPARE(info.group_id, groups[0].id);
        for (const auto& st : store.stages(ids[k]).value()) {
            hashes[st.name].insert(st.content_hash);
            if (st.name == "teacher" && st.reused_from_run == 0)
                ++teacherComputed;
            if (st.name == "teacher" && k > 0)
                QCOMPARE(st.reused_from_run, ids[0]);
        }
        // Every run shows the teacher's and the pre-training's curves, reused or not.
        std::set<std::string> withMetrics;
        for (const auto& n : store.metricNames(ids[k]).value())
            withMetrics.insert(n.stage);
        for (const char* stage : {"teacher", "pretrain", "sft_v2"})
            QVERIFY2(withMetrics.count(stage), stage);
    }
    QCOMPARE(teacherComputed, 1);
    QCOMPARE(hashes["teacher"].size(), size_t(1));
    QCOMPARE(hashes["base_model"].size(), size_t(1));
    QCOMPARE(hashes["sft_v2"].size(), size_t(3));  // seed-dependent
    QCOMPARE(hashes["eval_v2"].size(), size_t(3));

    // The export of the group: one row per method with the seeds column; per-seed rows on request.
    const QString gid = QString::number(groups[0].id);
    const CliRun csv = cli({QStringLiteral("export"), QStringLiteral("--group"), gid, QStringLiteral("--workspace"), ws,
                            QStringLiteral("--format"), QStringLiteral("csv"), QStringLiteral("--table"), QStringLiteral("i0")});
    QVERIFY2(csv.code == 0, qPrintable(csv.out));
    QVERIFY2(csv.out.contains(QStringLiteral("method,seeds,HR@10,HR@10 std")), qPrintable(csv.out));
    QVERIFY2(csv.out.contains(QStringLiteral("\nOurs_v2,3,")), qPrintable(csv.out));
    const CliRun perSeed = cli({QStringLiteral("export"), QStringLiteral("--group"), gid, QStringLiteral("--workspace"), ws,
                                QStringLiteral("--per-seed"), QStringLiteral("--table"), QStringLiteral("i0")});
    QVERIFY2(perSeed.out.count(QStringLiteral("| Ours_v2 (run ")) == 3, qPrintable(perSeed.out));

    // A group whose second run failed and whose third never ran: --resume of the first run
    // continues the second and starts the third (their stages come from the cache).
    QVERIFY(!store.setRunStatus(ids[1], RunStatus::Failed, "killed"));
    QVERIFY(!store.deleteRun(ids[2]));
    store.close();
    const CliRun resumed = cli({QStringLiteral("run"), file, QStringLiteral("--workspace"), ws, QStringLiteral("--resume"),
                                QString::number(ids[0])});
    QVERIFY2(resumed.code == 0, qPrintable(resumed.out.right(3000)));
    QVERIFY(!store.open(ws.toStdString() + "/" + kStoreFileName));
    const auto after = groupRunIds(store, groups[0].id).value();
    QCOMPARE(after.size(), size_t(3));
    QCOMPARE(after[1], ids[1]);
    QCOMPARE(store.runInfo(after[2]).value().seed, int64_t(2));  // a new run (SQLite may reuse the deleted id)
    for (int64_t id : after)
        QCOMPARE(store.runInfo(id).value().status, RunStatus::Finished);
    QVERIFY(resumed.out.contains(QStringLiteral("stage sft_v2: reusing")));
}

void TstPipeline::llmVariantsHaveGeneralAbilityRows()
{
    RunStore store;
    QVERIFY(!store.open(m_workspace.toStdString() + "/" + kStoreFileName));
    const int64_t run = store.listRuns().value().front().id;
    std::map<std::string, std::set<std::string>> general;  // task -> variants
    const auto results = store.evalResults(run).value();
    for (const auto& r : results) {
        if (r.task != task_name::kMmlu && r.task != task_name::kGsm8k)
            continue;
        if (r.metric == "prompts_truncated") {  // the prompts shortened to fit the context, of n
            QVERIFY(r.value >= 0.0 && r.value <= static_cast<double>(r.n));
            continue;
        }
        QCOMPARE(r.metric, std::string(metric_name::kAccuracy));
        QVERIFY(r.value >= 0.0 && r.value <= 1.0);
        QCOMPARE(r.n, int64_t(4));  // general_limit
        QVERIFY(std::abs(r.std_error - std::sqrt(r.value * (1.0 - r.value) / 4.0)) < 1e-9);
        general[r.task].insert(r.variant);
    }
    const std::set<std::string> llm = {"zeroshot", "palr", "v1", "v2", "v3", "full"};
    QCOMPARE(general[task_name::kMmlu], llm);  // not sasrec / mostpop
    QCOMPARE(general[task_name::kGsm8k], llm);
    SampleFilter f;
    f.run_id = run;
    f.variant = "v2";
    f.task = task_name::kMmlu;
    const auto samples = store.samples(f);
    QVERIFY(samples.ok() && !samples.value().empty());
    QVERIFY(samples.value().front().details_json.find("\"loglik\"") != std::string::npos);
    QVERIFY(m_first.out.contains(QStringLiteral("eval_full: mmlu accuracy")));
}

void TstPipeline::formatTableGainsGeneralAbilityColumns()
{
    RunStore store;
    QVERIFY(!store.open(m_workspace.toStdString() + "/" + kStoreFileName));
    const QString run = QString::number(store.listRuns().value().front().id);
    CliRun csv;
    for (const char* format : {"csv", "markdown", "latex"}) {
        const CliRun r = cli({QStringLiteral("export"), run, QStringLiteral("--workspace"), m_workspace,
                              QStringLiteral("--table"), QStringLiteral("format"), QStringLiteral("--format"),
                              QLatin1String(format)});
        QVERIFY2(r.code == 0, qPrintable(r.out));
        QVERIFY2(r.out.contains(QStringLiteral("MMLU")) && r.out.contains(QStringLiteral("GSM8K")), qPrintable(r.out));
        if (QLatin1String(format) == QLatin1String("csv"))
            csv = r;
    }
    // CSV: the recommenders' general cells are empty, the LLM variants' are filled.
    QStringList lines = csv.out.split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    if (!lines.isEmpty() && lines.front().startsWith(QLatin1Char('#')))
        lines.removeFirst();  // the table's title
    QVERIFY2(!lines.isEmpty() && lines.front().endsWith(QStringLiteral(",MMLU,GSM8K")), qPrintable(csv.out));
    int llmRows = 0;
    for (const QString& line : lines) {
        const QStringList cells = line.split(QLatin1Char(','));
        if (line.startsWith(QStringLiteral("SASRec,")) || line.startsWith(QStringLiteral("MostPop,"))) {
            QVERIFY2(cells.at(cells.size() - 1).isEmpty() && cells.at(cells.size() - 2).isEmpty(), qPrintable(line));
        } else if (line.startsWith(QStringLiteral("Ours_")) || line.startsWith(QStringLiteral("PALR,"))
                   || line.startsWith(QStringLiteral("Zero-shot,"))) {
            bool ok1 = false, ok2 = false;
            const double mmlu = cells.at(cells.size() - 2).toDouble(&ok1);
            const double gsm = cells.at(cells.size() - 1).toDouble(&ok2);
            QVERIFY2(ok1 && ok2 && mmlu >= 0 && mmlu <= 100 && gsm >= 0 && gsm <= 100, qPrintable(line));
            ++llmRows;
        }
    }
    QCOMPARE(llmRows, 6);
}

void TstPipeline::changedPpoSettingRerunsOnlyPpoAndItsEvaluation()
{
    const QString changed = miniCopy(QStringLiteral("changed.yaml"), "ppo_epochs: 1", "ppo_epochs: 2");
    const CliRun r = cli({QStringLiteral("run"), changed, QStringLiteral("--workspace"), m_workspace});
    QVERIFY2(r.code == 0, qPrintable(r.out.right(2000)));
    for (const char* s : {"teacher", "base_model", "sft_v2", "eval_v2", "eval_sasrec"})
        QVERIFY2(r.out.contains(QStringLiteral("stage %1: reusing").arg(QLatin1String(s))), s);
    QVERIFY(r.out.contains(QStringLiteral("== ppo_full")));
    QVERIFY(r.out.contains(QStringLiteral("== eval_full")));
}

void TstPipeline::ppoValidationRunsAndKeepsTheBestIteration()
{
    const QString file = miniCopy(QStringLiteral("validated.yaml"), "val_every: 0", "val_every: 1");
    const CliRun r = cli({QStringLiteral("run"), file, QStringLiteral("--workspace"), m_workspace,
                          QStringLiteral("--only"), QStringLiteral("ppo_v3,eval_v3,ppo_full,eval_full")});
    QVERIFY2(r.code == 0, qPrintable(r.out.right(2000)));
    RunStore store;
    QVERIFY(!store.open(m_workspace.toStdString() + "/" + kStoreFileName));
    const auto runs = store.listRuns().value();
    const int64_t run = std::max_element(runs.begin(), runs.end(), [](const RunInfo& a, const RunInfo& b) {
                            return a.id < b.id;
                        })->id;
    // One validation per iteration (max_iterations 2), its score recorded with the PPO metrics.
    const auto score = store.metricSeries(run, "ppo_full", "validation/score");
    QVERIFY(score.ok());
    QCOMPARE(score.value().steps.size(), size_t(2));
    const auto listReward = store.metricSeries(run, "ppo_full", "val/list_reward");
    QVERIFY(listReward.ok());
    QCOMPARE(listReward.value().steps.size(), size_t(2));
    // The best iteration's weights are kept and the stage records which iteration it exported.
    bool found = false;
    for (const auto& e : fs::directory_iterator(m_workspace.toStdString() + "/artifacts")) {
        if (e.path().filename().string().rfind("ppo_full-", 0) != 0 || !fs::exists(e.path() / "best" / "ppo_best.safetensors"))
            continue;
        std::ifstream done(e.path() / "DONE.json");
        std::stringstream j;
        j << done.rdbuf();
        QVERIFY(j.str().find("\"best_iteration\"") != std::string::npos);
        QVERIFY(j.str().find("\"exported_iteration\"") != std::string::npos);
        found = true;
    }
    QVERIFY(found);
}

void TstPipeline::changedGeneralFileContentRerunsOnlyLlmEvaluation()
{
    std::ifstream in(kMini.toStdString());
    std::stringstream text;
    text << in.rdbuf();
    std::string yaml = text.str();
    const std::string fixtures = RECALIGN_SOURCE_DIR "/tests/fixtures/general/";
    yaml.replace(yaml.find("../general/mmlu_tiny.csv"), 24, "mmlu_copy.csv");
    yaml.replace(yaml.find("../general/gsm8k_tiny.jsonl"), 27, fixtures + "gsm8k_tiny.jsonl");
    const QString file = m_dir.filePath(QStringLiteral("general.yaml"));
    std::ofstream(file.toStdString()) << yaml;
    std::ifstream mmlu(fixtures + "mmlu_tiny.csv");
    std::stringstream csv;
    csv << mmlu.rdbuf();
    const std::string copy = m_dir.filePath(QStringLiteral("mmlu_copy.csv")).toStdString();
    std::ofstream(copy) << csv.str();
    // Another MMLU file: the LLM evaluations rerun; SFT, PPO and the recommenders' evaluation do not.
    CliRun r = cli({QStringLiteral("run"), file, QStringLiteral("--workspace"), m_workspace});
    QVERIFY2(r.code == 0, qPrintable(r.out.right(2000)));
    for (const char* s : {"sft_v1", "sft_v2", "ppo_full", "eval_sasrec", "eval_mostpop"})
        QVERIFY2(r.out.contains(QStringLiteral("stage %1: reusing").arg(QLatin1String(s))), s);
    QVERIFY(r.out.contains(QStringLiteral("== eval_v2")));
    // Same path, one answer changed: the content hash reruns them again.
    std::string edited = csv.str();
    edited.replace(edited.find("Giraffe,Rabbit,Pig,Duck,A"), 25, "Giraffe,Rabbit,Pig,Duck,B");
    std::ofstream(copy, std::ios::trunc) << edited;
    r = cli({QStringLiteral("run"), file, QStringLiteral("--workspace"), m_workspace});
    QVERIFY2(r.code == 0, qPrintable(r.out.right(2000)));
    QVERIFY(r.out.contains(QStringLiteral("stage sft_v2: reusing")));
    QVERIFY(r.out.contains(QStringLiteral("stage eval_sasrec: reusing")));
    QVERIFY(r.out.contains(QStringLiteral("== eval_v2")));
    QVERIFY(r.out.contains(QStringLiteral("== eval_full")));
}

void TstPipeline::badExperimentFailsBeforeAnyWorkNamingTheKey()
{
    const QString bad = m_dir.filePath(QStringLiteral("bad.yaml"));
    std::ofstream(bad.toStdString()) << "version: 1\nname: bad\nppo:\n  kl_coeff: 0.3\n";
    const CliRun r = cli({QStringLiteral("run"), bad, QStringLiteral("--workspace"), m_dir.filePath(QStringLiteral("ws-bad"))});
    QVERIFY(r.code != 0);
    QVERIFY2(r.out.contains(QStringLiteral("ppo.kl_coeff")), qPrintable(r.out));
    QVERIFY(r.out.contains(QStringLiteral("ppo.kl_coef")));  // the suggestion
    QVERIFY(!r.out.contains(QStringLiteral("== teacher")));
    // A bad element of a comma list names the option, the range and the element's list.
    const CliRun seeds = cli({QStringLiteral("run"), kMini, QStringLiteral("--seeds"), QStringLiteral("0,x,2"),
                              QStringLiteral("--workspace"), m_dir.filePath(QStringLiteral("ws-bad"))});
    QVERIFY(seeds.code != 0);
    QVERIFY2(seeds.out.contains(QStringLiteral("--seeds expects integers from 0")), qPrintable(seeds.out));
    QVERIFY(seeds.out.contains(QStringLiteral("'0,x,2'")));
    QVERIFY(!seeds.out.contains(QStringLiteral("== teacher")));
}

void TstPipeline::threadPoolsArePresetBeforeTheirLibrariesLoad()
{
    // libgomp and OpenBLAS read their variables in their initialisers, before main: the CLI sets
    // GOMP_SPINCOUNT and OPENBLAS_NUM_THREADS from its .preinit_array, earlier still
    // (core/api/info.h). libgomp itself reports the value it read (OMP_DISPLAY_ENV=verbose);
    // OpenBLAS's thread count is asked of OpenBLAS before the first thread plan. The user's
    // variables and RECALIGN_OMP_WAIT=keep / RECALIGN_BLAS_START=keep are left alone.
    QString displayed, blas;
    auto info = [&displayed, &blas](const QStringList& set) {
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        for (const char* v : {"OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "RECALIGN_OMP_WAIT", "RECALIGN_PRESET",
                              "OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS", "RECALIGN_BLAS_START"})
            env.remove(QString::fromLatin1(v));
        for (const QString& kv : set)
            env.insert(kv.section(QLatin1Char('='), 0, 0), kv.section(QLatin1Char('='), 1));
        p.setProcessEnvironment(env);
        p.setProcessChannelMode(QProcess::MergedChannels);
        p.start(kCli, {QStringLiteral("info")});
        p.waitForFinished(60000);
        const QString out = QString::fromUtf8(p.readAll());
        displayed.clear();
        blas.clear();
        QString omp = QStringLiteral("no OpenMP line in: ") + out;
        for (const QString& line : out.split(QLatin1Char('\n'))) {
            if (line.trimmed().startsWith(QStringLiteral("GOMP_SPINCOUNT =")))
                displayed = line.trimmed();
            if (line.startsWith(QStringLiteral("OpenBLAS start:")))
                blas = line;
            if (line.startsWith(QStringLiteral("OpenMP wait:")))
                omp = line;
        }
        return omp;
    };
    const bool openBlas = openBlasThreadCount() > 0;
    if (std::thread::hardware_concurrency() > 1) {
        const QString ours = info({QStringLiteral("OMP_DISPLAY_ENV=verbose")});
        QVERIFY2(ours.contains(QStringLiteral("spin 2000 rounds, then sleep (set at start-up")), qPrintable(ours));
        QCOMPARE(displayed, QStringLiteral("GOMP_SPINCOUNT = '2000'"));
        if (openBlas) {
            QVERIFY2(blas.contains(QStringLiteral("started with 1 thread (set at start-up: no idle worker")), qPrintable(blas));
        }
    }
    const QString user = info({QStringLiteral("OMP_WAIT_POLICY=ACTIVE"), QStringLiteral("OPENBLAS_NUM_THREADS=2")});
    QVERIFY2(user.contains(QStringLiteral("OMP_WAIT_POLICY=ACTIVE (set by the user)")), qPrintable(user));
    if (openBlas && std::thread::hardware_concurrency() > 1)  // OpenBLAS caps it at the cores
        QVERIFY2(blas.contains(QStringLiteral("OPENBLAS_NUM_THREADS=2; started with 2 threads (set by the user)")), qPrintable(blas));
    const QString spin = info({QStringLiteral("GOMP_SPINCOUNT=1000")});
    QVERIFY2(spin.contains(QStringLiteral("GOMP_SPINCOUNT=1000 (set by the user)")), qPrintable(spin));
    if (openBlas && std::thread::hardware_concurrency() > 1)  // OpenBLAS's start is still preset
        QVERIFY2(blas.contains(QStringLiteral("(set at start-up: no idle worker")), qPrintable(blas));
    const QString kept = info({QStringLiteral("RECALIGN_OMP_WAIT=keep"), QStringLiteral("RECALIGN_BLAS_START=keep"),
                               QStringLiteral("OMP_DISPLAY_ENV=verbose")});
    QCOMPARE(displayed, QStringLiteral("GOMP_SPINCOUNT = '300000'"));
    QVERIFY2(kept.contains(QStringLiteral("libgomp's default")) && kept.contains(QStringLiteral("RECALIGN_OMP_WAIT=keep")),
             qPrintable(kept));
    if (openBlas)
        QVERIFY2(blas.contains(QStringLiteral("OpenBLAS's default")) && blas.contains(QStringLiteral("RECALIGN_BLAS_START=keep")),
                 qPrintable(blas));
}

void TstPipeline::probeTakesAnyModelAndAdapters()
{
    // The run's own intermediate outputs given as a model and an adapter reproduce its variants
    // (greedy): sft_v2's fully fine-tuned folder is v2; with ppo_full's actor on it, full.
    QString sftModel, actor;
    for (const auto& e : std::filesystem::directory_iterator(m_workspace.toStdString() + "/artifacts")) {
        const std::string name = e.path().filename().string();
        if (name.rfind("sft_v2-", 0) == 0)
            sftModel = QString::fromStdString((e.path() / "best").string());
        if (name.rfind("ppo_full-", 0) == 0)
            actor = QString::fromStdString((e.path() / "actor").string());
    }
    QVERIFY(!sftModel.isEmpty() && !actor.isEmpty());
    auto output = [](const QString& text) {
        const int from = text.indexOf(QStringLiteral("--- output"));
        return text.mid(from, text.indexOf(QStringLiteral("--- list reward")) - from);
    };
    const QStringList common = {QStringLiteral("probe"), QStringLiteral("--workspace"), m_workspace,
                                QStringLiteral("--run"), QStringLiteral("1"), QStringLiteral("--user"), QStringLiteral("3"),
                                QStringLiteral("--max-new-tokens"), QStringLiteral("48")};
    const CliRun v2 = cli(common + QStringList{QStringLiteral("--variant"), QStringLiteral("v2")});
    const CliRun asModel = cli(common + QStringList{QStringLiteral("--model"), sftModel});
    QVERIFY2(v2.code == 0 && asModel.code == 0, qPrintable(v2.out.right(1000) + asModel.out.right(1000)));
    QCOMPARE(output(asModel.out), output(v2.out));
    const CliRun full = cli(common + QStringList{QStringLiteral("--variant"), QStringLiteral("full")});
    const CliRun withActor = cli(common + QStringList{QStringLiteral("--model"), sftModel, QStringLiteral("--adapters"), actor});
    QVERIFY2(full.code == 0 && withActor.code == 0, qPrintable(full.out.right(1000) + withActor.out.right(1000)));
    QCOMPARE(output(withActor.out), output(full.out));
    // A missing adapter folder is an error naming it.
    const CliRun bad = cli(common + QStringList{QStringLiteral("--adapters"), m_dir.filePath(QStringLiteral("none"))});
    QVERIFY(bad.code != 0);
    QVERIFY2(bad.out.contains(QStringLiteral("none")), qPrintable(bad.out));
}

// Constrained decoding through the real evaluation path (evaluateModel), on an untrained tiny
// model: every reply lists exactly the task's k catalogue titles, none twice, none from the
// user's history (and, for I1 −C with constrained_exclude_category, none of the category), so
// NonExist, Repeat and InHistory are 0 and CorrectCount is 1 for every task. The same model
// decoding freely produces no such lists.
void TstPipeline::constrainedDecodingEvaluationListsOnlyNewTitles()
{
    SyntheticOptions so;
    so.seed = 5;
    so.users = 40;
    so.items = 50;
    so.top_categories = 3;
    so.subcategories_per_top = 1;
    so.min_sequence_length = 5;
    so.max_sequence_length = 9;
    const Dataset data = generateSynthetic(so);
    const MostPopTeacher teacher(data);
    const TitleLookup lookup(data);
    std::vector<std::string> corpus;
    for (ItemId id = 1; id <= data.numItems(); ++id)
        corpus.push_back(std::to_string(id % 15 + 1) + ". " + data.title(id) + " [/INST]");
    const Tokenizer tok = llm::trainTokenizerOnCorpus(
        corpus, m_dir.filePath(QStringLiteral("cd-tok")).toStdString(),
        llm::llamaTokenizerOptions(400, llm::chatTemplateSymbols(llm::ChatTemplate::Llama2)));
    llm::LlamaConfig lc;
    lc.dim = 32;
    lc.hidden_dim = 64;
    lc.n_layers = 1;
    lc.n_heads = 2;
    lc.n_kv_heads = 2;
    lc.vocab_size = tok.vocabSize();
    lc.max_seq_len = 640;
    llm::LlamaModel model(lc);
    llm::initLlamaWeights(*model, 3);

    VariantEvalOptions o;
    o.eval.users = 4;
    o.max_prompt_tokens = 320;
    o.max_new_tokens = 300;  // room for 15 lines of this catalogue's titles
    o.task.max_history = 5;
    o.chat_template = llm::ChatTemplate::Llama2;
    NullObserver observer;
    auto records = [](const VariantEvalResult& r) {
        std::map<std::pair<std::string, std::string>, double> m;  // (task, metric) -> mean
        for (const auto& rec : r.records)
            m[{rec.task, rec.metric}] = rec.value;
        return m;
    };
    const VariantEvalResult freeRun = evaluateModel("free", *model, tok, data, teacher, lookup, o, observer);
    o.constrained_decoding = true;
    o.constrained_exclude_category = true;
    const VariantEvalResult cd = evaluateModel("cd", *model, tok, data, teacher, lookup, o, observer);
    qInfo("evaluation of %zu samples: free decoding %.2f s, constrained %.2f s", cd.samples.size(),
          freeRun.seconds, cd.seconds);

    // Every sample's list: exactly k legal items, new to the user, none of −C's category.
    std::set<std::string> tasks;
    for (const SampleRecord& s : cd.samples) {
        const auto j = nlohmann::json::parse(s.details_json);
        tasks.insert(s.task);
        const int k = j.at("k").get<int>();
        const auto& items = j.at("items");
        QVERIFY2(k > 0 && static_cast<int>(items.size()) == k, (s.task + ": " + s.output).c_str());
        std::set<std::string> history, listed;
        for (const auto& h : j.at("history"))
            history.insert(h.get<std::string>());
        for (const auto& it : items) {
            const std::string title = it.at("title").get<std::string>();
            QVERIFY2(it.at("item").get<int64_t>() > 0 && !it.at("fuzzy").get<bool>(), title.c_str());
            QVERIFY2(it.at("legality").get<std::string>() == "legal", (s.task + ": " + title).c_str());
            QVERIFY2(!history.count(title), title.c_str());
            QVERIFY2(listed.insert(title).second, title.c_str());
            if (s.task == task_name::kI1Minus)
                QVERIFY2(!it.at("in_category").get<bool>(), title.c_str());
        }
    }
    QCOMPARE(tasks.size(), allTestTasks().size());
    // The aggregated metrics say the same for every task.
    const auto got = records(cd);
    for (const std::string& task : tasks) {
        QVERIFY2(got.at({task, "samples"}) > 0, task.c_str());
        QCOMPARE(got.at({task, "empty_outputs"}), 0.0);
        QCOMPARE(got.at({task, "correct_count"}), 1.0);
        for (const char* metric : {"non_exist", "repeat", "in_history"})
            QVERIFY2(got.at({task, metric}) == 0.0, (task + " " + metric).c_str());
    }
    QCOMPARE(got.at({std::string(task_name::kI1Minus), "tcp"}), 0.0);
    // Free decoding of the same model parses into lists too, but not of k catalogue titles.
    const auto loose = records(freeRun);
    QCOMPARE(freeRun.samples.size(), cd.samples.size());
    QVERIFY(loose.at({std::string(task_name::kI0), "list_length"}) > 0.0);
    QVERIFY(loose.at({std::string(task_name::kI0), "correct_count"}) < 1.0);
    QVERIFY(loose.at({std::string(task_name::kI0), "non_exist"}) > 0.0);
}

// Recipe rows end to end: full_grpo trains in rl_full_grpo (no critic), v2+cd reuses sft_v2 and
// evaluates with per-row constrained decoding; every row reaches the tables, and a rerun reuses
// every stage. The miniature's model writes no legal item, so an sdpo row has no preference to
// learn from: the run fails naming the key and the counts instead of training on nothing.
void TstPipeline::recipeRowsRunAsTheirOwnStages()
{
    // 224 output tokens: with the miniature's 48 (or 96) a constrained list of k = 10 titles of
    // its 400-token vocabulary is cut short, and its half-written last line is a NonExist item.
    const QString file = miniCopy(QStringLiteral("recipes.yaml"),
                                  {{"variants: [sasrec, mostpop, zeroshot, palr, v1, v2, v3, full]", "variants: [v2, full_grpo, v2+cd]"},
                                   {"max_output_tokens: 48", "max_output_tokens: 224"},
                                   {"max_seq_len: 256", "max_seq_len: 384"}});
    QVERIFY(!file.isEmpty());
    const QString ws = m_dir.filePath(QStringLiteral("ws-recipes"));
    const CliRun r = cli({QStringLiteral("run"), file, QStringLiteral("--workspace"), ws});
    QVERIFY2(r.code == 0, qPrintable(r.out.right(3000)));
    for (const char* row : {"Ours_full (GRPO)", "Ours_v2 +CD"})
        QVERIFY2(r.out.contains(QString::fromUtf8(row)), row);
    QVERIFY2(r.out.contains(QStringLiteral("critic-free")), qPrintable(r.out.right(3000)));

    RunStore store;
    QVERIFY(!store.open(ws.toStdString() + "/" + kStoreFileName));
    const int64_t run = store.listRuns().value().front().id;
    std::set<std::string> stages;
    for (const auto& st : store.stages(run).value())
        stages.insert(st.name);
    for (const char* st : {"sft_v2", "rl_full_grpo", "eval_v2", "eval_full_grpo", "eval_v2+cd"})
        QVERIFY2(stages.count(st), st);
    QVERIFY(!stages.count("ppo_full") && !stages.count("sft_v1"));
    std::set<std::string> grpoMetrics;
    for (const auto& n : store.metricNames(run).value())
        if (n.stage == "rl_full_grpo")
            grpoMetrics.insert(n.name);
    QVERIFY(grpoMetrics.count("env/frac_reward_zero_std") && grpoMetrics.count("objective/kl_loss"));
    QVERIFY(!grpoMetrics.count("ppo/val/loss"));
    // The constrained row: no repeated, non-existent or history item in any I0 list.
    int checked = 0;
    for (const auto& e : store.evalResults(run).value())
        if (e.variant == "v2+cd" && e.task == "i0" && (e.metric == "repeat" || e.metric == "non_exist" || e.metric == "in_history")) {
            QVERIFY2(e.value == 0.0, (e.metric + " " + std::to_string(e.value)).c_str());
            ++checked;
        } else if (e.variant == "v2+cd" && e.task == "i0" && e.metric == "list_length") {
            QCOMPARE(e.value, 10.0);  // exactly k items: an empty list does not pass
            ++checked;
        }
    QCOMPARE(checked, 4);
    store.close();
    const CliRun again = cli({QStringLiteral("run"), file, QStringLiteral("--workspace"), ws});
    QVERIFY2(again.code == 0, qPrintable(again.out.right(3000)));
    for (const char* st : {"rl_full_grpo", "eval_v2+cd"})
        QVERIFY2(again.out.contains(QStringLiteral("stage %1: reusing").arg(QLatin1String(st))), st);

    const QString sdpo = miniCopy(QStringLiteral("sdpo.yaml"), "variants: [sasrec, mostpop, zeroshot, palr, v1, v2, v3, full]",
                                  "variants: [v2, sdpo]");
    const CliRun failed = cli({QStringLiteral("run"), sdpo, QStringLiteral("--workspace"), ws});
    QCOMPARE(failed.code, 1);
    QVERIFY2(failed.out.contains(QStringLiteral("dpo.samples_per_prompt: dpo_sdpo: no prompt gave a preference")),
             qPrintable(failed.out.right(1500)));
    QVERIFY2(failed.out.contains(QStringLiteral("all illegal of")), qPrintable(failed.out.right(1500)));
}

QTEST_GUILESS_MAIN(TstPipeline)
#include "tst_pipeline.moc"
