// pixel logs: read CloudFront logs (real-time records, standard logs; files, folders, gzip)
// back into events.
// SPDX-License-Identifier: MIT
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "distinct.hpp"
#include "pixel/log.hpp"
#include "pixel/opens.hpp"
#include "pixel/url.hpp"

namespace pixel::cli {
namespace {

// Exit status when some lines could not be read (and others could).
constexpr int exit_partial = 3;

struct logs_args {
  std::string format = "jsonl";
  std::string fields = log::default_fields().to_string();
  std::string fields_order = "canonical";
  std::string input = "realtime";
  bool dedupe = false;
  std::string since, until;
  bool stats = false;
  std::string group_by;
  std::string event_id_key = "eid";
  std::vector<std::string> verify_keys;  // KID:FILE: add "signature" to each record
  bool classify = false;  // a "client" key/column from the open rules (docs/opens.md)
  std::vector<std::string> paths;
};

// Epoch seconds ("1718787248.53") or UTC ISO 8601 ("2024-06-19T08:54:08Z", seconds and
// the Z optional, fractions allowed), as epoch milliseconds.
std::optional<std::int64_t> parse_time(const std::string& s) {
  if (s.empty()) return std::nullopt;
  if (s.find_first_not_of("0123456789.") == std::string::npos) {
    const std::size_t dot = s.find('.');
    if (dot != s.rfind('.') || dot == 0) return std::nullopt;
    const std::string whole = s.substr(0, dot);
    std::string frac = dot == std::string::npos ? "" : s.substr(dot + 1);
    if (whole.size() > 12) return std::nullopt;
    frac = (frac + "000").substr(0, 3);
    return std::stoll(whole) * 1000 + std::stoll(frac);
  }
  std::tm tm{};
  int y = 0, mo = 0, d = 0, h = 0, mi = 0;
  double sec = 0;
  char tail[8] = {};
  const int n =
      std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%lf%7s", &y, &mo, &d, &h, &mi, &sec, tail);
  if (n < 5) return std::nullopt;
  if (n == 5) {
    const std::size_t len = s.size();
    if (!(len == 16 || (len == 17 && s.back() == 'Z'))) return std::nullopt;
  }
  if (n == 7 && std::string(tail) != "Z") return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec < 0 || sec >= 61) {
    return std::nullopt;
  }
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = 0;
  const std::time_t t = timegm(&tm);
  return static_cast<std::int64_t>(t) * 1000 + static_cast<std::int64_t>(sec * 1000.0 + 0.5);
}

// ---------------------------------------------------------------------------------------
// Output. Records are written into one reused buffer (fmt::memory_buffer), flushed in
// large blocks; nothing is allocated per record once the buffers have grown.

// Writers into room already made (`o` points at it); each returns the end of what it wrote.
// The bounds say how much room each can need.

void put(fmt::memory_buffer& b, std::string_view s) {
  b.append(s.data(), s.data() + s.size());
}

char* put_raw(char* o, std::string_view s) {
  std::memcpy(o, s.data(), s.size());
  return o + s.size();
}

// Bytes that JSON strings need escaped (< 0x20, '"', '\\'); bytes >= 0x80 are checked
// as UTF-8.
constexpr std::array<std::uint8_t, 256> json_class() {
  std::array<std::uint8_t, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[static_cast<std::size_t>(c)] = 1;
  t['"'] = 1;
  t['\\'] = 1;
  for (int c = 0x80; c < 256; ++c) t[static_cast<std::size_t>(c)] = 2;
  return t;
}
constexpr std::array<std::uint8_t, 256> json_bytes = json_class();

// Length of the valid UTF-8 sequence at s[i] (a byte >= 0x80), or 0 when it is not one.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  std::size_t n;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k) {
    if (b(i + k) < 0x80 || b(i + k) > 0xBF) return 0;
  }
  return n;
}

constexpr std::size_t json_string_bound(std::size_t n) {
  return 6 * n + 2;
}

