// Backoff as a pure function: time and randomness are injected.
// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include "tracker/policy/backoff.hpp"
#include "tracker/policy/policy.hpp"
#include "tracker/transport/curl_transport.hpp"

namespace {
using namespace std::chrono_literals;
using pixel::detail::backoff_ceiling;
using pixel::detail::full_jitter;
using pixel::detail::next_attempt_at;

pixel::retry_policy policy(std::chrono::milliseconds base, std::chrono::milliseconds cap) {
  pixel::retry_policy p;
  p.base_delay = base;
  p.max_delay = cap;
  return p;
}

TEST(Backoff, CeilingDoublesUpToTheCap) {
  const auto p = policy(250ms, 30'000ms);
  EXPECT_EQ(backoff_ceiling(p, 0), 0ms);
  EXPECT_EQ(backoff_ceiling(p, 1), 250ms);
  EXPECT_EQ(backoff_ceiling(p, 2), 500ms);
  EXPECT_EQ(backoff_ceiling(p, 3), 1000ms);
  EXPECT_EQ(backoff_ceiling(p, 7), 16'000ms);
  EXPECT_EQ(backoff_ceiling(p, 8), 30'000ms);
  EXPECT_EQ(backoff_ceiling(p, 1000), 30'000ms);  // no overflow however many
  EXPECT_EQ(backoff_ceiling(p, 0xFFFFFFFFu), 30'000ms);
  EXPECT_EQ(backoff_ceiling(policy(0ms, 1000ms), 5), 0ms);
  EXPECT_EQ(backoff_ceiling(policy(500ms, 100ms), 1), 100ms);  // cap below base wins
}

TEST(Backoff, FullJitterSpansZeroToCeiling) {
  EXPECT_EQ(full_jitter(1000ms, 0.0), 0ms);
  EXPECT_EQ(full_jitter(1000ms, 0.5), 500ms);
  EXPECT_EQ(full_jitter(1000ms, 0.999999999), 1000ms);
  EXPECT_EQ(full_jitter(1000ms, 1.0), 1000ms);  // clamped
  EXPECT_EQ(full_jitter(1000ms, -3.0), 0ms);
  EXPECT_EQ(full_jitter(0ms, 0.7), 0ms);
}

TEST(Backoff, NextAttemptWithInjectedClock) {
  using clock = std::chrono::steady_clock;
  const clock::time_point now{std::chrono::seconds(1000)};
  const auto p = policy(100ms, 10'000ms);
  EXPECT_EQ(next_attempt_at(now, p, 1, 0.0), now);
  EXPECT_EQ(next_attempt_at(now, p, 3, 0.5), now + 200ms);  // ceiling 400 ms
  // Retry-After wins when longer than the jittered backoff, not when shorter.
  EXPECT_EQ(next_attempt_at(now, p, 1, 0.5, 2000ms), now + 2000ms);
  EXPECT_EQ(next_attempt_at(now, p, 5, 0.99, 10ms), now + 1584ms);  // ceiling 1600 ms
}

TEST(Backoff, JitterSourceIsUniformEnough) {
  pixel::detail::jitter_source rng(42);
  double sum = 0;
  double lo = 1, hi = 0;
  for (int i = 0; i < 100'000; ++i) {
    const double u = rng();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    lo = std::min(lo, u);
    hi = std::max(hi, u);
  }
  EXPECT_NEAR(sum / 100'000, 0.5, 0.01);
  EXPECT_LT(lo, 0.001);
  EXPECT_GT(hi, 0.999);
  pixel::detail::jitter_source a(7), b(7);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(a(), b());  // deterministic for a seed
}

TEST(Classify, RetryableStatuses) {
  for (long s : {408L, 429L, 500L, 502L, 503L, 504L}) {
    EXPECT_TRUE(pixel::detail::is_retryable_status(s)) << s;
  }
  for (long s : {200L, 204L, 301L, 400L, 401L, 403L, 404L, 413L, 414L, 501L, 505L}) {
    EXPECT_FALSE(pixel::detail::is_retryable_status(s)) << s;
  }
}

TEST(Classify, RetryableCurlErrors) {
  // Through the curl transport's classification and the policy's rule, as the tracker
  // sees them.
  auto is_retryable_curl_error = [](CURLcode c) {
    return pixel::detail::is_retryable_error(pixel::detail::classify(c));
  };
  EXPECT_TRUE(is_retryable_curl_error(CURLE_COULDNT_CONNECT));
  EXPECT_TRUE(is_retryable_curl_error(CURLE_OPERATION_TIMEDOUT));
  EXPECT_TRUE(is_retryable_curl_error(CURLE_RECV_ERROR));
  EXPECT_TRUE(is_retryable_curl_error(CURLE_GOT_NOTHING));
  EXPECT_TRUE(is_retryable_curl_error(CURLE_COULDNT_RESOLVE_HOST));
  EXPECT_FALSE(is_retryable_curl_error(CURLE_PEER_FAILED_VERIFICATION));
  EXPECT_FALSE(is_retryable_curl_error(CURLE_SSL_CACERT_BADFILE));
  EXPECT_FALSE(is_retryable_curl_error(CURLE_URL_MALFORMAT));
  EXPECT_FALSE(is_retryable_curl_error(CURLE_UNSUPPORTED_PROTOCOL));
}

TEST(Classify, RedirectOnlyToHttpsOnTheSameHost) {
  using pixel::detail::redirect_allowed;
  EXPECT_TRUE(redirect_allowed("https://d111.cloudfront.net/1x1.png?a=1", "d111.cloudfront.net"));
  EXPECT_TRUE(redirect_allowed("HTTPS://D111.CloudFront.NET:8443/x", "d111.cloudfront.net"));
  EXPECT_TRUE(redirect_allowed("https://127.0.0.1:4443/1x1.png", "127.0.0.1"));
  EXPECT_TRUE(redirect_allowed("https://[::1]:4443/1x1.png", "::1"));
  EXPECT_FALSE(redirect_allowed("http://d111.cloudfront.net/1x1.png", "d111.cloudfront.net"));
  EXPECT_FALSE(redirect_allowed("https://evil.example/1x1.png", "d111.cloudfront.net"));
  EXPECT_FALSE(
      redirect_allowed("https://d111.cloudfront.net.evil.example/", "d111.cloudfront.net"));
  EXPECT_FALSE(
      redirect_allowed("https://d111.cloudfront.net@evil.example/", "d111.cloudfront.net"));
  EXPECT_FALSE(redirect_allowed("https://user@d111.cloudfront.net/", "d111.cloudfront.net"));
  EXPECT_FALSE(redirect_allowed("ftp://d111.cloudfront.net/", "d111.cloudfront.net"));
  EXPECT_FALSE(redirect_allowed("https://", "d111.cloudfront.net"));
  EXPECT_FALSE(redirect_allowed("", "d111.cloudfront.net"));
  EXPECT_FALSE(redirect_allowed("/relative/path", "d111.cloudfront.net"));
}
}  // namespace
