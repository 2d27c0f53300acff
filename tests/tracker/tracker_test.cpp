// The tracker against real HTTP on loopback: servers from tests/support, faults included.
// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

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
  pixel::transport_error error;
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
                        r.transport_error, std::string(r.message), std::this_thread::get_id()});
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
  return s.queued + s.in_flight + s.delivered + s.failed + s.expired + s.dropped + s.suppressed;
}

// Every event has its outcome: nothing queued or in flight, and the sum is exact.
void expect_settled(const pixel::tracker_stats& s, std::uint64_t tracked) {
  EXPECT_EQ(s.queued, 0u);
  EXPECT_EQ(s.in_flight, 0u);
  EXPECT_EQ(total(s), tracked);
}

std::string eid_of(const pixel::test::recorded_request& r) {
  return r.param("eid");
}

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
    EXPECT_EQ(o.error, pixel::transport_error::none);
    EXPECT_EQ(ids.count(o.id), 1u);
  }
  EXPECT_TRUE(t.shutdown(5s));
}

TEST(Tracker, ReusesConnections) {
  http_server server;
  auto o = options_for(server.url());
  o.max_in_flight = 4;
  auto t = make(std::move(o));
  for (int i = 0; i < 400; ++i) ASSERT_TRUE(t.track({{"n", std::to_string(i)}}));
  ASSERT_TRUE(t.flush(k_long));
  std::set<int> connections;
  for (const auto& r : server.requests()) connections.insert(r.remote_port);
  EXPECT_EQ(server.request_count(), 400u);
  // Keep-alive: at most one connection per transfer slot (a few more if one was closed).
  EXPECT_LE(connections.size(), 8u);
}

TEST(Tracker, PerEventUserAgent) {
  http_server server;
  auto t = make(options_for(server.url()));
  ASSERT_TRUE(t.track({{"k", "v"}}, "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0"));
  ASSERT_TRUE(t.track({{"k", "w"}}));
  ASSERT_TRUE(t.flush(k_long));
  const auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 2u);
  std::map<std::string, std::string> ua;
  for (const auto& r : reqs) ua[r.param("k")] = r.user_agent;
  EXPECT_EQ(ua["v"], "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0");
  EXPECT_EQ(ua["w"], "pixel-cpp/" PIXEL_VERSION_STRING);
  EXPECT_EQ(t.track({{"k", "v"}}, "bad\r\nX-Injected: 1").code(), pixel::errc::invalid_argument);
}

TEST(Tracker, InvalidInputIsRefusedAndNotCounted) {
  http_server server;
  auto o = options_for(server.url());
  o.url.max_length = 100;
  auto t = make(std::move(o));
  EXPECT_EQ(t.track({{"", "v"}}).code(), pixel::errc::empty_key);
  EXPECT_EQ(t.track({{"k", "\xC3("}}).code(), pixel::errc::invalid_utf8);
  EXPECT_EQ(t.track({{"eid", "mine"}}).code(), pixel::errc::invalid_argument);
  EXPECT_EQ(t.track({{"k", std::string(200, 'x')}}).code(), pixel::errc::url_too_long);
  ASSERT_TRUE(t.track({{"k", "ok"}}));
  ASSERT_TRUE(t.flush(k_long));
  const auto s = t.stats();
  EXPECT_EQ(s.delivered, 1u);
  expect_settled(s, 1);
  EXPECT_EQ(server.request_count(), 1u);
}

TEST(Tracker, CreateValidatesOptions) {
  auto with = [](auto change) {
    pixel::tracker_options o;
    o.endpoint = "http://127.0.0.1:9/1x1.png";
    change(o);
    return pixel::tracker::create(std::move(o)).code();
  };
  using pixel::errc;
  using opts = pixel::tracker_options;
  EXPECT_EQ(with([](opts& o) { o.endpoint = "http://example.com"; }), errc::endpoint_insecure);
  EXPECT_EQ(with([](opts& o) { o.endpoint = "ftp://example.com"; }), errc::endpoint_scheme);
  EXPECT_EQ(with([](opts& o) { o.queue_capacity = 0; }), errc::invalid_argument);
  EXPECT_EQ(with([](opts& o) { o.max_in_flight = 0; }), errc::invalid_argument);
  EXPECT_EQ(with([](opts& o) { o.request_timeout = 0ms; }), errc::invalid_argument);
  EXPECT_EQ(with([](opts& o) { o.retry.max_attempts = 0; }), errc::invalid_argument);
  EXPECT_EQ(with([](opts& o) { o.probe_interval = 0ms; }), errc::invalid_argument);
  EXPECT_EQ(with([](opts& o) { o.ca_file = "/nonexistent/ca.pem"; }), errc::invalid_argument);
  EXPECT_EQ(with([](opts& o) { o.url.event_id_key = ""; }), errc::empty_key);
  EXPECT_EQ(with([](opts& o) { o.worker_threads = 0; }), errc::invalid_argument);
  EXPECT_EQ(with([](opts& o) { o.worker_threads = 65; }), errc::invalid_argument);
  EXPECT_EQ(with([](opts& o) { o.max_in_flight = 4, o.worker_threads = 5; }),
            errc::invalid_argument);
  EXPECT_EQ(with([](opts& o) { o.worker_threads = 64; }), errc::ok);
  EXPECT_EQ(with([](opts& o) { o.max_rate = -1; }), errc::invalid_argument);
  EXPECT_EQ(with([](opts& o) { o.max_rate = std::nan(""); }), errc::invalid_argument);
  EXPECT_EQ(with([](opts& o) { o.sample_rate = 0; }), errc::invalid_argument);
  EXPECT_EQ(with([](opts& o) { o.sample_rate = 1.5; }), errc::invalid_argument);
  EXPECT_EQ(with([](opts& o) { o.sample_rate = 0.5, o.sample_key = ""; }), errc::invalid_argument);
  EXPECT_EQ(with([](opts& o) { o.receipts_path = "/nonexistent/dir/receipts"; }),
            errc::invalid_argument);
  EXPECT_EQ(with([](opts&) {}), errc::ok);
}

