// The tracker over TLS and through redirects, against in-process cpp-httplib servers
// (plain and SSLServer) with a PKI generated at test time. Runs in every preset.
// SPDX-License-Identifier: MIT
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <pixel/tracker.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "certs.hpp"
#include "nginx.hpp"  // pixel_png()

namespace {

using namespace std::chrono_literals;

// One generated PKI for the whole binary: a few openssl runs.
const pixel_test::test_certs& certs() {
  static const pixel_test::test_certs c;
  return c;
}

// A cpp-httplib server (plain or TLS) on 127.0.0.1, on a port chosen by the OS, serving on
// its own thread. Records every request it answers.
class loopback_server {
 public:
  struct request {
    std::string path;
    std::string eid;
    std::string user_agent;
  };

  // Plain HTTP.
  loopback_server() : server_(std::make_unique<httplib::Server>()) { start(); }
  // HTTPS with the given certificate and key.
  loopback_server(const std::string& cert, const std::string& key)
      : server_(std::make_unique<httplib::SSLServer>(cert.c_str(), key.c_str())), tls_(true) {
    if (!server_->is_valid()) throw std::runtime_error("SSLServer: cannot load " + cert);
    start();
  }
  ~loopback_server() {
    server_->stop();
    if (thread_.joinable()) thread_.join();
  }
  loopback_server(const loopback_server&) = delete;
  loopback_server& operator=(const loopback_server&) = delete;

  // Answers /1x1.png with the pixel.
  void serve_pixel() {
    server_->Get("/1x1.png", [this](const httplib::Request& req, httplib::Response& res) {
      record(req);
      res.set_header("Cache-Control", "no-cache, no-store, must-revalidate");
      res.set_content(pixel_test::pixel_png(), "image/png");
    });
  }

  // Answers /1x1.png with `status` and a Location of `target_base` + the request's own
  // path and query.
  void redirect_to(const std::string& target_base, int status = 301) {
    server_->Get("/1x1.png",
                 [this, target_base, status](const httplib::Request& req, httplib::Response& res) {
                   record(req);
                   res.status = status;
                   res.set_header("Location", target_base + req.target);
                 });
  }

  std::uint16_t port() const noexcept { return port_; }
  std::string base_url(const std::string& host = "127.0.0.1") const {
    return std::string(tls_ ? "https" : "http") + "://" + host + ":" + std::to_string(port_);
  }

  std::vector<request> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  std::size_t count(const std::string& eid) const {
    std::lock_guard<std::mutex> lock(mu_);
    std::size_t n = 0;
    for (const auto& r : requests_)
      if (r.eid == eid) ++n;
    return n;
  }

 private:
  void start() {
    // One connection at a time, one request per connection, on a single pool thread:
    // Debian's libcpp-httplib is not built with TSan, and two of its threads serving
    // requests at once show up as races inside it (lazily built statics it reads without
    // synchronisation TSan can see). These tests are about TLS and redirects, not about
    // server concurrency; the tracker's transfers simply queue for a moment.
    server_->new_task_queue = [] { return new httplib::ThreadPool(1); };
    server_->set_keep_alive_max_count(1);
    const int port = server_->bind_to_any_port("127.0.0.1");
    if (port <= 0) throw std::runtime_error("cannot bind a loopback port");
    port_ = static_cast<std::uint16_t>(port);
    // The socket listens from bind on: connections queue until the loop accepts them.
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    // But stop() does nothing until the accept loop runs, and a join after it would hang:
    // wait for the loop (it starts at once).
    while (!server_->is_running()) std::this_thread::yield();
  }

  void record(const httplib::Request& req) {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back({req.path, req.get_param_value("eid"), req.get_header_value("User-Agent")});
  }

