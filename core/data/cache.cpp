// Binary dataset cache: little-endian records, a checksum, and source-file validation.
#include "core/data/cache.h"

#include "core/api/error.h"
#include "core/util/files.h"
#include "core/util/hash.h"

#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <fstream>

namespace recalign::core {

namespace cache_detail {

constexpr char kMagic[8] = {'R', 'C', 'L', 'M', 'D', 'S', '\x02', '\n'};
constexpr uint32_t kVersion = 1;

class Writer {
public:
    void u32(uint32_t v) { raw(&v, 4); }
    void u64(uint64_t v) { raw(&v, 8); }
    void i64(int64_t v) { raw(&v, 8); }
    void f64(double v) { raw(&v, 8); }
    void str(const std::string& s)
    {
        u64(s.size());
        m_out.append(s);
    }
    void strs(const std::vector<std::string>& v)
    {
        u64(v.size());
        for (const auto& s : v)
            str(s);
    }
    template <typename T>
    void vec(const std::vector<T>& v)
    {
        u64(v.size());
        raw(v.data(), v.size() * sizeof(T));
    }
    void raw(const void* p, size_t n) { m_out.append(static_cast<const char*>(p), n); }
    std::string& bytes() { return m_out; }

private:
    std::string m_out;
};

class Reader {
public:
    explicit Reader(std::string_view s) : m_s(s) {}
    uint32_t u32() { return pod<uint32_t>(); }
    uint64_t u64() { return pod<uint64_t>(); }
    int64_t i64() { return pod<int64_t>(); }
    double f64() { return pod<double>(); }
    std::string str()
    {
        const uint64_t n = u64();
        need(n);
        std::string s(m_s.substr(m_i, n));
        m_i += n;
        return s;
    }
    std::vector<std::string> strs()
    {
        const uint64_t n = count(8);
        std::vector<std::string> v;
        v.reserve(n);
        for (uint64_t i = 0; i < n; ++i)
            v.push_back(str());
        return v;
    }
    template <typename T>
    std::vector<T> vec()
    {
        const uint64_t n = count(sizeof(T));
        std::vector<T> v(n);
        need(n * sizeof(T));
        if (n)
            std::memcpy(v.data(), m_s.data() + m_i, n * sizeof(T));
        m_i += n * sizeof(T);
        return v;
    }
    // A count whose elements take at least `minBytes` each (guards against absurd sizes).
    uint64_t count(size_t minBytes)
    {
        const uint64_t n = u64();
        if (minBytes && n > (m_s.size() - m_i) / minBytes)
            corrupt();
        return n;
    }
    bool done() const { return m_i == m_s.size(); }
    std::string_view rest() const { return m_s.substr(m_i); }
    [[noreturn]] static void corrupt()
    {
        throw CoreException(ErrorCode::DataLoad, "dataset cache: expected a complete record, found truncated or corrupt data");
    }

private:
    void need(uint64_t n)
    {
        if (n > m_s.size() - m_i)
            corrupt();
    }
    template <typename T>
    T pod()
    {
        need(sizeof(T));
        T v;
        std::memcpy(&v, m_s.data() + m_i, sizeof(T));
        m_i += sizeof(T);
        return v;
    }
    std::string_view m_s;
    size_t m_i = 0;
};

struct SourceStamp {
    std::string path;
    uint64_t size = 0;
    int64_t mtime = 0;
    std::string sha256;
};

bool statFile(const std::string& path, uint64_t& size, int64_t& mtime)
{
    std::error_code ec;
    size = std::filesystem::file_size(path, ec);
    if (ec)
        return false;
    const auto t = std::filesystem::last_write_time(path, ec);
    if (ec)
        return false;
    mtime = static_cast<int64_t>(t.time_since_epoch().count());
    return true;
}

std::string header(const std::vector<SourceStamp>& stamps)
{
    Writer w;
    w.raw(kMagic, sizeof(kMagic));
    w.u32(kVersion);
    w.u64(stamps.size());
    for (const auto& s : stamps) {
        w.str(s.path);
        w.u64(s.size);
        w.i64(s.mtime);
        w.str(s.sha256);
    }
    return std::move(w.bytes());
}

bool writeFile(const std::string& file, const std::string& head, const std::string& payload)
{
    try {
        replaceFileAtomic(file, [&](const std::string& tmp) {
            std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
            Writer w;
            w.u64(payload.size());
            w.u64(fnv1a64(payload));
            out.write(head.data(), static_cast<std::streamsize>(head.size()));
            out.write(w.bytes().data(), static_cast<std::streamsize>(w.bytes().size()));
            out.write(payload.data(), static_cast<std::streamsize>(payload.size()));
            if (!out)
                throw std::runtime_error("write failed");
        });
    } catch (const std::exception&) {
        return false;
    }
    return true;
}

}  // namespace cache_detail

std::string serializeDataset(const Dataset& d)
{
    cache_detail::Writer w;
    w.str(d.name);
    w.str(d.source);
    w.str(d.fingerprint);
    w.u64(d.items.size());
    for (const auto& it : d.items) {
        w.str(it.raw_id);
        w.str(it.title);
        w.vec(it.categories);
        w.u64(it.extra.size());
        for (const auto& [k, v] : it.extra) {
            w.str(k);
            w.str(v);
        }
    }
    w.u64(d.categories.size());
    for (const auto& c : d.categories) {
        w.str(c.name);
        w.vec(c.members);
    }
    w.u64(d.users.size());
    for (const auto& u : d.users) {
        w.str(u.raw_id);
        w.vec(u.sequence);
        w.vec(u.timestamps);
    }
    const DatasetStats& s = d.stats;
    for (long v : {s.users, s.items, s.interactions, s.categories, s.raw_users, s.raw_items,
                   s.raw_items_with_interactions, s.raw_interactions, s.duplicate_interactions, s.below_min_rating,
                   s.users_dropped_kcore, s.items_dropped_kcore, s.items_without_title_or_category,
                   s.users_too_short_for_eval, s.duplicate_titles, s.skipped_lines, s.raw_category_labels,
                   s.interactions_unknown_item, s.interactions_dropped_item, s.repaired_lines, s.users_before_kcore,
                   s.items_before_kcore, s.interactions_before_kcore, static_cast<long>(s.user_core),
                   static_cast<long>(s.item_core)})
        w.i64(v);
    w.f64(s.mean_sequence_length);
    w.f64(s.median_sequence_length);
    w.f64(s.sparsity);
    w.f64(s.min_rating);
    w.strs(s.skipped_examples);
    w.strs(s.repaired_examples);
    w.u64(s.unusable_by_reason.size());
    for (const auto& [reason, count] : s.unusable_by_reason) {
        w.str(reason);
        w.i64(count);
    }
    return std::move(w.bytes());
}

Dataset deserializeDataset(std::string_view bytes)
{
    cache_detail::Reader r(bytes);
    Dataset d;
    d.name = r.str();
    d.source = r.str();
    d.fingerprint = r.str();
    d.items.resize(r.count(8 * 4));
    for (auto& it : d.items) {
        it.raw_id = r.str();
        it.title = r.str();
        it.categories = r.vec<CategoryId>();
        const uint64_t n = r.count(16);
        for (uint64_t k = 0; k < n; ++k) {
            std::string key = r.str();
            it.extra[std::move(key)] = r.str();
        }
    }
    d.categories.resize(r.count(16));
    for (auto& c : d.categories) {
        c.name = r.str();
        c.members = r.vec<ItemId>();
    }
    d.users.resize(r.count(24));
    for (auto& u : d.users) {
        u.raw_id = r.str();
        u.sequence = r.vec<ItemId>();
        u.timestamps = r.vec<int64_t>();
    }
    DatasetStats& s = d.stats;
    for (long* v : {&s.users, &s.items, &s.interactions, &s.categories, &s.raw_users, &s.raw_items,
                    &s.raw_items_with_interactions, &s.raw_interactions, &s.duplicate_interactions, &s.below_min_rating,
                    &s.users_dropped_kcore, &s.items_dropped_kcore, &s.items_without_title_or_category,
                    &s.users_too_short_for_eval, &s.duplicate_titles, &s.skipped_lines, &s.raw_category_labels,
                    &s.interactions_unknown_item, &s.interactions_dropped_item, &s.repaired_lines,
                    &s.users_before_kcore, &s.items_before_kcore, &s.interactions_before_kcore})
        *v = static_cast<long>(r.i64());
    s.user_core = static_cast<int>(r.i64());
    s.item_core = static_cast<int>(r.i64());
    s.mean_sequence_length = r.f64();
    s.median_sequence_length = r.f64();
    s.sparsity = r.f64();
    s.min_rating = r.f64();
    s.skipped_examples = r.strs();
    s.repaired_examples = r.strs();
    for (uint64_t k = 0, n = r.count(16); k < n; ++k) {
        std::string reason = r.str();
        s.unusable_by_reason.emplace_back(std::move(reason), static_cast<long>(r.i64()));
    }
    if (!r.done() || d.items.empty())
        cache_detail::Reader::corrupt();
    // Ids must be in range so that a corrupt cache cannot index out of bounds later.
    const auto nItems = static_cast<ItemId>(d.items.size());
    const auto nCats = static_cast<CategoryId>(d.categories.size());
    for (const auto& it : d.items)
        for (CategoryId c : it.categories)
            if (c < 0 || c >= nCats)
                cache_detail::Reader::corrupt();
    for (const auto& c : d.categories)
        for (ItemId i : c.members)
            if (i <= 0 || i >= nItems)
                cache_detail::Reader::corrupt();
    for (const auto& u : d.users) {
        for (ItemId i : u.sequence)
            if (i <= 0 || i >= nItems)
                cache_detail::Reader::corrupt();
        if (!u.timestamps.empty() && u.timestamps.size() != u.sequence.size())
            cache_detail::Reader::corrupt();
    }
    return d;
}

std::optional<Dataset> readDatasetCache(const std::string& cacheFile, const std::vector<std::string>& sources)
{
    using namespace cache_detail;
    const std::optional<std::string> bytes = tryReadFile(cacheFile);
    if (!bytes)
        return std::nullopt;
    const std::string& all = *bytes;
    try {
        if (all.size() < sizeof(kMagic) || std::memcmp(all.data(), kMagic, sizeof(kMagic)) != 0)
            return std::nullopt;
        Reader r(std::string_view(all).substr(sizeof(kMagic)));
        if (r.u32() != kVersion)
            return std::nullopt;
        const uint64_t n = r.count(32);
        if (n != sources.size())
            return std::nullopt;
        std::vector<SourceStamp> stamps;
        bool touched = false;
        for (uint64_t i = 0; i < n; ++i) {
            SourceStamp s;
            s.path = r.str();
            s.size = r.u64();
            s.mtime = r.i64();
            s.sha256 = r.str();
            uint64_t size = 0;
            int64_t mtime = 0;
            if (s.path != sources[i] || !statFile(s.path, size, mtime) || size != s.size)
                return std::nullopt;
            if (mtime != s.mtime) {
                if (sha256File(s.path) != s.sha256)
                    return std::nullopt;
                s.mtime = mtime;
                touched = true;
            }
            stamps.push_back(std::move(s));
        }
        const uint64_t size = r.u64();
        const uint64_t sum = r.u64();
        const std::string_view payload = r.rest();
        if (payload.size() != size || fnv1a64(payload) != sum)
            return std::nullopt;
        Dataset d = deserializeDataset(payload);
        if (touched)
            writeFile(cacheFile, header(stamps), std::string(payload));
        return d;
    } catch (const CoreException&) {
        return std::nullopt;
    }
}

bool writeDatasetCache(const std::string& cacheFile, const Dataset& data, const std::vector<std::string>& sources)
{
    using namespace cache_detail;
    std::vector<SourceStamp> stamps;
    try {
        for (const auto& p : sources) {
            SourceStamp s;
            s.path = p;
            if (!statFile(p, s.size, s.mtime))
                return false;
            s.sha256 = sha256File(p);
            stamps.push_back(std::move(s));
        }
        return writeFile(cacheFile, header(stamps), serializeDataset(data));
    } catch (const std::exception&) {
        return false;
    }
}

}  // namespace recalign::core
