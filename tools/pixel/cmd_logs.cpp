// pixel logs: read CloudFront logs (real-time records, standard logs; files, folders, gzip)
// back into events.
// SPDX-License-Identifier: MIT
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "pixel/log.hpp"

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

void put(fmt::memory_buffer& b, std::string_view s) {
  b.append(s.data(), s.data() + s.size());
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

// A JSON string; invalid UTF-8 bytes become U+FFFD.
void put_json_string(fmt::memory_buffer& b, std::string_view s) {
  b.push_back('"');
  std::size_t run = 0;  // start of the bytes not yet copied
  for (std::size_t i = 0; i < s.size();) {
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
    b.append(s.data() + run, s.data() + i);
    if (k == 2) {
      put(b, "\xEF\xBF\xBD");
    } else {
      switch (c) {
        case '"':
          put(b, "\\\"");
          break;
        case '\\':
          put(b, "\\\\");
          break;
        case '\n':
          put(b, "\\n");
          break;
        case '\t':
          put(b, "\\t");
          break;
        case '\r':
          put(b, "\\r");
          break;
        case '\b':
          put(b, "\\b");
          break;
        case '\f':
          put(b, "\\f");
          break;
        default:
          fmt::format_to(std::back_inserter(b), "\\u{:04x}", static_cast<unsigned>(c));
      }
    }
    run = ++i;
  }
  b.append(s.data() + run, s.data() + s.size());
  b.push_back('"');
}

// A number as JSON wants it: no leading zeros ("000" is 0, "007.5" is 7.5).
void put_number(fmt::memory_buffer& b, std::string_view v) {
  if (!v.empty() && v[0] == '-') {
    b.push_back('-');
    v.remove_prefix(1);
  }
  std::size_t z = 0;
  while (z + 1 < v.size() && v[z] == '0' && v[z + 1] != '.') ++z;
  put(b, v.substr(z));
}

// Epoch milliseconds as seconds, the way a double prints: 1718787248.53, 1718787249.0.
void put_seconds(fmt::memory_buffer& b, std::int64_t ms) {
  fmt::format_to(std::back_inserter(b), "{}.", ms / 1000);
  int frac = static_cast<int>(ms % 1000);
  if (frac == 0) {
    b.push_back('0');
    return;
  }
  char d[3] = {static_cast<char>('0' + frac / 100), static_cast<char>('0' + frac / 10 % 10),
               static_cast<char>('0' + frac % 10)};
  std::size_t n = 3;
  while (d[n - 1] == '0') --n;
  b.append(d, d + n);
}

// {"k": "v", ...} in query order.
void put_params(fmt::memory_buffer& b,
                const std::vector<std::pair<std::string, std::string>>& params) {
  b.push_back('{');
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (i) put(b, ", ");
    put_json_string(b, params[i].first);
    put(b, ": ");
    put_json_string(b, params[i].second);
  }
  b.push_back('}');
}

std::string seconds_text(std::int64_t ms) {
  fmt::memory_buffer b;
  put_seconds(b, ms);
  return fmt::to_string(b);
}