// True when none of the 8 bytes in `x` needs a look: no control byte, quote, backslash or
// byte >= 0x80 (SWAR: each test sets a byte's high bit).
inline bool plain_word(std::uint64_t x) noexcept {
  constexpr std::uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
  const std::uint64_t q = x ^ (ones * '"');
  const std::uint64_t b = x ^ (ones * '\\');
  const std::uint64_t hits = ((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((b - ones) & ~b) | x;
  return (hits & high) == 0;
}

// A JSON string; invalid UTF-8 bytes become U+FFFD.
char* put_json_string(char* o, std::string_view s) {
  static constexpr char hexd[] = "0123456789abcdef";
  *o++ = '"';
  std::size_t run = 0;  // start of the bytes not yet copied
  for (std::size_t i = 0; i < s.size();) {
    if (i + 8 <= s.size()) {
      std::uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      if (plain_word(w)) {
        i += 8;
        continue;
      }
    }
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const std::uint8_t k = json_bytes[c];
    if (k == 0) {
      ++i;
      continue;
    }
    if (k == 2) {
      if (const std::size_t n = utf8_sequence(s, i)) {
        i += n;
        continue;
      }
    }
    o = put_raw(o, s.substr(run, i - run));
    if (k == 2) {
      o = put_raw(o, "\xEF\xBF\xBD");
    } else {
      *o++ = '\\';
      switch (c) {
        case '"':
        case '\\':
          *o++ = static_cast<char>(c);
          break;
        case '\n':
          *o++ = 'n';
          break;
        case '\t':
          *o++ = 't';
          break;
        case '\r':
          *o++ = 'r';
          break;
        case '\b':
          *o++ = 'b';
          break;
        case '\f':
          *o++ = 'f';
          break;
        default:
          o = put_raw(o, "u00");
          *o++ = hexd[c >> 4];
          *o++ = hexd[c & 0xF];
      }
    }
    run = ++i;
  }
  o = put_raw(o, s.substr(run));
  *o++ = '"';
  return o;
}

// A number as JSON wants it: no leading zeros ("000" is 0, "007.5" is 7.5).
char* put_number(char* o, std::string_view v) {
  if (!v.empty() && v[0] == '-') {
    *o++ = '-';
    v.remove_prefix(1);
  }
  std::size_t z = 0;
  while (z + 1 < v.size() && v[z] == '0' && v[z + 1] != '.') ++z;
  return put_raw(o, v.substr(z));
}

// Epoch milliseconds as seconds, the way a double prints: 1718787248.53, 1718787249.0.
constexpr std::size_t seconds_bound = 32;
char* put_seconds(char* o, std::int64_t ms) {
  const fmt::format_int whole(ms / 1000);
  o = put_raw(o, std::string_view(whole.data(), whole.size()));
  *o++ = '.';
  const int frac = static_cast<int>(ms % 1000);
  if (frac == 0) {
    *o++ = '0';
    return o;
  }
  char d[3] = {static_cast<char>('0' + frac / 100), static_cast<char>('0' + frac / 10 % 10),
               static_cast<char>('0' + frac % 10)};
  std::size_t n = 3;
  while (d[n - 1] == '0') --n;
  return put_raw(o, std::string_view(d, n));
}

using params_t = std::vector<std::pair<std::string, std::string>>;

std::size_t params_bound(const params_t& params) {
  std::size_t n = 2;
  for (const auto& [k, v] : params) n += json_string_bound(k.size() + v.size()) + 8;
  return n;
}

// {"k": "v", ...} in query order.
char* put_params(char* o, const params_t& params) {
  *o++ = '{';
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (i) o = put_raw(o, ", ");
    o = put_json_string(o, params[i].first);
    o = put_raw(o, ": ");
    o = put_json_string(o, params[i].second);
  }
  *o++ = '}';
  return o;
}

// Runs `write` on `bound` bytes of room at the end of `b`, keeps what it wrote.
template <class F>
void with_room(fmt::memory_buffer& b, std::size_t bound, F&& write) {
  const std::size_t old = b.size();
  b.resize(old + bound);
  char* end = write(b.data() + old);
  b.resize(static_cast<std::size_t>(end - b.data()));
}

std::string seconds_text(std::int64_t ms) {
  fmt::memory_buffer b;
  with_room(b, seconds_bound, [&](char* o) { return put_seconds(o, ms); });
  return fmt::to_string(b);
}

// What each output column is made of, worked out once per layout.
enum class source : std::uint8_t {
  timestamp,
  c_ip,
  user_agent,
  query,
  params,
  status,
  value,
  signature
};

struct column {
  std::string key;  // JSON key, CSV/TSV header
  source from;
  std::size_t index;  // the record column (for timestamp: of timestamp or date)
  log::field field;
};

std::vector<column> plan(const log::field_list& l) {
  using log::field;
  std::vector<column> c;
  const auto find = [&l](field f) {
    for (std::size_t i = 0; i < l.size(); ++i) {
      if (l[i] == f) return i;
    }
    return l.size();
  };
  // The most exact time logged: v2's timestamp(ms), the real-time timestamp, or the
  // standard date and time.
  if (std::size_t i = find(log::standard_timestamp_ms); i < l.size()) {
    c.push_back({"timestamp", source::timestamp, i, log::standard_timestamp_ms});
  } else if (std::size_t t = find(field::timestamp); t < l.size()) {
    c.push_back({"timestamp", source::timestamp, t, field::timestamp});
  } else if (std::size_t d = find(log::standard_date); d < l.size()) {
    c.push_back({"timestamp", source::timestamp, d, log::standard_date});
  }
  if (std::size_t i = find(field::c_ip); i < l.size()) {
    c.push_back({"c_ip", source::c_ip, i, field::c_ip});
  }
  if (std::size_t i = find(field::cs_user_agent); i < l.size()) {
    c.push_back({"user_agent", source::user_agent, i, field::cs_user_agent});
  }
  if (std::size_t i = find(field::cs_uri_query); i < l.size()) {
    c.push_back({"query", source::query, i, field::cs_uri_query});
    c.push_back({"params", source::params, i, field::cs_uri_query});
  }
  for (std::size_t i = 0; i < l.size(); ++i) {
    const field f = l[i];
    if (f == field::timestamp || f == field::c_ip || f == field::cs_user_agent ||
        f == field::cs_uri_query || f == log::standard_date || f == log::standard_time) {
      continue;
    }
    c.push_back({l.key(i), f == field::sc_status ? source::status : source::value, i, f});
  }
  return c;
}

class writer {
 public:
  writer(std::string format, std::FILE* out, const keyring* keys = nullptr)
      : format_(std::move(format)), out_(out), keys_(keys) {}
  // Adds a last "client" key (column) with the classifier's client for each record.
  void classify_with(const log::classifier* c) { classifier_ = c; }

  void write(const log::record& r) {
    if (r.layout != layout_) relayout(r.layout);
    if (format_ == "jsonl") {
      json(r);
    } else {
      row(r);
    }
    if (buf_.size() >= (1 << 16)) flush();
  }

  void flush() {
    std::fwrite(buf_.data(), 1, buf_.size(), out_);
    buf_.clear();
  }

  // The header row for CSV/TSV when nothing was written (so that empty output still
  // names its columns).
  void finish(const log::field_list& fallback) {
    if (format_ != "jsonl" && !layout_) {
      auto l = std::make_shared<log::field_list>(fallback);
      relayout(l);
    }
    flush();
  }

 private:
  void relayout(const std::shared_ptr<const log::field_list>& l) {
    std::vector<column> c = plan(*l);
    if (keys_ != nullptr)
      c.push_back({"signature", source::signature, 0, log::field::cs_uri_query});
    const bool same = !columns_.empty() && c.size() == columns_.size() &&
                      std::equal(c.begin(), c.end(), columns_.begin(),
                                 [](const column& a, const column& b) { return a.key == b.key; });
    layout_ = l;
    columns_ = std::move(c);
    keys_size_ = 0;
    for (const auto& col : columns_) keys_size_ += col.key.size() + 24;
    if (format_ != "jsonl" && !same) {
      std::vector<std::string> head;
      for (const auto& col : columns_) head.push_back(col.key);
      if (classifier_) head.push_back("client");
      put_row(head);
    }
  }

  // Room enough for any record: every byte of the line escaped, the params, the keys.
  std::size_t json_bound(const log::record& r) const {
    return json_string_bound(r.text.size()) * 2 + params_bound(r.params) + keys_size_ + 160 +
           columns_.size() * (seconds_bound + 8) + 32;
  }

  void json(const log::record& r) {
    with_room(buf_, json_bound(r), [&](char* o) { return json_into(o, r); });
  }

  char* json_into(char* o, const log::record& r) {
    bool first = true;
    for (const column& c : columns_) {
      o = put_raw(o, first ? "{\"" : ", \"");
      first = false;
      o = put_raw(o, c.key);
      o = put_raw(o, "\": ");
      const bool absent = r.absent(c.index);
      if (absent && c.from != source::params && c.from != source::signature) {
        o = put_raw(o, "null");
        continue;
      }
      switch (c.from) {
        case source::timestamp:
          o = put_seconds(o, r.timestamp_ms);
          break;
        case source::c_ip:
          o = put_json_string(o, r.c_ip);
          break;
        case source::user_agent:
          o = put_json_string(o, r.user_agent);
          break;
        case source::query:
          o = put_json_string(o, r.query);
          break;
        case source::params:
          o = put_params(o, r.params);
          break;
        case source::status: {
          const fmt::format_int n(r.status);
          o = put_raw(o, std::string_view(n.data(), n.size()));
          if (r.closed) o = put_raw(o, ", \"closed\": true");
          break;
        }
        case source::value:
          o = value_into(o, r, c);
          break;
        case source::signature:
          o = put_json_string(o, signature_status_name(hit_signature(r, *keys_)));
          break;
      }
    }
    if (classifier_) {
      o = put_raw(o, first ? "{\"client\": " : ", \"client\": ");
      o = put_json_string(o, client(r));
      first = false;
    }
    return put_raw(o, first ? "{}\n" : "}\n");
  }

  char* value_into(char* o, const log::record& r, const column& c) {
    const std::string_view v = r.value(c.index);
    const log::field_type t = log::type_of(c.field);
    if (t == log::field_type::integer || t == log::field_type::decimal) {
      return put_number(o, v);  // validated by the parser
    }
    if (log::is_escaped(c.field)) {
      scratch_.clear();
      log::log_unescape_append(v, scratch_);
      return put_json_string(o, scratch_);
    }
    return put_json_string(o, v);
  }

  std::string text(const log::record& r, const column& c) {
    const bool absent = r.absent(c.index);
    switch (c.from) {
      case source::timestamp:
        if (absent) return {};
        // Real-time records: the value as written; standard logs: date and time joined.
        return c.field == log::field::timestamp ? std::string(r.value(c.index))
                                                : seconds_text(r.timestamp_ms);
      case source::c_ip:
        return r.c_ip;
      case source::user_agent:
        return r.user_agent;
      case source::query:
        return r.query;
      case source::params: {
        fmt::memory_buffer b;
        with_room(b, params_bound(r.params), [&](char* o) { return put_params(o, r.params); });
        return fmt::to_string(b);
      }
      case source::status:
        return absent ? std::string() : std::to_string(r.status);
      case source::value:
        break;
      case source::signature:
        return std::string(signature_status_name(hit_signature(r, *keys_)));
    }
    if (absent) return {};
    const std::string_view v = r.value(c.index);
    const log::field_type t = log::type_of(c.field);
    if (t == log::field_type::integer || t == log::field_type::decimal) {
      fmt::memory_buffer b;
      with_room(b, v.size() + 1, [&](char* o) { return put_number(o, v); });
      return fmt::to_string(b);
    }
    if (log::is_escaped(c.field)) {
      std::string s;
      log::log_unescape_append(v, s);
      return s;
    }
    return std::string(v);
  }

  void row(const log::record& r) {
    std::vector<std::string> cells;
    cells.reserve(columns_.size());
    for (const column& c : columns_) cells.push_back(text(r, c));
    if (classifier_) cells.emplace_back(client(r));
    put_row(cells);
  }

  void put_row(const std::vector<std::string>& cells) {
    const bool csv = format_ == "csv";
    for (std::size_t i = 0; i < cells.size(); ++i) {
      if (i) buf_.push_back(csv ? ',' : '\t');
      const std::string& s = cells[i];
      if (csv) {
        if (s.find_first_of(",\"\r\n") == std::string::npos) {
          put(buf_, s);
          continue;
        }
        buf_.push_back('"');
        for (char ch : s) {
          if (ch == '"') buf_.push_back('"');
          buf_.push_back(ch);
        }
        buf_.push_back('"');
        continue;
      }
      for (char ch : s) {
        switch (ch) {
          case '\t':
            put(buf_, "\\t");
            break;
          case '\n':
            put(buf_, "\\n");
            break;
          case '\r':
            put(buf_, "\\r");
            break;
          case '\\':
            put(buf_, "\\\\");
            break;
          default:
            buf_.push_back(ch);
        }
      }
    }
    put(buf_, csv ? "\r\n" : "\n");
  }

  // Without a manifest there is no `sent`, so the scanner rule does not apply here.
  std::string_view client(const log::record& r) const {
    return classifier_->classify(r.user_agent, r.c_ip, std::nullopt).client;
  }

  const log::classifier* classifier_ = nullptr;
  std::string format_;
  std::FILE* out_;
  const keyring* keys_ = nullptr;  // --verify-key: a "signature" column
  fmt::memory_buffer buf_;
  std::string scratch_;
  std::shared_ptr<const log::field_list> layout_;
  std::vector<column> columns_;
  std::size_t keys_size_ = 0;  // room for the keys and their punctuation
};

// Weights of sampled records: a record whose sr (the sampling rate it was kept at) is a
// decimal in (0, 1] stands for 1/sr records; one without sr for itself. An sr that is not
// such a rate counts as 1 and in `bad`, so a broken producer shows instead of skewing.
// The estimate of events is the distinct counter's weight().
struct estimate {
  double records = 0;
  std::uint64_t sampled = 0;
  std::uint64_t bad = 0;

  double weigh(const std::string* sr) {
    if (sr == nullptr) return 1;
    bool refused = false;
    const double w = sample_weight(*sr, refused);
    ++sampled;
    if (refused) ++bad;
    return w;
  }

  static double round(double v) { return round_estimate(v); }
};

// Up to this many skipped lines are quoted on stderr; the rest are counted.
constexpr std::uint64_t quoted_problems = 10;

std::string excerpt(std::string_view s) {
  std::string o;
  for (char ch : s.substr(0, 160)) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\t') {
      o += "\\t";
    } else if (c < 0x20 || c == 0x7F) {
      o += fmt::format("\\x{:02x}", static_cast<unsigned>(c));
    } else {
      o += ch;
    }
  }
  if (s.size() > 160) o += "...";
  return o;
}

