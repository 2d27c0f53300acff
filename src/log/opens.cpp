// Open classification: the rules of opens_rules.json (compiled in), the user's machine
// ranges, the scanner window.
// SPDX-License-Identifier: MIT
#include "pixel/opens.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "log_internal.hpp"

namespace pixel::log {
namespace detail {
namespace {

enum class rule_kind : std::uint8_t { user_agent, machine_ranges, after_sent, always };
enum class pattern_test : std::uint8_t { equals, contains_all, contains_any, contains_any_nocase };

struct rule_row {
  std::string_view client;
  bool human;
  rule_kind kind;
  std::string_view source;
};
struct pattern_row {
  std::size_t rule;
  pattern_test test;
  std::string_view text;  // lower case for contains_any_nocase
};

#include "opens_rules.inc"

constexpr std::size_t rule_count = sizeof rule_rows / sizeof rule_rows[0];

bool contains(std::string_view hay, std::string_view needle) {
  return hay.find(needle) != std::string_view::npos;
}

// The user agent in lower case (ASCII), made once per hit and only when a rule needs it.
struct lowered {
  std::string_view ua;
  std::string text;
  bool done = false;
  std::string_view get() {
    if (!done) {
      text.assign(ua);
      for (char& c : text) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      }
      done = true;
    }
    return text;
  }
};

bool user_agent_matches(std::size_t rule, std::string_view ua, lowered& lower) {
  bool any_test = false, all_ok = true, all_seen = false;
  for (const pattern_row& p : pattern_rows) {
    if (p.rule != rule) continue;
    switch (p.test) {
      case pattern_test::equals:
        if (ua == p.text) any_test = true;
        break;
      case pattern_test::contains_any:
        if (contains(ua, p.text)) any_test = true;
        break;
      case pattern_test::contains_any_nocase:
        if (contains(lower.get(), p.text)) any_test = true;
        break;
      case pattern_test::contains_all:
        all_seen = true;
        if (!contains(ua, p.text)) all_ok = false;
        break;
    }
    if (any_test) return true;
  }
  return all_seen && all_ok;
}

// An address as 16 bytes (IPv4 as ::ffff:a.b.c.d), prefix lengths counted the same way.
using address = std::array<unsigned char, 16>;

bool parse_address(std::string_view text, address& out, bool& v4) {
  char buf[64];
  if (text.empty() || text.size() >= sizeof buf) return false;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  in_addr a4{};
  if (inet_pton(AF_INET, buf, &a4) == 1) {
    out.fill(0);
    out[10] = out[11] = 0xFF;
    std::memcpy(out.data() + 12, &a4, 4);
    v4 = true;
    return true;
  }
  in6_addr a6{};
  if (inet_pton(AF_INET6, buf, &a6) == 1) {
    std::memcpy(out.data(), &a6, 16);
    v4 = false;
    return true;
  }
  return false;
}

address masked(address a, unsigned bits) {
  for (unsigned i = 0; i < 16; ++i) {
    const unsigned keep = bits >= 8 * (i + 1) ? 8 : (bits > 8 * i ? bits - 8 * i : 0);
    a[i] = static_cast<unsigned char>(a[i] & (keep == 0 ? 0 : (0xFF << (8 - keep)) & 0xFF));
  }
  return a;
}

struct address_hash {
  std::size_t operator()(const address& a) const noexcept {
    std::uint64_t x, y;
    std::memcpy(&x, a.data(), 8);
    std::memcpy(&y, a.data() + 8, 8);
    return std::hash<std::uint64_t>{}(x * 0x9E3779B97F4A7C15ULL ^ y);
  }
};

}  // namespace
}  // namespace detail

struct classifier::impl {
  double window = detail::rules_scanner_window;
  // One table per prefix length (in bits of the 16-byte form), longest first.
  std::map<unsigned, std::unordered_map<detail::address, std::size_t, detail::address_hash>,
           std::greater<unsigned>>
      ranges;
  std::vector<std::unique_ptr<std::string>> label_store;
  std::size_t range_count = 0;
};

std::string_view opens_rules_version() noexcept {
  return detail::rules_version;
}

std::vector<opens_rule> opens_rules() {
  std::vector<opens_rule> out;
  for (const auto& r : detail::rule_rows) out.push_back({r.client, r.human, r.source});
  return out;
}

double default_scanner_window() noexcept {
  return detail::rules_scanner_window;
}

classifier::classifier() : impl_(std::make_unique<impl>()) {}
classifier::classifier(const classifier& o) : impl_(std::make_unique<impl>()) {
  *this = o;
}
classifier::classifier(classifier&&) noexcept = default;
classifier& classifier::operator=(classifier&&) noexcept = default;
classifier::~classifier() = default;

classifier& classifier::operator=(const classifier& o) {
  if (this == &o) return *this;
  auto n = std::make_unique<impl>();
  n->window = o.impl_->window;
  n->range_count = o.impl_->range_count;
  n->ranges = o.impl_->ranges;
  for (const auto& l : o.impl_->label_store)
    n->label_store.push_back(std::make_unique<std::string>(*l));
  impl_ = std::move(n);
  return *this;
}

result<void> classifier::set_scanner_window(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) {
    return error(errc::invalid_argument, "the scanner window must be a number of seconds >= 0");
  }
  impl_->window = seconds;
  return {};
}

double classifier::scanner_window() const noexcept {
  return impl_->window;
}

std::size_t classifier::machine_range_count() const noexcept {
  return impl_->range_count;
}

