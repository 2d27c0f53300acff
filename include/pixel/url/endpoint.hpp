// pixel: the pixel's endpoint: parsing and validation. Header-only, part of <pixel/url.hpp>.
// SPDX-License-Identifier: MIT
#ifndef PIXEL_URL_ENDPOINT_HPP
#define PIXEL_URL_ENDPOINT_HPP

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "pixel/error.hpp"
#include "pixel/url/encoding.hpp"
#include "pixel/url/utf8.hpp"

namespace pixel {

// CloudFront refuses (413, and does not log) requests whose URL exceeds this many bytes.
inline constexpr std::size_t cloudfront_max_url_length = 8192;
inline constexpr std::string_view default_pixel_path = "/1x1.png";

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

}  // namespace pixel

#endif  // PIXEL_URL_ENDPOINT_HPP
