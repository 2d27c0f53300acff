// The production transport: one libcurl multi handle driving up to `capacity` easy
// handles, made once and reused (their connections and TLS sessions with them).
// SPDX-License-Identifier: MIT
#ifndef PIXEL_SRC_TRACKER_TRANSPORT_CURL_TRANSPORT_HPP
#define PIXEL_SRC_TRACKER_TRANSPORT_CURL_TRANSPORT_HPP

#include <curl/curl.h>

#include <cstddef>
#include <memory>
#include <string_view>

#include "pixel/error.hpp"
#include "pixel/tracker.hpp"
#include "tracker/transport/transport.hpp"

namespace pixel::detail {

// curl_global_init(CURL_GLOBAL_DEFAULT) exactly once per process, thread-safely. Never
// undone: other code in the process may use libcurl too. False if it failed.
bool curl_global_ready() noexcept;

// What a CURLcode means to the delivery policy.
transport_error classify(CURLcode code) noexcept;

// A failed TLS handshake's details (libcurl's error buffer) say the server answered with
// something other than TLS: plain HTTP on an https:// endpoint, a configuration error.
bool not_tls(std::string_view handshake_error) noexcept;

// Sets the options that are the same for every transfer of a tracker. `header_cb` and
// `context` receive the response header lines.
CURLcode configure_easy(CURL* easy, const tracker_options& options, bool secure,
                        curl_write_callback header_cb, void* context);

// `capacity` transfers at most, configured from `options` (`secure`: the endpoint is https).
result<std::unique_ptr<transport>> make_curl_transport(const tracker_options& options, bool secure,
                                                       std::size_t capacity);

}  // namespace pixel::detail

#endif  // PIXEL_SRC_TRACKER_TRANSPORT_CURL_TRANSPORT_HPP
