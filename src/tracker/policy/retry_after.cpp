// SPDX-License-Identifier: MIT
#include "tracker/policy/retry_after.hpp"

#include <array>
#include <cstdint>

namespace pixel::detail {

namespace {
std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Reads exactly `n` digits at s[pos..].
bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!is_digit(s[pos + i])) return false;
    v = v * 10 + (s[pos + i] - '0');
  }
  out = v;
  return true;
}

int month_index(std::string_view m) {
  static constexpr std::array<std::string_view, 12> names = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (m == names[i]) return static_cast<int>(i) + 1;
  }
  return 0;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

bool parse_time(std::string_view s, std::size_t pos, int& h, int& mi, int& sec) {
  return digits(s, pos, 2, h) && pos + 2 < s.size() && s[pos + 2] == ':' &&
         digits(s, pos + 3, 2, mi) && pos + 5 < s.size() && s[pos + 5] == ':' &&
         digits(s, pos + 6, 2, sec) && h <= 23 && mi <= 59 && sec <= 60;
}

std::optional<std::chrono::system_clock::time_point> make_time(std::int64_t year, int month,
                                                               int day, int h, int mi, int sec) {
  static constexpr std::array<int, 12> mdays = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1 || day > mdays[static_cast<std::size_t>(month - 1)]) {
    return std::nullopt;
  }
  const std::int64_t secs = days_from_civil(year, month, day) * 86400 + h * 3600 + mi * 60 + sec;
  // system_clock counts nanoseconds here: years past 2262 (or before 1677) do not fit, so
  // they saturate (a Retry-After that far out is capped by the caller anyway).
  using time_point = std::chrono::system_clock::time_point;
  using std::chrono::seconds;
  constexpr std::int64_t latest =
      std::chrono::duration_cast<seconds>(time_point::max().time_since_epoch()).count();
  constexpr std::int64_t earliest =
      std::chrono::duration_cast<seconds>(time_point::min().time_since_epoch()).count();
  if (secs > latest) return time_point::max();
  if (secs < earliest) return time_point::min();
  return time_point(seconds(secs));
}
}  // namespace

std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view text) {
  const std::string_view s = trim(text);
  const std::size_t comma = s.find(',');
  int day = 0, year = 0, h = 0, mi = 0, sec = 0;
  if (comma == 3) {
    // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
    if (s.size() != 29 || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
        s[25] != ' ' || s.substr(26) != "GMT") {
      return std::nullopt;
    }
    const int month = month_index(s.substr(8, 3));
    if (!digits(s, 5, 2, day) || month == 0 || !digits(s, 12, 4, year) ||
        !parse_time(s, 17, h, mi, sec)) {
      return std::nullopt;
    }
    return make_time(year, month, day, h, mi, sec);
  }
  if (comma != std::string_view::npos) {
    // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" (two-digit year: RFC 9110 says take the
    // most recent past year with those digits; 1970-2069 is close enough for a delay).
    const std::string_view rest = s.substr(comma + 1);
    if (rest.size() != 23 || rest[0] != ' ' || rest[3] != '-' || rest[7] != '-' ||
        rest[10] != ' ' || rest[19] != ' ' || rest.substr(20) != "GMT") {
      return std::nullopt;
    }
    const int month = month_index(rest.substr(4, 3));
    if (!digits(rest, 1, 2, day) || month == 0 || !digits(rest, 8, 2, year) ||
        !parse_time(rest, 11, h, mi, sec)) {
      return std::nullopt;
    }
    year += year < 70 ? 2000 : 1900;
    return make_time(year, month, day, h, mi, sec);
  }
  // asctime: "Sun Nov  6 08:49:37 1994"
  if (s.size() != 24 || s[3] != ' ' || s[7] != ' ' || s[10] != ' ' || s[19] != ' ') {
    return std::nullopt;
  }
  const int month = month_index(s.substr(4, 3));
  if (month == 0) return std::nullopt;
  if (s[8] == ' ') {
    if (!digits(s, 9, 1, day)) return std::nullopt;
  } else if (!digits(s, 8, 2, day)) {
    return std::nullopt;
  }
  if (!parse_time(s, 11, h, mi, sec) || !digits(s, 20, 4, year)) return std::nullopt;
  return make_time(year, month, day, h, mi, sec);
}

std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now) {
  const std::string_view s = trim(value);
  if (s.empty()) return std::nullopt;
  if (is_digit(s.front())) {
    std::int64_t secs = 0;
    for (char c : s) {
      if (!is_digit(c)) return std::nullopt;
      // Saturate: anything this large is capped by the caller anyway.
      if (secs < 100'000'000) secs = secs * 10 + (c - '0');
    }
    return std::chrono::milliseconds(secs * 1000);
  }
  const auto when = parse_http_date(s);
  if (!when) return std::nullopt;
  if (*when <= now) return std::chrono::milliseconds(0);
  return std::chrono::duration_cast<std::chrono::milliseconds>(*when - now);
}

}  // namespace pixel::detail
