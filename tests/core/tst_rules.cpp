// Rules layer: templates against the exact strings of RECLM-GEN §3.2–3.4, the parser on
// adversarial outputs, legality, every branch of both rewards with hand-computed values, token
// placement (fake and real tokenizer) and metrics. The builders are in tst_rules_builders.cpp.
#include "core/api/error.h"
#include "core/rules/builders.h"
#include "core/rules/metrics.h"
#include "core/rules/parse.h"
#include "core/rules/reward.h"
#include "core/rules/token_placement.h"
#include "core/tokenizer/tokenizer.h"

#include "tst_rules_common.h"

#include <QtTest>

#include <algorithm>
#include <cmath>

using namespace tst_rules_common;

namespace {

Sample controlSample(Control c, int k, int cc, double m, CategoryId C, std::vector<ItemId> history, ItemId target)
{
    Sample s;
    s.task = c == Control::None ? TaskKind::SeqRec
           : c == Control::Include ? TaskKind::ControlInclude
           : c == Control::Exclude ? TaskKind::ControlExclude
                                   : TaskKind::CategoryRate;
    s.control = c;
    s.item_count = k;
    s.category_count = cc;
    s.proportion = m;
    s.target_category = C;
    s.history = std::move(history);
    s.target = target;
    return s;
}

RewardResult rewardOf(const Dataset& d, const Sample& s, const std::vector<ItemId>& items, RewardVariant v, bool itemLevel = true)
{
    const ItemScores scores = DescendingTeacher(d.numItems()).scoreBatch({s.history})[0];
    std::vector<std::string> titles(items.size());
    RewardOptions o;
    o.variant = v;
    o.item_level = itemLevel;
    return computeReward(s, d, items, titles, ranksFromScores(scores, items), o);
}

}  // namespace

class TstRules : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void rendersTheReleasedLlama2ChatStringExactly();
    void recommendationTemplatesAreVerbatim();
    void proportionTemplatesOfferSeedAndReleasedWording();
    void itemSearchTemplatesAndIntentionsAreVerbatim();
    void fieldFormatsFollowTheReleasedCode();
    void generalPromptsRenderSingleAndMultiTurn();
    void parsesTheCanonicalListWithSpans();
    void emptyAndWhitespaceOutputsHaveNoItems();
    void titlesWithDigitsAndDotsParseRight();
    void mixedNumberingBulletsQuotesAndCategorySuffixes();
    void fuzzyMappingIsOptionalAndUnicodeAware();
    void catalogueTitlesWithNewlinesJoinLines();
    void parsesAThousandLinesAndVeryLongLines();
    void numberedOnlyDropsChatter();
    void legalityIsCheckedInTheReleasedOrder();
    void paperRewardOnTheTenItemProportionList();
    void recaiRewardOnTheTenItemProportionList();
    void itemLevelOffKeepsTheListReward();
    void sequentialRewardBothVariants();
    void includeAndExcludeRewardsBothVariants();
    void atLeastAndAboutRewardsCoverEveryTaskBranch();
    void rewardRejectsTasksWithoutAList();
    void placesRewardsOnTheTokenThatCompletesEachTitle();
    void placementWorksWithTheStories260KTokenizer();
    void sampleMetricsMatchHandComputedValues();
    void metricsAggregateWithStandardErrors();
};


// ---- templates ----------------------------------------------------------------------------

void TstRules::rendersTheReleasedLlama2ChatStringExactly()
{
    // RECLM-GEN §3.2 worked example (I0), without the output.
    TemplateFields f;
    f.history = formatHistory({"Title A", "Title B", "Title C"});
    f.item_count = 10;
    const std::string got = renderLlama2Chat(renderTemplate(TemplateId::SeqRec0, f));
    const std::string expected =
        "[INST] <<SYS>>\nYou are an expert recommender engine. \n<</SYS>>\n\nYou need to generate a recommendation list "
        "considering user's preference from historical interactions.  [/INST] Ok, I will consider user's preference.  "
        "</s><s>[INST] The historical interactions are provided as follows: 'Title A' \xE2\x86\x92 'Title B' \xE2\x86\x92 "
        "'Title C'. Please generate a recommendation list with 10 different items.  [/INST]";
    QCOMPARE(got, expected);
    QCOMPARE(std::count(got.begin(), got.end(), '\n'), 4L);  // the 4 header newlines of §3.2
}

void TstRules::recommendationTemplatesAreVerbatim()
{
    TemplateFields f;
    f.history = "'A' \xE2\x86\x92 'B'";
    f.candidates = "'X', 'Y'";
    f.intention = "I like 'Drama' products";
    f.item_count = 5;
    ChatPrompt p = renderTemplate(TemplateId::SeqRec1, f);
    QCOMPARE(p.system, std::string("You are an expert recommender engine. "));
    QCOMPARE(p.first_user, std::string("You need to select a recommendation list considering user's preference from historical interactions. "));
    QCOMPARE(p.first_assistant, std::string("Ok, I will do it considering user's preference."));
    QCOMPARE(p.instruction, std::string("The historical interactions are provided as follows: 'A' \xE2\x86\x92 'B'. The candidate items are: "
                                        "'X', 'Y'. Please select a recommendation list with 5 different items from candidate items. "));
    p = renderTemplate(TemplateId::PersonalControlRec0, f);
    QCOMPARE(p.first_user, std::string("You need to generate a recommendation list simultaneously considering user's preference inferred "
                                       "from historical interactions and user's intention. If user's preference is conflict with his "
                                       "intention, you should comply with his intention. "));
    QCOMPARE(p.first_assistant, std::string("Ok, I will do it considering user's preference and intention. "));
    QCOMPARE(p.instruction, std::string("Here is user's historical interactions: 'A' \xE2\x86\x92 'B', and user's intention: I like 'Drama' "
                                        "products. Please generate a recommendation list with 5 different items. "));
    p = renderTemplate(TemplateId::PersonalControlRec1, f);
    QCOMPARE(p.first_user, std::string("You need to select a recommendation list from candidate items simultaneously considering user's "
                                       "preference inferred from historical interactions and user's intention. If user's preference is "
                                       "conflict with his intention, you should comply with his intention. "));
    QCOMPARE(p.first_assistant, std::string("Ok, I will do it considering user's preference, intention and candidate items. "));
    QCOMPARE(p.instruction, std::string("Here is user's historical interactions: 'A' \xE2\x86\x92 'B', and user's intention: I like 'Drama' "
                                        "products. The candidate items are: 'X', 'Y'. Please select a recommendation list with 5 "
                                        "different items from candidate items. "));
    // SeqRec-1's A1 has no trailing space, so a single space precedes </s><s>.
    const std::string r = renderLlama2Chat(renderTemplate(TemplateId::SeqRec1, f));
    QVERIFY(r.find("Ok, I will do it considering user's preference. </s><s>[INST] ") != std::string::npos);
}

