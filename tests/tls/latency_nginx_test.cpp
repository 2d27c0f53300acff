// The tracker against an endpoint at internet distance: nginx answering after 20 ms. With
// default options the number of transfers in flight grows past the floor of 16 by itself,
// over HTTP/2 a handful of connections carry them, over HTTP/1.1 each has its own. All of
// it read from nginx's access log ($msec, $request_time, $connection, $server_protocol).
// Needs nginx and its echo module: built only with PIXEL_TEST_EXTERNAL.
// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>
#include <pixel/tracker.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "certs.hpp"
#include "nginx.hpp"

namespace {

using namespace std::chrono_literals;

const pixel_test::test_certs& certs() {
  static const pixel_test::test_certs c;
  return c;
}

pixel_test::nginx_options slow_endpoint(bool tls) {
  pixel_test::nginx_options o;
  o.tls = o.http2 = tls;
  if (tls) {
    o.cert_file = certs().server_cert();
    o.key_file = certs().server_key();
  }
  o.response_delay = 20ms;
  o.buffered_log = true;
  return o;
}

// The most requests nginx was serving at one moment: each record spans
// [$msec - $request_time, $msec] (milliseconds).
std::size_t max_concurrent(const std::vector<pixel_test::access_record>& records) {
  std::vector<std::pair<long long, int>> edges;
  for (const auto& r : records) {
    const auto end = std::llround(std::stod(r.msec) * 1000.0);
    const auto start = end - std::llround(r.request_time * 1000.0);
    edges.emplace_back(start, +1);
    edges.emplace_back(end, -1);
  }
  std::sort(edges.begin(), edges.end());  // at a tie, an end (-1) sorts first
  int now = 0, most = 0;
  for (const auto& e : edges) most = std::max(most, now += e.second);
  return static_cast<std::size_t>(most);
}

struct run {
  pixel::tracker_stats stats;
  std::vector<pixel_test::access_record> records;
};

// `n` events through a tracker with default options but the endpoint, the CA file, a
// queue that holds them all and `threads` worker threads; every event delivered and
// logged once.
run deliver(const pixel_test::nginx_server& nginx, int n, std::size_t threads = 1) {
  pixel::tracker_options o;
  o.endpoint = nginx.base_url();
  o.ca_file = certs().ca_file();
  o.queue_capacity = static_cast<std::size_t>(n);
  o.worker_threads = threads;
  run r;
  auto t = pixel::tracker::create(std::move(o));
  EXPECT_TRUE(t.has_value()) << t.error().message();
  if (!t) return r;
  EXPECT_EQ(t->options().min_in_flight, 16u);
  EXPECT_EQ(t->options().max_in_flight, 1024u);
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) {
    auto id = t->track({{"userid", "latency"}, {"n", std::to_string(i)}});
    EXPECT_TRUE(id.has_value());
    if (id) ids.push_back(id->str());
  }
  EXPECT_TRUE(t->flush(120s));
  r.stats = t->stats();
  EXPECT_EQ(r.stats.delivered, static_cast<std::uint64_t>(n));
  EXPECT_GE(r.stats.concurrency_limit, 16u);
  EXPECT_LE(r.stats.concurrency_limit, 1024u);
  r.records = nginx.wait_for_records(static_cast<std::size_t>(n), 30s);
  EXPECT_EQ(r.records.size(), static_cast<std::size_t>(n));
  std::map<std::string, int> seen;
  for (const auto& rec : r.records) {
    EXPECT_EQ(rec.status, 200);
    // The delay was served (without it, 0.000). nginx times the sleep on its cached
    // monotonic clock and logs $request_time from its cached wall clock, each read once per
    // event-loop turn in whole milliseconds: under load the two differ by a millisecond or two.
    EXPECT_GE(rec.request_time, 0.015);
    ++seen[pixel_test::query_value(rec.args, "eid")];
  }
  for (const auto& id : ids) EXPECT_EQ(seen[id], 1) << id;
  return r;
}

std::set<std::uint64_t> connections(const std::vector<pixel_test::access_record>& records) {
  std::set<std::uint64_t> c;
  for (const auto& r : records) c.insert(r.connection);
  return c;
}

TEST(Latency, Http2InFlightGrowsPastTheFloorOverFewConnections) {
  const pixel_test::nginx_server nginx(slow_endpoint(true));
  const run r = deliver(nginx, 4000);
  for (const auto& rec : r.records) EXPECT_EQ(rec.protocol, "HTTP/2.0");
  // 16 in flight for 20 ms each would be at most 16 at once; the limit grew by itself.
  const std::size_t most = max_concurrent(r.records);
  EXPECT_GT(most, 16u);
  // At most ceil(1,024 / 100 streams) connections, from the first request on: no burst
  // of handshakes before the protocol was known.
  const auto conns = connections(r.records);
  std::printf("HTTP/2: up to %zu requests at once over %zu connections\n", most, conns.size());
  EXPECT_GE(conns.size(), 1u);
  EXPECT_LE(conns.size(), 11u);
}

TEST(Latency, Http2ThreeWorkerThreadsShareTheLimitEachOverFewConnections) {
  const pixel_test::nginx_server nginx(slow_endpoint(true));
  const run r = deliver(nginx, 4000, 3);
  for (const auto& rec : r.records) EXPECT_EQ(rec.protocol, "HTTP/2.0");
  const std::size_t most = max_concurrent(r.records);
  EXPECT_GT(most, 16u);
  // Each thread has its own connections, for its third of the limit (342, 341, 341 of
  // 1,024): at most ceil(342 / 100) = 4 each.
  const auto conns = connections(r.records);
  std::printf("HTTP/2, 3 threads: up to %zu requests at once over %zu connections\n", most,
              conns.size());
  EXPECT_GE(conns.size(), 3u);
  EXPECT_LE(conns.size(), 12u);
}

TEST(Latency, Http11InFlightGrowsWithAConnectionPerTransfer) {
  const pixel_test::nginx_server nginx(slow_endpoint(false));
  const run r = deliver(nginx, 3000);
  for (const auto& rec : r.records) EXPECT_EQ(rec.protocol, "HTTP/1.1");
  const std::size_t most = max_concurrent(r.records);
  EXPECT_GT(most, 16u);
  // HTTP/1.1 has one request at a time per connection: more than 16 connections, each
  // reused (keep-alive) rather than one per event.
  const auto conns = connections(r.records);
  std::printf("HTTP/1.1: up to %zu requests at once over %zu connections\n", most, conns.size());
  EXPECT_GT(conns.size(), 16u);
  EXPECT_LT(conns.size(), r.records.size() / 2);
}

}  // namespace
