// Records: one line split into its columns, the fields every event has decoded.
// SPDX-License-Identifier: MIT
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "log_internal.hpp"

namespace pixel::log {

using detail::all_digits;
using detail::looks_like_standard_line;
using detail::valid_number;

namespace {

// Epoch seconds with up to three decimals, as milliseconds.
bool parse_timestamp(std::string_view s, std::int64_t& ms) {
  if (s.empty() || s.size() > 20) return false;
  std::int64_t secs = 0;
  std::size_t i = 0;
  for (; i < s.size() && s[i] != '.'; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    // More than 12 digits of seconds (past the year 33658) is not a timestamp, and would
    // overflow once scaled to milliseconds.
    if (i == 12) return false;
    secs = secs * 10 + (s[i] - '0');
  }
  if (i == 0) return false;
  std::int64_t frac = 0;
  int digits = 0;
  if (i < s.size()) {
    ++i;
    if (i == s.size()) return false;
    for (; i < s.size(); ++i) {
      if (s[i] < '0' || s[i] > '9' || digits == 3) return false;
      frac = frac * 10 + (s[i] - '0');
      ++digits;
    }
  }
  for (; digits < 3; ++digits) frac *= 10;
  ms = secs * 1000 + frac;
  return true;
}

// "2019-12-04" and "21:02:31" (UTC) as epoch milliseconds.
bool parse_date_time(std::string_view d, std::string_view t, std::int64_t& ms) {
  if (d.size() != 10 || d[4] != '-' || d[7] != '-' || t.size() < 8 || t[2] != ':' || t[5] != ':') {
    return false;
  }
  if (!all_digits(d.substr(0, 4)) || !all_digits(d.substr(5, 2)) || !all_digits(d.substr(8, 2)) ||
      !all_digits(t.substr(0, 2)) || !all_digits(t.substr(3, 2)) || !all_digits(t.substr(6, 2))) {
    return false;
  }
  const auto num = [](std::string_view s) {
    int v = 0;
    for (char c : s) v = v * 10 + (c - '0');
    return v;
  };
  const int y = num(d.substr(0, 4)), m = num(d.substr(5, 2)), day = num(d.substr(8, 2));
  const int hh = num(t.substr(0, 2)), mm = num(t.substr(3, 2)), ss = num(t.substr(6, 2));
  if (m < 1 || m > 12 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60) return false;
  std::int64_t frac = 0;
  if (t.size() > 8) {  // fractions of a second, if a writer adds them
    if (t[8] != '.' || t.size() == 9 || t.size() > 12 || !all_digits(t.substr(9))) return false;
    std::string_view f = t.substr(9);
    for (std::size_t i = 0; i < 3; ++i) frac = frac * 10 + (i < f.size() ? f[i] - '0' : 0);
  }
  // Days from the civil date (proleptic Gregorian).
  const int yy = y - (m <= 2);
  const int era = (yy >= 0 ? yy : yy - 399) / 400;
  const int yoe = yy - era * 400;
  const int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const std::int64_t days = static_cast<std::int64_t>(era) * 146097 + doe - 719468;
  ms = ((days * 24 + hh) * 60 + mm) * 60'000 + static_cast<std::int64_t>(ss) * 1000 + frac;
  return true;
}

// The first of '&', '=' and '%' in [p, end), or end: eight bytes at a time (SWAR: a byte
// equal to c becomes 0, and (x - 1) & ~x sets the high bit of a zero byte), the rest one
// by one. Most of a query is none of them.
const char* find_query_mark(const char* p, const char* end) noexcept {
  constexpr std::uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
  const auto zero_byte = [](std::uint64_t x) { return (x - ones) & ~x & high; };
  for (; end - p >= 8; p += 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    if ((zero_byte(w ^ (ones * '&')) | zero_byte(w ^ (ones * '=')) | zero_byte(w ^ (ones * '%'))) !=
        0) {
      break;
    }
  }
  for (; p < end; ++p) {
    if (*p == '&' || *p == '=' || *p == '%') return p;
  }
  return end;
}

// A query key or value, percent-decoded when it has a '%' (one without two hex digits
// stays).
void query_decode_into(std::string_view in, bool escaped, std::string& out) {
  out.clear();  // then append: lighter than assign, which allows for overlapping bytes
  if (!escaped) {
    out.append(in.data(), in.size());
    return;
  }
  log_unescape_append(in, out);
}

// Splits `query` on '&' and the first '=' of each part into `params`, reusing its strings;
// empty parts are skipped. One pass over the query finds the marks.
void decode_params(std::string_view query,
                   std::vector<std::pair<std::string, std::string>>& params) {
  std::size_t n = 0;
  const char* p = query.data();
  const char* const end = p + query.size();
  for (;;) {
    const char* const start = p;
    const char* eq = nullptr;
    bool key_escaped = false, value_escaped = false;
    for (;;) {
      p = find_query_mark(p, end);
      if (p == end || *p == '&') break;
      if (*p == '=') {
        if (eq == nullptr) eq = p;
      } else {
        (eq == nullptr ? key_escaped : value_escaped) = true;
      }
      ++p;
    }
    const std::string_view part(start, static_cast<std::size_t>(p - start));
    if (!part.empty()) {
      if (n == params.size()) params.emplace_back();
      auto& [k, v] = params[n++];
      if (eq == nullptr) {
        query_decode_into(part, key_escaped, k);
        v.clear();
      } else {
        const auto at = static_cast<std::size_t>(eq - start);
        query_decode_into(part.substr(0, at), key_escaped, k);
        query_decode_into(part.substr(at + 1), value_escaped, v);
      }
    }
    if (p == end) break;
    ++p;  // past the '&'
  }
  params.resize(n);
}

// The user agent with its log escaping undone; standard logs escape it twice ("%2520" is a
// space). User agents repeat (a few thousand over millions of records) and are dense with
// escapes (%20 every few bytes), so the last decodings are remembered per thread
// (direct-mapped by a hash of the raw value): a hit costs a hash, a compare and a copy.
void decode_user_agent(std::string_view raw, bool standard, std::string& out) {
  struct entry {
    std::string raw, decoded;
    bool standard = false, used = false;
  };
  constexpr std::size_t size = 256;
  thread_local std::vector<entry> memo(size);
  const std::uint64_t h = detail::short_hash(raw);
  entry& e = memo[(h ^ static_cast<std::uint64_t>(standard)) & (size - 1)];
  if (!(e.used && e.standard == standard && e.raw == raw)) {
    e.decoded.clear();
    log_unescape_append(raw, e.decoded);
    if (standard && e.decoded.find('%') != std::string::npos) {
      std::string once = std::move(e.decoded);
      e.decoded.clear();
      log_unescape_append(once, e.decoded);
    }
    e.raw.assign(raw.data(), raw.size());
    e.standard = standard;
    e.used = true;
  }
  out.append(e.decoded);
}

std::string count_message(std::size_t got, const field_list& fields, std::string_view line) {
  std::string m = "has " + std::to_string(got) + (got == 1 ? " field" : " fields") +
                  ", the field list has " + std::to_string(fields.size());
  if (is_header_line(line)) {
    return m +
           "; this is a header line of a CloudFront standard log: the reader takes the layout "
           "from a '#Fields:' line at the top of the file";
  }
  if (fields.kind() == log_kind::realtime && looks_like_standard_line(line)) {
    return m +
           "; the line looks like a CloudFront standard log (date and time first): read it "
           "with --input standard, or give its fields in order (--fields date,time,...)";
  }
  const std::string seen = detail::looks_like(line, fields);
  if (!seen.empty()) return m + "; " + seen;
  if (got == 1) {
    // No tab at all: no field list can split it.
    return m + "; the line has no tab: it is not a tab-separated CloudFront record";
  }
  return m + " (" + fields.to_string() +
         "); give the fields the records were written with (--fields, as in the real-time "
         "log configuration or the v2 field selection, in order)";
}

}  // namespace

const field_list& record::fields() const noexcept {
  static const field_list none;
  return layout ? *layout : none;
}

std::optional<std::string_view> record::raw(field f) const noexcept {
  const field_list& l = fields();
  for (std::size_t i = 0; i < l.size() && i < size(); ++i) {
    if (l[i] == f) return value(i);
  }
  return std::nullopt;
}

bool record::delivered() const noexcept {
  if (!fields().contains(field::sc_status)) return true;
  return status >= 200 && status < 400;
}

const std::string* record::param(std::string_view key) const noexcept {
  for (const auto& p : params) {
    if (p.first == key) return &p.second;
  }
  return nullptr;
}

result<void> parse_record_into(std::string_view line, std::shared_ptr<const field_list> fields,
                               record& out) {
  return parse_record_into(line, std::move(fields), out, record_decoding());
}

result<void> parse_record_into(std::string_view line, std::shared_ptr<const field_list> fields,
                               record& out, const record_decoding& decode) {
  if (out.layout != fields) out.layout = std::move(fields);
  const field_list& l = *out.layout;
  out.text.clear();
  out.text.append(line.data(), line.size());
  out.starts.clear();
  out.timestamp_ms = 0;
  out.c_ip.clear();
  out.user_agent.clear();
  out.query.clear();
  out.status = 0;
  out.closed = false;
  if (l.empty()) {
    out.params.clear();
    return error(errc::invalid_argument, "empty field list");
  }
  // Column starts: one per field, then the end of the line + 1.
  const char* base = out.text.data();
  const std::size_t n = out.text.size();
  out.starts.push_back(0);
  for (const char* p = base;
       (p = static_cast<const char*>(std::memchr(p, '\t', static_cast<std::size_t>(base + n - p))));
       ++p) {
    out.starts.push_back(static_cast<std::uint32_t>(p - base + 1));
    if (out.starts.size() > l.size()) break;
  }
  if (out.starts.size() != l.size()) {
    std::size_t got = static_cast<std::size_t>(std::count(line.begin(), line.end(), '\t')) + 1;
    out.params.clear();
    return error(errc::invalid_argument, count_message(got, l, line));
  }
  out.starts.push_back(static_cast<std::uint32_t>(n + 1));

