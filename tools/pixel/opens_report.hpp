// pixel opens: the per-message verdicts and per-campaign numbers, shared by the JSON output
// and the HTML report.
// SPDX-License-Identifier: MIT
#ifndef PIXEL_TOOLS_OPENS_REPORT_HPP
#define PIXEL_TOOLS_OPENS_REPORT_HPP

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pixel/opens.hpp"

namespace pixel::cli {

// One manifest.jsonl line and what the logs said about it.
struct opens_message {
  std::string campaign, eid;
  std::optional<std::string> recipient;
  std::int64_t sent_ms = 0;
  std::vector<std::uint32_t> hits;  // delivered hits per client (report::clients order)
  std::uint32_t failed_hits = 0;    // answered with a status other than 2xx/3xx
  std::optional<std::int64_t> first_open_ms;
  bool any_hit() const noexcept;
  const char* verdict() const noexcept;  // "opened", "machine_only", "not_opened"
};

// A delivered hit, for the charts.
struct opens_point {
  std::int64_t ms;
  std::uint16_t client;
};

struct opens_campaign {
  std::string id;
  std::vector<std::size_t> messages;  // indexes into opens_report::messages
  std::vector<opens_point> points;
  std::uint64_t failed_hits = 0;
  // Derived by finish().
  std::uint64_t opened = 0, machine_only = 0, not_opened = 0;
  std::vector<std::uint64_t> hits;   // per client
  std::vector<double> time_to_open;  // seconds, per opened message, sorted
  std::optional<double> median_time_to_open;
  std::int64_t first_sent_ms = 0, last_sent_ms = 0;
  double open_rate() const noexcept {
    return messages.empty() ? 0.0
                            : static_cast<double>(opened) / static_cast<double>(messages.size());
  }
};

struct opens_report {
  std::vector<log::open_class> clients;
  std::vector<opens_message> messages;
  std::vector<opens_campaign> campaigns;
  // Hits whose event id is in no manifest (or that carry none).
  std::vector<std::uint64_t> unknown_hits;  // per client
  std::uint64_t unknown_failed = 0, unknown_events = 0, unknown_without_id = 0;
  std::string rules_version;
  double scanner_window = 2;

  void finish();  // computes the derived numbers
  bool any_unknown() const noexcept;
};

// The self-contained HTML page: inline CSS and SVG, no script, no external resource.
std::string opens_html(const opens_report& r);

}  // namespace pixel::cli

#endif  // PIXEL_TOOLS_OPENS_REPORT_HPP
