// SPDX-License-Identifier: MIT
#include <pixel/tracker.hpp>

#include <atomic>
#include <chrono>

#include "opener.hpp"

namespace email_campaign {

namespace {
class tracker_opener final : public opener {
 public:
  explicit tracker_opener(pixel::tracker t) : tracker_(std::move(t)) {}

  bool fire(pixel::params_view params, std::string_view user_agent, std::string& error) override {
    auto id = tracker_.track(params, user_agent);
    if (!id) error = id.error().message();
    return id.has_value();
  }

  totals finish() override {
    // Generous: a slow or faulty endpoint gets retries before we give up on an open.
    tracker_.flush(std::chrono::seconds(120));
    tracker_.shutdown(std::chrono::seconds(5));
    const pixel::tracker_stats s = tracker_.stats();
    return {s.delivered, s.failed + s.expired, s.dropped};
  }

 private:
  pixel::tracker tracker_;
};
}  // namespace

std::unique_ptr<opener> make_tracker_opener(const std::string& endpoint, bool allow_http,
                                            std::string& error) {
  pixel::tracker_options o;
  o.endpoint = endpoint;
  o.allow_http = allow_http;
  // The message's own URL is fetched: its eid is a parameter like the others, and no
  // timestamp is added (the record's timestamp is the open time).
  o.url.event_id = false;
  o.url.timestamp = false;
  o.queue_capacity = 50'000;
  o.overflow = pixel::overflow_policy::block;
  o.block_timeout = std::chrono::milliseconds(60'000);
  auto t = pixel::tracker::create(std::move(o));
  if (!t) {
    error = "--simulate-opens: " + t.error().message();
    return nullptr;
  }
  return std::make_unique<tracker_opener>(std::move(*t));
}

}  // namespace email_campaign
