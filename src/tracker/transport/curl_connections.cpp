// SPDX-License-Identifier: MIT
#include "tracker/transport/curl_connections.hpp"

#include <algorithm>

namespace pixel::detail {

namespace {
long connections_for(std::size_t in_flight) noexcept {
  const auto streams = static_cast<std::size_t>(k_streams_per_connection);
  return static_cast<long>((std::max<std::size_t>(in_flight, 1) + streams - 1) / streams);
}
}  // namespace

void connection_plan::init(CURLM* multi, bool secure, std::size_t max_in_flight,
                           std::size_t in_flight) noexcept {
  multi_ = multi;
  max_in_flight_ = std::max<std::size_t>(max_in_flight, 1);
  in_flight_ = in_flight;
  curl_multi_setopt(multi_, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
  curl_multi_setopt(multi_, CURLMOPT_MAX_CONCURRENT_STREAMS, k_streams_per_connection);
  curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, static_cast<long>(max_in_flight_));
  known_ = !secure;
  host_limit_ = secure ? 1 : 0;
  curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, host_limit_);
}

bool connection_plan::learn(CURL* easy, CURLcode code) noexcept {
  if (known_ || code != CURLE_OK) return false;
  long version = 0;
  if (curl_easy_getinfo(easy, CURLINFO_HTTP_VERSION, &version) != CURLE_OK || version == 0) {
    return false;
  }
  known_ = true;
  http2_ = version == CURL_HTTP_VERSION_2_0;
  host_limit_ = http2_ ? connections_for(in_flight_) : 0;
  curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, host_limit_);
  return true;
}

bool connection_plan::set_in_flight(std::size_t limit) noexcept {
  in_flight_ = std::min(limit, max_in_flight_);
  if (!http2_ || connections_for(in_flight_) <= host_limit_) return false;
  host_limit_ = connections_for(in_flight_);
  curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, host_limit_);
  return true;
}

bool parked(CURL* easy) noexcept {
  curl_off_t lookup = 0;
  curl_off_t pretransfer = 0;
  curl_easy_getinfo(easy, CURLINFO_NAMELOOKUP_TIME_T, &lookup);
  curl_easy_getinfo(easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
  return lookup == 0 && pretransfer == 0;
}

}  // namespace pixel::detail