// Sampled-out events are never sent nor reported, and counted; kept ones carry sr.
TEST(Tracker, SamplingKeepsTheSameUsersAndCountsTheRest) {
  http_server server;
  outcome_log log;
  auto o = options_for(server.url(), &log);
  o.sample_rate = 0.5;
  o.sample_salt = std::string("s\0lt", 4);  // bytes, a NUL included
  auto t = make(std::move(o));
  EXPECT_EQ(t.track({{"userid", "u"}, {"sr", "1"}}).code(), pixel::errc::invalid_argument);
  std::set<std::string> kept;
  for (int i = 0; i < 400; ++i) {
    const std::string user = "user-" + std::to_string(i);
    ASSERT_TRUE(t.track({{"userid", user}}));
    if (pixel::sample_keeps(0.5, std::string("s\0lt", 4), user)) kept.insert(user);
  }
  ASSERT_TRUE(t.track({{"page", "home"}}));  // no sample key: kept, without sr
  ASSERT_TRUE(t.flush(k_long));
  const auto s = t.stats();
  EXPECT_EQ(s.sampled_out, 400 - kept.size());
  EXPECT_EQ(s.delivered, kept.size() + 1);
  expect_settled(s, kept.size() + 1);
  EXPECT_EQ(log.all().size(), kept.size() + 1);
  std::set<std::string> got;
  for (const auto& r : server.requests()) {
    if (r.param("page") == "home") {
      EXPECT_EQ(r.param("sr"), "");
      continue;
    }
    EXPECT_EQ(r.param("sr"), "0.5");
    got.insert(r.param("userid"));
  }
  EXPECT_EQ(got, kept);
  EXPECT_GT(kept.size(), 150u);
  EXPECT_LT(kept.size(), 250u);
}

// One JSON line per settled event, whatever its outcome, rotated by size.
TEST(Tracker, ReceiptsOnePerEventAndRotated) {
  http_server server;
  server.script({response_step{404}});  // the first request fails for good
  const std::string dir = ::testing::TempDir() + "receipts-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/r.jsonl";
  auto o = options_for(server.url());
  o.receipts_path = path;
  o.receipts_max_bytes = 4096;  // ~40 receipts a file
  o.queue_capacity = 300;
  o.overflow = pixel::overflow_policy::drop_new;
  auto t = make(std::move(o));
  std::set<std::string> ids;
  for (int i = 0; i < 200; ++i) {
    auto id = t.track({{"n", std::to_string(i)}});
    ASSERT_TRUE(id);
    ids.insert(id->str());
  }
  ASSERT_TRUE(t.flush(k_long));
  ASSERT_TRUE(t.shutdown(5s));
  EXPECT_EQ(t.stats().receipts_unwritten, 0u);
  std::map<std::string, std::string> outcomes;
  std::size_t files = 0, bytes = 0;
  for (const auto& f : std::filesystem::directory_iterator(dir)) {
    ++files;
    std::ifstream in(f.path());
    std::string line;
    while (std::getline(in, line)) {
      bytes += line.size() + 1;
      // {"eid":"<26>","outcome":"...","status":N,"attempts":N,"at":S.mmm}
      ASSERT_EQ(line.rfind("{\"eid\":\"", 0), 0u) << line;
      const std::string eid = line.substr(8, 26);
      const auto o0 = line.find("\"outcome\":\"") + 11;
      outcomes[eid] = line.substr(o0, line.find('"', o0) - o0);
      EXPECT_NE(line.find("\"attempts\":1,\"at\":17"), std::string::npos) << line;
    }
  }
  EXPECT_EQ(outcomes.size(), 200u);
  for (const auto& id : ids) EXPECT_EQ(outcomes.count(id), 1u) << id;
  std::size_t failed = 0;
  for (const auto& [eid, what] : outcomes) failed += what == "failed";
  EXPECT_EQ(failed, 1u);
  EXPECT_GE(files, 4u);  // r.jsonl, r.jsonl.1, ...
  EXPECT_TRUE(std::filesystem::exists(path + ".1"));
  std::filesystem::remove_all(dir);
}

TEST(Tracker, RetriesAfter500ThenDelivers) {
  http_server server;
  server.script({500, 502});
  outcome_log log;
  auto t = make(options_for(server.url(), &log));
  auto id = t.track({{"k", "v"}});
  ASSERT_TRUE(id);
  ASSERT_TRUE(t.flush(k_long));
  const auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 3u);
  for (const auto& r : reqs) EXPECT_EQ(eid_of(r), id->str());
  ASSERT_TRUE(log.wait_for(1));
  const auto o = log.all().at(0);
  EXPECT_EQ(o.what, outcome::delivered);
  EXPECT_EQ(o.attempts, 3u);
  EXPECT_EQ(o.http_status, 200);
  const auto s = t.stats();
  EXPECT_EQ(s.delivered, 1u);
  EXPECT_EQ(s.retried, 2u);
  expect_settled(s, 1);
}

TEST(Tracker, RetryAfterSecondsHoldsTheWholeEndpoint) {
  http_server server;
  server.script({{503, "1"}});
  outcome_log log;
  auto o = options_for(server.url(), &log);
  o.max_in_flight = 1;
  auto t = make(std::move(o));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(t.track({{"n", std::to_string(i)}}));
  ASSERT_TRUE(t.flush(k_long));
  const auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 4u);
  // Nothing at all goes to the endpoint during the second it asked for.
  for (std::size_t i = 1; i < reqs.size(); ++i) {
    EXPECT_GE(reqs[i].received - reqs[0].received, 1000ms) << "request " << i;
  }
  EXPECT_EQ(reqs[1].param("n"), "0");  // the throttled event goes first
  EXPECT_EQ(log.count(outcome::delivered), 3u);
  expect_settled(t.stats(), 3);
}

TEST(Tracker, RetryAfterIsCapped) {
  http_server server;
  server.script({{429, "3600"}});
  outcome_log log;
  auto o = options_for(server.url(), &log);
  o.retry_after_cap = 200ms;
  auto t = make(std::move(o));
  ASSERT_TRUE(t.track({{"k", "v"}}));
  ASSERT_TRUE(t.flush(k_long));  // would take an hour without the cap
  const auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_GE(reqs[1].received - reqs[0].received, 200ms);
  ASSERT_TRUE(log.wait_for(1));
  EXPECT_EQ(log.all()[0].what, outcome::delivered);
  EXPECT_EQ(log.all()[0].attempts, 2u);
}

TEST(Tracker, ThrottledAndTimeoutStatusesAreRetried) {
  http_server server;
  server.script({429, 408, 504, 503});
  outcome_log log;
  auto t = make(options_for(server.url(), &log));
  ASSERT_TRUE(t.track({{"k", "v"}}));
  ASSERT_TRUE(t.flush(k_long));
  EXPECT_EQ(server.request_count(), 5u);
  ASSERT_TRUE(log.wait_for(1));
  EXPECT_EQ(log.all()[0].what, outcome::delivered);
  EXPECT_EQ(log.all()[0].attempts, 5u);
  EXPECT_EQ(t.stats().retried, 4u);
}

