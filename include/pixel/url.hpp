// pixel: pixel URLs. Header-only, standard library only, C++17.
// SPDX-License-Identifier: MIT
//
//   auto ep = pixel::endpoint::parse("https://d111111abcdef8.cloudfront.net").value();
//   pixel::url_builder builder(ep);
//   std::string url;  // reuse it: once warm, building allocates nothing
//   auto id = builder.build_into({{"userid", "aws_user"}, {"thirdpartyname", "example.com"}}, url);
//   if (!id) std::fprintf(stderr, "%s\n", id.error().message().c_str());
//   // url == "https://d111111abcdef8.cloudfront.net/1x1.png?userid=aws_user&...&eid=01J...&ts=..."
#ifndef PIXEL_URL_HPP
#define PIXEL_URL_HPP

#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pixel/error.hpp"

#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#define PIXEL_HAS_PTHREAD_ATFORK 1
#endif

namespace pixel {

// CloudFront refuses (413, and does not log) requests whose URL exceeds this many bytes.
inline constexpr std::size_t cloudfront_max_url_length = 8192;
inline constexpr std::string_view default_pixel_path = "/1x1.png";

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

// ---------------------------------------------------------------------------------------
// Event ids: ULID-style, 26 Crockford base32 characters, 48-bit millisecond time then 80
// random bits. Time-ordered, URL-safe (all unreserved), unique across threads and processes.

class event_id {
 public:
  static constexpr std::size_t length = 26;

  event_id() noexcept { chars_.fill('0'); }

  // A new id from the calling thread's generator (seeded from the OS; reseeded after fork).
  static event_id generate() noexcept;
  // The id for a given time and 80 random bits (hi holds the top 16).
  static event_id from_parts(std::uint64_t unix_ms, std::uint16_t rand_hi,
                             std::uint64_t rand_lo) noexcept {
    static constexpr char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    std::uint64_t hi = ((unix_ms & 0xFFFFFFFFFFFFULL) << 16) | rand_hi;
    std::uint64_t lo = rand_lo;
    event_id id;
    for (std::size_t i = length; i-- > 0;) {
      id.chars_[i] = alphabet[lo & 31];
      lo = (lo >> 5) | (hi << 59);
      hi >>= 5;
    }
    return id;
  }

  // An id read back from its text (a spool, a log); false when `text` is not 26 characters
  // of the id alphabet.
  static bool parse(std::string_view text, event_id& out) noexcept {
    if (text.size() != length) return false;
    event_id id;
    for (std::size_t i = 0; i < length; ++i) {
      const char c = text[i];
      const bool digit = c >= '0' && c <= '9';
      const bool letter = c >= 'A' && c <= 'Z' && c != 'I' && c != 'L' && c != 'O' && c != 'U';
      if (!digit && !letter) return false;
      id.chars_[i] = c;
    }
    out = id;
    return true;
  }

  std::string_view view() const noexcept { return {chars_.data(), length}; }
  std::string str() const { return std::string(view()); }
  friend bool operator==(const event_id& a, const event_id& b) noexcept {
    return a.chars_ == b.chars_;
  }
  friend bool operator!=(const event_id& a, const event_id& b) noexcept { return !(a == b); }