void TstRules::proportionTemplatesOfferSeedAndReleasedWording()
{
    TemplateFields f;
    f.history = "'A'";
    f.category = "Drama";
    f.proportion = "20%";
    f.category_count = 2;
    f.item_count = 10;
    const std::string head = "Here is user's historical interactions: 'A', and user's intention: ";
    const std::string tail = "Please generate a recommendation list with 10 different items. ";
    // SFT-train group.
    ChatPrompt p = renderTemplate(TemplateId::RateSftLP, f, LeWording::Released);
    QCOMPARE(p.first_user, std::string("You need to generate a recommendation list simultaneously considering user's preference inferred "
                                       "from historical interactions and user's intention. "));
    QCOMPARE(p.first_assistant, std::string("Ok, I will do it considering user's preference and intention. "));
    QCOMPARE(p.instruction, head + "I like 'Drama' items, but in the recommendation list, the proportion of 'Drama' items should be "
                                   "less than 20%. " + tail);
    QCOMPARE(renderTemplate(TemplateId::RateSftMP, f).instruction,
             head + "I don't like 'Drama' items, but in the recommendation list, the proportion of 'Drama' items should be more than 20%. " + tail);
    QCOMPARE(renderTemplate(TemplateId::RateSftLC, f).instruction,
             head + "I like 'Drama' items, but the recommendation list should containing less than 2 'Drama' items. " + tail);
    QCOMPARE(renderTemplate(TemplateId::RateSftMC, f).instruction,
             head + "I don't like 'Drama' items, but the recommendation list should containing more than 2 'Drama' items. " + tail);
    // Test / RL group: the seed's "less than or equal to" by default, the released "less than" as option.
    p = renderTemplate(TemplateId::RateLP1, f);
    QCOMPARE(p.first_user, std::string("You need to generate a recommendation list simultaneously considering user's preference from "
                                       "historical interactions, and user's intention. "));
    QCOMPARE(p.first_assistant, std::string("Ok, I will consider user's preference and intention. "));
    QCOMPARE(p.instruction, head + "In the recommendation list, the proportion of 'Drama' items should be less than or equal to 20%. " + tail);
    QCOMPARE(renderTemplate(TemplateId::RateLP1, f, LeWording::Released).instruction,
             head + "In the recommendation list, the proportion of 'Drama' items should be less than 20%. " + tail);
    QCOMPARE(renderTemplate(TemplateId::RateLP, f, LeWording::Released).instruction,
             head + "I like 'Drama' items, but in the recommendation list, the proportion of 'Drama' items should be less than 20%. " + tail);
    QCOMPARE(renderTemplate(TemplateId::RateMP, f).instruction,
             head + "In the recommendation list, the proportion of 'Drama' items should be more than 20%. " + tail);
    QCOMPARE(renderTemplate(TemplateId::RateEP, f).instruction,
             head + "In the recommendation list, the proportion of 'Drama' items should be approximately 20%. " + tail);
}

void TstRules::itemSearchTemplatesAndIntentionsAreVerbatim()
{
    TemplateFields f;
    f.intention = "I'm interested in 'Horror'";
    f.candidates = "'X'";
    f.item_count = 1;
    f.item = "Heat";
    ChatPrompt p = renderTemplate(TemplateId::ControlRec0, f);
    QCOMPARE(p.first_user, std::string("You need to generate a recommendation list complying user's intention. "));
    QCOMPARE(p.first_assistant, std::string("Ok, I will do it considering user's intention. "));
    QCOMPARE(p.instruction, std::string("Here is user's intention: I'm interested in 'Horror'. Please generate a recommendation list with 1 different items. "));
    p = renderTemplate(TemplateId::ControlRec1, f);
    QCOMPARE(p.first_user, std::string("You need to select a recommendation list complying user's intention from candidate items. "));
    QCOMPARE(p.first_assistant, std::string("Ok, I will do it considering user's intention and candidate items. "));
    QCOMPARE(p.instruction, std::string("Here is user's intention: I'm interested in 'Horror'. The candidate items are: 'X'. Please select a "
                                        "recommendation list with 1 different items from candidate items. "));
    p = renderTemplate(TemplateId::ControlRecReverse, f);
    QCOMPARE(p.first_user, std::string("You need to answer user's question. "));
    QCOMPARE(p.first_assistant, std::string("Ok, I will do it. "));
    QCOMPARE(p.instruction, std::string("What is the category of \"Heat\"? "));
    QCOMPARE(formatCategoryAnswer("Heat", "Crime"), std::string("The category of \"Heat\" is \"Crime\"."));
    const char* pos[] = {"I like 'C' products", "Please recommend some 'C' items", "I'm interested in 'C'",
                         "I would like to buy some 'C' products", "I would like to browse some 'C' products", "I prefer in 'C' items"};
    const char* neg[] = {"I don't like 'C' products", "Please exclude any 'C' item", "I'm not interested in 'C'",
                         "Don't recommend me any 'C' products", "I don't want to browse any 'C' product", "I hate 'C' items"};
    for (int i = 0; i < kIntentionCount; ++i) {
        QCOMPARE(positiveIntention(i, "C"), std::string(pos[i]));
        QCOMPARE(negativeIntention(i, "C"), std::string(neg[i]));
    }
    QVERIFY_THROWS_EXCEPTION(CoreException, positiveIntention(6, "C"));
}

void TstRules::fieldFormatsFollowTheReleasedCode()
{
    QCOMPARE(formatHistory({"A", "B"}), std::string("'A' \xE2\x86\x92 'B'"));
    QCOMPARE(formatHistory({}), std::string());
    QCOMPARE(formatCandidates({"T1", "T2", "T3"}), std::string("'T1', 'T2', 'T3'"));
    QCOMPARE(formatOutputList({"T1", "T2", "T3"}), std::string("1. T1\n 2. T2\n 3. T3"));
    QCOMPARE(formatPercent(30), std::string("30%"));
    ChatPrompt p = renderTemplate(TemplateId::SeqRec0, TemplateFields{"'A'", {}, {}, {}, {}, 0, 10, {}});
    QCOMPARE(renderZeroShot(p, true),
             std::string("You are an expert recommender engine.  You need to generate a recommendation list considering user's "
                         "preference from historical interactions.  The historical interactions are provided as follows: 'A'. Please "
                         "generate a recommendation list with 10 different items.  \nNotice! Do not explain the reason or include any "
                         "other words."));
}

