// File: sqlite_stmt.h
//
// A prepared SQLite statement with absl::Status errors: SQLITE_FULL becomes
// kResourceExhausted ("disk full"), CORRUPT/NOTADB kDataLoss, BUSY/LOCKED
// kUnavailable, CONSTRAINT kAlreadyExists, READONLY/PERM/CANTOPEN
// kPermissionDenied. Shared by the SQLite-backed stores.
//
// Thread-safety: as the sqlite3 connection it belongs to (one thread).
//
// Example:
//   SqliteStmt s(db, "SELECT value FROM meta WHERE key=?");
//   CUSTOS_RETURN_IF_ERROR(s.status());
//   s.BindText(1, key);
//   CUSTOS_ASSIGN_OR_RETURN(bool row, s.Step());
//   // or, with a reader of one row:
//   CUSTOS_ASSIGN_OR_RETURN(auto values, s.AllRows(
//       [](const SqliteStmt& r) { return r.Blob(0); }));
#ifndef CUSTOS_SRC_BASE_SQLITE_STMT_H_
#define CUSTOS_SRC_BASE_SQLITE_STMT_H_

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "src/base/status_macros.h"

namespace custos {

class SqliteStmt {
 public:
  SqliteStmt(sqlite3* db, const char* sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr);
  }
  ~SqliteStmt() { sqlite3_finalize(s_); }
  absl::Status status() const {
    if (rc_ == SQLITE_OK) return absl::OkStatus();
    return Error("prepare");
  }
  SqliteStmt(const SqliteStmt&) = delete;
  SqliteStmt& operator=(const SqliteStmt&) = delete;
  SqliteStmt& Bind(int i, std::string_view v) {
    sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()),
                      SQLITE_TRANSIENT);
    return *this;
  }
  SqliteStmt& BindText(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()),
                      SQLITE_TRANSIENT);
    return *this;
  }
  SqliteStmt& Bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  // true: a row; false: done.
  absl::StatusOr<bool> Step() {
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    rc_ = rc;
    return Error("step");
  }
  // Steps through the remaining rows, calling fn(*this) on each (fn
  // returns absl::Status; the first error stops the walk and is returned).
  template <class F>
  absl::Status ForEachRow(F&& fn) {
    while (true) {
      CUSTOS_ASSIGN_OR_RETURN(bool row, Step());
      if (!row) return absl::OkStatus();
      CUSTOS_RETURN_IF_ERROR(fn(static_cast<const SqliteStmt&>(*this)));
    }
  }
  // read(row) of every remaining row, appended to `out`.
  template <class F, class T>
  absl::Status AppendRows(F&& read, std::vector<T>& out) {
    return ForEachRow([&](const SqliteStmt& r) {
      out.push_back(read(r));
      return absl::OkStatus();
    });
  }
  // read(row) of every remaining row.
  template <class F>
  auto AllRows(F&& read) -> absl::StatusOr<
      std::vector<std::invoke_result_t<F, const SqliteStmt&>>> {
    std::vector<std::invoke_result_t<F, const SqliteStmt&>> out;
    CUSTOS_RETURN_IF_ERROR(AppendRows(std::forward<F>(read), out));
    return out;
  }
  // read(row) of the next row, or nullopt when there is none.
  template <class F>
  auto FirstRow(F&& read) -> absl::StatusOr<
      std::optional<std::invoke_result_t<F, const SqliteStmt&>>> {
    using T = std::invoke_result_t<F, const SqliteStmt&>;
    CUSTOS_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return std::optional<T>();
    return std::optional<T>(read(static_cast<const SqliteStmt&>(*this)));
  }
  absl::Status Run() {
    CUSTOS_ASSIGN_OR_RETURN(bool row, Step());
    (void)row;
    return absl::OkStatus();
  }
  std::string Blob(int col) const {
    const void* p = sqlite3_column_blob(s_, col);
    int n = sqlite3_column_bytes(s_, col);
    return p ? std::string(static_cast<const char*>(p), static_cast<size_t>(n))
             : std::string();
  }
  int64_t Int(int col) const { return sqlite3_column_int64(s_, col); }
  void Reset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }

 private:
  absl::Status Error(const char* what) const {
    std::string msg =
        absl::StrCat("database ", what, " failed: ", sqlite3_errmsg(db_));
    int code = sqlite3_extended_errcode(db_) & 0xff;
    if (code == SQLITE_FULL)
      return absl::ResourceExhaustedError(absl::StrCat("disk full: ", msg));
    if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB)
      return absl::DataLossError(msg);
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
      return absl::UnavailableError(msg);
    if (code == SQLITE_CONSTRAINT) return absl::AlreadyExistsError(msg);
    if (code == SQLITE_READONLY || code == SQLITE_PERM ||
        code == SQLITE_CANTOPEN)
      return absl::PermissionDeniedError(msg);
    return absl::InternalError(msg);
  }
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
  int rc_ = SQLITE_OK;
};

}  // namespace custos

#endif  // CUSTOS_SRC_BASE_SQLITE_STMT_H_
