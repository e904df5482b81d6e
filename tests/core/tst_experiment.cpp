// Experiment files and tables: schema defaults, every validation error path (each names its key
// and line), YAML and canonical-JSON round trips, the shipped experiments, and golden CSV /
// LaTeX / Markdown exports of the paper's tables.
#include "core/api/experiment.h"
#include "core/api/tables.h"

#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <fstream>
#include <set>

using namespace recalign::core;

namespace tst_experiment_detail {

// The first error for `key`, or nullptr.
const ConfigIssue* findIssue(const std::vector<ConfigIssue>& issues, const std::string& key)
{
    for (const auto& i : issues)
        if (i.key == key)
            return &i;
    return nullptr;
}

std::string describe(const std::vector<ConfigIssue>& issues)
{
    std::string s;
    for (const auto& i : issues)
        s += formatIssue(i) + "\n";
    return s;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::string experimentsDir() { return std::string(RECALIGN_SOURCE_DIR) + "/experiments"; }

EvalRow row(const std::string& variant, const std::string& task, const std::string& metric, double value, long n = 100,
            int64_t run = 1)
{
    return EvalRow{run, variant, task, metric, value, n, 0.0};
}

}  // namespace tst_experiment_detail

using namespace tst_experiment_detail;

class TstExperiment : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void defaultsComeFromTheSchemaTable();
    void defaultConfigValidates();
    void unknownKeyNamesNearestValidKeys();
    void wrongTypeNamesKeyAndLine();
    void outOfRangeNamesKeyAndAllowedRange();
    void badEnumNamesChoicesAndSuggestion();
    void variantRecipesParseFromTheirNames();
    void missingFileNamesKeyAndResolvedPath();
    void missingFilesCanBeWarningsOrSkipped();
    void relativePathsResolveAgainstTheYamlFolder();
    void versionFieldIsChecked();
    void syntaxErrorsAndDuplicatesNameTheLine();
    void crossFieldRulesNameTheKey();
    void yamlRoundTripKeepsEveryField();
    void canonicalJsonIsSortedStableAndSectionable();
    void setFieldFromTextChecksLikeTheLoader();
    void shippedExperimentsValidate();
    void paperExperimentsAreSchemaValid();
    void tableRowsFollowThePaperOrder();
    void seedGroupsAggregateToMeanAndSampleStd();
    void wilcoxonHolmAndBootstrapMatchHandComputedValues();
    void pairedTestOfAHandComputedCaseMarksTheCell();
    void rankingHandlesLowerIsBetterTiesAndMissing();
    void csvExportGolden();
    void latexExportGolden();
    void markdownExportGolden();
    void formatTableAddsGeneralAbilityOnlyWhenPresent();
    void severalRunsAreLabelled();
};

void TstExperiment::defaultsComeFromTheSchemaTable()
{
    const ExperimentConfig c = defaultExperiment();
    const auto& schema = experimentSchema();
    QVERIFY(schema.size() > 100);
    std::set<std::string> keys;
    for (const auto& f : schema) {
        QVERIFY2(keys.insert(f.key).second, f.key.c_str());
        QVERIFY2(!f.doc.empty(), f.key.c_str());
        QVERIFY2(!f.group.empty(), f.key.c_str());
        if (f.type == ConfigField::Type::Enum)
            QVERIFY2(!f.choices.empty(), f.key.c_str());
        // The default config shows each field's default text (strings come back quoted).
        std::string expected = f.default_value;
        if (f.type == ConfigField::Type::String || f.type == ConfigField::Type::Path)
            expected = "\"" + expected + "\"";
        QCOMPARE(QString::fromStdString(fieldValueText(c, f.key)), QString::fromStdString(expected));
    }
    // Released-code values (RECLM-GEN §2.1, §4, §5) and the paper's reward as default.
    QCOMPARE(c.sft.lora.r, 16);
    QCOMPARE(c.sft.lora.alpha, 8.0);
    QCOMPARE(c.sft.epochs, 40);
    QCOMPARE(c.ppo.actor_lora.r, 4);
    QCOMPARE(c.ppo.kl_coef, 0.3);
    QCOMPARE(c.ppo.lam, 1.0);
    QCOMPARE(c.ppo.top_k, 20);
    QCOMPARE(c.teacher.dropout, 0.5);
    QCOMPARE(c.teacher.maxlen, 10);
    QVERIFY(c.ppo.reward_variant == RewardVariant::Paper);
    QVERIFY(c.model.source == ModelConfig::Source::FromScratch);
    QVERIFY(c.device.kind == DeviceSpec::Kind::Auto);
    QCOMPARE(c.variants.size(), size_t(8));
    QCOMPARE(c.evaluation.tasks.size(), size_t(7));
    // Enum choices line up with the enums' names.
    for (Variant v : allVariants()) {
        Variant back;
        QVERIFY(parseVariant(variantName(v), &back));
        QVERIFY(back == v);
    }
    QCOMPARE(QString::fromStdString(fieldValueText(c, "variants")),
             QStringLiteral("[sasrec, mostpop, zeroshot, palr, v1, v2, v3, full]"));
    QCOMPARE(QString::fromStdString(fieldValueText(c, "evaluation.tasks")),
             QStringLiteral("[i0, i1+, i1-, i2le_20, i2ge_30, i2approx_30, itemcount]"));
}

void TstExperiment::defaultConfigValidates()
{
    const auto check = checkExperimentText("", "");
    QVERIFY2(check.ok(), describe(check.errors).c_str());
    QVERIFY(validateExperiment(defaultExperiment()).empty());
}

void TstExperiment::unknownKeyNamesNearestValidKeys()
{
    const auto check = checkExperimentText("name: x\nppo:\n  kl_coeff: 0.2\nsfft:\n  lr: 0.1\n", "");
    QVERIFY(!check.ok());
    const ConfigIssue* i = findIssue(check.errors, "ppo.kl_coeff");
    QVERIFY2(i, describe(check.errors).c_str());
    QCOMPARE(i->line, 3);
    QVERIFY2(contains(i->message, "unknown key") && contains(i->message, "'ppo.kl_coef'"), i->message.c_str());
    const ConfigIssue* s = findIssue(check.errors, "sfft");
    QVERIFY2(s && contains(s->message, "'sft'"), describe(check.errors).c_str());
    QCOMPARE(s->line, 4);
    // A key in the wrong section points at where it lives.
    const auto moved = checkExperimentText("ppo:\n  lora:\n    r: 8\n", "");
    const ConfigIssue* m = findIssue(moved.errors, "ppo.lora");
    QVERIFY2(m && contains(m->message, "ppo.actor_lora"), describe(moved.errors).c_str());
    // Nothing close: the message lists the section's keys.
    const auto far = checkExperimentText("teacher:\n  zzzzzzzzzzzzzzzzzz: 1\n", "");
    const ConfigIssue* f = findIssue(far.errors, "teacher.zzzzzzzzzzzzzzzzzz");
    QVERIFY2(f && contains(f->message, "hidden") && contains(f->message, "patience"), describe(far.errors).c_str());
}

