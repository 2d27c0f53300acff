// The in-memory event store behind the tracker.
// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include "tracker/queue.hpp"

namespace {
using namespace std::chrono_literals;
using pixel::detail::queued_event;
using clock_type = pixel::detail::steady_clock;

const clock_type::time_point t0{std::chrono::seconds(100)};

queued_event ev(std::uint64_t seq, clock_type::time_point created,
                clock_type::time_point not_before) {
  queued_event e;
  e.url = "http://127.0.0.1/1x1.png?n=" + std::to_string(seq);
  e.seq = seq;
  e.created = created;
  e.not_before = not_before;
  return e;
}

TEST(MemoryQueue, NewEventsComeOutInOrderAroundTheRing) {
  auto q = pixel::detail::make_memory_queue(3);
  queued_event out;
  std::uint64_t next = 0;
  for (int round = 0; round < 4; ++round) {
    q->push(ev(next, t0, t0));
    q->push(ev(next + 1, t0, t0));
    EXPECT_EQ(q->size(), 2u);
    ASSERT_TRUE(q->pop_due(t0, out));
    EXPECT_EQ(out.seq, next);
    EXPECT_EQ(out.url, "http://127.0.0.1/1x1.png?n=" + std::to_string(next));
    ASSERT_TRUE(q->pop_due(t0, out));
    EXPECT_EQ(out.seq, next + 1);
    next += 2;
  }
  EXPECT_FALSE(q->pop_due(t0, out));
  EXPECT_EQ(q->size(), 0u);
  EXPECT_FALSE(q->next_due().has_value());
}

TEST(MemoryQueue, RetriesWaitForTheirTimeAndGoFirst) {
  auto q = pixel::detail::make_memory_queue(4);
  queued_event out;
  q->push_retry(ev(1, t0, t0 + 300ms));
  q->push_retry(ev(0, t0, t0 + 100ms));
  EXPECT_EQ(q->next_due(), t0 + 100ms);
  EXPECT_FALSE(q->pop_due(t0, out));
  q->push(ev(2, t0 + 50ms, t0 + 50ms));
  EXPECT_EQ(q->next_due(), t0 + 50ms);
  ASSERT_TRUE(q->pop_due(t0 + 200ms, out));
  EXPECT_EQ(out.seq, 0u);  // the due retry before the new event
  ASSERT_TRUE(q->pop_due(t0 + 200ms, out));
  EXPECT_EQ(out.seq, 2u);
  EXPECT_FALSE(q->pop_due(t0 + 200ms, out));
  q->release_all(t0 + 200ms);  // an outage ended: everything is due now
  ASSERT_TRUE(q->pop_due(t0 + 200ms, out));
  EXPECT_EQ(out.seq, 1u);
}

TEST(MemoryQueue, PopOldestTakesTheLowestSequence) {
  auto q = pixel::detail::make_memory_queue(4);
  queued_event out;
  q->push(ev(5, t0, t0));
  q->push_retry(ev(3, t0, t0 + 1s));
  q->push_retry(ev(7, t0, t0 + 10ms));
  ASSERT_TRUE(q->pop_oldest(out));
  EXPECT_EQ(out.seq, 3u);
  ASSERT_TRUE(q->pop_oldest(out));
  EXPECT_EQ(out.seq, 5u);
  ASSERT_TRUE(q->pop_oldest(out));
  EXPECT_EQ(out.seq, 7u);
  EXPECT_FALSE(q->pop_oldest(out));
}

TEST(MemoryQueue, TakeExpired) {
  auto q = pixel::detail::make_memory_queue(8);
  q->push(ev(0, t0, t0));
  q->push(ev(1, t0 + 1s, t0 + 1s));
  q->push(ev(2, t0 + 2s, t0 + 2s));
  q->push_retry(ev(3, t0, t0 + 5s));
  q->push_retry(ev(4, t0 + 3s, t0 + 4s));
  std::vector<queued_event> out;
  q->take_expired(t0 + 1500ms, out);
  std::vector<std::uint64_t> seqs;
  for (const auto& e : out) seqs.push_back(e.seq);
  std::sort(seqs.begin(), seqs.end());
  EXPECT_EQ(seqs, (std::vector<std::uint64_t>{0, 1, 3}));
  EXPECT_EQ(q->size(), 2u);
  EXPECT_EQ(q->next_due(), t0 + 2s);
  queued_event e;
  ASSERT_TRUE(q->pop_due(t0 + 10s, e));
  EXPECT_EQ(e.seq, 4u);  // retry heap still ordered after removal
}
}  // namespace
