// Retry-After: delay-seconds and the three HTTP-date forms.
// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include "tracker/policy/retry_after.hpp"

namespace {
using namespace std::chrono_literals;
using pixel::detail::parse_http_date;
using pixel::detail::parse_retry_after;
using sys = std::chrono::system_clock;

// 1994-11-06 08:49:37 UTC, the example date of RFC 9110.
const sys::time_point k_rfc_date{std::chrono::seconds(784111777)};

TEST(RetryAfter, Seconds) {
  const auto now = sys::now();
  EXPECT_EQ(parse_retry_after("0", now), 0ms);
  EXPECT_EQ(parse_retry_after("1", now), 1000ms);
  EXPECT_EQ(parse_retry_after("120", now), 120'000ms);
  EXPECT_EQ(parse_retry_after("  7 \r\n", now), 7000ms);  // as a header callback sees it
  // Absurdly large values saturate instead of overflowing (the caller caps them).
  const auto huge = parse_retry_after("99999999999999999999999999", now);
  ASSERT_TRUE(huge);
  EXPECT_GT(*huge, 24h);
}

TEST(RetryAfter, Malformed) {
  const auto now = sys::now();
  for (const char* bad :
       {"", "   ", "-1", "1.5", "12abc", "soon", "0x10", "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 32 Nov 1994 08:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 25:49:37 GMT", "Sun, 6 Nov 1994 08:49:37 GMT", "Sun Nov  6 08:49:37"}) {
    EXPECT_FALSE(parse_retry_after(bad, now).has_value()) << "'" << bad << "'";
  }
}

TEST(RetryAfter, HttpDateForms) {
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), k_rfc_date);
  EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), k_rfc_date);
  EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994"), k_rfc_date);
  EXPECT_EQ(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), sys::time_point{});
  EXPECT_EQ(parse_http_date("Tue, 29 Feb 2028 23:59:59 GMT"),
            sys::time_point{std::chrono::seconds(1835481599)});
  EXPECT_EQ(parse_http_date("Wed, 01 Mar 2034 00:00:00 GMT"),
            sys::time_point{std::chrono::seconds(2024784000)});
}

TEST(RetryAfter, DatesBeyondTheClockSaturate) {
  // Found by fuzz_retry_after: year 9775 used to wrap around to 2176.
  EXPECT_EQ(parse_http_date("Fri, 07 Jul 9775 08:24:51 GMT"), sys::time_point::max());
  EXPECT_EQ(parse_http_date("Fri Jul  7 08:24:51 9775"), sys::time_point::max());
  EXPECT_EQ(parse_http_date("Mon, 01 Jan 0001 00:00:00 GMT"), sys::time_point::min());
  const auto far = parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", sys::now());
  ASSERT_TRUE(far);
  EXPECT_GT(*far, 24h * 365 * 200);  // very long: the caller's cap applies
  EXPECT_EQ(parse_retry_after("Mon, 01 Jan 0001 00:00:00 GMT", sys::now()), 0ms);
}

TEST(RetryAfter, DateIsRelativeToNow) {
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", k_rfc_date - 90s), 90'000ms);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", k_rfc_date - 1500ms), 1500ms);
  // A date in the past means "now".
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", k_rfc_date + 1h), 0ms);
}
}  // namespace