void TstExperiment::wrongTypeNamesKeyAndLine()
{
    const auto check = checkExperimentText("sft:\n  epochs: many\n  full_finetune: maybe\nseeds: 3\nppo: 7\nteacher:\n  lr: [1, 2]\n", "");
    const ConfigIssue* e = findIssue(check.errors, "sft.epochs");
    QVERIFY2(e && e->line == 2 && contains(e->message, "expected an integer") && contains(e->message, "'many'"),
             describe(check.errors).c_str());
    const ConfigIssue* b = findIssue(check.errors, "sft.full_finetune");
    QVERIFY2(b && b->line == 3 && contains(b->message, "true or false"), describe(check.errors).c_str());
    const ConfigIssue* s = findIssue(check.errors, "seeds");
    QVERIFY2(s && s->line == 4 && contains(s->message, "expected a list"), describe(check.errors).c_str());
    const ConfigIssue* p = findIssue(check.errors, "ppo");
    QVERIFY2(p && p->line == 5 && contains(p->message, "expected a section") && contains(p->message, "kl_coef"),
             describe(check.errors).c_str());
    const ConfigIssue* l = findIssue(check.errors, "teacher.lr");
    QVERIFY2(l && l->line == 7 && contains(l->message, "single value"), describe(check.errors).c_str());
    const auto el = checkExperimentText("seeds: [1, x]\n", "");
    const ConfigIssue* x = findIssue(el.errors, "seeds");
    QVERIFY2(x && contains(x->message, "element 2") && contains(x->message, "integer"), describe(el.errors).c_str());
    const auto nul = checkExperimentText("sft:\n  epochs:\n", "");
    QVERIFY2(findIssue(nul.errors, "sft.epochs") && contains(findIssue(nul.errors, "sft.epochs")->message, "missing value"),
             describe(nul.errors).c_str());
}

void TstExperiment::outOfRangeNamesKeyAndAllowedRange()
{
    const auto check = checkExperimentText("ppo:\n  gamma: 1.5\n  lr: 0\nevaluation:\n  topk: 50\nseeds: [1, -2]\n", "");
    const ConfigIssue* g = findIssue(check.errors, "ppo.gamma");
    QVERIFY2(g && g->line == 2 && contains(g->message, "out of range") && contains(g->message, "between 0 and 1"),
             describe(check.errors).c_str());
    const ConfigIssue* lr = findIssue(check.errors, "ppo.lr");
    QVERIFY2(lr && lr->line == 3 && contains(lr->message, "> 0"), describe(check.errors).c_str());
    const ConfigIssue* k = findIssue(check.errors, "evaluation.topk");
    QVERIFY2(k && k->line == 5 && contains(k->message, "between 1 and 20"), describe(check.errors).c_str());
    const ConfigIssue* s = findIssue(check.errors, "seeds");
    QVERIFY2(s && s->line == 6 && contains(s->message, "-2"), describe(check.errors).c_str());
}

void TstExperiment::variantRecipesParseFromTheirNames()
{
    VariantRecipe r;
    QVERIFY(parseVariantRecipe("full", &r));
    QVERIFY(r.align == VariantRecipe::Align::Rl && r.item_reward && !r.algorithm_set && r.sft == "v2" && !r.constrained);
    QVERIFY(parseVariantRecipe("v3_grpo", &r));
    QVERIFY(r.align == VariantRecipe::Align::Rl && !r.item_reward && r.algorithm_set && r.algorithm == RlAlgorithm::Grpo);
    QVERIFY(parseVariantRecipe("full_drgrpo+cd", &r));
    QVERIFY(r.dr_grpo && r.constrained && r.trainedName() == "full_drgrpo");
    QVERIFY(parseVariantRecipe("full_rpp", &r) && r.algorithm == RlAlgorithm::ReinforcePp);
    QVERIFY(parseVariantRecipe("sdpo", &r) && r.align == VariantRecipe::Align::Sdpo && r.sft == "v2");
    QVERIFY(parseVariantRecipe("v2+cd", &r) && r.align == VariantRecipe::Align::None && r.constrained);
    QVERIFY(parseVariantRecipe("zeroshot+cd", &r) && r.kind == VariantRecipe::Kind::ZeroShot);
    std::string why;
    QVERIFY(!parseVariantRecipe("v2_grpo", &r, &why) && contains(why, "only v3 and full"));
    QVERIFY(!parseVariantRecipe("full_ppo2", &r, &why) && contains(why, "ppo, grpo, drgrpo, rloo, rpp"));
    QVERIFY(!parseVariantRecipe("sasrec+cd", &r, &why) && contains(why, "LLM rows"));
    QVERIFY(!parseVariantRecipe("v9", &r, &why) && contains(why, "sasrec, mostpop"));
    // Display names and the table order: a recipe follows its base.
    QCOMPARE(QString::fromStdString(variantDisplayName("full_grpo")), QStringLiteral("Ours_full (GRPO)"));
    QCOMPARE(QString::fromStdString(variantDisplayName("full_drgrpo+cd")), QStringLiteral("Ours_full (Dr. GRPO) +CD"));
    QCOMPARE(QString::fromStdString(variantDisplayName("sdpo")), QStringLiteral("S-DPO"));
    QCOMPARE(QString::fromStdString(variantDisplayName("v2+cd")), QStringLiteral("Ours_v2 +CD"));
    // A file naming recipes validates and keeps them in order; a bad one names its element.
    const auto ok = checkExperimentText("variants: [v2, full, full_grpo, v2+cd, sdpo]\n", "");
    QVERIFY2(ok.ok(), describe(ok.errors).c_str());
    QCOMPARE(ok.config.variants.size(), size_t(5));
    QCOMPARE(QString::fromStdString(fieldValueText(ok.config, "variants")),
             QStringLiteral("[v2, full, full_grpo, v2+cd, sdpo]"));
    const auto bad = checkExperimentText("ppo:\n  algorithm: grpo\n  samples_per_prompt: 1\nvariants: [v2, full_gpro]\n", "");
    const ConfigIssue* v = findIssue(bad.errors, "variants");
    QVERIFY2(v && v->line == 4 && contains(v->message, "element 2") && contains(v->message, "'gpro'"), describe(bad.errors).c_str());
    const ConfigIssue* spp = findIssue(bad.errors, "ppo.samples_per_prompt");
    QVERIFY2(spp && contains(spp->message, ">= 2 with ppo.algorithm grpo"), describe(bad.errors).c_str());
}

