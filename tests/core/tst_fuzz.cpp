// Seeded fuzzing of the readers that take files from outside: the safetensors reader, the
// experiment reader, the dataset importers (MovieLens ml-1m, Amazon, Steam, native, RecBole) and
// the model-output parser. A few hundred mutations each (bit flips, random bytes, deleted,
// duplicated and truncated ranges) of valid inputs, in seconds: no crash, no hang (every input
// within a time bound), and every failure a CoreException with a message — never another
// exception type escaping a reader. scripts/sanitize-fuzz.sh runs it under ASan + UBSan.
#include "core/api/error.h"
#include "core/api/experiment.h"
#include "core/data/importers.h"
#include "core/data/synthetic.h"
#include "core/rules/parse.h"
#include "core/rules/title_lookup.h"
#include "core/util/safetensors.h"

#include <QTemporaryDir>
#include <QtTest>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>

using namespace recalign::core;
namespace fs = std::filesystem;

namespace tst_fuzz_detail {

const std::string kFixtures = std::string(RECALIGN_SOURCE_DIR) + "/tests/fixtures";
constexpr int kMutations = 300;        // per target
constexpr double kSlowSeconds = 2.0;   // one input taking longer is reported as a hang

std::string readBytes(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void writeBytes(const std::string& path, const std::string& bytes)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << bytes;
}

// One mutation of `in`, chosen and placed by `rng`.
std::string mutate(std::string in, std::mt19937_64& rng)
{
    auto pick = [&](size_t n) { return n == 0 ? size_t(0) : static_cast<size_t>(rng() % n); };
    const int kinds = 1 + static_cast<int>(rng() % 3);  // several edits at once
    for (int k = 0; k < kinds; ++k) {
        switch (rng() % 7) {
        case 0:  // flip a bit
            if (!in.empty())
                in[pick(in.size())] ^= static_cast<char>(1u << (rng() % 8));
            break;
        case 1:  // a random byte
            if (!in.empty())
                in[pick(in.size())] = static_cast<char>(rng() % 256);
            break;
        case 2: {  // insert random bytes
            std::string b(1 + pick(16), '\0');
            for (char& c : b)
                c = static_cast<char>(rng() % 256);
            in.insert(pick(in.size() + 1), b);
            break;
        }
        case 3: {  // delete a range
            const size_t at = pick(in.size() + 1);
            in.erase(at, pick(64) + 1);
            break;
        }
        case 4: {  // duplicate a range
            const size_t at = pick(in.size() + 1);
            const std::string part = in.substr(at, pick(128) + 1);
            in.insert(pick(in.size() + 1), part);
            break;
        }
        case 5:  // truncate
            in.resize(pick(in.size() + 1));
            break;
        default: {  // a structural character somewhere (quotes, separators, brackets, newlines)
            static const char kChars[] = "\"'\t\n\r,:{}[]#|\\-0123456789 ";
            if (!in.empty())
                in[pick(in.size())] = kChars[pick(sizeof(kChars) - 1)];
        }
        }
    }
    return in;
}

struct Tally {
    int ok = 0, clearErrors = 0;
    double slowest = 0.0;
};

// Runs `body` on kMutations mutations of `seed` (through `use`, which writes the input where the
// reader finds it); fails the test on any exception that is not a CoreException with a message,
// and on an input slower than kSlowSeconds.
void fuzz(const char* target, const std::string& seed, uint64_t rngSeed, const std::function<void(const std::string&)>& use,
          Tally& t)
{
    std::mt19937_64 rng(rngSeed);
    for (int i = 0; i < kMutations; ++i) {
        const std::string input = mutate(seed, rng);
        const auto t0 = std::chrono::steady_clock::now();
        try {
            use(input);
            ++t.ok;
        } catch (const CoreException& e) {
            QVERIFY2(std::string(e.what()).size() > 8,
                     qPrintable(QStringLiteral("%1 mutation %2: an error without a message").arg(QLatin1String(target)).arg(i)));
            ++t.clearErrors;
        } catch (const std::exception& e) {
            QFAIL(qPrintable(QStringLiteral("%1 mutation %2 (seed %3): %4 escaped the reader: %5")
                                 .arg(QLatin1String(target))
                                 .arg(i)
                                 .arg(rngSeed)
                                 .arg(QLatin1String(typeid(e).name()), QString::fromStdString(e.what()))));
        }
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        t.slowest = std::max(t.slowest, s);
        QVERIFY2(s < kSlowSeconds,
                 qPrintable(QStringLiteral("%1 mutation %2 took %3 s").arg(QLatin1String(target)).arg(i).arg(s)));
    }
    qInfo("%s: %d mutations: %d read, %d clear errors; slowest %.3f s", target, kMutations, t.ok, t.clearErrors,
          t.slowest);
}

}  // namespace tst_fuzz_detail

using namespace tst_fuzz_detail;

class TstFuzz : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { QVERIFY(m_dir.isValid()); }
    void safetensorsReader();
    void experimentReader();
    void datasetImporters_data();
    void datasetImporters();
    void outputParser();

private:
    QTemporaryDir m_dir;
};

