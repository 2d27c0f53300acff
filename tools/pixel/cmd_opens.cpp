// pixel opens: which messages people opened, told apart from machine fetches (Apple Mail
// Privacy Protection, Gmail's prefetch, security gateways, bots), from the logs and the
// campaign manifests (manifest.jsonl). See docs/opens.md.
// SPDX-License-Identifier: MIT
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "opens_report.hpp"
#include "pixel/log.hpp"
#include "pixel/opens.hpp"

namespace pixel::cli {

bool opens_message::any_hit() const noexcept {
  for (const auto n : hits) {
    if (n) return true;
  }
  return false;
}

const char* opens_message::verdict() const noexcept {
  if (first_open_ms) return "opened";
  return any_hit() ? "machine_only" : "not_opened";
}

bool opens_report::any_unknown() const noexcept {
  if (unknown_failed) return true;
  for (const auto n : unknown_hits) {
    if (n) return true;
  }
  return false;
}

void opens_report::finish() {
  for (auto& c : campaigns) {
    c.hits.assign(clients.size(), 0);
    c.opened = c.machine_only = c.not_opened = 0;
    c.time_to_open.clear();
    bool first = true;
    for (const std::size_t i : c.messages) {
      const opens_message& m = messages[i];
      if (first || m.sent_ms < c.first_sent_ms) c.first_sent_ms = m.sent_ms;
      if (first || m.sent_ms > c.last_sent_ms) c.last_sent_ms = m.sent_ms;
      first = false;
      for (std::size_t k = 0; k < clients.size(); ++k) c.hits[k] += m.hits[k];
      if (m.first_open_ms) {
        ++c.opened;
        c.time_to_open.push_back(static_cast<double>(*m.first_open_ms - m.sent_ms) / 1000.0);
      } else if (m.any_hit()) {
        ++c.machine_only;
      } else {
        ++c.not_opened;
      }
    }
    std::sort(c.time_to_open.begin(), c.time_to_open.end());
    const std::size_t n = c.time_to_open.size();
    if (n == 0) {
      c.median_time_to_open.reset();
    } else if (n % 2) {
      c.median_time_to_open = c.time_to_open[n / 2];
    } else {
      c.median_time_to_open = (c.time_to_open[n / 2 - 1] + c.time_to_open[n / 2]) / 2.0;
    }
  }
}

namespace {

constexpr int exit_partial = 3;  // some lines (of a log or a manifest) were skipped

struct opens_args {
  std::vector<std::string> manifests;
  std::vector<std::string> paths;
  bool summary = false;
  std::string html;
  std::string machine_ranges;
  double scanner_window = log::default_scanner_window();
  std::string fields = log::default_fields().to_string();
  std::string input = "realtime";
  std::string event_id_key = "eid";
};

nlohmann::ordered_json seconds_or_null(std::optional<std::int64_t> ms) {
  if (!ms) return nullptr;
  return static_cast<double>(*ms) / 1000.0;
}

// The line as email-campaign writes it ({"campaign": "..", "eid": "..", "recipient": ".."
// or null, "sent": N, "mode": ".."}, "mode" optional, no escapes), read without a JSON
// parser; anything else (a null eid included): false, and the JSON parser reads it.
bool fast_manifest_line(std::string_view l, opens_message& m, double& sent) {
  const auto skip = [&l] {
    while (!l.empty() && l.front() == ' ') l.remove_prefix(1);
  };
  const auto lit = [&](std::string_view t) {
    skip();
    if (l.substr(0, t.size()) != t) return false;
    l.remove_prefix(t.size());
    return true;
  };
  const auto str = [&](std::string& out) {
    skip();
    if (l.empty() || l.front() != '"') return false;
    const std::size_t end = l.find('"', 1);
    if (end == std::string_view::npos) return false;
    const std::string_view v = l.substr(1, end - 1);
    for (const char c : v) {
      if (c == '\\' || static_cast<unsigned char>(c) < 0x20 ||
          static_cast<unsigned char>(c) >= 0x80) {
        return false;
      }
    }
    out.assign(v);
    l.remove_prefix(end + 1);
    return true;
  };
  std::string recipient;
  if (!lit("{\"campaign\":") || !str(m.campaign) || !lit(",") || !lit("\"eid\":") || !str(m.eid) ||
      m.eid.empty() || !lit(",") || !lit("\"recipient\":")) {
    return false;
  }
  if (lit("null")) {
    m.recipient.reset();
  } else if (str(recipient)) {
    m.recipient = std::move(recipient);
  } else {
    return false;
  }
  if (!lit(",") || !lit("\"sent\":")) return false;
  skip();
  std::size_t n = 0;
  while (n < l.size() && ((l[n] >= '0' && l[n] <= '9') || l[n] == '.')) ++n;
  if (n == 0 || l[0] == '.') return false;
  const std::string num(l.substr(0, n));
  char* end = nullptr;
  sent = std::strtod(num.c_str(), &end);
  if (end != num.c_str() + num.size()) return false;
  l.remove_prefix(n);
  if (lit(",")) {
    std::string mode;
    if (!lit("\"mode\":") || !str(mode)) return false;
  }
  return lit("}") && (skip(), l.empty());
}

// Reads the manifests into `r`. Bad lines are reported (file:line) and skipped.
struct manifest_loader {
  opens_report& r;
  std::unordered_map<std::string_view, std::size_t>& by_eid;
  std::uint64_t problems = 0;