void TstExperiment::badEnumNamesChoicesAndSuggestion()
{
    const auto check = checkExperimentText("teacher:\n  layer_norm: postt\nvariants: [v1, v9]\ndevice: gpu\n", "");
    const ConfigIssue* ln = findIssue(check.errors, "teacher.layer_norm");
    QVERIFY2(ln && ln->line == 2 && contains(ln->message, "'post', 'pre', 'qonly'") && contains(ln->message, "did you mean 'post'"),
             describe(check.errors).c_str());
    const ConfigIssue* v = findIssue(check.errors, "variants");
    QVERIFY2(v && v->line == 3 && contains(v->message, "element 2") && contains(v->message, "'v9'"), describe(check.errors).c_str());
    const ConfigIssue* d = findIssue(check.errors, "device");
    QVERIFY2(d && d->line == 4 && contains(d->message, "cuda:N"), describe(check.errors).c_str());
    const auto ok = checkExperimentText("device: cuda:1\n", "");
    QVERIFY2(ok.ok(), describe(ok.errors).c_str());
    QCOMPARE(ok.config.device.index, 1);
}

void TstExperiment::missingFileNamesKeyAndResolvedPath()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const std::string base = dir.path().toStdString();
    const auto check = checkExperimentText(
        "dataset:\n  source: movielens\n  path: nope/ml\nmodel:\n  source: hf\n  path: weights\nevaluation:\n  mmlu_path: mmlu.csv\n", base);
    const ConfigIssue* d = findIssue(check.errors, "dataset.path");
    QVERIFY2(d && d->line == 3 && contains(d->message, base + "/nope/ml") && contains(d->message, "does not exist"),
             describe(check.errors).c_str());
    const ConfigIssue* m = findIssue(check.errors, "model.path");
    QVERIFY2(m && m->line == 6 && contains(m->message, "model folder"), describe(check.errors).c_str());
    const ConfigIssue* q = findIssue(check.errors, "evaluation.mmlu_path");
    QVERIFY2(q && q->line == 8, describe(check.errors).c_str());
    // Required paths: a non-synthetic source without a path, llama2c without a tokenizer.
    const auto req = checkExperimentText("dataset:\n  source: amazon\nmodel:\n  source: llama2c\n  path: m.bin\n", base);
    QVERIFY2(findIssue(req.errors, "dataset.path") && contains(findIssue(req.errors, "dataset.path")->message, "required"),
             describe(req.errors).c_str());
    QVERIFY2(findIssue(req.errors, "tokenizer.path") && contains(findIssue(req.errors, "tokenizer.path")->message, "llama2c"),
             describe(req.errors).c_str());
}

void TstExperiment::missingFilesCanBeWarningsOrSkipped()
{
    const std::string text = "dataset:\n  source: steam\n  path: /definitely/not/here\n";
    ValidateOptions warn;
    warn.missing_files = FileCheck::Warning;
    const auto w = checkExperimentText(text, "", warn);
    QVERIFY2(w.ok(), describe(w.errors).c_str());
    QCOMPARE(w.warnings.size(), size_t(1));
    QCOMPARE(QString::fromStdString(w.warnings[0].key), QStringLiteral("dataset.path"));
    QCOMPARE(w.warnings[0].line, 3);
    ValidateOptions skip;
    skip.missing_files = FileCheck::Skip;
    const auto s = checkExperimentText(text, "", skip);
    QVERIFY(s.ok());
    QVERIFY(s.warnings.empty());
    // A required path stays an error whatever the file mode.
    QVERIFY(!checkExperimentText("dataset:\n  source: steam\n", "", skip).ok());
    // The Result form lists every issue with key and line.
    auto r = loadExperimentText(text, "");
    QVERIFY(!r.ok());
    QCOMPARE(r.error().code, ErrorCode::InvalidConfig);
    QVERIFY2(contains(r.error().message, "3: dataset.path: data path"), r.error().message.c_str());
}

void TstExperiment::relativePathsResolveAgainstTheYamlFolder()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const std::string base = dir.path().toStdString();
    QVERIFY(QDir(dir.path()).mkpath(QStringLiteral("sub/data")));
    const std::string yaml = base + "/sub/exp.yaml";
    {
        std::ofstream out(yaml);
        out << "dataset:\n  source: native\n  path: data\n";
    }
    {
        std::ofstream out(base + "/sub/data/x");
        out << "x";
    }
    auto r = loadExperiment(yaml);
    QVERIFY2(r.ok(), r.error().message.c_str());
    QCOMPARE(QString::fromStdString(r.value().dataset.path), QStringLiteral("data"));
    QCOMPARE(QString::fromStdString(resolvePath(r.value(), r.value().dataset.path)), QString::fromStdString(base + "/sub/data"));
    // Saving into another folder keeps naming the same files.
    ExperimentConfig moved = r.value();
    rebasePaths(moved, base + "/other/deeper");
    QCOMPARE(QString::fromStdString(moved.dataset.path), QStringLiteral("../../sub/data"));
    QCOMPARE(QString::fromStdString(resolvePath(moved, moved.dataset.path)), QString::fromStdString(base + "/sub/data"));
    QCOMPARE(QString::fromStdString(canonicalJson(moved)), QString::fromStdString(canonicalJson(r.value())));
    // The same file from the parent folder does not exist there.
    QVERIFY(!loadExperimentText("dataset:\n  source: native\n  path: data\n", base).ok());
    QVERIFY(!loadExperiment(base + "/missing.yaml").ok());
}

void TstExperiment::versionFieldIsChecked()
{
    const auto newer = checkExperimentText("version: 2\nname: x\n", "");
    const ConfigIssue* v = findIssue(newer.errors, "version");
    QVERIFY2(v && v->line == 1 && contains(v->message, "between 1 and 1"), describe(newer.errors).c_str());
    QVERIFY(checkExperimentText("version: 1\n", "").ok());
    QVERIFY(findIssue(checkExperimentText("version: one\n", "").errors, "version"));
}

void TstExperiment::syntaxErrorsAndDuplicatesNameTheLine()
{
    const auto bad = checkExperimentText("name: x\nsft:\n  lr: [1, 2\n", "");
    QVERIFY(!bad.ok());
    QVERIFY2(contains(bad.errors[0].message, "YAML syntax error") && bad.errors[0].line >= 3, describe(bad.errors).c_str());
    const auto dup = checkExperimentText("name: a\nname: b\n", "");
    const ConfigIssue* d = findIssue(dup.errors, "name");
    QVERIFY2(d && d->line == 2 && contains(d->message, "duplicate"), describe(dup.errors).c_str());
    const auto list = checkExperimentText("- a\n- b\n", "");
    QVERIFY2(!list.ok() && contains(list.errors[0].message, "mapping"), describe(list.errors).c_str());
}