result<void> classifier::add_machine_ranges(std::string_view text, std::string_view origin) {
  struct entry {
    unsigned bits;
    detail::address net;
    std::string label;
  };
  std::vector<entry> found;
  std::size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (const std::size_t hash = line.find('#'); hash != std::string_view::npos) {
      line = line.substr(0, hash);
    }
    const auto is_sep = [](char c) { return c == ' ' || c == '\t' || c == ',' || c == '\r'; };
    while (!line.empty() && is_sep(line.front())) line.remove_prefix(1);
    while (!line.empty() && is_sep(line.back())) line.remove_suffix(1);
    if (line.empty()) continue;
    const auto bad = [&](const std::string& why) {
      return error(errc::invalid_argument,
                   std::string(origin) + ":" + std::to_string(line_no) + ": " + why);
    };
    std::size_t cut = 0;
    while (cut < line.size() && !is_sep(line[cut])) ++cut;
    const std::string_view cidr = line.substr(0, cut);
    std::string_view label = line.substr(cut);
    while (!label.empty() && is_sep(label.front())) label.remove_prefix(1);
    if (label.empty()) return bad("'" + std::string(cidr) + "' has no label (CIDR LABEL)");
    for (const auto& r : detail::rule_rows) {
      if (r.human && label == r.client) {
        return bad("label '" + std::string(label) + "' is a human client's name");
      }
    }
    const std::size_t slash = cidr.find('/');
    detail::address a{};
    bool v4 = false;
    if (!detail::parse_address(cidr.substr(0, slash), a, v4)) {
      return bad("'" + std::string(cidr) + "' is not an IPv4 or IPv6 address or CIDR block");
    }
    unsigned bits = v4 ? 32 : 128;
    if (slash != std::string_view::npos) {
      const std::string_view n = cidr.substr(slash + 1);
      if (n.empty() || n.size() > 3 ||
          n.find_first_not_of("0123456789") != std::string_view::npos) {
        return bad("'" + std::string(cidr) + "' has a bad prefix length");
      }
      const unsigned p = static_cast<unsigned>(std::stoul(std::string(n)));
      if (p > bits) return bad("'" + std::string(cidr) + "' has a prefix longer than the address");
      bits = p;
    }
    if (v4) bits += 96;
    found.push_back({bits, detail::masked(a, bits), std::string(label)});
  }
  for (auto& e : found) {
    std::size_t index = impl_->label_store.size();
    for (std::size_t i = 0; i < impl_->label_store.size(); ++i) {
      if (*impl_->label_store[i] == e.label) index = i;
    }
    if (index == impl_->label_store.size()) {
      impl_->label_store.push_back(std::make_unique<std::string>(std::move(e.label)));
    }
    // The first range listed for a block keeps it.
    if (impl_->ranges[e.bits].emplace(e.net, index).second) ++impl_->range_count;
  }
  return {};
}

namespace detail {
namespace {

// The user-agent rules read the user agent alone and are compiled in, the same for every
// classifier: which of them matches first (rule_count: none) is remembered per thread for
// the user agents seen last (direct-mapped by hash). Logs repeat a few thousand user agents
// over millions of hits, and the rules' substring searches were most of classify()'s time.
struct ua_memo {
  std::uint64_t hash = 0;
  std::string ua;
  std::size_t rule = rule_count + 1;  // nothing remembered
};
constexpr std::size_t ua_memo_size = 1024;

std::size_t first_user_agent_rule(std::string_view ua) {
  thread_local std::vector<ua_memo> memo(ua_memo_size);
  const std::uint64_t h = short_hash(ua);
  ua_memo& m = memo[h & (ua_memo_size - 1)];
  if (m.rule <= rule_count && m.hash == h && m.ua == ua) return m.rule;
  thread_local lowered lower;
  lower.ua = ua;
  lower.done = false;
  std::size_t first = rule_count;
  for (std::size_t i = 0; i < rule_count; ++i) {
    if (rule_rows[i].kind == rule_kind::user_agent && user_agent_matches(i, ua, lower)) {
      first = i;
      break;
    }
  }
  m.hash = h;
  m.ua.assign(ua.data(), ua.size());
  m.rule = first;
  return first;
}

}  // namespace
}  // namespace detail

open_class classifier::classify(std::string_view user_agent, std::string_view c_ip,
                                std::optional<double> since_sent) const {
  using detail::rule_kind;
  // The rules in order; a user-agent rule matches when it is the first of them that does.
  const std::size_t ua_rule = detail::first_user_agent_rule(user_agent);
  for (std::size_t i = 0; i < detail::rule_count; ++i) {
    const auto& r = detail::rule_rows[i];
    switch (r.kind) {
      case rule_kind::user_agent:
        if (i == ua_rule) return {r.client, r.human};
        break;
      case rule_kind::machine_ranges: {
        if (impl_->ranges.empty()) break;
        detail::address a{};
        bool v4 = false;
        if (!detail::parse_address(c_ip, a, v4)) break;
        for (const auto& [bits, table] : impl_->ranges) {
          if (v4 ? bits < 96 : false) continue;
          const auto it = table.find(detail::masked(a, bits));
          if (it != table.end()) return {*impl_->label_store[it->second], false};
        }
        break;
      }
      case rule_kind::after_sent:
        if (since_sent && *since_sent < impl_->window) return {r.client, r.human};
        break;
      case rule_kind::always:
        return {r.client, r.human};
    }
  }
  return {"human", true};  // the rules file ends with `always`; this is not reached
}

std::vector<open_class> classifier::clients() const {
  std::vector<open_class> out;
  for (const auto& r : detail::rule_rows) {
    if (!r.client.empty()) out.push_back({r.client, r.human});
  }
  for (const auto& l : impl_->label_store) {
    const bool known =
        std::any_of(out.begin(), out.end(), [&](const open_class& c) { return c.client == *l; });
    if (!known) out.push_back({*l, false});
  }
  return out;
}

}  // namespace pixel::log
