// Pacing: a token bucket on starting transfers, so a burst waits in the store instead of
// overrunning a sink that takes a fixed number of records per second (a Kinesis shard:
// 1,000). Plain code: time is a parameter.
// SPDX-License-Identifier: MIT
#ifndef PIXEL_SRC_TRACKER_POLICY_PACER_HPP
#define PIXEL_SRC_TRACKER_POLICY_PACER_HPP

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>

#include "tracker/clock.hpp"

namespace pixel::detail {

// At most `rate` starts per second on average, and at most `burst` at once after a quiet
// spell. The burst is a tenth of a second's worth (at least 1), so no calendar second sees
// more than 1.1 x rate starts.
class pacer {
 public:
  pacer() = default;  // off: everything is available
  explicit pacer(double rate) : rate_(rate), burst_(std::max(1.0, rate / 10.0)), tokens_(burst_) {}

  bool enabled() const noexcept { return rate_ > 0; }

  // Starts allowed at `now`.
  std::size_t available(steady_clock::time_point now) const noexcept {
    if (!enabled()) return static_cast<std::size_t>(-1);
    return static_cast<std::size_t>(std::floor(tokens_at(now)));
  }

  // `n` transfers started at `now` (n <= available(now)).
  void take(steady_clock::time_point now, std::size_t n) noexcept {
    if (!enabled()) return;
    tokens_ = std::max(0.0, tokens_at(now) - static_cast<double>(n));
    at_ = std::max(at_, now);
  }

  // When the next start is allowed (now when one is).
  steady_clock::time_point next(steady_clock::time_point now) const noexcept {
    const double have = tokens_at(now);
    if (!enabled() || have >= 1.0) return now;
    const auto wait = std::chrono::duration<double>((1.0 - have) / rate_);
    return now + std::chrono::ceil<steady_clock::duration>(wait);
  }

 private:
  double tokens_at(steady_clock::time_point now) const noexcept {
    const double elapsed = now > at_ ? std::chrono::duration<double>(now - at_).count() : 0.0;
    return std::min(burst_, tokens_ + elapsed * rate_);
  }

  double rate_ = 0;
  double burst_ = 0;
  double tokens_ = 0;
  steady_clock::time_point at_{};
};

}  // namespace pixel::detail

#endif  // PIXEL_SRC_TRACKER_POLICY_PACER_HPP
