// pixel opens: the per-message verdicts and per-campaign numbers, shared by the JSON output
// and the HTML report.
// SPDX-License-Identifier: MIT
#ifndef PIXEL_TOOLS_OPENS_REPORT_HPP
#define PIXEL_TOOLS_OPENS_REPORT_HPP

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "big_memory.hpp"
#include "pixel/opens.hpp"

namespace pixel::cli {

// One manifest.jsonl line and what the logs said about it. Its strings view the report's
// text (the manifest files as read, or the decoded strings of lines read as JSON).
struct opens_message {
  std::string_view eid() const noexcept { return {eid_, eid_size_}; }
  std::string_view recipient() const noexcept { return {recipient_, recipient_size_}; }
  void set_eid(std::string_view v) noexcept {
    eid_ = v.data();
    eid_size_ = static_cast<std::uint32_t>(v.size());
  }
  void set_recipient(std::string_view v) noexcept {
    recipient_ = v.data();
    recipient_size_ = static_cast<std::uint32_t>(v.size());
  }

  std::int64_t sent_ms = 0;
  std::int64_t first_open_ms = 0;        // meaningful when opened
  float weight = 1;                      // 1/sr of its first sampled hit; 1 when none carried sr
  std::uint32_t campaign = 0;            // index into opens_report::campaigns
  std::uint32_t hits = 0;                // delivered hits, every client
  std::uint32_t failed_hits = 0;         // answered with a status other than 2xx/3xx
  std::uint32_t unverified_hits = 0;     // delivered, but the signature did not verify
  bool has_recipient = false;            // (kept only for the per-message lines)
  bool opened = false;                   // a human open among the hits
  bool weighed = false;                  // weight was taken from a hit's sr
  const char* verdict() const noexcept;  // "opened", "machine_only", "not_opened"

 private:
  // 64 bytes in all: a manifest can list millions of messages.
  const char* eid_ = nullptr;
  const char* recipient_ = nullptr;
  std::uint32_t eid_size_ = 0, recipient_size_ = 0;
};

using opens_messages = std::vector<opens_message, big_allocator<opens_message>>;

// A delivered hit, for the charts.
struct opens_point {
  std::int64_t ms;
  std::uint16_t client;
};

struct opens_campaign {
  std::string id;
  std::uint64_t sent = 0;  // its messages
  std::vector<opens_point> points;
  std::uint64_t failed_hits = 0;
  std::uint64_t unverified_hits = 0;
  std::vector<std::uint64_t> unverified;  // per signature_status (valid never counted)
  std::vector<std::uint64_t> hits;        // delivered, verified hits per client
  // Sampled hits (sr=<rate>): each stands for 1/rate hits (pixel/sampling.hpp).
  std::uint64_t sampled_hits = 0, bad_rates = 0;
  std::vector<double> estimated_hits;  // per client
  // Derived by finish().
  std::uint64_t opened = 0, machine_only = 0, not_opened = 0;
  double estimated_opened = 0, estimated_machine_only = 0;
  std::vector<double> time_to_open;  // seconds, per opened message, in no order
  std::optional<double> median_time_to_open;
  std::int64_t first_sent_ms = 0, last_sent_ms = 0;
  double open_rate() const noexcept {
    return sent == 0 ? 0.0 : static_cast<double>(opened) / static_cast<double>(sent);
  }
};

struct opens_report {
  // What the messages' strings view: blocks that never reallocate.
  std::deque<std::vector<char, big_allocator<char>>> text;
  std::vector<log::open_class> clients;
  opens_messages messages;
  std::vector<opens_campaign> campaigns;
  // Per message and client, delivered hits (messages.size() x clients.size()), kept only
  // when the per-message lines are written.
  std::vector<std::uint32_t> message_hits;
  // Hits whose event id is in no manifest (or that carry none).
  opens_campaign unknown;
  std::uint64_t unknown_events = 0, unknown_without_id = 0;
  std::string rules_version;
  double scanner_window = 2;
  bool verified = false;  // --verify-key was given

  void finish();  // computes the derived numbers
  bool any_unknown() const noexcept;
};

// The self-contained HTML page: inline CSS and SVG, no script, no external resource.
std::string opens_html(const opens_report& r);

}  // namespace pixel::cli

#endif  // PIXEL_TOOLS_OPENS_REPORT_HPP