 private:
  std::array<char, length> chars_;
};

namespace detail {
// xoshiro256** seeded from std::random_device; one per thread.
class id_generator {
 public:
  id_generator() noexcept { seed(); }
  std::uint64_t next() noexcept {
    if (generation_ != fork_generation().load(std::memory_order_relaxed)) seed();
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  static std::atomic<unsigned>& fork_generation() noexcept {
    static std::atomic<unsigned> generation{0};
    return generation;
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }

  void seed() noexcept {
#if defined(PIXEL_HAS_PTHREAD_ATFORK)
    // A forked child copies this thread's state: bump the generation there so it reseeds.
    static const int registered = pthread_atfork(
        nullptr, nullptr, [] { fork_generation().fetch_add(1, std::memory_order_relaxed); });
    (void)registered;
#endif
    generation_ = fork_generation().load(std::memory_order_relaxed);
    std::uint64_t entropy[4] = {0, 0, 0, 0};
    try {
      std::random_device rd;
      for (auto& e : entropy) e = (std::uint64_t{rd()} << 32) ^ rd();
    } catch (...) {
      // No OS entropy source: fall back to time and addresses (still distinct per thread).
    }
    std::uint64_t mix = static_cast<std::uint64_t>(
        std::chrono::high_resolution_clock::now().time_since_epoch().count());
    mix ^= reinterpret_cast<std::uintptr_t>(this);
    for (auto& e : entropy) {
      // splitmix64 over the entropy, so a weak source still spreads over all bits.
      mix += 0x9E3779B97F4A7C15ULL ^ e;
      std::uint64_t z = mix;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
      e = z ^ (z >> 31);
    }
    for (int i = 0; i < 4; ++i) s_[i] = entropy[i];
    if ((s_[0] | s_[1] | s_[2] | s_[3]) == 0) s_[0] = 1;
  }

  std::uint64_t s_[4];
  unsigned generation_ = 0;
};

inline std::uint64_t unix_millis() noexcept {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}
}  // namespace detail

inline event_id event_id::generate() noexcept {
  thread_local detail::id_generator gen;
  const std::uint64_t a = gen.next();
  const std::uint64_t b = gen.next();
  return from_parts(detail::unix_millis(), static_cast<std::uint16_t>(a >> 48), b);
}

// ---------------------------------------------------------------------------------------
// Endpoints

struct endpoint_options {
  // Allow http:// to hosts other than loopback (127.0.0.0/8, ::1, localhost). CloudFront
  // answers plain http with a 301 to https, so this is for proxies and test rigs.
  bool allow_http = false;
};

namespace detail {
inline bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

inline std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

inline bool is_loopback_ipv4(std::string_view host) noexcept {
  int parts = 0;
  int first = -1;
  std::size_t i = 0;
  while (i <= host.size()) {
    std::size_t dot = host.find('.', i);
    if (dot == std::string_view::npos) dot = host.size();
    const std::string_view part = host.substr(i, dot - i);
    if (part.empty() || part.size() > 3) return false;
    int v = 0;
    for (char c : part) {
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    if (v > 255) return false;
    if (parts == 0) first = v;
    ++parts;
    i = dot + 1;
    if (dot == host.size()) break;
  }
  return parts == 4 && first == 127;
}
}  // namespace detail

// The pixel's location, parsed and validated once: https://host[:port][/path]. The path
// defaults to /1x1.png (also when it is just "/"). No user information, query or
// fragment. http:// only for loopback hosts or with endpoint_options::allow_http.
class endpoint {
 public:
  static result<endpoint> parse(std::string_view url, const endpoint_options& options = {}) {
    const std::size_t sep = url.find("://");
    if (sep == std::string_view::npos || sep == 0) {
      return error(errc::endpoint_syntax, "endpoint '" + detail::printable(url) +
                                              "' is not an absolute URL (scheme://host)");
    }
    const std::string_view scheme_text = url.substr(0, sep);
    for (std::size_t i = 0; i < scheme_text.size(); ++i) {
      const char c = scheme_text[i];
      const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
      const bool other = (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
      if (!(alpha || (i > 0 && other))) {
        return error(errc::endpoint_syntax, "endpoint '" + detail::printable(url) +
                                                "' is not an absolute URL (scheme://host)");
      }
    }
    endpoint ep;
    if (detail::iequals(scheme_text, "https")) {
      ep.secure_ = true;
    } else if (detail::iequals(scheme_text, "http")) {
      ep.secure_ = false;
    } else {
      return error(errc::endpoint_scheme,
                   "endpoint scheme '" + detail::printable(scheme_text) + "' is not https or http");
    }
    std::string_view rest = url.substr(sep + 3);
    const std::size_t qf = rest.find_first_of("?#");
    if (qf != std::string_view::npos) {
      if (rest[qf] == '?') {
        return error(errc::endpoint_query,
                     "endpoint must not contain a query ('?'): parameters are added per event");
      }
      return error(errc::endpoint_fragment, "endpoint must not contain a fragment ('#')");
    }
    const std::size_t slash = rest.find('/');
    const std::string_view authority = rest.substr(0, slash);
    const std::string_view path =
        slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
    if (authority.find('@') != std::string_view::npos) {
      return error(errc::endpoint_userinfo, "endpoint must not contain user information ('@')");
    }
    std::string_view host, port_text;
    bool has_port = false;
    if (!authority.empty() && authority.front() == '[') {
      const std::size_t close = authority.find(']');
      if (close == std::string_view::npos) {
        return error(errc::endpoint_host, "endpoint IPv6 host is missing ']'");
      }
      host = authority.substr(1, close - 1);
      if (host.empty() ||
          host.find_first_not_of("0123456789abcdefABCDEF:.") != std::string_view::npos ||
          host.find(':') == std::string_view::npos) {
        return error(errc::endpoint_host,
                     "endpoint IPv6 host '" + detail::printable(host) + "' is invalid");
      }
      const std::string_view after = authority.substr(close + 1);
      if (!after.empty()) {
        if (after.front() != ':') {
          return error(errc::endpoint_host, "endpoint has text after the IPv6 host");
        }
        has_port = true;
        port_text = after.substr(1);
      }
      ep.ipv6_ = true;
    } else {
      const std::size_t colon = authority.rfind(':');
      host = authority.substr(0, colon);
      if (colon != std::string_view::npos) {
        has_port = true;
        port_text = authority.substr(colon + 1);
      }
      if (host.empty()) return error(errc::endpoint_host, "endpoint host is empty");
      for (char c : host) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
        if (!ok) {
          return error(errc::endpoint_host,
                       "endpoint host '" + detail::printable(host) + "' has invalid characters");
        }
      }
      if (host.front() == '.' || host.front() == '-' || host.find("..") != std::string_view::npos) {
        return error(errc::endpoint_host,
                     "endpoint host '" + detail::printable(host) + "' is malformed");
      }
    }
    if (has_port) {
      unsigned long value = 0;
      const bool digits = !port_text.empty() && port_text.size() <= 5 &&
                          port_text.find_first_not_of("0123456789") == std::string_view::npos;
      if (digits) {
        for (char c : port_text) value = value * 10 + static_cast<unsigned long>(c - '0');
      }
      if (!digits || value == 0 || value > 65535) {
        return error(errc::endpoint_port,
                     "endpoint port '" + detail::printable(port_text) + "' is not in 1-65535");
      }
      ep.port_ = static_cast<std::uint16_t>(value);
    } else {
      ep.port_ = ep.secure_ ? 443 : 80;
    }
    for (std::size_t i = 0; i < path.size(); ++i) {
      const auto c = static_cast<unsigned char>(path[i]);
      if (detail::unreserved[c] ||
          std::string_view("/!$&'()*+,;=:@").find(static_cast<char>(c)) != std::string_view::npos) {
        continue;
      }
      if (c == '%' && i + 2 < path.size() && detail::hex_value(path[i + 1]) >= 0 &&
          detail::hex_value(path[i + 2]) >= 0) {
        i += 2;
        continue;
      }
      return error(errc::endpoint_path, "endpoint path '" + detail::printable(path) +
                                            "' has a character that must be percent-encoded");
    }
    ep.host_ = detail::to_lower(host);
    ep.loopback_ =
        ep.host_ == "localhost" || ep.host_ == "::1" || detail::is_loopback_ipv4(ep.host_);
    if (!ep.secure_ && !ep.loopback_ && !options.allow_http) {
      return error(errc::endpoint_insecure, "endpoint uses http:// with non-loopback host '" +
                                                ep.host_ +
                                                "': use https://, or allow http explicitly");
    }
    ep.path_ = (path.empty() || path == "/") ? std::string(default_pixel_path) : std::string(path);
    ep.url_ = ep.secure_ ? "https://" : "http://";
    ep.url_ += ep.ipv6_ ? "[" + ep.host_ + "]" : ep.host_;
    if (has_port) {
      ep.url_ += ':';
      ep.url_ += std::to_string(ep.port_);
    }
    ep.url_ += ep.path_;
    return ep;
  }

