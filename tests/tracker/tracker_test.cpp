// The tracker against real HTTP on loopback: servers from tests/support, faults included.
// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "pixel/tracker.hpp"
#include "test_server.hpp"

namespace {
using namespace std::chrono_literals;
using pixel::outcome;
using pixel::test::http_server;
using pixel::test::raw_server;
using pixel::test::refused_port;
using pixel::test::response_step;
using steady = std::chrono::steady_clock;

// Generous: CI runs these under sanitizers on 2 busy cores.
constexpr auto k_long = 60s;

struct recorded_outcome {
  std::string id;
  outcome what;
  std::uint32_t attempts;
  long http_status;
  int curl_code;
  std::string message;
  std::thread::id thread;
};

// Collects on_result calls; tests wait on it instead of sleeping.
class outcome_log {
 public:
  std::function<void(const pixel::event_result&)> callback() {
    return [this](const pixel::event_result& r) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        all_.push_back({std::string(r.event_id), r.outcome, r.attempts, r.http_status,
                        r.curl_code, std::string(r.message), std::this_thread::get_id()});
      }
      cv_.notify_all();
    };
  }
  bool wait_for(std::size_t n, std::chrono::milliseconds timeout = k_long) {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return all_.size() >= n; });
  }
  std::vector<recorded_outcome> all() {
    std::lock_guard<std::mutex> lock(mutex_);
    return all_;
  }
  std::size_t count(outcome o) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::size_t n = 0;
    for (const auto& r : all_) n += r.what == o ? 1 : 0;
    return n;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<recorded_outcome> all_;
};

pixel::tracker_options options_for(const std::string& url, outcome_log* log = nullptr) {
  pixel::tracker_options o;
  o.endpoint = url;
  o.retry.base_delay = 20ms;
  o.retry.max_delay = 200ms;
  o.connect_timeout = 5s;
  o.request_timeout = 10s;
  if (log != nullptr) o.on_result = log->callback();
  return o;
}

pixel::tracker make(pixel::tracker_options o) {
  auto t = pixel::tracker::create(std::move(o));
  EXPECT_TRUE(t.has_value()) << (t ? "" : t.error().message());
  return std::move(*t);
}

std::uint64_t total(const pixel::tracker_stats& s) {
  return s.queued + s.in_flight + s.delivered + s.failed + s.expired + s.dropped;
}

// Every event has its outcome: nothing queued or in flight, and the sum is exact.
void expect_settled(const pixel::tracker_stats& s, std::uint64_t tracked) {
  EXPECT_EQ(s.queued, 0u);
  EXPECT_EQ(s.in_flight, 0u);
  EXPECT_EQ(total(s), tracked);
}

std::string eid_of(const pixel::test::recorded_request& r) { return r.param("eid"); }

TEST(Tracker, DeliversEveryEventExactlyOnce) {
  http_server server;
  outcome_log log;
  auto t = make(options_for(server.url(), &log));
  std::set<std::string> ids;
  for (int i = 0; i < 200; ++i) {
    const std::string n = std::to_string(i);
    auto id = t.track({{"userid", "user " + n}, {"thirdpartyname", "example.com"}});
    ASSERT_TRUE(id.has_value()) << id.error().message();
    ids.insert(id->str());
  }
  ASSERT_EQ(ids.size(), 200u);
  ASSERT_TRUE(t.flush(k_long));
  const auto s = t.stats();
  EXPECT_EQ(s.delivered, 200u);
  EXPECT_EQ(s.retried, 0u);
  expect_settled(s, 200);

  const auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 200u);
  std::set<std::string> seen;
  for (const auto& r : reqs) {
    EXPECT_EQ(r.method, "GET");
    EXPECT_EQ(r.path, "/1x1.png");
    EXPECT_TRUE(seen.insert(eid_of(r)).second) << "duplicate " << eid_of(r);
    EXPECT_EQ(r.param("thirdpartyname"), "example.com");
    EXPECT_EQ(r.param("userid").rfind("user ", 0), 0u);
    EXPECT_FALSE(r.param("ts").empty());
    EXPECT_EQ(r.user_agent, "pixel-cpp/" PIXEL_VERSION_STRING);
  }
  EXPECT_EQ(seen, ids);

  ASSERT_TRUE(log.wait_for(200));
  for (const auto& o : log.all()) {
    EXPECT_EQ(o.what, outcome::delivered);
    EXPECT_EQ(o.attempts, 1u);
    EXPECT_EQ(o.http_status, 200);
    EXPECT_EQ(o.curl_code, 0);
    EXPECT_EQ(ids.count(o.id), 1u);
  }
  EXPECT_TRUE(t.shutdown(5s));
}
}  // namespace
