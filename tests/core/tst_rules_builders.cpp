// Rules layer, sample builders: find_maximum_category, train windows, SFT epochs (determinism,
// labels from the teacher, composition), RL prompts, the test suite, eval task names, ShareGPT
// loading, and one full SFT epoch of ml-latest-small parsed back to its labels.
#include "core/api/error.h"
#include "core/data/importers.h"
#include "core/data/synthetic.h"
#include "core/rules/builders.h"
#include "core/rules/general.h"
#include "core/rules/parse.h"
#include "core/rules/reward.h"

#include "tst_rules_common.h"

#include <QtTest>

#include <algorithm>
#include <map>
#include <set>

using namespace tst_rules_common;

class TstRulesBuilders : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void findMaximumCategoryHasSftAndRlSemantics();
    void trainWindowsFollowTheReleasedSampling();
    void sftEpochIsDeterministicAndResamplesEachEpoch();
    void sftLabelsFollowTheTeacher();
    void sftEpochCompositionMatchesTheRecipes();
    void rlPromptsFollowTheRlRules();
    void testSuiteFollowsTheTestRules();
    void evalTaskNamesRoundTrip();
    void loadsShareGptAndReportsBadFiles();
    void mlLatestSmallEpochParsesBackToItsLabels();
};


// ---- builders -----------------------------------------------------------------------------------

void TstRulesBuilders::findMaximumCategoryHasSftAndRlSemantics()
{
    const Dataset d = tinyCatalogue();
    // ref 7 · 8 · 15 · 19 · 20, target 1 (Drama): Comedy 2, Horror 3, Western 2.
    QCOMPARE(findMaximumCategories(d, {7, 8, 15, 19, 20}, 1, false), (std::vector<CategoryId>{2}));
    QCOMPARE(findMaximumCategories(d, {7, 8, 15, 19, 20}, 1, true, 2), (std::vector<CategoryId>{1, 2, 3}));
    // Target 19 (Horror, Western): only Drama and Comedy are eligible.
    QCOMPARE(findMaximumCategories(d, {7, 8, 15, 19, 20}, 19, false), (std::vector<CategoryId>{1}));
    // Every count 0: all categories without the target.
    QCOMPARE(findMaximumCategories(d, {}, 1, false), (std::vector<CategoryId>{1, 2, 3}));
    QCOMPARE(findMaximumCategories(d, {}, 1, true), (std::vector<CategoryId>{1, 2, 3}));
}

void TstRulesBuilders::trainWindowsFollowTheReleasedSampling()
{
    const Dataset d = tinyCatalogue();  // u0: 13 items → S = 11 items
    const std::vector<ItemId> S = d.trainSequence(0);
    QCOMPARE(S.size(), size_t(11));
    std::set<size_t> targets, lengths;
    for (uint64_t seed = 0; seed < 2000; ++seed) {
        Rng rng(seed);
        std::vector<ItemId> h;
        ItemId target = 0;
        size_t t = 0;
        QVERIFY(drawTrainWindow(d, 0, rng, 10, h, target, &t));
        QVERIFY(t >= 1 && t <= 10);
        QCOMPARE(target, S[t]);
        QVERIFY(!h.empty() && h.size() <= std::min<size_t>(10, t));
        QVERIFY(std::equal(h.begin(), h.end(), S.begin() + std::ptrdiff_t(t - h.size())));
        targets.insert(t);
        lengths.insert(h.size());
    }
    QCOMPARE(targets.size(), size_t(10));  // every t in 1..10 occurs
    QCOMPARE(lengths.size(), size_t(10));  // every length in 1..10 occurs
    Rng rng(1);
    std::vector<ItemId> h;
    ItemId target;
    Dataset shortUser = d;
    shortUser.users[1].sequence = {3};
    QVERIFY(!drawTrainWindow(shortUser, 1, rng, 10, h, target));
}

namespace {
Dataset syntheticSmall()
{
    SyntheticOptions o;
    o.seed = 11;
    o.items = 150;
    o.users = 60;
    return generateSynthetic(o);
}
std::string fingerprintOf(const std::vector<Sample>& v)
{
    std::string s;
    for (const auto& x : v)
        s += x.task_name + "|" + renderLlama2Chat(x.prompt) + "|" + x.output_text + "\n";
    return s;
}
}  // namespace

