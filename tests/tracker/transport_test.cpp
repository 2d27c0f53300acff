// The transports on their own, against the in-process server: the curl transport (libcurl's
// socket interface over epoll) and the parallel one (lanes of curl transports on threads
// of their own). Each started event comes back exactly once, with the server's answer;
// wake() from another thread ends a poll that would otherwise wait a minute.
// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "test_server.hpp"
#include "tracker/transport/curl_transport.hpp"
#include "tracker/transport/parallel_transport.hpp"

namespace {

using namespace std::chrono_literals;
using pixel::detail::completion;
using pixel::detail::stored_event;
using pixel::detail::transport;
using pixel_test::http_server;

pixel::tracker_options options_for(const std::string& endpoint) {
  pixel::tracker_options o;
  o.endpoint = endpoint;
  o.min_in_flight = 4;
  return o;
}

std::unique_ptr<transport> curl(const pixel::tracker_options& o, std::size_t capacity) {
  auto t = pixel::detail::make_curl_transport(o, false, capacity);
  EXPECT_TRUE(t.has_value()) << t.error().message();
  return t ? std::move(*t) : nullptr;
}

std::unique_ptr<transport> parallel(const pixel::tracker_options& o, std::size_t lanes,
                                    std::size_t capacity) {
  auto t =
      pixel::detail::make_parallel_transport(lanes, capacity, [&](std::size_t, std::size_t share) {
        return pixel::detail::make_curl_transport(o, false, share);
      });
  EXPECT_TRUE(t.has_value()) << t.error().message();
  return t ? std::move(*t) : nullptr;
}

stored_event event_for(const std::string& url, int n) {
  stored_event e;
  e.url = url + "?n=" + std::to_string(n);
  e.seq = static_cast<std::uint64_t>(n);
  return e;
}

// `total` events through `t`, at most its capacity at once: each comes back once, a 200,
// and the server saw each once.
void deliver_all(transport& t, const http_server& server, int total) {
  std::map<std::uint64_t, int> back;
  std::vector<completion> out;
  int started = 0;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (back.size() < static_cast<std::size_t>(total) &&
         std::chrono::steady_clock::now() < deadline) {
    while (started < total && t.in_flight() < t.capacity()) {
      t.start(event_for(server.url(), started++));
    }
    out.clear();
    t.poll(1s, out);
    for (const auto& c : out) {
      EXPECT_EQ(c.result.error, pixel::transport_error::none) << c.result.error_text;
      EXPECT_EQ(c.result.status, 200);
      EXPECT_GT(c.result.latency.count(), 0);
      ++back[c.event.seq];
    }
  }
  ASSERT_EQ(back.size(), static_cast<std::size_t>(total));
  for (const auto& [seq, count] : back) EXPECT_EQ(count, 1) << seq;
  EXPECT_EQ(t.in_flight(), 0u);
  std::set<std::string> seen;
  for (const auto& r : server.requests()) EXPECT_TRUE(seen.insert(r.param("n")).second);
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(total));
}

// A poll of a minute with nothing in flight ends when another thread calls wake().
void wake_ends_poll(transport& t) {
  std::vector<completion> out;
  const auto t0 = std::chrono::steady_clock::now();
  std::thread waker([&] { t.wake(); });
  t.poll(60s, out);  // a wake() before the poll began counts too
  waker.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 30s);
  EXPECT_TRUE(out.empty());
}

TEST(CurlTransport, DeliversEachStartedEventOnce) {
  http_server server;
  auto t = curl(options_for(server.url()), 8);
  ASSERT_TRUE(t);
  deliver_all(*t, server, 500);
}

TEST(CurlTransport, WakeEndsAPollFromAnotherThread) {
  http_server server;
  auto t = curl(options_for(server.url()), 4);
  ASSERT_TRUE(t);
  wake_ends_poll(*t);
  // And it still delivers afterwards: the wake-up left nothing behind.
  deliver_all(*t, server, 10);
}

// A worker that producers wake again and again polls with a timeout of 0: the transfers
// must still move.
TEST(CurlTransport, ZeroTimeoutPollsStillRunTheTransfers) {
  http_server server;
  auto t = curl(options_for(server.url()), 8);
  ASSERT_TRUE(t);
  for (int i = 0; i < 8; ++i) t->start(event_for(server.url(), i));
  std::vector<completion> out;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (out.size() < 8 && std::chrono::steady_clock::now() < deadline) t->poll(0ms, out);
  ASSERT_EQ(out.size(), 8u);
  for (const auto& c : out) EXPECT_EQ(c.result.status, 200);
}