void TstRules::generalPromptsRenderSingleAndMultiTurn()
{
    ChatPrompt single;
    single.system = kGeneralSystem;
    single.instruction = "Hi?";
    QCOMPARE(renderLlama2Chat(single),
             std::string("[INST] <<SYS>>\nYou are a helpful, respectful and honest assistant.\n<</SYS>>\n\nHi? [/INST]"));
    ChatPrompt multi = single;
    multi.first_user = "Q1";
    multi.first_assistant = "A1";
    multi.more_turns = {{"Q2", "A2"}};
    multi.instruction = "Q3";
    QCOMPARE(renderLlama2Chat(multi),
             std::string("[INST] <<SYS>>\nYou are a helpful, respectful and honest assistant.\n<</SYS>>\n\nQ1 [/INST] A1 </s><s>[INST] Q2 "
                         "[/INST] A2 </s><s>[INST] Q3 [/INST]"));
}

// ---- parsing ------------------------------------------------------------------------------------

void TstRules::parsesTheCanonicalListWithSpans()
{
    const Dataset d = filmCatalogue();
    const TitleLookup lookup(d);
    const std::string text = formatOutputList({"2001: A Space Odyssey", "1917", "9. Ninth Gate", "Toy Story (1995)"}) + "\n";
    const auto p = parseOutput(text, lookup);
    QCOMPARE(p.size(), size_t(4));
    QCOMPARE(itemsOf(p), (std::vector<ItemId>{1, 2, 3, 4}));
    for (size_t i = 0; i < p.size(); ++i) {
        QCOMPARE(p[i].index_number, int(i) + 1);
        QCOMPARE(text.substr(p[i].title_begin, p[i].title_end - p[i].title_begin), p[i].title);
        QCOMPARE(text.substr(p[i].begin, p[i].end - p[i].begin), p[i].raw);
        QCOMPARE(p[i].exact_item, p[i].item);
    }
    QCOMPARE(p[2].title, std::string("9. Ninth Gate"));  // "3. " stripped, the title's own "9. " kept
    QCOMPARE(p[1].raw, std::string(" 2. 1917"));
}

void TstRules::emptyAndWhitespaceOutputsHaveNoItems()
{
    const Dataset d = filmCatalogue();
    const TitleLookup lookup(d);
    QVERIFY(parseOutput("", lookup).empty());
    QVERIFY(parseOutput("   \n\t\n \r\n", lookup).empty());
    QVERIFY(parseOutput("\n\n\n", lookup, ParseOptions{true, 3, true, false, true}).empty());
    // Blank lines between items are not items.
    QCOMPARE(itemsOf(parseOutput("1. Heat\n\n\n2. 1917", lookup)), (std::vector<ItemId>{5, 2}));
}

void TstRules::titlesWithDigitsAndDotsParseRight()
{
    const Dataset d = filmCatalogue();
    const TitleLookup lookup(d);
    // Unnumbered lines: digits are part of titles ("9." is not the expected number 1).
    QCOMPARE(itemsOf(parseOutput("9. Ninth Gate\n1917\n2001: A Space Odyssey\n10 Things I Hate About You", lookup)),
             (std::vector<ItemId>{3, 2, 1, 6}));
    // At position 9 the "9." is the expected numbering, but "Ninth Gate" is no title: the
    // catalogue keeps the number as part of the title.
    std::string text;
    for (int i = 0; i < 8; ++i)
        text += "Heat\n";
    text += "9. Ninth Gate\n10 Things I Hate About You";
    auto p = parseOutput(text, lookup);
    QCOMPARE(p.size(), size_t(10));
    QCOMPARE(p[8].item, ItemId(3));
    QCOMPARE(p[8].index_number, -1);
    QCOMPARE(p[9].item, ItemId(6));  // "10 " is no numbering (no separator)
    // Numbered: "1. 1917", "2. 2001: A Space Odyssey", "3) 9. Ninth Gate".
    p = parseOutput("1. 1917\n2. 2001: A Space Odyssey\n3) 9. Ninth Gate\n4 - Se7en", lookup);
    QCOMPARE(itemsOf(p), (std::vector<ItemId>{2, 1, 3, 11}));
    QCOMPARE(p[3].index_number, 4);
    // A repeated number is still stripped when only the stripped title exists.
    QCOMPARE(itemsOf(parseOutput("1. Heat\n1. 1917", lookup)), (std::vector<ItemId>{5, 2}));
    // "1.5" is not numbering; an unknown title keeps its text.
    p = parseOutput("1.5 Million", lookup);
    QCOMPARE(p.size(), size_t(1));
    QCOMPARE(p[0].title, std::string("1.5 Million"));
    QCOMPARE(p[0].item, ItemId(0));
}

void TstRules::mixedNumberingBulletsQuotesAndCategorySuffixes()
{
    const Dataset d = filmCatalogue();
    const TitleLookup lookup(d);
    QCOMPARE(itemsOf(parseOutput("1) Heat\n2 - 1917\n* Se7en\nAm\xC3\xA9lie\n5. Toy Story (1995)\r\n\xE2\x80\xA2 MI-5, Vol. 3", lookup)),
             (std::vector<ItemId>{5, 2, 11, 7, 4, 10}));
    const auto p = parseOutput("1. \"Heat\" (Crime)\n2. Heat [Action, Crime]\n3. 'Salem's Lot\n4. \xE2\x80\x9C" "Am\xC3\xA9lie\xE2\x80\x9D\n"
                               "5. Toy Story (1995) (animation)\n6. **Se7en**\n7. 'Heat'",
                               lookup);
    QCOMPARE(itemsOf(p), (std::vector<ItemId>{5, 5, 12, 7, 4, 11, 5}));
    QCOMPARE(p[0].title, std::string("Heat"));
    QCOMPARE(p[4].title, std::string("Toy Story (1995)"));
    // A suffix that is no category is kept unless dropping it gives an exact title.
    auto q = parseOutput("1. Heat (1995)\n2. Nowhere (1995)", lookup);
    QCOMPARE(itemsOf(q), (std::vector<ItemId>{5, 0}));
    QCOMPARE(q[0].title, std::string("Heat"));
    QCOMPARE(q[1].title, std::string("Nowhere (1995)"));
}

