// pixel opens: which messages people opened, told apart from machine fetches (Apple Mail
// Privacy Protection, Gmail's prefetch, security gateways, bots), from the logs and the
// campaign manifests (manifest.jsonl). See docs/opens.md.
// SPDX-License-Identifier: MIT
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "opens_report.hpp"
#include "pixel/log.hpp"
#include "pixel/opens.hpp"

namespace pixel::cli {

const char* opens_message::verdict() const noexcept {
  if (opened) return "opened";
  return hits ? "machine_only" : "not_opened";
}

bool opens_report::any_unknown() const noexcept {
  if (unknown.failed_hits || unknown.unverified_hits) return true;
  for (const auto n : unknown.hits) {
    if (n) return true;
  }
  return false;
}

void opens_report::finish() {
  for (auto& c : campaigns) {
    c.sent = c.opened = c.machine_only = c.not_opened = 0;
    c.estimated_opened = c.estimated_machine_only = 0;
    c.time_to_open.clear();
  }
  for (const opens_message& m : messages) {
    opens_campaign& c = campaigns[m.campaign];
    if (c.sent == 0 || m.sent_ms < c.first_sent_ms) c.first_sent_ms = m.sent_ms;
    if (c.sent == 0 || m.sent_ms > c.last_sent_ms) c.last_sent_ms = m.sent_ms;
    ++c.sent;
    if (m.opened) {
      ++c.opened;
      c.estimated_opened += static_cast<double>(m.weight);
      c.time_to_open.push_back(static_cast<double>(m.first_open_ms - m.sent_ms) / 1000.0);
    } else if (m.hits) {
      ++c.machine_only;
      c.estimated_machine_only += static_cast<double>(m.weight);
    } else {
      ++c.not_opened;
    }
  }
  for (auto& c : campaigns) {
    // The median without sorting: the middle element, and for an even count the largest
    // of the half below it.
    auto& t = c.time_to_open;
    const std::size_t n = t.size();
    if (n == 0) {
      c.median_time_to_open.reset();
      continue;
    }
    const auto mid = t.begin() + static_cast<std::ptrdiff_t>(n / 2);
    std::nth_element(t.begin(), mid, t.end());
    c.median_time_to_open = n % 2 ? *mid : (*std::max_element(t.begin(), mid) + *mid) / 2.0;
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
  std::vector<std::string> verify_keys;
  double scanner_window = log::default_scanner_window();
  std::string fields = log::default_fields().to_string();
  std::string input = "realtime";
  std::string event_id_key = "eid";
};

// The views of one manifest line.
struct manifest_line {
  std::string_view campaign, eid, recipient;
  bool has_recipient = false;
  double sent = 0;
};

// The line as email-campaign writes it ({"campaign": "..", "eid": "..", "recipient": ".."
// or null, "sent": N, "mode": ".."}, "mode" optional, no escapes), read without a JSON
// parser, its strings viewing the line; anything else (a null eid included): false, and
// the JSON parser reads it.
bool fast_manifest_line(std::string_view l, manifest_line& m) {
  const auto skip = [&l] {
    while (!l.empty() && l.front() == ' ') l.remove_prefix(1);
  };
  const auto lit = [&](std::string_view t) {
    skip();
    if (l.substr(0, t.size()) != t) return false;
    l.remove_prefix(t.size());
    return true;
  };
  const auto str = [&](std::string_view& out) {
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
    out = v;
    l.remove_prefix(end + 1);
    return true;
  };
  if (!lit("{\"campaign\":") || !str(m.campaign) || !lit(",") || !lit("\"eid\":") || !str(m.eid) ||
      m.eid.empty() || !lit(",") || !lit("\"recipient\":")) {
    return false;
  }
  if (lit("null")) {
    m.has_recipient = false;
  } else if (str(m.recipient)) {
    m.has_recipient = true;
  } else {
    return false;
  }
  if (!lit(",") || !lit("\"sent\":")) return false;
  skip();
  std::size_t n = 0;
  while (n < l.size() && ((l[n] >= '0' && l[n] <= '9') || l[n] == '.')) ++n;
  if (n == 0 || l[0] == '.') return false;
  const auto [end, ec] = std::from_chars(l.data(), l.data() + n, m.sent);
  if (ec != std::errc() || end != l.data() + n) return false;
  l.remove_prefix(n);
  if (lit(",")) {
    std::string_view mode;
    if (!lit("\"mode\":") || !str(mode)) return false;
  }
  return lit("}") && (skip(), l.empty());
}

// Event id -> message: a flat open-addressing table (linear probing) of 32-bit hash tags
// and message indexes, at most 3/4 full. A tag also picks its slot, so growing never
// reads the messages again. A lookup touches one slot and, on a tag match, the message.
class message_index {
 public:
  explicit message_index(const opens_messages& messages)
      : messages_(&messages), slots_(1 << 10, slot{0, empty}) {}

  static constexpr std::size_t npos = ~std::size_t{0};

  // The id's hash (id_hash) folded to 32 bits.
  static std::uint32_t tag_of(std::string_view s) noexcept {
    const std::uint64_t h = id_hash()(s);
    return static_cast<std::uint32_t>(h ^ (h >> 32));
  }

  // The table is far larger than the caches: callers with several ids at hand ask for a
  // slot's memory (and then a candidate message's) ahead of using it.
  void prefetch(std::uint32_t tag) const noexcept {
    __builtin_prefetch(&slots_[tag & (slots_.size() - 1)]);
  }
  // The first message whose tag matches (npos: none), its id not compared.
  std::size_t candidate(std::uint32_t tag) const noexcept {
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = tag & mask;; i = (i + 1) & mask) {
      const slot& e = slots_[i];
      if (e.index == empty) return npos;
      if (e.tag == tag) return e.index;
    }
  }

  // The message with `eid` (whose tag_of is `tag`), or npos.
  std::size_t find(std::string_view eid, std::uint32_t tag) const noexcept {
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = tag & mask;; i = (i + 1) & mask) {
      const slot& e = slots_[i];
      if (e.index == empty) return npos;
      if (e.tag == tag && (*messages_)[e.index].eid() == eid) return e.index;
    }
  }