TEST(Tracker, ClientErrorIsFinal) {
  http_server server;
  server.script({404, 400});
  outcome_log log;
  auto t = make(options_for(server.url(), &log));
  ASSERT_TRUE(t.track({{"k", "a"}}));
  ASSERT_TRUE(t.flush(k_long));
  ASSERT_TRUE(t.track({{"k", "b"}}));
  ASSERT_TRUE(t.flush(k_long));
  EXPECT_EQ(server.request_count(), 2u);
  ASSERT_TRUE(log.wait_for(2));
  const auto all = log.all();
  EXPECT_EQ(all[0].what, outcome::failed);
  EXPECT_EQ(all[0].attempts, 1u);
  EXPECT_EQ(all[0].http_status, 404);
  EXPECT_NE(all[0].message.find("404"), std::string::npos);
  EXPECT_EQ(all[1].http_status, 400);
  const auto s = t.stats();
  EXPECT_EQ(s.failed, 2u);
  EXPECT_EQ(s.retried, 0u);
  expect_settled(s, 2);
}

TEST(Tracker, AttemptsAreBounded) {
  http_server server;
  server.set_default(500);
  outcome_log log;
  auto o = options_for(server.url(), &log);
  o.retry.max_attempts = 3;
  o.outage_threshold = 0;  // off: this test is about one event's budget
  auto t = make(std::move(o));
  ASSERT_TRUE(t.track({{"k", "v"}}));
  ASSERT_TRUE(t.flush(k_long));
  EXPECT_EQ(server.request_count(), 3u);
  ASSERT_TRUE(log.wait_for(1));
  EXPECT_EQ(log.all()[0].what, outcome::failed);
  EXPECT_EQ(log.all()[0].attempts, 3u);
  EXPECT_EQ(log.all()[0].http_status, 500);
  expect_settled(t.stats(), 1);
}

TEST(Tracker, RedirectElsewhereIsNotFollowed) {
  http_server server;
  http_server other;
  response_step to_http(301);
  to_http.location = other.url();  // http, not https: refused
  response_step to_other_host(308);
  to_other_host.location = "https://attacker.example/1x1.png";
  server.script({to_http, to_other_host});
  outcome_log log;
  auto t = make(options_for(server.url(), &log));
  ASSERT_TRUE(t.track({{"k", "a"}}));
  ASSERT_TRUE(t.flush(k_long));
  ASSERT_TRUE(t.track({{"k", "b"}}));
  ASSERT_TRUE(t.flush(k_long));
  EXPECT_EQ(server.request_count(), 2u);
  EXPECT_EQ(other.request_count(), 0u);
  ASSERT_TRUE(log.wait_for(2));
  for (const auto& o : log.all()) {
    EXPECT_EQ(o.what, outcome::failed);
    EXPECT_EQ(o.attempts, 1u);
    EXPECT_NE(o.message.find("not followed"), std::string::npos) << o.message;
  }
  EXPECT_EQ(log.all()[0].http_status, 301);
  EXPECT_EQ(log.all()[1].http_status, 308);
}

TEST(Tracker, ConnectionResetBeforeResponseIsRetried) {
  raw_server reset(raw_server::mode::reset);
  outcome_log log;
  auto o = options_for(reset.url(), &log);
  o.retry.max_attempts = 3;
  o.outage_threshold = 0;
  auto t = make(std::move(o));
  ASSERT_TRUE(t.track({{"k", "v"}}));
  ASSERT_TRUE(t.flush(k_long));
  ASSERT_TRUE(log.wait_for(1));
  const auto r = log.all()[0];
  EXPECT_EQ(r.what, outcome::failed);
  EXPECT_EQ(r.attempts, 3u);
  EXPECT_EQ(r.http_status, 0);
  // recv error, empty reply, or send error: where the reset lands
  EXPECT_TRUE(r.error == pixel::transport_error::receive ||
              r.error == pixel::transport_error::reset || r.error == pixel::transport_error::send)
      << pixel::transport_error_name(r.error);
  EXPECT_GE(reset.connections(), 3u);
  EXPECT_EQ(t.stats().retried, 2u);
}

TEST(Tracker, StalledResponseTimesOutAndIsRetried) {
  http_server server;
  response_step stall(200);
  stall.delay = 60s;
  server.script({stall});
  outcome_log log;
  auto o = options_for(server.url(), &log);
  o.request_timeout = 1s;
  auto t = make(std::move(o));
  ASSERT_TRUE(t.track({{"k", "v"}}));
  ASSERT_TRUE(t.flush(k_long));
  ASSERT_TRUE(log.wait_for(1));
  const auto r = log.all()[0];
  EXPECT_EQ(r.what, outcome::delivered);
  // Normally 2; a sanitizer build on a loaded machine may also time out an ordinary
  // request, which is retried the same way.
  EXPECT_GE(r.attempts, 2u);
  const auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), r.attempts);
  for (const auto& req : reqs) EXPECT_EQ(eid_of(req), r.id);
  // The stalled attempt was given up at the request timeout (which started a little before
  // the server saw the request), not earlier.
  EXPECT_GE(reqs[1].received - reqs[0].received, 800ms);
  server.release_stalls();
}