void TstRules::fuzzyMappingIsOptionalAndUnicodeAware()
{
    const Dataset d = filmCatalogue();
    const TitleLookup lookup(d);
    ParseOptions fuzzy;
    fuzzy.fuzzy = true;
    // "Amelie" is one code-point edit from "Amélie" (two bytes differ).
    auto p = parseOutput("1. Amelie\n2. Heatt\n3. Toy Story\n4. \xE5\x8D\x83\xE3\x81\xA8\xE5\x8D\x83", lookup, fuzzy);
    QCOMPARE(itemsOf(p), (std::vector<ItemId>{7, 5, 0, 8}));
    QCOMPARE(p[0].exact_item, ItemId(0));
    QVERIFY(p[0].fuzzy);
    QVERIFY(!p[2].fuzzy);
    p = parseOutput("1. Amelie\n2. Heatt", lookup);
    QCOMPARE(itemsOf(p), (std::vector<ItemId>{0, 0}));
    // A replaced fuzzy step (the data layer's index or a test double).
    TitleLookup custom(d);
    custom.setFuzzy([](const std::string& t, int) { return t == "zzz" ? ItemId(2) : ItemId(0); });
    QCOMPARE(itemsOf(parseOutput("1. zzz\n2. yyy", custom, fuzzy)), (std::vector<ItemId>{2, 0}));
}

void TstRules::catalogueTitlesWithNewlinesJoinLines()
{
    const Dataset d = filmCatalogue();
    const TitleLookup lookup(d);
    const std::string text = "1. Foo\nBar\n2. Heat";
    const auto p = parseOutput(text, lookup);
    QCOMPARE(itemsOf(p), (std::vector<ItemId>{9, 5}));
    QCOMPARE(p[0].raw, std::string("1. Foo\nBar"));
    QCOMPARE(text.substr(p[0].title_begin, p[0].title_end - p[0].title_begin), std::string("Foo\nBar"));
    // The history rendering keeps the newline (the released reward breaks on it; ours does not).
    QVERIFY(formatHistory({d.title(9)}).find('\n') != std::string::npos);
}

void TstRules::parsesAThousandLinesAndVeryLongLines()
{
    const Dataset d = filmCatalogue();
    const TitleLookup lookup(d);
    std::string text;
    for (int i = 1; i <= 1000; ++i)
        text += std::to_string(i) + ". " + (i % 2 ? "Heat" : "1917") + "\n ";
    auto p = parseOutput(text, lookup);
    QCOMPARE(p.size(), size_t(1000));
    QCOMPARE(p[999].index_number, 1000);
    QCOMPARE(p[999].item, ItemId(2));
    ParseOptions fuzzy;
    fuzzy.fuzzy = true;
    const std::string longLine = "1. " + std::string(200000, 'x') + "\n2. Heat";
    p = parseOutput(longLine, lookup, fuzzy);  // the fuzzy step skips what no title can reach
    QCOMPARE(itemsOf(p), (std::vector<ItemId>{0, 5}));
    QCOMPARE(p[0].title.size(), size_t(200000));
    const std::string longTitle = "1. Heat " + std::string(5000, '!');
    QCOMPARE(itemsOf(parseOutput(longTitle, lookup, fuzzy)), (std::vector<ItemId>{0}));
}

void TstRules::numberedOnlyDropsChatter()
{
    const Dataset d = filmCatalogue();
    const TitleLookup lookup(d);
    ParseOptions o;
    o.numbered_only = true;
    const auto p = parseOutput("Sure! Here are my picks:\n1. Heat (Crime)\n2. 1917\nHope you enjoy them.", lookup, o);
    QCOMPARE(itemsOf(p), (std::vector<ItemId>{5, 2}));
}

// ---- legality and reward ------------------------------------------------------------------------

void TstRules::legalityIsCheckedInTheReleasedOrder()
{
    const Sample s = controlSample(Control::None, 4, 0, 0, -1, {15, 16}, 3);
    // positions: 0 legal, 1 non-existent, 2 in history, 3 duplicate of 0 (before history check),
    // 4 beyond k (also a duplicate and in history: beyond k wins), 5 beyond k (non-existent).
    const auto l = judgeLegality({7, 0, 15, 7, 15, 0}, s);
    const std::vector<Legality> expected = {Legality::Legal, Legality::NonExistent, Legality::InHistory,
                                            Legality::Duplicate, Legality::BeyondCount, Legality::BeyondCount};
    QVERIFY(l == expected);
    // A history item repeated: the first is in_history, the second a duplicate.
    const auto l2 = judgeLegality({15, 15}, s);
    QVERIFY((l2 == std::vector<Legality>{Legality::InHistory, Legality::Duplicate}));
    QCOMPARE(std::string(legalityName(Legality::BeyondCount)), std::string("beyond_k"));
}

void TstRules::paperRewardOnTheTenItemProportionList()
{
    // I2 "≤ 20 %": k = 10, C = Drama {1..6}, cc = 2, k·m = 2, history {15, 16}, target 3.
    // List: 7 · 3(target) · 8 · 7(dup) · 15(hist) · 1 · 2 · 9 · <unknown> · 10.
    // Ranks are id − 1 (DescendingTeacher). In C: 3, 1, 2 (Count_in 3); out: 7, 8, 9, 10 (Count_out 4).
    const Dataset d = tinyCatalogue();
    const Sample s = controlSample(Control::AtMost, 10, 2, 0.2, 0, {15, 16}, 3);
    const RewardResult r = rewardOf(d, s, {7, 3, 8, 7, 15, 1, 2, 9, 0, 10}, RewardVariant::Paper);
    // Scores_i: 1/log2(ρ+3) or 1 (target) or −1 (illegal):
    //   p0 ρ6 1/log2 9 = 0.3154648768 · p1 target 1 · p2 ρ7 1/log2 10 = 0.3010299957 · p3 −1 · p4 −1
    //   p5 ρ0 1/log2 3 = 0.6309297536 · p6 ρ1 1/log2 4 = 0.5 · p7 ρ8 1/log2 11 = 0.2890648263 · p8 −1
    //   p9 ρ9 1/log2 12 = 0.2789429457
    const double scores[] = {0.3154648768, 1, 0.3010299957, -1, -1, 0.6309297536, 0.5, 0.2890648263, -1, 0.2789429457};
    // Scores^ctl_i (≤, running counts, K − cc = 8): p0 out → 1 · p1 in, cnt_in 1 < 2 → 0.5 · p2 out → 1
    //   · p3, p4 illegal −1 · p5 in, cnt_in 2 ≮ 2 → 0 · p6 in (3) → 0 · p7 out → 1 · p8 −1 · p9 out → 1
    const double ctl[] = {1, 0.5, 1, -1, -1, 0, 0, 1, -1, 1};
    // R_item = 0.5·Scores + 0.5·Scores^ctl
    const double item[] = {0.6577324384, 0.75, 0.6505149978, -1, -1, 0.3154648768, 0.25, 0.6445324132, -1, 0.6394714728};
    // Scores*_i = Scores_i / log2(i+2): 0.3154648768/1, 1/log2 3 = 0.6309297536, 0.3010299957/2 = 0.1505149978,
    //   −1, −1, 0.6309297536/log2 7 = 0.2247417128, 0.5/3 = 0.1666666667, 0.2890648263/log2 9 = 0.0911897998,
    //   −1, 0.2789429457/log2 11 = 0.0806325941
    const double star[] = {0.3154648768, 0.6309297536, 0.1505149978, -1, -1, 0.2247417128, 0.1666666667, 0.0911897998, -1, 0.0806325941};
    QCOMPARE(r.items.size(), size_t(10));
    for (int i = 0; i < 10; ++i) {
        QVERIFY2(std::abs(r.items[size_t(i)].score - scores[i]) < 1e-9, qPrintable(QString::number(i)));
        QVERIFY2(std::abs(r.items[size_t(i)].control - ctl[i]) < 1e-9, qPrintable(QString::number(i)));
        QVERIFY2(std::abs(r.items[size_t(i)].reward - item[i]) < 1e-9, qPrintable(QString::number(i)));
        QVERIFY2(std::abs(r.items[size_t(i)].discounted - star[i]) < 1e-9, qPrintable(QString::number(i)));
    }
    QCOMPARE(r.items[1].is_target, true);
    QCOMPARE(r.items[3].legality, Legality::Duplicate);
    QCOMPARE(r.items[4].legality, Legality::InHistory);
    QCOMPARE(r.items[8].legality, Legality::NonExistent);
    QCOMPARE(r.count_in, 3);
    QCOMPARE(r.count_out, 4);
    QCOMPARE(r.legal, 7);
    // sum(Scores*) = −1.3398595984; Score^ctl_list = 1/log2(max(3 − 2, 0) + 2) = 1/log2 3 = 0.6309297536
    // R_list = 0.5·(−1.3398595984) + 0.5·0.6309297536 = −0.3544649224
    QNEAR(r.sum_discounted, -1.3398595984);
    QNEAR(r.control_list, 0.6309297536);
    QNEAR(r.list_reward, -0.3544649224);
    QNEAR(r.k_times_m, 2.0);
    QVERIFY(std::abs(r.sum_discounted - (-1.3398595984)) < 1e-9);
}