// What each output column is made of, worked out once per layout.
enum class source : std::uint8_t { timestamp, c_ip, user_agent, query, params, status, value };
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
  if (std::size_t i = find(field::timestamp); i < l.size()) {
    c.push_back({"timestamp", source::timestamp, i, field::timestamp});
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
  writer(std::string format, std::FILE* out) : format_(std::move(format)), out_(out) {}

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
    const bool same = !columns_.empty() && c.size() == columns_.size() &&
                      std::equal(c.begin(), c.end(), columns_.begin(),
                                 [](const column& a, const column& b) { return a.key == b.key; });
    layout_ = l;
    columns_ = std::move(c);
    if (format_ != "jsonl" && !same) {
      std::vector<std::string> head;
      for (const auto& col : columns_) head.push_back(col.key);
      put_row(head);
    }
  }

  void json(const log::record& r) {
    bool first = true;
    for (const column& c : columns_) {
      put(buf_, first ? "{\"" : ", \"");
      first = false;
      put(buf_, c.key);
      put(buf_, "\": ");
      const bool absent = r.absent(c.index);
      switch (c.from) {
        case source::timestamp:
          if (absent) {
            put(buf_, "null");
          } else {
            put_seconds(buf_, r.timestamp_ms);
          }
          break;
        case source::c_ip:
          absent ? put(buf_, "null") : put_json_string(buf_, r.c_ip);
          break;
        case source::user_agent:
          absent ? put(buf_, "null") : put_json_string(buf_, r.user_agent);
          break;
        case source::query:
          absent ? put(buf_, "null") : put_json_string(buf_, r.query);
          break;
        case source::params:
          put_params(buf_, r.params);
          break;
        case source::status:
          if (absent) {
            put(buf_, "null");
          } else {
            fmt::format_to(std::back_inserter(buf_), "{}", r.status);
            if (r.closed) put(buf_, ", \"closed\": true");
          }
          break;
        case source::value:
          value(r, c);
          break;
      }
    }
    put(buf_, first ? "{}\n" : "}\n");
  }

  void value(const log::record& r, const column& c) {
    if (r.absent(c.index)) {
      put(buf_, "null");
      return;
    }
    const std::string_view v = r.value(c.index);
    const log::field_type t = log::type_of(c.field);
    if (t == log::field_type::integer || t == log::field_type::decimal) {
      put_number(buf_, v);  // validated by the parser
    } else if (log::is_escaped(c.field)) {
      scratch_.clear();
      log::log_unescape_append(v, scratch_);
      put_json_string(buf_, scratch_);
    } else {
      put_json_string(buf_, v);
    }
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
        put_params(b, r.params);
        return fmt::to_string(b);
      }
      case source::status:
        return absent ? std::string() : std::to_string(r.status);
      case source::value:
        break;
    }
    if (absent) return {};
    const std::string_view v = r.value(c.index);
    const log::field_type t = log::type_of(c.field);
    if (t == log::field_type::integer || t == log::field_type::decimal) {
      fmt::memory_buffer b;
      put_number(b, v);
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

  std::string format_;
  std::FILE* out_;
  fmt::memory_buffer buf_;
  std::string scratch_;
  std::shared_ptr<const log::field_list> layout_;
  std::vector<column> columns_;
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
  // through result's variant at -O2.
  auto fields = log::parse_fields(a.fields, order);
  if (!fields.has_value()) return fail("--fields: " + fields.error().message());
  log::reader_options o;
  o.fields = fields.value();
  o.input = a.input == "standard" ? log::input_kind::standard : log::input_kind::realtime;
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
  std::uint64_t problems = 0;
  o.on_problem = [&problems](const log::problem& p) {
    if (++problems > quoted_problems) return;
    std::string m = fmt::format("pixel: warning: {}:{}: {}", p.file, p.line, p.message);
    if (!p.text.empty()) m += fmt::format("\n  line: {}", excerpt(p.text));
    m += '\n';
    std::fwrite(m.data(), 1, m.size(), stderr);
  };
  if (a.stats && !a.group_by.empty() && o.input == log::input_kind::realtime &&
      !o.fields.contains(log::field::cs_uri_query)) {
    return fail("--group-by needs cs-uri-query among the fields");
  }
  auto opened = log::reader::open(a.paths, o);
  if (!opened.has_value()) return fail(opened.error().message());
  log::reader* rd = &opened.value();

  const bool jsonl = a.format == "jsonl";
  log::record r;
  fmt::memory_buffer out;

  if (a.stats) {
    std::uint64_t records = 0;
    std::unordered_set<std::string> events;
    std::map<std::optional<std::string>, std::uint64_t> groups;
    while (rd->next(r)) {
      ++records;
      if (const std::string* id = r.param(a.event_id_key)) events.insert(*id);
      if (!a.group_by.empty()) {
        const std::string* v = r.param(a.group_by);
        ++groups[v ? std::optional<std::string>(*v) : std::nullopt];
      }
    }
    writer w(a.format, stdout);
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
          {"events", events.size()},
          {"duplicates", rd->duplicates()},
          {"malformed", rd->malformed()}};
      if (jsonl) {
        nlohmann::ordered_json j;
        for (const auto& [k, v] : counts) j[k] = v;
        text += j.dump() + "\n";
      } else {
        std::vector<std::string> head, vals;
        for (const auto& [k, v] : counts) {
          head.push_back(k);
          vals.push_back(std::to_string(v));
        }
        row(head);
        row(vals);
      }
    } else {
      std::vector<std::pair<std::optional<std::string>, std::uint64_t>> sorted(groups.begin(),
                                                                               groups.end());
      std::stable_sort(sorted.begin(), sorted.end(),
                       [](const auto& x, const auto& y) { return x.second > y.second; });
      if (!jsonl) row({a.group_by, "count"});
      for (const auto& [value, count] : sorted) {
        if (jsonl) {
          nlohmann::ordered_json j;
          j[a.group_by] = value ? nlohmann::ordered_json(*value) : nlohmann::ordered_json(nullptr);
          j["count"] = count;
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
          row({v, std::to_string(count)});
        }
      }
    }
    std::fwrite(text.data(), 1, text.size(), stdout);
  } else {
    writer w(a.format, stdout);
    while (rd->next(r)) w.write(r);
    w.finish(o.input == log::input_kind::standard ? log::standard_default_fields() : o.fields);
  }
  std::fflush(stdout);

  if (rd->malformed() == 0) return exit_ok;
  const std::uint64_t shown = std::min(problems, quoted_problems);
  std::string m = fmt::format("pixel: {} of {} lines skipped ({} shown above); {} records read\n",
                              rd->malformed(), rd->lines(), shown, rd->records());
  std::fwrite(m.data(), 1, m.size(), stderr);
  return rd->records() == 0 ? exit_failure : exit_partial;
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
                  "The real-time records' fields (the distribution's real-time log "
                  "configuration)")
      ->capture_default_str();
  cmd->add_option("--fields-order", a->fields_order,
                  "canonical: --fields in any order, records in CloudFront's order; as-given: "
                  "the records' columns exactly as listed (unknown names read as text)")
      ->check(CLI::IsMember({"canonical", "as-given"}))
      ->capture_default_str();
  cmd->add_option("--input", a->input,
                  "Files without a header: realtime (records laid out as --fields) or standard "
                  "(standard-log lines, documented field list). Files starting with #Version: "
                  "or #Fields: are standard logs whatever this says")
      ->check(CLI::IsMember({"realtime", "standard"}))
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
  cmd->add_option("paths", a->paths, "Files or folders of log objects")->required();
  cmd->footer(
      "Exit status: 0 every line was read; 1 nothing could be read (or a bad argument or "
      "path); 2 usage error; 3 some lines were skipped (each reported on stderr, the first "
      "few quoted).");
  cmd->callback([a, &ctx] { ctx.exit_code = run_logs(*a); });
}

}  // namespace pixel::cli
