// Internal to core/store: a thin RAII layer over the sqlite3 C API (connection, cached prepared
// statements with bound parameters, IMMEDIATE transactions) and RunStore's private state.
// Failures throw CoreException naming the SQL step; RunStore's methods turn them into Errors.
#pragma once

#include "core/api/store_api.h"

#include <sqlite3.h>

#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace recalign::core::store_detail {

class Statement;

class Database {
public:
    Database() = default;
    ~Database();
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    void open(const std::string& path, int flags, int busy_timeout_ms);
    void close();
    sqlite3* handle() const { return m_db; }
    // Runs SQL without parameters (DDL, PRAGMAs, BEGIN/COMMIT).
    void exec(const std::string& sql);
    // A cached prepared statement; reset and unbound when the Statement goes out of scope.
    Statement prepare(const char* sql);
    int64_t lastInsertId() const { return sqlite3_last_insert_rowid(m_db); }
    int changes() const { return sqlite3_changes(m_db); }
    [[noreturn]] void fail(const std::string& what) const;

private:
    sqlite3* m_db = nullptr;
    std::map<const char*, sqlite3_stmt*> m_cache;  // keyed by the SQL literal's address
};

class Statement {
public:
    Statement(const Database* db, sqlite3_stmt* stmt) : m_db(db), m_stmt(stmt) {}
    ~Statement();
    Statement(Statement&& o) noexcept : m_db(o.m_db), m_stmt(o.m_stmt) { o.m_stmt = nullptr; }
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    // 1-based parameter index. Doubles that are NaN are stored as NULL (SQLite has no NaN).
    Statement& bind(int i, int64_t v);
    Statement& bind(int i, int v) { return bind(i, static_cast<int64_t>(v)); }
    Statement& bind(int i, double v);
    Statement& bind(int i, const std::string& v);
    Statement& bindNull(int i);
    // Steps once: true when a row is available, false when done.
    bool step();
    // Steps to completion (INSERT/UPDATE/DELETE).
    void run();
    int64_t int64(int col) const { return sqlite3_column_int64(m_stmt, col); }
    double real(int col) const;  // NULL reads as NaN
    double realOrZero(int col) const { return sqlite3_column_type(m_stmt, col) == SQLITE_NULL ? 0.0 : sqlite3_column_double(m_stmt, col); }
    std::string text(int col) const;

private:
    const Database* m_db;
    sqlite3_stmt* m_stmt;
};

// BEGIN IMMEDIATE ... COMMIT; rolls back when destroyed uncommitted.
class Transaction {
public:
    explicit Transaction(Database& db);
    ~Transaction();
    void commit();

private:
    Database& m_db;
    bool m_done = false;
};

// Number lists as the store keeps them in TEXT columns: "[1,2,3]" (doubles round-trip exactly;
// NaN as null). The parsers throw CoreException(DataLoad) on malformed text.
std::string intListJson(const std::vector<int64_t>& values);
std::string realListJson(const std::vector<double>& values);
std::vector<int64_t> parseIntList(const std::string& text);
std::vector<double> parseRealList(const std::string& text);

// The DDL that takes the schema from version i to i + 1 (index i); size = kStoreSchemaVersion.
const std::vector<std::string>& migrations();

}  // namespace recalign::core::store_detail

namespace recalign::core {

struct RunStore::Impl {
    store_detail::Database db;
    bool read_only = false;
    // (run, stage, name) -> series id
    std::map<std::tuple<int64_t, std::string, std::string>, int64_t> series;
};

namespace store_detail {

// Runs `f(impl)` under the store's mutex with an open database; exceptions become Errors.
template <typename T, typename F>
Result<T> guarded(std::recursive_mutex& m, RunStore::Impl* impl, F&& f)
{
    std::lock_guard<std::recursive_mutex> lock(m);
    if (!impl)
        return Error{ErrorCode::Internal, "run store is not open", {}};
    try {
        return f(*impl);
    } catch (const CoreException& e) {
        return e.error();
    } catch (const std::exception& e) {
        return Error{ErrorCode::Internal, std::string("run store: ") + e.what(), {}};
    }
}

template <typename F>
Error guardedVoid(std::recursive_mutex& m, RunStore::Impl* impl, F&& f)
{
    auto r = guarded<bool>(m, impl, [&](RunStore::Impl& i) {
        f(i);
        return true;
    });
    return r ? Error{} : r.error();
}

}  // namespace store_detail

}  // namespace recalign::core