void TstRules::recaiRewardOnTheTenItemProportionList()
{
    // The same list under NR-20: item rewards equal the paper's (α = 0.5, same task_i);
    // L_task(≤) = 1/(|cnt_in − cc| + 1) = 1/(|3 − 2| + 1) = 0.5 as 3 ≰ 2;
    // B(10) = Σ_{j<10} 1/log2(j+2)² = 2.4949000379;
    // R_list = 10·(0.5·(−1.3398595984)/2.4949000379 + 0.5·0.5) = −0.1851969579
    const Dataset d = tinyCatalogue();
    const Sample s = controlSample(Control::AtMost, 10, 2, 0.2, 0, {15, 16}, 3);
    const RewardResult r = rewardOf(d, s, {7, 3, 8, 7, 15, 1, 2, 9, 0, 10}, RewardVariant::Recai);
    QNEAR(r.items[0].reward, 0.6577324384);
    QNEAR(r.items[5].reward, 0.3154648768);
    QNEAR(r.items[8].reward, -1.0);
    QNEAR(r.sum_discounted, -1.3398595984);
    QNEAR(r.normaliser, 2.4949000379);
    QNEAR(r.control_list, 0.5);
    QNEAR(r.list_reward, -0.1851969579);
    QNEAR(recaiNormaliser(1), 1.0);
    QVERIFY(std::abs(recaiNormaliser(2) - 1.3981) < 1e-4);  // the table of RECLM-GEN §5.3
    QVERIFY(std::abs(recaiNormaliser(15) - 2.8427) < 1e-4);
    // ≤ branch "cnt_out > K − cc → 0.5": k = 3, cc = 2 (K − cc = 1), C = Comedy, list 1 · 2 · 7:
    // p0 out (cnt_out 1 ≯ 1) → 1 · p1 out (cnt_out 2 > 1) → 0.5 · p2 in (cnt_out 2 > 1) → 0.5
    // Scores 1/log2 3, 1/log2 4 = 0.5, 1/log2 9; R_item = 0.8154648768, 0.5, 0.4077324384
    // sum(S*) = 0.6309297536 + 0.5/log2 3 + 0.3154648768/2 = 1.1041270688
    // paper: Count_in 1, k·m 2 → 1/log2(0 + 2) = 1 → R_list = 0.5·1.1041270688 + 0.5 = 1.0520635344
    // recai: 1 ≤ 2 → L_task 1; B(3) = 1.6480723539 → R_list = 10·(0.5·1.1041270688/1.6480723539 + 0.5) = 8.3497530194
    const Sample g = controlSample(Control::AtMost, 3, 2, 2.0 / 3.0, 1, {}, 0);
    const RewardResult gp = rewardOf(d, g, {1, 2, 7}, RewardVariant::Paper);
    const RewardResult gr = rewardOf(d, g, {1, 2, 7}, RewardVariant::Recai);
    QNEAR(gp.items[0].reward, 0.8154648768);
    QNEAR(gp.items[1].reward, 0.5);
    QNEAR(gp.items[2].reward, 0.4077324384);
    QNEAR(gp.list_reward, 1.0520635344);
    QNEAR(gr.list_reward, 8.3497530194);
}

void TstRules::itemLevelOffKeepsTheListReward()
{
    const Dataset d = tinyCatalogue();
    const Sample s = controlSample(Control::AtMost, 10, 2, 0.2, 0, {15, 16}, 3);
    const std::vector<ItemId> list = {7, 3, 8, 7, 15, 1, 2, 9, 0, 10};
    for (RewardVariant v : {RewardVariant::Paper, RewardVariant::Recai}) {
        const RewardResult on = rewardOf(d, s, list, v, true);
        const RewardResult off = rewardOf(d, s, list, v, false);
        QNEAR(off.list_reward, on.list_reward);
        QCOMPARE(off.itemRewardSum(), 0.0);
        QNEAR(off.items[1].score, 1.0);  // the breakdown keeps every term
        QVERIFY(on.itemRewardSum() != 0.0);
    }
}