  void warn(const std::string& m) {
    ++problems;
    fmt::print(stderr, "pixel: warning: {}\n", m);
  }

  result<void> load(const std::string& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      std::vector<fs::path> files;
      for (auto it = fs::recursive_directory_iterator(path, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (it->is_regular_file() && it->path().filename() == "manifest.jsonl") {
          files.push_back(it->path());
        }
      }
      if (ec) return error(errc::invalid_argument, "--manifest " + path + ": " + ec.message());
      std::sort(files.begin(), files.end());
      if (files.empty()) {
        return error(errc::invalid_argument, "--manifest " + path + ": no manifest.jsonl in it");
      }
      for (const auto& f : files) {
        if (auto ok = file(f.string()); !ok) return ok;
      }
      return {};
    }
    return file(path);
  }

  result<void> file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return error(errc::invalid_argument, "--manifest " + path + ": cannot open it");
    std::string line;
    std::uint64_t n = 0;
    while (std::getline(in, line)) {
      ++n;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.find_first_not_of(" \t") == std::string::npos) continue;
      {
        opens_message fast;
        double sent = 0;
        if (fast_manifest_line(line, fast, sent) && sent <= 1e11) {
          fast.sent_ms = std::llround(sent * 1000.0);
          fast.hits.assign(r.clients.size(), 0);
          r.messages.push_back(std::move(fast));
          continue;
        }
      }
      const std::string where = fmt::format("{}:{}: ", path, n);
      const auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object()) {
        warn(where + "not a JSON object; line skipped");
        continue;
      }
      const auto c = j.find("campaign"), e = j.find("eid"), rc = j.find("recipient"),
                 s = j.find("sent");
      // A message sent without a pixel (tracking mode off): no hit can name it.
      if (e != j.end() && e->is_null()) continue;
      if (c == j.end() || !c->is_string() || e == j.end() || !e->is_string() ||
          e->get_ref<const std::string&>().empty() || s == j.end() || !s->is_number() ||
          (rc != j.end() && !rc->is_string() && !rc->is_null())) {
        warn(where +
             "needs \"campaign\" (string), \"eid\" (non-empty string, or null for a message "
             "without a pixel), \"recipient\" (string or null) and \"sent\" (unix seconds); "
             "line skipped");
        continue;
      }
      const double sent = s->get<double>();
      if (!std::isfinite(sent) || sent < 0 || sent > 1e11) {
        warn(where + "\"sent\" is not a unix time in seconds; line skipped");
        continue;
      }
      opens_message m;
      m.campaign = c->get<std::string>();
      m.eid = e->get<std::string>();
      if (rc != j.end() && rc->is_string()) m.recipient = rc->get<std::string>();
      m.sent_ms = std::llround(sent * 1000.0);
      m.hits.assign(r.clients.size(), 0);
      r.messages.push_back(std::move(m));
    }
    return {};
  }

  // Indexes the messages by event id and groups them by campaign (first seen first).
  void index() {
    std::unordered_map<std::string_view, std::size_t> campaign_of;
    by_eid.reserve(r.messages.size());
    std::vector<bool> dropped(r.messages.size(), false);
    bool any_dropped = false;
    for (std::size_t i = 0; i < r.messages.size(); ++i) {
      if (!by_eid.emplace(r.messages[i].eid, i).second) {
        warn("event id " + r.messages[i].eid + " is in the manifests twice; the second is ignored");
        dropped[i] = any_dropped = true;
      }
    }
    if (any_dropped) {  // rare: rebuild without the repeats, then index again
      std::vector<opens_message> kept;
      for (std::size_t i = 0; i < r.messages.size(); ++i) {
        if (!dropped[i]) kept.push_back(std::move(r.messages[i]));
      }
      r.messages = std::move(kept);
      by_eid.clear();
      for (std::size_t i = 0; i < r.messages.size(); ++i) by_eid.emplace(r.messages[i].eid, i);
    }
    for (std::size_t i = 0; i < r.messages.size(); ++i) {
      const auto [it, added] = campaign_of.emplace(r.messages[i].campaign, r.campaigns.size());
      if (added) {
        r.campaigns.emplace_back();
        r.campaigns.back().id = r.messages[i].campaign;
      }
      r.campaigns[it->second].messages.push_back(i);
    }
    // by_eid's keys view the strings of `kept`, now r.messages: a vector move keeps them.
  }
};