  // Room for n messages without growing.
  void reserve(std::size_t n) {
    while (n * 4 > slots_.size() * 3) grow();
  }

  // Adds message i (its id's tag_of is `tag`); false (and nothing added) when its event id
  // is there already.
  bool add(std::size_t i, std::uint32_t tag) {
    if ((size_ + 1) * 4 > slots_.size() * 3) grow();  // at most 3/4 full
    const std::string_view eid = (*messages_)[i].eid();
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t k = tag & mask;; k = (k + 1) & mask) {
      slot& e = slots_[k];
      if (e.index == empty) {
        e = {tag, static_cast<std::uint32_t>(i)};
        ++size_;
        return true;
      }
      if (e.tag == tag && (*messages_)[e.index].eid() == eid) return false;
    }
  }

 private:
  static constexpr std::uint32_t empty = ~std::uint32_t{0};
  struct slot {
    std::uint32_t tag;
    std::uint32_t index;
  };

  void grow() {
    std::vector<slot, big_allocator<slot>> old(slots_.size() * 2, slot{0, empty});
    old.swap(slots_);
    const std::size_t mask = slots_.size() - 1;
    for (const slot& e : old) {
      if (e.index == empty) continue;
      std::size_t k = e.tag & mask;
      while (slots_[k].index != empty) k = (k + 1) & mask;
      slots_[k] = e;
    }
  }

  const opens_messages* messages_;
  std::vector<slot, big_allocator<slot>> slots_;
  std::size_t size_ = 0;
};

// Reads the manifests into `r`. Bad lines are reported (file:line) and skipped.
struct manifest_loader {
  manifest_loader(opens_report& report, bool keep_recipients)
      : r(report), by_eid(report.messages), recipients(keep_recipients) {}

  opens_report& r;
  message_index by_eid;
  static constexpr std::size_t pending_depth = 8;
  std::vector<std::pair<std::size_t, std::uint32_t>> pending;  // message, tag: not indexed yet
  std::vector<std::size_t> repeated;  // messages whose event id came before, in order
  bool recipients;                    // kept only when the per-message lines need them
  std::uint64_t problems = 0;
  std::unordered_map<std::string, std::uint32_t> campaign_of;

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

  std::uint32_t campaign(std::string_view id) {
    if (!r.campaigns.empty() && r.campaigns.back().id == id) {  // the usual case: the last one
      return static_cast<std::uint32_t>(r.campaigns.size() - 1);
    }
    const auto [it, added] =
        campaign_of.emplace(std::string(id), static_cast<std::uint32_t>(r.campaigns.size()));
    if (added) {
      r.campaigns.emplace_back();
      r.campaigns.back().id = std::string(id);
    }
    return it->second;
  }