void TstRules::sequentialRewardBothVariants()
{
    // I0, k = 3, history {20}, target 12. List 5 · 12 · 5 · 20: p2 duplicate, p3 beyond k (also in history).
    // Scores: 1/log2(4+3) = 0.3562071871, 1, −1, −1 = R_item (I0: no control term).
    // Scores*: 0.3562071871, 1/log2 3 = 0.6309297536, −1, −1 → sum = −1.0128630593.
    // paper: Score^ctl_list = sum(Scores*) → R_list = sum = −1.0128630593.
    // recai: L_task = 1/log2(1 + 2) (target at 1) = 0.6309297536; B(3) = 1.6480723539
    //        R_list = 10·(0.5·(−1.0128630593)/1.6480723539 + 0.5·0.6309297536) = 0.0817768248
    const Dataset d = tinyCatalogue();
    const Sample s = controlSample(Control::None, 3, 0, 0, -1, {20}, 12);
    const RewardResult p = rewardOf(d, s, {5, 12, 5, 20}, RewardVariant::Paper);
    QNEAR(p.items[0].reward, 0.3562071871);
    QNEAR(p.items[1].reward, 1.0);
    QNEAR(p.items[2].reward, -1.0);
    QCOMPARE(p.items[3].legality, Legality::BeyondCount);
    QVERIFY(!p.items[0].has_control);
    QNEAR(p.sum_discounted, -1.0128630593);
    QNEAR(p.list_reward, -1.0128630593);
    const RewardResult r = rewardOf(d, s, {5, 12, 5, 20}, RewardVariant::Recai);
    QNEAR(r.items[0].reward, 0.3562071871);
    QNEAR(r.control_list, 0.6309297536);
    QNEAR(r.list_reward, 0.0817768248);
    // recai counts the target at any position, even beyond k: list 5 · 6 · 12 with k = 2.
    // Σ rank_corr = 1/log2 7 + (1/log2 8)/log2 3 − 1 = −0.4334828950; L_task = 1/log2(2 + 2) = 0.5
    // B(2) = 1.3980723539 → R_list = 10·(0.5·(−0.4334828950)/1.3980723539 + 0.25) = 0.9497122277
    const Sample s2 = controlSample(Control::None, 2, 0, 0, -1, {}, 12);
    const RewardResult r2 = rewardOf(d, s2, {5, 6, 12}, RewardVariant::Recai);
    QNEAR(r2.control_list, 0.5);
    QNEAR(r2.list_reward, 0.9497122277);
}

void TstRules::includeAndExcludeRewardsBothVariants()
{
    const Dataset d = tinyCatalogue();
    // +C, C = Western {19, 20} (|C| = 2), k = 4, target 19. List 19 · 7 · 20 · 1, all legal.
    // Scores 1, 1/log2 9 = 0.3154648768, 1/log2 22 = 0.2242438242, 1/log2 3 = 0.6309297536
    // task_i (+C): 1, 0, 1, 0 → R_item = 1, 0.1577324384, 0.6121219121, 0.3154648768
    // Scores* = 1, 0.1990361770, 0.1121219121, 0.2717266547 → sum = 1.5828847437; Count_in = 2
    // paper: 1/log2((4 − 2) + 2) = 0.5 → R_list = 0.5·1.5828847437 + 0.25 = 1.0414423719
    // recai: T = min(4, 2) = 2 → L_task = 1/(2 − 2 + 1) = 1; B(4) = 1.8335546516
    //        R_list = 10·(0.5·1.5828847437/1.8335546516 + 0.5) = 9.3164373157
    const Sample inc = controlSample(Control::Include, 4, 0, 0, 3, {}, 19);
    const RewardResult ip = rewardOf(d, inc, {19, 7, 20, 1}, RewardVariant::Paper);
    const double incItems[] = {1, 0.1577324384, 0.6121219121, 0.3154648768};
    for (int i = 0; i < 4; ++i)
        QNEAR(ip.items[size_t(i)].reward, incItems[i]);
    QNEAR(ip.control_list, 0.5);
    QNEAR(ip.list_reward, 1.0414423719);
    const RewardResult ir = rewardOf(d, inc, {19, 7, 20, 1}, RewardVariant::Recai);
    QCOMPARE(ir.category_size, 2);
    QNEAR(ir.control_list, 1.0);
    QNEAR(ir.list_reward, 9.3164373157);
    // −C, C = Drama {1..6}, k = 3, history {7}, target 8. List 1 · 8 · 7(hist).
    // Scores 1/log2 3, 1, −1; task_i (−C): 0, 1, −1 → R_item = 0.3154648768, 1, −1
    // Scores* = 0.6309297536, 1/log2 3, −1 → sum = 0.2618595071; Count_out = 1
    // paper: 1/log2((3 − 1) + 2) = 0.5 → R_list = 0.5·0.2618595071 + 0.25 = 0.3809297536
    // recai: 1/(3 − 1 + 1) = 1/3 → R_list = 10·(0.5·0.2618595071/1.6480723539 + 0.5/3) = 2.4611084474
    const Sample exc = controlSample(Control::Exclude, 3, 0, 0, 0, {7}, 8);
    const RewardResult ep = rewardOf(d, exc, {1, 8, 7}, RewardVariant::Paper);
    QNEAR(ep.items[0].reward, 0.3154648768);
    QNEAR(ep.items[1].reward, 1.0);
    QNEAR(ep.items[2].reward, -1.0);
    QCOMPARE(ep.count_out, 1);
    QNEAR(ep.list_reward, 0.3809297536);
    const RewardResult er = rewardOf(d, exc, {1, 8, 7}, RewardVariant::Recai);
    QNEAR(er.control_list, 1.0 / 3.0);
    QNEAR(er.list_reward, 2.4611084474);
}

