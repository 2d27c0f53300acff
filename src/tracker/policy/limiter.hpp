// The adaptive concurrency limit: how many transfers may be in flight to the endpoint.
// Pure code: no I/O, no clock reads (every call gets the time), no libcurl.
// SPDX-License-Identifier: MIT
//
// A delay-based limiter in the style of TCP Vegas and Netflix's gradient limiter, with a
// loss signal as in AIMD:
//   - Completions are grouped into round trips: a window ends with the first answer to a
//     transfer started after the window began (TCP Vegas's rule), once it holds at least
//     `min_window_samples` answers and lasted `min_window`. The limit moves once per
//     window, whatever the rate.
//   - The baseline is the smallest latency seen in the last `baseline_windows` windows:
//     the endpoint's latency with no queue in front of it. It follows a rising path
//     latency after that many windows.
//   - At the end of a window, gradient = tolerance * baseline / mean latency. Below 1 the
//     latency has risen (a queue is building, at the endpoint or in this process): the
//     limit is multiplied by max(gradient, max_latency_cut). Otherwise, if the limit held
//     back ready events during the window (note_limited()), it grows: doubling each
//     window until the first cut (slow start), then by sqrt(limit) per window.
//   - An overload answer (429, 503, a timeout) multiplies the limit by `overload_backoff`
//     at once, at most once per baseline round trip (the answers of one round trip are
//     one congestion event), and ends slow start.
//   - The limit stays within [floor, ceiling].
#ifndef PIXEL_SRC_TRACKER_POLICY_LIMITER_HPP
#define PIXEL_SRC_TRACKER_POLICY_LIMITER_HPP

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace pixel::detail {

struct limiter_config {
  std::size_t floor = 16;
  std::size_t ceiling = 1024;
  double tolerance = 1.5;         // latency up to this multiple of the baseline is flat
  double max_latency_cut = 0.5;   // the deepest cut one window of rising latency causes
  double overload_backoff = 0.5;  // the cut on 429, 503 or a timeout
  std::chrono::microseconds min_window{5'000};
  std::size_t min_window_samples = 8;
  std::size_t baseline_windows = 128;
};

// What a completed attempt says about the endpoint's load.
enum class limiter_signal {
  answered,  // an answer in time (any status but 429 and 503): its latency is a sample
  overload,  // 429, 503 or a timeout: too much load, cut now
  ignore,    // says nothing about load (connection refused, DNS, TLS failure, ...)
};

class concurrency_limiter {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  using duration = std::chrono::steady_clock::duration;

  // The config is clamped into sense: floor >= 1, ceiling >= floor, factors in (0, 1).
  explicit concurrency_limiter(limiter_config config = {});

  std::size_t limit() const noexcept { return limit_; }
  // The no-load latency estimate; zero before the first sample.
  duration baseline() const noexcept { return baseline_; }
  bool slow_start() const noexcept { return slow_start_; }

  // The limit held back ready events: there was demand for more than it allowed.
  void note_limited() noexcept { limited_ = true; }

  // One completed attempt at `now`, `latency` from its start to its completion.
  void on_result(time_point now, duration latency, limiter_signal signal);

 private:
  void close_window();
  void set_limit(double value) noexcept;

  limiter_config config_;
  std::size_t limit_;
  bool slow_start_ = true;
  bool limited_ = false;
  duration baseline_{0};

  // The window being filled.
  bool window_open_ = false;
  time_point window_start_{};
  std::size_t samples_ = 0;
  duration sum_{0};
  duration window_min_{0};

  // Minimum latency of recent windows, a ring of baseline_windows entries.
  std::vector<duration> mins_;
  std::size_t next_min_ = 0;

  time_point quiet_until_{};  // no second overload cut before this
};

}  // namespace pixel::detail

#endif  // PIXEL_SRC_TRACKER_POLICY_LIMITER_HPP