void TstExperiment::crossFieldRulesNameTheKey()
{
    const auto c = checkExperimentText(
        "model:\n  dim: 60\n  n_heads: 8\nteacher:\n  hidden: 30\n  heads: 4\nvariants: [v1, v1]\n"
        "dataset:\n  synthetic:\n    min_sequence_length: 20\n    max_sequence_length: 10\nppo:\n  lm_head_trainable: true\n  actor_lora:\n    targets: [q, lm_head]\n",
        "");
    for (const char* key : {"model.n_heads", "teacher.heads", "variants", "dataset.synthetic.min_sequence_length", "ppo.actor_lora.targets"})
        QVERIFY2(findIssue(c.errors, key), (std::string(key) + " missing in:\n" + describe(c.errors)).c_str());
    QCOMPARE(findIssue(c.errors, "model.n_heads")->line, 3);
    QCOMPARE(findIssue(c.errors, "variants")->line, 7);
    // float16 storage needs a GPU; bfloat16 runs on the CPU too.
    const auto half = checkExperimentText("device: cpu\nmodel:\n  dtype: float16\n", "");
    QVERIFY2(findIssue(half.errors, "model.dtype") && contains(findIssue(half.errors, "model.dtype")->message, "bfloat16"),
             describe(half.errors).c_str());
    QVERIFY(!findIssue(checkExperimentText("device: cuda\nmodel:\n  dtype: float16\n", "").errors, "model.dtype"));
    QVERIFY(!findIssue(checkExperimentText("device: cpu\nmodel:\n  dtype: bfloat16\n", "").errors, "model.dtype"));
    // init_adapter: a PEFT folder (with adapter_config.json), and LoRA training.
    QTemporaryDir adapterDir;
    const std::string empty = adapterDir.path().toStdString();
    const auto noConfig = checkExperimentText("sft:\n  init_adapter: " + empty + "\n", "");
    QVERIFY2(findIssue(noConfig.errors, "sft.init_adapter")
                 && contains(findIssue(noConfig.errors, "sft.init_adapter")->message, "adapter_config.json"),
             describe(noConfig.errors).c_str());
    const auto missing = checkExperimentText("ppo:\n  init_adapter: " + empty + "/nothing\n", "");
    QVERIFY2(findIssue(missing.errors, "ppo.init_adapter"), describe(missing.errors).c_str());
    const auto full = checkExperimentText("sft:\n  full_finetune: true\n  init_adapter: " + empty + "\n", "");
    QVERIFY2(findIssue(full.errors, "sft.init_adapter")
                 && contains(describe(full.errors), "full_finetune"),
             describe(full.errors).c_str());
    const auto seq = checkExperimentText("model:\n  max_seq_len: 256\n", "");
    QVERIFY2(findIssue(seq.errors, "model.max_seq_len") && contains(findIssue(seq.errors, "model.max_seq_len")->message, "1024"),
             describe(seq.errors).c_str());
}

void TstExperiment::yamlRoundTripKeepsEveryField()
{
    auto loaded = loadExperiment(experimentsDir() + "/quickstart.yaml");
    QVERIFY2(loaded.ok(), loaded.error().message.c_str());
    ExperimentConfig c = loaded.value();
    c.description = "quotes \" and \\ backslash, 'single', colon: x, #hash, newline\nÜnïcödé 東京";
    c.name = "null";
    c.ppo.kl_coef = 0.123456789012345;
    c.sft.end_lr = 3e-9;
    c.device = parseDevice("cuda:3").value();
    c.evaluation.tasks = {TestTask::I1Minus, TestTask::I0};
    for (bool comments : {false, true}) {
        const std::string yaml = toYaml(c, comments);
        const auto back = checkExperimentText(yaml, c.base_dir);
        QVERIFY2(back.ok(), (describe(back.errors) + yaml).c_str());
        QCOMPARE(QString::fromStdString(canonicalJson(back.config)), QString::fromStdString(canonicalJson(c)));
        QCOMPARE(QString::fromStdString(back.config.description), QString::fromStdString(c.description));
        QCOMPARE(back.config.ppo.kl_coef, c.ppo.kl_coef);
        QCOMPARE(QString::fromStdString(toYaml(back.config, comments)), QString::fromStdString(yaml));
    }
    const std::string yaml = toYaml(c);
    QVERIFY(contains(yaml, "ppo:\n  actor_lora:\n    r: 4\n"));
    QVERIFY(contains(yaml, "\ntokenizer:\n  path: \"\"\n"));
}

void TstExperiment::canonicalJsonIsSortedStableAndSectionable()
{
    const auto a = checkExperimentText("name: x\nppo:\n  kl_coef: 0.1\n  lr: 0.00001\nseeds: [3, 1]\n", "/tmp");
    const auto b = checkExperimentText("seeds: [3, 1]\nppo:\n  lr: 1e-5\n  kl_coef: 0.10\nname: x\n", "/tmp");
    QVERIFY(a.ok() && b.ok());
    const std::string ja = canonicalJson(a.config);
    QCOMPARE(QString::fromStdString(ja), QString::fromStdString(canonicalJson(b.config)));
    QVERIFY(ja.find("\"dataset\"") < ja.find("\"evaluation\"") && ja.find("\"evaluation\"") < ja.find("\"model\""));
    QVERIFY(contains(ja, "\"seeds\":[3,1]"));
    QVERIFY(contains(ja, "\"kl_coef\":0.1,"));
    const std::string ppoOnly = canonicalJson(a.config, {"ppo"});
    QVERIFY(ppoOnly.rfind("{\"ppo\":{", 0) == 0);
    QVERIFY(!contains(ppoOnly, "\"sft\""));
    // Paths are resolved so the same file from different folders hashes the same.
    const auto p1 = checkExperimentText("sft:\n  sharegpt_path: data/s.json\n", "/srv/x", {FileCheck::Skip});
    const auto p2 = checkExperimentText("sft:\n  sharegpt_path: ../x/data/s.json\n", "/srv/y", {FileCheck::Skip});
    QCOMPARE(QString::fromStdString(canonicalJson(p1.config, {"sft"})), QString::fromStdString(canonicalJson(p2.config, {"sft"})));
    QVERIFY(contains(canonicalJson(p1.config, {"sft"}), "\"/srv/x/data/s.json\""));
}

void TstExperiment::setFieldFromTextChecksLikeTheLoader()
{
    ExperimentConfig c = defaultExperiment();
    QVERIFY(setFieldFromText(c, "ppo.kl_coef", "0.05").empty());
    QCOMPARE(c.ppo.kl_coef, 0.05);
    QVERIFY(setFieldFromText(c, "variants", "[v2, full]").empty());
    QCOMPARE(c.variants.size(), size_t(2));
    QVERIFY(c.variants[1] == variant_name::kFull);
    QVERIFY(setFieldFromText(c, "description", "a: b # not a comment").empty());
    QCOMPARE(QString::fromStdString(c.description), QStringLiteral("a: b # not a comment"));
    // Every field reads back what fieldValueText() writes (quoted strings are unquoted).
    const ExperimentConfig defaults = defaultExperiment();
    ExperimentConfig back = defaultExperiment();
    back.name = "changed";
    back.ppo.kl_coef = 9;
    for (const auto& f : experimentSchema())
        QVERIFY2(setFieldFromText(back, f.key, fieldValueText(defaults, f.key)).empty(), f.key.c_str());
    QCOMPARE(QString::fromStdString(canonicalJson(back)), QString::fromStdString(canonicalJson(defaults)));
    QVERIFY(setFieldFromText(back, "name", "'single quoted'").empty());
    QCOMPARE(QString::fromStdString(back.name), QStringLiteral("single quoted"));
    const auto bad = setFieldFromText(c, "teacher.loss", "mse");
    QVERIFY(bad.size() == 1 && bad[0].key == "teacher.loss" && contains(bad[0].message, "'ce', 'bce'"));
    const auto unknown = setFieldFromText(c, "ppo.kl_coeff", "1");
    QVERIFY(unknown.size() == 1 && contains(unknown[0].message, "ppo.kl_coef"));
    QVERIFY(!setFieldFromText(c, "sft.epochs", "1.5").empty());
    QCOMPARE(c.sft.epochs, 40);  // unchanged on error
}