  // The normalised URL without a query: scheme and host lowercased, default path filled in.
  const std::string& url() const noexcept { return url_; }
  std::string_view scheme() const noexcept { return secure_ ? "https" : "http"; }
  // The host, lowercased, without the brackets of an IPv6 literal.
  const std::string& host() const noexcept { return host_; }
  // The port in use: the explicit one, else 443 or 80.
  std::uint16_t port() const noexcept { return port_; }
  const std::string& path() const noexcept { return path_; }
  bool secure() const noexcept { return secure_; }
  bool loopback() const noexcept { return loopback_; }

 private:
  endpoint() = default;

  std::string url_;
  std::string host_;
  std::string path_;
  std::uint16_t port_ = 0;
  bool secure_ = true;
  bool loopback_ = false;
  bool ipv6_ = false;
};

// ---------------------------------------------------------------------------------------
// URL builder

struct url_options {
  bool event_id = true;   // add the event id (consumers de-duplicate with it)
  bool timestamp = true;  // add the client time in Unix milliseconds
  std::string event_id_key = "eid";
  std::string timestamp_key = "ts";
  // Longest URL produced, in bytes, counting all of it (scheme to the end of the query).
  // At most cloudfront_max_url_length: anything longer gets a 413 and is never logged.
  std::size_t max_length = cloudfront_max_url_length;
};

// Builds pixel URLs for one endpoint. Immutable once made; safe to share between threads.
class url_builder {
 public:
  // Default options: eid and ts on, 8,192-byte limit.
  explicit url_builder(endpoint ep) : endpoint_(std::move(ep)) {}

  // Checks the options: max_length in 1..8192, non-empty distinct UTF-8 keys.
  static result<url_builder> create(endpoint ep, url_options options) {
    if (options.max_length == 0 || options.max_length > cloudfront_max_url_length) {
      return error(errc::invalid_argument,
                   "max_length must be between 1 and " + std::to_string(cloudfront_max_url_length));
    }
    if (options.event_id) {
      if (auto ok = validate_param({options.event_id_key, {}}, 0); !ok) {
        return error(ok.error().code(), "event id key: " + ok.error().message());
      }
    }
    if (options.timestamp) {
      if (auto ok = validate_param({options.timestamp_key, {}}, 0); !ok) {
        return error(ok.error().code(), "timestamp key: " + ok.error().message());
      }
    }
    if (options.event_id && options.timestamp && options.event_id_key == options.timestamp_key) {
      return error(errc::invalid_argument, "event id and timestamp keys must differ");
    }
    url_builder b(std::move(ep));
    b.options_ = std::move(options);
    return b;
  }

