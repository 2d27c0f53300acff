// pixel logs: read real-time log records (files, folders, gzip) back into events.
// SPDX-License-Identifier: MIT
#include <algorithm>
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

struct logs_args {
  std::string format = "jsonl";
  std::string fields = "timestamp,c-ip,cs-user-agent,cs-uri-query";
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

std::string json_text(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string key_name(log::field f) {
  std::string k(log::field_name(f));
  std::replace(k.begin(), k.end(), '-', '_');
  return k;
}

bool is_number_field(log::field f) {
  using log::field;
  return f == field::sc_status || f == field::sc_bytes || f == field::cs_bytes ||
         f == field::c_port || f == field::sc_content_len || f == field::cs_headers_count ||
         f == field::time_taken || f == field::time_to_first_byte;
}

// Fields beyond the four that have their own keys.
bool is_extra(log::field f) {
  using log::field;
  return f != field::timestamp && f != field::c_ip && f != field::cs_user_agent &&
         f != field::cs_uri_query;
}

nlohmann::json extra_value(log::field f, std::string_view raw) {
  if (raw == "-") return nullptr;
  if (is_number_field(f)) {
    if (raw.find('.') != std::string_view::npos) {
      return std::strtod(std::string(raw).c_str(), nullptr);
    }
    return std::strtoll(std::string(raw).c_str(), nullptr, 10);
  }
  if (log::is_escaped(f)) {
    auto u = log::log_unescape(raw);
    if (u) return *u;
  }
  return std::string(raw);
}

// {"k": "v", ...} in query order.
std::string params_text(const log::record& r) {
  std::string p = "{";
  for (std::size_t i = 0; i < r.params.size(); ++i) {
    if (i) p += ", ";
    p += json_text(r.params[i].first);
    p += ": ";
    p += json_text(r.params[i].second);
  }
  p += "}";
  return p;
}

// One JSON object in the documented key order, ", " and ": " between items.
void write_jsonl(const log::record& r, std::string& out) {
  using log::field;
  bool first = true;
  auto item = [&](std::string_view key, const std::string& value_text) {
    out += first ? "{" : ", ";
    first = false;
    out += json_text(std::string(key));
    out += ": ";
    out += value_text;
  };
  const auto has = [&r](field f) { return r.raw(f).has_value(); };
  if (has(field::timestamp)) item("timestamp", json_text(r.timestamp()));
  if (has(field::c_ip)) item("c_ip", json_text(r.c_ip));
  if (has(field::cs_user_agent)) item("user_agent", json_text(r.user_agent));
  if (has(field::cs_uri_query)) {
    item("query", json_text(r.query));
    item("params", params_text(r));
  }
  for (std::size_t i = 0; i < r.fields.size(); ++i) {
    if (is_extra(r.fields[i])) {
      item(key_name(r.fields[i]), json_text(extra_value(r.fields[i], r.values[i])));
    }
  }
  out += first ? "{}\n" : "}\n";
}

std::string csv_cell(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string o = "\"";
  for (char c : s) {
    if (c == '"') o += '"';
    o += c;
  }
  o += '"';
  return o;
}

std::string tsv_cell(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '\t':
        o += "\\t";
        break;
      case '\n':
        o += "\\n";
        break;
      case '\r':
        o += "\\r";
        break;
      case '\\':
        o += "\\\\";
        break;
      default:
        o += c;
    }
  }
  return o;
}

std::vector<std::string> columns(const std::vector<log::field>& fields) {
  using log::field;
  std::vector<std::string> c;
  const auto has = [&](field f) {
    return std::find(fields.begin(), fields.end(), f) != fields.end();
  };
  if (has(field::timestamp)) c.push_back("timestamp");
  if (has(field::c_ip)) c.push_back("c_ip");
  if (has(field::cs_user_agent)) c.push_back("user_agent");
  if (has(field::cs_uri_query)) {
    c.push_back("query");
    c.push_back("params");
  }
  for (field f : fields) {
    if (is_extra(f)) c.push_back(key_name(f));
  }
  return c;
}

std::vector<std::string> cells(const log::record& r) {
  using log::field;
  std::vector<std::string> c;
  const auto has = [&r](field f) { return r.raw(f).has_value(); };
  if (has(field::timestamp)) c.push_back(std::string(*r.raw(field::timestamp)));
  if (has(field::c_ip)) c.push_back(r.c_ip);
  if (has(field::cs_user_agent)) c.push_back(r.user_agent);
  if (has(field::cs_uri_query)) {
    c.push_back(r.query);
    c.push_back(params_text(r));
  }
  for (std::size_t i = 0; i < r.fields.size(); ++i) {
    if (!is_extra(r.fields[i])) continue;
    const auto v = extra_value(r.fields[i], r.values[i]);
    c.push_back(v.is_null() ? std::string() : v.is_string() ? v.get<std::string>() : json_text(v));
  }
  return c;
}

