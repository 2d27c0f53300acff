// The C API (libpixel.so) through its header, against loopback servers.
// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <algorithm>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "c_api_smoke.h"
#include "pixel/pixel.h"
#include "test_server.hpp"

namespace {

using namespace std::chrono_literals;

std::string build(const char* endpoint, const std::vector<pixel_param>& params, unsigned flags,
                  pixel_status* status = nullptr) {
  char buf[9000];
  std::size_t len = 0;
  const pixel_status st =
      pixel_url_build(endpoint, params.data(), params.size(), flags, buf, sizeof buf, &len);
  if (status != nullptr) *status = st;
  return st == PIXEL_OK ? std::string(buf, len) : std::string();
}

TEST(CApiStatus, ValuesAndTextMatchTheContract) {
  EXPECT_EQ(PIXEL_OK, 0);
  EXPECT_EQ(PIXEL_ERR_INVALID_ARGUMENT, 1);
  EXPECT_EQ(PIXEL_ERR_INVALID_ENDPOINT, 2);
  EXPECT_EQ(PIXEL_ERR_INVALID_UTF8, 3);
  EXPECT_EQ(PIXEL_ERR_EMPTY_KEY, 4);
  EXPECT_EQ(PIXEL_ERR_URL_TOO_LONG, 5);
  EXPECT_EQ(PIXEL_ERR_BUFFER_TOO_SMALL, 6);
  EXPECT_EQ(PIXEL_ERR_QUEUE_FULL, 7);
  EXPECT_EQ(PIXEL_ERR_SHUT_DOWN, 8);
  EXPECT_EQ(PIXEL_ERR_TIMEOUT, 9);
  EXPECT_EQ(PIXEL_ERR_INTERNAL, 10);
  EXPECT_EQ(offsetof(pixel_stats, queued), sizeof(size_t));  // size first
  EXPECT_EQ(offsetof(pixel_param, value), sizeof(const char*));
  std::set<std::string> texts;
  for (int s = 0; s <= 10; ++s) texts.insert(pixel_status_str(static_cast<pixel_status>(s)));
  EXPECT_EQ(texts.size(), 11u);
  EXPECT_STREQ(pixel_status_str(PIXEL_ERR_QUEUE_FULL), "queue full");
  EXPECT_STREQ(pixel_version(), PIXEL_VERSION_STRING_FOR_TEST);
}

TEST(CApiUrl, BuildsInOrderWithEncoding) {
  const std::string url =
      build("https://D111111abcdef8.cloudfront.net", {{"userid", "a b+c"}, {"k", "é&="}}, 0);
  EXPECT_EQ(url, "https://d111111abcdef8.cloudfront.net/1x1.png?userid=a%20b%2Bc&k=%C3%A9%26%3D");
}

TEST(CApiUrl, FlagsAddEventIdAndTimestamp) {
  const std::string both =
      build("https://x.example", {{"u", "1"}}, PIXEL_URL_EVENT_ID | PIXEL_URL_TIMESTAMP);
  ASSERT_EQ(both.rfind("https://x.example/1x1.png?u=1&eid=", 0), 0u) << both;
  const auto eid = both.find("&eid=");
  const auto ts = both.find("&ts=");
  ASSERT_NE(ts, std::string::npos);
  EXPECT_EQ(ts - eid - 5, 26u);  // a 26-character event id
  const std::string id_only = build("https://x.example", {{"u", "1"}}, PIXEL_URL_EVENT_ID);
  EXPECT_NE(id_only.find("&eid="), std::string::npos);
  EXPECT_EQ(id_only.find("&ts="), std::string::npos);
  const std::string ts_only = build("https://x.example", {}, PIXEL_URL_TIMESTAMP);
  EXPECT_EQ(ts_only.rfind("https://x.example/1x1.png?ts=", 0), 0u);
  EXPECT_EQ(build("https://x.example", {}, 0), "https://x.example/1x1.png");
}

TEST(CApiUrl, BufferProtocolIsSnprintfLike) {
  const pixel_param p[] = {{"k", "v"}};
  const std::string expected = "https://x.example/1x1.png?k=v";
  std::size_t len = 12345;
  EXPECT_EQ(pixel_url_build("https://x.example", p, 1, 0, nullptr, 0, &len),
            PIXEL_ERR_BUFFER_TOO_SMALL);
  EXPECT_EQ(len, expected.size());
  // Exactly the length is one byte short (no room for the NUL).
  std::vector<char> buf(expected.size(), 'X');
  EXPECT_EQ(pixel_url_build("https://x.example", p, 1, 0, buf.data(), buf.size(), &len),
            PIXEL_ERR_BUFFER_TOO_SMALL);
  EXPECT_EQ(len, expected.size());
  EXPECT_EQ(buf[0], '\0');
  buf.assign(expected.size() + 1, 'X');
  EXPECT_EQ(pixel_url_build("https://x.example", p, 1, 0, buf.data(), buf.size(), &len), PIXEL_OK);
  EXPECT_EQ(len, expected.size());
  EXPECT_EQ(std::string(buf.data()), expected);
  // out_len is optional.
  EXPECT_EQ(pixel_url_build("https://x.example", p, 1, 0, buf.data(), buf.size(), nullptr),
            PIXEL_OK);
  // buf NULL with a size is refused.
  EXPECT_EQ(pixel_url_build("https://x.example", p, 1, 0, nullptr, 10, &len),
            PIXEL_ERR_INVALID_ARGUMENT);
}

TEST(CApiUrl, BadInputGivesTypedErrorsAndMessages) {
  pixel_status st;
  build("https://x.example", {{"k", "\xC3\x28"}}, 0, &st);
  EXPECT_EQ(st, PIXEL_ERR_INVALID_UTF8);
  EXPECT_NE(std::string(pixel_last_error()).find("'k'"), std::string::npos) << pixel_last_error();
  build("https://x.example", {{"", "v"}}, 0, &st);
  EXPECT_EQ(st, PIXEL_ERR_EMPTY_KEY);
  build("http://example.com", {}, 0, &st);
  EXPECT_EQ(st, PIXEL_ERR_INVALID_ENDPOINT);
  build("https://x.example?q=1", {}, 0, &st);
  EXPECT_EQ(st, PIXEL_ERR_INVALID_ENDPOINT);
  build("not a url", {}, 0, &st);
  EXPECT_EQ(st, PIXEL_ERR_INVALID_ENDPOINT);
  const std::string big(9000, 'a');
  build("https://x.example", {{"k", big.c_str()}}, 0, &st);
  EXPECT_EQ(st, PIXEL_ERR_URL_TOO_LONG);
  build("https://x.example", {{"eid", "mine"}}, PIXEL_URL_EVENT_ID, &st);
  EXPECT_EQ(st, PIXEL_ERR_INVALID_ARGUMENT);
  build("https://x.example", {{"k", "v"}}, 8u, &st);
  EXPECT_EQ(st, PIXEL_ERR_INVALID_ARGUMENT);
  build("https://x.example", {{"k", nullptr}}, 0, &st);
  EXPECT_EQ(st, PIXEL_ERR_INVALID_ARGUMENT);
  build("https://x.example", {{nullptr, "v"}}, 0, &st);
  EXPECT_EQ(st, PIXEL_ERR_INVALID_ARGUMENT);
  char buf[64];
  EXPECT_EQ(pixel_url_build("https://x.example", nullptr, 2, 0, buf, sizeof buf, nullptr),
            PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(pixel_url_build("https://x.example", nullptr, 0, 0, buf, sizeof buf, nullptr),
            PIXEL_OK);
  EXPECT_STREQ(pixel_last_error(), "");
}

TEST(CApiUrl, LastErrorIsPerThread) {
  pixel_status st;
  build("https://x.example", {{"", "v"}}, 0, &st);
  ASSERT_EQ(st, PIXEL_ERR_EMPTY_KEY);
  const std::string mine = pixel_last_error();
  std::string theirs = "unset";
  std::thread([&] { theirs = pixel_last_error(); }).join();
  EXPECT_EQ(theirs, "");
  EXPECT_EQ(std::string(pixel_last_error()), mine);
}

TEST(CApiImg, EmailAndPageTags) {
  char buf[1024];
  std::size_t len = 0;
  ASSERT_EQ(pixel_img_tag("https://x.example/1x1.png?a=1&b=\"2\"", PIXEL_IMG_EMAIL, buf, sizeof buf,
                          &len),
            PIXEL_OK);
  EXPECT_EQ(std::string(buf, len),
            "<img src=\"https://x.example/1x1.png?a=1&amp;b=&quot;2&quot;\" width=\"1\" "
            "height=\"1\" alt=\"\" border=\"0\" "
            "style=\"width:1px;height:1px;border:0;margin:0;padding:0;\">");
  ASSERT_EQ(pixel_img_tag("https://x.example/1x1.png", PIXEL_IMG_PAGE, buf, sizeof buf, &len),
            PIXEL_OK);
  EXPECT_NE(std::string(buf).find("aria-hidden=\"true\" referrerpolicy=\"no-referrer\""),
            std::string::npos);
  EXPECT_EQ(pixel_img_tag(nullptr, PIXEL_IMG_EMAIL, buf, sizeof buf, &len),
            PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(pixel_img_tag("https://x.example/\xFF", PIXEL_IMG_EMAIL, buf, sizeof buf, &len),
            PIXEL_ERR_INVALID_UTF8);
  EXPECT_EQ(pixel_img_tag("https://x.example/1x1.png", PIXEL_IMG_EMAIL, buf, 10, &len),
            PIXEL_ERR_BUFFER_TOO_SMALL);
  EXPECT_GT(len, 10u);
  EXPECT_EQ(buf[0], '\0');
}

TEST(CApiOptions, NullHandlesAreRefused) {
  EXPECT_EQ(pixel_options_set_endpoint(nullptr, "https://x.example"), PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(pixel_options_set_queue_capacity(nullptr, 1), PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(pixel_options_set_overflow_policy(nullptr, PIXEL_OVERFLOW_DROP_NEW),
            PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(pixel_options_set_block_timeout_ms(nullptr, 1), PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(pixel_options_set_allow_http(nullptr, 1), PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(pixel_options_set_max_in_flight(nullptr, 1), PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(pixel_options_set_min_in_flight(nullptr, 1), PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(pixel_options_set_worker_threads(nullptr, 1), PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(pixel_options_set_connect_timeout_ms(nullptr, 1), PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(pixel_options_set_request_timeout_ms(nullptr, 1), PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(pixel_options_set_max_attempts(nullptr, 1), PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(pixel_options_set_max_age_ms(nullptr, 1), PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(pixel_options_set_shutdown_timeout_ms(nullptr, 1), PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(pixel_options_set_user_agent(nullptr, "x"), PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(pixel_options_set_ca_file(nullptr, ""), PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(pixel_options_set_url_flags(nullptr, 0), PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(pixel_options_set_result_callback(nullptr, nullptr, nullptr),
            PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(pixel_options_set_log_callback(nullptr, nullptr, nullptr), PIXEL_ERR_INVALID_ARGUMENT);
  pixel_options* o = pixel_options_new();
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(pixel_options_set_endpoint(o, nullptr), PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(pixel_options_set_user_agent(o, nullptr), PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(pixel_options_set_user_agent(o, "\xC3"), PIXEL_ERR_INVALID_UTF8);
  // Values are checked once, by pixel_tracker_new, which names what is wrong.
  EXPECT_EQ(pixel_options_set_endpoint(o, "https://x.example/a b"), PIXEL_OK);
  pixel_tracker* t = nullptr;
  EXPECT_EQ(pixel_tracker_new(o, &t), PIXEL_ERR_INVALID_ENDPOINT);
  EXPECT_EQ(t, nullptr);
  EXPECT_NE(std::string(pixel_last_error()).find("path"), std::string::npos);
  pixel_options_free(o);
}

TEST(CApiTracker, RefusesBadOptions) {
  pixel_tracker* t = reinterpret_cast<pixel_tracker*>(0x1);
  pixel_options* o = pixel_options_new();
  ASSERT_NE(o, nullptr);
  // No endpoint yet.
  EXPECT_EQ(pixel_tracker_new(o, &t), PIXEL_ERR_INVALID_ENDPOINT);
  EXPECT_EQ(t, nullptr);
  // http:// to a non-loopback host needs allow_http; the check happens at creation.
  ASSERT_EQ(pixel_options_set_endpoint(o, "http://pixel.example"), PIXEL_OK);
  EXPECT_EQ(pixel_tracker_new(o, &t), PIXEL_ERR_INVALID_ENDPOINT);
  EXPECT_EQ(pixel_tracker_new(o, nullptr), PIXEL_ERR_INVALID_ARGUMENT);
  pixel_options_free(o);
  EXPECT_EQ(pixel_track(nullptr, nullptr, 0), PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(pixel_track_with_user_agent(nullptr, nullptr, 0, "ua"), PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(pixel_tracker_flush(nullptr, 0), PIXEL_ERR_INVALID_ARGUMENT);
  pixel_stats s = PIXEL_STATS_INIT;
  EXPECT_EQ(pixel_tracker_stats(nullptr, &s), PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(pixel_tracker_shutdown(nullptr, 0), PIXEL_ERR_INVALID_ARGUMENT);
  pixel_tracker_free(nullptr);
}

TEST(CApiOptions, WorkerThreadsOutOfRangeAreRefusedByName) {
  // The setter takes any count; pixel_tracker_new refuses it, naming worker_threads.
  struct option_case {
    std::size_t max_in_flight;
    std::size_t workers;
  };
  const option_case refused[] = {{1024, 0}, {1024, 65}, {4, 5}};
  for (const option_case& c : refused) {
    SCOPED_TRACE("max_in_flight " + std::to_string(c.max_in_flight) + ", worker_threads " +
                 std::to_string(c.workers));
    pixel_options* o = pixel_options_new();
    ASSERT_NE(o, nullptr);
    ASSERT_EQ(pixel_options_set_endpoint(o, "https://x.example"), PIXEL_OK);
    ASSERT_EQ(pixel_options_set_max_in_flight(o, c.max_in_flight), PIXEL_OK);
    EXPECT_EQ(pixel_options_set_worker_threads(o, c.workers), PIXEL_OK);
    pixel_tracker* t = reinterpret_cast<pixel_tracker*>(0x1);
    EXPECT_EQ(pixel_tracker_new(o, &t), PIXEL_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(t, nullptr);
    const std::string message = pixel_last_error();
    EXPECT_NE(message.find("worker_threads"), std::string::npos) << message;
    if (c.workers > c.max_in_flight && c.workers <= 64) {
      EXPECT_NE(message.find("max_in_flight"), std::string::npos) << message;
    }
    pixel_options_free(o);
  }
  // The bounds themselves are accepted: 1, 64, and as many as max_in_flight.
  const option_case accepted[] = {{1024, 1}, {1024, 64}, {4, 4}};
  for (const option_case& c : accepted) {
    pixel_options* o = pixel_options_new();
    ASSERT_NE(o, nullptr);
    ASSERT_EQ(pixel_options_set_endpoint(o, "https://x.example"), PIXEL_OK);
    ASSERT_EQ(pixel_options_set_max_in_flight(o, c.max_in_flight), PIXEL_OK);
    ASSERT_EQ(pixel_options_set_worker_threads(o, c.workers), PIXEL_OK);
    ASSERT_EQ(pixel_options_set_shutdown_timeout_ms(o, 0), PIXEL_OK);
    pixel_tracker* t = nullptr;
    EXPECT_EQ(pixel_tracker_new(o, &t), PIXEL_OK) << c.workers << ": " << pixel_last_error();
    pixel_tracker_free(t);
    pixel_options_free(o);
  }
}

// A tracker on a loopback server; freed at the end of the test.
struct tracker_fixture {
  explicit tracker_fixture(const std::string& endpoint, void (*tune)(pixel_options*) = nullptr) {
    pixel_options* o = pixel_options_new();
    EXPECT_EQ(pixel_options_set_endpoint(o, endpoint.c_str()), PIXEL_OK);
    EXPECT_EQ(pixel_options_set_connect_timeout_ms(o, 30000), PIXEL_OK);
    EXPECT_EQ(pixel_options_set_request_timeout_ms(o, 60000), PIXEL_OK);
    if (tune) tune(o);
    EXPECT_EQ(pixel_tracker_new(o, &t), PIXEL_OK) << pixel_last_error();
    pixel_options_free(o);
  }
  ~tracker_fixture() { pixel_tracker_free(t); }
  pixel_stats stats() const {
    pixel_stats s = PIXEL_STATS_INIT;
    EXPECT_EQ(pixel_tracker_stats(t, &s), PIXEL_OK);
    return s;
  }
  pixel_tracker* t = nullptr;
};

TEST(CApiTracker, CSourceCallsEveryFunction) {
  pixel::test::http_server server;
  smoke_report report{};
  ASSERT_EQ(pixel_c_smoke(server.url().c_str(), &report), 0) << report.failure;
  EXPECT_EQ(report.delivered, 13u);
  EXPECT_EQ(report.callbacks_delivered, 13u);
  EXPECT_EQ(report.callbacks_other, 0u);
  const auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 13u);
  // The id pixel_track_event gave back is the eid the server received.
  ASSERT_EQ(std::string(report.event_id).size(), 26u);
  EXPECT_EQ(std::count_if(reqs.begin(), reqs.end(),
                          [&](const auto& r) { return r.param("eid") == report.event_id; }),
            1);
  std::size_t browser = 0;
  for (const auto& r : reqs) {
    EXPECT_EQ(r.path, "/1x1.png");
    EXPECT_EQ(r.param("userid"), "aws_user");
    EXPECT_EQ(r.param("eid").size(), 26u);
    EXPECT_FALSE(r.param("ts").empty());
    if (r.user_agent == "Mozilla/5.0 (smoke)") {
      ++browser;
      EXPECT_EQ(r.param("thirdpartyname"), "");
    } else {
      EXPECT_EQ(r.user_agent, "pixel-c-test/1");
      EXPECT_EQ(r.param("thirdpartyname"), "example.com");
    }
  }
  EXPECT_EQ(browser, 1u);
}

TEST(CApiTracker, DeliversFromManyThreadsAndReportsEachOutcome) {
  pixel::test::http_server server;
  struct counts {
    std::mutex m;
    std::set<std::string> ids;
    unsigned delivered = 0, other = 0;
  } c;
  static counts* current = nullptr;
  current = &c;
  tracker_fixture f(server.url(), [](pixel_options* o) {
    pixel_options_set_queue_capacity(o, 100000);
    pixel_options_set_url_flags(o, PIXEL_URL_EVENT_ID);
    pixel_options_set_result_callback(
        o,
        [](const pixel_event_result* r, void* user) {
          auto* cc = static_cast<counts*>(user);
          std::lock_guard<std::mutex> lock(cc->m);
          cc->ids.insert(r->event_id);
          (r->outcome == PIXEL_OUTCOME_DELIVERED ? cc->delivered : cc->other)++;
        },
        current);
  });
  ASSERT_NE(f.t, nullptr);
  std::vector<std::thread> threads;
  std::atomic<int> refused{0};
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&, k] {
      const std::string who = std::to_string(k);
      for (int i = 0; i < 100; ++i) {
        const std::string n = std::to_string(i);
        const pixel_param p[] = {{"thread", who.c_str()}, {"n", n.c_str()}};
        if (pixel_track(f.t, p, 2) != PIXEL_OK) ++refused;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(refused.load(), 0);
  ASSERT_EQ(pixel_tracker_flush(f.t, 120000), PIXEL_OK);
  const pixel_stats s = f.stats();
  EXPECT_EQ(s.delivered, 400u);
  EXPECT_EQ(s.queued + s.in_flight + s.failed + s.expired + s.dropped, 0u);
  EXPECT_EQ(server.request_count(), 400u);
  std::set<std::string> seen;
  for (const auto& r : server.requests()) {
    seen.insert(r.param("thread") + "/" + r.param("n"));
    EXPECT_EQ(r.param("ts"), "");  // timestamps switched off
  }
  EXPECT_EQ(seen.size(), 400u);
  pixel_tracker_free(f.t);
  f.t = nullptr;
  std::lock_guard<std::mutex> lock(c.m);
  EXPECT_EQ(c.delivered, 400u);
  EXPECT_EQ(c.other, 0u);
  EXPECT_EQ(c.ids.size(), 400u);
}

TEST(CApiTracker, FourWorkerThreadsDeliverEveryEventExactlyOnce) {
  constexpr std::size_t n = 200;
  pixel::test::http_server server;
  struct reported {
    std::mutex m;
    std::multiset<std::string> delivered, other;
  } results;
  static reported* current = nullptr;
  current = &results;
  tracker_fixture f(server.url(), [](pixel_options* o) {
    EXPECT_EQ(pixel_options_set_worker_threads(o, 4), PIXEL_OK);
    EXPECT_EQ(pixel_options_set_max_in_flight(o, 16), PIXEL_OK);
    EXPECT_EQ(pixel_options_set_queue_capacity(o, 1000), PIXEL_OK);
    EXPECT_EQ(pixel_options_set_result_callback(
                  o,
                  [](const pixel_event_result* r, void* user) {
                    auto* rr = static_cast<reported*>(user);
                    std::lock_guard<std::mutex> lock(rr->m);
                    (r->outcome == PIXEL_OUTCOME_DELIVERED ? rr->delivered : rr->other)
                        .insert(r->event_id);
                  },
                  current),
              PIXEL_OK);
  });
  ASSERT_NE(f.t, nullptr);
  std::set<std::string> tracked;
  for (std::size_t i = 0; i < n; ++i) {
    const std::string num = std::to_string(i);
    const pixel_param p[] = {{"n", num.c_str()}};
    const pixel_event event{sizeof(pixel_event), p, 1, nullptr, PIXEL_TRACKING_DEFAULT, 0};
    char id[PIXEL_EVENT_ID_SIZE];
    ASSERT_EQ(pixel_track_event(f.t, &event, id), PIXEL_OK) << pixel_last_error();
    tracked.insert(id);
  }
  ASSERT_EQ(tracked.size(), n);
  ASSERT_EQ(pixel_tracker_flush(f.t, 120000), PIXEL_OK);
  const pixel_stats s = f.stats();
  EXPECT_EQ(s.delivered, n);
  EXPECT_EQ(s.queued + s.in_flight + s.failed + s.expired + s.dropped, 0u);
  // The server received each tracked id exactly once, and nothing else.
  std::multiset<std::string> received;
  std::set<std::string> numbers;
  for (const auto& r : server.requests()) {
    received.insert(r.param("eid"));
    numbers.insert(r.param("n"));
  }
  EXPECT_EQ(received.size(), n);
  EXPECT_EQ(std::set<std::string>(received.begin(), received.end()), tracked);
  EXPECT_EQ(numbers.size(), n);
  pixel_tracker_free(f.t);
  f.t = nullptr;
  // Each event's outcome was reported once: delivered.
  std::lock_guard<std::mutex> lock(results.m);
  EXPECT_EQ(results.other.size(), 0u);
  EXPECT_EQ(results.delivered.size(), n);
  EXPECT_EQ(std::set<std::string>(results.delivered.begin(), results.delivered.end()), tracked);
}

TEST(CApiTracker, FinalStatusIsReportedAsFailed) {
  pixel::test::http_server server;
  server.set_default(403);
  static std::atomic<long> status{0};
  static std::atomic<int> failed{0};
  tracker_fixture f(server.url(), [](pixel_options* o) {
    pixel_options_set_result_callback(
        o,
        [](const pixel_event_result* r, void*) {
          status = r->http_status;
          if (r->outcome == PIXEL_OUTCOME_FAILED && std::strlen(r->message) > 0) ++failed;
        },
        nullptr);
  });
  const pixel_param p[] = {{"k", "v"}};
  ASSERT_EQ(pixel_track(f.t, p, 1), PIXEL_OK);
  ASSERT_EQ(pixel_tracker_flush(f.t, 60000), PIXEL_OK);
  EXPECT_EQ(f.stats().failed, 1u);
  EXPECT_EQ(status.load(), 403);
  EXPECT_EQ(failed.load(), 1);
}

TEST(CApiTracker, FlushTimesOutAndShutdownReturnsByItsDeadline) {
  pixel::test::raw_server hole(pixel::test::raw_server::mode::blackhole);
  tracker_fixture f(hole.url(),
                    [](pixel_options* o) { pixel_options_set_shutdown_timeout_ms(o, 0); });
  const pixel_param p[] = {{"k", "v"}};
  ASSERT_EQ(pixel_track(f.t, p, 1), PIXEL_OK);
  ASSERT_TRUE(hole.wait_for_connections(1, 30s));
  EXPECT_EQ(pixel_tracker_flush(f.t, 50), PIXEL_ERR_TIMEOUT);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(pixel_tracker_shutdown(f.t, 100), PIXEL_OK);
  // A generous bound: the point is that it returns, not how fast.
  EXPECT_LT(std::chrono::steady_clock::now() - start, 30s);
  const pixel_stats s = f.stats();
  EXPECT_EQ(s.dropped, 1u);
  EXPECT_EQ(s.queued + s.in_flight, 0u);
  EXPECT_EQ(pixel_track(f.t, p, 1), PIXEL_ERR_SHUT_DOWN);
  EXPECT_EQ(pixel_tracker_shutdown(f.t, 100), PIXEL_OK);
}

TEST(CApiTracker, QueueFullIsReported) {
  pixel::test::raw_server hole(pixel::test::raw_server::mode::blackhole);
  tracker_fixture f(hole.url(), [](pixel_options* o) {
    pixel_options_set_queue_capacity(o, 2);
    pixel_options_set_shutdown_timeout_ms(o, 0);
  });
  const pixel_param p[] = {{"k", "v"}};
  ASSERT_EQ(pixel_track(f.t, p, 1), PIXEL_OK);
  ASSERT_EQ(pixel_track(f.t, p, 1), PIXEL_OK);
  EXPECT_EQ(pixel_track(f.t, p, 1), PIXEL_ERR_QUEUE_FULL);
  EXPECT_EQ(f.stats().dropped, 1u);
}

TEST(CApiTracker, BadEventsAreRefusedAndNothingElseIsLost) {
  pixel::test::http_server server;
  tracker_fixture f(server.url());
  const pixel_param bad_utf8[] = {{"k", "\xED\xA0\x80"}};
  const pixel_param empty_key[] = {{"", "v"}};
  const pixel_param reserved[] = {{"eid", "v"}};
  const pixel_param good[] = {{"k", "v"}};
  EXPECT_EQ(pixel_track(f.t, bad_utf8, 1), PIXEL_ERR_INVALID_UTF8);
  EXPECT_EQ(pixel_track(f.t, empty_key, 1), PIXEL_ERR_EMPTY_KEY);
  EXPECT_EQ(pixel_track(f.t, reserved, 1), PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(pixel_track_with_user_agent(f.t, good, 1, "a\r\nb"), PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(pixel_track_with_user_agent(f.t, good, 1, nullptr), PIXEL_ERR_INVALID_ARGUMENT);
  const std::string big(9000, 'x');
  const pixel_param too_long[] = {{"k", big.c_str()}};
  EXPECT_EQ(pixel_track(f.t, too_long, 1), PIXEL_ERR_URL_TOO_LONG);
  EXPECT_EQ(pixel_track(f.t, good, 1), PIXEL_OK);
  ASSERT_EQ(pixel_tracker_flush(f.t, 60000), PIXEL_OK);
  const pixel_stats s = f.stats();
  EXPECT_EQ(s.delivered, 1u);
  EXPECT_EQ(s.failed + s.dropped + s.expired, 0u);
  EXPECT_EQ(server.request_count(), 1u);
}

// ---- the outage notice ----------------------------------------------------------------

// The lines a pixel_log_callback received, with the `user` pointer each came with.
struct log_lines {
  std::mutex m;
  std::condition_variable cv;
  std::vector<std::string> lines;
  std::vector<void*> users;

  static void record(const char* message, void* user) {
    log_lines& l = *current;
    {
      std::lock_guard<std::mutex> lock(l.m);
      l.lines.emplace_back(message);
      l.users.push_back(user);
    }
    l.cv.notify_all();
  }
  bool wait_for(std::size_t n) {
    std::unique_lock<std::mutex> lock(m);
    return cv.wait_for(lock, 60s, [&] { return lines.size() >= n; });
  }
  static log_lines* current;
};
log_lines* log_lines::current = nullptr;

// A tracker on `endpoint` that takes the endpoint as down after two failures, probing every
// 50 ms, with `callback` (and &user) as its log callback.
pixel_tracker* outage_tracker(const std::string& endpoint, pixel_log_callback callback,
                              void* user) {
  pixel_options* o = pixel_options_new();
  EXPECT_EQ(pixel_options_set_endpoint(o, endpoint.c_str()), PIXEL_OK);
  EXPECT_EQ(pixel_options_set_outage_threshold(o, 2), PIXEL_OK);
  EXPECT_EQ(pixel_options_set_probe_interval_ms(o, 50), PIXEL_OK);
  EXPECT_EQ(pixel_options_set_backoff_base_ms(o, 10), PIXEL_OK);
  EXPECT_EQ(pixel_options_set_shutdown_timeout_ms(o, 0), PIXEL_OK);
  EXPECT_EQ(pixel_options_set_log_callback(o, callback, user), PIXEL_OK);
  pixel_tracker* t = nullptr;
  EXPECT_EQ(pixel_tracker_new(o, &t), PIXEL_OK) << pixel_last_error();
  pixel_options_free(o);
  return t;
}

// The outage is said through the C API as it starts, with libcurl's reason and the given
// `user`, and its end too, once a server answers on the port.
TEST(CApiLog, OutageIsSaidAsItStartsAndEnds) {
  pixel::test::refused_port port;
  log_lines log;
  log_lines::current = &log;
  int user = 0;
  pixel_tracker* t = outage_tracker(port.url(), &log_lines::record, &user);
  ASSERT_NE(t, nullptr);
  const pixel_param p[] = {{"k", "v"}};
  ASSERT_EQ(pixel_track(t, p, 1), PIXEL_OK);
  ASSERT_TRUE(log.wait_for(1));
  std::vector<std::string> lines;
  {
    std::lock_guard<std::mutex> lock(log.m);
    lines = log.lines;
  }
  const std::string start = "endpoint unreachable: connect (Failed to connect to 127.0.0.1 port " +
                            std::to_string(port.port()) + " ";
  EXPECT_EQ(lines[0].rfind(start, 0), 0u) << lines[0];
  EXPECT_NE(lines[0].find("; events wait (one probe every 50 ms, until retry.max_age)"),
            std::string::npos)
      << lines[0];
  pixel_stats s = PIXEL_STATS_INIT;
  ASSERT_EQ(pixel_tracker_stats(t, &s), PIXEL_OK);
  EXPECT_NE(s.endpoint_down_since_ms, 0u);
  EXPECT_EQ(s.delivered, 0u);

  port.release();
  pixel::test::http_server server(port.port());
  ASSERT_EQ(pixel_tracker_flush(t, 60000), PIXEL_OK);
  ASSERT_TRUE(log.wait_for(2));
  pixel_tracker_free(t);  // the worker has stopped: no line comes after this
  ASSERT_EQ(log.lines.size(), 2u);
  EXPECT_EQ(log.lines[1].rfind("endpoint reachable again after ", 0), 0u) << log.lines[1];
  EXPECT_EQ(log.lines[1].substr(log.lines[1].size() - 3), " ms") << log.lines[1];
  EXPECT_EQ(log.users, (std::vector<void*>{&user, &user}));
  EXPECT_EQ(server.request_count(), 1u);
}

// NULL takes the callback away again: the outage shows in the stats, and nothing is called.
TEST(CApiLog, NullCallbackIsNone) {
  EXPECT_EQ(pixel_options_set_log_callback(nullptr, &log_lines::record, nullptr),
            PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(pixel_last_error()).find("options"), std::string::npos);
  pixel::test::refused_port port;
  log_lines log;
  log_lines::current = &log;
  pixel_options* o = pixel_options_new();
  ASSERT_EQ(pixel_options_set_log_callback(o, &log_lines::record, &log), PIXEL_OK);
  ASSERT_EQ(pixel_options_set_endpoint(o, port.url().c_str()), PIXEL_OK);
  ASSERT_EQ(pixel_options_set_outage_threshold(o, 1), PIXEL_OK);
  ASSERT_EQ(pixel_options_set_shutdown_timeout_ms(o, 0), PIXEL_OK);
  ASSERT_EQ(pixel_options_set_log_callback(o, nullptr, &log), PIXEL_OK);
  pixel_tracker* t = nullptr;
  ASSERT_EQ(pixel_tracker_new(o, &t), PIXEL_OK) << pixel_last_error();
  pixel_options_free(o);
  const pixel_param p[] = {{"k", "v"}};
  ASSERT_EQ(pixel_track(t, p, 1), PIXEL_OK);
  pixel_stats s = PIXEL_STATS_INIT;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (s.endpoint_down_since_ms == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);  // polling the stats, with a deadline
    ASSERT_EQ(pixel_tracker_stats(t, &s), PIXEL_OK);
  }
  ASSERT_NE(s.endpoint_down_since_ms, 0u);
  pixel_tracker_free(t);  // joins the worker, which says the outage right after marking it
  EXPECT_TRUE(log.lines.empty());
}

// ---- tracking modes -------------------------------------------------------------------

TEST(CApiConsent, NullPointersAndBadValuesAreRefused) {
  const uint8_t key[] = "0123456789abcdef";
  const char* names[] = {"userid", nullptr};
  EXPECT_EQ(pixel_options_set_tracking_mode(nullptr, PIXEL_TRACKING_OFF),
            PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(pixel_options_set_gpc_mode(nullptr, PIXEL_TRACKING_OFF), PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(pixel_options_set_identity_params(nullptr, names, 1), PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(pixel_options_set_pseudonym_key(nullptr, key, 16), PIXEL_ERR_INVALID_ARGUMENT);
  pixel_options* o = pixel_options_new();
  ASSERT_NE(o, nullptr);
  for (int bad : {-1, 5, 1000}) {
    EXPECT_EQ(pixel_options_set_tracking_mode(o, static_cast<pixel_tracking_mode>(bad)),
              PIXEL_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(pixel_last_error()).find("unknown tracking mode"), std::string::npos);
    EXPECT_EQ(pixel_options_set_gpc_mode(o, static_cast<pixel_tracking_mode>(bad)),
              PIXEL_ERR_INVALID_ARGUMENT);
  }
  EXPECT_EQ(pixel_options_set_identity_params(o, nullptr, 1), PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(pixel_options_set_identity_params(o, names, 2), PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(pixel_last_error()).find("identity parameter 2"), std::string::npos);
  const char* bad_utf8[] = {"\xC3"};
  EXPECT_EQ(pixel_options_set_identity_params(o, bad_utf8, 1), PIXEL_ERR_INVALID_UTF8);
  EXPECT_EQ(pixel_options_set_identity_params(o, nullptr, 0), PIXEL_OK);
  EXPECT_EQ(pixel_options_set_pseudonym_key(o, nullptr, 16), PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(pixel_options_set_pseudonym_key(o, nullptr, 0), PIXEL_OK);
  // Values are checked by pixel_tracker_new; the key never appears in the message.
  EXPECT_EQ(pixel_options_set_endpoint(o, "http://127.0.0.1:9"), PIXEL_OK);
  const uint8_t short_key[] = "secret-bytes";
  EXPECT_EQ(pixel_options_set_pseudonym_key(o, short_key, 12), PIXEL_OK);
  pixel_tracker* t = nullptr;
  EXPECT_EQ(pixel_tracker_new(o, &t), PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(t, nullptr);
  EXPECT_NE(std::string(pixel_last_error()).find("pseudonym_key"), std::string::npos);
  EXPECT_EQ(std::string(pixel_last_error()).find("secret"), std::string::npos);
  EXPECT_EQ(pixel_options_set_pseudonym_key(o, nullptr, 0), PIXEL_OK);
  EXPECT_EQ(pixel_options_set_gpc_mode(o, PIXEL_TRACKING_PSEUDONYMOUS), PIXEL_OK);
  EXPECT_EQ(pixel_tracker_new(o, &t), PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(pixel_options_set_gpc_mode(o, PIXEL_TRACKING_DEFAULT), PIXEL_OK);  // aggregate
  const char* empty[] = {""};
  EXPECT_EQ(pixel_options_set_identity_params(o, empty, 1), PIXEL_OK);
  EXPECT_EQ(pixel_tracker_new(o, &t), PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(pixel_last_error()).find("identity_params"), std::string::npos);
  pixel_options_free(o);
}

// Each mode through pixel_track_event, as the server receives it; a bad event mode or a
// pseudonymous event without a key is refused with nothing sent.
TEST(CApiConsent, EventModesAreAppliedLoweredAndCounted) {
  pixel::test::http_server server;
  struct seen {
    std::mutex m;
    std::vector<std::pair<std::string, int>> results;
    std::thread::id suppressed_on;
  };
  static seen s;
  tracker_fixture f(server.url(), [](pixel_options* o) {
    EXPECT_EQ(pixel_options_set_result_callback(
                  o,
                  [](const pixel_event_result* r, void*) {
                    std::lock_guard<std::mutex> lock(s.m);
                    s.results.emplace_back(r->event_id, r->outcome);
                    if (r->outcome == PIXEL_OUTCOME_SUPPRESSED) {
                      s.suppressed_on = std::this_thread::get_id();
                    }
                  },
                  nullptr),
              PIXEL_OK);
  });
  ASSERT_NE(f.t, nullptr);
  struct ev {
    const char* k;
    pixel_tracking_mode mode;
    int gpc;
  };
  const ev events[] = {{"default", PIXEL_TRACKING_DEFAULT, 0},
                       {"aggregate", PIXEL_TRACKING_AGGREGATE, 0},
                       {"gpc", PIXEL_TRACKING_IDENTIFIED, 1},
                       {"off", PIXEL_TRACKING_OFF, 0}};
  std::map<std::string, std::string> ids;
  for (const ev& e : events) {
    const pixel_param p[] = {{"userid", "dora"}, {"recipient", "dora@example.com"}, {"k", e.k}};
    pixel_event event = PIXEL_EVENT_INIT;
    event.params = p;
    event.count = 3;
    event.tracking_mode = e.mode;
    event.gpc = e.gpc;
    char id[PIXEL_EVENT_ID_SIZE];
    ASSERT_EQ(pixel_track_event(f.t, &event, id), PIXEL_OK) << pixel_last_error();
    ids[e.k] = id;
  }
  {
    std::lock_guard<std::mutex> lock(s.m);
    EXPECT_EQ(s.suppressed_on, std::this_thread::get_id());  // before pixel_track_event returned
  }
  const pixel_param p[] = {{"userid", "dora"}};
  pixel_event bad = PIXEL_EVENT_INIT;
  bad.params = p;
  bad.count = 1;
  char id[PIXEL_EVENT_ID_SIZE];
  bad.tracking_mode = static_cast<pixel_tracking_mode>(5);
  EXPECT_EQ(pixel_track_event(f.t, &bad, id), PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(id[0], '\0');
  EXPECT_NE(std::string(pixel_last_error()).find("tracking_mode"), std::string::npos);
  bad.tracking_mode = PIXEL_TRACKING_PSEUDONYMOUS;  // no pseudonym key configured
  EXPECT_EQ(pixel_track_event(f.t, &bad, id), PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(pixel_last_error()).find("pseudonym_key"), std::string::npos);

  ASSERT_EQ(pixel_tracker_flush(f.t, 60000), PIXEL_OK);
  std::map<std::string, pixel::test::recorded_request> got;
  for (const auto& r : server.requests()) got.emplace(r.param("k"), r);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got.at("default").param("userid"), "dora");
  EXPECT_EQ(got.at("default").param("recipient"), "dora@example.com");
  for (const char* k : {"aggregate", "gpc"}) {
    EXPECT_EQ(got.at(k).query.find("dora"), std::string::npos) << got.at(k).query;
    EXPECT_EQ(got.at(k).param("eid"), ids[k]);
  }
  const pixel_stats st = f.stats();
  EXPECT_EQ(st.delivered, 3u);
  EXPECT_EQ(st.suppressed, 1u);
  EXPECT_EQ(st.mode_lowered, 1u);  // gpc: identified asked, aggregate sent
  EXPECT_EQ(st.queued + st.in_flight + st.failed + st.expired + st.dropped, 0u);
  std::lock_guard<std::mutex> lock(s.m);
  ASSERT_EQ(s.results.size(), 4u);
  std::size_t suppressed = 0;
  for (const auto& [rid, what] : s.results) {
    if (what != PIXEL_OUTCOME_SUPPRESSED) continue;
    ++suppressed;
    EXPECT_EQ(rid, ids["off"]);
  }
  EXPECT_EQ(suppressed, 1u);
}

}  // namespace

// ---- the ABI: size-prefixed structs, version macros -----------------------------------

static_assert(PIXEL_VERSION_NUM ==
                  PIXEL_VERSION_MAJOR * 10000 + PIXEL_VERSION_MINOR * 100 + PIXEL_VERSION_PATCH,
              "PIXEL_VERSION_NUM");

TEST(CApiAbi, VersionMacrosMatchTheLibrary) {
  EXPECT_EQ(std::string(pixel_version()), PIXEL_VERSION_STRING);
  EXPECT_EQ(std::to_string(PIXEL_VERSION_MAJOR) + "." + std::to_string(PIXEL_VERSION_MINOR) + "." +
                std::to_string(PIXEL_VERSION_PATCH),
            PIXEL_VERSION_STRING);
}

// pixel_stats as a program built against an older pixel.h declares it (a field fewer), and
// as a newer one would (a field more), each followed by bytes the library must not touch.
struct old_stats {
  size_t size;
  uint64_t queued, in_flight, delivered, retried, failed, expired, dropped;
};
// The version before the endpoint's health was appended.
struct previous_stats {
  size_t size;
  uint64_t queued, in_flight, delivered, retried, failed, expired, dropped;
  uint64_t concurrency_limit, suppressed, mode_lowered;
};
struct future_stats {
  size_t size;
  uint64_t queued, in_flight, delivered, retried, failed, expired, dropped;
  uint64_t concurrency_limit, suppressed, mode_lowered;
  uint64_t sampled_out, receipts_unwritten, endpoint_down_since_ms;
  char last_failure[256];
  uint64_t appended_later;
};
static_assert(sizeof(future_stats) == sizeof(pixel_stats) + sizeof(uint64_t),
              "future_stats is pixel_stats and one field more");
template <typename T>
struct guarded_struct {
  T value;
  unsigned char after[64];
};

TEST(CApiAbi, StatsFillOnlyWhatTheCallersStructHas) {
  pixel::test::http_server server;
  tracker_fixture f(server.url());
  ASSERT_NE(f.t, nullptr);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(pixel_track(f.t, nullptr, 0), PIXEL_OK);
  ASSERT_EQ(pixel_tracker_flush(f.t, 60000), PIXEL_OK);

  guarded_struct<old_stats> old;
  std::memset(&old, 0xAB, sizeof old);
  old.value.size = sizeof(old_stats);
  ASSERT_EQ(pixel_tracker_stats(f.t, reinterpret_cast<pixel_stats*>(&old.value)), PIXEL_OK);
  EXPECT_EQ(old.value.size, sizeof(old_stats));
  EXPECT_EQ(old.value.delivered, 3u);
  EXPECT_EQ(old.value.queued + old.value.in_flight + old.value.dropped, 0u);
  for (unsigned char b : old.after) ASSERT_EQ(b, 0xAB) << "written past the caller's size";

  guarded_struct<previous_stats> previous;
  std::memset(&previous, 0xEF, sizeof previous);
  previous.value.size = sizeof(previous_stats);
  ASSERT_EQ(pixel_tracker_stats(f.t, reinterpret_cast<pixel_stats*>(&previous.value)), PIXEL_OK);
  EXPECT_EQ(previous.value.delivered, 3u);
  EXPECT_EQ(previous.value.mode_lowered, 0u);
  for (unsigned char b : previous.after) ASSERT_EQ(b, 0xEF) << "written past the caller's size";

  guarded_struct<future_stats> later;
  std::memset(&later, 0xCD, sizeof later);
  later.value.size = sizeof(future_stats);
  ASSERT_EQ(pixel_tracker_stats(f.t, reinterpret_cast<pixel_stats*>(&later.value)), PIXEL_OK);
  EXPECT_EQ(later.value.delivered, 3u);
  EXPECT_GE(later.value.concurrency_limit, 1u);
  EXPECT_EQ(later.value.sampled_out, 0u);
  EXPECT_EQ(later.value.receipts_unwritten, 0u);
  EXPECT_EQ(later.value.endpoint_down_since_ms, 0u);
  EXPECT_STREQ(later.value.last_failure, "");
  EXPECT_EQ(later.value.appended_later, 0xCDCDCDCDCDCDCDCDull);  // unknown here: untouched
  for (unsigned char b : later.after) ASSERT_EQ(b, 0xCD);

  pixel_stats unset{};  // size 0: the caller forgot it
  EXPECT_EQ(pixel_tracker_stats(f.t, &unset), PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(pixel_last_error()).find("sizeof(pixel_stats)"), std::string::npos);
}

// pixel_event as its first version (size, params, count): user_agent takes its default.
struct first_event {
  size_t size;
  const pixel_param* params;
  size_t count;
};

// pixel_event as its second version (a user_agent added): no tracking mode, no gpc.
struct second_event {
  size_t size;
  const pixel_param* params;
  size_t count;
  const char* user_agent;
};

TEST(CApiAbi, EventReadsOnlyWhatTheCallersStructHas) {
  pixel::test::http_server server;
  static std::size_t result_size = 0;
  tracker_fixture f(server.url(), [](pixel_options* o) {
    EXPECT_EQ(pixel_options_set_user_agent(o, "default-agent"), PIXEL_OK);
    EXPECT_EQ(pixel_options_set_result_callback(
                  o, [](const pixel_event_result* r, void*) { result_size = r->size; }, nullptr),
              PIXEL_OK);
  });
  ASSERT_NE(f.t, nullptr);
  const pixel_param p[] = {{"n", "1"}};
  // The bytes after the short struct would be a user_agent pointer to bad text.
  struct {
    first_event e;
    const char* garbage;
  } short_event{{sizeof(first_event), p, 1}, "bad\r\nagent"};
  char id[PIXEL_EVENT_ID_SIZE];
  ASSERT_EQ(pixel_track_event(f.t, reinterpret_cast<const pixel_event*>(&short_event.e), id),
            PIXEL_OK)
      << pixel_last_error();
  const pixel_event full{sizeof(pixel_event), p, 1, "given-agent", PIXEL_TRACKING_DEFAULT, 0};
  ASSERT_EQ(pixel_track_event(f.t, &full, id), PIXEL_OK);
  // The version before tracking_mode and gpc: the bytes after it would ask for off.
  struct {
    second_event e;
    int garbage[2];
  } before_modes{{sizeof(second_event), p, 1, "second-agent"}, {PIXEL_TRACKING_OFF, 1}};
  ASSERT_EQ(pixel_track_event(f.t, reinterpret_cast<const pixel_event*>(&before_modes.e), id),
            PIXEL_OK);
  ASSERT_EQ(pixel_tracker_flush(f.t, 60000), PIXEL_OK);
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  std::multiset<std::string> agents;
  for (const auto& r : requests) agents.insert(r.user_agent);
  EXPECT_EQ(agents, (std::multiset<std::string>{"default-agent", "given-agent", "second-agent"}));
  EXPECT_EQ(f.stats().suppressed, 0u);
  EXPECT_EQ(result_size, sizeof(pixel_event_result));

  const pixel_event unset{0, p, 1, nullptr, PIXEL_TRACKING_DEFAULT, 0};
  EXPECT_EQ(pixel_track_event(f.t, &unset, id), PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(id[0], '\0');
  EXPECT_NE(std::string(pixel_last_error()).find("sizeof(pixel_event)"), std::string::npos);
}