void TstExperiment::shippedExperimentsValidate()
{
    for (const char* name : {"quickstart.yaml", "quickstart-algorithms.yaml", "movielens-small.yaml", "stories260k-probe.yaml"}) {
        const auto check = checkExperimentFile(experimentsDir() + "/" + name);
        QVERIFY2(check.ok(), (std::string(name) + ":\n" + describe(check.errors)).c_str());
        QVERIFY2(check.warnings.empty(), name);
    }
    const auto q = checkExperimentFile(experimentsDir() + "/quickstart.yaml").config;
    QCOMPARE(q.variants.size(), size_t(8));
    QVERIFY(q.dataset.source == DatasetConfig::Source::Synthetic);
    QVERIFY(q.model.source == ModelConfig::Source::FromScratch);
    const auto ml = checkExperimentFile(experimentsDir() + "/movielens-small.yaml").config;
    QCOMPARE(QString::fromStdString(resolvePath(ml, ml.dataset.path)),
             QDir::cleanPath(QStringLiteral(RECALIGN_SHARED_DIR "/data/ml-latest-small")));
    const auto probe = checkExperimentFile(experimentsDir() + "/stories260k-probe.yaml").config;
    QVERIFY(probe.model.source == ModelConfig::Source::Llama2c);
    QVERIFY(QFileInfo::exists(QString::fromStdString(resolvePath(probe, probe.tokenizer.path))));
}

void TstExperiment::paperExperimentsAreSchemaValid()
{
    for (const char* name : {"paper-movies.yaml", "paper-steam.yaml"}) {
        const std::string file = experimentsDir() + "/" + name;
        const auto schema = checkExperimentFile(file, {FileCheck::Skip});
        QVERIFY2(schema.ok(), (std::string(name) + ":\n" + describe(schema.errors)).c_str());
        const auto& c = schema.config;
        QVERIFY(c.model.source == ModelConfig::Source::Hf);
        QVERIFY(c.device.kind == DeviceSpec::Kind::Cuda);
        QCOMPARE(c.sft.lora.r, 16);
        QCOMPARE(c.ppo.actor_lora.r, 4);
        QCOMPARE(c.ppo.kl_coef, 0.3);
        // With file checks on, only the external files are reported, each under its key.
        const auto full = checkExperimentFile(file);
        QVERIFY(!full.ok());
        for (const auto& e : full.errors)
            QVERIFY2(e.key == "dataset.path" || e.key == "model.path" || e.key == "sft.sharegpt_path",
                     (std::string(name) + ": " + formatIssue(e)).c_str());
        QVERIFY(findIssue(full.errors, "model.path"));
        const auto warned = checkExperimentFile(file, {FileCheck::Warning});
        QVERIFY(warned.ok());
        QCOMPARE(warned.warnings.size(), full.errors.size());
    }
}

void TstExperiment::tableRowsFollowThePaperOrder()
{
    using namespace metric_name;
    using namespace task_name;
    std::vector<EvalRow> rows = {row("full", kI0, kHr, 0.11), row("mystery", kI0, kHr, 0.01), row("sasrec", kI0, kHr, 0.12),
                                 row("v1", kI0, kHr, 0.10), row("zeroshot", kI0, kHr, 0.01), row("v2", kI0, kNdcg, 0.09),
                                 row("palr", kI1Plus, kHr, 0.2)};
    const Table t = buildTable(TableKind::I0, rows);
    QCOMPARE(QString::fromStdString(t.id), QStringLiteral("i0"));
    QStringList names;
    for (const auto& r : t.rows)
        names << QString::fromStdString(r.name);
    // palr has no I0 cell: dropped; unknown variants come last.
    QCOMPARE(names, QStringList({QStringLiteral("SASRec"), QStringLiteral("Zero-shot"), QStringLiteral("Ours_v1"),
                                 QStringLiteral("Ours_v2"), QStringLiteral("Ours_full"), QStringLiteral("mystery")}));
    QVERIFY(t.rows[3].cells[0].missing);
    QCOMPARE(t.rows[3].cells[1].value, 0.09);
    QCOMPARE(QString::fromStdString(t.columns[0].name), QStringLiteral("HR@10"));
    TableOptions k5;
    k5.k = 5;
    const Table t5 = buildTable(TableKind::I0, {row("v1", kI0, kHr, 0.5)}, k5);
    QCOMPARE(QString::fromStdString(t5.columns[0].name), QStringLiteral("HR@5"));
    QCOMPARE(t5.rows.size(), size_t(1));
}

void TstExperiment::rankingHandlesLowerIsBetterTiesAndMissing()
{
    using namespace metric_name;
    using namespace task_name;
    std::vector<EvalRow> rows = {row("v1", kI1Minus, kTcpPct, 30.0), row("v2", kI1Minus, kTcpPct, 12.5),
                                 row("v3", kI1Minus, kTcpPct, 12.504), row("full", kI1Minus, kTcpPct, 20.0),
                                 row("sasrec", kI1Plus, kHr, 0.3)};
    const Table t = buildTable(TableKind::I1, rows);
    QCOMPARE(t.columns.size(), size_t(6));
    const size_t tcpMinus = 5;
    QVERIFY(t.columns[tcpMinus].lower_is_better);
    // Rows: SASRec, v1, v2, v3, full. 12.50 and 12.50 (2 decimals) tie for best; 20 is second.
    const ColumnRanking r = rankColumn(t, tcpMinus);
    QCOMPARE(r.best, std::vector<size_t>({2, 3}));
    QCOMPARE(r.second, std::vector<size_t>({4}));
    // A column with a single value is not ranked.
    QVERIFY(rankColumn(t, 0).best.empty());
    // I2 TCP columns are unranked.
    const Table i2 = buildTable(TableKind::I2, {row("v1", kI2Le20, kTcpPct, 10), row("v2", kI2Le20, kTcpPct, 20)});
    QVERIFY(!i2.columns[1].ranked);
    QVERIFY(rankColumn(i2, 1).best.empty());
}

