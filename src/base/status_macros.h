// File: status_macros.h
//
// CUSTOS_RETURN_IF_ERROR and CUSTOS_ASSIGN_OR_RETURN, in the form of abseil's
// status_macros.h (which Debian's libabsl-dev 20220623 does not ship).
//
// Example:
//   absl::Status Copy(...) {
//     CUSTOS_RETURN_IF_ERROR(fs.CreateDir(dir));
//     CUSTOS_ASSIGN_OR_RETURN(auto file, fs.NewWritableFile(path));
//     ...
//   }
#ifndef CUSTOS_SRC_BASE_STATUS_MACROS_H_
#define CUSTOS_SRC_BASE_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define CUSTOS_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::absl::Status custos_status_ = (expr);          \
    if (!custos_status_.ok()) return custos_status_; \
  } while (0)

#define CUSTOS_STATUS_CONCAT_INNER_(a, b) a##b
#define CUSTOS_STATUS_CONCAT_(a, b) CUSTOS_STATUS_CONCAT_INNER_(a, b)

#define CUSTOS_ASSIGN_OR_RETURN(lhs, expr) \
  CUSTOS_ASSIGN_OR_RETURN_IMPL_(           \
      CUSTOS_STATUS_CONCAT_(custos_statusor_, __LINE__), lhs, expr)

#define CUSTOS_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                  \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

// Fatal check for internal invariants. Never use on untrusted input.
#define CUSTOS_CHECK(cond)                                                   \
  do {                                                                       \
    if (!(cond)) ::custos::internal::CheckFailed(__FILE__, __LINE__, #cond); \
  } while (0)

namespace custos::internal {
[[noreturn]] void CheckFailed(const char* file, int line, const char* cond);
}  // namespace custos::internal

#endif  // CUSTOS_SRC_BASE_STATUS_MACROS_H_