void TstRulesBuilders::sftEpochIsDeterministicAndResamplesEachEpoch()
{
    const Dataset d = syntheticSmall();
    const MostPopTeacher teacher(d);
    SftOptions o;
    o.task.seed = 5;
    const auto a = buildSftEpoch(d, &teacher, o, 0);
    const auto b = buildSftEpoch(d, &teacher, o, 0);
    QCOMPARE(fingerprintOf(a), fingerprintOf(b));
    o.task.teacher_batch = 7;  // batching does not change the samples
    QCOMPARE(fingerprintOf(buildSftEpoch(d, &teacher, o, 0)), fingerprintOf(a));
    const auto c = buildSftEpoch(d, &teacher, o, 1);
    QVERIFY(fingerprintOf(c) != fingerprintOf(a));
    o.task.seed = 6;
    QVERIFY(fingerprintOf(buildSftEpoch(d, &teacher, o, 0)) != fingerprintOf(a));
}

void TstRulesBuilders::sftLabelsFollowTheTeacher()
{
    const Dataset d = syntheticSmall();
    const MostPopTeacher teacher(d);
    SftOptions o;
    o.task.seed = 3;
    const TitleLookup lookup(d);
    for (SftTask task : {SftTask::SeqRec, SftTask::PersonalControl, SftTask::CategoryRate, SftTask::ControlRecRe, SftTask::SeqRecPalr}) {
        const auto samples = buildSftTask(task, d, &teacher, o, 0);
        QVERIFY(!samples.empty());
        for (const Sample& s : samples) {
            QVERIFY(s.history.size() <= 10);
            const ItemScores sc = teacher.scoreBatch({s.history})[0];
            // The output text parses back to the labels, and is "1. T1\n 2. T2 ...\n".
            if (s.task != TaskKind::CategoryQuestion) {
                QVERIFY(s.output_text.back() == '\n');
                QCOMPARE(itemsOf(parseOutput(s.output_text, lookup)), s.label_items);
                QCOMPARE(int(s.label_items.size()), s.item_count);
                QCOMPARE(std::count(s.output_text.begin(), s.output_text.end(), '\n'), long(s.item_count));
            }
            const std::string rendered = renderLlama2Chat(s.prompt);
            QCOMPARE(std::count(rendered.begin(), rendered.end(), '\n'), 4L);
            if (task == SftTask::SeqRec) {
                QCOMPARE(s.label_items.front(), s.target);
                auto top = topkFromScores(d, sc, s.item_count, CategoryConstraint::none(), s.history, true);
                top.erase(std::remove(top.begin(), top.end(), s.target), top.end());
                top.resize(size_t(s.item_count) - 1);
                QVERIFY(std::equal(top.begin(), top.end(), s.label_items.begin() + 1));
                if (s.template_id == TemplateId::SeqRec1) {
                    QCOMPARE(s.candidates.size(), size_t(10));
                    QCOMPARE(std::set<ItemId>(s.candidates.begin(), s.candidates.end()).size(), size_t(10));
                }
            } else if (task == SftTask::PersonalControl) {
                const bool plus = s.control == Control::Include;
                for (ItemId id : s.label_items)
                    QCOMPARE(d.inCategory(id, s.target_category), plus);
                if (!plus) {
                    const auto ref = topkFromScores(d, sc, 10, CategoryConstraint::none(), s.history, true);
                    const auto best = findMaximumCategories(d, ref, s.target, false);
                    QVERIFY(std::find(best.begin(), best.end(), s.target_category) != best.end());
                }
                QVERIFY(s.prompt.instruction.find(s.intention) != std::string::npos);
            } else if (task == SftTask::CategoryRate) {
                const long in = std::count_if(s.label_items.begin(), s.label_items.end(),
                                              [&](ItemId id) { return d.inCategory(id, s.target_category); });
                // m = tcic + {−1, 0} (L) or tcic + {0, +1} (M) in-C items, fewer only when the
                // history holds the category's other items.
                const auto& members = d.categories[size_t(s.target_category)].members;
                const long available = std::count_if(members.begin(), members.end(), [&](ItemId id) {
                    return std::find(s.history.begin(), s.history.end(), id) == s.history.end();
                });
                if (s.control == Control::AtMost)
                    QVERIFY(in <= s.category_count && in >= std::min<long>(s.category_count - 1, available));
                else
                    QVERIFY(in <= s.category_count + 1 && in >= std::min<long>(s.category_count, available));
                const long historyInC = long(members.size()) - available;
                QVERIFY(s.item_count <= 10 && s.item_count >= 10 - historyInC);
            } else if (task == SftTask::ControlRecRe) {
                QCOMPARE(s.label_items, std::vector<ItemId>{s.item});
                if (s.task == TaskKind::CategoryQuestion)
                    QCOMPARE(s.output_text, formatCategoryAnswer(d.title(s.item), d.categories[size_t(s.target_category)].name));
                else
                    QCOMPARE(d.inCategory(s.item, s.target_category), s.control == Control::Include);
            } else {
                // PALR: the user's real following items.
                const auto S = d.trainSequence(s.user);
                const auto at = std::search(S.begin(), S.end(), s.label_items.begin(), s.label_items.end());
                QVERIFY(at != S.end());
                QCOMPARE(*at, s.target);
            }
        }
    }
    QVERIFY_THROWS_EXCEPTION(CoreException, buildSftTask(SftTask::SeqRec, d, nullptr, o, 0));
}