TEST(Tracker, RecoversSoonAfterRefusingEndpointComesUp) {
  refused_port port;
  outcome_log log;
  auto o = options_for(port.url(), &log);
  // A backoff this long would leave events waiting for minutes: only the outage probe can
  // bring delivery back quickly.
  o.retry.base_delay = 60s;
  o.retry.max_delay = 60s;
  o.outage_threshold = 3;
  o.probe_interval = 200ms;
  o.max_in_flight = 4;
  auto t = make(std::move(o));
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(t.track({{"n", std::to_string(i)}}));
  // Wait until the tracker is probing (attempts after the first come only from probes).
  const auto probing_deadline = steady::now() + k_long;
  while (t.stats().retried < 2 && steady::now() < probing_deadline) {
    std::this_thread::yield();
  }
  ASSERT_GE(t.stats().retried, 2u);
  EXPECT_EQ(t.stats().delivered, 0u);

  port.release();
  http_server server(port.port());
  const auto up = steady::now();
  ASSERT_TRUE(t.flush(k_long));
  const auto recovery = steady::now() - up;
  std::printf("[   info   ] recovered and delivered 50 events %lld ms after the endpoint came up\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(recovery).count()));
  EXPECT_LT(recovery, 5s) << "target is about 1 s (probe_interval 200 ms)";
  const auto s = t.stats();
  EXPECT_EQ(s.delivered, 50u);
  expect_settled(s, 50);
  std::set<std::string> eids;
  for (const auto& r : server.requests()) eids.insert(eid_of(r));
  EXPECT_EQ(eids.size(), 50u);
}

TEST(Tracker, DeadEndpointSeesFewRequestsWhateverTheBacklog) {
  raw_server dead(raw_server::mode::reset);
  outcome_log log;
  auto o = options_for(dead.url(), &log);
  o.queue_capacity = 10'000;
  auto t = make(std::move(o));  // defaults: threshold 5, probe every 500 ms, 16 in flight
  for (int i = 0; i < 10'000; ++i) ASSERT_TRUE(t.track({{"n", std::to_string(i)}}));
  // Watch the endpoint for three seconds: the wait is the measurement window (it is meant
  // to time out; the bound below is what is asserted).
  const auto window = 3s;
  EXPECT_FALSE(dead.wait_for_connections(200, window));
  const auto seen = dead.connections();
  std::printf("[   info   ] %zu connections to a dead endpoint in 3 s, backlog 10000\n", seen);
  // The first burst (16 in flight) trips the outage; then one probe per 500 ms. Without
  // outage handling this would be thousands.
  EXPECT_LE(seen, 16u + 5u + 10u + 10u) << "connections in " << window.count() << " s";
  EXPECT_GE(seen, 5u);
  EXPECT_FALSE(t.shutdown(500ms));
  const auto s = t.stats();
  EXPECT_EQ(s.dropped, 10'000u);
  expect_settled(s, 10'000);
  ASSERT_TRUE(log.wait_for(10'000));
  EXPECT_EQ(log.count(outcome::dropped), 10'000u);
}

// on_log lines, copied out of the callback; tests wait on them.
class line_log {
 public:
  std::function<void(std::string_view)> callback() {
    return [this](std::string_view line) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        lines_.emplace_back(line);
      }
      cv_.notify_all();
    };
  }
  bool wait_for(std::size_t n, std::chrono::milliseconds timeout = k_long) {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return lines_.size() >= n; });
  }
  std::vector<std::string> lines() {
    std::lock_guard<std::mutex> lock(mutex_);
    return lines_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
};

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

// An outage is said as it starts, with the reason, in on_log and in stats(), and its end
// too; stats() keeps the last failure's reason afterwards.
TEST(TrackerOutage, SaidAsItStartsAndEnds) {
  refused_port port;
  outcome_log log;
  line_log lines;
  auto o = options_for(port.url(), &log);
  o.outage_threshold = 3;
  o.probe_interval = 100ms;
  o.on_log = lines.callback();
  auto t = make(std::move(o));
  EXPECT_EQ(t.stats().endpoint_down_since, 0u);
  EXPECT_EQ(t.stats().last_failure, "");
  const std::int64_t before = unix_ms_now();
  ASSERT_TRUE(t.track({{"k", "v"}}));
  ASSERT_TRUE(lines.wait_for(1));
  const std::int64_t said = unix_ms_now();
  auto s = t.stats();
  const std::string reason = s.last_failure;
  // libcurl's words: "connect (Failed to connect to 127.0.0.1 port N after 0 ms: ...)".
  EXPECT_TRUE(starts_with(
      reason, "connect (Failed to connect to 127.0.0.1 port " + std::to_string(port.port()) + " "))
      << reason;
  EXPECT_TRUE(starts_with(lines.lines()[0], "endpoint unreachable: connect (Failed to connect"))
      << lines.lines()[0];
  EXPECT_NE(lines.lines()[0].find("one probe every 100 ms"), std::string::npos);
  EXPECT_GE(static_cast<std::int64_t>(s.endpoint_down_since), before);
  EXPECT_LE(static_cast<std::int64_t>(s.endpoint_down_since), said);
  EXPECT_EQ(s.delivered, 0u);

  port.release();
  http_server server(port.port());
  ASSERT_TRUE(t.flush(k_long));
  ASSERT_TRUE(lines.wait_for(2));
  EXPECT_TRUE(starts_with(lines.lines()[1], "endpoint reachable again after ")) << lines.lines()[1];
  EXPECT_EQ(lines.lines().size(), 2u);
  s = t.stats();
  EXPECT_EQ(s.endpoint_down_since, 0u);
  EXPECT_TRUE(starts_with(s.last_failure, "connect (")) << s.last_failure;
  EXPECT_EQ(s.delivered, 1u);
  EXPECT_EQ(server.request_count(), 1u);
  ASSERT_TRUE(log.wait_for(1));
  // Every request is an attempt: three before the outage, then the probes, the last of
  // which delivered it.
  const auto r = log.all()[0];
  EXPECT_EQ(r.what, outcome::delivered);
  EXPECT_GE(r.attempts, 4u);
  EXPECT_EQ(s.retried, r.attempts - 1u);
}

// The numbers, against a server that counts its connections (each attempt is one: it
// resets every connection after reading the request). Outside an outage max_attempts caps
// an event's attempts; in an outage the probes go on (until max_age here), and the result's
// attempts and stats().retried count every request the event made.
TEST(TrackerOutage, AttemptsCountEveryRequestProbesIncluded) {
  {
    raw_server dead(raw_server::mode::reset);
    outcome_log log;
    auto o = options_for(dead.url(), &log);
    o.retry.max_attempts = 3;
    o.outage_threshold = 0;  // no outage: the budget alone ends it
    auto t = make(std::move(o));
    ASSERT_TRUE(t.track({{"k", "v"}}));
    ASSERT_TRUE(log.wait_for(1));
    const auto r = log.all()[0];
    EXPECT_EQ(r.what, outcome::failed);
    EXPECT_EQ(r.attempts, 3u);
    EXPECT_EQ(dead.connections(), 3u);
    EXPECT_EQ(t.stats().retried, 2u);
    EXPECT_TRUE(starts_with(r.message, "gave up after 3 attempts: ")) << r.message;
  }
  raw_server dead(raw_server::mode::reset);
  outcome_log log;
  auto o = options_for(dead.url(), &log);
  o.retry.max_attempts = 3;
  o.outage_threshold = 2;
  o.probe_interval = 50ms;
  o.retry.max_age = 1500ms;
  auto t = make(std::move(o));
  ASSERT_TRUE(t.track({{"k", "v"}}));
  ASSERT_TRUE(log.wait_for(1));
  const auto r = log.all()[0];
  EXPECT_EQ(r.what, outcome::expired) << r.message;
  // Two attempts took the endpoint down, then a probe every 50 ms for about 1.4 s: far
  // more than max_attempts, each one a connection the server counted.
  EXPECT_GT(r.attempts, 3u + 5u);
  EXPECT_EQ(r.attempts, dead.connections());
  const auto s = t.stats();
  EXPECT_EQ(s.retried, r.attempts - 1u);
  EXPECT_NE(s.endpoint_down_since, 0u);  // no answer came: still down
  expect_settled(s, 1);
}

TEST(Tracker, FlushAndShutdownKeepTheirDeadlineAgainstBlackhole) {
  raw_server blackhole(raw_server::mode::blackhole);
  outcome_log log;
  auto o = options_for(blackhole.url(), &log);
  o.request_timeout = 60s;
  auto t = make(std::move(o));
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(t.track({{"n", std::to_string(i)}}));
  ASSERT_TRUE(blackhole.wait_for_connections(1, k_long));
  auto start = steady::now();
  EXPECT_FALSE(t.flush(300ms));
  auto took = steady::now() - start;
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 3s);

  start = steady::now();
  EXPECT_FALSE(t.shutdown(300ms));
  took = steady::now() - start;
  EXPECT_LT(took, 3s) << "shutdown must return by its deadline";
  const auto s = t.stats();
  EXPECT_EQ(s.dropped, 100u);
  expect_settled(s, 100);
  ASSERT_TRUE(log.wait_for(100));
  for (const auto& r : log.all()) {
    EXPECT_EQ(r.what, outcome::dropped);
    EXPECT_EQ(r.http_status, 0);
  }
  // Idempotent, and nothing more is accepted.
  EXPECT_FALSE(t.shutdown(1s));
  EXPECT_EQ(t.track({{"k", "v"}}).code(), pixel::errc::shut_down);
  EXPECT_TRUE(t.flush(1s));
}

TEST(Tracker, ShutdownDeadlineAgainstRefusingAndStallingEndpoints) {
  {
    refused_port port;
    auto o = options_for(port.url());
    auto t = make(std::move(o));
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(t.track({{"n", std::to_string(i)}}));
    const auto start = steady::now();
    EXPECT_FALSE(t.shutdown(300ms));
    EXPECT_LT(steady::now() - start, 3s);
    expect_settled(t.stats(), 100);
  }
  {
    http_server server;
    response_step stall(200);
    stall.delay = 60s;
    server.set_default(stall);
    auto t = make(options_for(server.url()));
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(t.track({{"n", std::to_string(i)}}));
    ASSERT_TRUE(server.wait_for_requests(1, k_long));
    const auto start = steady::now();
    EXPECT_FALSE(t.shutdown(300ms));
    EXPECT_LT(steady::now() - start, 3s);
    const auto s = t.stats();
    EXPECT_EQ(s.dropped, 100u);
    expect_settled(s, 100);
    server.release_stalls();
  }
}

TEST(Tracker, DestructorShutsDownWithConfiguredDeadline) {
  raw_server blackhole(raw_server::mode::blackhole);
  outcome_log log;
  auto o = options_for(blackhole.url(), &log);
  o.shutdown_timeout = 200ms;
  const auto start = steady::now();
  {
    auto t = make(std::move(o));
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(t.track({{"n", std::to_string(i)}}));
  }
  EXPECT_LT(steady::now() - start, 5s);
  ASSERT_TRUE(log.wait_for(10, 1s));
  EXPECT_EQ(log.count(outcome::dropped), 10u);
}

// Queue overflow: a blackhole keeps every accepted event outstanding, so counts are exact.
struct overflow_case {
  pixel::tracker_options options;
  outcome_log log;
};

TEST(Tracker, OverflowDropNew) {
  raw_server blackhole(raw_server::mode::blackhole);
  outcome_log log;
  auto o = options_for(blackhole.url(), &log);
  o.queue_capacity = 10;
  o.max_in_flight = 2;
  o.overflow = pixel::overflow_policy::drop_new;
  auto t = make(std::move(o));
  std::vector<std::string> accepted;
  int refused = 0;
  for (int i = 0; i < 15; ++i) {
    auto id = t.track({{"n", std::to_string(i)}});
    if (id) {
      accepted.push_back(id->str());
    } else {
      EXPECT_EQ(id.code(), pixel::errc::queue_full);
      ++refused;
    }
  }
  EXPECT_EQ(accepted.size(), 10u);
  EXPECT_EQ(refused, 5);
  // Refusals are reported at once, on the calling thread.
  const auto all = log.all();
  ASSERT_EQ(all.size(), 5u);
  for (const auto& r : all) {
    EXPECT_EQ(r.what, outcome::dropped);
    EXPECT_EQ(r.attempts, 0u);
    EXPECT_EQ(r.thread, std::this_thread::get_id());
    EXPECT_EQ(std::count(accepted.begin(), accepted.end(), r.id), 0);
  }
  auto s = t.stats();
  EXPECT_EQ(s.dropped, 5u);
  EXPECT_EQ(s.queued + s.in_flight, 10u);
  EXPECT_EQ(total(s), 15u);
  EXPECT_FALSE(t.shutdown(200ms));
  s = t.stats();
  EXPECT_EQ(s.dropped, 15u);
  expect_settled(s, 15);
}

TEST(Tracker, OverflowDropOldest) {
  raw_server blackhole(raw_server::mode::blackhole);
  outcome_log log;
  auto o = options_for(blackhole.url(), &log);
  o.queue_capacity = 10;
  o.max_in_flight = 1;
  o.overflow = pixel::overflow_policy::drop_oldest;
  auto t = make(std::move(o));
  std::vector<std::string> ids;
  for (int i = 0; i < 15; ++i) {
    auto id = t.track({{"n", std::to_string(i)}});
    ASSERT_TRUE(id) << "drop_oldest always accepts";
    ids.push_back(id->str());
  }
  const auto all = log.all();
  ASSERT_EQ(all.size(), 5u);
  // The evicted are the oldest waiting: among the first six (one may be in flight).
  std::set<std::string> first_six(ids.begin(), ids.begin() + 6);
  for (const auto& r : all) {
    EXPECT_EQ(r.what, outcome::dropped);
    EXPECT_EQ(first_six.count(r.id), 1u) << r.id;
    EXPECT_NE(r.message.find("drop_oldest"), std::string::npos);
  }
  auto s = t.stats();
  EXPECT_EQ(s.dropped, 5u);
  EXPECT_EQ(s.queued + s.in_flight, 10u);
  EXPECT_FALSE(t.shutdown(200ms));
  expect_settled(t.stats(), 15);
}

TEST(Tracker, OverflowBlockWaitsThenRefuses) {
  raw_server blackhole(raw_server::mode::blackhole);
  outcome_log log;
  auto o = options_for(blackhole.url(), &log);
  o.queue_capacity = 3;
  o.overflow = pixel::overflow_policy::block;
  o.block_timeout = 150ms;
  auto t = make(std::move(o));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(t.track({{"n", std::to_string(i)}}));
  const auto start = steady::now();
  EXPECT_EQ(t.track({{"n", "3"}}).code(), pixel::errc::queue_full);
  EXPECT_GE(steady::now() - start, 150ms);
  EXPECT_EQ(log.count(outcome::dropped), 1u);
  EXPECT_EQ(total(t.stats()), 4u);
  EXPECT_FALSE(t.shutdown(200ms));
  expect_settled(t.stats(), 4);
}

TEST(Tracker, OverflowBlockProceedsWhenRoomAppears) {
  http_server server;
  response_step stall(200);
  stall.delay = 60s;
  server.set_default(stall);
  outcome_log log;
  auto o = options_for(server.url(), &log);
  o.queue_capacity = 2;
  o.overflow = pixel::overflow_policy::block;
  o.block_timeout = k_long;
  auto t = make(std::move(o));
  ASSERT_TRUE(t.track({{"n", "0"}}));
  ASSERT_TRUE(t.track({{"n", "1"}}));
  std::thread releaser([&] {
    ASSERT_TRUE(server.wait_for_requests(2, k_long));
    server.set_default(200);
    server.release_stalls();
  });
  auto third = t.track({{"n", "2"}});  // blocks until the stalled two are answered
  releaser.join();
  ASSERT_TRUE(third) << third.error().message();
  ASSERT_TRUE(t.flush(k_long));
  EXPECT_EQ(t.stats().delivered, 3u);
  EXPECT_EQ(log.count(outcome::dropped), 0u);
}

TEST(Tracker, EventsExpireAfterMaxAge) {
  refused_port port;
  outcome_log log;
  auto o = options_for(port.url(), &log);
  o.retry.max_age = 300ms;
  o.probe_interval = 50ms;
  auto t = make(std::move(o));
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(t.track({{"n", std::to_string(i)}}));
  ASSERT_TRUE(t.flush(k_long));
  ASSERT_TRUE(log.wait_for(20));
  const auto s = t.stats();
  EXPECT_EQ(s.expired, 20u);
  expect_settled(s, 20);
  for (const auto& r : log.all()) EXPECT_EQ(r.what, outcome::expired);
}

TEST(Tracker, EightProducersNoLossNoDuplicate) {
  http_server server;
  outcome_log log;
  auto o = options_for(server.url(), &log);
  constexpr int k_threads = 8;
  constexpr int k_per_thread = 10'000;
  o.queue_capacity = k_threads * k_per_thread;
  o.request_timeout = 120s;  // a timed-out request that did arrive would be sent twice
  auto t = make(std::move(o));
  std::vector<std::vector<std::string>> ids(k_threads);
  std::vector<std::thread> producers;
  std::atomic<int> errors{0};
  for (int p = 0; p < k_threads; ++p) {
    producers.emplace_back([&, p] {
      ids[static_cast<std::size_t>(p)].reserve(k_per_thread);
      for (int i = 0; i < k_per_thread; ++i) {
        auto id = t.track({{"p", std::to_string(p)}, {"i", std::to_string(i)}});
        if (!id) {
          ++errors;
          continue;
        }
        ids[static_cast<std::size_t>(p)].push_back(id->str());
      }
    });
  }
  for (auto& th : producers) th.join();
  EXPECT_EQ(errors.load(), 0);
  ASSERT_TRUE(t.flush(std::chrono::minutes(4)));
  const auto s = t.stats();
  EXPECT_EQ(s.delivered, static_cast<std::uint64_t>(k_threads * k_per_thread));
  expect_settled(s, k_threads * k_per_thread);

  std::set<std::string> expected;
  for (const auto& v : ids) expected.insert(v.begin(), v.end());
  ASSERT_EQ(expected.size(), static_cast<std::size_t>(k_threads * k_per_thread));
  const auto reqs = server.requests();
  EXPECT_EQ(reqs.size(), expected.size()) << "no duplicate requests";
  std::set<std::string> got;
  for (const auto& r : reqs) got.insert(eid_of(r));
  EXPECT_EQ(got, expected);
  ASSERT_TRUE(log.wait_for(expected.size()));
  EXPECT_EQ(log.count(outcome::delivered), expected.size());
}

TEST(Tracker, CallbackMayTrack) {
  http_server server;
  std::atomic<int> calls{0};
  pixel::tracker* self = nullptr;
  auto o = options_for(server.url());
  o.on_result = [&](const pixel::event_result& r) {
    if (calls++ == 0 && r.outcome == outcome::delivered) {
      EXPECT_TRUE(self->track({{"from", "callback"}}));
    }
  };
  auto t = make(std::move(o));
  self = &t;
  ASSERT_TRUE(t.track({{"from", "main"}}));
  ASSERT_TRUE(server.wait_for_requests(2, k_long));
  ASSERT_TRUE(t.flush(k_long));
  EXPECT_EQ(t.stats().delivered, 2u);
}

TEST(Tracker, MovedTrackerKeepsWorking) {
  http_server server;
  auto a = make(options_for(server.url()));
  pixel::tracker b = std::move(a);
  ASSERT_TRUE(b.track({{"k", "v"}}));
  ASSERT_TRUE(b.flush(k_long));
  EXPECT_EQ(server.request_count(), 1u);
}

TEST(Tracker, ShutdownWhileProducersTrackAccountsForEveryEvent) {
  http_server server;
  outcome_log log;
  auto o = options_for(server.url(), &log);
  o.queue_capacity = 500;
  auto t = make(std::move(o));
  std::atomic<std::uint64_t> accepted{0}, full{0}, closed{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> producers;
  for (int p = 0; p < 4; ++p) {
    producers.emplace_back([&] {
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < 5'000; ++i) {
        auto id = t.track({{"i", std::to_string(i)}});
        if (id) {
          ++accepted;
        } else if (id.code() == pixel::errc::queue_full) {
          ++full;
        } else {
          EXPECT_EQ(id.code(), pixel::errc::shut_down);
          ++closed;
        }
      }
    });
  }
  std::thread flusher([&] {
    while (!go.load()) std::this_thread::yield();
    for (int i = 0; i < 20; ++i) (void)t.flush(5ms);
  });
  go = true;
  ASSERT_TRUE(server.wait_for_requests(100, k_long));
  (void)t.shutdown(200ms);
  for (auto& th : producers) th.join();
  flusher.join();
  const auto s = t.stats();
  EXPECT_EQ(accepted + full + closed, 20'000u);
  expect_settled(s, accepted + full);
  EXPECT_EQ(s.dropped + s.delivered + s.failed + s.expired, accepted + full);
  ASSERT_TRUE(log.wait_for(accepted + full));
  std::set<std::string> ids;
  for (const auto& r : log.all()) EXPECT_TRUE(ids.insert(r.id).second) << "two outcomes";
  EXPECT_EQ(ids.size(), accepted + full);
}

// ---- worker_threads > 1: transfers on several threads, one policy, one store ----------

TEST(TrackerWorkerThreads, DeliverEveryEventExactlyOnceAndReportOnOneThread) {
  http_server server;
  outcome_log log;
  auto o = options_for(server.url(), &log);
  constexpr int k_producers = 4;
  constexpr int k_each = 2'000;
  o.worker_threads = 4;
  o.queue_capacity = k_producers * k_each;
  o.request_timeout = 120s;  // a timed-out request that did arrive would be sent twice
  auto t = make(std::move(o));
  std::vector<std::vector<std::string>> ids(k_producers);
  std::vector<std::thread> producers;
  for (int p = 0; p < k_producers; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < k_each; ++i) {
        auto id = t.track({{"p", std::to_string(p)}, {"i", std::to_string(i)}});
        if (id) ids[static_cast<std::size_t>(p)].push_back(id->str());
      }
    });
  }
  for (auto& th : producers) th.join();
  ASSERT_TRUE(t.flush(std::chrono::minutes(4)));
  const auto s = t.stats();
  EXPECT_EQ(s.delivered, static_cast<std::uint64_t>(k_producers * k_each));
  EXPECT_EQ(s.retried, 0u);
  expect_settled(s, k_producers * k_each);

  std::set<std::string> expected;
  for (const auto& v : ids) expected.insert(v.begin(), v.end());
  ASSERT_EQ(expected.size(), static_cast<std::size_t>(k_producers * k_each));
  const auto reqs = server.requests();
  EXPECT_EQ(reqs.size(), expected.size()) << "no duplicate requests";
  std::set<std::string> got;
  std::set<int> ports;
  for (const auto& r : reqs) {
    got.insert(eid_of(r));
    ports.insert(r.remote_port);
  }
  EXPECT_EQ(got, expected);
  // Four multi handles, each with its own connections.
  EXPECT_GE(ports.size(), 4u);
  ASSERT_TRUE(log.wait_for(expected.size()));
  std::set<std::thread::id> threads;
  for (const auto& r : log.all()) {
    EXPECT_EQ(r.what, outcome::delivered);
    threads.insert(r.thread);
  }
  EXPECT_EQ(threads.size(), 1u) << "outcomes are reported on the worker thread only";
  EXPECT_TRUE(t.shutdown(5s));
}

TEST(TrackerWorkerThreads, RetryAfterHoldsEveryThread) {
  http_server server;
  // Both first transfers, one on each thread, are told to wait a second.
  server.script({{503, "1"}, {503, "1"}});
  outcome_log log;
  auto o = options_for(server.url(), &log);
  o.worker_threads = 2;
  o.min_in_flight = o.max_in_flight = 2;  // one transfer on each thread
  auto t = make(std::move(o));
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(t.track({{"n", std::to_string(i)}}));
  ASSERT_TRUE(t.flush(k_long));
  const auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 8u);
  // Neither thread sent anything during the second the 503s asked for.
  std::size_t early = 0;
  for (const auto& r : reqs) early += r.received - reqs[0].received < 1000ms ? 1u : 0u;
  EXPECT_EQ(early, 2u);
  EXPECT_EQ(log.count(outcome::delivered), 6u);
  expect_settled(t.stats(), 6);
}

