// Helpers shared by the log reader's sources; not installed.
// SPDX-License-Identifier: MIT
#ifndef PIXEL_SRC_LOG_INTERNAL_HPP
#define PIXEL_SRC_LOG_INTERNAL_HPP

#include <string_view>

#include "pixel/log.hpp"

namespace pixel::log {

constexpr int hex_digit(char c) noexcept {
  return c >= '0' && c <= '9'   ? c - '0'
         : c >= 'A' && c <= 'F' ? c - 'A' + 10
         : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                : -1;
}

// An integer ("-12", "000") or a decimal ("0.082") as CloudFront writes them.
bool valid_number(std::string_view s, field_type t) noexcept;
// "2019-12-04\t...": a standard log line (date first).
bool looks_like_standard_line(std::string_view line) noexcept;

}  // namespace pixel::log

#endif  // PIXEL_SRC_LOG_INTERNAL_HPP
