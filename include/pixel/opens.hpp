// Telling machine opens from human ones: every hit on a pixel is given a client by the rules
// of src/log/opens_rules.json (one versioned file, a source for each rule), applied in order
// to the user agent (log escaping undone), the viewer's address and the time since the
// message was sent.
// SPDX-License-Identifier: MIT
//
//   pixel::log::classifier c;                           // the built-in rules
//   c.add_machine_ranges("17.0.0.0/8 apple\n");          // optional: CIDR LABEL per line
//   auto v = c.classify(rec.user_agent, rec.c_ip, seconds_since_sent);
//   if (v.human) ++opens;                                // v.client: "apple_mpp", ...
#ifndef PIXEL_OPENS_HPP
#define PIXEL_OPENS_HPP

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pixel/config.hpp"
#include "pixel/error.hpp"

namespace pixel::log {

// One rule as the rules file has it.
struct opens_rule {
  std::string_view client;  // empty for the machine-ranges step (a match takes its label)
  bool human;               // its hits are human opens
  std::string_view source;  // where the behaviour is documented
};

// The rules file's version (printed by the report), its rules in order, and the default
// scanner window in seconds.
PIXEL_CXX_API std::string_view opens_rules_version() noexcept;
PIXEL_CXX_API std::vector<opens_rule> opens_rules();
PIXEL_CXX_API double default_scanner_window() noexcept;

// The client a hit was classified as.
struct open_class {
  std::string_view client;  // a rule's client or a machine range's label; lives as long as
                            // the classifier
  bool human = false;
};

// The rules, the user's machine ranges and the scanner window. classify() is const and
// thread-safe; the setters are not.
class PIXEL_CXX_API classifier {
 public:
  classifier();
  classifier(const classifier&);
  classifier(classifier&&) noexcept;
  classifier& operator=(const classifier&);
  classifier& operator=(classifier&&) noexcept;
  ~classifier();

  // Hits less than `seconds` after their message's `sent` are `scanner` (default 2).
  // errc::invalid_argument when it is negative or not finite.
  result<void> set_scanner_window(double seconds);
  double scanner_window() const noexcept;

  // Adds ranges from text: one "CIDR LABEL" per line (IPv4 or IPv6; spaces, tabs or a comma
  // between them), blank lines and '#' comments skipped. A hit whose address is in a range
  // is a machine open with the label as its client (the longest prefix wins), checked after
  // the user-agent rules. errc::invalid_argument names `origin` and the line; nothing is
  // added then. Labels must not be a human client's name.
  result<void> add_machine_ranges(std::string_view text, std::string_view origin = "ranges");
  std::size_t machine_range_count() const noexcept;

  // `since_sent`: seconds from the message's hand-off to the hit, when the manifest is known.
  open_class classify(std::string_view user_agent, std::string_view c_ip,
                      std::optional<double> since_sent) const;

  // Every client a hit can be given: the rules' clients in order, then the range labels.
  std::vector<open_class> clients() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace pixel::log

#endif  // PIXEL_OPENS_HPP