void TstRulesBuilders::sftEpochCompositionMatchesTheRecipes()
{
    const Dataset d = syntheticSmall();
    const MostPopTeacher teacher(d);
    SftOptions o;
    BuildReport report;
    const auto v2 = buildSftEpoch(d, &teacher, o, 0, &report);
    std::map<std::string, long> counts;
    for (const auto& s : v2)
        ++counts[s.task_name];
    long eligibleUsers = 0;
    for (UserIndex u = 0; u < d.numUsers(); ++u)
        eligibleUsers += d.trainSequence(u).size() >= 2;
    QCOMPARE(counts["SFTSeqRec"], eligibleUsers);
    QCOMPARE(counts["SFTPersonalCategoryRate"], eligibleUsers);
    QCOMPARE(counts["SFTControlRec_re"], long(d.numItems()));  // every synthetic item has a category
    const long rec = counts["SFTSeqRec"] + counts["SFTPersonalControlRec"] + counts["SFTPersonalCategoryRate"] + counts["SFTControlRec_re"];
    QCOMPARE(counts["ShareChatGPT"], long(0.5 * double(rec)));
    QCOMPARE(long(v2.size()), rec + counts["ShareChatGPT"]);
    QCOMPARE(report.produced["ShareChatGPT"], counts["ShareChatGPT"]);
    o.mix = SftMix::V1;
    for (const auto& s : buildSftEpoch(d, &teacher, o, 0))
        QCOMPARE(s.task_name, std::string("SFTSeqRec"));
    o.mix = SftMix::Palr;
    for (const auto& s : buildSftEpoch(d, nullptr, o, 0))
        QCOMPARE(s.task_name, std::string("SFTSeqRecPALR"));
    o.task.max_history = 0;
    QVERIFY_THROWS_EXCEPTION(CoreException, buildSftEpoch(d, &teacher, o, 0));
    QCOMPARE(parseSftMix("v2"), SftMix::V2);
    QVERIFY_THROWS_EXCEPTION(CoreException, parseSftMix("v3"));
}

void TstRulesBuilders::rlPromptsFollowTheRlRules()
{
    const Dataset d = syntheticSmall();
    const MostPopTeacher teacher(d);
    TaskOptions o;
    o.seed = 9;
    const auto rl = buildRlPrompts(d, teacher, o, 0);
    std::map<std::string, long> counts;
    for (const Sample& s : rl) {
        ++counts[s.task_name];
        QVERIFY(s.item_count >= 6 && s.item_count <= 10);
        QVERIFY(s.output_text.empty());
        if (s.control == Control::Include || s.control == Control::AtLeast || s.control == Control::About)
            QVERIFY(d.inCategory(s.target, s.target_category));
        if (s.control == Control::Exclude || s.control == Control::AtMost) {
            QVERIFY(!d.inCategory(s.target, s.target_category));
            const auto ref = topkFromScores(d, teacher.scoreBatch({s.history})[0], s.item_count, CategoryConstraint::none(), s.history, true);
            const auto c = findMaximumCategories(d, ref, s.target, true, 2);
            QVERIFY(std::find(c.begin(), c.end(), s.target_category) != c.end());
        }
        if (s.task == TaskKind::CategoryRate) {
            QVERIFY(s.category_count >= 0 && s.category_count <= s.item_count);
            QNEAR(s.proportion, double(s.category_count) / s.item_count);
        }
    }
    QCOMPARE(counts.size(), size_t(6));
    o.released_rl_rate_bug = true;
    for (const Sample& s : buildRlPrompts(d, teacher, o, 0, {RlTask::RateEP}))
        QNEAR(s.proportion, double((10 * s.category_count / s.item_count) * 10) / 100.0);
}

