// What the benchmarks share: the typical event they track, error counting that turns into
// the exit status, and durations as seconds.
// SPDX-License-Identifier: MIT
#ifndef PIXEL_BENCH_SUPPORT_HPP
#define PIXEL_BENCH_SUPPORT_HPP

#include <pixel/url.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <iterator>
#include <string>

namespace pixel_bench {

// Errors seen during a run; a benchmark exits non-zero when any was seen.
inline std::atomic<int> g_errors{0};

inline void fail(const std::string& what) {
  std::fprintf(stderr, "ERROR: %s\n", what.c_str());
  ++g_errors;
}

// A typical event: 5 parameters, about 150 bytes of values.
inline const pixel::param k_params[] = {
    {"userid", "aws_user_0123456789"},
    {"thirdpartyname", "newsletter.example.com"},
    {"campaign", "2026-11-black-friday-early-access"},
    {"page", "/products/espresso-machines/dual-boiler?ref=email"},
    {"variant", "B-hero-image-large"},
};
inline pixel::params_view event_params() {
  return {k_params, std::size(k_params)};
}

inline double seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

}  // namespace pixel_bench

#endif  // PIXEL_BENCH_SUPPORT_HPP
