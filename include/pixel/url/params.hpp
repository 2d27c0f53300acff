// pixel: query parameters: views, validation, decoding a query. Header-only, part of
// <pixel/url.hpp>. SPDX-License-Identifier: MIT
#ifndef PIXEL_URL_PARAMS_HPP
#define PIXEL_URL_PARAMS_HPP

#include <array>
#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pixel/error.hpp"
#include "pixel/url/encoding.hpp"
#include "pixel/url/utf8.hpp"

namespace pixel {

// ---------------------------------------------------------------------------------------
// Parameters

// One query parameter. Views: the caller keeps the bytes alive for the call.
struct param {
  std::string_view key;
  std::string_view value;
};

// A read-only view of an ordered list of parameters (insertion order kept, duplicates
// allowed). Built implicitly from a braced list, a std::vector<param> or a std::array.
class params_view {
 public:
  constexpr params_view() noexcept = default;
  constexpr params_view(const param* data, std::size_t size) noexcept : data_(data), size_(size) {}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winit-list-lifetime"
#endif
  // The view is meant for the full expression of a call: f({{"k", "v"}}).
  params_view(std::initializer_list<param> list) noexcept  // NOLINT(google-explicit-constructor)
      : data_(list.begin()), size_(list.size()) {}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
  template <typename Alloc>
  params_view(const std::vector<param, Alloc>& v) noexcept  // NOLINT(google-explicit-constructor)
      : data_(v.data()), size_(v.size()) {}
  template <std::size_t N>
  constexpr params_view(const std::array<param, N>& a) noexcept  // NOLINT
      : data_(a.data()), size_(N) {}

  constexpr const param* begin() const noexcept {
    return data_;
  }
  constexpr const param* end() const noexcept {
    return data_ + size_;
  }
  constexpr std::size_t size() const noexcept {
    return size_;
  }
  constexpr bool empty() const noexcept {
    return size_ == 0;
  }
  constexpr const param& operator[](std::size_t i) const noexcept {
    return data_[i];
  }

 private:
  const param* data_ = nullptr;
  std::size_t size_ = 0;
};

// Checks one key/value pair: non-empty key, both well-formed UTF-8. The messages name
// the key (or its position, when the key itself is the problem).
inline result<void> validate_param(const param& p, std::size_t index) {
  if (p.key.empty()) {
    return error(errc::empty_key, "empty key in parameter " + std::to_string(index + 1));
  }
  if (auto k = check_utf8(p.key); !k.ok()) {
    return error(errc::invalid_utf8,
                 "invalid UTF-8 in key of parameter " + std::to_string(index + 1) + " at byte " +
                     std::to_string(k.offset) + ": " + utf8_problem_name(k.problem));
  }
  if (auto v = check_utf8(p.value); !v.ok()) {
    return error(errc::invalid_utf8, "invalid UTF-8 in value of '" + detail::printable(p.key) +
                                         "' at byte " + std::to_string(v.offset) + ": " +
                                         utf8_problem_name(v.problem));
  }
  return {};
}

// Splits a query string (without the '?') on '&' and the first '=', percent-decodes
// each key and value, and checks they are UTF-8. An empty query gives no parameters;
// an empty segment ("a=1&&b=2") is skipped; "k" without '=' gives an empty value.
inline result<std::vector<std::pair<std::string, std::string>>> decode_query(
    std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t pos = 0;
  while (pos <= query.size()) {
    std::size_t amp = query.find('&', pos);
    if (amp == std::string_view::npos) amp = query.size();
    const std::string_view part = query.substr(pos, amp - pos);
    pos = amp + 1;
    if (part.empty()) continue;
    const std::size_t eq = part.find('=');
    std::string key, value;
    auto k = percent_decode_append(part.substr(0, eq), key);
    if (!k) return k.error();
    if (eq != std::string_view::npos) {
      auto v = percent_decode_append(part.substr(eq + 1), value);
      if (!v) return v.error();
    }
    if (auto ok = validate_param({key, value}, out.size()); !ok) return ok.error();
    out.emplace_back(std::move(key), std::move(value));
  }
  return out;
}

}  // namespace pixel

#endif  // PIXEL_URL_PARAMS_HPP
