// Helpers shared by the log reader's parts; not installed.
// SPDX-License-Identifier: MIT
#ifndef PIXEL_SRC_LOG_INTERNAL_HPP
#define PIXEL_SRC_LOG_INTERNAL_HPP

#include <cstdint>
#include <string>
#include <string_view>

#include "pixel/log.hpp"

namespace pixel::log::detail {

constexpr int hex_digit(char c) noexcept {
  return c >= '0' && c <= '9'   ? c - '0'
         : c >= 'A' && c <= 'F' ? c - 'A' + 10
         : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                : -1;
}

inline bool all_digits(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// An integer ("-12", "000") or a decimal ("0.082") as CloudFront writes them.
bool valid_number(std::string_view s, field_type t) noexcept;
// "2019-12-04\t...": a standard log line (date first).
bool looks_like_standard_line(std::string_view line) noexcept;
// The standard column's entry in fields.json "standard", if `f` is one.
const standard_column_info* standard_info(field f) noexcept;

// Appends the standard-log column called `name` to `l`, refusing repeats and control bytes
// (errors name `what`: "'#Fields:' line", "the JSON object").
result<void> add_column(field_list& l, std::string_view name, std::string_view what);

// What a line that is not a record looks like, as advice for the user ("" when nothing
// is recognised): JSON, XML, a CSV header or CSV data, Parquet, a standard log.
std::string looks_like(std::string_view line, const field_list& layout);

}  // namespace pixel::log::detail

#endif  // PIXEL_SRC_LOG_INTERNAL_HPP
