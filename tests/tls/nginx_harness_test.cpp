// The nginx harness itself: what it serves and what it logs, plain and over TLS with h2.
// SPDX-License-Identifier: MIT
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <string>

#include "certs.hpp"
#include "nginx.hpp"

namespace {

struct response {
  CURLcode code = CURLE_OK;
  long status = 0;
  long http_version = 0;
  std::string body;
  std::string headers;
};

std::size_t append(char* data, std::size_t size, std::size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

response fetch(const std::string& url, const std::string& ca_file = {}) {
  response r;
  CURL* h = curl_easy_init();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "harness-agent/1.0");
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 30000L);
  curl_easy_setopt(h, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
  if (!ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, ca_file.c_str());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, append);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, append);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &r.headers);
  r.code = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
  curl_easy_getinfo(h, CURLINFO_HTTP_VERSION, &r.http_version);
  curl_easy_cleanup(h);
  return r;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

TEST(NginxHarness, ResponseDelayAnswersLaterWithTheSamePixel) {
  pixel_test::nginx_options o;
  o.response_delay = std::chrono::milliseconds(150);
  pixel_test::nginx_server slow(o);
  pixel_test::nginx_server fast;
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = fetch(slow.pixel_url() + "?userid=u1&eid=E1");
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  ASSERT_EQ(r.code, CURLE_OK) << curl_easy_strerror(r.code);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, pixel_test::pixel_png());
  EXPECT_NE(lower(r.headers).find("content-type: image/png"), std::string::npos) << r.headers;
  EXPECT_GE(elapsed, std::chrono::milliseconds(150));
  const auto recs = slow.wait_for_records(1, std::chrono::seconds(30));
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].args, "userid=u1&eid=E1");  // the query survives the named location
  EXPECT_GE(recs[0].request_time, 0.150);
  // Without a delay nginx logs (nearly) no time at all.
  ASSERT_EQ(fetch(fast.pixel_url() + "?n=1").code, CURLE_OK);
  const auto quick = fast.wait_for_records(1, std::chrono::seconds(30));
  ASSERT_EQ(quick.size(), 1u);
  EXPECT_LT(quick[0].request_time, 0.150);
}

TEST(NginxHarness, ServesThePixelAndLogsACloudFrontShapedRecord) {
  pixel_test::nginx_server nginx;
  const auto r = fetch(nginx.pixel_url() + "?userid=u1&eid=E1");
  ASSERT_EQ(r.code, CURLE_OK) << curl_easy_strerror(r.code);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.http_version, CURL_HTTP_VERSION_1_1);
  EXPECT_EQ(r.body, pixel_test::pixel_png());
  EXPECT_EQ(r.body.size(), 68u);
  const std::string h = lower(r.headers);
  EXPECT_NE(h.find("content-type: image/png\r\n"), std::string::npos) << r.headers;
  EXPECT_NE(h.find("cache-control: no-cache, no-store, must-revalidate\r\n"), std::string::npos)
      << r.headers;

  const auto records = nginx.wait_for_records(1, std::chrono::seconds(30));
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].remote_addr, "127.0.0.1");
  EXPECT_EQ(records[0].user_agent, "harness-agent/1.0");
  EXPECT_EQ(records[0].args, "userid=u1&eid=E1");
  EXPECT_EQ(pixel_test::query_value(records[0].args, "eid"), "E1");
  EXPECT_EQ(records[0].protocol, "HTTP/1.1");
  EXPECT_EQ(records[0].status, 200);
  EXPECT_EQ(records[0].connection_requests, 1u);
  // $msec: seconds.milliseconds, like CloudFront's timestamp field.
  ASSERT_GT(records[0].msec.size(), 4u);
  EXPECT_EQ(records[0].msec[records[0].msec.size() - 4], '.');

  const auto missing = fetch(nginx.base_url() + "/other.png");
  ASSERT_EQ(missing.code, CURLE_OK);
  EXPECT_EQ(missing.status, 404);
}

TEST(NginxHarness, OffersHttp2OverTlsWithTheGeneratedCertificate) {
  pixel_test::test_certs certs;
  pixel_test::nginx_options o;
  o.tls = true;
  o.http2 = true;
  o.cert_file = certs.server_cert();
  o.key_file = certs.server_key();
  pixel_test::nginx_server nginx(o);
  EXPECT_EQ(nginx.base_url().rfind("https://127.0.0.1:", 0), 0u);

  const auto r = fetch(nginx.pixel_url() + "?a=1", certs.ca_file());
  ASSERT_EQ(r.code, CURLE_OK) << curl_easy_strerror(r.code);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.http_version, CURL_HTTP_VERSION_2_0);
  EXPECT_EQ(r.body, pixel_test::pixel_png());

  const auto untrusted = fetch(nginx.pixel_url(), certs.other_ca_file());
  EXPECT_EQ(untrusted.code, CURLE_PEER_FAILED_VERIFICATION) << curl_easy_strerror(untrusted.code);

  const auto records = nginx.wait_for_records(1, std::chrono::seconds(30));
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].protocol, "HTTP/2.0");
  EXPECT_EQ(records[0].args, "a=1");
}

TEST(NginxHarness, TlsWithoutHttp2StaysOnHttp11) {
  pixel_test::test_certs certs;
  pixel_test::nginx_options o;
  o.tls = true;
  o.cert_file = certs.server_cert();
  o.key_file = certs.server_key();
  pixel_test::nginx_server nginx(o);
  const auto r = fetch(nginx.pixel_url(), certs.ca_file());
  ASSERT_EQ(r.code, CURLE_OK) << curl_easy_strerror(r.code);
  EXPECT_EQ(r.http_version, CURL_HTTP_VERSION_1_1);
  const auto records = nginx.wait_for_records(1, std::chrono::seconds(30));
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].protocol, "HTTP/1.1");
  EXPECT_EQ(records[0].args, "-");
}

TEST(NginxHarness, StopsTheProcessWhenDestroyed) {
  pid_t pid = -1;
  std::uint16_t port = 0;
  {
    pixel_test::nginx_server nginx;
    pid = nginx.pid();
    port = nginx.port();
    ASSERT_GT(pid, 0);
    EXPECT_TRUE(pixel_test::loopback_accepts(port));
  }
  // Stopped and reaped: the pid no longer names a child of ours.
  EXPECT_EQ(::waitpid(pid, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

TEST(NginxHarness, TwoServersGetDistinctPorts) {
  pixel_test::nginx_server a;
  pixel_test::nginx_server b;
  EXPECT_NE(a.port(), b.port());
  EXPECT_TRUE(pixel_test::loopback_accepts(a.port()));
  EXPECT_TRUE(pixel_test::loopback_accepts(b.port()));
}

}  // namespace