// Rows shared by the golden export tests: I1 with bold/underline in both directions.
static Table goldenI1()
{
    using namespace metric_name;
    using namespace task_name;
    std::vector<EvalRow> rows = {
        row("v1", kI1Plus, kHr, 0.1), row("v1", kI1Plus, kNdcg, 0.05), row("v1", kI1Plus, kTcpPct, 8.69),
        row("v1", kI1Minus, kHr, 0.1), row("v1", kI1Minus, kNdcg, 0.07), row("v1", kI1Minus, kTcpPct, 40),
        row("v2", kI1Plus, kHr, 0.262), row("v2", kI1Plus, kNdcg, 0.1814), row("v2", kI1Plus, kTcpPct, 81.38),
        row("v2", kI1Minus, kHr, 0.12), row("v2", kI1Minus, kNdcg, 0.08), row("v2", kI1Minus, kTcpPct, 10.5),
        row("full", kI1Plus, kHr, 0.2336), row("full", kI1Plus, kNdcg, 0.1574), row("full", kI1Plus, kTcpPct, 93.52),
        row("full", kI1Minus, kHr, 0.11), row("full", kI1Minus, kTcpPct, 2.25)};
    return buildTable(TableKind::I1, rows);
}

void TstExperiment::csvExportGolden()
{
    const std::string expected =
        "method,+C HR@10,+C NDCG@10,+C TCP@10,-C HR@10,-C NDCG@10,-C TCP@10\n"
        "Ours_v1,0.1000,0.0500,8.69,0.1000,0.0700,40.00\n"
        "Ours_v2,0.2620,0.1814,81.38,0.1200,0.0800,10.50\n"
        "Ours_full,0.2336,0.1574,93.52,0.1100,,2.25\n";
    QCOMPARE(QString::fromStdString(exportTable(goldenI1(), ExportFormat::Csv)), QString::fromStdString(expected));
    // A title with a comma is quoted; several tables are separated and titled.
    Table t = goldenI1();
    t.rows[0].name = "Ours, \"v1\"";
    QVERIFY(contains(exportTable(t, ExportFormat::Csv), "\n\"Ours, \"\"v1\"\"\",0.1000"));
    const std::string two = exportTables({goldenI1(), goldenI1()}, ExportFormat::Csv);
    QVERIFY(two.rfind("# I1", 0) == 0);
    QCOMPARE(QString::fromStdString(two),
             QString::fromStdString("# " + goldenI1().title + "\n" + expected + "\n# " + goldenI1().title + "\n" + expected));
}

void TstExperiment::latexExportGolden()
{
    const std::string expected =
        "\\begin{table}[t]\n"
        "  \\centering\n"
        "  \\caption{I1: category control (+C: items of C; -C: items not of C; TCP in \\%)}\n"
        "  \\label{tab:i1}\n"
        "  \\begin{tabular}{lrrrrrr}\n"
        "    \\toprule\n"
        "    & \\multicolumn{3}{c}{+C} & \\multicolumn{3}{c}{-C} \\\\\n"
        "    \\cmidrule(lr){2-4} \\cmidrule(lr){5-7}\n"
        "    Method & HR@10 & NDCG@10 & TCP@10 & HR@10 & NDCG@10 & TCP@10 $\\downarrow$ \\\\\n"
        "    \\midrule\n"
        "    Ours\\_v1 & 0.1000 & 0.0500 & 8.69 & 0.1000 & \\underline{0.0700} & 40.00 \\\\\n"
        "    Ours\\_v2 & \\textbf{0.2620} & \\textbf{0.1814} & \\underline{81.38} & \\textbf{0.1200} & \\textbf{0.0800} & \\underline{10.50} \\\\\n"
        "    Ours\\_full & \\underline{0.2336} & \\underline{0.1574} & \\textbf{93.52} & \\underline{0.1100} & -- & \\textbf{2.25} \\\\\n"
        "    \\bottomrule\n"
        "  \\end{tabular}\n"
        "\\end{table}\n";
    QCOMPARE(QString::fromStdString(exportTable(goldenI1(), ExportFormat::Latex)), QString::fromStdString(expected));
    // Unicode group names and percent signs are escaped; standard errors use \pm.
    using namespace metric_name;
    using namespace task_name;
    EvalRow a = row("v3", kI2Le20, kCpaPct, 33.74);
    a.std_error = 1.5;
    const Table i2 = buildTable(TableKind::I2, {a, row("full", kI2Le20, kCpaPct, 45.9)});
    ExportOptions se;
    se.with_stderr = true;
    const std::string tex = exportTable(i2, ExportFormat::Latex, se);
    QVERIFY2(contains(tex, "\\multicolumn{2}{c}{$\\leq$20\\%}"), tex.c_str());
    QVERIFY2(contains(tex, "\\underline{33.74 $\\pm$ 1.50}"), tex.c_str());
    QVERIFY2(contains(tex, "\\textbf{45.90}"), tex.c_str());
}

void TstExperiment::markdownExportGolden()
{
    const std::string expected =
        "**I1: category control (+C: items of C; -C: items not of C; TCP in %)**\n"
        "\n"
        "| Method | +C HR@10 | +C NDCG@10 | +C TCP@10 | -C HR@10 | -C NDCG@10 | -C TCP@10 ↓ |\n"
        "|:--|--:|--:|--:|--:|--:|--:|\n"
        "| Ours_v1 | 0.1000 | 0.0500 | 8.69 | 0.1000 | <u>0.0700</u> | 40.00 |\n"
        "| Ours_v2 | **0.2620** | **0.1814** | <u>81.38</u> | **0.1200** | **0.0800** | <u>10.50</u> |\n"
        "| Ours_full | <u>0.2336</u> | <u>0.1574</u> | **93.52** | <u>0.1100</u> | – | **2.25** |\n";
    QCOMPARE(QString::fromStdString(exportTable(goldenI1(), ExportFormat::Markdown)), QString::fromStdString(expected));
}

void TstExperiment::formatTableAddsGeneralAbilityOnlyWhenPresent()
{
    using namespace metric_name;
    using namespace task_name;
    std::vector<EvalRow> rows = {row("v2", kI0, kCorrectCount, 0.99), row("v2", kI0, kRepeat, 0.5), row("v2", kI0, kNonExist, 1.2),
                                 row("v2", kI0, kInHistory, 0.8),     row("full", kI0, kCorrectCount, 1.0),
                                 row("full", kI0, kRepeat, 0.2),      row("full", kI0, kNonExist, 1.3),
                                 row("full", kI0, kInHistory, 0.1)};
    const Table plain = buildTable(TableKind::Format, rows);
    QCOMPARE(plain.columns.size(), size_t(4));
    QVERIFY(plain.columns[1].lower_is_better && plain.columns[2].lower_is_better && plain.columns[3].lower_is_better);
    // Lower is better: full's 0.20 repeat is best, v2's 1.20 non-exist is best.
    QCOMPARE(rankColumn(plain, 1).best, std::vector<size_t>({1}));
    QCOMPARE(rankColumn(plain, 2).best, std::vector<size_t>({0}));
    rows.push_back(row("full", kMmlu, kAccuracy, 0.415));
    const Table withMmlu = buildTable(TableKind::Format, rows);
    QCOMPARE(withMmlu.columns.size(), size_t(5));
    QCOMPARE(QString::fromStdString(withMmlu.columns[4].name), QStringLiteral("MMLU"));
    QVERIFY(withMmlu.rows[0].cells[4].missing);
    QVERIFY(contains(exportTable(withMmlu, ExportFormat::Markdown), "| Ours_full | **100.00** | **0.20** | <u>1.30</u> | **0.10** | 41.50 |"));
}

