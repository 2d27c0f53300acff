// The log reader: the field catalog, log escaping, records, the streaming reader.
// SPDX-License-Identifier: MIT
#include "pixel/log.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <system_error>
#include <unordered_map>

#include "log_internal.hpp"

namespace pixel::log {
namespace {

// Bytes CloudFront writes as %XX in log-escaped fields.
constexpr std::array<bool, 256> escape_table() {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) t[static_cast<std::size_t>(c)] = c <= 0x20 || c >= 0x7F;
  for (char c : std::string_view("<>\"#%{}|\\^~[]`'")) t[static_cast<unsigned char>(c)] = true;
  return t;
}
constexpr std::array<bool, 256> must_escape = escape_table();

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

bool all_digits(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
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

}  // namespace

bool valid_number(std::string_view s, field_type t) noexcept {
  if (s.empty()) return false;
  if (t == field_type::integer) {
    std::size_t i = s[0] == '-' && s.size() > 1 ? 1 : 0;
    return all_digits(s.substr(i));
  }
  // decimal: digits, optionally a point and more digits; a sign allowed.
  std::size_t i = s[0] == '-' && s.size() > 1 ? 1 : 0;
  const std::size_t dot = s.find('.', i);
  if (dot == std::string_view::npos) return all_digits(s.substr(i));
  return all_digits(s.substr(i, dot - i)) && all_digits(s.substr(dot + 1));
}

bool looks_like_standard_line(std::string_view line) noexcept {
  return line.size() > 11 && all_digits(line.substr(0, 4)) && line[4] == '-' &&
         all_digits(line.substr(5, 2)) && line[7] == '-' && all_digits(line.substr(8, 2)) &&
         line[10] == '\t';
}

std::string_view field_name(field f) noexcept {
  const auto i = static_cast<std::size_t>(f);
  if (i < field_count) return field_catalog[i].name;
  if (f == standard_date) return "date";
  if (f == standard_time) return "time";
  return {};
}

std::optional<field> field_from_name(std::string_view name) noexcept {
  for (std::size_t i = 0; i < field_count; ++i) {
    if (field_catalog[i].name == name) return static_cast<field>(i);
  }
  return std::nullopt;
}

bool is_escaped(field f) noexcept {
  const auto i = static_cast<std::size_t>(f);
  return i < field_count ? field_catalog[i].escaped : f == unknown_field;
}

field_type type_of(field f) noexcept {
  const auto i = static_cast<std::size_t>(f);
  return i < field_count ? field_catalog[i].type : field_type::text;
}

// ---------------------------------------------------------------------------------------
// Field lists.

field_list::field_list(std::initializer_list<field> fields) : ids_(fields), names_(fields.size()) {}

field_list::field_list(std::vector<field> fields, log_kind kind)
    : ids_(std::move(fields)), names_(ids_.size()), kind_(kind) {}

void field_list::push_back(field f, std::string_view name) {
  ids_.push_back(f);
  names_.emplace_back(name == field_name(f) ? std::string_view() : name);
}

bool field_list::contains(field f) const noexcept {
  return std::find(ids_.begin(), ids_.end(), f) != ids_.end();
}

std::string_view field_list::name(std::size_t i) const noexcept {
  return names_[i].empty() ? field_name(ids_[i]) : std::string_view(names_[i]);
}

std::string field_list::key(std::size_t i) const {
  std::string k(ids_[i] == unknown_field ? name(i) : field_name(ids_[i]));
  std::replace(k.begin(), k.end(), '-', '_');
  return k;
}

std::string field_list::to_string() const {
  std::string s;
  for (std::size_t i = 0; i < size(); ++i) {
    if (i) s += ',';
    s += name(i);
  }
  return s;
}

result<field_list> parse_fields(std::string_view list, field_order order) {
  std::array<bool, field_count> on{};
  field_list given;
  std::vector<std::string> seen_unknown;
  std::size_t pos = 0;
  while (pos <= list.size()) {
    std::size_t comma = list.find(',', pos);
    if (comma == std::string_view::npos) comma = list.size();
    std::string_view name = list.substr(pos, comma - pos);
    pos = comma + 1;
    while (!name.empty() && (name.front() == ' ' || name.front() == '\t')) name.remove_prefix(1);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    if (name.empty()) return error(errc::invalid_argument, "empty field name in field list");
    const auto f = field_from_name(name);
    if (order == field_order::canonical) {
      if (!f) {
        return error(errc::invalid_argument,
                     "unknown log field '" + std::string(name) +
                         "': not a CloudFront real-time field this version knows; to read it "
                         "as text, list every field in record order with --fields-order "
                         "as-given");
      }
      on[static_cast<std::size_t>(*f)] = true;
      continue;
    }
    for (std::size_t i = 0; i < given.size(); ++i) {
      if (given.name(i) == name) {
        return error(errc::invalid_argument, "field '" + std::string(name) + "' listed twice");
      }
    }
    if (name.find_first_of("\r\n") != std::string_view::npos) {
      return error(errc::invalid_argument, "control character in a field name");
    }
    given.push_back(f ? *f : unknown_field, name);
  }
  if (order == field_order::as_given) return given;
  field_list out;
  for (std::size_t i = 0; i < field_count; ++i) {
    if (on[i]) out.push_back(static_cast<field>(i));
  }
  return out;
}

const field_list& default_fields() {
  static const field_list f(
      std::vector<field>(std::begin(default_field_list), std::end(default_field_list)));
  return f;
}

// ---------------------------------------------------------------------------------------
// Log escaping.

void log_escape_append(std::string_view in, std::string& out) {
  static constexpr char digits[] = "0123456789ABCDEF";
  for (char ch : in) {
    const auto c = static_cast<unsigned char>(ch);
    if (must_escape[c]) {
      out.push_back('%');
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 0xF]);
    } else {
      out.push_back(ch);
    }
  }
}

