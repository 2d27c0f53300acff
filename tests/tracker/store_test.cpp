// The in-memory event store as plain code: capacity, the overflow policies, the ready and
// waiting sets, and the ledger (every accepted event in exactly one state).
// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "tracker/store/store.hpp"

namespace {
using namespace std::chrono_literals;
using pixel::outcome;
using pixel::overflow_policy;
using pixel::tracker_stats;
using pixel::detail::event_state;
using pixel::detail::put_status;
using pixel::detail::stored_event;
using clock_type = pixel::detail::steady_clock;

const clock_type::time_point t0{std::chrono::seconds(100)};
constexpr std::int64_t unix0 = 1'767'225'600'000;
const auto never_wait = clock_type::time_point::min();

stored_event ev(std::uint64_t seq, std::int64_t created_ms = unix0,
                clock_type::time_point not_before = t0) {
  stored_event e;
  e.url = "http://127.0.0.1/1x1.png?n=" + std::to_string(seq);
  e.seq = seq;
  e.created_ms = created_ms;
  e.not_before = not_before;
  return e;
}

std::unique_ptr<pixel::detail::event_store> store(
    std::size_t capacity, overflow_policy overflow = overflow_policy::drop_new) {
  pixel::detail::store_options o;
  o.capacity = capacity;
  o.overflow = overflow;
  return pixel::detail::make_memory_store(o);
}

put_status put(pixel::detail::event_store& s, stored_event e,
               std::vector<stored_event>* evicted = nullptr) {
  std::vector<stored_event> scratch;
  return s.put(std::move(e), never_wait, evicted != nullptr ? *evicted : scratch);
}

std::uint64_t total(const tracker_stats& s) {
  return s.queued + s.in_flight + s.delivered + s.failed + s.expired + s.dropped;
}

std::vector<std::uint64_t> seqs(const std::vector<stored_event>& events) {
  std::vector<std::uint64_t> out;
  for (const auto& e : events) out.push_back(e.seq);
  return out;
}

TEST(Ledger, EveryMoveKeepsTheSumAndCountsRetries) {
  pixel::detail::ledger l;
  l.move(std::nullopt, event_state::queued, 3);
  l.move(event_state::queued, event_state::in_flight, 2);
  l.move(event_state::in_flight, event_state::queued);
  l.move(event_state::queued, event_state::in_flight, 1, true);
  l.move(event_state::in_flight, event_state::delivered, 2);
  l.move(std::nullopt, event_state::dropped);
  EXPECT_EQ(l.accepted(), 4u);
  EXPECT_EQ(l.outstanding(), 1u);
  const auto s = l.stats();
  EXPECT_EQ(s.queued, 1u);
  EXPECT_EQ(s.in_flight, 0u);
  EXPECT_EQ(s.delivered, 2u);
  EXPECT_EQ(s.dropped, 1u);
  EXPECT_EQ(s.retried, 1u);
  EXPECT_EQ(total(s), l.accepted());
}

TEST(MemoryStore, NewEventsComeOutInOrderAroundTheRing) {
  auto s = store(3);
  std::vector<stored_event> out;
  std::uint64_t next = 0;
  for (int round = 0; round < 4; ++round) {
    ASSERT_EQ(put(*s, ev(next)), put_status::accepted);
    ASSERT_EQ(put(*s, ev(next + 1)), put_status::accepted);
    EXPECT_EQ(s->outstanding(), 2u);
    out.clear();
    ASSERT_EQ(s->take_ready(t0, 16, out), 2u);
    EXPECT_EQ(seqs(out), (std::vector<std::uint64_t>{next, next + 1}));
    EXPECT_EQ(out[0].url, "http://127.0.0.1/1x1.png?n=" + std::to_string(next));
    EXPECT_EQ(s->stats().in_flight, 2u);
    for (const auto& e : out) s->settle(e, outcome::delivered);
    next += 2;
  }
  out.clear();
  EXPECT_EQ(s->take_ready(t0, 16, out), 0u);
  EXPECT_EQ(s->outstanding(), 0u);
  EXPECT_FALSE(s->next_deadline().has_value());
  EXPECT_FALSE(s->oldest_created_ms().has_value());
  EXPECT_EQ(s->stats().delivered, 8u);
  EXPECT_EQ(s->stats().retried, 0u);
}

TEST(MemoryStore, TakeReadyStopsAtMax) {
  auto s = store(8);
  for (std::uint64_t i = 0; i < 5; ++i) put(*s, ev(i));
  std::vector<stored_event> out;
  EXPECT_EQ(s->take_ready(t0, 3, out), 3u);
  EXPECT_EQ(seqs(out), (std::vector<std::uint64_t>{0, 1, 2}));
  const auto st = s->stats();
  EXPECT_EQ(st.queued, 2u);
  EXPECT_EQ(st.in_flight, 3u);
}

TEST(MemoryStore, RetriesWaitForTheirTimeAndGoFirst) {
  auto s = store(4);
  std::vector<stored_event> out;
  put(*s, ev(0));
  put(*s, ev(1));
  ASSERT_EQ(s->take_ready(t0, 2, out), 2u);
  out[0].not_before = t0 + 100ms;
  out[0].attempts = 1;
  out[1].not_before = t0 + 300ms;
  out[1].attempts = 1;
  s->requeue(std::move(out[1]));
  s->requeue(std::move(out[0]));
  out.clear();
  EXPECT_EQ(s->next_deadline(), t0 + 100ms);
  EXPECT_EQ(s->take_ready(t0, 4, out), 0u);
  put(*s, ev(2, unix0, t0 + 50ms));
  EXPECT_EQ(s->next_deadline(), t0 + 50ms);
  ASSERT_EQ(s->take_ready(t0 + 200ms, 4, out), 2u);
  EXPECT_EQ(seqs(out), (std::vector<std::uint64_t>{0, 2}));  // the due retry first
  EXPECT_EQ(s->stats().retried, 1u);                         // a taken event with attempts
  out.clear();
  s->release_all(t0 + 200ms);  // an outage ended: everything is due now
  ASSERT_EQ(s->take_ready(t0 + 200ms, 4, out), 1u);
  EXPECT_EQ(out[0].seq, 1u);
  EXPECT_EQ(s->stats().retried, 2u);
}

TEST(MemoryStore, RequeueKeepsWhatTheCallerChanged) {
  auto s = store(2);
  std::vector<stored_event> out;
  put(*s, ev(0));
  ASSERT_EQ(s->take_ready(t0, 1, out), 1u);
  out[0].url = "https://127.0.0.1:4443/elsewhere";
  out[0].attempts = 2;
  out[0].budget_used = 1;
  out[0].redirects = 1;
  out[0].not_before = t0;
  s->requeue(std::move(out[0]));
  out.clear();
  ASSERT_EQ(s->take_ready(t0, 1, out), 1u);
  EXPECT_EQ(out[0].url, "https://127.0.0.1:4443/elsewhere");
  EXPECT_EQ(out[0].attempts, 2u);
  EXPECT_EQ(out[0].budget_used, 1u);
  EXPECT_EQ(out[0].redirects, 1u);
}

TEST(MemoryStore, TakeOldestIgnoresDueTimesAndTakesTheLowestSequence) {
  auto s = store(4);
  std::vector<stored_event> out;
  put(*s, ev(3));
  put(*s, ev(5));
  ASSERT_EQ(s->take_ready(t0, 1, out), 1u);  // 3
  out[0].not_before = t0 + 1h;
  s->requeue(std::move(out[0]));
  stored_event e;
  ASSERT_TRUE(s->take_oldest(e));
  EXPECT_EQ(e.seq, 3u);  // a retry not yet due, older than the new event
  ASSERT_TRUE(s->take_oldest(e));
  EXPECT_EQ(e.seq, 5u);
  EXPECT_FALSE(s->take_oldest(e));
  EXPECT_EQ(s->stats().in_flight, 2u);
}

TEST(MemoryStore, DropNewRefusesAtCapacityCountingInFlight) {
  auto s = store(2);
  put(*s, ev(0));
  put(*s, ev(1));
  std::vector<stored_event> out;
  s->take_ready(t0, 1, out);  // one in flight still counts
  stored_event refused = ev(2);
  std::vector<stored_event> evicted;
  EXPECT_EQ(s->put(std::move(refused), never_wait, evicted), put_status::full);
  EXPECT_EQ(refused.seq, 2u);  // left with the caller, to report
  EXPECT_EQ(refused.url, "http://127.0.0.1/1x1.png?n=2");
  EXPECT_TRUE(evicted.empty());
  const auto st = s->stats();
  EXPECT_EQ(st.dropped, 1u);
  EXPECT_EQ(total(st), 3u);
  s->settle(out[0], outcome::failed);
  EXPECT_EQ(put(*s, ev(3)), put_status::accepted);  // room again
}

TEST(MemoryStore, DropOldestEvictsTheOldestWaitingEvent) {
  auto s = store(3, overflow_policy::drop_oldest);
  for (std::uint64_t i = 0; i < 3; ++i) put(*s, ev(i));
  std::vector<stored_event> out;
  s->take_ready(t0, 1, out);  // 0 in flight: not evictable
  std::vector<stored_event> evicted;
  EXPECT_EQ(put(*s, ev(3), &evicted), put_status::accepted);
  EXPECT_EQ(seqs(evicted), (std::vector<std::uint64_t>{1}));
  EXPECT_EQ(put(*s, ev(4), &evicted), put_status::accepted);
  EXPECT_EQ(seqs(evicted), (std::vector<std::uint64_t>{1, 2}));
  auto st = s->stats();
  EXPECT_EQ(st.dropped, 2u);
  EXPECT_EQ(st.queued, 2u);
  EXPECT_EQ(st.in_flight, 1u);
  EXPECT_EQ(total(st), 5u);
}

TEST(MemoryStore, DropOldestWithEverythingInFlightRefuses) {
  auto s = store(1, overflow_policy::drop_oldest);
  put(*s, ev(0));
  std::vector<stored_event> out;
  s->take_ready(t0, 1, out);
  std::vector<stored_event> evicted;
  EXPECT_EQ(put(*s, ev(1), &evicted), put_status::full);
  EXPECT_TRUE(evicted.empty());
  EXPECT_EQ(s->stats().dropped, 1u);
}

TEST(MemoryStore, BlockWaitsForRoomUntilItsDeadline) {
  auto s = store(1, overflow_policy::block);
  put(*s, ev(0));
  std::vector<stored_event> out;
  s->take_ready(t0, 1, out);
  std::vector<stored_event> evicted;
  // Nothing frees a slot: refused once the (short, real-time) deadline passes.
  EXPECT_EQ(s->put(ev(1), clock_type::now() + 20ms, evicted), put_status::full);
  // A settle from another thread makes room for a waiting put.
  std::atomic<bool> waiting{false};
  std::thread settler([&] {
    while (!waiting.load()) std::this_thread::yield();
    s->settle(out[0], outcome::delivered);
  });
  waiting.store(true);
  EXPECT_EQ(s->put(ev(2), clock_type::now() + 60s, evicted), put_status::accepted);
  settler.join();
  const auto st = s->stats();
  EXPECT_EQ(st.delivered, 1u);
  EXPECT_EQ(st.dropped, 1u);
  EXPECT_EQ(st.queued, 1u);
}

TEST(MemoryStore, StopAcceptingReleasesABlockedPut) {
  auto s = store(1, overflow_policy::block);
  put(*s, ev(0));
  std::atomic<bool> waiting{false};
  std::thread closer([&] {
    while (!waiting.load()) std::this_thread::yield();
    s->stop_accepting();
  });
  waiting.store(true);
  std::vector<stored_event> evicted;
  EXPECT_EQ(s->put(ev(1), clock_type::now() + 60s, evicted), put_status::closed);
  closer.join();
  EXPECT_EQ(put(*s, ev(2)), put_status::closed);
  EXPECT_EQ(total(s->stats()), 1u);  // a closed put is not an accepted event
}

TEST(MemoryStore, TakeExpiredByCreationTime) {
  auto s = store(8);
  std::vector<stored_event> out;
  put(*s, ev(0, unix0 + 5000));
  put(*s, ev(1, unix0 + 3000));
  ASSERT_EQ(s->take_ready(t0, 2, out), 2u);
  out[0].not_before = t0 + 5s;  // created unix0 + 5000
  out[1].not_before = t0 + 4s;  // created unix0 + 3000
  s->requeue(std::move(out[0]));
  s->requeue(std::move(out[1]));
  out.clear();
  put(*s, ev(2, unix0));
  put(*s, ev(3, unix0 + 1000));
  put(*s, ev(4, unix0 + 2000));
  EXPECT_EQ(s->oldest_created_ms(), unix0);
  EXPECT_EQ(s->take_expired(unix0 + 1500, out), 2u);
  EXPECT_EQ(seqs(out), (std::vector<std::uint64_t>{2, 3}));
  EXPECT_EQ(s->oldest_created_ms(), unix0 + 2000);
  out.clear();
  EXPECT_EQ(s->take_expired(unix0 + 3500, out), 2u);
  auto got = seqs(out);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::uint64_t>{1, 4}));
  EXPECT_EQ(s->oldest_created_ms(), unix0 + 5000);
  EXPECT_EQ(s->next_deadline(), t0 + 5s);  // the retry heap still ordered after removal
  const auto st = s->stats();
  EXPECT_EQ(st.expired, 4u);
  EXPECT_EQ(st.queued, 1u);
  EXPECT_EQ(total(st), 5u);
}

