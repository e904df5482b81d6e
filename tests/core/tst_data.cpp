// Datasets: importers (MovieLens, Amazon, Steam, native), the pipeline, bad input in strict and
// lenient mode, the synthetic default, the title index, the cache and the baselines.
#include "core/api/error.h"
#include "core/data/baselines.h"
#include "core/data/cache.h"
#include "core/data/importers.h"
#include "core/data/literal.h"
#include "core/data/synthetic.h"
#include "core/data/title_index.h"
#include "core/util/hash.h"

#include <nlohmann/json.hpp>
#include <zlib.h>

#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>

using namespace recalign::core;
namespace fs = std::filesystem;

namespace tst_data_detail {

const std::string kFixtures = std::string(RECALIGN_SOURCE_DIR) + "/tests/fixtures/data";
const std::string kMlSmall = std::string(RECALIGN_SHARED_DIR) + "/data/ml-latest-small";

void writeFile(const std::string& path, const std::string& bytes)
{
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string readFile(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

void gzipFile(const std::string& src, const std::string& dst)
{
    const std::string data = readFile(src);
    fs::create_directories(fs::path(dst).parent_path());
    gzFile f = gzopen(dst.c_str(), "wb");
    QVERIFY(f);
    gzwrite(f, data.data(), static_cast<unsigned>(data.size()));
    gzclose(f);
}

DatasetSpec spec(const std::string& source, const std::string& path, bool lenient = false, int core = 1)
{
    DatasetSpec s;
    s.source = parseDatasetSource(source);
    s.path = path;
    s.lenient = lenient;
    s.user_core = core;
    s.item_core = core;
    return s;
}

// Loads and expects a CoreException with `code` whose message contains `part`; returns it.
std::string loadError(const DatasetSpec& s, ErrorCode code = ErrorCode::DataLoad)
{
    try {
        loadDataset(s);
    } catch (const CoreException& e) {
        if (e.error().code != code)
            return std::string("WRONG CODE ") + errorCodeName(e.error().code) + ": " + e.what();
        return e.what();
    }
    return "NO ERROR";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

ItemId itemByRawId(const Dataset& d, const std::string& raw)
{
    for (ItemId i = 1; i <= d.numItems(); ++i)
        if (d.items[static_cast<size_t>(i)].raw_id == raw)
            return i;
    return 0;
}

const User* userByRawId(const Dataset& d, const std::string& raw)
{
    for (const auto& u : d.users)
        if (u.raw_id == raw)
            return &u;
    return nullptr;
}

std::vector<std::string> categoryNames(const Dataset& d, ItemId id)
{
    std::vector<std::string> out;
    for (CategoryId c : d.categoriesOf(id))
        out.push_back(d.categories[static_cast<size_t>(c)].name);
    return out;
}

// A small, valid ml-latest folder that the malformed-input cases edit.
const std::string kMovies = "movieId,title,genres\n"
                            "1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\n"
                            "2,Jumanji (1995),Adventure|Children|Fantasy\n"
                            "3,\"City of Lost Children, The (1995)\",Adventure|Drama|Fantasy\n"
                            "4,Nothing Listed (2000),(no genres listed)\n";
const std::string kRatings = "userId,movieId,rating,timestamp\n"
                             "1,1,4.0,964982703\n1,2,4.0,964981247\n1,3,4.0,964982224\n"
                             "2,1,3.0,964983815\n2,3,5.0,964982931\n2,4,5.0,964982400\n"
                             "3,2,2.5,964980000\n3,1,2.5,964980001\n3,3,2.5,964980002\n";

std::string replaceAll(std::string s, const std::string& from, const std::string& to)
{
    for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
        s.replace(p, from.size(), to);
    return s;
}

}  // namespace tst_data_detail

using namespace tst_data_detail;

class TstData : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void movieLensSmallMatchesTheIssueCounts();
    void movieLensSequencesAreTimeSortedAndSplitLeaveOneOut();
    void secondLoadComesFromTheCacheWellUnderASecond();
    void cacheIsInvalidatedByContentNotByTouch();
    void syntheticIsByteIdenticalPerSeedAndDiffersAcrossSeeds();
    void syntheticHasReadableTitlesAndOneToThreeCategories();
    void syntheticCarriesSequentialAndCategorySignal();
    void malformedMovieLensInputStrictAndLenient_data();
    void malformedMovieLensInputStrictAndLenient();
    void missingEmptyAndTruncatedFilesAreErrorsInBothModes();
    void kCoreThatEmptiesTheDatasetIsAClearError();
    void userWithOneInteractionIsTrainOnly();
    void amazonCategoriesArePrefixesWithoutTheRoot();
    void amazonPythonLiteralMetaAndGzipReviewsImport();
    void pythonLiteralsAndJsonParseToTheSameValues();
    void latin1MovieLensFilesDecodeToUtf8();
    void steamGenresOrTagsBecomeCategories();
    void steamAustralianReviewsInThePublishedNestedLayout();
    void nativeImportAndExportRoundTrip();
    void recBoleAtomicFilesImportEveryFieldType();
    void malformedRecBoleHeadersAndLines();
    void fuzzyLookupFindsToyStoryWithinDistanceThroughABkTree();
    void badSpecsAreInvalidConfig();
};

void TstData::movieLensSmallMatchesTheIssueCounts()
{
    const Dataset d = loadDataset(spec("movielens", kMlSmall, false, -1));
    QCOMPARE(d.source, std::string("movielens"));
    QCOMPARE(d.name, std::string("ml-latest-small"));
    QCOMPARE(d.stats.raw_users, 610L);
    QCOMPARE(d.stats.raw_interactions, 100836L);
    QCOMPARE(d.stats.raw_items, 9742L);
    QCOMPARE(d.stats.raw_items_with_interactions, 9724L);
    // 19 genres plus the label "(no genres listed)", which is no category.
    QCOMPARE(d.stats.raw_category_labels, 20L);
    QCOMPARE(d.numCategories(), 19);
    QCOMPARE(d.stats.items_without_title_or_category, 34L);
    QCOMPARE(d.stats.user_core, 5);
    QCOMPARE(d.stats.item_core, 5);
    for (ItemId i = 1; i <= d.numItems(); ++i)
        QVERIFY(!d.categoriesOf(i).empty());
    long total = 0;
    for (const auto& u : d.users)
        total += static_cast<long>(u.sequence.size());
    QCOMPARE(total, d.stats.interactions);
    const std::string text = formatStats(d);
    QVERIFY2(contains(text, "610 users, 100,836 interactions, 9,742 movies in the file (9,724 with interactions), "
                            "20 genre labels"),
             text.c_str());

    // Without filtering every movie with a rating is kept ("Other" holds the 34 genre-less ones).
    DatasetSpec all = spec("movielens", kMlSmall);
    all.uncategorized = DatasetConfig::Uncategorized::Other;
    const Dataset full = loadDataset(all);
    QCOMPARE(full.numItems(), 9724);
    QCOMPARE(full.stats.interactions, 100836L);
    QCOMPARE(full.numUsers(), 610);
    QCOMPARE(full.stats.duplicate_titles, 5L);

    // The spec is the experiment's dataset section: k-core 0 is no filter (as 1), -1 the source's
    // 5-core; max_users keeps the first users after filtering.
    DatasetSpec none = all;
    none.user_core = none.item_core = 0;
    QCOMPARE(loadDataset(none).numItems(), 9724);
    DatasetSpec byDefault = all;
    byDefault.user_core = byDefault.item_core = -1;
    const Dataset fiveCore = loadDataset(byDefault);
    QVERIFY2(fiveCore.numItems() < 9724 && fiveCore.numItems() > 3000, std::to_string(fiveCore.numItems()).c_str());
    DatasetSpec firstTen = all;
    firstTen.max_users = 10;
    const Dataset ten = loadDataset(firstTen);
    QCOMPARE(ten.numUsers(), 10);
    QCOMPARE(ten.users.back().raw_id, full.users[9].raw_id);
}

void TstData::movieLensSequencesAreTimeSortedAndSplitLeaveOneOut()
{
    const Dataset d = loadDataset(spec("movielens", kMlSmall));
    QCOMPARE(d.numUsers(), 610);
    for (UserIndex u = 0; u < d.numUsers(); ++u) {
        const auto& user = d.users[static_cast<size_t>(u)];
        QCOMPARE(user.timestamps.size(), user.sequence.size());
        QVERIFY(std::is_sorted(user.timestamps.begin(), user.timestamps.end()));
        QVERIFY(d.hasEvalTargets(u));
        const auto train = d.trainSequence(u);
        QCOMPARE(train.size() + 2, user.sequence.size());
        QCOMPARE(d.validTarget(u), user.sequence[user.sequence.size() - 2]);
        QCOMPARE(d.testTarget(u), user.sequence.back());
        const auto h = d.testHistory(u, 10);
        QCOMPARE(h.size(), std::min<size_t>(10, user.sequence.size() - 1));
        QCOMPARE(h.back(), d.validTarget(u));
    }
    // Users in order of their first rating line; item ids as first met walking the sequences.
    QCOMPARE(d.users.front().raw_id, std::string("1"));
    QCOMPARE(d.users.front().sequence.front(), 1);
    // Item 1 is user 1's earliest-rated movie (read back from ratings.csv; ties keep file order).
    std::map<int64_t, std::string> firstRatings;
    {
        std::ifstream in(kMlSmall + "/ratings.csv");
        std::string line;
        std::getline(in, line);
        while (std::getline(in, line) && line.rfind("1,", 0) == 0) {
            const size_t a = line.find(','), b = line.find(',', a + 1), c = line.find(',', b + 1);
            firstRatings.emplace(std::stoll(line.substr(c + 1)), line.substr(a + 1, b - a - 1));
        }
    }
    QCOMPARE(d.items[1].raw_id, firstRatings.begin()->second);
}

void TstData::secondLoadComesFromTheCacheWellUnderASecond()
{
    QTemporaryDir dir;
    DatasetSpec s = spec("movielens", kMlSmall, false, -1);
    s.cache_dir = dir.path().toStdString();
    QElapsedTimer t;
    t.start();
    const Dataset first = loadDataset(s);
    const qint64 coldMs = t.elapsed();
    QCOMPARE(static_cast<int>(std::distance(fs::directory_iterator(s.cache_dir), fs::directory_iterator())), 1);
    t.restart();
    const Dataset second = loadDataset(s);
    const qint64 warmMs = t.elapsed();
    qInfo("ml-latest-small: import %lld ms, cached load %lld ms", static_cast<long long>(coldMs),
          static_cast<long long>(warmMs));
    QVERIFY2(warmMs < 300, "a cached load of ml-latest-small must take well under a second");
    QCOMPARE(second.fingerprint, first.fingerprint);
    QVERIFY(serializeDataset(second) == serializeDataset(first));
    QCOMPARE(second.stats.raw_interactions, 100836L);

    // Other options use another cache file; a corrupt cache file is ignored and rebuilt.
    s.item_core = 10;
    const Dataset tenCore = loadDataset(s);
    QVERIFY(tenCore.numItems() < first.numItems());
    QCOMPARE(static_cast<int>(std::distance(fs::directory_iterator(s.cache_dir), fs::directory_iterator())), 2);
    for (const auto& e : fs::directory_iterator(s.cache_dir)) {
        std::string bytes = readFile(e.path().string());
        bytes.resize(bytes.size() / 2);
        writeFile(e.path().string(), bytes);
    }
    QCOMPARE(loadDataset(s).fingerprint, tenCore.fingerprint);
}

void TstData::cacheIsInvalidatedByContentNotByTouch()
{
    QTemporaryDir dir;
    const std::string ml = dir.filePath(QStringLiteral("ml")).toStdString();
    writeFile(ml + "/movies.csv", kMovies);
    writeFile(ml + "/ratings.csv", kRatings);
    DatasetSpec s = spec("movielens", ml);
    s.cache_dir = dir.filePath(QStringLiteral("cache")).toStdString();
    const Dataset a = loadDataset(s);
    const auto sources = sourceFiles(s);
    fs::path cacheFile = fs::directory_iterator(s.cache_dir)->path();
    QVERIFY(readDatasetCache(cacheFile.string(), sources).has_value());
    // Touched, same bytes: still valid.
    fs::last_write_time(ml + "/ratings.csv", fs::last_write_time(ml + "/ratings.csv") + std::chrono::hours(1));
    QVERIFY(readDatasetCache(cacheFile.string(), sources).has_value());
    // Same size, other content: stale, and a load sees the new data.
    writeFile(ml + "/ratings.csv", replaceAll(kRatings, "3,2,2.5,964980000", "3,2,2.5,964990000"));
    QVERIFY(!readDatasetCache(cacheFile.string(), sources).has_value());
    const Dataset b = loadDataset(s);
    QVERIFY(b.fingerprint != a.fingerprint);
}

void TstData::syntheticIsByteIdenticalPerSeedAndDiffersAcrossSeeds()
{
    SyntheticOptions o;
    const Dataset a = generateSynthetic(o);
    const Dataset b = generateSynthetic(o);
    QCOMPARE(sha256Hex(serializeDataset(a)), sha256Hex(serializeDataset(b)));
    QCOMPARE(a.fingerprint, b.fingerprint);
    o.seed = 2;
    const Dataset c = generateSynthetic(o);
    QVERIFY(a.fingerprint != c.fingerprint);
    QVERIFY(sha256Hex(serializeDataset(a)) != sha256Hex(serializeDataset(c)));
    // Through loadDataset too.
    DatasetSpec s;
    s.source = DatasetSource::Synthetic;
    QCOMPARE(loadDataset(s).fingerprint, a.fingerprint);
    QCOMPARE(a.name, std::string("synthetic(seed=1)"));
}

void TstData::syntheticHasReadableTitlesAndOneToThreeCategories()
{
    const Dataset d = generateSynthetic(SyntheticOptions{});
    QVERIFY(d.numItems() >= 400 && d.numItems() <= 500);
    QCOMPARE(d.numUsers(), 500);
    QCOMPARE(d.numCategories(), 18);
    QCOMPARE(d.stats.duplicate_titles, 0L);
    std::set<std::string> titles;
    int sequels = 0;
    for (ItemId i = 1; i <= d.numItems(); ++i) {
        const std::string& t = d.title(i);
        const auto words = std::count(t.begin(), t.end(), ' ') + 1;
        QVERIFY2(words >= 2 && words <= 4, t.c_str());
        QVERIFY(titles.insert(t).second);
        const auto n = d.categoriesOf(i).size();
        QVERIFY(n >= 1 && n <= 3);
        sequels += d.items[static_cast<size_t>(i)].extra.count("franchise") ? 1 : 0;
        // A sub-genre always comes with its genre ("Fantasy, Fairy Tale" ⇒ "Fantasy").
        for (const auto& name : categoryNames(d, i)) {
            const auto comma = name.find(", ");
            if (comma != std::string::npos) {
                const auto names = categoryNames(d, i);
                QVERIFY(std::find(names.begin(), names.end(), name.substr(0, comma)) != names.end());
            }
        }
    }
    QVERIFY(sequels > 30);
    for (const auto& u : d.users) {
        QVERIFY(u.sequence.size() >= 8 && u.sequence.size() <= 24);
        QCOMPARE(std::set<ItemId>(u.sequence.begin(), u.sequence.end()).size(), u.sequence.size());
    }
}

void TstData::syntheticCarriesSequentialAndCategorySignal()
{
    const Dataset d = generateSynthetic(SyntheticOptions{});
    const auto pop = evaluateMostPopular(d);
    const auto tr = evaluateTransition(d);
    qInfo("synthetic test HR@10: most-popular %.4f, transition %.4f", pop.hr, tr.hr);
    QCOMPARE(pop.users, 500L);
    QVERIFY(tr.hr > 2.0 * pop.hr);
    QVERIFY(tr.ndcg > 2.0 * pop.ndcg);
    // Category signal: the test target shares the user's favourite genre (most frequent genre
    // in training) far more often than that genre's share of the catalogue.
    const TitleIndex index(d);
    double hits = 0, base = 0;
    for (UserIndex u = 0; u < d.numUsers(); ++u) {
        std::map<CategoryId, int> counts;
        for (ItemId i : d.trainSequence(u))
            for (CategoryId c : d.categoriesOf(i))
                if (d.categories[static_cast<size_t>(c)].name.find(", ") == std::string::npos)
                    ++counts[c];
        const auto fav = std::max_element(counts.begin(), counts.end(),
                                           [](const auto& a, const auto& b) { return a.second < b.second; })->first;
        hits += d.inCategory(d.testTarget(u), fav) ? 1 : 0;
        base += static_cast<double>(index.itemsIn(fav).size()) / d.numItems();
    }
    qInfo("synthetic: test target in the favourite genre %.3f vs catalogue share %.3f", hits / d.numUsers(),
          base / d.numUsers());
    QVERIFY(hits / d.numUsers() > 2.0 * base / d.numUsers());
}

void TstData::malformedMovieLensInputStrictAndLenient_data()
{
    QTest::addColumn<QByteArray>("movies");  // bytes as written (Latin-1 rows included)
    QTest::addColumn<QByteArray>("ratings");
    QTest::addColumn<QString>("strictError");  // empty: loads in strict mode too
    QTest::addColumn<int>("skipped");          // lenient
    QTest::addColumn<int>("repaired");
    QTest::addColumn<QString>("title3");       // title of movie 3 after a lenient load
    const auto q = [](const std::string& s) { return QByteArray::fromStdString(s); };
    const QString okTitle = QStringLiteral("City of Lost Children, The (1995)");
    QTest::newRow("crlf") << q(replaceAll(kMovies, "\n", "\r\n")) << q(replaceAll(kRatings, "\n", "\r\n")) << QString()
                          << 0 << 0 << okTitle;
    QTest::newRow("utf8 bom") << q("\xEF\xBB\xBF" + kMovies) << q("\xEF\xBB\xBF" + kRatings) << QString() << 0 << 0
                              << okTitle;
    QTest::newRow("latin-1 byte in utf-8")
        << q(replaceAll(kMovies, "\"City of Lost Children, The (1995)\"", "Caf\xE9 (1999)")) << q(kRatings)
        << QStringLiteral("movies.csv:4: expected UTF-8 text, found byte 0xE9 at column 6") << 0 << 1
        << QStringLiteral("Caf\u00e9 (1999)");
    QTest::newRow("unterminated quote")
        << q(replaceAll(kMovies, "2,Jumanji (1995),", "2,\"Jumanji (1995),")) << q(kRatings)
        << QStringLiteral("movies.csv:3: expected a closing '\"' for the quoted field opened on this line, found a "
                          "quote on line 4 that leaves 4 fields instead of 3")
        << 1 << 0 << okTitle;
    QTest::newRow("missing column") << q(kMovies + "5,Title Only (2001)\n") << q(kRatings)
                                    << QStringLiteral("movies.csv:6: expected 3 columns (movieId,title,genres), found 2")
                                    << 1 << 0 << okTitle;
    QTest::newRow("non-numeric movie id")
        << q(kMovies + "abc,Bad Id (2002),Drama\n") << q(kRatings)
        << QStringLiteral("movies.csv:6: expected an integer movieId, found 'abc'") << 1 << 0 << okTitle;
    QTest::newRow("non-numeric user id")
        << q(kMovies) << q(kRatings + "u1,1,4.0,964982703\n")
        << QStringLiteral("ratings.csv:11: expected an integer userId, found 'u1'") << 1 << 0 << okTitle;
    QTest::newRow("non-numeric rating")
        << q(kMovies) << q(kRatings + "1,4,great,964982703\n")
        << QStringLiteral("ratings.csv:11: expected a numeric rating, found 'great'") << 1 << 0 << okTitle;
    QTest::newRow("duplicate movie id")
        << q(kMovies + "3,Duplicate Three (2003),Comedy\n") << q(kRatings)
        << QStringLiteral("movies.csv:6: expected a new movieId, found '3' again (first on line 4)") << 1 << 0 << okTitle;
    QTest::newRow("title with newline, tab and quotes")
        << q(replaceAll(kMovies, "\"City of Lost Children, The (1995)\"",
                        "\"Title with \"\"quotes\"\",\na newline and\ta tab (2003)\""))
        << q(kRatings) << QString() << 0 << 0 << QStringLiteral("Title with \"quotes\", a newline and a tab (2003)");
}

void TstData::malformedMovieLensInputStrictAndLenient()
{
    QFETCH(QByteArray, movies);
    QFETCH(QByteArray, ratings);
    QFETCH(QString, strictError);
    QFETCH(int, skipped);
    QFETCH(int, repaired);
    QFETCH(QString, title3);
    QTemporaryDir dir;
    const std::string ml = dir.path().toStdString();
    writeFile(ml + "/movies.csv", movies.toStdString());
    writeFile(ml + "/ratings.csv", ratings.toStdString());

    if (strictError.isEmpty()) {
        const Dataset d = loadDataset(spec("movielens", ml));
        QCOMPARE(d.stats.skipped_lines, 0L);
        QCOMPARE(d.title(itemByRawId(d, "3")), title3.toStdString());
    } else {
        const std::string msg = loadError(spec("movielens", ml));
        QVERIFY2(contains(msg, ml + "/" + strictError.toStdString()), msg.c_str());
    }
    const Dataset d = loadDataset(spec("movielens", ml, /*lenient=*/true));
    QCOMPARE(d.stats.skipped_lines, static_cast<long>(skipped));
    QCOMPARE(d.stats.repaired_lines, static_cast<long>(repaired));
    QCOMPARE(static_cast<long>(d.stats.skipped_examples.size()), static_cast<long>(skipped));
    if (skipped)
        QVERIFY2(contains(d.stats.skipped_examples.front(), strictError.toStdString()), d.stats.skipped_examples.front().c_str());
    QCOMPARE(d.title(itemByRawId(d, "3")), title3.toStdString());
    QCOMPARE(d.title(itemByRawId(d, "1")), std::string("Toy Story (1995)"));  // the first of duplicates
    QVERIFY(itemByRawId(d, "1") && itemByRawId(d, "3"));
    for (const auto& c : d.categories)
        QVERIFY(c.name.find('\r') == std::string::npos && c.name != "(no genres listed)");
    QCOMPARE(d.stats.raw_category_labels, 7L);  // 6 genres + "(no genres listed)"
}

void TstData::missingEmptyAndTruncatedFilesAreErrorsInBothModes()
{
    QTemporaryDir dir;
    const std::string root = dir.path().toStdString();
    for (bool lenient : {false, true}) {
        // Missing folder, missing file, override naming a missing file.
        QVERIFY(contains(loadError(spec("movielens", root + "/nope", lenient)), "no such folder"));
        writeFile(root + "/half/movies.csv", kMovies);
        const std::string half = loadError(spec("movielens", root + "/half", lenient));
        QVERIFY2(contains(half, "expected MovieLens files") && contains(half, "found movies.csv"), half.c_str());
        DatasetSpec s = spec("movielens", root + "/half", lenient);
        s.items_file = "movies.csv";
        s.interactions_file = "ratings.csv";
        QVERIFY(contains(loadError(s), root + "/half/ratings.csv: expected a file, found nothing"));
        // Empty files.
        writeFile(root + "/empty/movies.csv", "");
        writeFile(root + "/empty/ratings.csv", kRatings);
        QVERIFY(contains(loadError(spec("movielens", root + "/empty", lenient)),
                         "movies.csv: expected a header line 'movieId,title,genres', found an empty file"));
        writeFile(root + "/amzempty/meta_X.json", readFile(kFixtures + "/amazon/meta_Tiny.json"));
        writeFile(root + "/amzempty/reviews_X.json", "\n");
        QVERIFY(contains(loadError(spec("amazon", root + "/amzempty", lenient)),
                         "reviews_X.json: expected one JSON object or Python dict per line, found an empty file"));
    }
    // Truncated gzip: big enough that the cut falls inside the deflate stream.
    std::string reviews;
    for (int rep = 0; rep < 400; ++rep)
        reviews += readFile(kFixtures + "/amazon/reviews_Tiny_5.json");
    writeFile(root + "/gz/full.json", reviews);
    gzipFile(root + "/gz/full.json", root + "/trunc/reviews_X.json.gz");
    fs::remove_all(root + "/gz");
    std::string gz = readFile(root + "/trunc/reviews_X.json.gz");
    gz.resize(gz.size() / 2);
    writeFile(root + "/trunc/reviews_X.json.gz", gz);
    gzipFile(kFixtures + "/amazon/meta_Tiny.json", root + "/trunc/meta_X.json.gz");
    for (bool lenient : {false, true}) {
        const std::string msg = loadError(spec("amazon", root + "/trunc", lenient));
        QVERIFY2(contains(msg, "reviews_X.json.gz:") && contains(msg, "found a truncated or corrupt stream"), msg.c_str());
    }
}

void TstData::kCoreThatEmptiesTheDatasetIsAClearError()
{
    QTemporaryDir dir;
    const std::string ml = dir.path().toStdString();
    writeFile(ml + "/movies.csv", kMovies);
    writeFile(ml + "/ratings.csv", kRatings);
    for (bool lenient : {false, true}) {
        DatasetSpec s = spec("movielens", ml, lenient);
        s.user_core = 50;
        const std::string msg = loadError(s);
        QVERIFY2(contains(msg, "k-core filter (users >= 50, items >= 1 interactions) removed every user") &&
                     contains(msg, "3 users, 3 items and 8 interactions"),
                 msg.c_str());
        // The default MovieLens 5-core empties this tiny folder too.
        QVERIFY(contains(loadError(spec("movielens", ml, lenient, -1)), "removed every user"));
        // A rating filter that removes everything names the counts.
        s.user_core = 1;
        s.min_rating = 10;
        QVERIFY(contains(loadError(s), "no interactions left after filtering (9 read;"));
    }
}

void TstData::userWithOneInteractionIsTrainOnly()
{
    QTemporaryDir dir;
    const std::string ml = dir.path().toStdString();
    writeFile(ml + "/movies.csv", kMovies);
    writeFile(ml + "/ratings.csv", kRatings + "9,1,4.0,964982703\n");
    const Dataset d = loadDataset(spec("movielens", ml));
    QCOMPARE(d.numUsers(), 4);
    // User 9 rated one movie; user 2 keeps two (movie 4 has no genre and is dropped).
    QCOMPARE(d.stats.users_too_short_for_eval, 2L);
    const auto u = static_cast<UserIndex>(userByRawId(d, "9") - d.users.data());
    QVERIFY(!d.hasEvalTargets(u));
    QCOMPARE(d.validTarget(u), 0);
    QCOMPARE(d.testTarget(u), 0);
    QCOMPARE(d.trainSequence(u).size(), size_t(1));
    QVERIFY(d.testHistory(u, 10).empty());
    // Movie 4 has no genre: dropped with its one rating, and counted.
    QCOMPARE(d.stats.items_without_title_or_category, 1L);
    QCOMPARE(d.stats.interactions_dropped_item, 1L);
    QCOMPARE(d.numItems(), 3);
}

void TstData::amazonCategoriesArePrefixesWithoutTheRoot()
{
    QCOMPARE(amazonCategories({"Movies & TV", "Genre", "Drama", "Legal"}),
             (std::vector<std::string>{"Genre", "Genre, Drama", "Genre, Drama, Legal"}));
    QVERIFY(amazonCategories({"Movies & TV"}).empty());
    QVERIFY(amazonCategories({}).empty());
}

void TstData::amazonPythonLiteralMetaAndGzipReviewsImport()
{
    const Dataset d = loadDataset(spec("amazon", kFixtures + "/amazon"));
    QCOMPARE(d.stats.raw_items, 5L);
    QCOMPARE(d.stats.raw_users, 4L);
    QCOMPARE(d.stats.raw_interactions, 13L);
    QCOMPARE(d.stats.raw_items_with_interactions, 5L);
    QCOMPARE(d.stats.raw_category_labels, 4L);
    QCOMPARE(d.stats.interactions_unknown_item, 1L);          // B9999
    QCOMPARE(d.stats.items_without_title_or_category, 2L);    // root-only path; empty title
    QCOMPARE(d.stats.interactions_dropped_item, 2L);
    QCOMPARE(d.stats.duplicate_interactions, 1L);             // U2 reviewed B0001 twice: first kept
    QCOMPARE(d.numUsers(), 3);
    QCOMPARE(d.numItems(), 3);
    // Ids in first-appearance order; categories in creation order.
    QCOMPARE(d.items[1].raw_id, std::string("B0001"));
    QCOMPARE(d.items[2].raw_id, std::string("B0002"));
    QCOMPARE(d.items[3].raw_id, std::string("B0005"));
    QCOMPARE(categoryNames(d, 1), (std::vector<std::string>{"Genre for Featured Categories",
                                                            "Genre for Featured Categories, Science Fiction"}));
    QCOMPARE(categoryNames(d, 2), std::vector<std::string>{"Movies"});
    QCOMPARE(categoryNames(d, 3), (std::vector<std::string>{"Genre for Featured Categories",
                                                            "Genre for Featured Categories, Comedy"}));
    QCOMPARE(d.categories[0].members, (std::vector<ItemId>{1, 3}));
    QCOMPARE(d.title(2), std::string("Am\u00e9lie Director's Cut"));
    QCOMPARE(d.title(3), std::string("Summer \u00e9t\u00e9"));
    QCOMPARE(d.items[1].extra.at("brand"), std::string("Keanu Reeves"));
    // Stable time sort: U3's B0001 and B0005 share a timestamp and keep file order.
    QCOMPARE(userByRawId(d, "U3")->sequence, (std::vector<ItemId>{2, 1, 3}));
    QCOMPARE(userByRawId(d, "U2")->sequence, (std::vector<ItemId>{3, 1, 2}));
    // The default Amazon k-core (users >= 25, items >= 10) empties this fixture: a clear error.
    QVERIFY(contains(loadError(spec("amazon", kFixtures + "/amazon", false, -1)), "(users >= 25, items >= 10"));

    // Gzip copies load identically.
    QTemporaryDir dir;
    const std::string gz = dir.path().toStdString();
    gzipFile(kFixtures + "/amazon/meta_Tiny.json", gz + "/meta_Tiny.json.gz");
    gzipFile(kFixtures + "/amazon/reviews_Tiny_5.json", gz + "/reviews_Tiny_5.json.gz");
    const Dataset z = loadDataset(spec("amazon", gz));
    QCOMPARE(z.fingerprint, d.fingerprint);

    // A broken review line: strict names file:line; lenient skips and counts it.
    writeFile(gz + "/bad/meta_Tiny.json", readFile(kFixtures + "/amazon/meta_Tiny.json"));
    std::string reviews = readFile(kFixtures + "/amazon/reviews_Tiny_5.json");
    reviews.insert(reviews.find('\n') + 1, "{\"reviewerID\": \"U1\", \"asin\": \"B0001\", \"overall\": 5.0}\n{'a': \n");
    writeFile(gz + "/bad/reviews.json", reviews);
    const std::string msg = loadError(spec("amazon", gz + "/bad"));
    QVERIFY2(contains(msg, "reviews.json:2: expected the keys reviewerID, asin, overall, unixReviewTime, found only "
                           "reviewerID, asin, overall"),
             msg.c_str());
    const Dataset lenient = loadDataset(spec("amazon", gz + "/bad", true));
    QCOMPARE(lenient.stats.skipped_lines, 2L);
    QVERIFY2(contains(lenient.stats.skipped_examples[1], "reviews.json:3: expected a value"),
             lenient.stats.skipped_examples[1].c_str());
    QCOMPARE(lenient.fingerprint, d.fingerprint);
}

void TstData::pythonLiteralsAndJsonParseToTheSameValues()
{
    nlohmann::json a, b;
    LiteralError err;
    QVERIFY(parseLiteral("{'s': 'it\\'s', \"d\": \"say \\\"hi\\\"\", 'u': u'\\u00e9\\xe9', 'b': True, 'f': False, 'n': None,\n                          'l': [1, -2.5, 3e2, (4, 5), {6}], 'nested': {'k': []}, 'cat': 'a' \"b\",}",
                         a, err));
    QVERIFY(parseLiteral("{\"s\": \"it's\", \"d\": \"say \\\"hi\\\"\", \"u\": \"\\u00e9\\u00e9\", \"b\": true, \"f\": false, \"n\": null,\n                          \"l\": [1, -2.5, 300.0, [4, 5], [6]], \"nested\": {\"k\": []}, \"cat\": \"ab\"}",
                         b, err));
    QCOMPARE(a.dump(), b.dump());
    QCOMPARE(a["u"].get<std::string>(), std::string("\u00e9\u00e9"));
    QCOMPARE(a["l"][0].get<int64_t>(), int64_t(1));
    // Surrogate pairs (JSON) and \U escapes (Python) give the same code point.
    QVERIFY(parseLiteral("[\"\\ud83c\\udfac\", '\\U0001F3AC']", a, err));
    QCOMPARE(a[0].get<std::string>(), a[1].get<std::string>());
    // Only the wanted keys are built; the rest is skipped but still checked.
    QVERIFY(parseLiteralFields("{'reviewText': 'long {text} [with] brackets', 'asin': 'B1', 'x': {'y': [1, 2]}}",
                               {"asin"}, a, err));
    QCOMPARE(a.dump(), std::string("{\"asin\":\"B1\"}"));
    // Errors say what was expected and where.
    QVERIFY(!parseLiteral("{'a': 'open", a, err));
    QVERIFY2(contains(err.message, "expected a closing ' for the string opened here"), err.message.c_str());
    QCOMPARE(err.column, size_t(7));
    QVERIFY(!parseLiteral("{'a': 1, 'b' 2}", a, err));
    QVERIFY2(contains(err.message, "expected ':' after a dict key, found '2}'"), err.message.c_str());
    QVERIFY(!parseLiteral("{'a' 1}", a, err));  // {'a'} would be a set
    QVERIFY2(contains(err.message, "expected ',' or '}' in a set, found '1}'"), err.message.c_str());
    QVERIFY(!parseLiteral("[1, 2", a, err));
    QVERIFY(contains(err.message, "expected ',' or ']'"));
    QVERIFY(!parseLiteral("{'a': nope}", a, err));
    QVERIFY(contains(err.message, "expected a value (string, number, list, dict, True/False/None), found 'nope}'"));
    QVERIFY(!parseLiteral("{} trailing", a, err));
}

void TstData::latin1MovieLensFilesDecodeToUtf8()
{
    const Dataset m1 = loadDataset(spec("movielens", kFixtures + "/ml-1m"));
    QCOMPARE(m1.stats.raw_items, 4L);
    QCOMPARE(m1.stats.raw_interactions, 10L);
    QCOMPARE(m1.stats.raw_category_labels, 7L);
    QCOMPARE(m1.title(itemByRawId(m1, "2")), std::string("Mis\u00e9rables, Les (1995)"));
    QCOMPARE(m1.title(itemByRawId(m1, "3")), std::string("Caf\u00e9 au Lait (1993)"));
    QCOMPARE(categoryNames(m1, itemByRawId(m1, "1")), (std::vector<std::string>{"Animation", "Children's", "Comedy"}));
    QCOMPARE(m1.stats.repaired_lines, 0L);  // Latin-1 is this format's encoding, not an error

    const Dataset k = loadDataset(spec("movielens", kFixtures + "/ml-100k"));
    QCOMPARE(k.stats.raw_category_labels, 19L);
    QCOMPARE(k.stats.raw_items, 4L);
    QCOMPARE(k.stats.items_without_title_or_category, 1L);  // only the "unknown" genre
    QCOMPARE(k.numItems(), 3);
    const ItemId cite = itemByRawId(k, "3");
    QCOMPARE(k.title(cite), std::string("Cit\u00e9 des enfants perdus, La (1995)"));
    QCOMPARE(categoryNames(k, cite), (std::vector<std::string>{"Adventure", "Sci-Fi"}));
    QCOMPARE(k.items[static_cast<size_t>(cite)].extra.at("release_date"), std::string("01-Jan-1995"));
    // User 186 rated 3, 2, 1 in file order; by time it is 2, 1, 3.
    const User* u = userByRawId(k, "186");
    QVERIFY(u);
    QCOMPARE(u->sequence, (std::vector<ItemId>{itemByRawId(k, "2"), itemByRawId(k, "1"), cite}));
}

void TstData::steamGenresOrTagsBecomeCategories()
{
    const Dataset g = loadDataset(spec("steam", kFixtures + "/steam"));
    QCOMPARE(g.stats.raw_items, 4L);
    QCOMPARE(g.stats.raw_category_labels, 6L);
    QCOMPARE(g.stats.items_without_title_or_category, 1L);  // 'Tagless Wonder' has no genres
    QCOMPARE(g.numItems(), 3);
    QCOMPARE(g.numCategories(), 6);
    QCOMPARE(g.title(1), std::string("Lost Summoner Kitty"));
    QCOMPARE(categoryNames(g, 1), (std::vector<std::string>{"Action", "Casual", "Indie"}));
    QCOMPARE(g.items[1].extra.at("tags"), std::string("Strategy|Action|Indie"));
    QCOMPARE(g.stats.users_too_short_for_eval, 1L);  // Ariman1 keeps 2 games
    QCOMPARE(userByRawId(g, "Ariman1")->timestamps.front(), int64_t(1509494400));  // 2017-11-01

    DatasetSpec tags = spec("steam", kFixtures + "/steam");
    tags.steam_tags_as_categories = true;
    const Dataset t = loadDataset(tags);
    QCOMPARE(t.numItems(), 4);
    QCOMPARE(t.stats.users_too_short_for_eval, 0L);
    QCOMPARE(categoryNames(t, 1), (std::vector<std::string>{"Strategy", "Action", "Indie"}));
    QVERIFY(TitleIndex(t).categoryId("Puzzle") >= 0);
}

void TstData::recBoleAtomicFilesImportEveryFieldType()
{
    const Dataset d = loadDataset(spec("recbole", kFixtures + "/recbole/ml-tiny"));
    QCOMPARE(d.source, std::string("recbole"));
    QCOMPARE(d.name, std::string("ml-tiny"));
    QCOMPARE(d.stats.raw_items, 4L);
    QCOMPARE(d.stats.raw_users, 3L);
    QCOMPARE(d.stats.raw_interactions, 9L);
    QCOMPARE(d.stats.interactions_unknown_item, 1L);        // item 9 is not in the .item file
    QCOMPARE(d.stats.items_without_title_or_category, 1L);  // 'No Genre Film' has an empty class
    QCOMPARE(d.stats.raw_category_labels, 7L);
    QCOMPARE(d.numItems(), 3);
    // movie_title + release_year as MovieLens writes titles; class tokens are the genres.
    QCOMPARE(d.title(1), std::string("Toy Story (1995)"));
    QCOMPARE(categoryNames(d, 1), (std::vector<std::string>{"Animation", "Children's", "Comedy"}));
    QCOMPARE(d.items[1].extra.at("price"), std::string("1.5"));      // float
    QCOMPARE(d.items[1].extra.at("scores"), std::string("0.5 2"));   // float_seq
    // Interactions in time order; a fractional timestamp is rounded to the second.
    const auto* u2 = userByRawId(d, "2");
    QVERIFY(u2);
    QCOMPARE(u2->sequence.size(), size_t(3));  // its item 3 was dropped with 'No Genre Film'
    QCOMPARE(u2->timestamps.front(), int64_t(874965762));

    // Fields by option: the title alone (no year), categories from another field.
    DatasetSpec s = spec("recbole", kFixtures + "/recbole/ml-tiny");
    s.recbole.year_field = "none";
    QCOMPARE(loadDataset(s).title(1), std::string("Toy Story"));
    s.recbole.category_field = "movie_title";  // a token_seq: one category per word
    const Dataset byWords = loadDataset(s);
    QCOMPARE(categoryNames(byWords, 1), (std::vector<std::string>{"Toy", "Story"}));
    s.recbole.category_field = "genre";
    const std::string err = loadError(s, ErrorCode::InvalidConfig);
    QVERIFY2(err.find("dataset.recbole.category_field: 'genre' is not a field of") != std::string::npos
                 && err.find("fields: item_id, movie_title, release_year, class, price, scores") != std::string::npos,
             err.c_str());
}

void TstData::malformedRecBoleHeadersAndLines()
{
    QTemporaryDir dir;
    const std::string root = dir.path().toStdString();
    const std::string item = readFile(kFixtures + "/recbole/ml-tiny/ml-tiny.item");
    const std::string inter = readFile(kFixtures + "/recbole/ml-tiny/ml-tiny.inter");
    auto folder = [&](const std::string& name, const std::string& items, const std::string& inters) {
        const std::string f = root + "/" + name;
        std::filesystem::create_directories(f);
        writeFile(f + "/" + name + ".item", items);
        writeFile(f + "/" + name + ".inter", inters);
        return f;
    };
    struct Case {
        const char* name;
        std::string items, inters;
        const char* expected;
    };
    const std::string body = item.substr(item.find('\n'));
    const std::string interBody = inter.substr(inter.find('\n'));
    const Case headers[] = {
        {"notype", "item_id\tmovie_title:token_seq" + body, inter, "notype.item:1: expected a RecBole header field NAME:TYPE"},
        {"badtype", "item_id:token\tmovie_title:text" + body, inter, "with TYPE one of token, token_seq, float, float_seq, found 'movie_title:text'"},
        {"dup", "item_id:token\titem_id:token" + body, inter, "dup.item:1: expected distinct named header fields"},
        {"noid", "id:token\tmovie_title:token_seq\n1\tA\n", inter, "noid.item:1: expected an item_id:token field, found id, movie_title"},
        {"notitle", "item_id:token\tclass:token_seq\n1\tA\n", inter, "notitle.item:1: expected a title field"},
        {"nouser", item, "uid:token\titem_id:token" + interBody, "nouser.inter:1: expected user_id:token and item_id:token fields"},
        {"ratingtoken", item, "user_id:token\titem_id:token\trating:token\ttimestamp:float" + interBody, "nouser.inter"},
        {"empty", item, "", "empty.inter: expected a RecBole header line, found an empty file"},
    };
    for (const Case& c : headers) {
        if (std::string(c.name) == "ratingtoken") {
            const std::string e = loadError(spec("recbole", folder(c.name, c.items, c.inters)));
            QVERIFY2(e.find("ratingtoken.inter:1: expected rating:float") != std::string::npos, e.c_str());
            continue;
        }
        const std::string e = loadError(spec("recbole", folder(c.name, c.items, c.inters)));
        QVERIFY2(e.find(c.expected) != std::string::npos, (std::string(c.name) + ": " + e).c_str());
    }
    // Bad lines: strict names file:line and what was expected; lenient skips and counts them.
    const std::string badItems = item + "5\tToo Few Fields\n6\tPriced\t2000\tDrama\tcheap\t1\n";
    const std::string badInters = inter + "4\t1\tfive\t874965770\n4\t2\n5\t1\t3\tlater\n";
    const std::string f = folder("badlines", badItems, inter);
    std::string e = loadError(spec("recbole", f));
    QVERIFY2(e.find("badlines.item:6: expected 6 tab-separated fields, found 2") != std::string::npos, e.c_str());
    const std::string g = folder("badinter", item, badInters);
    e = loadError(spec("recbole", g));
    QVERIFY2(e.find("badinter.inter:11: field rating: expected a number, found 'five'") != std::string::npos, e.c_str());
    const Dataset lenientItems = loadDataset(spec("recbole", f, true));
    QCOMPARE(lenientItems.stats.skipped_lines, 2L);  // too few fields; price 'cheap'
    const Dataset lenientInters = loadDataset(spec("recbole", g, true));
    QCOMPARE(lenientInters.stats.skipped_lines, 3L);  // 'five'; two fields; timestamp 'later'
    QCOMPARE(lenientInters.stats.skipped_examples.size(), size_t(3));
    QVERIFY2(lenientInters.stats.skipped_examples[2].find("field timestamp: expected a number (Unix seconds), found 'later'")
                 != std::string::npos,
             lenientInters.stats.skipped_examples[2].c_str());
    // The folder needs one .item and one .inter.
    std::filesystem::create_directories(root + "/none");
    e = loadError(spec("recbole", root + "/none"));
    QVERIFY2(e.find("expected RecBole atomic files NAME.inter and NAME.item") != std::string::npos, e.c_str());
}

void TstData::steamAustralianReviewsInThePublishedNestedLayout()
{
    // australian_user_reviews.json (one user per line, a list of reviews, "Posted Month D, YYYY.")
    // with steam_games.json (some lines without an id), as McAuley's group publishes them, in strict
    // mode: what cannot be used is counted by reason, not an error.
    const Dataset d = loadDataset(spec("steam", kFixtures + "/steam-australian"));
    QCOMPARE(d.stats.raw_users, 3L);  // evcentric has no reviews
    QCOMPARE(d.stats.raw_interactions, 9L);
    QCOMPARE(d.numItems(), 3);        // 'No Genre Yet' has no genres
    const std::map<std::string, long> unusable(d.stats.unusable_by_reason.begin(), d.stats.unusable_by_reason.end());
    QCOMPARE(unusable.at("steam games: lines without an 'id'"), 1L);
    QCOMPARE(unusable.at("steam reviews: reviews whose 'posted' date cannot be read"), 1L);
    QCOMPARE(unusable.at("steam reviews: reviews without an 'item_id'"), 1L);
    QCOMPARE(unusable.at("steam reviews: users without reviews"), 1L);
    QVERIFY(formatStats(d).find("not usable:         1 steam games: lines without an 'id'") != std::string::npos);
    auto day = [](const char* ymd) { return *parseDate(ymd); };
    // Dates as published; "Feb" as well as "February".
    const User* a = userByRawId(d, "76561197970982479");
    QVERIFY(a);
    QCOMPARE(a->timestamps, (std::vector<int64_t>{day("2011-04-21"), day("2011-07-15"), day("2011-11-05")}));
    // "Posted March 3." has no year: the crawl's, i.e. the latest year of a dated review in the
    // file (2015), so it follows js41637's February 2015 review.
    const User* j = userByRawId(d, "js41637");
    QVERIFY(j);
    QCOMPARE(j->timestamps, (std::vector<int64_t>{day("2014-06-24"), day("2015-02-02"), day("2015-03-03")}));
    QCOMPARE(d.title(j->sequence.back()), std::string("Quiet Island"));
    const User* c = userByRawId(d, "doctr");
    QVERIFY(c);
    QCOMPARE(d.title(c->sequence.back()), std::string("Zombie Team"));  // "Posted July 15." -> 2015-07-15

    QCOMPARE(parseSteamPosted("Posted November 5, 2011.")->year, 2011);
    QCOMPARE(parseSteamPosted("Posted July 15.")->year, 0);
    QCOMPARE(parseSteamPosted("posted sep 9, 2012")->month, 9);
    QVERIFY(!parseSteamPosted("Posted sometime."));
    QVERIFY(!parseSteamPosted("Posted July 45, 2011."));
}

void TstData::nativeImportAndExportRoundTrip()
{
    const Dataset n = loadDataset(spec("native", kFixtures + "/native"));
    QCOMPARE(n.numUsers(), 3);
    QCOMPARE(n.numItems(), 3);
    QCOMPARE(n.title(2), std::string("Second Movie (with \"quotes\")"));
    QCOMPARE(categoryNames(n, 2), (std::vector<std::string>{"Drama", "Drama, Courtroom"}));
    QCOMPARE(n.items[1].extra.at("year"), std::string("1999"));
    QCOMPARE(userByRawId(n, "bob")->sequence, (std::vector<ItemId>{3, 1}));  // 5 < 2020-01-01
    QVERIFY(userByRawId(n, "carol, jr"));

    // Export → import gives the same dataset (ids, categories, sequences, timestamps).
    QTemporaryDir dir;
    for (const Dataset& d : {n, generateSynthetic(SyntheticOptions{})}) {
        const std::string out = dir.filePath(QString::fromStdString(d.source)).toStdString();
        exportNative(d, out);
        const Dataset back = loadDataset(spec("native", out));
        QCOMPARE(back.fingerprint, d.fingerprint);
        for (size_t u = 0; u < d.users.size(); ++u)
            QCOMPARE(back.users[u].timestamps, d.users[u].timestamps);
    }
}

void TstData::fuzzyLookupFindsToyStoryWithinDistanceThroughABkTree()
{
    DatasetSpec s = spec("movielens", kMlSmall);
    s.uncategorized = DatasetConfig::Uncategorized::Other;
    const Dataset d = loadDataset(s);
    const TitleIndex index(d);
    QCOMPARE(index.duplicateTitles(), 5L);
    QCOMPARE(static_cast<long>(index.distinctTitles()), static_cast<long>(d.numItems()) - 5);
    const ItemId toy = index.exact("Toy Story (1995)");
    QVERIFY(toy > 0);
    QCOMPARE(d.items[static_cast<size_t>(toy)].raw_id, std::string("1"));
    QCOMPARE(index.exact("  Toy Story\t(1995)\n"), toy);  // normalised white space
    QCOMPARE(index.exact("Toy Story (1996)"), 0);

    const TitleMatch m = index.lookup("Toy Story (1996)");
    QCOMPARE(m.item, toy);
    QCOMPARE(m.distance, 1);
    QVERIFY2(TitleIndex::lastQueryVisits() < d.numItems() / 2, "the BK-tree must not compare every title");
    QVERIFY(!index.lookup("Toy Story (1996)", 0));
    QVERIFY(!index.lookup("Zqxj Wvvk Ppqr (1066)"));
    // "Toy Stxry (19xx)" is 3 edits away: accepted at d = 3, rejected at d = 2.
    QCOMPARE(index.lookup("Toy Stxry (19xx)", 3).item, toy);
    QCOMPARE(index.lookup("Toy Stxry (19xx)", 3).distance, 3);
    QVERIFY(!index.lookup("Toy Stxry (19xx)", 2));
    // Code points, not bytes: "é" vs "e" is one edit.
    QCOMPARE(levenshteinCodepoints("Am\u00e9lie", "Amelie"), 1);

    // The BK-tree returns exactly what a full scan finds.
    for (ItemId id = 1; id <= d.numItems(); id += 97) {
        std::string q = d.title(id);
        q.erase(q.size() / 3, 2);
        std::vector<std::pair<int, ItemId>> scan;
        std::set<std::string> seen;
        for (ItemId j = 1; j <= d.numItems(); ++j) {
            if (!seen.insert(d.title(j)).second)
                continue;
            const int dist = levenshteinCodepoints(q, d.title(j));
            if (dist <= 3)
                scan.emplace_back(dist, j);
        }
        std::sort(scan.begin(), scan.end());
        const auto tree = index.within(q, 3);
        QCOMPARE(tree.size(), scan.size());
        for (size_t k = 0; k < tree.size(); ++k) {
            QCOMPARE(tree[k].distance, scan[k].first);
            QCOMPARE(tree[k].item, scan[k].second);
        }
    }
    // Categories: name → id, id → items, item → categories.
    const CategoryId animation = index.categoryId("Animation");
    QVERIFY(animation >= 0);
    QVERIFY(std::binary_search(index.itemsIn(animation).begin(), index.itemsIn(animation).end(), toy));
    const auto& cats = index.categoriesOf(toy);
    QVERIFY(std::find(cats.begin(), cats.end(), animation) != cats.end());
    QCOMPARE(index.categoryId("(no genres listed)"), -1);
    QVERIFY(index.categoryId("Other") >= 0);
}

void TstData::badSpecsAreInvalidConfig()
{
    // Choices are parsed once, where text comes in (the CLI, the experiment file), naming the key.
    auto parseError = [](const std::function<void()>& f) {
        try {
            f();
        } catch (const CoreException& e) {
            return e.error().code == ErrorCode::InvalidConfig ? std::string(e.what()) : std::string();
        }
        return std::string();
    };
    QVERIFY(contains(parseError([] { parseDatasetSource("movies"); }), "source: expected one of movielens"));
    QVERIFY(contains(parseError([] { parseUncategorized("keep"); }), "uncategorized: expected one of drop, other"));
    DatasetSpec s = spec("synthetic", "");
    s.synthetic.top_categories = 9;
    QVERIFY(contains(loadError(s, ErrorCode::InvalidConfig), "synthetic.top_categories: expected 1..8"));
    s.synthetic.top_categories = 2;
    s.synthetic.max_sequence_length = 4;
    QVERIFY(contains(loadError(s, ErrorCode::InvalidConfig), "max_sequence_length"));
    s = spec("movielens", kMlSmall + "/ratings.csv");
    QVERIFY(contains(loadError(s), "found a file"));
}

QTEST_GUILESS_MAIN(TstData)
#include "tst_data.moc"