TEST(CurlTransport, AbortHandsEveryRunningEventBack) {
  http_server server;
  pixel_test::response_step stall(200);
  stall.delay = 60s;
  server.set_default(stall);
  auto t = curl(options_for(server.url()), 8);
  ASSERT_TRUE(t);
  for (int i = 0; i < 8; ++i) t->start(event_for(server.url(), i));
  // The curl transport moves bytes only inside poll().
  std::vector<completion> done;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (server.request_count() < 8 && std::chrono::steady_clock::now() < deadline) {
    t->poll(10ms, done);
  }
  ASSERT_EQ(server.request_count(), 8u);
  EXPECT_TRUE(done.empty());
  std::vector<stored_event> back;
  t->abort_all(back);
  std::set<std::uint64_t> seqs;
  for (const auto& e : back) seqs.insert(e.seq);
  EXPECT_EQ(seqs.size(), 8u);
  EXPECT_EQ(back.size(), 8u);
  EXPECT_EQ(t->in_flight(), 0u);
  server.release_stalls();
}

TEST(ParallelTransport, DeliversEachStartedEventOnce) {
  http_server server;
  auto t = parallel(options_for(server.url()), 3, 8);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->capacity(), 8u);
  deliver_all(*t, server, 500);
}

TEST(ParallelTransport, WakeEndsAPollFromAnotherThread) {
  http_server server;
  auto t = parallel(options_for(server.url()), 2, 4);
  ASSERT_TRUE(t);
  wake_ends_poll(*t);
  deliver_all(*t, server, 10);
}

TEST(ParallelTransport, AbortHandsBackStartedHandedOverAndFinishedEvents) {
  http_server server;
  pixel_test::response_step stall(200);
  stall.delay = 60s;
  server.script({200, 200});  // two finish; the others stall
  server.set_default(stall);
  auto t = parallel(options_for(server.url()), 2, 16);
  ASSERT_TRUE(t);
  for (int i = 0; i < 16; ++i) t->start(event_for(server.url(), i));
  ASSERT_TRUE(server.wait_for_requests(16, 30s));
  // Some may have come back already: those are not handed back twice.
  std::vector<completion> done;
  t->poll(0ms, done);
  std::vector<stored_event> back;
  t->abort_all(back);
  std::set<std::uint64_t> seqs;
  for (const auto& c : done) seqs.insert(c.event.seq);
  for (const auto& e : back) seqs.insert(e.seq);
  EXPECT_EQ(done.size() + back.size(), 16u);
  EXPECT_EQ(seqs.size(), 16u);
  EXPECT_EQ(t->in_flight(), 0u);
  server.release_stalls();
}

TEST(ParallelTransport, RefusesMoreLanesThanCapacity) {
  const auto o = options_for("http://127.0.0.1:9/1x1.png");
  auto t = pixel::detail::make_parallel_transport(5, 4, [&](std::size_t, std::size_t share) {
    return pixel::detail::make_curl_transport(o, false, share);
  });
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().code(), pixel::errc::invalid_argument);
}

TEST(ParallelTransport, LaneSharesAddUpAndNoneIsZero) {
  using pixel::detail::lane_share;
  EXPECT_EQ(lane_share(1024, 3, 0), 342u);
  EXPECT_EQ(lane_share(1024, 3, 1), 341u);
  EXPECT_EQ(lane_share(1024, 3, 2), 341u);
  EXPECT_EQ(lane_share(16, 3, 0), 6u);
  EXPECT_EQ(lane_share(16, 3, 2), 5u);
  EXPECT_EQ(lane_share(2, 4, 3), 1u);  // fewer than the lanes: each still runs one
  for (std::size_t total = 1; total <= 64; ++total) {
    for (std::size_t lanes = 1; lanes <= total; ++lanes) {
      std::size_t sum = 0;
      for (std::size_t i = 0; i < lanes; ++i) sum += lane_share(total, lanes, i);
      EXPECT_EQ(sum, total) << total << " over " << lanes;
    }
  }
}

}  // namespace