  // Copies `v` into r.text, in blocks that never reallocate: the messages view them.
  std::string_view keep(std::string_view v) {
    if (r.text.empty() || r.text.back().capacity() - r.text.back().size() < v.size()) {
      r.text.emplace_back().reserve(std::max(2 * huge_page, v.size()));
    }
    auto& block = r.text.back();
    const std::size_t at = block.size();
    block.insert(block.end(), v.begin(), v.end());
    return std::string_view(block.data() + at, v.size());
  }

  void add(const manifest_line& l) {
    opens_message m;
    m.campaign = campaign(l.campaign);
    m.set_eid(keep(l.eid));
    if (l.has_recipient && recipients) {
      m.set_recipient(keep(l.recipient));
      m.has_recipient = true;
    }
    m.sent_ms = std::llround(l.sent * 1000.0);
    r.messages.push_back(m);
    // Indexed a few messages later, once its slot is in the cache.
    const std::uint32_t tag = message_index::tag_of(m.eid());
    by_eid.prefetch(tag);
    pending.push_back({r.messages.size() - 1, tag});
    if (pending.size() == pending_depth) settle(1);
  }

  // Indexes the oldest `n` pending messages. An event id listed twice keeps its first line.
  void settle(std::size_t n) {
    for (std::size_t k = 0; k < n; ++k) {
      const auto [i, tag] = pending[k];
      if (!by_eid.add(i, tag)) {
        warn("event id " + std::string(r.messages[i].eid()) +
             " is in the manifests twice; the second is ignored");
        repeated.push_back(i);
      }
    }
    pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(n));
  }

  // After the last file: every message indexed, the repeated lines gone.
  void finish() {
    settle(pending.size());
    if (repeated.empty()) return;
    opens_messages kept;  // rare: keep the first of each, then index again
    kept.reserve(r.messages.size() - repeated.size());
    std::size_t next = 0;
    for (std::size_t i = 0; i < r.messages.size(); ++i) {
      if (next < repeated.size() && repeated[next] == i) {
        ++next;
      } else {
        kept.push_back(r.messages[i]);
      }
    }
    r.messages = std::move(kept);
    by_eid = message_index(r.messages);
    for (std::size_t i = 0; i < r.messages.size(); ++i) {
      by_eid.add(i, message_index::tag_of(r.messages[i].eid()));
    }
    repeated.clear();
  }

  result<void> file(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return error(errc::invalid_argument, "--manifest " + path + ": cannot open it");
    if (std::fseek(f, 0, SEEK_END) == 0) {  // room for the messages of a typical file
      if (const long size = std::ftell(f); size > 0) {
        const std::size_t expected = r.messages.size() + static_cast<std::size_t>(size) / 96;
        r.messages.reserve(expected);
        by_eid.reserve(expected);
      }
      std::rewind(f);
    }
    std::string buf(std::size_t{1} << 20, '\0');
    std::size_t have = 0;  // bytes in buf: the start of a line not yet complete
    std::uint64_t n = 0;
    bool end = false;
    while (!end) {
      if (have == buf.size()) buf.resize(buf.size() * 2);  // a line longer than the buffer
      const std::size_t got = std::fread(buf.data() + have, 1, buf.size() - have, f);
      end = got == 0;
      const std::string_view all(buf.data(), have + got);
      std::size_t pos = 0;
      for (;;) {
        std::size_t nl = all.find('\n', pos);
        if (nl == std::string_view::npos) {
          if (!end || pos == all.size()) break;
          nl = all.size();  // the last line, without a final newline
        }
        line(all.substr(pos, nl - pos), path, ++n);
        pos = nl + 1;
        if (pos >= all.size()) break;
      }
      pos = std::min(pos, all.size());
      have = all.size() - pos;
      std::memmove(buf.data(), buf.data() + pos, have);
    }
    const bool bad = std::ferror(f) != 0;
    std::fclose(f);
    if (bad) return error(errc::invalid_argument, "--manifest " + path + ": cannot read it");
    return {};
  }

  void line(std::string_view text, const std::string& path, std::uint64_t n) {
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    if (text.find_first_not_of(" \t") == std::string_view::npos) return;
    manifest_line m;
    if (fast_manifest_line(text, m) && m.sent <= 1e11) {
      add(m);
      return;
    }
    slow_line(text, fmt::format("{}:{}: ", path, n));
  }

  // A line with escapes, other spacing or key order: the JSON parser; its strings are kept
  // in r.text.
  void slow_line(std::string_view line, const std::string& where) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      warn(where + "not a JSON object; line skipped");
      return;
    }
    const auto c = j.find("campaign"), e = j.find("eid"), rc = j.find("recipient"),
               s = j.find("sent");
    // A message sent without a pixel (tracking mode off): no hit can name it.
    if (e != j.end() && e->is_null()) return;
    if (c == j.end() || !c->is_string() || e == j.end() || !e->is_string() ||
        e->get_ref<const std::string&>().empty() || s == j.end() || !s->is_number() ||
        (rc != j.end() && !rc->is_string() && !rc->is_null())) {
      warn(where +
           "needs \"campaign\" (string), \"eid\" (non-empty string, or null for a message "
           "without a pixel), \"recipient\" (string or null) and \"sent\" (unix seconds); "
           "line skipped");
      return;
    }
    manifest_line m;
    m.sent = s->get<double>();
    if (!std::isfinite(m.sent) || m.sent < 0 || m.sent > 1e11) {
      warn(where + "\"sent\" is not a unix time in seconds; line skipped");
      return;
    }
    m.campaign = c->get_ref<const std::string&>();
    m.eid = e->get_ref<const std::string&>();
    if (rc != j.end() && rc->is_string()) {
      m.recipient = rc->get_ref<const std::string&>();
      m.has_recipient = true;
    }
    add(m);
  }
};