void TstExperiment::severalRunsAreLabelled()
{
    using namespace metric_name;
    using namespace task_name;
    std::vector<EvalRow> rows = {row("v1", kI0, kHr, 0.1, 10, 7), row("v1", kI0, kHr, 0.2, 10, 3), row("sasrec", kI0, kHr, 0.3, 10, 7)};
    TableOptions o;
    o.run_labels = {{7, "seed 0"}};
    const Table t = buildTable(TableKind::I0, rows, o);
    QStringList names;
    for (const auto& r : t.rows)
        names << QString::fromStdString(r.name);
    QCOMPARE(names, QStringList({QStringLiteral("SASRec (seed 0)"), QStringLiteral("Ours_v1 (seed 0)"), QStringLiteral("Ours_v1 (run 3)")}));
}

// Three runs of one seed group: each cell is the mean over the runs and the sample std (n - 1),
// computed here by hand; --per-seed keeps a row per run; a run outside the group stays a row.
void TstExperiment::seedGroupsAggregateToMeanAndSampleStd()
{
    using namespace metric_name;
    using namespace task_name;
    std::vector<EvalRow> rows;
    const double full[3] = {0.2, 0.3, 0.4}, v2[3] = {0.1, 0.1, 0.4};
    for (int k = 0; k < 3; ++k) {
        rows.push_back({10 + k, "full", kI0, kHr, full[k], 100, 0.03});
        rows.push_back({10 + k, "v2", kI0, kHr, v2[k], 100, 0.04});
    }
    rows.push_back({12, "v2", kI0, kNdcg, 0.05, 100, 0.0});  // one seed only has NDCG
    rows.push_back({20, "v2", kI0, kHr, 0.9, 50, 0.0});      // a run of no group
    TableOptions o;
    o.run_groups = {{10, 7}, {11, 7}, {12, 7}};
    o.group_labels = {{7, "quick"}};
    const Table t = buildTable(TableKind::I0, rows, o);
    QCOMPARE(t.rows.size(), size_t(3));  // v2 (group), v2 (run 20), full (group)
    QCOMPARE(QString::fromStdString(t.rows[0].name), QStringLiteral("Ours_v2 (quick)"));
    QCOMPARE(QString::fromStdString(t.rows[1].name), QStringLiteral("Ours_v2 (run 20)"));
    QCOMPARE(QString::fromStdString(t.rows[2].name), QStringLiteral("Ours_full (quick)"));
    QCOMPARE(t.rows[2].group_id, int64_t(7));
    QCOMPARE(t.rows[2].runs, std::vector<int64_t>({10, 11, 12}));
    const TableCell& f = t.rows[2].cells[0];
    QCOMPARE(f.seeds, 3);
    QVERIFY(std::fabs(f.value - 0.3) < 1e-12);
    QVERIFY(std::fabs(f.std_dev - 0.1) < 1e-12);  // sqrt((0.01 + 0 + 0.01) / 2)
    QCOMPARE(f.n, 300L);
    QVERIFY(std::fabs(f.std_error - std::sqrt(3 * 0.03 * 0.03) / 3) < 1e-12);
    const TableCell& g = t.rows[0].cells[0];
    QVERIFY(std::fabs(g.value - 0.2) < 1e-12);
    QVERIFY(std::fabs(g.std_dev - std::sqrt(0.03)) < 1e-12);  // deviations -0.1, -0.1, 0.2
    QCOMPARE(t.rows[0].cells[1].seeds, 1);  // NDCG from one seed: no std
    QCOMPARE(QString::fromStdString(formatCell(f, t.columns[0])), QStringLiteral("0.3000 ± 0.1000"));
    QCOMPARE(QString::fromStdString(formatCell(t.rows[0].cells[1], t.columns[0])), QStringLiteral("0.0500"));
    QCOMPARE(QString::fromStdString(formatCell(t.rows[1].cells[0], t.columns[0])), QStringLiteral("0.9000"));
    const std::string csv = exportTable(t, ExportFormat::Csv);
    QVERIFY2(csv.find("method,seeds,HR@10,HR@10 std,NDCG@10,NDCG@10 std\n") == 0, csv.c_str());
    QVERIFY2(csv.find("Ours_full (quick),3,0.3000,0.1000,,\n") != std::string::npos, csv.c_str());
    const std::string md = exportTable(t, ExportFormat::Markdown);
    QVERIFY2(md.find("0.3000 ± 0.1000") != std::string::npos && md.find("Mean ± sample std (n - 1) over n = 3 seeds") != std::string::npos,
             md.c_str());
    const std::string tex = exportTable(t, ExportFormat::Latex);
    QVERIFY2(tex.find("0.3000 $\\pm$ 0.1000") != std::string::npos, tex.c_str());
    o.per_seed = true;
    const Table p = buildTable(TableKind::I0, rows, o);
    QCOMPARE(p.rows.size(), size_t(7));
    for (const auto& r : p.rows)
        QCOMPARE(r.group_id, int64_t(0));
}