  const endpoint& target() const noexcept { return endpoint_; }
  const url_options& options() const noexcept { return options_; }

  // Writes the URL for `params` into `out` (replacing its contents) with the given event
  // id and timestamp, each added only when enabled in the options. Nothing is written on
  // error. Once `out` has grown to fit, this allocates nothing.
  result<void> build_with(params_view params, std::string_view id, std::uint64_t timestamp_ms,
                          std::string& out) const {
    // Validate everything first, and bound the size: every byte encodes to at most three.
    // The exact length is only computed when the bound is over the limit.
    std::size_t bound = endpoint_.url().size();
    for (std::size_t i = 0; i < params.size(); ++i) {
      const param& p = params[i];
      if (auto ok = validate_param(p, i); !ok) return ok;
      if ((options_.event_id && p.key == options_.event_id_key) ||
          (options_.timestamp && p.key == options_.timestamp_key)) {
        return error(errc::invalid_argument, "key '" + detail::printable(p.key) +
                                                 "' is reserved for the event id or timestamp");
      }
      bound += 2 + 3 * (p.key.size() + p.value.size());
    }
    char ts_text[24];
    std::size_t ts_len = 0;
    if (options_.event_id) bound += 2 + 3 * (options_.event_id_key.size() + id.size());
    if (options_.timestamp) {
      ts_len = static_cast<std::size_t>(
          std::to_chars(ts_text, ts_text + sizeof ts_text, timestamp_ms).ptr - ts_text);
      bound += 2 + 3 * options_.timestamp_key.size() + ts_len;
    }
    if (bound > options_.max_length) {
      const std::size_t total = exact_length(params, id, ts_len);
      if (total > options_.max_length) {
        return error(errc::url_too_long, "URL would be " + std::to_string(total) +
                                             " bytes, over the limit of " +
                                             std::to_string(options_.max_length));
      }
      bound = total;
    }
    out.resize(bound + 3);  // slack for the encoder's four-byte stores
    char* const begin = out.data();
    char* w = begin;
    std::memcpy(w, endpoint_.url().data(), endpoint_.url().size());
    w += endpoint_.url().size();
    char sep = '?';
    auto put = [&](std::string_view k, std::string_view v) {
      *w++ = sep;
      sep = '&';
      w = detail::percent_encode_to(k, w);
      *w++ = '=';
      w = detail::percent_encode_to(v, w);
    };
    for (const param& p : params) put(p.key, p.value);
    if (options_.event_id) put(options_.event_id_key, id);
    if (options_.timestamp) put(options_.timestamp_key, std::string_view(ts_text, ts_len));
    out.resize(static_cast<std::size_t>(w - begin));
    return {};
  }

  // The exact length of the URL build_with would produce (parameters already valid).
  std::size_t exact_length(params_view params, std::string_view id, std::size_t ts_len) const {
    std::size_t total = endpoint_.url().size();
    for (const param& p : params) total += 2 + encoded_length(p.key) + encoded_length(p.value);
    if (options_.event_id) total += 2 + encoded_length(options_.event_id_key) + encoded_length(id);
    if (options_.timestamp) total += 2 + encoded_length(options_.timestamp_key) + ts_len;
    return total;
  }

  // Generates an event id, reads the clock, and writes the URL into `out`. Returns the id.
  result<event_id> build_into(params_view params, std::string& out) const {
    const event_id id = event_id::generate();
    auto ok = build_with(params, id.view(), detail::unix_millis(), out);
    if (!ok) return ok.error();
    return id;
  }

  result<std::string> build(params_view params) const {
    std::string out;
    auto ok = build_into(params, out);
    if (!ok) return ok.error();
    return out;
  }

 private:
  endpoint endpoint_;
  url_options options_;
};

// One-shot convenience: parse `endpoint_url`, then build. Prefer a url_builder in loops.
inline result<std::string> build_url(std::string_view endpoint_url, params_view params,
                                     const url_options& options = {},
                                     const endpoint_options& endpoint_opts = {}) {
  auto ep = endpoint::parse(endpoint_url, endpoint_opts);
  if (!ep) return ep.error();
  auto builder = url_builder::create(std::move(*ep), options);
  if (!builder) return builder.error();
  return builder->build(params);
}

}  // namespace pixel

#endif  // PIXEL_URL_HPP
