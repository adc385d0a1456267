// File: absl_compat.h
//
// Debian's libabsl-dev 20220623 is built with ABSL_OPTION_USE_STD_STRING_VIEW
// = 0, so absl::string_view is a distinct type that does not convert from
// std::string_view. custos code uses std::string_view throughout and converts
// at the absl boundary with Sv().
//
// Example:
//   return absl::NotFoundError(absl::StrCat("no such item: ", Sv(id)));
#ifndef CUSTOS_SRC_BASE_ABSL_COMPAT_H_
#define CUSTOS_SRC_BASE_ABSL_COMPAT_H_

#include <string_view>

#include "absl/strings/string_view.h"

namespace custos {
inline absl::string_view Sv(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}
}  // namespace custos

#endif  // CUSTOS_SRC_BASE_ABSL_COMPAT_H_
