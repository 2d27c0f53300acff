// The tracker driven through its seams: a fake transport and a manual clock, so retries,
// Retry-After pauses, outages and hour-long ages run deterministically and at once. The
// socket tests (tracker_test.cpp) prove the curl side.
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

#include "fake_transport.hpp"
#include "tracker/seams.hpp"

namespace {
using namespace std::chrono_literals;
using pixel::outcome;
using pixel::transport_error;
using pixel::test::fake_network;
using pixel::test::fake_request;
using pixel::test::fake_response;

constexpr auto k_long = 30s;

struct recorded {
  std::string id;
  outcome what;
  std::uint32_t attempts;
  long http_status;
  transport_error error;
  std::string message;
};

class outcomes {
 public:
  std::function<void(const pixel::event_result&)> callback() {
    return [this](const pixel::event_result& r) {
      std::lock_guard<std::mutex> lock(mutex_);
      all_.push_back({std::string(r.event_id), r.outcome, r.attempts, r.http_status,
                      r.transport_error, std::string(r.message)});
      cv_.notify_all();
    };
  }
  bool wait_for(std::size_t n) {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, k_long, [&] { return all_.size() >= n; });
  }
  std::vector<recorded> all() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return all_;
  }
  std::size_t size() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return all_.size();
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<recorded> all_;
};

// A tracker on the fake network and a manual clock. Jitter draws are always 0.999999, so
// every backoff is its ceiling.
struct rig {
  explicit rig(std::function<void(pixel::tracker_options&)> tune = {},
               fake_network::responder respond = {}) {
    net = std::make_shared<fake_network>(clock, std::move(respond));
    pixel::tracker_options o;
    o.endpoint = "https://pixel.example";
    o.on_result = log.callback();
    o.retry.base_delay = 100ms;
    o.retry.max_delay = 1600ms;
    o.shutdown_timeout = 0ms;
    if (tune) tune(o);
    pixel::detail::tracker_seams seams;
    seams.clock = &clock;
    auto shared = net;
    seams.make_transport =
        [shared](const pixel::tracker_options& opts, bool,
                 std::size_t cap) -> pixel::result<std::unique_ptr<pixel::detail::transport>> {
      return std::unique_ptr<pixel::detail::transport>(
          std::make_unique<pixel::test::fake_transport>(shared, opts.user_agent, cap));
    };
    seams.random = [] { return 0.999999; };
    auto t = pixel::detail::tracker_access::create(std::move(o), std::move(seams));
    EXPECT_TRUE(t.has_value()) << (t ? "" : t.error().message());
    if (t) tracker = std::make_unique<pixel::tracker>(std::move(*t));
  }
  ~rig() { tracker.reset(); }

  std::string track(const char* n = "1") {
    auto id = tracker->track({{"n", n}});
    EXPECT_TRUE(id.has_value());
    return id ? id->str() : std::string();
  }

  // Moves the clock and waits until the worker has acted on the new time.
  void advance(std::chrono::milliseconds by) {
    clock.advance(by);
    ASSERT_TRUE(net->settle());
  }

  pixel::detail::manual_clock clock;
  std::shared_ptr<fake_network> net;
  outcomes log;
  std::unique_ptr<pixel::tracker> tracker;
};

std::uint64_t total(const pixel::tracker_stats& s) {
  return s.queued + s.in_flight + s.delivered + s.failed + s.expired + s.dropped;
}

TEST(TrackerFake, DeliversAndReportsTheIdSent) {
  rig r;
  std::set<std::string> ids;
  for (int i = 0; i < 50; ++i) ids.insert(r.track());
  ASSERT_TRUE(r.tracker->flush(k_long));
  const auto reqs = r.net->requests();
  ASSERT_EQ(reqs.size(), 50u);
  std::set<std::string> sent;
  for (const auto& q : reqs) {
    sent.insert(q.event_id);
    EXPECT_NE(q.url.find("eid=" + q.event_id), std::string::npos) << q.url;
    EXPECT_EQ(q.user_agent, "pixel-cpp/" PIXEL_VERSION_STRING);
  }
  EXPECT_EQ(sent, ids);
  std::set<std::string> reported;
  for (const auto& o : r.log.all()) {
    EXPECT_EQ(o.what, outcome::delivered);
    EXPECT_EQ(o.error, transport_error::none);
    EXPECT_EQ(o.attempts, 1u);
    reported.insert(o.id);
  }
  EXPECT_EQ(reported, ids);
  const auto s = r.tracker->stats();
  EXPECT_EQ(s.delivered, 50u);
  EXPECT_EQ(total(s), 50u);
  EXPECT_LE(r.net->max_in_flight_seen(), 16u);
}