// A JSON string. The manifests' strings are valid UTF-8 (ASCII when read without the JSON
// parser, checked by it otherwise), so only quotes, backslashes and control bytes change.
void put_json_string(std::string& o, std::string_view s) {
  o += '"';
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      o += '\\';
      o += ch;
    } else if (c < 0x20) {
      switch (c) {
        case '\b':
          o += "\\b";
          break;
        case '\f':
          o += "\\f";
          break;
        case '\n':
          o += "\\n";
          break;
        case '\r':
          o += "\\r";
          break;
        case '\t':
          o += "\\t";
          break;
        default:
          fmt::format_to(std::back_inserter(o), "\\u{:04x}", static_cast<unsigned>(c));
      }
    } else {
      o += ch;
    }
  }
  o += '"';
}

// Unix milliseconds as seconds, exactly (as a JSON number always has a '.').
void put_seconds(std::string& o, std::int64_t ms) {
  const bool negative = ms < 0;
  const std::uint64_t v =
      negative ? 0 - static_cast<std::uint64_t>(ms) : static_cast<std::uint64_t>(ms);
  if (negative) o += '-';
  fmt::format_to(std::back_inserter(o), "{}.", v / 1000);
  std::uint64_t frac = v % 1000;
  if (frac == 0) {
    o += '0';
    return;
  }
  int digits = 3;
  while (frac % 10 == 0) {
    frac /= 10;
    --digits;
  }
  fmt::format_to(std::back_inserter(o), "{:0{}}", frac, digits);
}

template <class T>
nlohmann::ordered_json counts(const opens_report& r, const std::vector<T>& n,
                              int human /* -1 any, 0 machine, 1 human */) {
  nlohmann::ordered_json o = nlohmann::ordered_json::object();
  for (std::size_t k = 0; k < r.clients.size(); ++k) {
    if (!n[k]) continue;
    if (human >= 0 && r.clients[k].human != (human == 1)) continue;
    if constexpr (std::is_floating_point_v<T>) {
      o[std::string(r.clients[k].client)] = round_estimate(n[k]);
    } else {
      o[std::string(r.clients[k].client)] = n[k];
    }
  }
  return o;
}

// The signature columns of a summary or unknown line, when --verify-key was given.
void put_unverified(nlohmann::ordered_json& j, const opens_campaign& c) {
  j["unverified_hits"] = c.unverified_hits;
  nlohmann::ordered_json by = nlohmann::ordered_json::object();
  for (std::size_t s = 0; s < c.unverified.size(); ++s) {
    if (c.unverified[s]) {
      by[signature_status_name(static_cast<signature_status>(s))] = c.unverified[s];
    }
  }
  j["unverified"] = std::move(by);
}

