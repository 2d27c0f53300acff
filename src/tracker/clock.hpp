// The tracker's clocks, behind a seam so tests can move time (an hour-long outage in no
// time at all). The monotonic clock times deadlines (backoff, probes, timeouts); the wall
// clock stamps events (`created`, persistable, for max_age across restarts) and dates
// Retry-After.
// SPDX-License-Identifier: MIT
#ifndef PIXEL_SRC_TRACKER_CLOCK_HPP
#define PIXEL_SRC_TRACKER_CLOCK_HPP

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <utility>
#include <vector>

namespace pixel::detail {

using steady_clock = std::chrono::steady_clock;

// A moment as both clocks see it.
struct instant {
  steady_clock::time_point steady;
  std::int64_t unix_ms = 0;  // ms since the Unix epoch

  std::chrono::system_clock::time_point wall() const noexcept {
    return std::chrono::system_clock::time_point(std::chrono::milliseconds(unix_ms));
  }
};

class clock_source {
 public:
  virtual ~clock_source() = default;
  virtual instant now() const noexcept = 0;
  // A clock that jumps calls `wake` after each jump, until unsubscribe(who). The tracker
  // subscribes its worker's wake-up. The real clock never jumps.
  virtual void subscribe(const void* who, std::function<void()> wake) {
    (void)who;
    (void)wake;
  }
  virtual void unsubscribe(const void* who) { (void)who; }
};

// steady_clock and system_clock.
clock_source& system_clock_source() noexcept;

// For tests: time stands still until advance() moves both clocks.
class manual_clock final : public clock_source {
 public:
  explicit manual_clock(instant start = {steady_clock::time_point(std::chrono::hours(1)),
                                         1'767'225'600'000})  // 2026-01-01T00:00:00Z
      : now_(start) {}

  instant now() const noexcept override {
    std::lock_guard<std::mutex> lock(mutex_);
    return now_;
  }

  void subscribe(const void* who, std::function<void()> wake) override {
    std::lock_guard<std::mutex> lock(mutex_);
    listeners_.emplace_back(who, std::move(wake));
  }

  void unsubscribe(const void* who) override {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = listeners_.begin(); it != listeners_.end();) {
      it = it->first == who ? listeners_.erase(it) : it + 1;
    }
  }

  void advance(std::chrono::milliseconds by) {
    std::vector<std::pair<const void*, std::function<void()>>> listeners;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      now_.steady += by;
      now_.unix_ms += by.count();
      listeners = listeners_;
    }
    for (auto& l : listeners) l.second();
  }

 private:
  mutable std::mutex mutex_;
  instant now_;
  std::vector<std::pair<const void*, std::function<void()>>> listeners_;
};

}  // namespace pixel::detail

#endif  // PIXEL_SRC_TRACKER_CLOCK_HPP