  std::unique_ptr<httplib::Server> server_;
  bool tls_ = false;
  std::uint16_t port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<request> requests_;
};

// Outcomes reported through on_result, copied out of the callback.
struct recorded_result {
  std::string event_id;
  pixel::outcome outcome;
  std::uint32_t attempts;
  long http_status;
  pixel::transport_error error;
  std::string message;
};

class result_log {
 public:
  std::function<void(const pixel::event_result&)> callback() {
    return [this](const pixel::event_result& r) {
      std::lock_guard<std::mutex> lock(mu_);
      results_[std::string(r.event_id)].push_back({std::string(r.event_id), r.outcome, r.attempts,
                                                   r.http_status, r.transport_error,
                                                   std::string(r.message)});
    };
  }

  // Every event's outcomes (exactly one each is expected).
  std::map<std::string, std::vector<recorded_result>> results() const {
    std::lock_guard<std::mutex> lock(mu_);
    return results_;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::vector<recorded_result>> results_;
};

pixel::tracker_options base_options(const std::string& endpoint, result_log& log) {
  pixel::tracker_options o;
  o.endpoint = endpoint;
  o.max_in_flight = 4;
  o.connect_timeout = 20s;
  o.request_timeout = 30s;
  o.retry.base_delay = 10ms;
  o.retry.max_delay = 100ms;
  o.on_result = log.callback();
  return o;
}

std::vector<std::string> track_n(pixel::tracker& t, int n) {
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) {
    const std::string n_str = std::to_string(i);
    auto id = t.track({{"userid", "tls-user"}, {"n", n_str}});
    EXPECT_TRUE(id.has_value()) << (id ? "" : id.error().message());
    if (id) ids.push_back(id->str());
  }
  return ids;
}

std::string describe(const recorded_result& r) {
  return std::string(pixel::outcome_name(r.outcome)) + " attempts=" + std::to_string(r.attempts) +
         " http=" + std::to_string(r.http_status) +
         " error=" + pixel::transport_error_name(r.error) + " (" + r.message + ")";
}

// Each id has exactly one outcome, and it is `expected`. Called right after flush()
// returned true, which waits for the callbacks too.
void expect_outcomes(result_log& log, const std::vector<std::string>& ids,
                     pixel::outcome expected) {
  const auto results = log.results();
  EXPECT_EQ(results.size(), ids.size());
  for (const auto& id : ids) {
    const auto it = results.find(id);
    ASSERT_NE(it, results.end()) << "no outcome for " << id;
    ASSERT_EQ(it->second.size(), 1u) << "several outcomes for " << id;
    EXPECT_EQ(it->second[0].outcome, expected) << id << ": " << describe(it->second[0]);
  }
}

TEST(Tls, HttpsWithTheGeneratedCaDelivers) {
  loopback_server server(certs().server_cert(), certs().server_key());
  server.serve_pixel();
  result_log log;
  auto opts = base_options(server.base_url(), log);
  opts.ca_file = certs().ca_file();
  auto t = pixel::tracker::create(std::move(opts));
  ASSERT_TRUE(t.has_value()) << t.error().message();

  const auto ids = track_n(*t, 20);
  ASSERT_TRUE(t->flush(60s));
  expect_outcomes(log, ids, pixel::outcome::delivered);
  for (const auto& [id, rs] : log.results()) {
    EXPECT_EQ(rs[0].http_status, 200) << id;
    EXPECT_EQ(rs[0].attempts, 1u) << id;
    EXPECT_EQ(rs[0].error, pixel::transport_error::none) << id;
  }
  for (const auto& id : ids) EXPECT_EQ(server.count(id), 1u) << id;
  const auto s = t->stats();
  EXPECT_EQ(s.delivered, 20u);
  EXPECT_EQ(s.failed + s.expired + s.dropped + s.retried + s.queued + s.in_flight, 0u);
  for (const auto& r : server.requests()) {
    EXPECT_EQ(r.path, "/1x1.png");
    EXPECT_EQ(r.user_agent, "pixel-cpp/" PIXEL_VERSION_STRING);
  }
}

// A configuration waiting cannot cure is final at once: each event fails after its one
// attempt, and the endpoint is never taken as down (an outage would start at the first
// retryable failure here), so nothing is said on on_log.
pixel::tracker_options final_at_once(pixel::tracker_options o, std::vector<std::string>& lines) {
  o.retry.max_attempts = 2;
  o.retry.max_age = 3s;  // bounds the test if these failures were retried
  o.outage_threshold = 1;
  o.on_log = [&lines](std::string_view line) { lines.emplace_back(line); };
  return o;
}

// An untrusted or mismatched certificate never delivers: the event fails at its first
// attempt with a TLS verification error, and the server never sees an HTTP request.
void expect_tls_refused(const std::string& cert, const std::string& key,
                        const std::string& ca_file) {
  loopback_server server(cert, key);
  server.serve_pixel();
  result_log log;
  std::vector<std::string> lines;
  auto opts = final_at_once(base_options(server.base_url(), log), lines);
  opts.ca_file = ca_file;
  auto t = pixel::tracker::create(std::move(opts));
  ASSERT_TRUE(t.has_value()) << t.error().message();

  const auto ids = track_n(*t, 3);
  ASSERT_TRUE(t->flush(60s));
  const auto results = log.results();
  ASSERT_EQ(results.size(), ids.size());
  for (const auto& id : ids) {
    const auto& rs = results.at(id);
    ASSERT_EQ(rs.size(), 1u) << id;
    const auto& r = rs[0];
    EXPECT_EQ(r.outcome, pixel::outcome::failed) << describe(r);
    EXPECT_EQ(r.error, pixel::transport_error::certificate) << describe(r);
    EXPECT_EQ(r.http_status, 0) << describe(r);
    EXPECT_EQ(r.attempts, 1u) << describe(r);
    EXPECT_EQ(r.message.rfind("transfer failed: certificate (", 0), 0u) << describe(r);
  }
  EXPECT_TRUE(server.requests().empty());
  const auto s = t->stats();
  EXPECT_EQ(s.delivered, 0u);
  EXPECT_EQ(s.failed, 3u);
  EXPECT_EQ(s.retried, 0u);
  EXPECT_EQ(s.endpoint_down_since, 0u);
  EXPECT_EQ(s.last_failure.rfind("certificate (", 0), 0u) << s.last_failure;
  EXPECT_TRUE(lines.empty()) << lines.front();
}

// https:// to a port that speaks plain HTTP: the handshake gets "HTTP/1.1 400 ..." back.
// That is a wrong URL, not an endpoint that is down: final at once, and said so.
TEST(Tls, HttpsEndpointOnAPlainHttpPortIsFinalAtOnce) {
  loopback_server plain;
  plain.serve_pixel();
  result_log log;
  std::vector<std::string> lines;
  auto opts = final_at_once(
      base_options("https://" + plain.base_url().substr(std::string("http://").size()), log),
      lines);
  opts.ca_file = certs().ca_file();
  auto t = pixel::tracker::create(std::move(opts));
  ASSERT_TRUE(t.has_value()) << t.error().message();
  const auto ids = track_n(*t, 3);
  ASSERT_TRUE(t->flush(60s));
  const auto results = log.results();
  ASSERT_EQ(results.size(), ids.size());
  for (const auto& id : ids) {
    const auto& rs = results.at(id);
    ASSERT_EQ(rs.size(), 1u) << id;
    const auto& r = rs[0];
    EXPECT_EQ(r.outcome, pixel::outcome::failed) << describe(r);
    EXPECT_EQ(r.error, pixel::transport_error::tls) << describe(r);
    EXPECT_EQ(r.attempts, 1u) << describe(r);
    EXPECT_NE(r.message.find("the endpoint does not speak TLS"), std::string::npos) << describe(r);
  }
  EXPECT_TRUE(plain.requests().empty());  // no request it could read as HTTP
  const auto s = t->stats();
  EXPECT_EQ(s.failed, 3u);
  EXPECT_EQ(s.retried, 0u);
  EXPECT_EQ(s.endpoint_down_since, 0u);
  EXPECT_EQ(s.last_failure.rfind("tls (", 0), 0u) << s.last_failure;
  EXPECT_TRUE(lines.empty()) << lines.front();
}

TEST(Tls, WrongCaIsRefused) {
  expect_tls_refused(certs().server_cert(), certs().server_key(), certs().other_ca_file());
}

TEST(Tls, CertificateForAnotherHostIsRefused) {
  // Signed by the trusted CA, but its names do not include 127.0.0.1.
  expect_tls_refused(certs().wrong_host_cert(), certs().wrong_host_key(), certs().ca_file());
}

TEST(Redirect, HttpToHttpsOnTheSameHostIsFollowed) {
  loopback_server secure(certs().server_cert(), certs().server_key());
  secure.serve_pixel();
  loopback_server plain;
  plain.redirect_to(secure.base_url());  // https://127.0.0.1:<tls port>/1x1.png?...
  result_log log;
  auto opts = base_options(plain.base_url(), log);
  opts.ca_file = certs().ca_file();
  auto t = pixel::tracker::create(std::move(opts));
  ASSERT_TRUE(t.has_value()) << t.error().message();

  const auto ids = track_n(*t, 5);
  ASSERT_TRUE(t->flush(60s));
  expect_outcomes(log, ids, pixel::outcome::delivered);
  for (const auto& [id, rs] : log.results()) EXPECT_EQ(rs[0].http_status, 200) << id;
  for (const auto& id : ids) {
    EXPECT_EQ(plain.count(id), 1u) << id;
    EXPECT_EQ(secure.count(id), 1u) << id;
  }
  EXPECT_EQ(t->stats().delivered, 5u);
}

// A redirect the tracker must not follow: the event fails on the redirect status and the
// target never sees a request.
void expect_redirect_refused(loopback_server& origin, loopback_server& target,
                             const std::string& target_base) {
  target.serve_pixel();
  origin.redirect_to(target_base);
  result_log log;
  auto opts = base_options(origin.base_url(), log);
  opts.ca_file = certs().ca_file();
  auto t = pixel::tracker::create(std::move(opts));
  ASSERT_TRUE(t.has_value()) << t.error().message();

  const auto ids = track_n(*t, 3);
  ASSERT_TRUE(t->flush(60s));
  expect_outcomes(log, ids, pixel::outcome::failed);
  for (const auto& [id, rs] : log.results()) {
    EXPECT_EQ(rs[0].http_status, 301) << describe(rs[0]);
    EXPECT_EQ(rs[0].attempts, 1u) << describe(rs[0]);  // final: not retried
    EXPECT_EQ(origin.count(id), 1u) << id;
  }
  EXPECT_TRUE(target.requests().empty());
  const auto s = t->stats();
  EXPECT_EQ(s.failed, 3u);
  EXPECT_EQ(s.delivered, 0u);
}

TEST(Redirect, HttpToHttpsOnAnotherHostIsRefused) {
  // 127.0.0.1 -> localhost: the same machine, but another host name. The certificate covers
  // localhost, so following it would succeed.
  loopback_server origin;
  loopback_server target(certs().server_cert(), certs().server_key());
  expect_redirect_refused(origin, target, target.base_url("localhost"));
}

TEST(Redirect, HttpsToAnotherHostIsRefused) {
  loopback_server origin(certs().server_cert(), certs().server_key());
  loopback_server target(certs().server_cert(), certs().server_key());
  expect_redirect_refused(origin, target, target.base_url("localhost"));
}

TEST(Redirect, HttpToHttpIsRefused) {
  // Same host, but not an upgrade to https.
  loopback_server origin;
  loopback_server target;
  expect_redirect_refused(origin, target, target.base_url());
}

TEST(Redirect, HttpsDowngradeToHttpIsRefused) {
  loopback_server origin(certs().server_cert(), certs().server_key());
  loopback_server target;
  expect_redirect_refused(origin, target, target.base_url());
}

}  // namespace
