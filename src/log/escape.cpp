// Log escaping as CloudFront writes it (%XX for a fixed set of bytes), and its inverse.
// SPDX-License-Identifier: MIT
#include <array>
#include <cstring>
#include <string>

#include "log_internal.hpp"

namespace pixel::log {

using detail::hex_digit;
namespace {

// Bytes CloudFront writes as %XX in log-escaped fields.
constexpr std::array<bool, 256> escape_table() {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) t[static_cast<std::size_t>(c)] = c <= 0x20 || c >= 0x7F;
  for (char c : std::string_view("<>\"#%{}|\\^~[]`'")) t[static_cast<unsigned char>(c)] = true;
  return t;
}
constexpr std::array<bool, 256> must_escape = escape_table();

}  // namespace

void log_escape_append(std::string_view in, std::string& out) {
  static constexpr char digits[] = "0123456789ABCDEF";
  for (char ch : in) {
    const auto c = static_cast<unsigned char>(ch);
    if (must_escape[c]) {
      out.push_back('%');
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 0xF]);
    } else {
      out.push_back(ch);
    }
  }
}

std::string log_escape(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  log_escape_append(in, out);
  return out;
}

result<std::string> log_unescape(std::string_view in) {
  for (std::size_t i = in.find('%'); i != std::string_view::npos; i = in.find('%', i + 1)) {
    if (i + 2 >= in.size() || hex_digit(in[i + 1]) < 0 || hex_digit(in[i + 2]) < 0) {
      return error(errc::invalid_argument, "malformed log escape at byte " + std::to_string(i));
    }
  }
  std::string out;
  log_unescape_append(in, out);
  return out;
}

void log_unescape_append(std::string_view in, std::string& out) {
  // Copied whole, then decoded in place: the decoding is never longer than its input.
  const std::size_t old = out.size();
  out.append(in.data(), in.size());
  char* const begin = out.data() + old;
  char* const end = begin + in.size();
  char* p = static_cast<char*>(std::memchr(begin, '%', in.size()));
  if (!p) return;
  char* o = p;
  constexpr std::uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
  while (p < end) {
    if (end - p >= 8) {  // eight bytes without a '%' move at once (loaded before stored)
      std::uint64_t w;
      std::memcpy(&w, p, 8);
      const std::uint64_t x = w ^ (ones * '%');
      if ((((x - ones) & ~x) & high) == 0) {
        std::memcpy(o, &w, 8);
        o += 8;
        p += 8;
        continue;
      }
    }
    if (*p != '%') {
      *o++ = *p++;
      continue;
    }
    const int hi = end - p > 2 ? hex_digit(p[1]) : -1;
    const int lo = hi >= 0 ? hex_digit(p[2]) : -1;
    if (lo < 0) {
      *o++ = *p++;  // not an escape: kept as it is
      continue;
    }
    *o++ = static_cast<char>((hi << 4) | lo);
    p += 3;
  }
  out.resize(static_cast<std::size_t>(o - out.data()));
}

}  // namespace pixel::log