void TstRules::atLeastAndAboutRewardsCoverEveryTaskBranch()
{
    const Dataset d = tinyCatalogue();
    // ≥, C = Comedy {7..14}, k = 5, cc = 2, k·m = 2 (K − cc = 3). List 1 · 7 · 2 · 3 · 4, no target.
    // task_i: p0 out, cnt_out 1 < 3 → 0.5 · p1 in → 1 · p2 out (2 < 3) → 0.5 · p3 out (3 ≮ 3) → 0 · p4 → 0
    // Scores 1/log2 3, 1/log2 9, 1/log2 4, 1/log2 5, 1/log2 6
    // R_item = 0.5654648768, 0.6577324384, 0.5, 0.2153382790, 0.1934264036; sum(S*) = 1.4151033227
    // paper: Count_in 1 → 1/log2(max(2 − 1, 0) + 2) = 1/log2 3 → R_list = 1.0230165381
    // recai: 1 ≱ 2 → L_task = 1/(1 + 1) = 0.5; B(5) = 1.9832097461 → R_list = 6.0677096824
    Sample s = controlSample(Control::AtLeast, 5, 2, 0.4, 1, {}, 0);
    RewardResult p = rewardOf(d, s, {1, 7, 2, 3, 4}, RewardVariant::Paper);
    const double geItems[] = {0.5654648768, 0.6577324384, 0.5, 0.2153382790, 0.1934264036};
    for (int i = 0; i < 5; ++i)
        QNEAR(p.items[size_t(i)].reward, geItems[i]);
    QNEAR(p.list_reward, 1.0230165381);
    QNEAR(rewardOf(d, s, {1, 7, 2, 3, 4}, RewardVariant::Recai).list_reward, 6.0677096824);
    // ≥ with cnt_in > cc: k = 4, cc = 2, m = 0.5. List 7 · 8 · 9 · 1: task 1, 1, 0.5 (cnt_in 3 > 2), 0.5
    // R_item = 0.6577324384, 0.6505149978, 0.3945324132, 0.5654648768; sum(S*) = 0.9216527256
    // paper: max(2 − 3, 0) = 0 → ctl 1 → R_list = 0.9608263628; recai: 3 ≥ 2 → 1 → 7.5132949399
    s = controlSample(Control::AtLeast, 4, 2, 0.5, 1, {}, 0);
    p = rewardOf(d, s, {7, 8, 9, 1}, RewardVariant::Paper);
    const double ge2Items[] = {0.6577324384, 0.6505149978, 0.3945324132, 0.5654648768};
    for (int i = 0; i < 4; ++i)
        QNEAR(p.items[size_t(i)].reward, ge2Items[i]);
    QNEAR(p.list_reward, 0.9608263628);
    QNEAR(rewardOf(d, s, {7, 8, 9, 1}, RewardVariant::Recai).list_reward, 7.5132949399);
    // ≈, k = 5, cc = 2, m = 0.4. List 7 · 1 · 8 · 9 · 2:
    // p0 in, cnt_in 1 ≤ 2 → 1 · p1 out, cnt_in 1 < 2, cnt_out 1 ≤ 3 → 0.5 · p2 in (2 ≤ 2) → 1
    // · p3 in (3 > 2) → 0 · p4 out, cnt_in 3 ≥ 2 → 1
    // R_item = 0.6577324384, 0.5654648768, 0.6505149978, 0.1445324132, 0.75; sum(S*) = 1.1819720766
    // paper: 1/log2(|3 − 2| + 2) → R_list = 0.9064509151; recai: 3 ≠ 2 → 0.5 → 5.4799472269
    s = controlSample(Control::About, 5, 2, 0.4, 1, {}, 0);
    p = rewardOf(d, s, {7, 1, 8, 9, 2}, RewardVariant::Paper);
    const double apItems[] = {0.6577324384, 0.5654648768, 0.6505149978, 0.1445324132, 0.75};
    for (int i = 0; i < 5; ++i)
        QNEAR(p.items[size_t(i)].reward, apItems[i]);
    QNEAR(p.list_reward, 0.9064509151);
    QNEAR(rewardOf(d, s, {7, 1, 8, 9, 2}, RewardVariant::Recai).list_reward, 5.4799472269);
    // ≈ "else 0": k = 3, cc = 2 (K − cc = 1). List 1 · 2 · 7: p0 out, cnt_out 1 ≤ 1 → 0.5
    // · p1 out, cnt_out 2 > 1 → 0 · p2 in (1 ≤ 2) → 1. R_item = 0.5654648768, 0.25, 0.6577324384
    // sum(S*) = 1.1041270688; paper |1 − 2| → 1/log2 3 → 0.8675284112; recai 0.5 → 5.8497530194
    s = controlSample(Control::About, 3, 2, 2.0 / 3.0, 1, {}, 0);
    p = rewardOf(d, s, {1, 2, 7}, RewardVariant::Paper);
    QNEAR(p.items[0].reward, 0.5654648768);
    QNEAR(p.items[1].reward, 0.25);
    QNEAR(p.items[2].reward, 0.6577324384);
    QNEAR(p.list_reward, 0.8675284112);
    QNEAR(rewardOf(d, s, {1, 2, 7}, RewardVariant::Recai).list_reward, 5.8497530194);
    // ≈ met exactly: recai L_task = 1.
    QNEAR(rewardOf(d, s, {7, 8, 1}, RewardVariant::Recai).control_list, 1.0);
}

void TstRules::rewardRejectsTasksWithoutAList()
{
    const Dataset d = tinyCatalogue();
    Sample s = controlSample(Control::None, 1, 0, 0, -1, {}, 0);
    s.task = TaskKind::CategoryQuestion;
    QVERIFY_THROWS_EXCEPTION(CoreException, rewardOf(d, s, {1}, RewardVariant::Paper));
    Sample noCategory = controlSample(Control::Include, 3, 0, 0, -1, {}, 0);
    QVERIFY_THROWS_EXCEPTION(CoreException, rewardOf(d, noCategory, {1}, RewardVariant::Paper));
    QVERIFY_THROWS_EXCEPTION(CoreException, parseRewardVariant("nr20"));
    QCOMPARE(parseRewardVariant("recai"), RewardVariant::Recai);
}

// ---- token placement ----------------------------------------------------------------------------

void TstRules::placesRewardsOnTheTokenThatCompletesEachTitle()
{
    const Dataset d = filmCatalogue();
    const TitleLookup lookup(d);
    // A toy vocabulary where the newline shares a token with the title's end ("at\n") and EOS
    // decodes to nothing: no newline id exists to hard-code.
    const std::vector<std::string> vocab = {"1", ".", " He", "at\n", " ", "2", " 19", "17", "\n", "", " Se", "7", "en"};
    const std::vector<int32_t> ids = {0, 1, 2, 3, 4, 5, 1, 6, 7, 8, 4, 0, 1, 10, 11, 12, 9};
    auto decode = [&](const std::vector<int32_t>& prefix) {
        std::string s;
        for (int32_t id : prefix)
            s += vocab[size_t(id)];
        return s;
    };
    const std::string text = decode(ids);
    QCOMPARE(text, std::string("1. Heat\n 2. 1917\n 1. Se7en"));
    const auto parsed = parseOutput(text, lookup);
    QCOMPARE(itemsOf(parsed), (std::vector<ItemId>{5, 2, 11}));
    const TokenPlacement t = placeItemTokens(ids, decode, parsed);
    QCOMPARE(t.item_tokens, (std::vector<int>{3, 8, 15}));  // "at\n", "17", "en"
    QCOMPARE(t.final_token, 16);                              // the EOS
    QCOMPARE(placeItemTokens({}, decode, parsed).final_token, -1);
}