nlohmann::ordered_json counts(const opens_report& r, const std::vector<std::uint64_t>& n,
                              int human /* -1 any, 0 machine, 1 human */) {
  nlohmann::ordered_json o = nlohmann::ordered_json::object();
  for (std::size_t k = 0; k < r.clients.size(); ++k) {
    if (!n[k]) continue;
    if (human >= 0 && r.clients[k].human != (human == 1)) continue;
    o[std::string(r.clients[k].client)] = n[k];
  }
  return o;
}

std::string dump(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

int run_opens(const opens_args& a) {
  log::classifier rules;
  if (auto ok = rules.set_scanner_window(a.scanner_window); !ok) {
    return fail("--scanner-window: " + ok.error().message());
  }
  if (!a.machine_ranges.empty()) {
    std::ifstream in(a.machine_ranges, std::ios::binary);
    if (!in) return fail("--machine-ranges " + a.machine_ranges + ": cannot open it");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (auto ok = rules.add_machine_ranges(text, a.machine_ranges); !ok) {
      return fail("--machine-ranges: " + ok.error().message());
    }
  }
  opens_report r;
  r.clients = rules.clients();
  r.rules_version = std::string(log::opens_rules_version());
  r.scanner_window = rules.scanner_window();
  r.unknown_hits.assign(r.clients.size(), 0);

  std::unordered_map<std::string_view, std::size_t> by_eid;
  manifest_loader manifests{r, by_eid};
  for (const auto& m : a.manifests) {
    if (auto ok = manifests.load(m); !ok) return fail(ok.error().message());
  }
  manifests.index();

  auto fields = log::parse_fields(a.fields);
  if (!fields.has_value()) return fail("--fields: " + fields.error().message());
  log::reader_options o;
  o.fields = fields.value();
  o.input = a.input == "standard" ? log::input_kind::standard : log::input_kind::realtime;
  std::uint64_t quoted = 0;
  o.on_problem = [&quoted](const log::problem& p) {
    if (++quoted > 10) return;
    fmt::print(stderr, "pixel: warning: {}:{}: {}\n", p.file, p.line, p.message);
  };
  auto opened = log::reader::open(a.paths, o);
  if (!opened.has_value()) return fail(opened.error().message());
  log::reader& rd = opened.value();

  // The classifier's client names are views into its own storage: found by address first.
  const auto client_index = [&r](std::string_view c) -> std::uint16_t {
    for (std::size_t k = 0; k < r.clients.size(); ++k) {
      if (r.clients[k].client.data() == c.data()) return static_cast<std::uint16_t>(k);
    }
    for (std::size_t k = 0; k < r.clients.size(); ++k) {
      if (r.clients[k].client == c) return static_cast<std::uint16_t>(k);
    }
    return 0;
  };
  std::vector<std::size_t> campaign_of(r.messages.size());
  for (std::size_t c = 0; c < r.campaigns.size(); ++c) {
    for (const std::size_t i : r.campaigns[c].messages) campaign_of[i] = c;
  }
  std::unordered_set<std::string> unknown_ids;
  log::record rec;
  while (rd.next(rec)) {
    const std::string* id = rec.param(a.event_id_key);
    const auto it = id ? by_eid.find(*id) : by_eid.end();
    if (it == by_eid.end()) {
      if (id) {
        unknown_ids.insert(*id);
      } else {
        ++r.unknown_without_id;
      }
      if (!rec.delivered()) {
        ++r.unknown_failed;
      } else {
        ++r.unknown_hits[client_index(
            rules.classify(rec.user_agent, rec.c_ip, std::nullopt).client)];
      }
      continue;
    }
    opens_message& m = r.messages[it->second];
    opens_campaign& c = r.campaigns[campaign_of[it->second]];
    if (!rec.delivered()) {
      ++m.failed_hits;
      ++c.failed_hits;
      continue;
    }
    std::optional<double> since;
    if (rec.timestamp_ms != 0) since = static_cast<double>(rec.timestamp_ms - m.sent_ms) / 1000.0;
    const log::open_class k = rules.classify(rec.user_agent, rec.c_ip, since);
    const std::uint16_t idx = client_index(k.client);
    ++m.hits[idx];
    if (k.human && (!m.first_open_ms || rec.timestamp_ms < *m.first_open_ms)) {
      m.first_open_ms = rec.timestamp_ms;
    }
    if (!a.html.empty()) c.points.push_back({rec.timestamp_ms, idx});  // for the charts
  }
  r.unknown_events = unknown_ids.size();
  r.finish();

  std::string out;
  if (a.summary) {
    for (const auto& c : r.campaigns) {
      nlohmann::ordered_json j;
      j["campaign"] = c.id;
      j["sent"] = c.messages.size();
      j["opened"] = c.opened;
      j["machine_only"] = c.machine_only;
      j["not_opened"] = c.not_opened;
      j["open_rate"] = c.open_rate();
      j["machine_hits"] = counts(r, c.hits, 0);
      j["median_time_to_open"] =
          c.median_time_to_open ? nlohmann::ordered_json(*c.median_time_to_open) : nullptr;
      j["human_hits"] = counts(r, c.hits, 1);
      j["failed_hits"] = c.failed_hits;
      j["rules_version"] = r.rules_version;
      out += dump(j) + "\n";
    }
  } else {
    for (const auto& m : r.messages) {
      nlohmann::ordered_json j;
      j["campaign"] = m.campaign;
      j["eid"] = m.eid;
      j["recipient"] = m.recipient ? nlohmann::ordered_json(*m.recipient) : nullptr;
      j["verdict"] = m.verdict();
      j["first_open"] = seconds_or_null(m.first_open_ms);
      nlohmann::ordered_json hits = nlohmann::ordered_json::object();
      for (std::size_t k = 0; k < r.clients.size(); ++k) {
        if (m.hits[k]) hits[std::string(r.clients[k].client)] = m.hits[k];
      }
      j["hits"] = std::move(hits);
      j["failed_hits"] = m.failed_hits;
      out += dump(j) + "\n";
      if (out.size() > (1 << 16)) {
        std::fwrite(out.data(), 1, out.size(), stdout);
        out.clear();
      }
    }
  }
  if (r.any_unknown()) {
    nlohmann::ordered_json j;
    j["campaign"] = nullptr;
    j["unknown"] = true;
    j["events"] = r.unknown_events;
    j["without_event_id"] = r.unknown_without_id;
    j["hits"] = counts(r, r.unknown_hits, -1);
    j["failed_hits"] = r.unknown_failed;
    out += dump(j) + "\n";
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);

  if (!a.html.empty()) {
    const std::string page = opens_html(r);
    std::ofstream f(a.html, std::ios::binary | std::ios::trunc);
    if (!f.write(page.data(), static_cast<std::streamsize>(page.size())) || !f.flush()) {
      return fail("--html " + a.html + ": cannot write it");
    }
  }

  if (rd.malformed() > 0) {
    fmt::print(stderr, "pixel: {} of {} log lines skipped; {} records read\n", rd.malformed(),
               rd.lines(), rd.records());
    return rd.records() == 0 ? exit_failure : exit_partial;
  }
  return manifests.problems ? exit_partial : exit_ok;
}

}  // namespace

