// The tracker on a spool, against real HTTP on loopback: what one tracker leaves, the next
// delivers (attempts and ages continuing); an hour-long outage in no time through the
// clock seam; locked and full spools as typed errors.
// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <condition_variable>
#include <fstream>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "pixel/tracker.hpp"
#include "spawn.hpp"
#include "spool_disk.hpp"
#include "test_server.hpp"
#include "tracker/clock.hpp"
#include "tracker/seams.hpp"

namespace {
using namespace std::chrono_literals;
using pixel::durability;
using pixel::errc;
using pixel::outcome;
using pixel::tracker;
using pixel::tracker_options;
using pixel::test::http_server;
using pixel::test::refused_port;
using pixel_test::eventually;
namespace fs = std::filesystem;

struct result_log {
  struct entry {
    std::string id;
    outcome what;
    std::uint32_t attempts;
    long status;
    std::int64_t at_ms;  // the tracker's wall clock when reported
    std::string message;
  };
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<entry> entries;
  const pixel::detail::clock_source* clock = nullptr;

  void attach(tracker_options& o) {
    o.on_result = [this](const pixel::event_result& r) {
      const auto at = clock != nullptr ? clock->now().unix_ms : 0;
      std::lock_guard<std::mutex> lock(mutex);
      entries.push_back({std::string(r.event_id), r.outcome, r.attempts, r.http_status, at,
                         std::string(r.message)});
      cv.notify_all();
    };
  }
  bool wait_for(std::size_t n, std::chrono::milliseconds timeout = 30s) {
    std::unique_lock<std::mutex> lock(mutex);
    return cv.wait_for(lock, timeout, [&] { return entries.size() >= n; });
  }
  std::vector<entry> snapshot() {
    std::lock_guard<std::mutex> lock(mutex);
    return entries;
  }
};

tracker_options spool_options(const std::string& endpoint, const fs::path& dir,
                              durability level = durability::sync) {
  tracker_options o;
  o.endpoint = endpoint;
  o.spool_dir = dir.string();
  o.durability = level;
  o.shutdown_timeout = 100ms;
  return o;
}

pixel::result<tracker> create(tracker_options o, pixel::detail::manual_clock* clock = nullptr,
                              double jitter = -1) {
  pixel::detail::tracker_seams seams;
  seams.clock = clock;
  if (jitter >= 0) seams.random = [jitter] { return jitter; };
  return pixel::detail::tracker_access::create(std::move(o), std::move(seams));
}

std::string rows_on_disk(const fs::path& dir, const fs::path& log) {
  return pixel_test::run_checked({"sqlite3", "-batch", "-noheader", (dir / "events.db").string(),
                                  "SELECT count(*) FROM events"},
                                 log);
}

std::uint64_t total(const pixel::tracker_stats& s) {
  return s.queued + s.in_flight + s.delivered + s.failed + s.expired + s.dropped;
}

TEST(SpoolTracker, WhatOneTrackerLeavesTheNextDeliversAndTheSpoolEmpties) {
  for (auto level : {durability::sync, durability::batched}) {
    SCOPED_TRACE(level == durability::sync ? "sync" : "batched");
    pixel_test::temp_dir tmp("pixel-spool-tracker");
    const fs::path dir = tmp / "spool";
    refused_port dead;
    std::vector<std::string> ids;
    {
      result_log results;
      auto o = spool_options(dead.url(), dir, level);
      results.attach(o);
      auto t = tracker::create(std::move(o));
      ASSERT_TRUE(t) << t.error().message();
      for (int i = 0; i < 20; ++i) {
        auto id = t->track({{"userid", "u" + std::to_string(i)}});
        ASSERT_TRUE(id) << id.error().message();
        ids.push_back(id->str());
      }
      EXPECT_FALSE(t->shutdown(100ms));  // the endpoint is down: the events stay
      const auto st = t->stats();
      EXPECT_EQ(st.queued + st.in_flight, 20u);
      EXPECT_EQ(st.dropped, 0u);
      EXPECT_TRUE(results.snapshot().empty());  // nothing had an outcome
    }
    EXPECT_EQ(rows_on_disk(dir, tmp / "log"), "20\n");

    // The events keep the URL they were built with: bring the dead port to life.
    dead.release();
    http_server revived(dead.port());
    {
      result_log results;
      auto o = spool_options(revived.url(), dir, level);
      results.attach(o);
      auto t = tracker::create(std::move(o));
      ASSERT_TRUE(t) << t.error().message();
      EXPECT_EQ(total(t->stats()), 20u);  // counted as tracked at once
      EXPECT_TRUE(t->flush(20s));         // so flush() waits for them
      EXPECT_EQ(t->stats().delivered, 20u);
      std::set<std::string> got;
      for (const auto& r : revived.requests()) got.insert(r.param("eid"));
      EXPECT_EQ(got, std::set<std::string>(ids.begin(), ids.end()));
      EXPECT_EQ(revived.request_count(), 20u);
      std::set<std::string> reported;
      for (const auto& r : results.snapshot()) {
        EXPECT_EQ(r.what, outcome::delivered);
        reported.insert(r.id);
      }
      EXPECT_EQ(reported, got);
      EXPECT_TRUE(t->shutdown(5s));
    }
    EXPECT_EQ(rows_on_disk(dir, tmp / "log"), "0\n");
  }
}

TEST(SpoolTracker, AttemptsContinueAcrossARestart) {
  pixel_test::temp_dir tmp("pixel-spool-tracker");
  http_server server;
  server.set_default(500);
  pixel::detail::manual_clock clock;
  std::string id;
  {
    auto o = spool_options(server.url(), tmp / "spool");
    o.retry.max_attempts = 4;
    o.retry.base_delay = 60s;  // with the jitter pinned near 1: the next try is a minute away
    o.outage_threshold = 0;
    auto t = create(std::move(o), &clock, 0.999);
    ASSERT_TRUE(t) << t.error().message();
    auto tracked = t->track({{"userid", "retry"}});
    ASSERT_TRUE(tracked);
    id = tracked->str();
    ASSERT_TRUE(server.wait_for_requests(1, 10s));
    ASSERT_TRUE(eventually([&] { return t->stats().queued == 1; }));
    t->shutdown(100ms);
  }
  clock.advance(61s);
  result_log results;
  auto o = spool_options(server.url(), tmp / "spool");
  o.retry.max_attempts = 4;
  o.retry.base_delay = 0ms;
  o.retry.max_delay = 0ms;
  o.outage_threshold = 0;
  results.attach(o);
  auto t = create(std::move(o), &clock, 0.999);
  ASSERT_TRUE(t) << t.error().message();
  ASSERT_TRUE(t->flush(20s));
  const auto r = results.snapshot();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].id, id);
  EXPECT_EQ(r[0].what, outcome::failed);
  EXPECT_EQ(r[0].attempts, 4u);  // one before the restart, three after
  EXPECT_EQ(r[0].status, 500);
  EXPECT_EQ(server.request_count(), 4u);
}