TEST(TrackerWorkerThreads, ShutdownDeadlineAgainstBlackholeAccountsForEveryEvent) {
  raw_server blackhole(raw_server::mode::blackhole);
  outcome_log log;
  auto o = options_for(blackhole.url(), &log);
  o.request_timeout = 60s;
  o.worker_threads = 3;
  auto t = make(std::move(o));
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(t.track({{"n", std::to_string(i)}}));
  ASSERT_TRUE(blackhole.wait_for_connections(3, k_long));
  EXPECT_FALSE(t.flush(200ms));
  const auto start = steady::now();
  EXPECT_FALSE(t.shutdown(300ms));
  EXPECT_LT(steady::now() - start, 3s) << "shutdown must return by its deadline";
  const auto s = t.stats();
  EXPECT_EQ(s.dropped, 100u);
  expect_settled(s, 100);
  ASSERT_TRUE(log.wait_for(100));
  for (const auto& r : log.all()) EXPECT_EQ(r.what, outcome::dropped);
}

// ---- tracking modes (docs/privacy.md) ---------------------------------------------------

const std::string k_pseudonym_key = "0123456789abcdef-key";

pixel::event_options with_mode(std::optional<pixel::tracking_mode> mode, bool gpc = false) {
  pixel::event_options how;
  how.mode = mode;
  how.gpc = gpc;
  return how;
}