void add_opens_command(CLI::App& app, context& ctx) {
  auto a = std::make_shared<opens_args>();
  CLI::App* cmd = app.add_subcommand(
      "opens", "Which messages people opened (machine opens told apart), from logs and manifests");
  cmd->add_option("--manifest", a->manifests,
                  "A campaign's manifest.jsonl, or a folder searched for them (repeatable)")
      ->required();
  cmd->add_flag("--summary", a->summary, "One line per campaign instead of one per message");
  cmd->add_option("--html", a->html,
                  "Also write the report as one self-contained HTML file (no script, nothing "
                  "external)");
  cmd->add_option("--machine-ranges", a->machine_ranges,
                  "File of 'CIDR LABEL' lines: hits from these addresses are machine opens "
                  "of that label");
  cmd->add_option("--scanner-window", a->scanner_window,
                  "Hits less than this many seconds after `sent` are security scanners")
      ->capture_default_str();
  cmd->add_option("--fields", a->fields, "The real-time records' fields (as for `pixel logs`)")
      ->capture_default_str();
  cmd->add_option("--input", a->input, "Files without a header: realtime or standard")
      ->check(CLI::IsMember({"realtime", "standard"}))
      ->capture_default_str();
  cmd->add_option("--event-id-key", a->event_id_key, "Parameter holding the event id")
      ->capture_default_str();
  cmd->add_option("paths", a->paths, "Log files or folders (real-time or standard logs)")
      ->required();
  cmd->footer(
      "Verdicts: opened (a human open: a browser or mail client, Gmail's or Yahoo's proxy), "
      "machine_only (hits, none human), not_opened. Hits answered other than 2xx/3xx are "
      "failed_hits, never opens; hits of event ids in no manifest make an \"unknown\" line. "
      "Exit status: 0; 1 bad argument or nothing readable; 2 usage; 3 lines skipped.");
  cmd->callback([a, &ctx] { ctx.exit_code = run_opens(*a); });
}

}  // namespace pixel::cli
