// The event store with the SQLite journal, as plain code with a manual clock: what reaches
// the disk for each move of the ledger, what a reopened store recovers (attempts, ages,
// next attempt times), and the bounds (events, bytes) with each overflow policy evicting
// or refusing on disk too. SQLite's shell judges what is on disk.
// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "spawn.hpp"
#include "spool_disk.hpp"
#include "tracker/clock.hpp"
#include "tracker/store/store.hpp"
#include "tracker/store/store_sqlite.hpp"

namespace {
using namespace std::chrono_literals;
using pixel::durability;
using pixel::errc;
using pixel::outcome;
using pixel::overflow_policy;
using pixel::tracker_options;
using pixel::detail::event_store;
using pixel::detail::manual_clock;
using pixel::detail::put_status;
using pixel::detail::stored_event;
namespace fs = std::filesystem;

const auto never_wait = pixel::detail::steady_clock::time_point::min();

struct fixture {
  pixel_test::temp_dir tmp{"pixel-store-sqlite"};
  manual_clock clock;
  tracker_options options;
  pixel::detail::store_options store;

  fixture() {
    options.endpoint = "http://127.0.0.1:9/1x1.png";
    options.spool_dir = (tmp / "spool").string();
    options.durability = durability::sync;
    store.capacity = 100;
  }

  std::unique_ptr<event_store> open() {
    auto s = pixel::detail::make_store(options, store, &clock);
    if (!s) ADD_FAILURE() << s.error().message();
    return s ? std::move(*s) : nullptr;
  }

  stored_event event(std::uint64_t seq, std::size_t url_size = 0) {
    stored_event e;
    e.id = pixel::event_id::from_parts(1'767'225'600'000, static_cast<std::uint16_t>(seq), seq);
    e.url = "http://127.0.0.1:9/1x1.png?n=" + std::to_string(seq);
    if (url_size > e.url.size()) e.url.append(url_size - e.url.size(), 'x');
    e.seq = seq;
    const auto now = clock.now();
    e.created_ms = now.unix_ms;
    e.not_before = now.steady;
    return e;
  }

