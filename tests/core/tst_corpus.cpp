// The from-scratch model's corpora (core/pipeline/corpus.h): the instruction corpus renders one
// prompt per SFT datum of I0-I3 in the chat template, without replies unless asked, and never with
// a teacher's list; the catalogue corpus holds the requested number of history documents.
#include "core/data/synthetic.h"
#include "core/pipeline/corpus.h"
#include "core/rules/builders.h"
#include "core/sasrec/teacher.h"

#include <QtTest>

#include <algorithm>

using namespace recalign::core;

class TstCorpus : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void instructionCorpusRendersEveryRecommendationPromptWithoutReplies();
    void repliesAreThePopularityListsWhenAsked();
    void historyListsSetTheNumberOfSequenceDocuments();

private:
    static Dataset data()
    {
        SyntheticOptions o;
        o.seed = 3;
        o.items = 60;
        o.users = 40;
        o.top_categories = 3;
        return generateSynthetic(o);
    }
};

void TstCorpus::instructionCorpusRendersEveryRecommendationPromptWithoutReplies()
{
    const Dataset d = data();
    InstructionCorpusOptions io;
    io.task.seed = 7;
    io.task.max_history = 5;
    io.chat_template = llm::ChatTemplate::Compact;
    const auto docs = instructionCorpus(d, io);
    // One document per datum of the v2 epoch (I0, I1, I2, I3; no I4).
    const MostPopTeacher pop(d);
    SftOptions so;
    so.task.seed = 7;
    so.task.max_history = 5;
    so.mix = SftMix::V2;
    so.share_gpt_ratio = 0.0;
    const auto samples = buildSftEpoch(d, &pop, so, 0);
    QCOMPARE(docs.size(), samples.size());
    QVERIFY(docs.size() > static_cast<size_t>(d.numUsers()));  // more than I0 alone
    for (const auto& doc : docs) {
        QVERIFY(doc.rfind("[sys]", 0) == 0);
        QVERIFY(doc.size() >= 3 && doc.compare(doc.size() - 3, 3, "[a]") == 0);  // the reply is left out
        QVERIFY(doc.find("\n 2. ") == std::string::npos);                       // no numbered list
    }
    const bool hasControl = std::any_of(docs.begin(), docs.end(), [](const std::string& s) {
        return s.find("intention") != std::string::npos;
    });
    QVERIFY(hasControl);  // I1 prompts are there
    // The llama-2 template renders the same prompts with its own tags.
    io.chat_template = llm::ChatTemplate::Llama2;
    const auto llama = instructionCorpus(d, io);
    QCOMPARE(llama.size(), docs.size());
    QVERIFY(llama.front().rfind("[INST]", 0) == 0);
}

void TstCorpus::repliesAreThePopularityListsWhenAsked()
{
    const Dataset d = data();
    InstructionCorpusOptions io;
    io.task.seed = 7;
    io.with_replies = true;
    const auto docs = instructionCorpus(d, io);
    const MostPopTeacher pop(d);
    SftOptions so;
    so.task.seed = 7;
    so.mix = SftMix::V2;
    so.share_gpt_ratio = 0.0;
    const auto samples = buildSftEpoch(d, &pop, so, 0);
    QCOMPARE(docs.size(), samples.size());
    for (size_t i = 0; i < docs.size(); ++i) {
        const std::string& out = samples[i].output_text;
        QVERIFY(docs[i].size() > out.size());
        QCOMPARE(docs[i].substr(docs[i].size() - out.size()), out);
    }
}

void TstCorpus::historyListsSetTheNumberOfSequenceDocuments()
{
    const Dataset d = data();
    auto count = [](const std::vector<std::string>& docs) {
        return std::count_if(docs.begin(), docs.end(), [](const std::string& s) { return s.rfind("History: ", 0) == 0; });
    };
    CorpusOptions co;
    co.seed = 1;
    const auto byDefault = catalogueCorpus(d, co);
    QVERIFY(count(byDefault) <= d.numUsers());
    QVERIFY(count(byDefault) > d.numUsers() / 2);
    co.list_documents = 250;
    const auto more = catalogueCorpus(d, co);
    QVERIFY(count(more) > 200);
    QVERIFY(count(more) <= 250);
    QCOMPARE(more.size() - static_cast<size_t>(count(more)), byDefault.size() - static_cast<size_t>(count(byDefault)));
}

QTEST_GUILESS_MAIN(TstCorpus)
#include "tst_corpus.moc"
