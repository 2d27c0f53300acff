// Helpers shared by the log reader's parts; not installed.
// SPDX-License-Identifier: MIT
#ifndef PIXEL_SRC_LOG_INTERNAL_HPP
#define PIXEL_SRC_LOG_INTERNAL_HPP

#include <cstdint>
#include <cstring>
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

// Calls fn(name) for each comma-separated name of `list`, blanks and tabs trimmed, and
// stops at the first error fn returns; an empty name is an error (errc::invalid_argument).
template <typename Fn>
result<void> for_each_field_name(std::string_view list, Fn&& fn) {
  std::size_t pos = 0;
  while (pos <= list.size()) {
    std::size_t comma = list.find(',', pos);
    if (comma == std::string_view::npos) comma = list.size();
    std::string_view name = list.substr(pos, comma - pos);
    pos = comma + 1;
    while (!name.empty() && (name.front() == ' ' || name.front() == '\t')) name.remove_prefix(1);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    if (name.empty()) return error(errc::invalid_argument, "empty field name in field list");
    if (auto ok = fn(name); !ok) return ok.error();
  }
  return {};
}

// A fast hash of a short string (64-bit FNV-1a over 8-byte words, then a final avalanche),
// for the per-thread memos of user agents (record.cpp, opens.cpp).
inline std::uint64_t short_hash(std::string_view s) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL ^ s.size();
  std::size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * 0x100000001b3ULL;
    h ^= h >> 29;
  }
  for (; i < s.size(); ++i) h = (h ^ static_cast<unsigned char>(s[i])) * 0x100000001b3ULL;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

}  // namespace pixel::log::detail

#endif  // PIXEL_SRC_LOG_INTERNAL_HPP