std::string log_escape(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  log_escape_append(in, out);
  return out;
}

result<std::string> log_unescape(std::string_view in) {
  for (std::size_t i = in.find('%'); i != std::string_view::npos; i = in.find('%', i + 1)) {
    if (i + 2 >= in.size() || hex_digit(in[i + 1]) < 0 || hex_digit(in[i + 2]) < 0) {
      return error(errc::invalid_argument, "malformed log escape at byte " + std::to_string(i));
    }
  }
  std::string out;
  log_unescape_append(in, out);
  return out;
}

void log_unescape_append(std::string_view in, std::string& out) {
  // Copied whole, then decoded in place: the decoding is never longer than its input.
  const std::size_t old = out.size();
  out.append(in.data(), in.size());
  char* const begin = out.data() + old;
  char* const end = begin + in.size();
  char* p = static_cast<char*>(std::memchr(begin, '%', in.size()));
  if (!p) return;
  char* o = p;
  constexpr std::uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
  while (p < end) {
    if (end - p >= 8) {  // eight bytes without a '%' move at once (loaded before stored)
      std::uint64_t w;
      std::memcpy(&w, p, 8);
      const std::uint64_t x = w ^ (ones * '%');
      if ((((x - ones) & ~x) & high) == 0) {
        std::memcpy(o, &w, 8);
        o += 8;
        p += 8;
        continue;
      }
    }
    if (*p != '%') {
      *o++ = *p++;
      continue;
    }
    const int hi = end - p > 2 ? hex_digit(p[1]) : -1;
    const int lo = hi >= 0 ? hex_digit(p[2]) : -1;
    if (lo < 0) {
      *o++ = *p++;  // not an escape: kept as it is
      continue;
    }
    *o++ = static_cast<char>((hi << 4) | lo);
    p += 3;
  }
  out.resize(static_cast<std::size_t>(o - out.data()));
}

// ---------------------------------------------------------------------------------------
// Records.