  bool have_query = false, have_ms = false;
  std::string_view date, time;
  for (std::size_t i = 0; i < l.size(); ++i) {
    const std::string_view v = out.value(i);
    if (v.empty() || (v.size() == 1 && v[0] == '-')) continue;  // absent
    const field f = l[i];
    switch (f) {
      case field::timestamp: {
        std::int64_t ms = 0;
        if (!parse_timestamp(v, ms)) {
          out.params.clear();
          return error(errc::invalid_argument, "bad timestamp '" + std::string(v) + "'");
        }
        if (!have_ms) out.timestamp_ms = ms;  // timestamp(ms), when logged too, is as exact
        continue;
      }
      case field::c_ip:
        out.c_ip.assign(v.data(), v.size());
        continue;
      case field::sc_status:
        if (!all_digits(v) || v.size() > 3) {
          out.params.clear();
          return error(errc::invalid_argument, "bad sc-status '" + std::string(v) + "'");
        }
        for (char c : v) out.status = out.status * 10 + (c - '0');
        out.closed = out.status == 0;
        continue;
      case field::cs_user_agent:
        if (!decode.user_agent) continue;
        decode_user_agent(v, l.kind() == log_kind::standard, out.user_agent);
        continue;
      case field::cs_uri_query:
        log_unescape_append(v, out.query);
        have_query = true;
        continue;
      default:
        break;
    }
    if (f == standard_date) {
      date = v;
    } else if (f == standard_time) {
      time = v;
    } else if (f == standard_timestamp_ms) {
      // v2's timestamp(ms): the record's time, to the millisecond.
      if (!all_digits(v) || v.size() > 15) {
        out.params.clear();
        return error(errc::invalid_argument,
                     "bad timestamp(ms) '" + std::string(v) + "' (expected epoch milliseconds)");
      }
      std::int64_t ms = 0;
      for (char c : v) ms = ms * 10 + (c - '0');
      out.timestamp_ms = ms;
      have_ms = true;
    } else {
      const field_type t = type_of(f);
      if ((t == field_type::integer || t == field_type::decimal) && !valid_number(v, t)) {
        out.params.clear();
        return error(errc::invalid_argument,
                     "bad " + std::string(l.name(i)) + " '" + std::string(v) + "' (expected " +
                         (t == field_type::integer ? "an integer" : "a number") + ")");
      }
    }
  }
  if ((!date.empty() || !time.empty()) && !have_ms) {
    if (!parse_date_time(date, time, out.timestamp_ms)) {
      out.params.clear();
      return error(errc::invalid_argument,
                   "bad date and time '" + std::string(date) + " " + std::string(time) + "'");
    }
  }
  if (have_query) {
    decode_params(out.query, out.params);
  } else {
    out.params.clear();
  }
  return {};
}

result<void> parse_record_into(std::string_view line, const field_list& fields, record& out) {
  if (!out.layout || *out.layout != fields) out.layout = std::make_shared<field_list>(fields);
  return parse_record_into(line, out.layout, out);
}

result<record> parse_record(std::string_view line, const field_list& fields) {
  record r;
  auto ok = parse_record_into(line, fields, r);
  if (!ok) return ok.error();
  return r;
}

}  // namespace pixel::log