void write_row(const std::vector<std::string>& row, bool csv, std::string& out) {
  for (std::size_t i = 0; i < row.size(); ++i) {
    if (i) out += csv ? ',' : '\t';
    out += csv ? csv_cell(row[i]) : tsv_cell(row[i]);
  }
  out += csv ? "\r\n" : "\n";
}

void flush_out(std::string& out) {
  std::fwrite(out.data(), 1, out.size(), stdout);
  out.clear();
}

int run_logs(const logs_args& a) {
  // value() rather than operator*: its explicit check lets GCC's -Wnull-dereference see
  // through result's variant at -O2.
  auto fields = log::parse_fields(a.fields);
  if (!fields.has_value()) return fail("--fields: " + fields.error().message());
  log::reader_options o;
  o.fields = fields.value();
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
  o.on_problem = [](const log::problem& p) {
    std::fprintf(stderr, "pixel: warning: %s:%llu: %s\n", p.file.c_str(),
                 static_cast<unsigned long long>(p.line), p.message.c_str());
  };
  if (a.stats && !a.group_by.empty() &&
      std::find(o.fields.begin(), o.fields.end(), log::field::cs_uri_query) == o.fields.end()) {
    return fail("--group-by needs cs-uri-query among the fields");
  }
  auto opened = log::reader::open(a.paths, o);
  if (!opened.has_value()) return fail(opened.error().message());
  log::reader* rd = &opened.value();

  const bool csv = a.format == "csv";
  const bool jsonl = a.format == "jsonl";
  std::string out;
  log::record r;

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
    if (a.group_by.empty()) {
      const std::vector<std::pair<std::string, std::uint64_t>> row = {
          {"records", records},
          {"events", events.size()},
          {"duplicates", rd->duplicates()},
          {"malformed", rd->malformed()}};
      if (jsonl) {
        nlohmann::ordered_json j;
        for (const auto& [k, v] : row) j[k] = v;
        out += j.dump() + "\n";
      } else {
        std::vector<std::string> head, vals;
        for (const auto& [k, v] : row) {
          head.push_back(k);
          vals.push_back(std::to_string(v));
        }
        write_row(head, csv, out);
        write_row(vals, csv, out);
      }
    } else {
      std::vector<std::pair<std::optional<std::string>, std::uint64_t>> sorted(groups.begin(),
                                                                               groups.end());
      std::stable_sort(sorted.begin(), sorted.end(),
                       [](const auto& x, const auto& y) { return x.second > y.second; });
      if (!jsonl) write_row({a.group_by, "count"}, csv, out);
      for (const auto& [value, count] : sorted) {
        if (jsonl) {
          nlohmann::ordered_json j;
          j[a.group_by] = value ? nlohmann::ordered_json(*value) : nlohmann::ordered_json(nullptr);
          j["count"] = count;
          out += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
        } else {
          write_row({value.value_or(""), std::to_string(count)}, csv, out);
        }
      }
    }
    flush_out(out);
    std::fflush(stdout);
    return exit_ok;
  }

  if (!jsonl) write_row(columns(o.fields), csv, out);
  while (rd->next(r)) {
    if (jsonl) {
      write_jsonl(r, out);
    } else {
      write_row(cells(r), csv, out);
    }
    if (out.size() >= 64 * 1024) flush_out(out);
  }
  flush_out(out);
  std::fflush(stdout);
  return exit_ok;
}

}  // namespace

void add_logs_command(CLI::App& app, context& ctx) {
  auto a = std::make_shared<logs_args>();
  CLI::App* cmd = app.add_subcommand("logs", "Read real-time log records back into events");
  cmd->add_option("--format", a->format, "jsonl, csv or tsv")
      ->check(CLI::IsMember({"jsonl", "csv", "tsv"}))
      ->capture_default_str();
  cmd->add_option("--fields", a->fields, "The records' fields (as given to the distribution)")
      ->capture_default_str();
  cmd->add_flag("--dedupe", a->dedupe, "One record per event id (the first delivered attempt)");
  cmd->add_option("--since", a->since,
                  "Keep records at or after T (epoch seconds or ISO 8601 UTC)");
  cmd->add_option("--until", a->until, "Keep records before T");
  CLI::Option* stats = cmd->add_flag("--stats", a->stats, "Print counts instead of records");
  cmd->add_option("--group-by", a->group_by, "With --stats: count records per value of this param")
      ->needs(stats);
  cmd->add_option("--event-id-key", a->event_id_key, "Parameter holding the event id")
      ->capture_default_str();
  cmd->add_option("paths", a->paths, "Files or folders of log objects")->required();
  cmd->callback([a, &ctx] { ctx.exit_code = run_logs(*a); });
}

}  // namespace pixel::cli
