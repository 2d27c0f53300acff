// The delivery policy: what to do after an attempt, and when the worker may send. Plain
// code: no I/O, no clock reads (time is a parameter), no libcurl types, and the random
// source for the backoff jitter is injected. Retry with exponential backoff and full
// jitter, Retry-After (seconds or an HTTP-date, capped), outage detection and probing,
// redirect rules, max attempts and max age all live here.
// SPDX-License-Identifier: MIT
#ifndef PIXEL_SRC_TRACKER_POLICY_POLICY_HPP
#define PIXEL_SRC_TRACKER_POLICY_POLICY_HPP

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "pixel/tracker.hpp"
#include "tracker/attempt.hpp"
#include "tracker/clock.hpp"
#include "tracker/policy/limiter.hpp"
#include "tracker/policy/pacer.hpp"

namespace pixel::detail {

// A redirect chain longer than this is treated as a loop.
constexpr std::uint32_t k_max_redirects = 5;
// Unprocessed attempts (attempt_result::unprocessed) an event may have beyond its budget.
constexpr std::uint32_t k_max_unprocessed = 10;

// Statuses worth another attempt: 408, 429, 500, 502, 503, 504.
constexpr bool is_retryable_status(long status) noexcept {
  return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 ||
         status == 504;
}

constexpr bool is_redirect_status(long status) noexcept {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// Transport failures that another attempt may cure (refused or reset connections,
// timeouts, DNS, a connection that died mid-response, a handshake cut short). A
// certificate that does not verify, and local failures (`other`), are final.
constexpr bool is_retryable_error(transport_error e) noexcept {
  switch (e) {
    case transport_error::dns:
    case transport_error::connect:
    case transport_error::tls:
    case transport_error::timeout:
    case transport_error::reset:
    case transport_error::send:
    case transport_error::receive:
    case transport_error::protocol:
      return true;
    case transport_error::none:
    case transport_error::certificate:
    case transport_error::other:
      break;
  }
  return false;
}

// A redirect is followed only to https on the endpoint's own host (any port): CloudFront
// answers http with a 301 to https, and anything else could leak events elsewhere.
bool redirect_allowed(std::string_view location, std::string_view endpoint_host) noexcept;

// An attempt that did not deliver, in a few words: "HTTP 503", "connect (Failed to
// connect to 127.0.0.1 port 1 ...)".
std::string describe(const attempt_result& r);

// The event's side of an attempt (its counts include this attempt). Every request is an
// attempt, outage probes included; max_attempts caps only those made outside an outage.
struct attempt_context {
  std::uint32_t attempts = 1;     // requests sent for the event, probes included
  std::uint32_t budget_used = 1;  // of them, counted against max_attempts (not probes, not
                                  // attempts refunded: unprocessed, or failed in an outage)
  std::uint32_t redirects = 0;    // redirects followed before this attempt
  std::int64_t created_ms = 0;    // when the event was tracked (Unix ms)
  bool probe = false;             // sent as an outage probe
};

struct decision {
  enum class verdict {
    delivered,  // done
    failed,     // a final failure (see message)
    expired,    // too old to try again
    retry,      // try again at not_before
    redirect,   // try `redirect_to` at not_before (counts as a followed redirect)
  };
  verdict what = verdict::failed;
  steady_clock::time_point not_before{};
  std::string redirect_to;
  std::string message;  // empty when delivered
  // Effects on the endpoint's health, for the worker to act on.
  bool outage_entered = false;
  bool outage_left = false;  // release every waiting event
  // The attempt does not count against max_attempts (an unprocessed one, retried at once, or
  // one that failed while the endpoint is down, which waits for the outage to end).
  bool refund_budget = false;
};

struct policy_options {
  retry_policy retry;
  std::chrono::milliseconds retry_after_cap{60'000};
  std::uint32_t outage_threshold = 5;  // 0: never enter an outage
  std::chrono::milliseconds probe_interval{500};
  std::size_t min_in_flight = 16;  // the adaptive limit's floor
  std::size_t max_in_flight = 1024;
  std::string endpoint_host;  // redirects are followed on this host only
  double max_rate = 0;        // starts per second, at most (pacer.hpp); 0: unpaced

  static policy_options from(const tracker_options& o, std::string endpoint_host);
};

// A number in [0, 1), for the jitter.
using random_source = std::function<double()>;

// What the worker may start now.
struct admission {
  std::size_t count = 0;  // events to take from the store
  bool probe = false;     // take the oldest event as an outage probe instead (count is 1)
  bool paced = false;     // the pacing budget (max_rate), not the in-flight limit, set count
};

// Stateful (the endpoint's health), used by the worker thread only.
class delivery_policy {
 public:
  delivery_policy(policy_options options, random_source random);

  // The decision after an attempt, and its effect on the endpoint's health.
  decision judge(const attempt_result& result, const attempt_context& event, const instant& now);

  // How many transfers may start at `now` with `in_flight` running. During an outage: one
  // probe, when none is running and the probe is due. During a Retry-After pause: none.
  admission admit(steady_clock::time_point now, std::size_t in_flight) const;
  // The worker started the probe admit() asked for.
  void probe_started(steady_clock::time_point now);
  // The worker started `n` transfers (probes included): they spend the pacing budget.
  void note_started(steady_clock::time_point now, std::size_t n) noexcept { pacer_.take(now, n); }

  // When admit() may next say yes, given the store's next due time (nothing when nothing
  // waits). Nothing: only a completion or a new event can change the answer.
  std::optional<steady_clock::time_point> next_admission(
      steady_clock::time_point now, std::size_t in_flight,
      std::optional<steady_clock::time_point> next_due) const;

  // The limit on transfers in flight: the adaptive limiter's, between min_in_flight and
  // max_in_flight (limiter.hpp), fed by judge().
  std::size_t in_flight_limit() const noexcept { return limiter_.limit(); }
  // The limit held back ready events (demand for more than it allows).
  void note_limited() noexcept { limiter_.note_limited(); }

  bool in_outage() const noexcept { return outage_; }
  steady_clock::time_point paused_until() const noexcept { return paused_until_; }

 private:
  decision retry_or_give_up(decision d, const attempt_result& result, const attempt_context& event,
                            const instant& now);

  policy_options options_;
  random_source random_;
  concurrency_limiter limiter_;
  pacer pacer_;
  std::uint32_t consecutive_failures_ = 0;
  bool outage_ = false;
  steady_clock::time_point next_probe_{};
  steady_clock::time_point paused_until_{};  // Retry-After: nothing goes out before
};

}  // namespace pixel::detail

#endif  // PIXEL_SRC_TRACKER_POLICY_POLICY_HPP
