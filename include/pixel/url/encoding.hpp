// pixel: percent-encoding (RFC 3986) and its decoder. Header-only, part of <pixel/url.hpp>.
// SPDX-License-Identifier: MIT
#ifndef PIXEL_URL_ENCODING_HPP
#define PIXEL_URL_ENCODING_HPP

#include <array>
#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

#include "pixel/error.hpp"

namespace pixel {

// ---------------------------------------------------------------------------------------
// Percent-encoding (RFC 3986)

namespace detail {
constexpr std::array<bool, 256> make_unreserved_table() noexcept {
  std::array<bool, 256> t{};
  for (int c = 'A'; c <= 'Z'; ++c) t[static_cast<std::size_t>(c)] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[static_cast<std::size_t>(c)] = true;
  for (int c = '0'; c <= '9'; ++c) t[static_cast<std::size_t>(c)] = true;
  t['-'] = t['.'] = t['_'] = t['~'] = true;
  return t;
}
inline constexpr std::array<bool, 256> unreserved = make_unreserved_table();
inline constexpr char hex_upper[] = "0123456789ABCDEF";

// For each byte: its encoding padded to three bytes, then the encoding's length. The
// encoder stores all four bytes and advances by the length: no branch per byte.
constexpr std::array<std::array<char, 4>, 256> make_encode_table() noexcept {
  std::array<std::array<char, 4>, 256> t{};
  for (std::size_t c = 0; c < 256; ++c) {
    if (unreserved[c]) {
      t[c] = {static_cast<char>(c), 0, 0, 1};
    } else {
      t[c] = {'%', hex_upper[c >> 4], hex_upper[c & 0xF], 3};
    }
  }
  return t;
}
inline constexpr std::array<std::array<char, 4>, 256> encode_table = make_encode_table();

constexpr int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Writes `in` percent-encoded at `out`. `out` must have room for encoded_length(in) bytes
// plus 3 of slack: each step stores four bytes.
inline char* percent_encode_to(std::string_view in, char* out) noexcept {
  for (char ch : in) {
    const auto& e = encode_table[static_cast<unsigned char>(ch)];
    std::memcpy(out, e.data(), 4);
    out += e[3];
  }
  return out;
}
}  // namespace detail

// True for the RFC 3986 unreserved bytes A-Z a-z 0-9 - . _ ~, the only ones never encoded.
constexpr bool is_unreserved(unsigned char c) noexcept {
  return detail::unreserved[c];
}

// Length of the percent-encoding of `in`, in bytes.
constexpr std::size_t encoded_length(std::string_view in) noexcept {
  std::size_t n = 0;
  for (char ch : in) {
    n += static_cast<std::size_t>(detail::encode_table[static_cast<unsigned char>(ch)][3]);
  }
  return n;
}

// Appends `in` to `out` with every byte outside the unreserved set written as %XX
// (uppercase hex). Space is %20, '+' is %2B: the result reads the same under RFC 3986
// and form (`+` as space) decoders.
inline void percent_encode_append(std::string_view in, std::string& out) {
  const std::size_t old = out.size();
  const std::size_t n = encoded_length(in);
  out.resize(old + n + 3);  // slack for the four-byte stores
  detail::percent_encode_to(in, out.data() + old);
  out.resize(old + n);
}

inline std::string percent_encode(std::string_view in) {
  std::string out;
  percent_encode_append(in, out);
  return out;
}

// Appends the percent-decoding of `in` to `out`. '+' stays '+' (RFC 3986, not forms).
// A '%' not followed by two hex digits is an error (errc::invalid_argument); on error
// `out` is left as it was.
inline result<void> percent_decode_append(std::string_view in, std::string& out) {
  const std::size_t old = out.size();
  out.reserve(old + in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    const int hi = i + 1 < in.size() ? detail::hex_value(in[i + 1]) : -1;
    const int lo = i + 2 < in.size() ? detail::hex_value(in[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      out.resize(old);
      return error(errc::invalid_argument, "malformed percent-escape at byte " + std::to_string(i));
    }
    out.push_back(static_cast<char>((hi << 4) | lo));
    i += 2;
  }
  return {};
}

inline result<std::string> percent_decode(std::string_view in) {
  std::string out;
  auto r = percent_decode_append(in, out);
  if (!r) return r.error();
  return out;
}

}  // namespace pixel

#endif  // PIXEL_URL_ENCODING_HPP