int run_logs(const logs_args& a) {
  const auto order =
      a.fields_order == "as-given" ? log::field_order::as_given : log::field_order::canonical;
  // value() rather than operator*: its explicit check lets GCC's -Wnull-dereference see
  // through result's variant at -O2. A list naming standard-log columns (date, time,
  // timestamp(ms), cs(User-Agent), ...) is a v2 field selection, in record order.
  auto fields = log::names_standard_columns(a.fields) ? log::parse_standard_fields(a.fields)
                                                      : log::parse_fields(a.fields, order);
  if (!fields.has_value()) {
    return fail(order == log::field_order::canonical && !log::names_standard_columns(a.fields)
                    ? explain_fields(a.fields, fields.error())
                    : "--fields: " + fields.error().message());
  }
  log::reader_options o;
  o.fields = fields.value();
  o.input = a.input == "standard"  ? log::input_kind::standard
            : a.input == "v2-json" ? log::input_kind::v2_json
                                   : log::input_kind::realtime;
  o.dedupe = a.dedupe;
  o.event_id_key = a.event_id_key;
  if (!a.since.empty()) {
    o.since_ms = parse_time(a.since);
    if (!o.since_ms) return fail("--since: not a time: '" + a.since + "'");
  }
  if (!a.until.empty()) {
    o.until_ms = parse_time(a.until);
    if (!o.until_ms) return fail("--until: not a time: '" + a.until + "'");
  }
  std::uint64_t problems = 0, shown = 0, cut_files = 0;
  o.on_problem = [&problems, &shown, &cut_files](const log::problem& p) {
    if (p.file_cut) ++cut_files;
    if (++problems > quoted_problems && !p.file_cut) return;
    ++shown;
    // A file cut short is always named: the records after the offset are lost.
    std::string m = fmt::format("pixel: {}: {}:{}: {}", p.file_cut ? "error" : "warning", p.file,
                                p.line, p.message);
    if (!p.text.empty()) m += fmt::format("\n  line: {}", excerpt(p.text));
    m += '\n';
    std::fwrite(m.data(), 1, m.size(), stderr);
  };
  o.on_note = [](const log::problem& p) {
    const std::string m = fmt::format("pixel: note: {}:{}: {}\n", p.file, p.line, p.message);
    std::fwrite(m.data(), 1, m.size(), stderr);
  };
  if (a.stats && !a.group_by.empty() && o.input == log::input_kind::realtime &&
      !o.fields.contains(log::field::cs_uri_query)) {
    return fail("--group-by needs cs-uri-query among the fields");
  }
  // Counts read the event id, sr and the --group-by param: no user agent.
  if (a.stats) o.decode.user_agent = false;
  auto opened = log::reader::open(a.paths, o);
  if (!opened.has_value()) return fail(opened.error().message());
  log::reader* rd = &opened.value();

  const bool jsonl = a.format == "jsonl";
  log::record r;
  fmt::memory_buffer out;

  if (a.stats) {
    std::uint64_t records = 0;
    distinct_counter<> events;  // the weighted estimate of events is events.weight()
    std::map<std::optional<std::string>, std::uint64_t> groups;
    // Sampled records (sr=<rate>, pixel/sampling.hpp) stand for 1/rate each: the estimates
    // beside the raw counts, shown once any record carries a valid sr.
    estimate est;
    std::map<std::optional<std::string>, double> group_estimates;
    while (rd->next(r)) {
      ++records;
      const double weight = est.weigh(r.param("sr"));
      est.records += weight;
      if (const std::string* id = r.param(a.event_id_key)) events.add(*id, weight);
      if (!a.group_by.empty()) {
        const std::string* v = r.param(a.group_by);
        const auto key = v ? std::optional<std::string>(*v) : std::nullopt;
        ++groups[key];
        group_estimates[key] += weight;
      }
    }
    std::string text;
    const auto row = [&](const std::vector<std::string>& cells) {
      const bool csv = a.format == "csv";
      for (std::size_t i = 0; i < cells.size(); ++i) {
        if (i) text += csv ? ',' : '\t';
        text += cells[i];
      }
      text += csv ? "\r\n" : "\n";
    };
    if (a.group_by.empty()) {
      const std::vector<std::pair<std::string, std::uint64_t>> counts = {
          {"records", records},
          {"events", events.count()},
          {"duplicates", rd->duplicates()},
          {"malformed", rd->malformed()}};
      if (jsonl) {
        nlohmann::ordered_json j;
        for (const auto& [k, v] : counts) j[k] = v;
        if (est.sampled > 0) {
          j["sampled_records"] = est.sampled;
          j["bad_rates"] = est.bad;
          j["estimated_records"] = estimate::round(est.records);
          j["estimated_events"] = estimate::round(events.weight());
        }
        text += j.dump() + "\n";
      } else {
        std::vector<std::string> head, vals;
        for (const auto& [k, v] : counts) {
          head.push_back(k);
          vals.push_back(std::to_string(v));
        }
        if (est.sampled > 0) {
          head.insert(head.end(),
                      {"sampled_records", "bad_rates", "estimated_records", "estimated_events"});
          vals.insert(vals.end(), {std::to_string(est.sampled), std::to_string(est.bad),
                                   fmt::format("{}", estimate::round(est.records)),
                                   fmt::format("{}", estimate::round(events.weight()))});
        }
        row(head);
        row(vals);
      }
    } else {
      std::vector<std::pair<std::optional<std::string>, std::uint64_t>> sorted(groups.begin(),
                                                                               groups.end());
      std::stable_sort(sorted.begin(), sorted.end(),
                       [](const auto& x, const auto& y) { return x.second > y.second; });
      const bool weighted = est.sampled > 0;
      if (!jsonl) {
        if (weighted) {
          row({a.group_by, "count", "estimated"});
        } else {
          row({a.group_by, "count"});
        }
      }
      for (const auto& [value, count] : sorted) {
        const double estimated = estimate::round(group_estimates[value]);
        if (jsonl) {
          nlohmann::ordered_json j;
          j[a.group_by] = value ? nlohmann::ordered_json(*value) : nlohmann::ordered_json(nullptr);
          j["count"] = count;
          if (weighted) j["estimated"] = estimated;
          text += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
        } else {
          // CSV/TSV cells: the value as text.
          std::string v = value.value_or("");
          if (a.format == "csv" && v.find_first_of(",\"\r\n") != std::string::npos) {
            std::string q = "\"";
            for (char ch : v) {
              if (ch == '"') q += '"';
              q += ch;
            }
            v = q + "\"";
          }
          if (weighted) {
            row({v, std::to_string(count), fmt::format("{}", estimated)});
          } else {
            row({v, std::to_string(count)});
          }
        }
      }
    }
    std::fwrite(text.data(), 1, text.size(), stdout);
  } else {
    std::optional<keyring> keys;
    if (!a.verify_keys.empty()) {
      auto ring = read_keyring("--verify-key", a.verify_keys);
      if (!ring) return fail(ring.error().message());
      keys = std::move(*ring);
    }
    writer w(a.format, stdout, keys ? &*keys : nullptr);
    const log::classifier rules;
    if (a.classify) w.classify_with(&rules);
    while (rd->next(r)) w.write(r);
    w.finish(o.input == log::input_kind::standard ? log::standard_default_fields() : o.fields);
  }
  std::fflush(stdout);

  if (rd->malformed() == 0) return exit_ok;
  std::string m = fmt::format("pixel: {} of {} lines skipped ({} shown above); {} records read\n",
                              rd->malformed(), rd->lines(), shown, rd->records());
  std::fwrite(m.data(), 1, m.size(), stderr);
  // Nothing read from input of the wrong kind is a failure; a file cut short (its records
  // before the cut were written) is partial input, as skipped lines are.
  return rd->records() == 0 && cut_files == 0 ? exit_failure : exit_partial;
}

}  // namespace

