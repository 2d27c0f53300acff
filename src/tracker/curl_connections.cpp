// SPDX-License-Identifier: MIT
#include "tracker/curl_connections.hpp"

#include <algorithm>

namespace pixel::detail {

void connection_plan::init(CURLM* multi, bool secure, std::size_t max_in_flight) noexcept {
  multi_ = multi;
  max_in_flight_ = std::max<std::size_t>(max_in_flight, 1);
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
  const auto streams = static_cast<std::size_t>(k_streams_per_connection);
  host_limit_ = version == CURL_HTTP_VERSION_2_0
                    ? static_cast<long>((max_in_flight_ + streams - 1) / streams)
                    : 0;
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