TEST(MemoryStore, ShutdownDropsWhatIsLeft) {
  auto s = store(4);
  for (std::uint64_t i = 0; i < 3; ++i) put(*s, ev(i));
  std::vector<stored_event> out;
  s->take_ready(t0, 1, out);
  s->stop_accepting();
  EXPECT_TRUE(s->abandon(out[0]));  // aborted in flight: the memory store keeps nothing
  std::vector<stored_event> dropped;
  s->close(dropped);
  EXPECT_EQ(seqs(dropped), (std::vector<std::uint64_t>{1, 2}));
  const auto st = s->stats();
  EXPECT_EQ(st.dropped, 3u);
  EXPECT_EQ(st.queued + st.in_flight, 0u);
  EXPECT_EQ(s->recovered(), 0u);
}

// Many producers and one consumer: the ledger's sum is exact at every snapshot.
TEST(MemoryStore, LedgerSumHoldsUnderConcurrency) {
  auto s = store(64, overflow_policy::drop_oldest);
  constexpr int producers = 4, per_producer = 2000;
  std::atomic<std::uint64_t> next{0};
  std::atomic<int> done{0};
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&] {
      for (int i = 0; i < per_producer; ++i) {
        std::vector<stored_event> evicted;
        s->put(ev(next++), never_wait, evicted);
      }
      ++done;
    });
  }
  std::vector<stored_event> out;
  std::uint64_t n = 0;
  while (done.load() < producers || s->outstanding() > 0) {
    out.clear();
    s->take_ready(t0, 8, out);
    for (auto& e : out) {
      if (++n % 3 == 0) {
        e.attempts = 1;
        s->requeue(std::move(e));
      } else {
        s->settle(e, outcome::delivered);
      }
    }
    const auto st = s->stats();
    ASSERT_LE(st.queued + st.in_flight, 64u);
  }
  for (auto& t : threads) t.join();
  const auto st = s->stats();
  EXPECT_EQ(total(st), std::uint64_t{producers} * per_producer);
  EXPECT_EQ(st.queued + st.in_flight, 0u);
}
}  // namespace