// The estimates of a summary or unknown line, when any hit carried sr.
void put_estimates(nlohmann::ordered_json& j, const opens_report& r, const opens_campaign& c,
                   bool messages) {
  if (c.sampled_hits == 0) return;
  j["sampled_hits"] = c.sampled_hits;
  j["bad_rates"] = c.bad_rates;
  if (messages) {
    j["estimated_opened"] = round_estimate(c.estimated_opened);
    j["estimated_machine_only"] = round_estimate(c.estimated_machine_only);
  }
  j["estimated_hits"] = counts(r, c.estimated_hits, -1);
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
  std::optional<keyring> keys;
  if (!a.verify_keys.empty()) {
    auto ring = read_keyring("--verify-key", a.verify_keys);
    if (!ring) return fail(ring.error().message());
    keys = std::move(*ring);
  }
  opens_report r;
  r.clients = rules.clients();
  r.rules_version = std::string(log::opens_rules_version());
  r.scanner_window = rules.scanner_window();
  r.verified = keys.has_value();

  manifest_loader manifests(r, !a.summary);
  for (const auto& m : a.manifests) {
    if (auto ok = manifests.load(m); !ok) return fail(ok.error().message());
  }
  manifests.finish();
  const message_index& by_eid = manifests.by_eid;
  constexpr std::size_t statuses = 5;  // signature_status's values
  const auto prepare = [&r](opens_campaign& c) {
    c.hits.assign(r.clients.size(), 0);
    c.estimated_hits.assign(r.clients.size(), 0);
    c.unverified.assign(statuses, 0);
  };
  prepare(r.unknown);
  for (auto& c : r.campaigns) prepare(c);
  if (!a.summary) r.message_hits.assign(r.messages.size() * r.clients.size(), 0);

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
  std::unordered_set<std::string> unknown_ids;
  // Counts one hit; `at` is its message (npos: none).
  const auto count = [&](const log::record& rec, const std::string* id, std::size_t at) {
    opens_message* m = at == message_index::npos ? nullptr : &r.messages[at];
    opens_campaign& c = m ? r.campaigns[m->campaign] : r.unknown;
    if (!m) {
      if (id) {
        unknown_ids.insert(*id);
      } else {
        ++r.unknown_without_id;
      }
    }
    // Refused hits, then (with --verify-key) hits whose signature does not verify, are
    // never opens.
    if (!rec.delivered()) {
      ++c.failed_hits;
      if (m) ++m->failed_hits;
      return;
    }
    if (keys) {
      if (const signature_status s = hit_signature(rec, *keys); s != signature_status::valid) {
        ++c.unverified_hits;
        ++c.unverified[static_cast<std::size_t>(s)];
        if (m) ++m->unverified_hits;
        return;
      }
    }
    std::optional<double> since;
    if (m && rec.timestamp_ms != 0) {
      since = static_cast<double>(rec.timestamp_ms - m->sent_ms) / 1000.0;
    }
    const log::open_class k = rules.classify(rec.user_agent, rec.c_ip, since);
    const std::uint16_t idx = client_index(k.client);
    ++c.hits[idx];
    double weight = 1;
    const std::string* sr = rec.param("sr");
    if (sr) {
      bool bad = false;
      weight = sample_weight(*sr, bad);
      ++c.sampled_hits;
      if (bad) ++c.bad_rates;
    }
    c.estimated_hits[idx] += weight;
    if (!m) return;
    if (!r.message_hits.empty()) ++r.message_hits[at * r.clients.size() + idx];
    ++m->hits;
    if (!m->weighed && sr) {
      m->weight = static_cast<float>(weight);
      m->weighed = true;
    }
    if (k.human && (!m->opened || rec.timestamp_ms < m->first_open_ms)) {
      m->first_open_ms = rec.timestamp_ms;
      m->opened = true;
    }
    if (!a.html.empty()) c.points.push_back({rec.timestamp_ms, idx});  // for the charts
  };
  // Records wait in a ring while the memory they will touch is fetched: the table is far
  // larger than the caches, and each step would otherwise wait for it. When read, a record's
  // slot is asked for; `ahead` records later its candidate message; then its event id's
  // bytes; when it leaves the ring, it is looked up and counted, in the order read.
  constexpr std::size_t ahead = 4, depth = 3 * ahead;
  struct pending {
    log::record rec;
    const std::string* id = nullptr;
    std::uint32_t tag = 0;
  };
  std::vector<pending> ring(depth);
  const auto settle = [&](pending& p) {
    count(p.rec, p.id, p.id ? by_eid.find(*p.id, p.tag) : message_index::npos);
  };
  std::size_t read = 0;  // records read
  for (;; ++read) {
    if (read >= ahead) {
      if (const pending& p = ring[(read - ahead) % depth]; p.id) {
        if (const std::size_t i = by_eid.candidate(p.tag); i != message_index::npos) {
          __builtin_prefetch(&r.messages[i]);
        }
      }
    }
    if (read >= 2 * ahead) {
      if (const pending& p = ring[(read - 2 * ahead) % depth]; p.id) {
        if (const std::size_t i = by_eid.candidate(p.tag); i != message_index::npos) {
          __builtin_prefetch(r.messages[i].eid().data());
        }
      }
    }
    pending& p = ring[read % depth];
    if (read >= depth) settle(p);
    if (!rd.next(p.rec)) break;
    p.id = p.rec.param(a.event_id_key);
    if (p.id) {
      p.tag = message_index::tag_of(*p.id);
      by_eid.prefetch(p.tag);
    }
  }
  for (std::size_t k = read >= depth ? read - depth + 1 : 0; k < read; ++k) settle(ring[k % depth]);
  r.unknown_events = unknown_ids.size();
  r.finish();

  std::string out;
  const auto put = [&out](bool last = false) {
    if (last || out.size() > (1 << 16)) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      out.clear();
    }
  };
  if (a.summary) {
    for (const auto& c : r.campaigns) {
      nlohmann::ordered_json j;
      j["campaign"] = c.id;
      j["sent"] = c.sent;
      j["opened"] = c.opened;
      j["machine_only"] = c.machine_only;
      j["not_opened"] = c.not_opened;
      j["open_rate"] = c.open_rate();
      j["machine_hits"] = counts(r, c.hits, 0);
      j["median_time_to_open"] =
          c.median_time_to_open ? nlohmann::ordered_json(*c.median_time_to_open) : nullptr;
      j["human_hits"] = counts(r, c.hits, 1);
      j["failed_hits"] = c.failed_hits;
      if (r.verified) put_unverified(j, c);
      put_estimates(j, r, c, true);
      j["rules_version"] = r.rules_version;
      out += dump(j) + "\n";
    }
  } else {
    // Written by hand: one line per message, the bulk of the output.
    std::vector<std::string> client_keys;
    for (const auto& k : r.clients) client_keys.push_back(dump(std::string(k.client)) + ":");
    for (std::size_t i = 0; i < r.messages.size(); ++i) {
      const opens_message& m = r.messages[i];
      out += "{\"campaign\":";
      put_json_string(out, r.campaigns[m.campaign].id);
      out += ",\"eid\":";
      put_json_string(out, m.eid());
      out += ",\"recipient\":";
      if (m.has_recipient) {
        put_json_string(out, m.recipient());
      } else {
        out += "null";
      }
      out += ",\"verdict\":\"";
      out += m.verdict();
      out += "\",\"first_open\":";
      if (m.opened) {
        put_seconds(out, m.first_open_ms);
      } else {
        out += "null";
      }
      out += ",\"hits\":{";
      bool first = true;
      for (std::size_t k = 0; k < r.clients.size(); ++k) {
        const std::uint32_t n = r.message_hits[i * r.clients.size() + k];
        if (!n) continue;
        if (!first) out += ',';
        first = false;
        out += client_keys[k];
        fmt::format_to(std::back_inserter(out), "{}", n);
      }
      fmt::format_to(std::back_inserter(out), "}},\"failed_hits\":{}", m.failed_hits);
      if (r.verified)
        fmt::format_to(std::back_inserter(out), ",\"unverified_hits\":{}", m.unverified_hits);
      out += "}\n";
      put();
    }
  }
  if (r.any_unknown()) {
    nlohmann::ordered_json j;
    j["campaign"] = nullptr;
    j["unknown"] = true;
    j["events"] = r.unknown_events;
    j["without_event_id"] = r.unknown_without_id;
    j["hits"] = counts(r, r.unknown.hits, -1);
    j["failed_hits"] = r.unknown.failed_hits;
    if (r.verified) put_unverified(j, r.unknown);
    put_estimates(j, r, r.unknown, false);
    out += dump(j) + "\n";
  }
  put(true);
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
  cmd->add_option("--verify-key", a->verify_keys,
                  "KID:FILE (FILE holds the base64 key; repeatable): hits whose signature does "
                  "not verify are never opens, counted as unverified_hits");
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
      "failed_hits, never opens; with --verify-key, so are hits whose signature does not verify "
      "(unverified_hits); hits of event ids in no manifest make an \"unknown\" line. "
      "Exit status: 0; 1 bad argument or nothing readable; 2 usage; 3 lines skipped.");
  cmd->callback([a, &ctx] { ctx.exit_code = run_opens(*a); });
}

}  // namespace pixel::cli