TEST(SpoolTracker, AnHourLongOutageExpiresEventsExactlyAtMaxAgeAcrossARestart) {
  pixel_test::temp_dir tmp("pixel-spool-tracker");
  refused_port dead;
  pixel::detail::manual_clock clock;
  const std::int64_t t0 = clock.now().unix_ms;
  std::set<std::string> first;
  {
    auto o = spool_options(dead.url(), tmp / "spool");
    o.retry.max_age = 1h;
    auto t = create(std::move(o), &clock);
    ASSERT_TRUE(t) << t.error().message();
    for (int i = 0; i < 3; ++i) first.insert(t->track({{"n", std::to_string(i)}})->str());
    t->shutdown(100ms);
  }
  clock.advance(30min);  // the next process starts half an hour into the outage
  result_log results;
  results.clock = &clock;
  auto o = spool_options(dead.url(), tmp / "spool");
  o.retry.max_age = 1h;
  results.attach(o);
  auto t = create(std::move(o), &clock);
  ASSERT_TRUE(t) << t.error().message();
  const std::string late = t->track({{"n", "late"}})->str();
  clock.advance(30min - 1ms);  // one ms short of the first events' max_age
  EXPECT_FALSE(results.wait_for(1, 300ms));
  clock.advance(2ms);
  ASSERT_TRUE(results.wait_for(3));
  auto r = results.snapshot();
  ASSERT_EQ(r.size(), 3u);
  std::set<std::string> expired;
  for (const auto& e : r) {
    EXPECT_EQ(e.what, outcome::expired);
    EXPECT_EQ(e.at_ms, t0 + 3'600'000 + 1);
    expired.insert(e.id);
  }
  EXPECT_EQ(expired, first);
  clock.advance(30min - 2ms);  // the late event is 1 ms short of an hour old
  EXPECT_FALSE(results.wait_for(4, 300ms));
  clock.advance(2ms);
  ASSERT_TRUE(results.wait_for(4));
  r = results.snapshot();
  EXPECT_EQ(r[3].id, late);
  EXPECT_EQ(r[3].what, outcome::expired);
  EXPECT_TRUE(t->flush(1s));
}