void TstRulesBuilders::testSuiteFollowsTheTestRules()
{
    const Dataset d = syntheticSmall();
    const MostPopTeacher teacher(d);
    SuiteOptions o;
    BuildReport report;
    const auto suite = buildEvalSuite(d, teacher, o, defaultTestTasks(), &report);
    std::map<std::string, std::vector<const Sample*>> byTask;
    for (const auto& s : suite)
        byTask[s.task_name].push_back(&s);
    QCOMPARE(byTask.size(), size_t(7));
    for (const auto& [name, samples] : byTask) {
        long idx = 0;
        for (const Sample* s : samples) {
            QCOMPARE(s->history, d.testHistory(s->user, 10));
            QCOMPARE(s->target, d.testTarget(s->user));
            QCOMPARE(s->output_text, d.title(s->target));
            if (name == "SFTTestItemCount")
                QCOMPARE(s->item_count, 11 + int(idx % 5));
            else
                QCOMPARE(s->item_count, 10);
            if (name == "SFT+TestPersonalControlRec" || name == "SFTTestPersonalCategoryRateMP_30" ||
                name == "SFTTestPersonalCategoryRateEP_30")
                QCOMPARE(s->target_category, d.categoriesOf(s->target).back());
            if (name == "SFT-TestPersonalControlRec" || name == "SFTTestPersonalCategoryRateLP1_20") {
                const auto ref = topkFromScores(d, teacher.scoreBatch({s->history})[0], 10, CategoryConstraint::none(), s->history, true);
                QCOMPARE(s->target_category, findMaximumCategories(d, ref, s->target, false).back());
            }
            ++idx;
        }
    }
    const Sample* lp = byTask["SFTTestPersonalCategoryRateLP1_20"].front();
    QCOMPARE(lp->category_count, 2);
    QNEAR(lp->proportion, 0.2);
    QVERIFY(lp->prompt.instruction.find("should be less than or equal to 20%. ") != std::string::npos);
    QCOMPARE(byTask["SFTTestPersonalCategoryRateMP_30"].front()->category_count, 3);
    // Validation slices: disjoint consecutive users per task.
    o.split = Stage::Valid;
    o.users_per_task = 5;
    o.disjoint_slices = true;
    const auto val = buildEvalSuite(d, teacher, o, rlValidationTasks());
    QCOMPARE(val.size(), size_t(35));
    QCOMPARE(val[5].user, val[0].user + 5);
    QCOMPARE(val[0].target, d.validTarget(val[0].user));
    // The model's own I0 outputs as ref lists.
    auto refs = std::make_shared<std::map<UserIndex, std::vector<ItemId>>>();
    (*refs)[0] = {};
    o = SuiteOptions{};
    o.ref_lists = refs;
    o.users_per_task = 1;
    const auto own = buildEvalSuite(d, teacher, o, {EvalTask::parse("i1-")});
    QCOMPARE(own.size(), size_t(1));
    QCOMPARE(own[0].user, 0);
    QCOMPARE(own[0].target_category, findMaximumCategories(d, {}, own[0].target, false).back());
    Sample s;
    EvalOverrides ov;
    ov.category = 0;
    ov.percent = 50;
    ov.item_count = 8;
    QVERIFY(buildEvalSample(d, EvalTask::parse("i2approx"), 0, o, {}, 0, ov, s));
    QCOMPARE(s.category_count, 4);
    QVERIFY(s.prompt.instruction.find("approximately 50%") != std::string::npos);
}

void TstRulesBuilders::evalTaskNamesRoundTrip()
{
    for (const auto& t : defaultTestTasks())
        QCOMPARE(EvalTask::parse(t.name()).name(), t.name());
    QCOMPARE(EvalTask::parse("i2le").name(), std::string("SFTTestPersonalCategoryRateLP1_20"));
    QCOMPARE(EvalTask::parse("i2ge_40").name(), std::string("SFTTestPersonalCategoryRateMP_40"));
    QCOMPARE(EvalTask::parse("RLPersonalCategoryRateEP_50").percent, 50);
    QCOMPARE(EvalTask::parse("i3").kind, TaskKind::ItemSearch);
    QVERIFY_THROWS_EXCEPTION(CoreException, EvalTask::parse("i9"));
    QVERIFY_THROWS_EXCEPTION(CoreException, EvalTask::parse("i2le_x"));
}

