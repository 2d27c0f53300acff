// SPDX-License-Identifier: MIT
#include "tracker/curl_transport.hpp"

#include <mutex>

namespace pixel::detail {

bool curl_global_ready() noexcept {
  static std::once_flag once;
  static bool ok = false;
  std::call_once(once, [] { ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; });
  return ok;
}

bool is_retryable_curl_error(CURLcode code) noexcept {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
    case CURLE_SSL_CONNECT_ERROR:  // a handshake cut short; verification errors differ
    case CURLE_WEIRD_SERVER_REPLY:
      return true;
    default:
      return false;
  }
}

namespace {
size_t discard_body(char*, size_t size, size_t nmemb, void*) {
  return size * nmemb;
}
}  // namespace

bool redirect_allowed(std::string_view location, std::string_view endpoint_host) noexcept {
  constexpr std::string_view scheme = "https://";
  if (location.size() <= scheme.size() ||
      !pixel::detail::iequals(location.substr(0, scheme.size()), scheme)) {
    return false;
  }
  std::string_view rest = location.substr(scheme.size());
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.find('@') != std::string_view::npos) return false;
  std::string_view host;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return false;
    host = authority.substr(1, close - 1);
  } else {
    host = authority.substr(0, authority.find(':'));
  }
  return !host.empty() && pixel::detail::iequals(host, endpoint_host);
}

CURLcode configure_easy(CURL* easy, const tracker_options& options, bool secure,
                        curl_write_callback header_cb, void* context) {
  CURLcode rc = CURLE_OK;
  auto set = [&](CURLoption opt, auto value) {
    if (rc == CURLE_OK) rc = curl_easy_setopt(easy, opt, value);
  };
  set(CURLOPT_NOSIGNAL, 1L);
  set(CURLOPT_HTTPGET, 1L);
  set(CURLOPT_PROTOCOLS_STR, "http,https");
  set(CURLOPT_FOLLOWLOCATION, 0L);  // redirects are judged by the tracker
  set(CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
  if (secure) set(CURLOPT_PIPEWAIT, 1L);  // prefer an HTTP/2 stream to a new connection
  set(CURLOPT_TCP_KEEPALIVE, 1L);
  set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout.count()));
  set(CURLOPT_TIMEOUT_MS, static_cast<long>(options.request_timeout.count()));
  set(CURLOPT_SSL_VERIFYPEER, 1L);
  set(CURLOPT_SSL_VERIFYHOST, 2L);
  if (!options.ca_file.empty()) set(CURLOPT_CAINFO, options.ca_file.c_str());
  // An empty string turns proxies off, http_proxy and friends included: a library should
  // not route events through whatever the environment says unless asked to.
  set(CURLOPT_PROXY, options.proxy.c_str());
  set(CURLOPT_WRITEFUNCTION, &discard_body);
  set(CURLOPT_HEADERFUNCTION, header_cb);
  set(CURLOPT_HEADERDATA, context);
  set(CURLOPT_PRIVATE, context);
  return rc;
}

}  // namespace pixel::detail
