// manifest.jsonl: one JSON object per message, the interface between a sender and
// `pixel opens` (docs/email-campaign.md, "manifest.jsonl"):
//   {"campaign": "spring", "eid": "..." | null, "recipient": "u-1" | null,
//    "sent": 1718787248.53, "mode": "identified"}
// `eid` is null only for a message without a pixel (mode "off"); `recipient` is null in
// modes "off" and "aggregate", where no event id is ever linked to a person.
// SPDX-License-Identifier: MIT
#ifndef EMAIL_CAMPAIGN_MANIFEST_HPP
#define EMAIL_CAMPAIGN_MANIFEST_HPP

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include <pixel/consent.hpp>

namespace email_campaign {

class manifest_writer {
 public:
  manifest_writer() = default;
  manifest_writer(const manifest_writer&) = delete;
  manifest_writer& operator=(const manifest_writer&) = delete;
  ~manifest_writer() { close(); }

  // Creates (or truncates) the file; false with `error` set when it cannot.
  bool open(const std::string& path, std::string& error);
  // One line; `sent_ms` is epoch milliseconds, written as decimal seconds. Strings must be
  // valid UTF-8 (the generator checks them before).
  void add(std::string_view campaign, std::optional<std::string_view> eid,
           std::optional<std::string_view> recipient, std::uint64_t sent_ms,
           pixel::tracking_mode mode);
  // False when a write failed (disk full).
  bool close();

 private:
  std::FILE* f_ = nullptr;
  std::string line_;
  bool ok_ = true;
};

// Epoch seconds ("1718787248", "1718787248.5") or ISO 8601 ("2024-06-19T08:54:08Z",
// "2024-06-19T10:54:08.250+02:00"; without a zone it is UTC), as epoch milliseconds.
std::optional<std::uint64_t> parse_sent_at(std::string_view text);

}  // namespace email_campaign

#endif  // EMAIL_CAMPAIGN_MANIFEST_HPP