void TstRulesBuilders::loadsShareGptAndReportsBadFiles()
{
    const auto conv = loadShareGpt(std::string(RECALIGN_SOURCE_DIR) + "/tests/fixtures/rules/sharegpt_small.json");
    QCOMPARE(conv.size(), size_t(3));
    QCOMPARE(conv[0].turns.size(), size_t(4));
    QCOMPARE(conv[1].turns, (std::vector<std::string>{"Count to three.", "1, 2, 3."}));  // system, leading gpt, open question dropped
    QCOMPARE(conv[2].turns, (std::vector<std::string>{"First question", "First answer"}));  // cut at the broken alternation
    try {
        loadShareGpt("/nonexistent/share.json");
        QFAIL("expected an error");
    } catch (const CoreException& e) {
        QCOMPARE(e.error().code, ErrorCode::DataLoad);
        QVERIFY(std::string(e.what()).find("/nonexistent/share.json") != std::string::npos);
    }
    QVERIFY_THROWS_EXCEPTION(CoreException, parseShareGpt("[{\"conversations\": 3}]", "x.json"));
    QVERIFY_THROWS_EXCEPTION(CoreException, parseShareGpt("{", "x.json"));
    // I4 samples: a human turn with its reply; multi-turn windows render every turn.
    std::set<std::string> outputs;
    for (uint64_t seed = 0; seed < 64; ++seed) {
        Rng rng(seed);
        const Sample s = buildGeneralSample(conv, rng);
        QCOMPARE(s.task, TaskKind::General);
        outputs.insert(s.output_text);
        if (s.output_text == "Madrid.")
            QVERIFY(s.prompt.instruction == "And of Spain?");
    }
    QVERIFY(outputs.count("Madrid.") && outputs.count("1, 2, 3.") && outputs.count("The capital of France is Paris."));
    // The catalogue set is deterministic and answers from the catalogue.
    const Dataset d = tinyCatalogue();
    const auto a = catalogueConversations(d, 1, 50), b = catalogueConversations(d, 1, 50);
    QCOMPARE(a.size(), size_t(50));
    for (size_t i = 0; i < a.size(); ++i)
        QCOMPARE(a[i].turns, b[i].turns);
}

void TstRulesBuilders::mlLatestSmallEpochParsesBackToItsLabels()
{
    DatasetSpec spec;
    spec.source = DatasetSource::MovieLens;
    spec.path = std::string(RECALIGN_SHARED_DIR) + "/data/ml-latest-small";
    const Dataset d = loadDataset(spec);
    const MostPopTeacher teacher(d);
    SftOptions o;
    o.task.seed = 2024;
    BuildReport report;
    const auto epoch = buildSftEpoch(d, &teacher, o, 0, &report);
    long eligibleUsers = 0;
    for (UserIndex u = 0; u < d.numUsers(); ++u)
        eligibleUsers += d.trainSequence(u).size() >= 2;
    QCOMPARE(report.produced["SFTSeqRec"], eligibleUsers);
    QCOMPARE(report.produced["SFTControlRec_re"], long(d.numItems()));
    const TitleLookup lookup(d);
    long lists = 0;
    for (const Sample& s : epoch) {
        if (s.task == TaskKind::General || s.task == TaskKind::CategoryQuestion)
            continue;
        ++lists;
        // Real titles ("Matrix, The (1999)", "Pulp Fiction (1994)", "Seven (a.k.a. Se7en) (1995)")
        // parse back to the labels (by title: a shared title maps to its first item).
        const auto parsed = parseOutput(s.output_text, lookup);
        QCOMPARE(parsed.size(), s.label_items.size());
        for (size_t i = 0; i < parsed.size(); ++i)
            QCOMPARE(d.title(parsed[i].item), d.title(s.label_items[i]));
        // Teacher labels are legal lists: no repeats, nothing from the history, k items.
        for (Legality l : judgeLegality(s.label_items, s))
            QCOMPARE(l, Legality::Legal);
    }
    QVERIFY(lists > 3 * 600);
}

QTEST_GUILESS_MAIN(TstRulesBuilders)
#include "tst_rules_builders.moc"
