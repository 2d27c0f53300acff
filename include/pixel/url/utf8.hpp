// pixel: UTF-8 validation. Header-only, part of <pixel/url.hpp>.
// SPDX-License-Identifier: MIT
#ifndef PIXEL_URL_UTF8_HPP
#define PIXEL_URL_UTF8_HPP

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "pixel/url/encoding.hpp"

namespace pixel {

// ---------------------------------------------------------------------------------------
// UTF-8 validation

enum class utf8_problem : std::uint8_t {
  none = 0,
  unexpected_continuation,  // a continuation byte (0x80-0xBF) where a sequence starts
  invalid_byte,             // 0xF8-0xFF, never valid in UTF-8
  overlong,                 // a longer form than needed (includes 0xC0, 0xC1 leads)
  surrogate,                // U+D800-U+DFFF
  too_large,                // above U+10FFFF
  truncated,                // a sequence cut short by the end or by a non-continuation byte
};

constexpr const char* utf8_problem_name(utf8_problem p) noexcept {
  switch (p) {
    case utf8_problem::none:
      return "valid";
    case utf8_problem::unexpected_continuation:
      return "unexpected continuation byte";
    case utf8_problem::invalid_byte:
      return "invalid byte";
    case utf8_problem::overlong:
      return "overlong encoding";
    case utf8_problem::surrogate:
      return "UTF-16 surrogate";
    case utf8_problem::too_large:
      return "code point above U+10FFFF";
    case utf8_problem::truncated:
      return "truncated sequence";
  }
  return "invalid";
}

struct utf8_check {
  utf8_problem problem = utf8_problem::none;
  std::size_t offset = 0;  // byte offset of the sequence that is wrong
  constexpr bool ok() const noexcept { return problem == utf8_problem::none; }
};

// Checks that `s` is well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates,
// nothing above U+10FFFF, no truncated sequences.
inline utf8_check check_utf8(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    // ASCII fast path, eight bytes at a time.
    while (i + 8 <= n) {
      std::uint64_t word;
      std::memcpy(&word, p + i, 8);
      if (word & 0x8080808080808080ULL) break;
      i += 8;
    }
    if (i >= n) break;
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    utf8_problem below = utf8_problem::none, above = utf8_problem::none;
    if (c < 0xC0) return {utf8_problem::unexpected_continuation, i};
    if (c < 0xC2) return {utf8_problem::overlong, i};
    if (c < 0xE0) {
      len = 2;
    } else if (c < 0xF0) {
      len = 3;
      if (c == 0xE0) {
        lo = 0xA0;
        below = utf8_problem::overlong;
      }
      if (c == 0xED) {
        hi = 0x9F;
        above = utf8_problem::surrogate;
      }
    } else if (c < 0xF5) {
      len = 4;
      if (c == 0xF0) {
        lo = 0x90;
        below = utf8_problem::overlong;
      }
      if (c == 0xF4) {
        hi = 0x8F;
        above = utf8_problem::too_large;
      }
    } else if (c < 0xF8) {
      return {utf8_problem::too_large, i};
    } else {
      return {utf8_problem::invalid_byte, i};
    }
    if (i + 1 >= n || (p[i + 1] & 0xC0) != 0x80) return {utf8_problem::truncated, i};
    if (p[i + 1] < lo) return {below, i};
    if (p[i + 1] > hi) return {above, i};
    for (std::size_t k = 2; k < len; ++k) {
      if (i + k >= n || (p[i + k] & 0xC0) != 0x80) return {utf8_problem::truncated, i};
    }
    i += len;
  }
  return {};
}

inline bool is_valid_utf8(std::string_view s) noexcept {
  return check_utf8(s).ok();
}

namespace detail {
// Text safe to put in a one-line message: control bytes and DEL become \xNN.
inline std::string printable(std::string_view s, std::size_t max = 64) {
  std::string out;
  for (std::size_t i = 0; i < s.size() && i < max; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7F) {
      out += "\\x";
      out += hex_upper[c >> 4];
      out += hex_upper[c & 0xF];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > max) out += "...";
  return out;
}
}  // namespace detail

}  // namespace pixel

#endif  // PIXEL_URL_UTF8_HPP
