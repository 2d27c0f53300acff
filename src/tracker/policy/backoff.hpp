// Retry delays: exponential backoff with full jitter. Pure functions: the caller passes
// the time and the random draw, so tests can pin both.
// SPDX-License-Identifier: MIT
#ifndef PIXEL_SRC_TRACKER_POLICY_BACKOFF_HPP
#define PIXEL_SRC_TRACKER_POLICY_BACKOFF_HPP

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "pixel/tracker.hpp"

namespace pixel::detail {

// The longest wait after `failed_attempts` failures (>= 1): base_delay * 2^(n-1), capped at
// max_delay. Overflow-safe for any n.
inline std::chrono::milliseconds backoff_ceiling(const retry_policy& policy,
                                                 std::uint32_t failed_attempts) noexcept {
  using ms = std::chrono::milliseconds;
  const auto base = std::max<ms::rep>(policy.base_delay.count(), 0);
  const auto cap = std::max<ms::rep>(policy.max_delay.count(), 0);
  if (failed_attempts == 0 || base == 0) return ms(0);
  ms::rep delay = base;
  for (std::uint32_t i = 1; i < failed_attempts && delay < cap; ++i) delay *= 2;
  return ms(std::min(delay, cap));
}

// Full jitter (a uniform draw in [0, ceiling]): `unit` is a random number in [0, 1).
inline std::chrono::milliseconds full_jitter(std::chrono::milliseconds ceiling,
                                             double unit) noexcept {
  if (ceiling.count() <= 0) return std::chrono::milliseconds(0);
  unit = std::clamp(unit, 0.0, 1.0);
  const auto span = static_cast<double>(ceiling.count() + 1);
  const auto drawn = static_cast<std::chrono::milliseconds::rep>(unit * span);
  return std::chrono::milliseconds(std::min(drawn, ceiling.count()));
}

// When the next attempt may go out, after `failed_attempts` failures at `now`, given a
// Retry-After delay (zero when the response had none): the later of the jittered backoff
// and the (already capped) Retry-After.
template <typename TimePoint>
TimePoint next_attempt_at(TimePoint now, const retry_policy& policy, std::uint32_t failed_attempts,
                          double unit,
                          std::chrono::milliseconds retry_after = std::chrono::milliseconds(0)) {
  const auto wait =
      std::max(full_jitter(backoff_ceiling(policy, failed_attempts), unit), retry_after);
  return now + wait;
}

// A random source for full_jitter: xorshift64*, seeded by the caller.
class jitter_source {
 public:
  explicit jitter_source(std::uint64_t seed) noexcept
      : state_(seed ? seed : 0x9E3779B97F4A7C15ULL) {}
  double operator()() noexcept {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    const std::uint64_t r = state_ * 0x2545F4914F6CDD1DULL;
    return static_cast<double>(r >> 11) * (1.0 / 9007199254740992.0);  // 53 bits -> [0, 1)
  }

 private:
  std::uint64_t state_;
};

}  // namespace pixel::detail

#endif  // PIXEL_SRC_TRACKER_POLICY_BACKOFF_HPP
