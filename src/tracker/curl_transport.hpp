// libcurl plumbing for the tracker: process-wide init, per-handle options, and how a
// transfer's result is classified (retry, outage, final).
// SPDX-License-Identifier: MIT
#ifndef PIXEL_SRC_TRACKER_CURL_TRANSPORT_HPP
#define PIXEL_SRC_TRACKER_CURL_TRANSPORT_HPP

#include <curl/curl.h>

#include <string_view>

#include "pixel/tracker.hpp"

namespace pixel::detail {

// curl_global_init(CURL_GLOBAL_DEFAULT) exactly once per process, thread-safely. Never
// undone: other code in the process may use libcurl too. False if it failed.
bool curl_global_ready() noexcept;

// Statuses worth another attempt: 408, 429, 500, 502, 503, 504.
constexpr bool is_retryable_status(long status) noexcept {
  return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 ||
         status == 504;
}

constexpr bool is_redirect_status(long status) noexcept {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// Transport failures that another attempt may cure: refused or reset connections,
// timeouts, DNS, a connection that died mid-response. TLS verification failures and the
// like are final: repeating them cannot help.
bool is_retryable_curl_error(CURLcode code) noexcept;

// A redirect is followed only to https on the endpoint's own host (any port): CloudFront
// answers http with a 301 to https, and anything else could leak events elsewhere.
bool redirect_allowed(std::string_view location, std::string_view endpoint_host) noexcept;

// Sets the options that are the same for every transfer of a tracker. `header_cb` and
// `context` receive the response header lines.
CURLcode configure_easy(CURL* easy, const tracker_options& options, bool secure,
                        curl_write_callback header_cb, void* context);

}  // namespace pixel::detail

#endif  // PIXEL_SRC_TRACKER_CURL_TRANSPORT_HPP