TEST(TrackerFake, RetriesFollowTheBackoffInTrackerTime) {
  rig r([](auto& o) { o.outage_threshold = 0; },
        [](const fake_request& q) {
          fake_response a;
          a.status = q.attempts <= 3 ? 503 : 200;
          return a;
        });
  r.track();
  ASSERT_TRUE(r.net->wait_requests(1));
  ASSERT_TRUE(r.net->settle());  // judged at this time, before the clock moves
  // Ceilings 100 ms, then 200 ms (draws at the top of the range).
  r.advance(99ms);
  EXPECT_EQ(r.net->request_count(), 1u);
  r.advance(1ms);
  ASSERT_TRUE(r.net->wait_requests(2));
  ASSERT_TRUE(r.net->settle());
  r.advance(199ms);
  EXPECT_EQ(r.net->request_count(), 2u);
  r.advance(1ms);
  ASSERT_TRUE(r.net->wait_requests(3));
  ASSERT_TRUE(r.net->settle());
  r.advance(399ms);
  EXPECT_EQ(r.net->request_count(), 3u);
  r.advance(1ms);
  ASSERT_TRUE(r.log.wait_for(1));
  const auto reqs = r.net->requests();
  ASSERT_EQ(reqs.size(), 4u);
  EXPECT_EQ(reqs[1].at.steady - reqs[0].at.steady, 100ms);
  EXPECT_EQ(reqs[2].at.steady - reqs[1].at.steady, 200ms);
  EXPECT_EQ(reqs[3].at.steady - reqs[2].at.steady, 400ms);
  const auto o = r.log.all()[0];
  EXPECT_EQ(o.what, outcome::delivered);
  EXPECT_EQ(o.attempts, 4u);
  EXPECT_EQ(r.tracker->stats().retried, 3u);
}

TEST(TrackerFake, MaxAttemptsEndsInFailedWithTheLastError) {
  rig r(
      [](auto& o) {
        o.outage_threshold = 0;
        o.retry.max_attempts = 3;
        o.retry.base_delay = 0ms;
      },
      [](const fake_request&) {
        fake_response a;
        a.error = transport_error::timeout;
        return a;
      });
  r.track();
  ASSERT_TRUE(r.log.wait_for(1));
  const auto o = r.log.all()[0];
  EXPECT_EQ(o.what, outcome::failed);
  EXPECT_EQ(o.attempts, 3u);
  EXPECT_EQ(o.error, transport_error::timeout);
  EXPECT_EQ(o.http_status, 0);
  EXPECT_EQ(o.message, "gave up after 3 attempts: timeout (fake)");
  const auto s = r.tracker->stats();
  EXPECT_EQ(s.failed, 1u);
  EXPECT_EQ(s.retried, 2u);
}

TEST(TrackerFake, RetryAfterPausesEveryEvent) {
  std::atomic<bool> limited{true};
  rig r([](auto& o) { o.max_in_flight = 1; },
        [&](const fake_request&) {
          fake_response a;
          if (limited.exchange(false)) {
            a.status = 429;
            a.retry_after = "30";
          }
          return a;
        });
  r.track("a");
  ASSERT_TRUE(r.net->wait_requests(1));
  ASSERT_TRUE(r.net->settle());
  r.track("b");
  r.advance(29'999ms);
  EXPECT_EQ(r.net->request_count(), 1u);  // the new event waits out the pause too
  r.advance(1ms);
  ASSERT_TRUE(r.log.wait_for(2));
  const auto reqs = r.net->requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[1].at.steady - reqs[0].at.steady, 30s);
  EXPECT_EQ(r.tracker->stats().delivered, 2u);
}

TEST(TrackerFake, RedirectIsFollowedOnTheSameHost) {
  rig r({}, [](const fake_request& q) {
    fake_response a;
    if (q.url.rfind("https://pixel.example/1x1.png", 0) == 0) {
      a.status = 301;
      a.location = "https://pixel.example:8443/moved.png?x=1";
    }
    return a;
  });
  r.track();
  ASSERT_TRUE(r.log.wait_for(1));
  const auto reqs = r.net->requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[1].url, "https://pixel.example:8443/moved.png?x=1");
  EXPECT_EQ(r.log.all()[0].what, outcome::delivered);
  EXPECT_EQ(r.log.all()[0].attempts, 2u);
}

TEST(TrackerFake, OutageProbesOneAtATimeAndReleasesEverything) {
  std::atomic<bool> down{true};
  rig r(
      [](auto& o) {
        o.outage_threshold = 2;
        o.probe_interval = 500ms;
        o.retry.max_attempts = 2;  // probes do not spend it
        o.retry.base_delay = 0ms;
      },
      [&](const fake_request&) {
        fake_response a;
        if (down.load()) a.error = transport_error::connect;
        return a;
      });
  for (int i = 0; i < 10; ++i) r.track();
  ASSERT_TRUE(r.net->wait_requests(2));
  ASSERT_TRUE(r.net->settle());
  // Down after two failures (the others were in flight with them or still wait).
  const std::size_t before = r.net->request_count();
  EXPECT_LE(before, 16u);
  for (std::size_t probe = 1; probe <= 20; ++probe) {
    r.advance(500ms);
    ASSERT_TRUE(r.net->wait_requests(before + probe));
    ASSERT_TRUE(r.net->settle());
    EXPECT_EQ(r.net->request_count(), before + probe);  // exactly one probe per interval
  }
  EXPECT_EQ(r.log.size(), 0u);  // nothing gave up: waiting costs no attempts
  down.store(false);
  r.advance(500ms);
  ASSERT_TRUE(r.log.wait_for(10));
  for (const auto& o : r.log.all()) EXPECT_EQ(o.what, outcome::delivered) << o.message;
  EXPECT_EQ(r.tracker->stats().delivered, 10u);
}

