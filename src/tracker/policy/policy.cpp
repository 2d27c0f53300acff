// SPDX-License-Identifier: MIT
#include "tracker/policy/policy.hpp"

#include <algorithm>
#include <utility>

#include "tracker/policy/backoff.hpp"
#include "tracker/policy/retry_after.hpp"

namespace pixel::detail {

bool redirect_allowed(std::string_view location, std::string_view endpoint_host) noexcept {
  constexpr std::string_view scheme = "https://";
  if (location.size() <= scheme.size() ||
      !pixel::detail::iequals(location.substr(0, scheme.size()), scheme)) {
    return false;
  }
  std::string_view rest = location.substr(scheme.size());
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.find('@') != std::string_view::npos) return false;
  std::string_view host;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return false;
    host = authority.substr(1, close - 1);
  } else {
    host = authority.substr(0, authority.find(':'));
  }
  return !host.empty() && pixel::detail::iequals(host, endpoint_host);
}

policy_options policy_options::from(const tracker_options& o, std::string endpoint_host) {
  policy_options p;
  p.retry = o.retry;
  p.retry_after_cap = o.retry_after_cap;
  p.outage_threshold = o.outage_threshold;
  p.probe_interval = o.probe_interval;
  p.min_in_flight = std::min(o.min_in_flight, o.max_in_flight);
  p.max_in_flight = o.max_in_flight;
  p.endpoint_host = std::move(endpoint_host);
  p.max_rate = o.max_rate;
  return p;
}

namespace {
limiter_config limits(const policy_options& o) {
  limiter_config c;
  c.floor = o.min_in_flight;
  c.ceiling = o.max_in_flight;
  return c;
}
}  // namespace

delivery_policy::delivery_policy(policy_options options, random_source random)
    : options_(std::move(options)),
      random_(std::move(random)),
      limiter_(limits(options_)),
      pacer_(options_.max_rate > 0 ? pacer(options_.max_rate) : pacer()) {}

std::string describe(const attempt_result& r) {
  if (r.error == transport_error::none) return "HTTP " + std::to_string(r.status);
  std::string s = transport_error_name(r.error);
  if (!r.error_text.empty()) {
    s += " (";
    s.append(r.error_text);
    s += ')';
  }
  return s;
}

decision delivery_policy::judge(const attempt_result& result, const attempt_context& event,
                                const instant& now) {
  decision d;
  const bool answered = result.error == transport_error::none;
  const long status = result.status;

  // An attempt the server never processed says nothing about the endpoint: try again at
  // once, free of the budget (a bounded number of times, against a server that closes
  // every connection before reading it).
  if (result.unprocessed && !event.probe &&
      event.attempts - event.budget_used < k_max_unprocessed) {
    d.what = decision::verdict::retry;
    d.not_before = now.steady;
    d.refund_budget = true;
    return d;
  }

  // A configuration waiting cannot cure: final at once, and says nothing about the
  // endpoint's health.
  if (result.misconfigured) {
    d.what = decision::verdict::failed;
    d.message = "transfer failed: " + describe(result) +
                ": the endpoint does not speak TLS (an https:// URL for an http:// port?)";
    return d;
  }

  // The load signal for the in-flight limit (probes are not load).
  if (!event.probe) {
    const bool overload =
        answered ? status == 429 || status == 503 : result.error == transport_error::timeout;
    limiter_.on_result(now.steady, result.latency,
                       overload   ? limiter_signal::overload
                       : answered ? limiter_signal::answered
                                  : limiter_signal::ignore);
  }

  // The endpoint's health: consecutive connection failures, timeouts and 5xx mean down.
  const bool endpoint_failure = answered ? status >= 500 : is_retryable_error(result.error);
  if (endpoint_failure) {
    ++consecutive_failures_;
    if (!outage_ && options_.outage_threshold > 0 &&
        consecutive_failures_ >= options_.outage_threshold) {
      outage_ = true;
      next_probe_ = now.steady + options_.probe_interval;
      d.outage_entered = true;
    }
  } else if (answered) {
    consecutive_failures_ = 0;
    if (outage_) {
      outage_ = false;
      d.outage_left = true;
    }
  }

  if (answered && status >= 200 && status < 400 && !is_redirect_status(status)) {
    d.what = decision::verdict::delivered;
    return d;
  }
  if (answered && is_redirect_status(status)) {
    if (!result.location.empty() && event.redirects < k_max_redirects &&
        redirect_allowed(result.location, options_.endpoint_host)) {
      d.what = decision::verdict::redirect;
      d.redirect_to.assign(result.location);
      d.not_before = now.steady;
      return d;
    }
    d.what = decision::verdict::failed;
    if (result.location.empty()) {
      d.message = "redirect without a Location";
    } else if (event.redirects >= k_max_redirects) {
      d.message = "too many redirects";
    } else {
      d.message = "redirect to ";
      d.message.append(result.location);
      d.message += " not followed (only https on the same host is)";
    }
    return d;
  }
  const bool retryable = answered ? is_retryable_status(status) : is_retryable_error(result.error);
  if (!retryable) {
    d.what = decision::verdict::failed;
    d.message = answered ? "final HTTP status " + std::to_string(status)
                         : "transfer failed: " + describe(result);
    return d;
  }
  return retry_or_give_up(std::move(d), result, event, now);
}

