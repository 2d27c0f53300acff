// The Retry-After parser (src/tracker/policy/retry_after.cpp) on arbitrary bytes: never crashes,
// never gives a negative delay, and a date written by the C library's strftime (an
// independent formatter) in the IMF-fixdate and asctime forms parses back exactly.
// SPDX-License-Identifier: MIT
#include <time.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "tracker/policy/retry_after.hpp"

#define PIXEL_FUZZ_CHECK(cond) \
  do {                         \
    if (!(cond)) std::abort(); \
  } while (0)

namespace {
using sys = std::chrono::system_clock;

std::string format(time_t t, const char* pattern) {
  tm parts{};
  gmtime_r(&t, &parts);
  char buf[64];
  const std::size_t n = strftime(buf, sizeof buf, pattern, &parts);
  return std::string(buf, n);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using pixel::detail::parse_http_date;
  using pixel::detail::parse_retry_after;
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  // Anything: no crash, and a delay is never negative.
  const sys::time_point now{std::chrono::seconds(1'767'225'600)};
  if (auto d = parse_retry_after(in, now)) PIXEL_FUZZ_CHECK(d->count() >= 0);
  (void)parse_http_date(in);

  // Plain delay-seconds: the value, in ms.
  if (!in.empty() && in.size() <= 9 &&
      in.find_first_not_of("0123456789") == std::string_view::npos) {
    const auto d = parse_retry_after(in, now);
    PIXEL_FUZZ_CHECK(d && d->count() == std::atoll(std::string(in).c_str()) * 1000);
  }

  // A moment from the first 8 bytes, 1970 to 9999, written by strftime and read back.
  if (size >= 8) {
    std::uint64_t raw = 0;
    std::memcpy(&raw, data, sizeof raw);
    const time_t t = static_cast<time_t>(raw % 253402300800ULL);  // < 10000-01-01
    const auto fixdate = parse_http_date(format(t, "%a, %d %b %Y %H:%M:%S GMT"));
    const auto asctime = parse_http_date(format(t, "%a %b %e %H:%M:%S %Y"));
    constexpr auto latest =
        std::chrono::duration_cast<std::chrono::seconds>(sys::time_point::max().time_since_epoch());
    if (std::chrono::seconds(t) > latest) {
      // Past what the clock can hold: saturated, never wrapped around.
      PIXEL_FUZZ_CHECK(fixdate && *fixdate == sys::time_point::max());
      PIXEL_FUZZ_CHECK(asctime && *asctime == sys::time_point::max());
      return 0;
    }
    const sys::time_point at{std::chrono::seconds(t)};
    PIXEL_FUZZ_CHECK(fixdate && *fixdate == at);
    PIXEL_FUZZ_CHECK(asctime && *asctime == at);
    // As a Retry-After measured from a moment before it: the difference.
    const auto ahead = std::chrono::seconds(static_cast<std::int64_t>(data[0]) * 7);
    const auto d = parse_retry_after(format(t, "%a, %d %b %Y %H:%M:%S GMT"), at - ahead);
    PIXEL_FUZZ_CHECK(d && *d == ahead);
  }
  return 0;
}
