// SPDX-License-Identifier: MIT
#include "tracker/policy/limiter.hpp"

#include <algorithm>
#include <cmath>

namespace pixel::detail {

namespace {
double unit_factor(double f, double fallback) noexcept {
  return f > 0.0 && f < 1.0 ? f : fallback;
}
}  // namespace

concurrency_limiter::concurrency_limiter(limiter_config config) : config_(config) {
  config_.floor = std::max<std::size_t>(config_.floor, 1);
  config_.ceiling = std::max(config_.ceiling, config_.floor);
  config_.tolerance = std::max(config_.tolerance, 1.0);
  config_.max_latency_cut = unit_factor(config_.max_latency_cut, 0.5);
  config_.overload_backoff = unit_factor(config_.overload_backoff, 0.5);
  config_.min_window_samples = std::max<std::size_t>(config_.min_window_samples, 1);
  config_.baseline_windows = std::max<std::size_t>(config_.baseline_windows, 1);
  limit_ = config_.floor;
  mins_.reserve(config_.baseline_windows);
}

void concurrency_limiter::set_limit(double value) noexcept {
  const double lo = static_cast<double>(config_.floor);
  const double hi = static_cast<double>(config_.ceiling);
  limit_ = static_cast<std::size_t>(std::clamp(std::floor(value), lo, hi));
}

void concurrency_limiter::on_result(time_point now, duration latency, limiter_signal signal) {
  if (signal == limiter_signal::ignore) return;
  if (signal == limiter_signal::overload) {
    if (now >= quiet_until_) {
      set_limit(static_cast<double>(limit_) * config_.overload_backoff);
      slow_start_ = false;
      quiet_until_ = now + std::max<duration>(baseline_, config_.min_window);
      // The window's samples were taken at the old limit: start afresh.
      window_open_ = false;
      limited_ = false;
    }
    return;
  }
  latency = std::max<duration>(latency, duration(0));
  // A round trip ends with the first answer to a transfer started after it began: the
  // window then holds one round trip's answers, whatever the rate (TCP Vegas's rule).
  const time_point started = now - latency;
  if (window_open_ && samples_ >= config_.min_window_samples && started >= window_start_ &&
      now - window_start_ >= config_.min_window) {
    close_window();
  }
  if (!window_open_) {
    window_open_ = true;
    window_start_ = now;
    samples_ = 0;
    sum_ = duration(0);
    window_min_ = latency;
  }
  ++samples_;
  sum_ += latency;
  window_min_ = std::min(window_min_, latency);
  if (baseline_ == duration(0) || latency < baseline_) baseline_ = latency;
}

void concurrency_limiter::close_window() {
  window_open_ = false;
  if (mins_.size() < config_.baseline_windows) {
    mins_.push_back(window_min_);
  } else {
    mins_[next_min_] = window_min_;
    next_min_ = (next_min_ + 1) % mins_.size();
  }
  baseline_ = *std::min_element(mins_.begin(), mins_.end());
  const double mean = std::chrono::duration<double>(sum_).count() / static_cast<double>(samples_);
  const double base = std::chrono::duration<double>(baseline_).count();
  const bool limited = limited_;
  limited_ = false;
  // A mean of zero (a clock too coarse to see the latency) is flat latency.
  const double gradient = mean > 0.0 ? config_.tolerance * base / mean : 1.0;
  const double current = static_cast<double>(limit_);
  if (gradient < 1.0) {
    set_limit(current * std::max(gradient, config_.max_latency_cut));
    slow_start_ = false;
  } else if (limited) {
    set_limit(slow_start_ ? current * 2.0 : current + std::max(1.0, std::sqrt(current)));
  }
}

}  // namespace pixel::detail
