// Foundation: sentencepiece (through the dlopen'd module) and libtorch in one process; device
// parsing; BLAS detection; errors.
#include "core/api/device.h"
#include "core/api/info.h"
#include "core/runtime/runtime.h"
#include "core/sasrec/sasrec_rng.h"
#include "core/tokenizer/tokenizer.h"
#include "core/util/csv.h"
#include "core/util/files.h"
#include "core/util/hash.h"
#include "core/util/rng.h"
#include "core/util/strings.h"

#include <torch/torch.h>

#include <QDir>
#include <QTemporaryDir>
#include <QtTest>

#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

using namespace recalign::core;

class TstFoundation : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void sentencepieceAndTorchShareOneProcess();
    void loadsStories260KTokenizer();
    void missingTokenizerFileIsAClearError();
    void parsesDevices();
    void runTasksRunsEachTaskOnceAndRethrowsTheFirstError();
    void reportsBlasAndTokenizerModule();
    void blasKernelsFollowTheCpu();
    void sha256MatchesKnownVectors();
    void stringHelpers();
    void rngMappingsKeepTheirSequences();
    void csvRecordParserFollowsRfc4180();
    void filesReadWholeAndReplaceAtomically();
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

void TstFoundation::runTasksRunsEachTaskOnceAndRethrowsTheFirstError()
{
    // Tasks of unequal sizes on 1, 2 and 3 workers: each runs once, on as many threads as there
    // are workers. Tasks 2 and 5 fail: task 2's error comes back (tasks are taken in order, so
    // task 2 always runs), and one worker takes no task after it.
    for (const int workers : {1, 2, 3}) {
        std::vector<std::atomic<int>> runs(9);
        std::mutex mutex;
        std::set<std::thread::id> threads;
        runTasks(workers, runs.size(), [&](size_t i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(i % 3 == 0 ? 20 : 2));
            ++runs[i];
            std::lock_guard<std::mutex> lock(mutex);
            threads.insert(std::this_thread::get_id());
        });
        for (const auto& r : runs)
            QCOMPARE(r.load(), 1);
        QCOMPARE(threads.size(), static_cast<size_t>(workers));
        std::atomic<int> ran{0};
        try {
            runTasks(workers, 8, [&](size_t i) {
                ++ran;
                if (i == 5 || i == 2)
                    throw CoreException(ErrorCode::Internal, "task " + std::to_string(i));
            });
            QFAIL("no exception");
        } catch (const CoreException& e) {
            QVERIFY2(std::string(e.what()).find("task 2") != std::string::npos, e.what());
        }
        QVERIFY2(workers == 1 ? ran.load() == 3 : ran.load() >= 3, std::to_string(ran.load()).c_str());
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

// OpenBLAS's kernel family: raised to what the CPU's instruction set supports, never lowered.
void TstFoundation::blasKernelsFollowTheCpu()
{
    const std::vector<std::string> avx2{"sse3", "avx", "avx2", "fma"};
    std::vector<std::string> avx512 = avx2;
    for (const char* f : {"avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512_vnni"})
        avx512.emplace_back(f);
    std::vector<std::string> bf16 = avx512;
    bf16.emplace_back("avx512_bf16");
    QCOMPARE(blasCoreTarget("Prescott", avx512), std::string("SkylakeX"));  // Emerald Rapids on 0.3.21
    QCOMPARE(blasCoreTarget("Prescott", bf16), std::string("Cooperlake"));
    QCOMPARE(blasCoreTarget("Nehalem", avx2), std::string("Haswell"));
    QCOMPARE(blasCoreTarget("Sandybridge", avx2), std::string("Haswell"));
    QCOMPARE(blasCoreTarget("Haswell", avx2), std::string());   // already right
    QCOMPARE(blasCoreTarget("Zen", avx2), std::string());       // AMD's own AVX2 family
    QCOMPARE(blasCoreTarget("SkylakeX", avx2), std::string());  // never lowered
    QCOMPARE(blasCoreTarget("Cooperlake", avx512), std::string());
    QCOMPARE(blasCoreTarget("Prescott", {"sse3", "avx"}), std::string());  // no AVX2 kernels to give
    QCOMPARE(blasCoreTarget("Prescott", {"avx512f", "avx2", "fma"}), std::string("Haswell"));  // no BW/DQ/VL
    // In this process: whatever was chosen, the family in force is at least the target's.
    const BlasCorePolicy p = applyBlasCorePolicy();
    QVERIFY(!p.reason.empty());
    if (!p.chosen.empty())
        QVERIFY2(!p.in_force.empty(), p.describe().c_str());
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

// Values computed from the five generators as they were before core/util/rng.h (synthetic's Rng,
// SasRecRng, the rules' Rng, TrainRng, generation's RowRng, pre-training's mt19937_64): every
// seeded sequence, checkpoint and golden number depends on them staying bit-identical.
void TstFoundation::rngMappingsKeepTheirSequences()
{
    uint64_t sm = 42;
    QCOMPARE(splitmix64(sm), uint64_t{13679457532755275413ULL});
    QCOMPARE(splitmix64(sm), uint64_t{2949826092126892291ULL});
    QCOMPARE(mixSeed({1, 2, 3}), uint64_t{14641085933562009229ULL});

    auto seeded = [] {
        Xoshiro256 r(42);
        const uint64_t a = r.next();
        const uint64_t b = r.next();
        if (a != 1546998764402558742ULL || b != 6990951692964543102ULL)
            qFatal("xoshiro256** seeded with 42 drew %llu, %llu", static_cast<unsigned long long>(a),
                   static_cast<unsigned long long>(b));
        return r;
    };
    {  // synthetic dataset: multiply-shift, 53-bit doubles, weighted index, bernoulli
        Xoshiro256 r = seeded();
        for (uint64_t want : {680, 924, 991})
            QCOMPARE(r.belowMultiplyShift(1000), want);
        QVERIFY(r.uniform01() == 0.76973946043424246);
        QVERIFY(r.uniform01() == 0.71925857787791558);
        for (size_t want : {3, 3, 2})
            QCOMPARE(r.weightedIndex({1, 2, 3, 4}), want);
        for (bool want : {false, true, false})
            QCOMPARE(r.bernoulli(0.5), want);
    }
    {  // SASRec: multiply-shift on the high 32 bits; raw state; derived streams
        Xoshiro256 r = seeded();
        for (int64_t want : {681, 925, 992})
            QCOMPARE(r.uniformIntMultiplyShift32(1, 1000), want);
        QVERIFY(r.uniform01() == 0.76973946043424246);
        QVERIFY(r.uniform01() == 0.71925857787791558);
        const Xoshiro256::State want = {10480902020225809365ULL, 444675446249520128ULL,
                                        10583861007572998461ULL, 12153875327870212966ULL};
        QVERIFY(r.state() == want);
        Xoshiro256 copy;
        copy.setState(r.state());
        QCOMPARE(copy.next(), r.next());
        QCOMPARE(SasRecRng::derived(7, 3, 1).next(), uint64_t{9011161794748801073ULL});
    }
    {  // rules: rejection
        Xoshiro256 r = seeded();
        for (uint64_t want : {9, 193, 476})
            QCOMPARE(r.belowRejection(1000), want);
        for (int64_t want : {0, 1, 3})
            QCOMPARE(r.uniformIntRejection(-5, 5), want);
        QVERIFY(r.uniform01() == 0.76137438100576338);
        QVERIFY(r.uniform01() == 0.58334930973739929);
        std::vector<int> v{0, 1, 2, 3, 4, 5, 6, 7};
        r.shuffleRejection(v);
        QCOMPARE(v, (std::vector<int>{0, 5, 3, 7, 2, 4, 6, 1}));
        Xoshiro256 w(9);
        QCOMPARE(w.pickRejection(std::vector<int>{10, 20, 30, 40}), 10);
        QCOMPARE(w.bernoulli(0.3), true);
    }
    {  // trainers: mt19937_64, std::uniform_int_distribution, text state
        MersenneRng r(42);
        QCOMPARE(r.next(), uint64_t{13930160852258120406ULL});
        QCOMPARE(r.next(), uint64_t{11788048577503494824ULL});
        for (int want : {24, 6, 29})
            QCOMPARE(r.uniformIntStd(3, 31), want);
        QVERIFY(r.uniform01() == 0.094068311762837031);
        QVERIFY(r.uniform01() == 0.57457030410826393);
        const std::string state = r.state();
        QCOMPARE(state.size(), size_t{6356});
        QCOMPARE(fnv1a64(state), uint64_t{16287234625839041667ULL});
        MersenneRng back;
        back.setState(state);
        QCOMPARE(back.next(), uint64_t{6878563960102566144ULL});
        QVERIFY_THROWS_EXCEPTION(CoreException, back.setState("not a state"));
        MersenneRng pretrain(42 ^ 0x5DEECE66Dull);
        for (int64_t want : {1786, 5415, 9903})
            QCOMPARE(pretrain.uniformIntStd<int64_t>(0, 9999), want);
    }
    {  // generation rows: a bare splitmix64 stream
        SplitMix64Rng r(42 * 0x9E3779B97F4A7C15ull + 1);
        QCOMPARE(r.next(), uint64_t{4360082295941529955ULL});
        QVERIFY(r.uniform01() == 0.65623552923219097);
        QVERIFY(r.uniform01() == 0.86890894212390313);
    }
}

void TstFoundation::csvRecordParserFollowsRfc4180()
{
    using Fields = std::vector<std::string>;
    CsvRecordParser p;
    p.reset();
    QVERIFY(p.addLine("a,\"b,c\",d"));
    QCOMPARE(p.fields(), (Fields{"a", "b,c", "d"}));
    QCOMPARE(p.strayLine(), -1);

    p.reset();
    QVERIFY(!p.addLine("x,\"multi"));
    QCOMPARE(p.openQuoteLine(), 0);
    QVERIFY(p.addLine("line \"\"q\"\"\",y"));
    QCOMPARE(p.fields(), (Fields{"x", "multi\nline \"q\"", "y"}));
    QCOMPARE(p.lines(), 2);

    p.reset();  // a lone CR kept by the caller inside a quoted field
    QVERIFY(!p.addLine("\"a", "\r"));
    QVERIFY(p.addLine("b\""));
    QCOMPARE(p.fields(), (Fields{"a\rb"}));

    p.reset();  // text after a closing quote is kept and reported; a mid-field quote is literal
    QVERIFY(p.addLine("\"ab\"c,d\"e"));
    QCOMPARE(p.fields(), (Fields{"abc", "d\"e"}));
    QCOMPARE(p.strayLine(), 0);
    QCOMPARE(p.strayChar(), 'c');

    p.reset();
    QVERIFY(p.addLine("  "));
    QVERIFY(p.blank());
    p.reset();
    QVERIFY(p.addLine("\"\""));
    QVERIFY(!p.blank());

    CsvRecordParser semicolons(';');
    semicolons.reset();
    QVERIFY(semicolons.addLine("1;\"2;3\";"));
    QCOMPARE(semicolons.fields(), (Fields{"1", "2;3", ""}));
}

void TstFoundation::filesReadWholeAndReplaceAtomically()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const std::string path = dir.path().toStdString() + "/sub/file.bin";
    const std::string bytes("a\0b\r\nc", 6);
    writeFileAtomic(path, bytes);
    QCOMPARE(readFile(path), bytes);
    writeFileAtomic(path, "second");
    QCOMPARE(readFile(path), std::string("second"));
    // A failed write leaves the old file and no temporary behind.
    QVERIFY_THROWS_EXCEPTION(CoreException, replaceFileAtomic(path, [](const std::string& tmp) {
        std::ofstream(tmp) << "partial";
        throw std::runtime_error("disk full");
    }));
    QCOMPARE(readFile(path), std::string("second"));
    QCOMPARE(QDir(dir.path() + QStringLiteral("/sub")).entryList(QDir::Files).size(), qsizetype(1));

    const std::string missing = dir.path().toStdString() + "/missing.txt";
    QVERIFY(!tryReadFile(missing));
    try {
        readFile(missing, ErrorCode::CheckpointIO, "the test file");
        QFAIL("expected an error");
    } catch (const CoreException& e) {
        QCOMPARE(e.error().code, ErrorCode::CheckpointIO);
        QCOMPARE(std::string(e.what()), "cannot read the test file '" + missing + "'");
    }
}

QTEST_GUILESS_MAIN(TstFoundation)
#include "tst_foundation.moc"