void TstRules::placementWorksWithTheStories260KTokenizer()
{
    const Tokenizer tok = Tokenizer::load(std::string(RECALIGN_SHARED_DIR) + "/models/stories260K/tok512.model");
    Dataset d = tinyCatalogue();
    d.items[1].title = "The Red Shoes";
    d.items[2].title = "Wimbledon";
    d.items[3].title = "Am\xC3\xA9lie";
    d.items[4].title = "MI-5, Vol. 3";
    d.finalize();
    const TitleLookup lookup(d);
    const std::string text = formatOutputList({"The Red Shoes", "Wimbledon", "Am\xC3\xA9lie", "MI-5, Vol. 3", "Nowhere"}) + "\n";
    const std::vector<int32_t> ids = tok.encode(text);
    const auto decode = [&](const std::vector<int32_t>& p) { return tok.decode(p); };
    const std::string decoded = decode(ids);
    const auto parsed = parseOutput(decoded, lookup);
    QCOMPARE(itemsOf(parsed), (std::vector<ItemId>{1, 2, 3, 4, 0}));
    const TokenPlacement t = placeItemTokens(ids, decode, parsed);
    for (size_t j = 0; j < parsed.size(); ++j) {
        const int at = t.item_tokens[j];
        const std::vector<int32_t> upTo(ids.begin(), ids.begin() + at + 1), before(ids.begin(), ids.begin() + at);
        QVERIFY(decode(upTo).size() >= parsed[j].title_end);   // this token completes the title
        QVERIFY(decode(before).size() < parsed[j].title_end);  // the previous one does not
        if (j > 0)
            QVERIFY(at > t.item_tokens[j - 1]);
    }
    QCOMPARE(t.final_token, int(ids.size()) - 1);
}

// ---- metrics ------------------------------------------------------------------------------------

void TstRules::sampleMetricsMatchHandComputedValues()
{
    const Dataset d = tinyCatalogue();
    const TitleLookup lookup(d);
    // The ten-item list: 7 · 3(target) · 8 · 7 · 15(hist) · 1 · 2 · 9 · Unknown · 10; k = 10.
    const std::string text = "1. Item 7\n 2. Item 3\n 3. Item 8\n 4. Item 7\n 5. Item 15\n 6. Item 1\n 7. Item 2\n 8. Item 9\n"
                             " 9. Unknown Film\n 10. Item 10";
    const auto parsed = parseOutput(text, lookup);
    Sample s = controlSample(Control::AtMost, 10, 2, 0.2, 0, {15, 16}, 3);
    SampleMetrics m = computeSampleMetrics(s, parsed, d);
    QCOMPARE(m.correct_count, 1.0);
    QCOMPARE(m.hr, 1.0);
    QNEAR(m.ndcg, 0.6309297536);  // 1/log2(1 + 2)
    QNEAR(m.mrr, 0.5);            // 1/(1 + 1)
    QCOMPARE(m.non_exist, 1);
    QCOMPARE(m.repeat, 1);
    QCOMPARE(m.in_history, 1);
    QCOMPARE(m.target_category, 3);  // TCP: 3, 1, 2 are Drama → 30 %
    QVERIFY(m.has_cpa);
    QCOMPARE(m.cpa, 0.0);  // ≤: TCP + NonExist = 4 > cc = 2
    s.control = Control::AtLeast;
    s.category_count = 3;
    QCOMPARE(computeSampleMetrics(s, parsed, d).cpa, 1.0);  // 3 ≥ 3
    s.control = Control::About;
    QCOMPARE(computeSampleMetrics(s, parsed, d).cpa, 1.0);  // |3 − 3| ≤ 1
    s.category_count = 5;
    QCOMPARE(computeSampleMetrics(s, parsed, d).cpa, 0.0);  // |3 − 5| = 2
    s.control = Control::AtMost;
    s.category_count = 4;
    QCOMPARE(computeSampleMetrics(s, parsed, d).cpa, 1.0);  // 3 + 1 ≤ 4
    // 11 lines for k = 10: CorrectCount 0, the target only at position 10 (beyond K) → no hit.
    const Sample i0 = controlSample(Control::None, 10, 0, 0, -1, {}, 12);
    std::vector<std::string> titles;
    for (int i = 1; i <= 10; ++i)
        titles.push_back("Item " + std::to_string(i));
    titles.push_back("Item 12");
    m = computeSampleMetrics(i0, parseOutput(formatOutputList(titles), lookup), d);
    QCOMPARE(m.parsed, 11);
    QCOMPARE(m.correct_count, 0.0);
    QCOMPARE(m.hr, 0.0);
    QVERIFY(!m.has_category);
    QVERIFY(!m.has_cpa);
}

void TstRules::metricsAggregateWithStandardErrors()
{
    MetricsAccumulator acc;
    SampleMetrics a, b, empty;
    a.k = b.k = empty.k = 10;
    a.parsed = b.parsed = 10;
    a.hr = 1.0;
    a.ndcg = 1.0;
    a.has_category = b.has_category = true;
    a.target_category = 8;
    b.target_category = 4;
    acc.add("I1+", a);
    acc.add("I1+", b);
    acc.add("I1+", empty);  // empty parse: skipped, counted
    const auto r = acc.results();
    QCOMPARE(r.size(), size_t(1));
    QCOMPARE(r[0].samples, 2L);
    QCOMPARE(r[0].empty, 1L);
    // HR: values 1, 0 → mean 0.5, sample sd √0.5, se = √0.5/√2 = 0.5
    QNEAR(r[0].values.at("hr").mean, 0.5);
    QNEAR(r[0].values.at("hr").se, 0.5);
    // TCP: 8, 4 → mean 6 (60 %), sd √8, se = √8/√2 = 2 (20 % as a percentage)
    QNEAR(r[0].values.at("tcp").mean, 6.0);
    QNEAR(r[0].values.at("tcp_pct").mean, 60.0);
    QNEAR(r[0].values.at("tcp_pct").se, 20.0);
    QCOMPARE(r[0].values.count("cpa"), size_t(0));
    MetricsAccumulator withEmpty(true);
    withEmpty.add("I0", a);
    withEmpty.add("I0", empty);
    QCOMPARE(withEmpty.results()[0].samples, 2L);
    // Per generated item: a 4-item list with 1 repeat and 1 non-existent title has 2/4 illegal
    // items; a 12-item list counts its first 10 (3 in history: 3/10); an empty list has no items,
    // so it adds a length of 0 but no per-item rate.
    SampleMetrics shortList, longList;
    shortList.k = longList.k = 10;
    shortList.parsed = 4;
    shortList.repeat = 1;
    shortList.non_exist = 1;
    longList.parsed = 12;
    longList.in_history = 3;
    MetricsAccumulator items(true);
    items.add("I0", shortList);
    items.add("I0", longList);
    items.add("I0", empty);
    const auto it = items.results()[0].values;
    QNEAR(it.at("illegal_per_item").mean, (0.5 + 0.3) / 2);
    QCOMPARE(it.at("illegal_per_item").n, 2L);
    QNEAR(it.at("list_length").mean, (4 + 10 + 0) / 3.0);
    QCOMPARE(it.at("list_length").n, 3L);
}

QTEST_GUILESS_MAIN(TstRules)
#include "tst_rules.moc"