  // eid|attempts|budget_used|not_before_ms per row, in key order, from SQLite's shell.
  std::string on_disk() {
    return pixel_test::run_checked(
        {"sqlite3", "-batch", "-noheader", (tmp / "spool" / "events.db").string(),
         "SELECT eid, attempts, budget_used, not_before_ms - created_ms FROM events ORDER BY key"},
        tmp / "sqlite.log");
  }
};

put_status put(event_store& s, stored_event e, std::vector<stored_event>* evicted = nullptr,
               pixel::error* why = nullptr) {
  std::vector<stored_event> scratch;
  return s.put(std::move(e), never_wait, evicted != nullptr ? *evicted : scratch, why);
}

std::string id_of(const stored_event& e) {
  return std::string(e.id.view());
}

TEST(SqliteStore, EventsLeftAtCloseAreRecoveredWithAttemptsAgesAndTimes) {
  fixture f;
  std::vector<std::string> ids;
  {
    auto s = f.open();
    ASSERT_TRUE(s);
    EXPECT_EQ(s->recovered(), 0u);
    for (std::uint64_t seq = 0; seq < 4; ++seq) {
      auto e = f.event(seq);
      ids.push_back(id_of(e));
      ASSERT_EQ(put(*s, std::move(e)), put_status::accepted);
    }
    std::vector<stored_event> taken;
    ASSERT_EQ(s->take_ready(f.clock.now().steady, 3, taken), 3u);
    s->settle(taken[0], outcome::delivered);  // gone from disk
    taken[1].attempts = 1;
    taken[1].budget_used = 1;
    taken[1].not_before = f.clock.now().steady + 5s;
    s->requeue(std::move(taken[1]));  // waits again, 5 s from now
    // taken[2] is in flight at shutdown: kept.
    EXPECT_FALSE(s->abandon(taken[2]));
    s->stop_accepting();
    std::vector<stored_event> dropped;
    s->close(dropped);
    EXPECT_TRUE(dropped.empty());
    EXPECT_EQ(s->stats().delivered, 1u);
    EXPECT_EQ(s->stats().queued, 3u);
    EXPECT_EQ(s->stats().dropped, 0u);
  }
  EXPECT_EQ(f.on_disk(), ids[1] + "|1|1|5000\n" + ids[2] + "|0|0|0\n" + ids[3] + "|0|0|0\n");

  f.clock.advance(2s);  // the next process starts 2 s later
  auto s = f.open();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->recovered(), 3u);
  EXPECT_EQ(s->stats().queued, 3u);
  std::vector<stored_event> ready;
  ASSERT_EQ(s->take_ready(f.clock.now().steady, 10, ready), 2u);  // not the one due in 3 s
  EXPECT_EQ(id_of(ready[0]), ids[2]);
  EXPECT_EQ(id_of(ready[1]), ids[3]);
  EXPECT_EQ(ready[0].seq, 1u);
  EXPECT_EQ(ready[0].created_ms, f.clock.now().unix_ms - 2000);  // the age carries over
  ASSERT_TRUE(s->next_deadline());
  EXPECT_EQ(*s->next_deadline(), f.clock.now().steady + 3s);
  f.clock.advance(3s);
  std::vector<stored_event> later;
  ASSERT_EQ(s->take_ready(f.clock.now().steady, 10, later), 1u);
  EXPECT_EQ(id_of(later[0]), ids[1]);
  EXPECT_EQ(later[0].seq, 0u);
  EXPECT_EQ(later[0].attempts, 1u);
  EXPECT_EQ(later[0].budget_used, 1u);
  for (auto& e : ready) s->settle(e, outcome::delivered);
  s->settle(later[0], outcome::failed);
  // A new event after the recovered ones gets a key of its own.
  ASSERT_EQ(put(*s, f.event(3)), put_status::accepted);
  const std::string fresh = id_of(f.event(3));
  EXPECT_EQ(f.on_disk(), fresh + "|0|0|0\n");
}

TEST(SqliteStore, ExpiredEventsLeaveTheDisk) {
  fixture f;
  auto s = f.open();
  ASSERT_TRUE(s);
  ASSERT_EQ(put(*s, f.event(0)), put_status::accepted);
  f.clock.advance(1h);
  ASSERT_EQ(put(*s, f.event(1)), put_status::accepted);
  std::vector<stored_event> expired;
  EXPECT_EQ(s->take_expired(f.clock.now().unix_ms - 30 * 60 * 1000, expired), 1u);
  // The removal goes out with the writer's next commit (within spool_commit_interval).
  const std::string want = id_of(f.event(1)) + "|0|0|0\n";
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (f.on_disk() != want && std::chrono::steady_clock::now() < deadline) {
  }
  EXPECT_EQ(f.on_disk(), want);
}