// The requests the server received, by the value of their `k` parameter.
std::map<std::string, pixel::test::recorded_request> by_k(const http_server& server) {
  std::map<std::string, pixel::test::recorded_request> out;
  for (const auto& r : server.requests()) out.emplace(r.param("k"), r);
  return out;
}

bool has_param(const pixel::test::recorded_request& r, const std::string& key) {
  for (const auto& p : r.params) {
    if (p.first == key) return true;
  }
  return false;
}

// What each mode sends, as the server receives it; off sends nothing and is reported once,
// from track(), as suppressed.
TEST(TrackerModes, EachModeSendsWhatItAllows) {
  http_server server;
  outcome_log log;
  auto o = options_for(server.url(), &log);
  o.pseudonym_key = k_pseudonym_key;
  auto t = make(std::move(o));
  using m = pixel::tracking_mode;
  const std::vector<std::pair<std::string, std::optional<m>>> events = {
      {"unset", std::nullopt},
      {"identified", m::identified},
      {"pseudonymous", m::pseudonymous},
      {"aggregate", m::aggregate},
      {"off", m::off}};
  std::map<std::string, std::string> ids;
  for (const auto& [k, mode] : events) {
    auto id =
        t.track({{"userid", "alice"}, {"email", "alice@example.com"}, {"page", "home"}, {"k", k}},
                with_mode(mode));
    ASSERT_TRUE(id) << id.error().message();
    ids[k] = id->str();
  }
  // Reported before track() returned, on this thread.
  ASSERT_EQ(log.count(outcome::suppressed), 1u);
  ASSERT_TRUE(t.flush(k_long));
  ASSERT_TRUE(log.wait_for(5));
  const auto reqs = by_k(server);
  ASSERT_EQ(reqs.size(), 4u);
  EXPECT_EQ(reqs.count("off"), 0u);
  for (const char* k : {"unset", "identified"}) {
    EXPECT_EQ(reqs.at(k).param("userid"), "alice") << k;
    EXPECT_EQ(reqs.at(k).param("email"), "alice@example.com") << k;
  }
  const auto& pseudo = reqs.at("pseudonymous");
  EXPECT_EQ(pseudo.param("userid"), pixel::pseudonym(k_pseudonym_key, "alice"));
  EXPECT_EQ(pseudo.param("email"), pixel::pseudonym(k_pseudonym_key, "alice@example.com"));
  EXPECT_EQ(pseudo.param("userid").size(), pixel::pseudonym_length);
  EXPECT_EQ(pseudo.query.find("alice"), std::string::npos);
  const auto& agg = reqs.at("aggregate");
  EXPECT_FALSE(has_param(agg, "userid"));
  EXPECT_FALSE(has_param(agg, "email"));
  EXPECT_EQ(agg.query.find("alice"), std::string::npos);
  for (const auto& [k, r] : reqs) {
    EXPECT_EQ(r.param("page"), "home") << k;
    EXPECT_EQ(r.param("eid"), ids[k]) << k;
  }
  const auto s = t.stats();
  EXPECT_EQ(s.suppressed, 1u);
  EXPECT_EQ(s.delivered, 4u);
  EXPECT_EQ(s.mode_lowered, 0u);
  expect_settled(s, 5);
  for (const auto& r : log.all()) {
    if (r.what != outcome::suppressed) continue;
    EXPECT_EQ(r.id, ids["off"]);
    EXPECT_EQ(r.attempts, 0u);
    EXPECT_EQ(r.http_status, 0);
    EXPECT_EQ(r.thread, std::this_thread::get_id());
  }
}

