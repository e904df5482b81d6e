// Foundation: sentencepiece (through the dlopen'd module) and libtorch in one process; device
// parsing; BLAS detection; errors.
#include "core/api/device.h"
#include "core/api/info.h"
#include "core/runtime/runtime.h"
#include "core/tokenizer/tokenizer.h"
#include "core/util/hash.h"
#include "core/util/strings.h"

#include <torch/torch.h>

#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

using namespace recalign::core;

class TstFoundation : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void sentencepieceAndTorchShareOneProcess();
    void loadsStories260KTokenizer();
    void missingTokenizerFileIsAClearError();
    void parsesDevices();
    void reportsBlasAndTokenizerModule();
    void sha256MatchesKnownVectors();
    void stringHelpers();
};

void TstFoundation::sentencepieceAndTorchShareOneProcess()
{
    // A torch op before and after the tokenizer work, in the same process.
    auto a = torch::arange(6, torch::kFloat32).reshape({2, 3});
    auto b = torch::ones({3, 2});
    QCOMPARE(torch::mm(a, b).sum().item<float>(), 30.0f);

    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const std::string corpus = dir.filePath(QStringLiteral("corpus.txt")).toStdString();
    {
        std::ofstream out(corpus);
        const char* lines[] = {"The Red Shoes is a drama about a ballet dancer.",
                               "Wimbledon is a comedy about tennis.",
                               "Toy Story is an animated adventure for children.",
                               "Heat is a crime thriller with a long bank robbery.",
                               "Alien is a science fiction horror film set in space."};
        for (int rep = 0; rep < 40; ++rep)
            for (const char* l : lines)
                out << l << " (" << rep << ")\n";
    }
    const std::string prefix = dir.filePath(QStringLiteral("tiny")).toStdString();
    TokenizerTrainOptions opt;
    opt.vocab_size = 400;  // 256 byte pieces + 3 specials + merges
    opt.user_defined_symbols = {"[INST]", "[/INST]"};
    Tokenizer::train(corpus, prefix, opt);
    Tokenizer tok = Tokenizer::load(prefix + ".model");
    QCOMPARE(tok.vocabSize(), 400);
    const std::string text = "[INST] Toy Story is a comedy. [/INST] ok";
    const auto ids = tok.encode(text);
    QVERIFY(!ids.empty());
    QCOMPARE(tok.decode(ids), text);
    QCOMPARE(tok.idToPiece(tok.pieceToId("[INST]")), std::string("[INST]"));
    // Byte fallback: a character never seen in the corpus still round-trips.
    const std::string unseen = "Amélie ß";
    QCOMPARE(tok.decode(tok.encode(unseen)), unseen);

    auto c = torch::randn({4, 4});
    QVERIFY(torch::allclose(torch::mm(c, torch::eye(4)), c));
}

void TstFoundation::loadsStories260KTokenizer()
{
    const std::string path = std::string(RECALIGN_SHARED_DIR) + "/models/stories260K/tok512.model";
    Tokenizer tok = Tokenizer::load(path);
    QCOMPARE(tok.vocabSize(), 512);
    QCOMPARE(tok.unkId(), 0);
    QCOMPARE(tok.bosId(), 1);
    QCOMPARE(tok.eosId(), 2);
    const std::string text = "Once upon a time, there was a little girl named Lily.";
    QCOMPARE(tok.decode(tok.encode(text)), text);
    // Serialization round trip.
    Tokenizer copy = Tokenizer::fromBytes(tok.serialize());
    QCOMPARE(copy.encode(text), tok.encode(text));
}

void TstFoundation::missingTokenizerFileIsAClearError()
{
    try {
        Tokenizer::load("/nonexistent/tok.model");
        QFAIL("expected an exception");
    } catch (const CoreException& e) {
        QCOMPARE(e.error().code, ErrorCode::CheckpointIO);
        QVERIFY(std::string(e.what()).find("/nonexistent/tok.model") != std::string::npos);
    }
}

void TstFoundation::parsesDevices()
{
    QCOMPARE(parseDevice("cpu").value().kind, DeviceSpec::Kind::Cpu);
    QCOMPARE(parseDevice("AUTO").value().kind, DeviceSpec::Kind::Auto);
    auto cuda1 = parseDevice("cuda:1");
    QVERIFY(cuda1.ok());
    QCOMPARE(cuda1.value().index, 1);
    QCOMPARE(cuda1.value().toString(), std::string("cuda:1"));
    auto bad = parseDevice("gpu0");
    QVERIFY(!bad.ok());
    QCOMPARE(bad.error().code, ErrorCode::InvalidConfig);
    QCOMPARE(resolveDevice("cpu"), torch::Device(torch::kCPU));
    if (!torch::cuda::is_available()) {
        QCOMPARE(resolveDevice("auto"), torch::Device(torch::kCPU));
        try {
            resolveDevice("cuda");
            QFAIL("expected an error without CUDA");
        } catch (const CoreException& e) {
            QCOMPARE(e.error().code, ErrorCode::InvalidConfig);
        }
    }
}

void TstFoundation::reportsBlasAndTokenizerModule()
{
    const SystemInfo s = systemInfo();
    QVERIFY2(!s.tokenizer_module_path.empty(), s.tokenizer_module_error.c_str());
    QVERIFY(!s.torch_version.empty());
    QVERIFY(!s.blas.name.empty());
    QVERIFY(s.intra_op_threads >= 1);
}

void TstFoundation::sha256MatchesKnownVectors()
{
    QCOMPARE(sha256Hex(""), std::string("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    QCOMPARE(sha256Hex("abc"), std::string("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    QCOMPARE(sha256Hex(std::string(1000, 'a')),
             std::string("41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3"));
}

void TstFoundation::stringHelpers()
{
    QCOMPARE(str::normalizeSpace("  a\tb\n\nc  "), std::string("a b c"));
    QCOMPARE(str::levenshtein("Toy Story (1995)", "Toy Story (1996)"), 1);
    QCOMPARE(str::latin1ToUtf8("Am\xe9lie"), std::string("Am\xc3\xa9lie"));
    QVERIFY(str::isValidUtf8("Am\xc3\xa9lie"));
    QVERIFY(!str::isValidUtf8("Am\xe9lie"));
}

QTEST_GUILESS_MAIN(TstFoundation)
#include "tst_foundation.moc"
