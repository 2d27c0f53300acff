// The delivery policy as plain code: no sockets, time and randomness injected. The
// decision table over statuses and transport errors, Retry-After, outages, redirects,
// max attempts and max age.
// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <vector>

#include "tracker/policy/policy.hpp"

namespace {
using namespace std::chrono_literals;
using pixel::transport_error;
using pixel::detail::attempt_context;
using pixel::detail::attempt_result;
using pixel::detail::decision;
using pixel::detail::delivery_policy;
using pixel::detail::instant;
using pixel::detail::policy_options;
using verdict = decision::verdict;
using clock_type = pixel::detail::steady_clock;

const clock_type::time_point t0{std::chrono::hours(5)};
constexpr std::int64_t unix0 = 1'767'225'600'000;  // 2026-01-01T00:00:00Z

instant at(std::chrono::milliseconds since_start) {
  return {t0 + since_start, unix0 + since_start.count()};
}

policy_options options() {
  policy_options o;
  o.retry.max_attempts = 4;
  o.retry.base_delay = 100ms;
  o.retry.max_delay = 1000ms;
  o.retry.max_age = 60s;
  o.retry_after_cap = 30s;
  o.outage_threshold = 3;
  o.probe_interval = 500ms;
  o.max_in_flight = 16;
  o.endpoint_host = "d111.cloudfront.net";
  return o;
}

// A random source that gives back what the test says (the jitter's draw in [0, 1)).
delivery_policy make(policy_options o = options(), double draw = 0.5) {
  return delivery_policy(std::move(o), [draw] { return draw; });
}

attempt_result status(long s) {
  attempt_result r;
  r.status = s;
  return r;
}

attempt_result failure(transport_error e) {
  attempt_result r;
  r.error = e;
  r.error_text = "words";
  return r;
}

attempt_context first() {
  attempt_context c;
  c.created_ms = unix0;
  return c;
}

const transport_error all_errors[] = {
    transport_error::dns,         transport_error::connect, transport_error::tls,
    transport_error::certificate, transport_error::timeout, transport_error::reset,
    transport_error::send,        transport_error::receive, transport_error::protocol,
    transport_error::other,
};

TEST(PolicyTable, SuccessfulStatusesAreDelivered) {
  for (long s : {200L, 201L, 202L, 204L, 206L, 299L, 300L, 304L, 305L, 306L, 399L}) {
    auto p = make();
    const auto d = p.judge(status(s), first(), at(0ms));
    EXPECT_EQ(d.what, verdict::delivered) << s;
    EXPECT_TRUE(d.message.empty()) << s;
  }
}

TEST(PolicyTable, RetryableStatusesAreRetriedWithBackoff) {
  for (long s : {408L, 429L, 500L, 502L, 503L, 504L}) {
    auto p = make();
    const auto d = p.judge(status(s), first(), at(0ms));
    EXPECT_EQ(d.what, verdict::retry) << s;
    // First failure: ceiling base_delay (100 ms), draw 0.5 of [0, 100] -> 50 ms.
    EXPECT_EQ(d.not_before, t0 + 50ms) << s;
  }
}

TEST(PolicyTable, OtherClientAndServerErrorsAreFinal) {
  for (long s : {400L, 401L, 403L, 404L, 405L, 410L, 413L, 414L, 418L, 451L, 499L, 501L, 505L, 511L,
                 599L, 100L, 0L}) {
    auto p = make();
    const auto d = p.judge(status(s), first(), at(0ms));
    EXPECT_EQ(d.what, verdict::failed) << s;
    EXPECT_EQ(d.message, "final HTTP status " + std::to_string(s));
  }
}

TEST(PolicyTable, EveryTransportError) {
  for (auto e : all_errors) {
    auto p = make();
    const auto d = p.judge(failure(e), first(), at(0ms));
    const bool retryable = e != transport_error::certificate && e != transport_error::other;
    EXPECT_EQ(pixel::detail::is_retryable_error(e), retryable) << pixel::transport_error_name(e);
    if (retryable) {
      EXPECT_EQ(d.what, verdict::retry) << pixel::transport_error_name(e);
      EXPECT_EQ(d.not_before, t0 + 50ms);
    } else {
      EXPECT_EQ(d.what, verdict::failed) << pixel::transport_error_name(e);
      EXPECT_EQ(d.message,
                std::string("transfer failed: ") + pixel::transport_error_name(e) + " (words)");
    }
  }
  EXPECT_FALSE(pixel::detail::is_retryable_error(transport_error::none));
}

TEST(PolicyBackoff, FullJitterUpToADoublingCeiling) {
  auto o = options();
  o.retry.max_attempts = 100;
  o.outage_threshold = 0;  // six 503s in a row: backoff alone, no outage
  for (double draw : {0.0, 0.25, 0.999999}) {
    auto p = make(o, draw);
    for (std::uint32_t n = 1; n <= 6; ++n) {
      attempt_context c = first();
      c.attempts = c.budget_used = n;
      const auto d = p.judge(status(503), c, at(0ms));
      ASSERT_EQ(d.what, verdict::retry);
      const std::int64_t ceiling = std::min<std::int64_t>(100LL << (n - 1), 1000);
      const auto expected = static_cast<std::int64_t>(draw * static_cast<double>(ceiling + 1));
      EXPECT_EQ(d.not_before - t0, std::chrono::milliseconds(std::min(expected, ceiling)))
          << "draw " << draw << " after " << n;
    }
  }
}

TEST(PolicyRetryAfter, SecondsPauseTheEndpointAndDelayTheRetry) {
  auto p = make();
  auto r = status(429);
  r.retry_after = " 7\r\n";
  const auto d = p.judge(r, first(), at(0ms));
  EXPECT_EQ(d.what, verdict::retry);
  EXPECT_EQ(d.not_before, t0 + 7s);  // the later of 50 ms backoff and 7 s
  EXPECT_EQ(p.paused_until(), t0 + 7s);
  EXPECT_EQ(p.admit(t0 + 6999ms, 0).count, 0u);
  EXPECT_EQ(p.admit(t0 + 7s, 0).count, 16u);
  EXPECT_EQ(p.next_admission(t0, 0, t0), t0 + 7s);
}

TEST(PolicyRetryAfter, HttpDateIsMeasuredFromTheWallClock) {
  auto p = make();
  auto r = status(503);
  r.retry_after = "Thu, 01 Jan 2026 00:00:12 GMT";  // unix0 + 12 s
  const auto d = p.judge(r, first(), at(2s));
  EXPECT_EQ(d.what, verdict::retry);
  EXPECT_EQ(d.not_before, t0 + 12s);
  EXPECT_EQ(p.paused_until(), t0 + 12s);
}

TEST(PolicyRetryAfter, CappedAndMalformedAndPast) {
  {
    auto p = make();
    auto r = status(503);
    r.retry_after = "86400";
    EXPECT_EQ(p.judge(r, first(), at(0ms)).not_before, t0 + 30s);  // retry_after_cap
    EXPECT_EQ(p.paused_until(), t0 + 30s);
  }
  for (const char* bad : {"soon", "-5", "Thu, 99 Jan 2026 00:00:12 GMT", ""}) {
    auto p = make();
    auto r = status(503);
    r.retry_after = bad;
    EXPECT_EQ(p.judge(r, first(), at(0ms)).not_before, t0 + 50ms) << bad;
    EXPECT_EQ(p.paused_until(), clock_type::time_point{}) << bad;
  }
  {
    auto p = make();
    auto r = status(429);
    r.retry_after = "Wed, 31 Dec 2025 23:00:00 GMT";  // in the past: no extra wait
    EXPECT_EQ(p.judge(r, first(), at(0ms)).not_before, t0 + 50ms);
  }
  {
    auto o = options();
    o.retry_after_cap = 0ms;  // Retry-After ignored
    auto p = make(o);
    auto r = status(429);
    r.retry_after = "10";
    EXPECT_EQ(p.judge(r, first(), at(0ms)).not_before, t0 + 50ms);
    EXPECT_EQ(p.admit(t0, 0).count, 16u);
  }
}

TEST(PolicyRetryAfter, IgnoredOnAFinalStatusOrWithoutAResponse) {
  auto p = make();
  auto r = status(404);
  r.retry_after = "10";
  EXPECT_EQ(p.judge(r, first(), at(0ms)).what, verdict::failed);
  EXPECT_EQ(p.admit(t0, 0).count, 16u);
  auto f = failure(transport_error::timeout);
  f.retry_after = "10";
  EXPECT_EQ(p.judge(f, first(), at(0ms)).not_before, t0 + 50ms);
  EXPECT_EQ(p.admit(t0, 0).count, 16u);
}

TEST(PolicyLimits, MaxAttemptsGivesUp) {
  policy_options o = options();
  o.outage_threshold = 0;  // the endpoint never counts as down here (see the next test)
  auto p = make(o);
  attempt_context c = first();
  c.attempts = c.budget_used = 3;
  EXPECT_EQ(p.judge(status(503), c, at(0ms)).what, verdict::retry);
  c.attempts = c.budget_used = 4;
  auto d = p.judge(status(503), c, at(0ms));
  EXPECT_EQ(d.what, verdict::failed);
  EXPECT_EQ(d.message, "gave up after 4 attempts: HTTP 503");
  d = p.judge(failure(transport_error::connect), c, at(0ms));
  EXPECT_EQ(d.what, verdict::failed);
  EXPECT_EQ(d.message, "gave up after 4 attempts: connect (words)");
  // A probe does not spend the budget.
  c.probe = true;
  c.attempts = 9;
  EXPECT_EQ(p.judge(status(503), c, at(0ms)).what, verdict::retry);
}

TEST(PolicyLimits, AFailureWhileTheEndpointIsDownWaitsWhateverTheBudget) {
  auto p = make();  // down after 3 consecutive endpoint failures
  attempt_context spent = first();
  spent.attempts = spent.budget_used = 4;  // max_attempts reached
  auto d = p.judge(status(503), spent, at(0ms));
  EXPECT_EQ(d.what, verdict::failed);  // the endpoint is still up: the event gives up
  d = p.judge(failure(transport_error::connect), first(), at(0ms));
  EXPECT_EQ(d.what, verdict::retry);
  EXPECT_FALSE(d.refund_budget);
  // The failure that takes the endpoint down costs nothing, even the event's last attempt.
  d = p.judge(failure(transport_error::connect), spent, at(10ms));
  EXPECT_TRUE(d.outage_entered);
  EXPECT_EQ(d.what, verdict::retry);
  EXPECT_TRUE(d.refund_budget);
  EXPECT_EQ(d.not_before, t0 + 10ms);  // waits for the outage's end, not for a backoff
  // Attempts still in flight when it went down fail the same way.
  d = p.judge(status(502), spent, at(20ms));
  EXPECT_EQ(d.what, verdict::retry);
  EXPECT_TRUE(d.refund_budget);
  // Age still counts during an outage.
  d = p.judge(failure(transport_error::connect), spent, at(60s));
  EXPECT_EQ(d.what, verdict::expired);
}

TEST(PolicyLimits, MaxAgeExpiresInsteadOfRetrying) {
  auto p = make();
  attempt_context c = first();
  EXPECT_EQ(p.judge(status(503), c, at(59'999ms)).what, verdict::retry);
  auto d = p.judge(status(503), c, at(60s));
  EXPECT_EQ(d.what, verdict::expired);
  EXPECT_EQ(d.message, "older than retry_policy::max_age");
  // Age is wall-clock: an event created in an earlier run keeps its age.
  c.created_ms = unix0 - 3'600'000;
  EXPECT_EQ(p.judge(failure(transport_error::dns), c, at(0ms)).what, verdict::expired);
  // A delivery is a delivery, however old.
  EXPECT_EQ(p.judge(status(200), c, at(0ms)).what, verdict::delivered);
}

TEST(PolicyRedirect, FollowedOnlyToHttpsOnTheSameHost) {
  for (long s : {301L, 302L, 303L, 307L, 308L}) {
    auto p = make();
    auto r = status(s);
    r.location = "https://d111.cloudfront.net:8443/1x1.png?a=1";
    const auto d = p.judge(r, first(), at(1s));
    EXPECT_EQ(d.what, verdict::redirect) << s;
    EXPECT_EQ(d.redirect_to, "https://d111.cloudfront.net:8443/1x1.png?a=1");
    EXPECT_EQ(d.not_before, t0 + 1s);  // at once
  }
  struct refused {
    const char* location;
    const char* message;
  };
  for (const auto& c : {refused{"", "redirect without a Location"},
                        refused{"http://d111.cloudfront.net/1x1.png",
                                "redirect to http://d111.cloudfront.net/1x1.png not followed "
                                "(only https on the same host is)"},
                        refused{"https://evil.example/1x1.png",
                                "redirect to https://evil.example/1x1.png not followed (only "
                                "https on the same host is)"}}) {
    auto p = make();
    auto r = status(302);
    r.location = c.location;
    const auto d = p.judge(r, first(), at(0ms));
    EXPECT_EQ(d.what, verdict::failed) << c.location;
    EXPECT_EQ(d.message, c.message);
  }
  // A chain longer than k_max_redirects is a loop.
  auto p = make();
  auto r = status(301);
  r.location = "https://d111.cloudfront.net/again";
  attempt_context ctx = first();
  ctx.redirects = pixel::detail::k_max_redirects - 1;
  EXPECT_EQ(p.judge(r, ctx, at(0ms)).what, verdict::redirect);
  ctx.redirects = pixel::detail::k_max_redirects;
  const auto d = p.judge(r, ctx, at(0ms));
  EXPECT_EQ(d.what, verdict::failed);
  EXPECT_EQ(d.message, "too many redirects");
}

TEST(PolicyOutage, EnteredAfterConsecutiveEndpointFailures) {
  auto p = make();
  EXPECT_FALSE(p.judge(status(503), first(), at(0ms)).outage_entered);
  EXPECT_FALSE(p.judge(failure(transport_error::connect), first(), at(0ms)).outage_entered);
  // A final client error is an answer, and resets the count.
  EXPECT_FALSE(p.judge(status(404), first(), at(0ms)).outage_entered);
  EXPECT_FALSE(p.judge(status(500), first(), at(0ms)).outage_entered);
  EXPECT_FALSE(p.judge(failure(transport_error::timeout), first(), at(0ms)).outage_entered);
  EXPECT_FALSE(p.in_outage());
  // A final transport error (certificate) neither counts nor resets.
  EXPECT_FALSE(p.judge(failure(transport_error::certificate), first(), at(0ms)).outage_entered);
  const auto d = p.judge(status(502), first(), at(100ms));
  EXPECT_TRUE(d.outage_entered);
  EXPECT_EQ(d.what, verdict::retry);  // the event itself is still retried
  EXPECT_TRUE(p.in_outage());
}

TEST(PolicyOutage, OneProbeAtATimeEveryProbeInterval) {
  auto p = make();
  for (int i = 0; i < 3; ++i) p.judge(failure(transport_error::connect), first(), at(0ms));
  ASSERT_TRUE(p.in_outage());
  // Nothing until the first probe is due, and only with nothing in flight.
  EXPECT_EQ(p.admit(t0 + 499ms, 0).count, 0u);
  EXPECT_EQ(p.next_admission(t0, 0, t0), t0 + 500ms);
  EXPECT_EQ(p.next_admission(t0, 1, t0), std::nullopt);
  EXPECT_EQ(p.next_admission(t0, 0, std::nullopt), std::nullopt);  // nothing waits
  EXPECT_EQ(p.admit(t0 + 500ms, 1).count, 0u);
  auto a = p.admit(t0 + 500ms, 0);
  EXPECT_EQ(a.count, 1u);
  EXPECT_TRUE(a.probe);
  p.probe_started(t0 + 500ms);
  EXPECT_EQ(p.admit(t0 + 600ms, 0).count, 0u);
  // The probe fails: still down; the next one an interval after the last.
  attempt_context probe = first();
  probe.probe = true;
  probe.attempts = 50;
  probe.budget_used = 4;  // exhausted budget: a probe still does not give up
  auto d = p.judge(failure(transport_error::connect), probe, at(600ms));
  EXPECT_EQ(d.what, verdict::retry);
  EXPECT_FALSE(d.outage_entered);
  EXPECT_FALSE(d.outage_left);
  EXPECT_EQ(p.next_admission(t0 + 600ms, 0, t0), t0 + 1000ms);
  a = p.admit(t0 + 1000ms, 0);
  EXPECT_TRUE(a.probe);
  p.probe_started(t0 + 1000ms);
  // Any response ends it: everything waiting is released.
  d = p.judge(status(404), probe, at(1100ms));
  EXPECT_TRUE(d.outage_left);
  EXPECT_EQ(d.what, verdict::failed);
  EXPECT_FALSE(p.in_outage());
  a = p.admit(t0 + 1100ms, 3);
  EXPECT_FALSE(a.probe);
  EXPECT_EQ(a.count, 13u);
}

TEST(PolicyOutage, ThresholdZeroNeverEnters) {
  auto o = options();
  o.outage_threshold = 0;
  auto p = make(o);
  for (int i = 0; i < 50; ++i) {
    EXPECT_FALSE(p.judge(status(503), first(), at(0ms)).outage_entered);
  }
  EXPECT_FALSE(p.in_outage());
}

TEST(PolicyAdmission, FillsUpToTheInFlightLimit) {
  auto p = make();
  EXPECT_EQ(p.in_flight_limit(), 16u);
  EXPECT_EQ(p.admit(t0, 0).count, 16u);
  EXPECT_EQ(p.admit(t0, 10).count, 6u);
  EXPECT_EQ(p.admit(t0, 16).count, 0u);
  EXPECT_EQ(p.next_admission(t0, 16, t0), std::nullopt);  // full: only a completion helps
  EXPECT_EQ(p.next_admission(t0, 3, t0 + 2s), t0 + 2s);
}

TEST(PolicyOptions, FromTrackerOptions) {
  pixel::tracker_options t;
  t.retry.max_attempts = 3;
  t.retry_after_cap = 5s;
  t.outage_threshold = 9;
  t.probe_interval = 250ms;
  t.max_in_flight = 64;
  const auto o = policy_options::from(t, "h.example");
  EXPECT_EQ(o.retry.max_attempts, 3u);
  EXPECT_EQ(o.retry_after_cap, 5s);
  EXPECT_EQ(o.outage_threshold, 9u);
  EXPECT_EQ(o.probe_interval, 250ms);
  EXPECT_EQ(o.max_in_flight, 64u);
  EXPECT_EQ(o.endpoint_host, "h.example");
}
}  // namespace

namespace {

attempt_result unprocessed_send() {
  attempt_result r = failure(transport_error::send);
  r.unprocessed = true;
  return r;
}

TEST(PolicyUnprocessed, RetriedAtOnceFreeOfTheBudgetAndOfTheOutageCount) {
  auto p = make();
  attempt_context c = first();
  c.attempts = c.budget_used = 4;  // the whole budget used: a counted failure would end it
  for (int i = 0; i < 5; ++i) {    // more than outage_threshold (3) in a row
    const auto d = p.judge(unprocessed_send(), c, at(10ms));
    EXPECT_EQ(d.what, verdict::retry);
    EXPECT_EQ(d.not_before, at(10ms).steady);  // no backoff
    EXPECT_TRUE(d.refund_budget);
    EXPECT_FALSE(d.outage_entered);
    ++c.attempts;  // the worker refunds budget_used
  }
  EXPECT_FALSE(p.in_outage());
}

TEST(PolicyUnprocessed, BoundedPerEventThenJudgedAsASendFailure) {
  auto p = make();
  attempt_context c = first();
  c.budget_used = 1;
  c.attempts = 1 + pixel::detail::k_max_unprocessed;  // 10 free attempts already made
  const auto d = p.judge(unprocessed_send(), c, at(0ms));
  EXPECT_EQ(d.what, verdict::retry);
  EXPECT_FALSE(d.refund_budget);
  EXPECT_GT(d.not_before, at(0ms).steady);  // backoff: 0.5 x 100 ms
  // A send failure not marked unprocessed is an ordinary retryable failure.
  const auto plain = make().judge(failure(transport_error::send), first(), at(0ms));
  EXPECT_FALSE(plain.refund_budget);
  EXPECT_EQ(plain.not_before, at(50ms).steady);
}

TEST(PolicyLimit, GrowsFromTheFloorWithFlatLatencyAndHalvesOn503) {
  policy_options o = options();
  o.min_in_flight = 16;
  o.max_in_flight = 1024;
  auto p = make(o);
  EXPECT_EQ(p.in_flight_limit(), 16u);
  // Round trips of 20 ms answers with events waiting: slow start doubles per round trip.
  std::chrono::milliseconds now{0};
  for (int round = 0; round < 4; ++round) {
    const std::size_t n = p.in_flight_limit();
    now += 20ms;
    for (std::size_t i = 0; i < n; ++i) {
      p.note_limited();
      attempt_result r = status(200);
      r.latency = 20ms;
      p.judge(r, first(), at(now));
    }
  }
  EXPECT_EQ(p.in_flight_limit(), 128u);
  EXPECT_EQ(p.admit(at(now).steady, 0).count, 128u);
  attempt_result busy = status(503);
  busy.latency = 20ms;
  p.judge(busy, first(), at(now + 1ms));
  EXPECT_EQ(p.in_flight_limit(), 64u);
  // A probe's answer is not load.
  attempt_context probe = first();
  probe.probe = true;
  p.judge(busy, probe, at(now + 100ms));
  EXPECT_EQ(p.in_flight_limit(), 64u);
}

}  // namespace

namespace {

// Pacing (max_rate): a token bucket on starts, bursts of a tenth of a second's worth.
TEST(PolicyPacing, AtMostTheRateInAnySecondAfterABurst) {
  policy_options o = options();
  o.max_in_flight = 1000;
  o.min_in_flight = 1000;
  o.max_rate = 900;
  delivery_policy p = make(o);
  // A burst of 90 at once, then none until the next token.
  auto a = p.admit(t0, 0);
  EXPECT_EQ(a.count, 90u);
  EXPECT_TRUE(a.paced);
  p.note_started(t0, a.count);
  EXPECT_EQ(p.admit(t0, 0).count, 0u);
  EXPECT_TRUE(p.admit(t0, 0).paced);
  // The next start is due 1/900 s later, and next_admission says so.
  const auto next = p.next_admission(t0, 0, t0);
  ASSERT_TRUE(next.has_value());
  EXPECT_GT(*next, t0);
  EXPECT_LE(*next, t0 + std::chrono::microseconds(1112));
  // Starting everything admitted, millisecond by millisecond, for ten seconds: no window of
  // one second ever holds more than 990 starts (90 + 900), and the long-run rate is 900/s.
  std::vector<std::size_t> per_ms(10'000, 0);
  per_ms[0] = a.count;
  for (int ms = 1; ms < 10'000; ++ms) {
    const auto now = t0 + std::chrono::milliseconds(ms);
    const auto n = p.admit(now, 0).count;
    p.note_started(now, n);
    per_ms[static_cast<std::size_t>(ms)] = n;
  }
  std::size_t window = 0, most = 0, total = 0;
  for (std::size_t i = 0; i < per_ms.size(); ++i) {
    window += per_ms[i];
    total += per_ms[i];
    if (i >= 1000) window -= per_ms[i - 1000];
    most = std::max(most, window);
  }
  EXPECT_LE(most, 990u);
  EXPECT_NEAR(static_cast<double>(total), 90 + 900 * 9.999, 2);
}

TEST(PolicyPacing, OffByDefaultAndProbesArePacedToo) {
  delivery_policy p = make();
  EXPECT_EQ(p.admit(t0, 0).count, 16u);
  EXPECT_FALSE(p.admit(t0, 0).paced);
  policy_options o = options();
  o.max_rate = 5;  // a burst of 1, a token every 200 ms
  o.probe_interval = 100ms;
  delivery_policy slow = make(o);
  // Three consecutive failures: an outage, where one probe goes out when due and paced.
  attempt_context c;
  for (int i = 0; i < 3; ++i) slow.judge(failure(transport_error::connect), c, at(0ms));
  ASSERT_TRUE(slow.in_outage());
  auto a = slow.admit(t0 + 600ms, 0);
  ASSERT_TRUE(a.probe);
  slow.note_started(t0 + 600ms, 1);
  slow.probe_started(t0 + 600ms);
  EXPECT_EQ(slow.admit(t0 + 700ms, 0).count, 0u);  // probe due, but no token until 800 ms
  EXPECT_TRUE(slow.admit(t0 + 700ms, 0).paced);
  EXPECT_TRUE(slow.admit(t0 + 800ms, 0).probe);
}

}  // namespace