// The ceiling and GPC lower an event (counted), never refuse it; an event that names no
// mode takes the ceiling and is not counted.
TEST(TrackerModes, CeilingAndGpcLowerAndCount) {
  http_server server;
  outcome_log log;
  auto o = options_for(server.url(), &log);
  o.pseudonym_key = k_pseudonym_key;
  o.tracking_mode = pixel::tracking_mode::pseudonymous;
  o.identity_params = {"uid"};
  auto t = make(std::move(o));
  using m = pixel::tracking_mode;
  struct ev {
    std::string k;
    std::optional<m> mode;
    bool gpc;
  };
  const std::vector<ev> events = {
      {"asks-identified", m::identified, false}, {"unset", std::nullopt, false},
      {"asks-aggregate", m::aggregate, false},   {"gpc-unset", std::nullopt, true},
      {"gpc-identified", m::identified, true},   {"gpc-off", m::off, true}};
  for (const auto& e : events) {
    ASSERT_TRUE(
        t.track({{"uid", "bob"}, {"userid", "kept"}, {"k", e.k}}, with_mode(e.mode, e.gpc)));
  }
  ASSERT_TRUE(t.flush(k_long));
  const auto reqs = by_k(server);
  ASSERT_EQ(reqs.size(), 5u);
  const std::string token = pixel::pseudonym(k_pseudonym_key, "bob");
  EXPECT_EQ(reqs.at("asks-identified").param("uid"), token);
  EXPECT_EQ(reqs.at("unset").param("uid"), token);
  for (const char* k : {"asks-aggregate", "gpc-unset", "gpc-identified"}) {
    EXPECT_FALSE(has_param(reqs.at(k), "uid")) << k;
  }
  for (const auto& [k, r] : reqs) EXPECT_EQ(r.param("userid"), "kept") << k;  // not identity here
  const auto s = t.stats();
  EXPECT_EQ(s.mode_lowered, 3u);  // asks-identified, gpc-unset, gpc-identified
  EXPECT_EQ(s.suppressed, 1u);
  EXPECT_EQ(log.count(outcome::suppressed), 1u);
  expect_settled(s, 6);
}