decision delivery_policy::retry_or_give_up(decision d, const attempt_result& result,
                                           const attempt_context& event, const instant& now) {
  std::chrono::milliseconds retry_after{0};
  if (result.error == transport_error::none && !result.retry_after.empty()) {
    if (auto ra = parse_retry_after(result.retry_after, now.wall())) {
      retry_after = std::min(*ra, options_.retry_after_cap);
      paused_until_ = std::max(paused_until_, now.steady + retry_after);
    }
  }
  if (now.unix_ms - event.created_ms >= options_.retry.max_age.count()) {
    d.what = decision::verdict::expired;
    d.message = "older than retry_policy::max_age";
    return d;
  }
  // An attempt that failed while the endpoint is down (this failure may be the one that took
  // it down) costs nothing: the event waits for the outage to end, whatever its budget.
  if (outage_ && !event.probe) {
    d.what = decision::verdict::retry;
    d.not_before = now.steady;
    d.refund_budget = true;
    return d;
  }
  if (!event.probe && event.budget_used >= options_.retry.max_attempts) {
    d.what = decision::verdict::failed;
    d.message =
        "gave up after " + std::to_string(event.attempts) + " attempts: " + describe(result);
    return d;
  }
  d.what = decision::verdict::retry;
  d.not_before = next_attempt_at(now.steady, options_.retry, std::max(event.budget_used, 1u),
                                 random_(), retry_after);
  return d;
}

admission delivery_policy::admit(steady_clock::time_point now, std::size_t in_flight) const {
  admission a;
  if (now < paused_until_) return a;
  const std::size_t paced = pacer_.available(now);
  if (paced == 0) {
    a.paced = true;
    return a;
  }
  if (outage_) {
    if (in_flight == 0 && now >= next_probe_) {
      a.count = 1;
      a.probe = true;
    }
    return a;
  }
  const std::size_t limit = in_flight_limit();
  const std::size_t room = in_flight < limit ? limit - in_flight : 0;
  a.count = std::min(room, paced);
  a.paced = paced < room;
  return a;
}

void delivery_policy::probe_started(steady_clock::time_point now) {
  next_probe_ = now + options_.probe_interval;
}

std::optional<steady_clock::time_point> delivery_policy::next_admission(
    steady_clock::time_point now, std::size_t in_flight,
    std::optional<steady_clock::time_point> next_due) const {
  if (!next_due) return std::nullopt;
  std::optional<steady_clock::time_point> at;
  if (outage_) {
    if (in_flight == 0) at = next_probe_;  // a probe takes the oldest event, due or not
  } else if (in_flight < in_flight_limit()) {
    at = next_due;
  }
  if (at) at = std::max({*at, paused_until_, pacer_.next(now)});
  return at;
}

}  // namespace pixel::detail
