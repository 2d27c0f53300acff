// Parsing the Retry-After response header (RFC 9110 section 10.2.3).
// SPDX-License-Identifier: MIT
#ifndef PIXEL_SRC_TRACKER_POLICY_RETRY_AFTER_HPP
#define PIXEL_SRC_TRACKER_POLICY_RETRY_AFTER_HPP

#include <chrono>
#include <optional>
#include <string_view>

namespace pixel::detail {

// The delay a Retry-After value asks for: delay-seconds ("120") or an HTTP-date
// ("Sun, 06 Nov 1994 08:49:37 GMT", also the obsolete RFC 850 and asctime forms), measured
// from `now` (a date in the past gives zero). Nothing for a malformed value. Not capped:
// the caller applies tracker_options::retry_after_cap.
std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now);

// An HTTP-date as a time point; nothing when malformed. A date the clock cannot hold (after
// 2262 or before 1677 with nanosecond ticks) saturates at time_point::max() or min().
std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view text);

}  // namespace pixel::detail

#endif  // PIXEL_SRC_TRACKER_POLICY_RETRY_AFTER_HPP