// Values checked by hand (and against scipy.stats.wilcoxon's defaults for the same inputs).
void TstExperiment::wilcoxonHolmAndBootstrapMatchHandComputedValues()
{
    // n = 5, |d| ranks 1..5, W+ = 1 + 2 + 3 + 5 = 11: P(W+ >= 11) = 7 / 32 (the subsets of
    // {1..5} summing to <= 4: {}, 1, 2, 3, 4, 1+2, 1+3), two-sided 14 / 32.
    QVERIFY(std::fabs(wilcoxonSignedRankP({1, 2, 3, -4, 5}) - 14.0 / 32.0) < 1e-12);
    // Zeros are dropped: the same test.
    QVERIFY(std::fabs(wilcoxonSignedRankP({0, 1, 2, 0, 3, -4, 5}) - 14.0 / 32.0) < 1e-12);
    QCOMPARE(wilcoxonSignedRankP({0, 0, 0}), 1.0);
    // All positive, n = 6: 2 / 64.
    QVERIFY(std::fabs(wilcoxonSignedRankP({1, 2, 3, 4, 5, 6}) - 2.0 / 64.0) < 1e-12);
    // Ties (normal approximation): d = 1, 1, 1, 1, -1 -> ranks all 3; W+ = 12, mean 7.5,
    // var = 5*6*11/24 - (125 - 5)/48 = 13.75 - 2.5 = 11.25; z = 4.5 / sqrt(11.25).
    const double z = 4.5 / std::sqrt(11.25);
    QVERIFY(std::fabs(wilcoxonSignedRankP({1, 1, 1, 1, -1}) - std::erfc(z / std::sqrt(2.0))) < 1e-12);

    const auto h = holmAdjust({0.01, 0.04, 0.03});
    QVERIFY(std::fabs(h[0] - 0.03) < 1e-12);
    QVERIFY(std::fabs(h[1] - 0.06) < 1e-12);  // 1 x 0.04, raised to the 0.06 before it
    QVERIFY(std::fabs(h[2] - 0.06) < 1e-12);  // 2 x 0.03
    QCOMPARE(holmAdjust({0.5, 0.9}), std::vector<double>({1.0, 1.0}));

    // Constant differences: every resample has the same mean; p is the smallest possible.
    const BootstrapResult c = pairedBootstrap({{0.5, 0.5}, {0.5, 0.5, 0.5}}, 999, 1);
    QCOMPARE(c.mean, 0.5);
    QCOMPARE(c.low, 0.5);
    QCOMPARE(c.high, 0.5);
    QVERIFY(std::fabs(c.p - 2.0 / 1000.0) < 1e-12);
    // The pooled mean weights units, not strata: (1 + 3 + 2) / 3.
    const BootstrapResult m = pairedBootstrap({{1, 3}, {2}}, 2000, 3);
    QVERIFY(std::fabs(m.mean - 2.0) < 1e-12);
    QVERIFY(m.low >= 1.0 - 1e-12 && m.high <= 3.0 + 1e-12 && m.low < m.mean && m.high > m.mean);
    // Same seed, same answer.
    const BootstrapResult m2 = pairedBootstrap({{1, 3}, {2}}, 2000, 3);
    QCOMPARE(m2.low, m.low);
    QCOMPARE(m2.high, m.high);
}

// Two seeds x four users; TCP (a count) of full and v2 on the same prompts. The differences are
// 1, 2, 0, 4 (seed 0) and 3, -5, 6, 7 (seed 1): pooled mean 18 / 8 = 2.25 (x 10 in the table's
// % scale); Wilcoxon drops the 0, ranks 1..7, W+ = 23, two-sided p = 2 x 10 / 128 (the subsets
// of {1..7} summing to <= 5 number 10).
void TstExperiment::pairedTestOfAHandComputedCaseMarksTheCell()
{
    using namespace metric_name;
    using namespace task_name;
    const std::vector<double> v2s0 = {3, 2, 5, 1}, d0 = {1, 2, 0, 4};
    const std::vector<double> v2s1 = {6, 9, 2, 1}, d1 = {3, -5, 6, 7};
    std::vector<EvalUnits> units;
    auto add = [&](int64_t run, const std::string& variant, const std::vector<double>& v, const std::vector<int64_t>& users) {
        std::vector<double> pct;  // the table shows tcp_pct (K = 10): 10 x the count
        for (double x : v)
            pct.push_back(10 * x);
        units.push_back({run, variant, kI1Plus, kTcpPct, users, pct});
    };
    std::vector<double> full0, full1;
    for (int k = 0; k < 4; ++k) {
        full0.push_back(v2s0[k] + d0[k]);
        full1.push_back(v2s1[k] + d1[k]);
    }
    // Seed 1's users come in another order for v2: matching is by user, not position.
    add(1, "v2", v2s0, {11, 12, 13, 14});
    add(1, "full", full0, {11, 12, 13, 14});
    add(2, "v2", {v2s1[3], v2s1[2], v2s1[1], v2s1[0]}, {24, 23, 22, 21});
    add(2, "full", full1, {21, 22, 23, 24});
    std::vector<EvalRow> rows;
    auto mean = [](const std::vector<double>& v) { return 10 * (v[0] + v[1] + v[2] + v[3]) / 4; };
    rows.push_back({1, "v2", kI1Plus, kTcpPct, mean(v2s0), 4, 0});
    rows.push_back({1, "full", kI1Plus, kTcpPct, mean(full0), 4, 0});
    rows.push_back({2, "v2", kI1Plus, kTcpPct, mean(v2s1), 4, 0});
    rows.push_back({2, "full", kI1Plus, kTcpPct, mean(full1), 4, 0});
    TableOptions o;
    o.run_groups = {{1, 5}, {2, 5}};
    Table t = buildTable(TableKind::I1, rows, o);
    SignificanceOptions so;
    so.resamples = 4000;
    addSignificance(t, units, so);
    QCOMPARE(t.tests.size(), size_t(1));  // one column has units; v2 vs v1 has no v1
    const PairedTest& pt = t.tests[0];
    QCOMPARE(QString::fromStdString(t.rows[pt.row_a].variant), QStringLiteral("full"));
    QCOMPARE(QString::fromStdString(t.rows[pt.row_b].variant), QStringLiteral("v2"));
    QCOMPARE(pt.units, 8L);
    QCOMPARE(pt.strata, 2);
    QVERIFY2(std::fabs(pt.mean_diff - 22.5) < 1e-9, std::to_string(pt.mean_diff).c_str());
    QVERIFY(std::fabs(pt.p_wilcoxon - 20.0 / 128.0) < 1e-12);
    QCOMPARE(pt.p_wilcoxon_holm, pt.p_wilcoxon);  // one test: Holm changes nothing
    QVERIFY(pt.ci_low < pt.mean_diff && pt.mean_diff < pt.ci_high);
    QCOMPARE(pt.significant, pt.p_bootstrap_holm <= 0.05);
    QCOMPARE(t.rows[pt.row_a].cells[pt.column].significant, pt.significant);
    QVERIFY(!t.tests_note.empty());
    // A large, consistent difference is significant and marked † in LaTeX and Markdown.
    std::vector<EvalUnits> strong;
    std::vector<int64_t> users;
    std::vector<double> lo, hi;
    for (int k = 0; k < 40; ++k) {
        users.push_back(k);
        lo.push_back(10.0 * (k % 3));
        hi.push_back(10.0 * (k % 3) + 20.0 + (k % 5));
    }
    strong.push_back({1, "v2", kI1Plus, kTcpPct, users, lo});
    strong.push_back({1, "full", kI1Plus, kTcpPct, users, hi});
    addSignificance(t, strong, so);
    QCOMPARE(t.tests.size(), size_t(1));
    QVERIFY(t.tests[0].significant);
    QVERIFY(t.tests[0].p_wilcoxon < 1e-6);
    QVERIFY(exportTable(t, ExportFormat::Latex).find("$^\\dagger$") != std::string::npos);
    QVERIFY(exportTable(t, ExportFormat::Latex).find("Holm") != std::string::npos);
    QVERIFY(exportTable(t, ExportFormat::Markdown).find("†") != std::string::npos);
    const std::string tests = exportTests(t, ExportFormat::Csv);
    QVERIFY2(tests.find("Ours_full vs Ours_v2,+C TCP@10,40,1,") != std::string::npos, tests.c_str());
}

QTEST_GUILESS_MAIN(TstExperiment)
#include "tst_experiment.moc"