void TstFuzz::safetensorsReader()
{
    // A valid file: two float32 tensors and one bf16, metadata.
    const std::string path = m_dir.filePath(QStringLiteral("seed.safetensors")).toStdString();
    std::vector<float> a(12, 1.5f), b(7, -2.0f);
    std::vector<uint16_t> c(5, 0x3F80);
    writeSafetensors(path, {{"layer.a", StDtype::F32, {3, 4}, a.data()}, {"layer.b", StDtype::F32, {7}, b.data()},
                            {"layer.c", StDtype::BF16, {5}, c.data()}},
                     {{"format", "pt"}, {"note", "fuzz seed"}});
    const std::string seed = readBytes(path);
    const std::string input = m_dir.filePath(QStringLiteral("in.safetensors")).toStdString();
    Tally t;
    fuzz("safetensors", seed, 11, [&](const std::string& bytes) {
        writeBytes(input, bytes);
        const SafetensorsFile f = SafetensorsFile::open(input);
        size_t total = 0;
        for (const auto& name : f.names()) {
            const StTensorInfo& info = f.info(name);
            const uint8_t* p = f.data(info);
            for (uint64_t k = info.begin; k < info.end; ++k)  // every byte it claims is readable
                total += p[k - info.begin];
        }
        (void)total;
    }, t);
    QVERIFY(t.ok > 0 && t.clearErrors > 0);
}

void TstFuzz::experimentReader()
{
    const std::string seed = readBytes(kFixtures + "/pipeline/mini.yaml");
    Tally t;
    fuzz("experiment", seed, 12, [&](const std::string& text) {
        const ExperimentCheck check = checkExperimentText(text, kFixtures + "/pipeline", {FileCheck::Skip});
        for (const auto& e : check.errors)
            if (e.message.empty())
                throw std::logic_error("an experiment error without a message (key " + e.key + ")");
        if (!check.ok())
            throw CoreException(ErrorCode::InvalidConfig, check.errors.front().message);
    }, t);
    QVERIFY(t.clearErrors > 0);
}

void TstFuzz::datasetImporters_data()
{
    QTest::addColumn<QString>("source");
    QTest::addColumn<QString>("folder");
    QTest::addColumn<QString>("file");
    QTest::newRow("ml-1m movies") << "movielens" << "data/ml-1m" << "movies.dat";
    QTest::newRow("ml-1m ratings") << "movielens" << "data/ml-1m" << "ratings.dat";
    QTest::newRow("amazon meta") << "amazon" << "data/amazon" << "meta_Tiny.json";
    QTest::newRow("amazon reviews") << "amazon" << "data/amazon" << "reviews_Tiny_5.json";
    QTest::newRow("steam games") << "steam" << "data/steam-australian" << "steam_games.json";
    QTest::newRow("steam nested reviews") << "steam" << "data/steam-australian" << "australian_user_reviews.json";
    QTest::newRow("native items") << "native" << "data/native" << "items.jsonl";
    QTest::newRow("native interactions") << "native" << "data/native" << "interactions.csv";
    QTest::newRow("recbole item") << "recbole" << "data/recbole/ml-tiny" << "ml-tiny.item";
    QTest::newRow("recbole inter") << "recbole" << "data/recbole/ml-tiny" << "ml-tiny.inter";
}

void TstFuzz::datasetImporters()
{
    QFETCH(QString, source);
    QFETCH(QString, folder);
    QFETCH(QString, file);
    // A copy of the fixture folder whose one file is replaced by each mutation; strict and lenient.
    const std::string from = kFixtures + "/" + folder.toStdString();
    const std::string to = m_dir.filePath(folder.section(QLatin1Char('/'), -1) + QLatin1Char('-') + file).toStdString();
    fs::create_directories(to);
    for (const auto& e : fs::directory_iterator(from))
        if (e.is_regular_file() && e.path().filename() != "README.md")
            fs::copy_file(e.path(), fs::path(to) / e.path().filename(), fs::copy_options::overwrite_existing);
    const std::string target = to + "/" + file.toStdString();
    const std::string seed = readBytes(target);
    Tally t;
    int round = 0;
    fuzz(qPrintable(source + QLatin1Char(' ') + file), seed, std::hash<std::string>{}(target) % 1000, [&](const std::string& bytes) {
        writeBytes(target, bytes);
        DatasetSpec s;
        s.source = parseDatasetSource(source.toStdString());
        s.path = to;
        s.user_core = s.item_core = 1;
        s.lenient = (++round % 2) == 0;
        const Dataset d = loadDataset(s);
        for (ItemId i = 1; i <= d.numItems(); ++i)
            if (d.categoriesOf(i).empty())
                throw std::logic_error("an item without a category was kept");
    }, t);
}

void TstFuzz::outputParser()
{
    SyntheticOptions so;
    so.seed = 3;
    so.items = 60;
    so.users = 20;
    const Dataset data = generateSynthetic(so);
    const TitleLookup lookup(data);
    std::string seed;
    for (ItemId i = 1; i <= 10; ++i)
        seed += std::to_string(i) + ". " + data.title(i) + "\n";
    seed += "Here are some more: \"" + data.title(11) + "\", " + data.title(12) + "\n11) " + data.title(13);
    Tally t;
    fuzz("output parser", seed, 14, [&](const std::string& text) {
        for (bool fuzzy : {false, true}) {
            ParseOptions po;
            po.fuzzy = fuzzy;
            for (const ParsedLine& p : parseOutput(text, lookup, po)) {
                if (p.begin > p.end || p.end > text.size() || p.title_begin > p.title_end || p.title_end > text.size())
                    throw std::logic_error("a parsed line's span lies outside the output");
                if (p.exact_item < 0 || p.exact_item > data.numItems() || p.item < 0 || p.item > data.numItems())
                    throw std::logic_error("a parsed line names an item outside the catalogue");
            }
        }
    }, t);
    QCOMPARE(t.clearErrors, 0);  // the parser never fails: any bytes are an output to judge
}

QTEST_GUILESS_MAIN(TstFuzz)
#include "tst_fuzz.moc"
