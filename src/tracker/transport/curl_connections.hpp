// How the curl transport uses connections: few HTTP/2 connections, one per transfer over
// HTTP/1.1, and transfers that libcurl parked waiting for a connection re-driven.
// SPDX-License-Identifier: MIT
//
// libcurl 7.88 (Debian 12) parks a transfer that cannot have a connection yet (PIPEWAIT
// waiting for a new connection to show whether it multiplexes, or the host's connection
// limit reached) in its PENDING list, off the list it drives. A parked transfer moves back
// only when another transfer finishes, one per finished transfer, and its own timers are
// not looked at while parked (curl/curl#13227, fixed in 8.8; #2416). When an HTTP/2
// server ends its connections with GOAWAY, many transfers can sit parked with no socket to
// wait on and libcurl's next timer seconds away. The transport therefore looks at its
// transfers often while any run, and removes and re-adds one that is still parked after
// its patience (starting at k_park_patience, doubling each time, so a slow DNS lookup is
// never restarted in a loop).
#ifndef PIXEL_SRC_TRACKER_TRANSPORT_CURL_CONNECTIONS_HPP
#define PIXEL_SRC_TRACKER_TRANSPORT_CURL_CONNECTIONS_HPP

#include <curl/curl.h>

#include <chrono>
#include <cstddef>

namespace pixel::detail {

// Streams the tracker runs on one HTTP/2 connection (libcurl's default; nginx and
// CloudFront allow 128).
constexpr long k_streams_per_connection = 100;
// How often the transport looks for parked transfers while any run, and how long one may
// stay parked before it is re-driven the first time.
constexpr std::chrono::milliseconds k_park_check{5};
constexpr std::chrono::milliseconds k_park_patience{5};
constexpr std::chrono::milliseconds k_park_max{5'000};

// The connection limits of one multi handle, learnt from the endpoint's answers.
class connection_plan {
 public:
  // Sets the multi options. Over https, one connection to the host until an answer shows
  // the protocol (every transfer waits for that connection's ALPN: no burst of handshakes
  // at start); over http, no limit. `in_flight`: the in-flight limit now.
  void init(CURLM* multi, bool secure, std::size_t max_in_flight, std::size_t in_flight) noexcept;

  // A transfer finished with `code`. The first answer over https sets the host limit:
  // HTTP/2, ceil(in flight limit / k_streams_per_connection) connections; HTTP/1.x, none.
  // True when the limit changed (transfers parked under the old one should be re-driven).
  bool learn(CURL* easy, CURLcode code) noexcept;
  // The in-flight limit changed; over HTTP/2 the host limit follows it (upwards only:
  // connections opened stay useful). True when the host limit changed.
  bool set_in_flight(std::size_t limit) noexcept;

 private:
  CURLM* multi_ = nullptr;
  std::size_t max_in_flight_ = 1;
  std::size_t in_flight_ = 1;
  bool http2_ = false;
  long host_limit_ = 0;
  bool known_ = true;
};

// True when libcurl has neither begun a connection for `easy` nor sent its request: the
// transfer is parked, waiting for a connection.
bool parked(CURL* easy) noexcept;

}  // namespace pixel::detail

#endif  // PIXEL_SRC_TRACKER_TRANSPORT_CURL_CONNECTIONS_HPP