namespace {

// Percent-decoding of a query key or value; a '%' without two hex digits stays.
void query_decode_into(std::string_view in, std::string& out) {
  out.clear();
  log_unescape_append(in, out);
}

// Splits `query` into `params`, reusing its strings.
void decode_params(std::string_view query,
                   std::vector<std::pair<std::string, std::string>>& params) {
  std::size_t n = 0;
  std::size_t pos = 0;
  while (pos <= query.size()) {
    std::size_t amp = query.find('&', pos);
    if (amp == std::string_view::npos) amp = query.size();
    const std::string_view part = query.substr(pos, amp - pos);
    pos = amp + 1;
    if (part.empty()) continue;
    const std::size_t eq = part.find('=');
    if (n == params.size()) params.emplace_back();
    auto& [k, v] = params[n++];
    query_decode_into(part.substr(0, eq), k);
    if (eq == std::string_view::npos) {
      v.clear();
    } else {
      query_decode_into(part.substr(eq + 1), v);
    }
  }
  params.resize(n);
}

std::string count_message(std::size_t got, const field_list& fields, std::string_view line) {
  std::string m = "has " + std::to_string(got) + (got == 1 ? " field" : " fields") +
                  ", the field list has " + std::to_string(fields.size());
  if (is_header_line(line)) {
    m += "; this is a header line of a CloudFront standard log: the reader takes the layout "
         "from a '#Fields:' line at the top of the file";
  } else if (fields.kind() == log_kind::realtime && looks_like_standard_line(line)) {
    m += "; the line looks like a CloudFront standard log (date and time first): read it "
         "with --input standard";
  } else {
    m += " (" + fields.to_string() +
         "); give the fields the records were written with (--fields, as in the real-time "
         "log configuration)";
  }
  return m;
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
  if (out.layout != fields) out.layout = std::move(fields);
  const field_list& l = *out.layout;
  out.text.assign(line.data(), line.size());
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

  bool have_query = false;
  std::string_view date, time;
  for (std::size_t i = 0; i < l.size(); ++i) {
    const std::string_view v = out.value(i);
    if (v.empty() || (v.size() == 1 && v[0] == '-')) continue;  // absent
    const field f = l[i];
    switch (f) {
      case field::timestamp:
        if (!parse_timestamp(v, out.timestamp_ms)) {
          out.params.clear();
          return error(errc::invalid_argument, "bad timestamp '" + std::string(v) + "'");
        }
        continue;
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
        log_unescape_append(v, out.user_agent);
        if (l.kind() == log_kind::standard && out.user_agent.find('%') != std::string::npos) {
          // Standard logs escape the user agent twice ("%2520" is a space).
          std::string once = std::move(out.user_agent);
          out.user_agent.clear();
          log_unescape_append(once, out.user_agent);
        }
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
  if (!date.empty() || !time.empty()) {
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

// ---------------------------------------------------------------------------------------
// Streaming reader.

class reader::impl {
 public:
  impl(std::vector<std::string> files, reader_options o)
      : files_(std::move(files)), opt_(std::move(o)) {
    buf_.resize(128 * 1024);
    realtime_ = std::make_shared<field_list>(opt_.fields);
  }
  ~impl() { close_file(); }

  bool next(record& out) {
    for (;;) {
      if (!gz_) {
        if (next_file_ < files_.size()) {
          open_file(files_[next_file_++]);
          continue;
        }
        return release_held(out);
      }
      const int got = read_line();
      if (got == 0) {
        close_file();
        continue;
      }
      if (got < 0) continue;  // reported
      // A file written with CRLF line ends: the CR is not part of the record.
      if (!cur_.empty() && cur_.back() == '\r') cur_.remove_suffix(1);
      if (header(cur_)) continue;
      ++lines_;
      if (!layout_) {
        report("no usable '#Fields:' line before this record");
        continue;
      }
      auto ok = parse_record_into(cur_, layout_, out);
      if (!ok) {
        report(ok.error().message());
        continue;
      }
      ++records_;
      if (opt_.since_ms && out.timestamp_ms < *opt_.since_ms) continue;
      if (opt_.until_ms && out.timestamp_ms >= *opt_.until_ms) continue;
      if (opt_.dedupe && !keep(out)) continue;
      return true;
    }
  }

  std::uint64_t malformed() const noexcept { return malformed_; }
  std::uint64_t duplicates() const noexcept { return duplicates_; }
  std::uint64_t lines() const noexcept { return lines_; }
  std::uint64_t records() const noexcept { return records_; }

 private:
  // De-duplication. An id is `done` once a record of it was passed on; an id whose
  // attempts so far all failed has its first attempt held back in held_.
  struct id_state {
    bool done = false;
    std::size_t held = 0;  // index into held_ (minus held_base_) while !done
  };

  bool keep(const record& r) {
    const std::string* id = r.param(opt_.event_id_key);
    if (!id) return true;
    auto [it, fresh] = ids_.try_emplace(*id);
    id_state& s = it->second;
    if (r.delivered()) {
      if (!fresh && s.done) {
        ++duplicates_;
        return false;
      }
      if (!fresh) {  // a held failed attempt loses to this delivered one
        held_[s.held - held_base_].reset();
        ++duplicates_;
      }
      s.done = true;
      return true;
    }
    if (!fresh) {
      ++duplicates_;
      return false;
    }
    s.held = held_base_ + held_.size();
    held_.push_back(std::make_unique<record>(r));
    return false;
  }

  bool release_held(record& out) {
    while (!held_.empty()) {
      std::unique_ptr<record> r = std::move(held_.front());
      held_.pop_front();
      ++held_base_;
      if (r) {
        out = std::move(*r);
        return true;
      }
    }
    return false;
  }

  // Header lines of standard logs: "#Version:" starts one, "#Fields:" gives the layout.
  bool header(std::string_view line) {
    if (!is_header_line(line)) return false;
    if (line.rfind("#Fields:", 0) == 0) {
      auto f = parse_standard_fields_line(line);
      if (!f) {
        ++lines_;
        report(f.error().message());
        layout_ = nullptr;
        return true;
      }
      layout_ = std::make_shared<field_list>(std::move(*f));
      return true;
    }
    if (line.rfind("#Version:", 0) == 0) {
      if (layout_ == realtime_) layout_ = standard_default();
      return true;
    }
    return layout_ != realtime_;  // other comment lines belong to standard logs only
  }

  std::shared_ptr<const field_list> standard_default() {
    if (!standard_) standard_ = std::make_shared<field_list>(standard_default_fields());
    return standard_;
  }

  void report(std::string message) {
    ++malformed_;
    if (opt_.on_problem) {
      opt_.on_problem(
          problem{file_, line_no_, std::move(message), std::string(cur_.substr(0, 200))});
    }
  }

  void open_file(const std::string& path) {
    file_ = path;
    line_no_ = 0;
    begin_ = end_ = 0;
    eof_ = false;
    layout_ = opt_.input == input_kind::standard ? standard_default() : realtime_;
    line_.clear();
    gz_ = gzopen(path.c_str(), "rb");
    if (!gz_) {
      report(std::string("cannot open: ") + std::strerror(errno));
      return;
    }
    gzbuffer(gz_, 128 * 1024);
  }

  void close_file() {
    if (gz_) gzclose(gz_);
    gz_ = nullptr;
  }

  // 1: a line in line_; 0: end of file; -1: a line was reported and skipped.
  int read_line() {
    line_.clear();
    cur_ = {};
    bool too_long = false;
    // Most lines lie whole in the buffer: read them in place.
    if (begin_ < end_) {
      const char* start = buf_.data() + begin_;
      if (const void* nl = std::memchr(start, '\n', end_ - begin_)) {
        const auto take = static_cast<std::size_t>(static_cast<const char*>(nl) - start);
        begin_ += take + 1;
        ++line_no_;
        if (take > opt_.max_line) {
          ++lines_;
          report("line longer than " + std::to_string(opt_.max_line) + " bytes");
          return -1;
        }
        cur_ = std::string_view(start, take);
        return 1;
      }
    }
    for (;;) {
      if (begin_ == end_) {
        if (eof_) break;
        const int n = gzread(gz_, buf_.data(), static_cast<unsigned>(buf_.size()));
        if (n < 0) {
          int err = 0;
          const char* msg = gzerror(gz_, &err);
          ++line_no_;
          line_.clear();
          report(std::string("read error: ") + (msg ? msg : "unknown"));
          eof_ = true;
          return -1;
        }
        if (n == 0) {
          eof_ = true;
          break;
        }
        begin_ = 0;
        end_ = static_cast<std::size_t>(n);
      }
      const char* start = buf_.data() + begin_;
      const void* nl = std::memchr(start, '\n', end_ - begin_);
      const std::size_t take =
          nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - start) : end_ - begin_;
      if (!too_long) {
        if (line_.size() + take > opt_.max_line) {
          too_long = true;
          line_.clear();
        } else {
          line_.append(start, take);
        }
      }
      begin_ += take;
      if (nl) {
        ++begin_;
        ++line_no_;
        if (too_long) {
          ++lines_;
          line_.clear();
          report("line longer than " + std::to_string(opt_.max_line) + " bytes");
          return -1;
        }
        cur_ = line_;
        return 1;
      }
    }
    // End of file: a last line without '\n' is a partial record.
    if (too_long || !line_.empty()) {
      ++line_no_;
      ++lines_;
      if (!too_long) cur_ = line_;
      report("last line has no newline (a partial record)");
      return -1;
    }
    return 0;
  }

  std::vector<std::string> files_;
  reader_options opt_;
  std::shared_ptr<const field_list> realtime_, standard_, layout_;
  std::size_t next_file_ = 0;
  gzFile gz_ = nullptr;
  std::string file_;
  std::uint64_t line_no_ = 0;
  std::vector<char> buf_;
  std::size_t begin_ = 0, end_ = 0;
  bool eof_ = false;
  std::string line_;      // a line that spans buffer refills
  std::string_view cur_;  // the current line: in buf_ or in line_
  std::unordered_map<std::string, id_state> ids_;
  std::deque<std::unique_ptr<record>> held_;
  std::size_t held_base_ = 0;
  std::uint64_t malformed_ = 0, duplicates_ = 0, lines_ = 0, records_ = 0;
};

result<reader> reader::open(const std::vector<std::string>& paths, reader_options options) {
  namespace fs = std::filesystem;
  if (options.fields.empty()) return error(errc::invalid_argument, "empty field list");
  std::vector<std::string> files;
  for (const auto& p : paths) {
    std::error_code ec;
    const auto st = fs::status(p, ec);
    if (ec || !fs::exists(st)) {
      return error(errc::invalid_argument, "no such file or folder: " + p);
    }
    if (!fs::is_directory(st)) {
      files.push_back(p);
      continue;
    }
    std::vector<std::string> found;
    fs::recursive_directory_iterator it(p, ec), end;
    if (ec) return error(errc::invalid_argument, "cannot read folder " + p + ": " + ec.message());
    for (; it != end; it.increment(ec)) {
      if (ec) return error(errc::invalid_argument, "cannot read folder " + p + ": " + ec.message());
      const auto name = it->path().filename().string();
      if (!name.empty() && name[0] == '.') {
        if (it->is_directory()) it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file()) found.push_back(it->path().string());
    }
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
  }
  return reader(std::make_unique<impl>(std::move(files), std::move(options)));
}

reader::reader(std::unique_ptr<impl> p) noexcept : impl_(std::move(p)) {}
reader::reader(reader&&) noexcept = default;
reader& reader::operator=(reader&&) noexcept = default;
reader::~reader() = default;

bool reader::next(record& out) {
  return impl_->next(out);
}
std::uint64_t reader::malformed() const noexcept {
  return impl_->malformed();
}
std::uint64_t reader::duplicates() const noexcept {
  return impl_->duplicates();
}
std::uint64_t reader::lines() const noexcept {
  return impl_->lines();
}
std::uint64_t reader::records() const noexcept {
  return impl_->records();
}

}  // namespace pixel::log
