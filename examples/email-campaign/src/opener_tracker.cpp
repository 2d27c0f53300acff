// SPDX-License-Identifier: MIT
#include <pixel/tracker.hpp>

#include <signal.h>

#include <atomic>
#include <chrono>
#include <memory>

#include "opener.hpp"

namespace email_campaign {

namespace {
// Outcomes as the tracker reports them; once stopping, a drop is an open left undelivered.
struct counts {
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> left{0};
};

class tracker_opener final : public opener {
 public:
  tracker_opener(pixel::tracker t, std::shared_ptr<counts> c)
      : tracker_(std::move(t)), counts_(std::move(c)) {}

  bool fire(pixel::params_view params, std::string_view user_agent, std::string& error) override {
    auto id = tracker_.track(params, user_agent);
    if (!id) error = id.error().message();
    return id.has_value();
  }

  totals finish(const volatile std::sig_atomic_t* stop, std::chrono::milliseconds grace) override {
    using clock = std::chrono::steady_clock;
    // Generous: a slow or faulty endpoint gets retries before we give up on an open. The
    // wait is cut in slices so that a signal is seen within one.
    const auto deadline = clock::now() + std::chrono::seconds(120);
    bool done = false;
    while (!done && (stop == nullptr || *stop == 0) && clock::now() < deadline) {
      done = tracker_.flush(std::chrono::milliseconds(100));
    }
    if (!done && stop != nullptr && *stop != 0) {
      tracker_.flush(grace);
      counts_->stopping = true;  // what is still queued or in flight now is left
      tracker_.shutdown(std::chrono::milliseconds(0));
    } else {
      counts_->stopping = true;
      tracker_.shutdown(std::chrono::seconds(5));
    }
    const pixel::tracker_stats s = tracker_.stats();
    const std::uint64_t left = counts_->left.load();
    return {s.delivered, s.failed + s.expired, s.dropped - left, left};
  }

 private:
  pixel::tracker tracker_;
  std::shared_ptr<counts> counts_;
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
  auto c = std::make_shared<counts>();
  o.on_result = [c](const pixel::event_result& r) {
    if (r.outcome == pixel::outcome::dropped && c->stopping.load()) ++c->left;
  };
  // The tracker's threads never take SIGINT or SIGTERM: the thread reading the recipients
  // does, so that its read is interrupted (main() installs the handler).
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  auto t = pixel::tracker::create(std::move(o));
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (!t) {
    error = "--simulate-opens: " + t.error().message();
    return nullptr;
  }
  return std::make_unique<tracker_opener>(std::move(*t), std::move(c));
}

}  // namespace email_campaign