// Sampling sees what the mode lets out: pseudonymous events are sampled on the token (one
// person, one decision), aggregate ones have no sample key and are all kept, without sr.
TEST(TrackerModes, SamplingDecidesOnWhatIsSent) {
  http_server server;
  auto o = options_for(server.url());
  o.pseudonym_key = k_pseudonym_key;
  o.sample_rate = 0.5;
  auto t = make(std::move(o));
  std::set<std::string> kept;
  for (int i = 0; i < 60; ++i) {
    const std::string user = "user-" + std::to_string(i);
    ASSERT_TRUE(
        t.track({{"userid", user}, {"k", "p"}}, with_mode(pixel::tracking_mode::pseudonymous)));
    const std::string token = pixel::pseudonym(k_pseudonym_key, user);
    if (pixel::sample_keeps(0.5, "", token)) kept.insert(token);
    ASSERT_TRUE(
        t.track({{"userid", user}, {"k", "a"}}, with_mode(pixel::tracking_mode::aggregate)));
  }
  ASSERT_TRUE(t.flush(k_long));
  std::set<std::string> got;
  std::size_t aggregate = 0;
  for (const auto& r : server.requests()) {
    if (r.param("k") == "a") {
      ++aggregate;
      EXPECT_FALSE(has_param(r, "userid"));
      EXPECT_FALSE(has_param(r, "sr"));
    } else {
      EXPECT_EQ(r.param("sr"), "0.5");
      got.insert(r.param("userid"));
    }
  }
  EXPECT_EQ(aggregate, 60u);
  EXPECT_EQ(got, kept);
  EXPECT_EQ(t.stats().sampled_out, 60 - kept.size());
}

// Bad configurations fail at create (the key never in the message); a pseudonymous event
// without a key is refused with nothing queued; off after shutdown is shut_down.
TEST(TrackerModes, BadConfigurationAndRefusals) {
  using errc = pixel::errc;
  auto with = [](auto change) {
    auto o = options_for("http://127.0.0.1:9");
    change(o);
    auto t = pixel::tracker::create(std::move(o));
    return t ? errc::ok : t.code();
  };
  using opts = pixel::tracker_options;
  {
    auto o = options_for("http://127.0.0.1:9");
    o.pseudonym_key = "short-secret";
    auto t = pixel::tracker::create(std::move(o));
    ASSERT_FALSE(t);
    EXPECT_EQ(t.code(), errc::invalid_argument);
    EXPECT_EQ(t.error().message().find("short-secret"), std::string::npos);
  }
  EXPECT_EQ(with([](opts& o) { o.tracking_mode = pixel::tracking_mode::pseudonymous; }),
            errc::invalid_argument);
  EXPECT_EQ(with([](opts& o) { o.gpc_mode = pixel::tracking_mode::pseudonymous; }),
            errc::invalid_argument);
  EXPECT_EQ(with([](opts& o) { o.identity_params = {"userid", ""}; }), errc::invalid_argument);
  EXPECT_EQ(with([](opts& o) { o.tracking_mode = static_cast<pixel::tracking_mode>(9); }),
            errc::invalid_argument);
  EXPECT_EQ(with([](opts& o) {
              o.tracking_mode = pixel::tracking_mode::pseudonymous;
              o.pseudonym_key = k_pseudonym_key;
            }),
            errc::ok);

  http_server server;
  outcome_log log;
  auto t = make(options_for(server.url(), &log));
  auto refused = t.track({{"userid", "carol"}}, with_mode(pixel::tracking_mode::pseudonymous));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.code(), errc::invalid_argument);
  EXPECT_EQ(t.track({{"userid", "carol"}}, with_mode(static_cast<pixel::tracking_mode>(7))).code(),
            errc::invalid_argument);
  ASSERT_TRUE(t.track({{"userid", "carol"}}));
  ASSERT_TRUE(t.flush(k_long));
  EXPECT_EQ(server.requests().size(), 1u);
  expect_settled(t.stats(), 1);
  EXPECT_EQ(t.stats().mode_lowered, 0u);
  ASSERT_TRUE(t.shutdown(k_long));
  EXPECT_EQ(t.track({{"userid", "carol"}}, with_mode(pixel::tracking_mode::off)).code(),
            errc::shut_down);
  EXPECT_EQ(t.stats().suppressed, 0u);
  EXPECT_EQ(log.count(outcome::suppressed), 0u);
}

}  // namespace
