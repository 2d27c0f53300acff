// The concurrency limiter as plain code: time and latencies are given, nothing is measured.
// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <cmath>

#include "tracker/policy/limiter.hpp"

namespace {
using namespace std::chrono_literals;
using pixel::detail::concurrency_limiter;
using pixel::detail::limiter_config;
using pixel::detail::limiter_signal;
using time_point = concurrency_limiter::time_point;

// Drives a limiter as the worker would: each round trip starts `limit()` transfers at
// once, which complete `latency` later (1 us apart). A window closes with the first answer
// of the next round trip, so the limit read after round trip k reflects round trip k - 1.
class driver {
 public:
  explicit driver(limiter_config c = {}) : lim(c) {}

  // `limited`: events were waiting throughout.
  void round_trip(std::chrono::microseconds latency, bool limited,
                  limiter_signal signal = limiter_signal::answered) {
    const std::size_t n = lim.limit();
    const time_point start = now;
    for (std::size_t i = 0; i < n; ++i) {
      if (limited) lim.note_limited();
      now = start + latency + std::chrono::microseconds(i);
      lim.on_result(now, latency, signal);
    }
  }

  concurrency_limiter lim;
  time_point now{std::chrono::seconds(1000)};
};

TEST(Limiter, StartsAtTheFloor) {
  EXPECT_EQ(concurrency_limiter().limit(), 16u);
  limiter_config c;
  c.floor = 4;
  EXPECT_EQ(concurrency_limiter(c).limit(), 4u);
}

TEST(Limiter, GrowsUnderBacklogWithFlatLatencyUpToTheCeiling) {
  driver d;
  std::vector<std::size_t> seen{d.lim.limit()};
  for (int i = 0; i < 20; ++i) {
    d.round_trip(20ms, true);
    seen.push_back(d.lim.limit());
  }
  // Slow start: doubling per round trip from 16 to the 1,024 ceiling, then held there.
  EXPECT_EQ(seen[1], 16u);
  EXPECT_EQ(seen[2], 32u);
  EXPECT_EQ(seen[3], 64u);
  EXPECT_EQ(seen[6], 512u);
  for (std::size_t i = 7; i < seen.size(); ++i) EXPECT_EQ(seen[i], 1024u) << i;
  EXPECT_TRUE(d.lim.slow_start());
  EXPECT_EQ(d.lim.baseline(), 20ms);
}

TEST(Limiter, DoesNotGrowWithoutBacklog) {
  driver d;
  for (int i = 0; i < 50; ++i) d.round_trip(20ms, false);
  EXPECT_EQ(d.lim.limit(), 16u);
}

TEST(Limiter, LatencyWithinToleranceIsFlat) {
  driver d;
  d.round_trip(20ms, true);                              // baseline 20 ms
  for (int i = 0; i < 3; ++i) d.round_trip(29ms, true);  // 1.45x: still flat
  EXPECT_EQ(d.lim.limit(), 128u);
  EXPECT_TRUE(d.lim.slow_start());
}

TEST(Limiter, ShrinksMultiplicativelyWhenLatencyRises) {
  driver d;
  for (int i = 0; i < 7; ++i) d.round_trip(20ms, true);
  ASSERT_EQ(d.lim.limit(), 1024u);
  d.round_trip(40ms, true);
  EXPECT_EQ(d.lim.limit(), 1024u);  // the 40 ms window closes with the next answer
  // 40 ms against a 20 ms baseline: gradient 1.5 * 20 / 40 = 0.75.
  d.round_trip(40ms, true);
  EXPECT_EQ(d.lim.limit(), 768u);
  EXPECT_FALSE(d.lim.slow_start());
  d.round_trip(200ms, true);
  EXPECT_EQ(d.lim.limit(), 576u);
  // Ten times the baseline cuts by at most half per round trip.
  d.round_trip(20ms, true);
  EXPECT_EQ(d.lim.limit(), 288u);
  // Flat again: additive growth now, floor(288 + sqrt(288)) per round trip.
  d.round_trip(20ms, true);
  EXPECT_EQ(d.lim.limit(), 304u);
  d.round_trip(20ms, true);
  EXPECT_EQ(d.lim.limit(), 321u);
}

TEST(Limiter, NeverBelowTheFloor) {
  driver d;
  for (int i = 0; i < 30; ++i) d.round_trip(i == 0 ? 20ms : 500ms, true);
  EXPECT_EQ(d.lim.limit(), 16u);
  for (int i = 0; i < 30; ++i) d.round_trip(1ms, true, limiter_signal::overload);
  EXPECT_EQ(d.lim.limit(), 16u);
}

TEST(Limiter, OverloadCutsByHalfOncePerRoundTrip) {
  driver d;
  for (int i = 0; i < 7; ++i) d.round_trip(20ms, true);
  ASSERT_EQ(d.lim.limit(), 1024u);
  // A burst of 503s within one round trip is one congestion event.
  for (int i = 0; i < 100; ++i) {
    d.now += 10us;
    d.lim.on_result(d.now, 20ms, limiter_signal::overload);
  }
  EXPECT_EQ(d.lim.limit(), 512u);
  EXPECT_FALSE(d.lim.slow_start());
  // A round trip later, another 429 cuts again.
  d.now += 21ms;
  d.lim.on_result(d.now, 20ms, limiter_signal::overload);
  EXPECT_EQ(d.lim.limit(), 256u);
}

TEST(Limiter, IgnoredResultsChangeNothing) {
  driver d;
  d.round_trip(20ms, true);
  const auto limit = d.lim.limit();
  const auto base = d.lim.baseline();
  for (int i = 0; i < 1000; ++i) {
    d.now += 1ms;
    d.lim.note_limited();
    d.lim.on_result(d.now, 1us, limiter_signal::ignore);
  }
  EXPECT_EQ(d.lim.limit(), limit);
  EXPECT_EQ(d.lim.baseline(), base);
}

TEST(Limiter, TheBaselineFollowsARisingPathLatency) {
  limiter_config c;
  c.baseline_windows = 4;
  driver d(c);
  d.round_trip(20ms, false);
  EXPECT_EQ(d.lim.baseline(), 20ms);
  // The path gets slower for good: after baseline_windows windows the baseline is 60 ms,
  // and the limit grows again under backlog.
  for (int i = 0; i < 6; ++i) d.round_trip(60ms, false);
  EXPECT_EQ(d.lim.baseline(), 60ms);
  const auto before = d.lim.limit();
  d.round_trip(60ms, true);
  EXPECT_GT(d.lim.limit(), before);
}

TEST(Limiter, MicrosecondLatencyOnLoopbackStaysNearTheFloor) {
  // At 0 ms the worker's own CPU is the queue: latency grows with the limit. The limiter
  // must not run away to the ceiling there.
  driver d;
  for (int i = 0; i < 200; ++i) {
    // latency = in flight / 25,000 events/s, plus 100 us of wire time
    const auto lat = std::chrono::microseconds(100 + 40 * static_cast<long>(d.lim.limit()));
    d.round_trip(lat, true);
    EXPECT_LE(d.lim.limit(), 64u) << i;
  }
}

TEST(Limiter, ClampsANonsenseConfig) {
  limiter_config c;
  c.floor = 0;
  c.ceiling = 0;
  c.tolerance = 0.1;
  c.overload_backoff = 7;
  c.max_latency_cut = -1;
  driver d(c);
  EXPECT_EQ(d.lim.limit(), 1u);
  for (int i = 0; i < 10; ++i) d.round_trip(20ms, true);
  EXPECT_EQ(d.lim.limit(), 1u);
}

}  // namespace
