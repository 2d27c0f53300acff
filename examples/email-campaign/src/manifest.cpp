// SPDX-License-Identifier: MIT
#include "manifest.hpp"

#include <cerrno>
#include <cstring>
#include <ctime>

namespace email_campaign {
namespace {

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 0xF];
    } else {
      out += ch;
    }
  }
  out += '"';
}

bool digits(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

int number(std::string_view s) {
  int n = 0;
  for (const char c : s) n = n * 10 + (c - '0');
  return n;
}

// ".250" -> 250 ms (more digits are cut, fewer padded).
bool fraction_ms(std::string_view frac, std::uint64_t& ms) {
  if (frac.empty()) return true;
  if (frac[0] != '.' || !digits(frac.substr(1))) return false;
  std::string f(frac.substr(1));
  f = (f + "000").substr(0, 3);
  ms = static_cast<std::uint64_t>(number(f));
  return true;
}

}  // namespace

bool manifest_writer::open(const std::string& path, std::string& error) {
  f_ = std::fopen(path.c_str(), "wb");
  if (f_ == nullptr) {
    error = "cannot create " + path + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

void manifest_writer::add(std::string_view campaign, std::optional<std::string_view> eid,
                          std::optional<std::string_view> recipient, std::uint64_t sent_ms,
                          pixel::tracking_mode mode) {
  if (f_ == nullptr) return;
  const auto string_or_null = [this](std::optional<std::string_view> s) {
    if (s) {
      append_json_string(line_, *s);
    } else {
      line_ += "null";
    }
  };
  line_.assign("{\"campaign\": ");
  append_json_string(line_, campaign);
  line_ += ", \"eid\": ";
  string_or_null(eid);
  line_ += ", \"recipient\": ";
  string_or_null(recipient);
  line_ += ", \"sent\": ";
  line_ += std::to_string(sent_ms / 1000);
  if (const std::uint64_t ms = sent_ms % 1000; ms != 0) {
    char frac[5];
    std::snprintf(frac, sizeof frac, ".%03u", static_cast<unsigned>(ms));
    std::string_view f(frac);
    while (f.back() == '0') f.remove_suffix(1);
    line_ += f;
  }
  line_ += ", \"mode\": ";
  append_json_string(line_, pixel::to_string(mode));
  line_ += "}\n";
  if (std::fwrite(line_.data(), 1, line_.size(), f_) != line_.size()) ok_ = false;
}

bool manifest_writer::close() {
  if (f_ == nullptr) return ok_;
  if (std::fclose(f_) != 0) ok_ = false;
  f_ = nullptr;
  return ok_;
}

std::optional<std::uint64_t> parse_sent_at(std::string_view t) {
  // Epoch seconds.
  if (const std::size_t dot = t.find('.'); digits(t.substr(0, dot))) {
    const std::string_view whole = t.substr(0, dot);
    std::uint64_t ms = 0;
    if (whole.size() > 12) return std::nullopt;
    if (dot != std::string_view::npos && !fraction_ms(t.substr(dot), ms)) return std::nullopt;
    if (dot != std::string_view::npos && t.size() == dot + 1) return std::nullopt;
    return std::stoull(std::string(whole)) * 1000 + ms;
  }
  // YYYY-MM-DDTHH:MM[:SS[.fff]][Z|+HH:MM|-HH:MM]
  if (t.size() < 16 || t[4] != '-' || t[7] != '-' || (t[10] != 'T' && t[10] != ' ') ||
      t[13] != ':') {
    return std::nullopt;
  }
  const std::string_view y = t.substr(0, 4), mo = t.substr(5, 2), d = t.substr(8, 2),
                         h = t.substr(11, 2), mi = t.substr(14, 2);
  if (!digits(y) || !digits(mo) || !digits(d) || !digits(h) || !digits(mi)) return std::nullopt;
  std::string_view rest = t.substr(16);
  int sec = 0;
  std::uint64_t ms = 0;
  if (!rest.empty() && rest[0] == ':') {
    if (rest.size() < 3 || !digits(rest.substr(1, 2))) return std::nullopt;
    sec = number(rest.substr(1, 2));
    rest.remove_prefix(3);
    std::size_t f = 0;
    if (!rest.empty() && rest[0] == '.') {
      f = 1;
      while (f < rest.size() && rest[f] >= '0' && rest[f] <= '9') ++f;
      if (f == 1 || !fraction_ms(rest.substr(0, f), ms)) return std::nullopt;
    }
    rest.remove_prefix(f);
  }
  long offset_s = 0;
  if (rest == "Z" || rest.empty()) {
  } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':' &&
             digits(rest.substr(1, 2)) && digits(rest.substr(4, 2))) {
    offset_s = (number(rest.substr(1, 2)) * 3600L + number(rest.substr(4, 2)) * 60L) *
               (rest[0] == '+' ? 1 : -1);
  } else {
    return std::nullopt;
  }
  const int year = number(y), month = number(mo), day = number(d), hour = number(h),
            minute = number(mi);
  if (year < 1970 || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 ||
      sec > 60) {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = sec;
  const long long epoch = static_cast<long long>(timegm(&tm)) - offset_s;
  if (epoch < 0) return std::nullopt;
  return static_cast<std::uint64_t>(epoch) * 1000 + ms;
}

}  // namespace email_campaign