TEST(SpoolTracker, ASecondTrackerOnASpoolInUseIsRefused) {
  pixel_test::temp_dir tmp("pixel-spool-tracker");
  refused_port dead;
  auto first = tracker::create(spool_options(dead.url(), tmp / "spool"));
  ASSERT_TRUE(first) << first.error().message();
  auto second = tracker::create(spool_options(dead.url(), tmp / "spool"));
  ASSERT_FALSE(second);
  EXPECT_EQ(second.code(), errc::spool_locked);
  EXPECT_NE(second.error().message().find("in use by another tracker"), std::string::npos);
}

TEST(SpoolTracker, SpoolOptionsAreCheckedAtCreate) {
  tracker_options o;
  o.endpoint = "http://127.0.0.1:9/";
  o.durability = durability::sync;
  EXPECT_EQ(tracker::create(o).code(), errc::invalid_argument);
  o.durability = durability::memory;
  o.spool_dir = "/nonexistent-but-valid";
  EXPECT_EQ(tracker::create(o).code(), errc::invalid_argument);
}

TEST(SpoolTracker, AFullDiskIsReportedPerEventAndNothingElseIsLost) {
  pixel_test::tmpfs_mount disk("1m");
  refused_port dead;
  result_log results;
  auto o = spool_options(dead.url(), disk.path() / "spool");
  results.attach(o);
  auto t = tracker::create(std::move(o));
  ASSERT_TRUE(t) << t.error().message();
  auto kept = t->track({{"n", "kept"}});
  ASSERT_TRUE(kept);
  const fs::path filler = pixel_test::fill_disk(disk.path());
  const std::string big(4000, 'x');
  pixel::result<pixel::event_id> r = pixel::event_id();
  std::uint64_t accepted = 1;
  for (int i = 0; i < 1000 && r; ++i) {
    r = t->track({{"n", std::to_string(i)}, {"pad", big}});
    if (r) ++accepted;
  }
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), errc::spool_full) << r.error().message();
  ASSERT_TRUE(results.wait_for(1));
  const auto reported = results.snapshot();
  ASSERT_EQ(reported.size(), 1u);
  EXPECT_EQ(reported[0].what, outcome::dropped);
  EXPECT_NE(reported[0].message.find("spool"), std::string::npos) << reported[0].message;
  auto st = t->stats();
  EXPECT_EQ(st.dropped, 1u);
  EXPECT_EQ(st.queued + st.in_flight, accepted);
  fs::remove(filler);
  EXPECT_TRUE(t->track({{"n", "after"}}));
}

}  // namespace