void add_logs_command(CLI::App& app, context& ctx) {
  auto a = std::make_shared<logs_args>();
  CLI::App* cmd = app.add_subcommand(
      "logs", "Read CloudFront logs (real-time records, standard logs) back into events");
  cmd->add_option("--format", a->format, "jsonl, csv or tsv")
      ->check(CLI::IsMember({"jsonl", "csv", "tsv"}))
      ->capture_default_str();
  cmd->add_option("--fields", a->fields,
                  "The records' fields: the real-time log configuration's, or a standard "
                  "logging v2 field selection in record order (date,time,timestamp(ms),...)")
      ->capture_default_str();
  cmd->add_option("--fields-order", a->fields_order,
                  "canonical: --fields in any order, records in CloudFront's order; as-given: "
                  "the records' columns exactly as listed (unknown names read as text)")
      ->check(CLI::IsMember({"canonical", "as-given"}))
      ->capture_default_str();
  cmd->add_option("--input", a->input,
                  "Files without a header: realtime (records laid out as --fields), standard "
                  "(legacy standard-log lines, documented field list) or v2-json (every line "
                  "a JSON object). Files starting with #Version: or #Fields: are standard "
                  "logs, lines starting with { are v2 JSON, whatever this says")
      ->check(CLI::IsMember({"realtime", "standard", "v2-json"}))
      ->capture_default_str();
  cmd->add_flag("--dedupe", a->dedupe,
                "One record per event id (the first 2xx/3xx attempt, else the first)");
  cmd->add_option("--since", a->since,
                  "Keep records at or after T (epoch seconds or ISO 8601 UTC)");
  cmd->add_option("--until", a->until, "Keep records before T");
  CLI::Option* stats = cmd->add_flag("--stats", a->stats, "Print counts instead of records");
  cmd->add_option("--group-by", a->group_by, "With --stats: count records per value of this param")
      ->needs(stats);
  cmd->add_option("--event-id-key", a->event_id_key, "Parameter holding the event id")
      ->capture_default_str();
  cmd->add_option("--verify-key", a->verify_keys,
                  "Add \"signature\" (valid, missing, unknown_key, expired, bad_signature) to "
                  "each record, checked with these keys: KID:FILE (FILE holds the base64 key); "
                  "repeatable")
      ->allow_extra_args(false);
  cmd->add_flag("--classify", a->classify,
                "Add each record's client (apple_mpp, gmail_proxy, bot, human, ...) by the open "
                "rules; the scanner rule needs a manifest: see `pixel opens`");
  cmd->add_option("paths", a->paths, "Files or folders of log objects")->required();
  cmd->footer(
      "Exit status: 0 every line was read; 1 nothing could be read (or a bad argument or "
      "path); 2 usage error; 3 some lines were skipped (each reported on stderr, the first "
      "few quoted) or a file was cut short (a truncated or corrupt gzip object, named with "
      "the byte offset; the records before it are written).");
  cmd->callback([a, &ctx] { ctx.exit_code = run_logs(*a); });
}

}  // namespace pixel::cli