TEST(SqliteStore, DropOldestEvictsOnDiskForCapacityAndForBytes) {
  fixture f;
  f.store.capacity = 3;
  f.store.overflow = overflow_policy::drop_oldest;
  f.options.spool_max_bytes = 1000;
  auto s = f.open();
  ASSERT_TRUE(s);
  for (std::uint64_t seq = 0; seq < 4; ++seq) {
    std::vector<stored_event> evicted;
    ASSERT_EQ(put(*s, f.event(seq, 100), &evicted), put_status::accepted);
    EXPECT_EQ(evicted.size(), seq == 3 ? 1u : 0u);
  }
  EXPECT_EQ(f.on_disk(), id_of(f.event(1)) + "|0|0|0\n" + id_of(f.event(2)) + "|0|0|0\n" +
                             id_of(f.event(3)) + "|0|0|0\n");
  // 300 bytes wait; an 801-byte event needs the two oldest gone (capacity alone: one).
  std::vector<stored_event> evicted;
  ASSERT_EQ(put(*s, f.event(4, 801), &evicted), put_status::accepted);
  ASSERT_EQ(evicted.size(), 2u);
  EXPECT_EQ(evicted[0].seq, 1u);
  EXPECT_EQ(evicted[1].seq, 2u);
  EXPECT_EQ(f.on_disk(), id_of(f.event(3)) + "|0|0|0\n" + id_of(f.event(4)) + "|0|0|0\n");
  // Larger than the bound alone: refused at once, evicting nothing.
  evicted.clear();
  EXPECT_EQ(put(*s, f.event(5, 1001), &evicted), put_status::full);
  EXPECT_TRUE(evicted.empty());
  const auto st = s->stats();
  EXPECT_EQ(st.dropped, 4u);
  EXPECT_EQ(st.queued, 2u);
}

TEST(SqliteStore, DropNewAndBlockRefuseOverTheByteBoundWithoutWriting) {
  fixture f;
  f.options.spool_max_bytes = 250;
  f.store.overflow = overflow_policy::drop_new;
  {
    auto s = f.open();
    ASSERT_TRUE(s);
    ASSERT_EQ(put(*s, f.event(0, 200)), put_status::accepted);
    EXPECT_EQ(put(*s, f.event(1, 100)), put_status::full);
    ASSERT_EQ(put(*s, f.event(2, 50)), put_status::accepted);
    EXPECT_EQ(s->stats().dropped, 1u);
    EXPECT_EQ(f.on_disk(), id_of(f.event(0)) + "|0|0|0\n" + id_of(f.event(2)) + "|0|0|0\n");
  }
  f.store.overflow = overflow_policy::block;
  auto s = f.open();
  ASSERT_TRUE(s);
  // Blocked until an event in flight is taken out of the waiting bytes.
  std::thread taker([&] {
    std::vector<stored_event> ready;
    while (s->take_ready(f.clock.now().steady, 1, ready) == 0) std::this_thread::yield();
  });
  std::vector<stored_event> evicted;
  const auto st = s->put(f.event(3, 100), pixel::detail::steady_clock::now() + 60s, evicted);
  taker.join();
  EXPECT_EQ(st, put_status::accepted);
}

TEST(SqliteStore, ALowerCapacityOnReopenKeepsTheOldestAndHandsTheRestBackAsDropped) {
  fixture f;
  {
    auto s = f.open();
    ASSERT_TRUE(s);
    for (std::uint64_t seq = 0; seq < 5; ++seq)
      ASSERT_EQ(put(*s, f.event(seq)), put_status::accepted);
  }
  f.store.capacity = 2;
  {
    auto s = f.open();
    ASSERT_TRUE(s);
    EXPECT_EQ(s->recovered(), 2u);
    EXPECT_EQ(s->stats().queued, 2u);
    EXPECT_EQ(s->stats().dropped, 3u);
    std::vector<stored_event> dropped;
    s->take_dropped_at_open(dropped);
    ASSERT_EQ(dropped.size(), 3u);
    for (std::uint64_t i = 0; i < 3; ++i) {
      EXPECT_EQ(dropped[i].id.view(), f.event(2 + i).id.view());
      EXPECT_EQ(dropped[i].seq, 2 + i);  // numbered after the kept ones
    }
    s->take_dropped_at_open(dropped);
    EXPECT_EQ(dropped.size(), 3u);  // handed out once
  }
  EXPECT_EQ(f.on_disk(), id_of(f.event(0)) + "|0|0|0\n" + id_of(f.event(1)) + "|0|0|0\n");
}