// A restart with another endpoint and a smaller queue: the events the spool kept go to the
// new endpoint with their own parameters, those beyond the new capacity are reported as
// dropped at open, and the spool ends empty.
TEST(SpoolTracker, ReopenedWithANewEndpointAndASmallerQueueDeliversThereAndReportsTheRest) {
  pixel_test::temp_dir tmp("pixel-spool-tracker");
  const fs::path dir = tmp / "spool";
  std::vector<std::string> ids;
  {
    refused_port dead;
    auto t = create(spool_options(dead.url(), dir));
    ASSERT_TRUE(t) << t.error().message();
    for (int i = 0; i < 5; ++i) {
      auto id = t->track({{"n", std::to_string(i)}});
      ASSERT_TRUE(id);
      ids.emplace_back(id->view());
    }
    t->shutdown(0ms);
  }
  http_server server;
  auto o = spool_options(server.base_url() + "/elsewhere/p.gif", dir);
  o.queue_capacity = 3;
  result_log log;
  log.attach(o);
  pixel::tracker_stats s;
  {
    auto t = create(std::move(o));
    ASSERT_TRUE(t) << t.error().message();
    ASSERT_TRUE(t->flush(30s));
    s = t->stats();
  }  // the spool is closed: every settled event's row gone
  ASSERT_TRUE(log.wait_for(5));
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  std::set<std::string> delivered_ids;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    EXPECT_EQ(requests[i].path, "/elsewhere/p.gif");
    delivered_ids.insert(requests[i].param("eid"));
  }
  EXPECT_EQ(delivered_ids, (std::set<std::string>{ids[0], ids[1], ids[2]}));  // the oldest
  std::set<std::string> dropped_ids;
  for (const auto& e : log.snapshot()) {
    if (e.what != outcome::dropped) continue;
    dropped_ids.insert(e.id);
    EXPECT_NE(e.message.find("beyond the bounds (queue_capacity 3"), std::string::npos)
        << e.message;
  }
  EXPECT_EQ(dropped_ids, (std::set<std::string>{ids[3], ids[4]}));
  EXPECT_EQ(s.delivered, 3u);
  EXPECT_EQ(s.dropped, 2u);
  EXPECT_EQ(total(s), 5u);
  EXPECT_EQ(rows_on_disk(dir, tmp / "sqlite.log"), "0\n");
}

// The database file overwritten under a running tracker: each event the spool can no longer
// keep is refused with a typed spool error (and reported dropped with it), and the events
// already in memory are still delivered.
TEST(SpoolTracker, ASpoolOverwrittenWhileRunningIsATypedErrorPerEventAndMemoryStillDelivers) {
  pixel_test::temp_dir tmp("pixel-spool-tracker");
  const fs::path dir = tmp / "spool";
  http_server server;
  pixel::test::response_step stall(200);
  stall.delay = 60s;
  server.set_default(stall);  // held until released: the first events stay in memory
  auto o = spool_options(server.url(), dir, durability::sync);
  o.max_in_flight = 4;
  o.min_in_flight = 4;
  result_log log;
  log.attach(o);
  auto t = create(std::move(o));
  ASSERT_TRUE(t) << t.error().message();
  std::set<std::string> before;
  for (int i = 0; i < 10; ++i) {
    auto id = t->track({{"phase", "before"}, {"n", std::to_string(i)}});
    ASSERT_TRUE(id);
    before.emplace(id->view());
  }
  ASSERT_TRUE(server.wait_for_requests(4, 30s));  // in flight: 4, waiting in memory: 6
  {
    std::ofstream garbage(dir / "events.db", std::ios::binary | std::ios::trunc);
    garbage << std::string(64 * 1024, 'x');
  }
  for (int i = 0; i < 3; ++i) {
    auto id = t->track({{"phase", "after"}, {"n", std::to_string(i)}});
    ASSERT_FALSE(id);
    EXPECT_EQ(id.code(), errc::spool_corrupt) << id.error().message();
    EXPECT_NE(id.error().message().find("was overwritten while in use"), std::string::npos)
        << id.error().message();
  }
  server.set_default(200);
  server.release_stalls();
  ASSERT_TRUE(t->flush(30s));
  std::multiset<std::string> received;
  for (const auto& r : server.requests()) received.insert(r.param("eid"));
  EXPECT_EQ(received, std::multiset<std::string>(before.begin(), before.end()));
  const auto s = t->stats();
  EXPECT_EQ(s.delivered, 10u);
  EXPECT_EQ(s.dropped, 3u);
  std::size_t reported = 0;
  for (const auto& e : log.snapshot()) {
    if (e.what != outcome::dropped) continue;
    ++reported;
    EXPECT_NE(e.message.find("was overwritten while in use"), std::string::npos) << e.message;
  }
  EXPECT_EQ(reported, 3u);
}
