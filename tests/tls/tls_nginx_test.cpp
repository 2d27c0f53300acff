// The tracker against Debian's nginx: HTTP/2 negotiated over TLS (ALPN), HTTP/1.1 keep-alive
// reuse, checked from nginx's own access log ($server_protocol, $connection,
// $connection_requests). Needs nginx: built only with PIXEL_TEST_EXTERNAL.
// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>
#include <pixel/tracker.hpp>

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "certs.hpp"
#include "nginx.hpp"

namespace {

using namespace std::chrono_literals;

const pixel_test::test_certs& certs() {
  static const pixel_test::test_certs c;
  return c;
}

pixel_test::nginx_options tls_options(bool http2) {
  pixel_test::nginx_options o;
  o.tls = true;
  o.http2 = http2;
  o.cert_file = certs().server_cert();
  o.key_file = certs().server_key();
  return o;
}

struct delivery {
  std::vector<std::string> ids;
  std::vector<pixel_test::access_record> records;
};

// Tracks `n` events through a tracker on `nginx`, flushes, and returns the ids with the
// access log records, after checking that each event was delivered and logged exactly once.
delivery deliver(const pixel_test::nginx_server& nginx, int n, std::size_t max_in_flight,
                 const std::string& user_agent) {
  pixel::tracker_options o;
  o.endpoint = nginx.base_url();
  o.ca_file = certs().ca_file();
  o.max_in_flight = max_in_flight;
  o.connect_timeout = 20s;
  o.request_timeout = 30s;
  delivery d;
  auto t = pixel::tracker::create(std::move(o));
  EXPECT_TRUE(t.has_value()) << t.error().message();
  if (!t) return d;
  for (int i = 0; i < n; ++i) {
    const std::string i_str = std::to_string(i);
    auto id = t->track({{"userid", "nginx-user"}, {"n", i_str}}, user_agent);
    EXPECT_TRUE(id.has_value()) << (id ? "" : id.error().message());
    if (id) d.ids.push_back(id->str());
  }
  EXPECT_TRUE(t->flush(120s));
  const auto s = t->stats();
  EXPECT_EQ(s.delivered, static_cast<std::uint64_t>(n));
  EXPECT_EQ(s.failed + s.expired + s.dropped + s.queued + s.in_flight, 0u);

  d.records = nginx.wait_for_records(static_cast<std::size_t>(n), 30s);
  EXPECT_EQ(d.records.size(), static_cast<std::size_t>(n)) << nginx.error_log();
  std::map<std::string, int> seen;
  for (const auto& r : d.records) {
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.remote_addr, "127.0.0.1");
    EXPECT_EQ(r.user_agent, user_agent);
    EXPECT_EQ(pixel_test::query_value(r.args, "userid"), "nginx-user");
    ++seen[pixel_test::query_value(r.args, "eid")];
  }
  for (const auto& id : d.ids) EXPECT_EQ(seen[id], 1) << id;
  return d;
}

// Requests per connection serial, and a check that each connection's requests are
// numbered 1..k (nginx's $connection_requests).
std::map<std::uint64_t, std::set<std::uint64_t>> by_connection(
    const std::vector<pixel_test::access_record>& records) {
  std::map<std::uint64_t, std::set<std::uint64_t>> c;
  for (const auto& r : records) c[r.connection].insert(r.connection_requests);
  for (const auto& [conn, numbers] : c) {
    EXPECT_EQ(*numbers.begin(), 1u) << "connection " << conn;
    EXPECT_EQ(*numbers.rbegin(), numbers.size()) << "connection " << conn;
  }
  return c;
}

TEST(Nginx, Http2IsNegotiatedOverTls) {
  pixel_test::nginx_server nginx(tls_options(true));
  const auto d = deliver(nginx, 60, 8, "Mozilla/5.0 (pixel h2 test)");
  for (const auto& r : d.records) EXPECT_EQ(r.protocol, "HTTP/2.0");
  // Multiplexed: eight transfers at a time, all streams of one connection (the tracker
  // waits for the first handshake to learn that h2 is on offer rather than open more).
  const auto conns = by_connection(d.records);
  EXPECT_EQ(conns.size(), 1u);
  EXPECT_EQ(conns.begin()->second.size(), 60u);
}

TEST(Nginx, TlsWithoutHttp2UsesHttp11KeepAlive) {
  pixel_test::nginx_server nginx(tls_options(false));
  const auto d = deliver(nginx, 60, 4, "pixel-tls11-test");
  for (const auto& r : d.records) EXPECT_EQ(r.protocol, "HTTP/1.1");
  EXPECT_LE(by_connection(d.records).size(), 4u);
}

TEST(Nginx, Http11KeepAliveReusesConnections) {
  pixel_test::nginx_server nginx;
  const auto d = deliver(nginx, 200, 4, "pixel-keepalive-test");
  for (const auto& r : d.records) EXPECT_EQ(r.protocol, "HTTP/1.1");
  // Four transfers at a time over kept-alive connections: at most four connections for
  // 200 requests.
  const auto conns = by_connection(d.records);
  EXPECT_LE(conns.size(), 4u);
  EXPECT_GE(conns.size(), 1u);
}

}  // namespace