TEST(SqliteStore, ALowerByteBoundOnReopenDropsWhatNoLongerFits) {
  fixture f;
  {
    auto s = f.open();
    ASSERT_TRUE(s);
    for (std::uint64_t seq = 0; seq < 4; ++seq)
      ASSERT_EQ(put(*s, f.event(seq, 100)), put_status::accepted);
  }
  f.options.spool_max_bytes = 250;  // two events of 100 bytes
  auto s = f.open();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->recovered(), 2u);
  std::vector<stored_event> dropped;
  s->take_dropped_at_open(dropped);
  ASSERT_EQ(dropped.size(), 2u);
  EXPECT_EQ(s->stats().dropped, 2u);
}

TEST(SqliteStore, EventsReopenedOnAnotherEndpointGoThereWithTheirQuery) {
  fixture f;
  {
    auto s = f.open();
    ASSERT_TRUE(s);
    ASSERT_EQ(put(*s, f.event(0)), put_status::accepted);
    // A followed redirect changes the URL in memory; the spool keeps only the query.
    std::vector<stored_event> taken;
    ASSERT_EQ(s->take_ready(f.clock.now().steady, 1, taken), 1u);
    taken[0].url = "https://127.0.0.1:9/moved.png?n=0";
    taken[0].attempts = 1;
    taken[0].budget_used = 1;
    s->requeue(std::move(taken[0]));
  }
  f.options.endpoint = "https://pixels.example.com/t/p.gif";
  auto s = f.open();
  ASSERT_TRUE(s);
  ASSERT_EQ(s->recovered(), 1u);
  std::vector<stored_event> taken;
  s->release_all(f.clock.now().steady);
  ASSERT_EQ(s->take_ready(f.clock.now().steady, 1, taken), 1u);
  EXPECT_EQ(taken[0].url, "https://pixels.example.com/t/p.gif?n=0");
  EXPECT_EQ(taken[0].attempts, 1u);
  EXPECT_EQ(taken[0].id.view(), f.event(0).id.view());
}

TEST(SqliteStore, AFullDiskRefusesTheEventWithTheReasonAndCountsItDropped) {
  fixture f;
  pixel_test::tmpfs_mount disk("1m");
  f.options.spool_dir = (disk.path() / "spool").string();
  auto s = f.open();
  ASSERT_TRUE(s);
  ASSERT_EQ(put(*s, f.event(0)), put_status::accepted);
  const fs::path filler = pixel_test::fill_disk(disk.path());
  pixel::error why(errc::ok);
  put_status st = put_status::accepted;
  std::uint64_t seq = 1;
  for (; seq < 1000 && st == put_status::accepted; ++seq)
    st = put(*s, f.event(seq, 4000), nullptr, &why);
  ASSERT_EQ(st, put_status::unwritable);
  EXPECT_EQ(why.code(), errc::spool_full) << why.message();
  EXPECT_EQ(s->stats().dropped, 1u);
  EXPECT_EQ(s->stats().queued, seq - 1);
  fs::remove(filler);
  EXPECT_EQ(put(*s, f.event(seq)), put_status::accepted);
}

TEST(SqliteStore, OptionsAreChecked) {
  tracker_options o;
  o.durability = durability::sync;
  EXPECT_EQ(pixel::detail::validate_spool(o).code(), errc::invalid_argument);
  o.durability = durability::memory;
  o.spool_dir = "/tmp/x";
  EXPECT_EQ(pixel::detail::validate_spool(o).code(), errc::invalid_argument);
  o.durability = durability::batched;
  EXPECT_TRUE(pixel::detail::validate_spool(o));
  o.spool_commit_batch = 0;
  EXPECT_EQ(pixel::detail::validate_spool(o).code(), errc::invalid_argument);
  o.spool_commit_batch = 1;
  o.spool_commit_interval = 0ms;
  EXPECT_EQ(pixel::detail::validate_spool(o).code(), errc::invalid_argument);
  o.durability = static_cast<durability>(7);
  EXPECT_EQ(pixel::detail::validate_spool(o).code(), errc::invalid_argument);
}

}  // namespace