TEST(TrackerFake, AnHourLongOutageExpiresEventsExactlyAtMaxAge) {
  rig r(
      [](auto& o) {
        o.outage_threshold = 1;
        o.probe_interval = 60s;
        o.retry.max_age = 1h;
      },
      [](const fake_request&) {
        fake_response a;
        a.error = transport_error::dns;
        return a;
      });
  r.track("first");
  ASSERT_TRUE(r.net->wait_requests(1));
  ASSERT_TRUE(r.net->settle());
  r.advance(10min);
  r.track("later");  // tracked 10 minutes into the outage
  for (int i = 0; i < 4; ++i) r.advance(10min);
  r.advance(9min + 59s + 999ms);  // first: 1 ms short of an hour
  EXPECT_EQ(r.log.size(), 0u);
  r.advance(1ms);
  ASSERT_TRUE(r.log.wait_for(1));
  EXPECT_EQ(r.log.all()[0].what, outcome::expired);
  EXPECT_EQ(r.log.all()[0].message, "older than retry_policy::max_age");
  r.advance(9min + 59s + 999ms);
  EXPECT_EQ(r.log.size(), 1u);
  r.advance(1ms);
  ASSERT_TRUE(r.log.wait_for(2));
  EXPECT_EQ(r.log.all()[1].what, outcome::expired);
  const auto s = r.tracker->stats();
  EXPECT_EQ(s.expired, 2u);
  EXPECT_EQ(total(s), 2u);
}

TEST(TrackerFake, ShutdownDropsWhatIsInFlightAndWaiting) {
  rig r([](auto& o) { o.max_in_flight = 2; },
        [](const fake_request&) {
          fake_response a;
          a.hold = true;
          return a;
        });
  for (int i = 0; i < 5; ++i) r.track();
  ASSERT_TRUE(r.net->wait_requests(2));
  EXPECT_FALSE(r.tracker->shutdown(0ms));
  ASSERT_TRUE(r.log.wait_for(5));
  std::map<std::string, int> why;
  for (const auto& o : r.log.all()) {
    EXPECT_EQ(o.what, outcome::dropped);
    ++why[o.message];
  }
  EXPECT_EQ(why["aborted in flight at shutdown"], 2);
  EXPECT_EQ(why["left in the queue at shutdown"], 3);
  const auto s = r.tracker->stats();
  EXPECT_EQ(s.dropped, 5u);
  EXPECT_EQ(total(s), 5u);
  auto late = r.tracker->track({{"n", "x"}});
  ASSERT_FALSE(late.has_value());
  EXPECT_EQ(late.error().code(), pixel::errc::shut_down);
}

// Every outcome mixed, from several threads: one callback per event, and the ledger sum.
TEST(TrackerFake, EveryEventEndsOnceAndTheLedgerAddsUp) {
  rig r(
      [](auto& o) {
        o.queue_capacity = 64;
        o.overflow = pixel::overflow_policy::drop_oldest;
        o.retry.base_delay = 0ms;
        o.retry.max_attempts = 3;
        o.outage_threshold = 0;
      },
      [](const fake_request& q) {
        fake_response a;
        const auto h = std::hash<std::string>{}(q.event_id + std::to_string(q.attempts));
        switch (h % 5) {
          case 0:
            a.status = 404;
            break;
          case 1:
            a.status = 503;
            break;
          case 2:
            a.error = transport_error::reset;
            break;
          default:
            break;
        }
        return a;
      });
  constexpr int threads = 4, each = 500;
  std::vector<std::thread> producers;
  std::atomic<int> accepted{0}, refused{0};
  for (int t = 0; t < threads; ++t) {
    producers.emplace_back([&] {
      for (int i = 0; i < each; ++i) {
        if (r.tracker->track({{"n", "x"}})) {
          ++accepted;
        } else {
          ++refused;
        }
      }
    });
  }
  for (auto& p : producers) p.join();
  ASSERT_TRUE(r.tracker->flush(k_long));
  ASSERT_TRUE(r.log.wait_for(threads * each));
  std::map<std::string, int> per_id;
  for (const auto& o : r.log.all()) ++per_id[o.id];
  EXPECT_EQ(per_id.size(), std::size_t{threads * each});
  for (const auto& [id, n] : per_id) EXPECT_EQ(n, 1) << id;
  const auto s = r.tracker->stats();
  EXPECT_EQ(total(s), std::uint64_t{threads * each});
  EXPECT_EQ(s.queued + s.in_flight, 0u);
  EXPECT_GT(s.delivered, 0u);
  EXPECT_GT(s.failed, 0u);
}
}  // namespace
