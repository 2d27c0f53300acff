// email-campaign: fires pixels as recipients' mail clients would (--simulate-opens).
// SPDX-License-Identifier: MIT
#ifndef EMAIL_CAMPAIGN_OPENER_HPP
#define EMAIL_CAMPAIGN_OPENER_HPP

#include <pixel/url.hpp>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <memory>
#include <string>

namespace email_campaign {

class opener {
 public:
  struct totals {
    std::uint64_t delivered = 0, failed = 0, dropped = 0;
    std::uint64_t left = 0;  // still undelivered when `stop` cut the wait short
  };
  virtual ~opener() = default;
  // Fetches the pixel whose query is exactly `params` (the event id included).
  virtual bool fire(pixel::params_view params, std::string_view user_agent, std::string& error) = 0;
  // Waits for every fetch to end; returns the outcomes. Once `*stop` is non-zero (also when
  // it becomes so during the wait) it waits `grace` at most, then gives up on the rest.
  virtual totals finish(const volatile std::sig_atomic_t* stop,
                        std::chrono::milliseconds grace) = 0;
};

// An opener on the pixel tracker for `endpoint`, or nullptr with `error` set.
std::unique_ptr<opener> make_tracker_opener(const std::string& endpoint, bool allow_http,
                                            std::string& error);

}  // namespace email_campaign

#endif  // EMAIL_CAMPAIGN_OPENER_HPP
