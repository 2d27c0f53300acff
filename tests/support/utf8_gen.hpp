// Random well-formed UTF-8 for property tests (fixed seeds in the callers).
// SPDX-License-Identifier: MIT
#ifndef PIXEL_TESTS_UTF8_GEN_HPP
#define PIXEL_TESTS_UTF8_GEN_HPP

#include <cstdint>
#include <random>
#include <string>

namespace pixel_test {

inline void append_code_point(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// A code point drawn so that every encoded length and the characters that break naive
// encoders (space, +, &, =, %, #, ?, /, quotes, controls, NUL) all turn up often.
template <typename Rng>
std::uint32_t random_code_point(Rng& rng) {
  static const char tricky[] = " +&=%#?/;\"'<>\\~.-_\t\n\r";
  std::uniform_int_distribution<int> kind(0, 9);
  switch (kind(rng)) {
    case 0:
    case 1:
      return static_cast<unsigned char>(
          tricky[std::uniform_int_distribution<std::size_t>(0, sizeof tricky - 2)(rng)]);
    case 2:
    case 3:
    case 4:
      return std::uniform_int_distribution<std::uint32_t>(0x00, 0x7F)(rng);
    case 5:
    case 6:
      return std::uniform_int_distribution<std::uint32_t>(0x80, 0x7FF)(rng);
    case 7:
    case 8: {
      std::uint32_t cp;
      do {
        cp = std::uniform_int_distribution<std::uint32_t>(0x800, 0xFFFF)(rng);
      } while (cp >= 0xD800 && cp <= 0xDFFF);
      return cp;
    }
    default:
      return std::uniform_int_distribution<std::uint32_t>(0x10000, 0x10FFFF)(rng);
  }
}

template <typename Rng>
std::string random_utf8(Rng& rng, std::size_t max_code_points, std::size_t min_code_points = 0) {
  std::string out;
  const std::size_t n =
      std::uniform_int_distribution<std::size_t>(min_code_points, max_code_points)(rng);
  for (std::size_t i = 0; i < n; ++i) append_code_point(out, random_code_point(rng));
  return out;
}

}  // namespace pixel_test

#endif  // PIXEL_TESTS_UTF8_GEN_HPP
