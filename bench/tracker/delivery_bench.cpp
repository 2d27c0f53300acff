// Delivery benchmark: the tracker against a local nginx pixel endpoint, next to wrk (the
// ceiling) and a plain hand-written curl_multi loop (the baseline), all in one run so that
// the ratios mean something on a shared machine.
// SPDX-License-Identifier: MIT
//
//   pixel_delivery_bench [--events N] [--wrk-seconds S] [--rounds R] [--memory-events M]
//   pixel_delivery_bench --latency-ms D [--events N] [--baseline-events B] [--rounds R]
//                        [--fixed-in-flight F] [--keepalive-requests K] [--worker-threads W]
//
// Phases, in this order:
//   1. memory: a tracker with capacity M filled against a blackhole (accepts, never answers):
//      RSS growth / M = bytes per queued event. First, so that no earlier phase's freed heap
//      hides the growth.
//   2. HTTP/1.1 over loopback: wrk -t1 -c16 (ceiling), baseline curl_multi loop with 16
//      reused easy handles, the tracker delivering N events (producer blocks when the queue
//      is full), then track() latency while delivering with 1 and 4 producer threads.
//   3. HTTPS: baseline and tracker over TLS with HTTP/1.1 and with HTTP/2 (nginx `http2`).
// Latency mode (--latency-ms D) instead: nginx answers after D ms (echo_sleep), over TLS +
// HTTP/2 and over plain HTTP/1.1; in each round the 16-handle curl_multi loop (B events)
// and the tracker with default options (N events); events/s, connections used (distinct
// $connection in nginx's log) and client CPU per event; with --fixed-in-flight F and
// --worker-threads W, also the tracker with F transfers always in flight and with W worker
// threads.
// Exits non-zero when any phase loses an event or negotiates the wrong protocol, so that
// the quick run in ctest (--events 2000) keeps the whole program honest.
#include <curl/curl.h>
#include <malloc.h>
#include <sys/resource.h>
#include <pixel/tracker.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "../bench_support.hpp"
#include "certs.hpp"
#include "nginx.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

using pixel_bench::event_params;
using pixel_bench::fail;
using pixel_bench::g_errors;
using pixel_bench::seconds;

struct cpu_usage {
  double user_s = 0;
  double sys_s = 0;
  double total() const { return user_s + sys_s; }
};

cpu_usage cpu_now(int who = RUSAGE_SELF) {
  rusage ru{};
  getrusage(who, &ru);
  return {static_cast<double>(ru.ru_utime.tv_sec) + static_cast<double>(ru.ru_utime.tv_usec) / 1e6,
          static_cast<double>(ru.ru_stime.tv_sec) + static_cast<double>(ru.ru_stime.tv_usec) / 1e6};
}

// Current and peak resident set size from /proc/self/status, in bytes.
std::uint64_t proc_status_kb(const char* field) {
  const std::string text = pixel_test::read_file("/proc/self/status");
  const std::size_t pos = text.find(field);
  if (pos == std::string::npos) return 0;
  return std::strtoull(text.c_str() + pos + std::strlen(field) + 1, nullptr, 10);
}
std::uint64_t rss_bytes() {
  return proc_status_kb("VmRSS:") * 1024;
}
std::uint64_t peak_rss_bytes() {
  return proc_status_kb("VmHWM:") * 1024;
}

std::string pixel_url_for(const std::string& base) {
  auto ep = pixel::endpoint::parse(base);
  if (!ep) throw std::runtime_error(ep.error().message());
  pixel::url_builder b(*ep);
  std::string url;
  auto id = b.build_into(event_params(), url);
  if (!id) throw std::runtime_error(id.error().message());
  return url;
}

// ------------------------------------------------------------------------------------------
// Ceiling: wrk

struct wrk_result {
  double requests_per_s = 0;
  double cpu_us_per_request = 0;
};

wrk_result run_wrk(const std::string& url, int connections, int secs,
                   const std::filesystem::path& log) {
  const cpu_usage before = cpu_now(RUSAGE_CHILDREN);
  const auto r = pixel_test::run_command(
      {"wrk", "-t1", "-c" + std::to_string(connections), "-d" + std::to_string(secs) + "s", url},
      log, std::chrono::seconds(secs + 60));
  const cpu_usage after = cpu_now(RUSAGE_CHILDREN);
  wrk_result w;
  std::smatch m;
  static const std::regex rps(R"(Requests/sec:\s+([0-9.]+))");
  static const std::regex total(R"(([0-9]+) requests in)");
  if (r.exit_code != 0 || !std::regex_search(r.output, m, rps)) {
    fail("wrk failed (exit " + std::to_string(r.exit_code) + "):\n" + r.output);
    return w;
  }
  w.requests_per_s = std::stod(m[1]);
  if (r.output.find("Non-2xx") != std::string::npos) fail("wrk saw non-2xx responses");
  if (std::regex_search(r.output, m, total)) {
    const double n = std::stod(m[1]);
    if (n > 0) w.cpu_us_per_request = (after.total() - before.total()) * 1e6 / n;
  }
  return w;
}

// ------------------------------------------------------------------------------------------
// Baseline: the plain curl_multi loop everyone writes, 16 transfers, easy handles reused.

struct rate {
  double events_per_s = 0;
  double cpu_us_per_event = 0;
  std::uint64_t done = 0;
};

std::size_t discard(char*, std::size_t size, std::size_t n, void*) {
  return size * n;
}

rate run_baseline(const std::string& url, int transfers, std::uint64_t total,
                  const std::string& ca_file, bool http2) {
  CURLM* multi = curl_multi_init();
  std::vector<CURL*> handles;
  std::uint64_t started = 0, done = 0, bad = 0;
  const auto t0 = clock_type::now();
  const cpu_usage c0 = cpu_now();
  for (int i = 0; i < transfers && started < total; ++i, ++started) {
    CURL* h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "baseline");
    if (!ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, ca_file.c_str());
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION,
                     http2 ? static_cast<long>(CURL_HTTP_VERSION_2TLS)
                           : static_cast<long>(CURL_HTTP_VERSION_1_1));
    if (http2) curl_easy_setopt(h, CURLOPT_PIPEWAIT, 1L);
    handles.push_back(h);
    curl_multi_add_handle(multi, h);
  }
  int running = 0;
  while (done < total) {
    curl_multi_perform(multi, &running);
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* h = msg->easy_handle;
      long status = 0;
      curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
      if (msg->data.result != CURLE_OK || status != 200) ++bad;
      ++done;
      curl_multi_remove_handle(multi, h);
      if (started < total) {
        ++started;
        curl_multi_add_handle(multi, h);
      }
    }
    if (done < total) curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
  }
  const auto t1 = clock_type::now();
  const cpu_usage c1 = cpu_now();
  for (CURL* h : handles) {
    curl_multi_remove_handle(multi, h);
    curl_easy_cleanup(h);
  }
  curl_multi_cleanup(multi);
  if (bad) fail("baseline: " + std::to_string(bad) + " requests failed");
  return {static_cast<double>(total) / seconds(t1 - t0),
          (c1.total() - c0.total()) * 1e6 / static_cast<double>(total), done - bad};
}

// ------------------------------------------------------------------------------------------
// The tracker

pixel::tracker make_tracker(const std::string& base, std::size_t capacity,
                            pixel::overflow_policy policy, const std::string& ca_file = {}) {
  pixel::tracker_options o;
  o.endpoint = base;
  o.queue_capacity = capacity;
  o.overflow = policy;
  o.block_timeout = 60s;
  o.max_in_flight = 16;
  o.ca_file = ca_file;
  o.request_timeout = 60s;
  auto t = pixel::tracker::create(std::move(o));
  if (!t) throw std::runtime_error("tracker: " + t.error().message());
  return std::move(*t);
}

void check_all_delivered(const char* phase, const pixel::tracker& t, std::uint64_t n) {
  const auto s = t.stats();
  if (s.delivered != n) {
    fail(std::string(phase) + ": delivered " + std::to_string(s.delivered) + " of " +
         std::to_string(n) + " (failed " + std::to_string(s.failed) + ", expired " +
         std::to_string(s.expired) + ", dropped " + std::to_string(s.dropped) + ")");
  }
}

// Throughput: one producer tracks `total` events into the default 10,000-event queue
// (blocking when it is full), then flush() waits for the last outcome.
rate run_tracker(const std::string& base, std::uint64_t total, const std::string& ca_file) {
  auto t = make_tracker(base, 10'000, pixel::overflow_policy::block, ca_file);
  const auto t0 = clock_type::now();
  const cpu_usage c0 = cpu_now();
  for (std::uint64_t i = 0; i < total; ++i) {
    if (auto id = t.track(event_params()); !id) {
      fail("track: " + id.error().message());
      break;
    }
  }
  if (!t.flush(600s)) fail("tracker: flush timed out");
  const auto t1 = clock_type::now();
  const cpu_usage c1 = cpu_now();
  check_all_delivered("tracker", t, total);
  return {static_cast<double>(total) / seconds(t1 - t0),
          (c1.total() - c0.total()) * 1e6 / static_cast<double>(total), t.stats().delivered};
}

struct latency {
  double p50_ns = 0, p99_ns = 0, p999_ns = 0, max_ns = 0;
  double events_per_s = 0;
};

// track() latency measured on each producer thread while the worker delivers. The queue
// holds every event, so no call waits for room: this is the cost a caller pays.
latency run_track_latency(const std::string& base, std::uint64_t total, int threads) {
  auto t = make_tracker(base, static_cast<std::size_t>(total), pixel::overflow_policy::drop_new);
  std::vector<std::vector<std::uint32_t>> per_thread(static_cast<std::size_t>(threads));
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> producers;
  const std::uint64_t each = total / static_cast<std::uint64_t>(threads);
  const auto t0 = clock_type::now();
  for (int k = 0; k < threads; ++k) {
    producers.emplace_back([&, k] {
      auto& lat = per_thread[static_cast<std::size_t>(k)];
      lat.reserve(each);
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      for (std::uint64_t i = 0; i < each; ++i) {
        const auto a = clock_type::now();
        auto id = t.track(event_params());
        const auto b = clock_type::now();
        if (!id) {
          fail("track: " + id.error().message());
          return;
        }
        lat.push_back(static_cast<std::uint32_t>(
            std::min<std::int64_t>(std::chrono::nanoseconds(b - a).count(), UINT32_MAX)));
      }
    });
  }
  while (ready.load() < threads) std::this_thread::yield();
  go.store(true, std::memory_order_release);
  for (auto& p : producers) p.join();
  if (!t.flush(600s)) fail("latency run: flush timed out");
  const auto t1 = clock_type::now();
  check_all_delivered("latency run", t, each * static_cast<std::uint64_t>(threads));

  std::vector<std::uint32_t> all;
  for (auto& v : per_thread) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  latency l;
  if (all.empty()) return l;
  auto pct = [&](double p) {
    return static_cast<double>(all[std::min(
        all.size() - 1, static_cast<std::size_t>(p * static_cast<double>(all.size())))]);
  };
  l.p50_ns = pct(0.50);
  l.p99_ns = pct(0.99);
  l.p999_ns = pct(0.999);
  l.max_ns = static_cast<double>(all.back());
  l.events_per_s = static_cast<double>(all.size()) / seconds(t1 - t0);
  return l;
}

// The cost of the two clock reads around each track() call, to read the latencies against.
double clock_overhead_ns() {
  constexpr int n = 100'000;
  std::vector<std::uint32_t> v;
  v.reserve(n);
  for (int i = 0; i < n; ++i) {
    const auto a = clock_type::now();
    const auto b = clock_type::now();
    v.push_back(static_cast<std::uint32_t>(std::chrono::nanoseconds(b - a).count()));
  }
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// A socket that completes TCP handshakes (kernel backlog) and never reads or answers.
class blackhole {
 public:
  blackhole() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd_, 128) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      throw std::runtime_error("blackhole: cannot listen on 127.0.0.1");
    }
    port_ = ntohs(addr.sin_port);
  }
  ~blackhole() { ::close(fd_); }
  blackhole(const blackhole&) = delete;
  blackhole& operator=(const blackhole&) = delete;
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

struct memory {
  std::uint64_t rss_before = 0, rss_idle = 0, rss_full = 0;
  std::uint64_t events = 0;
  double bytes_per_slot = 0;   // allocated up front for each unit of queue capacity
  double bytes_per_event = 0;  // on top of its slot, for each event waiting
};

memory run_memory(std::uint64_t events) {
  blackhole hole;
  memory m;
  m.events = events;
  malloc_trim(0);
  m.rss_before = rss_bytes();
  {
    constexpr std::uint64_t warm = 32;
    auto t = make_tracker(hole.base_url(), static_cast<std::size_t>(events),
                          pixel::overflow_policy::drop_new);
    // Warm up: the worker, its multi handle and the first transfers exist before measuring.
    for (std::uint64_t i = 0; i < warm; ++i) (void)t.track(event_params());
    malloc_trim(0);
    m.rss_idle = rss_bytes();
    for (std::uint64_t i = warm; i < events; ++i) {
      if (auto id = t.track(event_params()); !id) {
        fail("memory: track refused event " + std::to_string(i) + ": " + id.error().message());
        break;
      }
    }
    m.rss_full = rss_bytes();
    const auto s = t.stats();
    if (s.queued + s.in_flight != events) {
      fail("memory: expected " + std::to_string(events) + " waiting events, have " +
           std::to_string(s.queued + s.in_flight));
    }
    if (t.shutdown(200ms)) fail("memory: shutdown against a blackhole dropped nothing");
    if (t.stats().dropped != events) fail("memory: not every waiting event was dropped");
    m.bytes_per_slot = static_cast<double>(m.rss_idle - std::min(m.rss_idle, m.rss_before)) /
                       static_cast<double>(events);
    m.bytes_per_event = static_cast<double>(m.rss_full - std::min(m.rss_full, m.rss_idle)) /
                        static_cast<double>(events - warm);
  }
  return m;
}

// How many of the tracker's requests (by its User-Agent) nginx logged with `protocol` after
// log offset `from`. nginx writes a line just after its response, so poll (an outside
// process) until all `expected` are there or a deadline passes.
std::size_t count_protocol(const pixel_test::nginx_server& n, std::uintmax_t from,
                           std::size_t expected, const std::string& protocol) {
  const std::string agent = "pixel-cpp/";
  const auto deadline = clock_type::now() + 30s;
  for (;;) {
    std::size_t c = 0;
    for (const auto& r : n.records(from)) {
      if (r.protocol == protocol && r.user_agent.compare(0, agent.size(), agent) == 0) ++c;
    }
    if (c >= expected || clock_type::now() >= deadline) return c;
    std::this_thread::sleep_for(20ms);
  }
}

// Resets the process's peak RSS (VmHWM) so that the next phase's peak can be read.
void reset_peak_rss() {
  pixel_test::write_file("/proc/self/clear_refs", "5");
}

double mb(std::uint64_t b) {
  return static_cast<double>(b) / (1024.0 * 1024.0);
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// ------------------------------------------------------------------------------------------
// Latency mode: an endpoint at internet distance (nginx answering after --latency-ms).

// Requests by user agents starting with `agent` logged after `from`, and the distinct
// connections ($connection) that carried them. Polls until `expected` are there.
struct log_count {
  std::size_t requests = 0;
  std::size_t connections = 0;
  std::size_t max_per_connection = 0;
  // Connections open at once, at most: each from its first request's arrival ($msec minus
  // $request_time) to its last response ($msec).
  std::size_t max_open = 0;
};

std::size_t max_open_connections(const std::map<std::uint64_t, std::pair<double, double>>& spans) {
  std::vector<std::pair<double, int>> edges;  // (time, +1 open / -1 closed)
  edges.reserve(spans.size() * 2);
  for (const auto& [conn, span] : spans) {
    edges.emplace_back(span.first, 1);
    edges.emplace_back(span.second, -1);
  }
  std::sort(edges.begin(), edges.end(), [](const auto& x, const auto& y) {
    return x.first != y.first ? x.first < y.first : x.second > y.second;  // opens first
  });
  std::size_t open = 0;
  std::size_t most = 0;
  for (const auto& [at, delta] : edges) {
    open = delta > 0 ? open + 1 : open - 1;
    most = std::max(most, open);
  }
  return most;
}

log_count count_log(const pixel_test::nginx_server& n, std::uintmax_t from, std::size_t expected,
                    const std::string& agent) {
  const auto deadline = clock_type::now() + 30s;
  for (;;) {
    log_count c;
    std::map<std::uint64_t, std::size_t> per_conn;
    std::map<std::uint64_t, std::pair<double, double>> spans;
    for (const auto& r : n.records(from)) {
      if (r.user_agent.compare(0, agent.size(), agent) != 0) continue;
      ++c.requests;
      ++per_conn[r.connection];
      const double done = std::stod(r.msec);
      const double arrived = done - r.request_time;
      auto [it, fresh] = spans.try_emplace(r.connection, arrived, done);
      if (!fresh) {
        it->second.first = std::min(it->second.first, arrived);
        it->second.second = std::max(it->second.second, done);
      }
    }
    c.connections = per_conn.size();
    for (const auto& [conn, k] : per_conn) c.max_per_connection = std::max(c.max_per_connection, k);
    c.max_open = max_open_connections(spans);
    if (c.requests >= expected || clock_type::now() >= deadline) return c;
    std::this_thread::sleep_for(50ms);
  }
}

struct latency_run {
  rate r;
  log_count log;
  pixel::tracker_stats stats;
  std::uint64_t peak_limit = 0;      // highest concurrency_limit seen (sampled every 10 ms)
  std::uint64_t peak_in_flight = 0;  // highest in_flight seen
};

// The tracker as a user configures it: endpoint, CA file and a queue that holds the run.
// `fixed` > 0: min_in_flight = max_in_flight = fixed instead (a reference for the limiter);
// `threads` > 1: that many worker threads.
latency_run run_default_tracker(const pixel_test::nginx_server& srv, std::uint64_t total,
                                const std::string& ca_file, std::size_t fixed = 0,
                                std::size_t threads = 1) {
  pixel::tracker_options o;
  o.endpoint = srv.base_url();
  o.ca_file = ca_file;
  o.queue_capacity = static_cast<std::size_t>(total);
  if (fixed > 0) o.min_in_flight = o.max_in_flight = fixed;
  o.worker_threads = threads;
  auto created = pixel::tracker::create(std::move(o));
  if (!created) throw std::runtime_error("tracker: " + created.error().message());
  auto& t = *created;
  const std::uintmax_t from = srv.log_offset();
  latency_run out;
  std::atomic<bool> done{false};
  std::thread sampler([&] {
    while (!done.load()) {
      const auto s = t.stats();
      out.peak_limit = std::max(out.peak_limit, s.concurrency_limit);
      out.peak_in_flight = std::max(out.peak_in_flight, s.in_flight);
      std::this_thread::sleep_for(10ms);  // a sampling period, not a synchronisation
    }
  });
  const auto t0 = clock_type::now();
  const cpu_usage c0 = cpu_now();
  for (std::uint64_t i = 0; i < total; ++i) {
    if (auto id = t.track(event_params()); !id) {
      fail("track: " + id.error().message());
      break;
    }
  }
  if (!t.flush(900s)) fail("tracker: flush timed out");
  const auto t1 = clock_type::now();
  const cpu_usage c1 = cpu_now();
  done.store(true);
  sampler.join();
  check_all_delivered("tracker (default options)", t, total);
  out.stats = t.stats();
  out.r = {static_cast<double>(total) / seconds(t1 - t0),
           (c1.total() - c0.total()) * 1e6 / static_cast<double>(total), out.stats.delivered};
  out.log = count_log(srv, from, static_cast<std::size_t>(total), "pixel-cpp/");
  if (out.log.requests != total) {
    fail("tracker: nginx logged " + std::to_string(out.log.requests) + " of " +
         std::to_string(total) + " events");
  }
  return out;
}

struct args {
  std::uint64_t events = 100'000;
  int wrk_seconds = 5;
  int rounds = 3;
  std::uint64_t memory_events = 0;  // 0: same as events
  int latency_ms = -1;              // >= 0: latency mode
  std::uint64_t baseline_events = 10'000;
  std::size_t fixed_in_flight = 0;  // latency mode: also a tracker with this many fixed
  std::size_t worker_threads = 0;   // latency mode: also a tracker with this many threads
  // Latency mode: requests nginx serves on one connection before closing it (over HTTP/2,
  // a GOAWAY). nginx's own default.
  unsigned keepalive_requests = 1000;
};

int run_latency(const args& a) {
  const std::uint64_t events = a.events;
  const std::uint64_t baseline_events = a.baseline_events;
  const int latency_ms = a.latency_ms;
  const int rounds = a.rounds;
  const std::size_t fixed = a.fixed_in_flight;
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  std::printf("pixel delivery benchmark, latency mode: nginx answers after %d ms; tracker %" PRIu64
              " events with default options (endpoint, CA file, queue capacity); baseline "
              "curl_multi loop, 16 handles, %" PRIu64
              " events; nginx keepalive_requests %u; %d round(s), "
              "%u cores\n%s\n",
              latency_ms, events, baseline_events, a.keepalive_requests, rounds,
              std::thread::hardware_concurrency(), curl_version());
  pixel_test::test_certs certs;
  struct setup {
    const char* name;
    bool tls, http2;
  };
  const setup setups[] = {{"HTTPS HTTP/2", true, true}, {"HTTP/1.1", false, false}};
  for (const auto& su : setups) {
    pixel_test::nginx_options o;
    o.tls = su.tls;
    o.http2 = su.http2;
    if (su.tls) {
      o.cert_file = certs.server_cert();
      o.key_file = certs.server_key();
    }
    o.response_delay = std::chrono::milliseconds(latency_ms);
    o.keepalive_requests = a.keepalive_requests;
    o.buffered_log = true;
    pixel_test::nginx_server srv(o);
    const std::string ca = su.tls ? certs.ca_file() : std::string();
    std::printf("\n== %s, %s\n", su.name, srv.pixel_url().c_str());
    std::vector<double> b_rate, t_rate, ratio, w_ratio;
    for (int round = 1; round <= rounds; ++round) {
      const std::uintmax_t from = srv.log_offset();
      const rate b = run_baseline(pixel_url_for(srv.base_url()), 16, baseline_events, ca, su.http2);
      const log_count bl =
          count_log(srv, from, static_cast<std::size_t>(baseline_events), "baseline");
      const latency_run t = run_default_tracker(srv, events, ca);
      std::printf(
          "  round %d: curl_multi loop %7.0f req/s, %4zu connections, %5.1f us CPU/req | "
          "tracker %7.0f ev/s, %4zu connections (%zu open at once, at most %zu requests on one), "
          "%5.1f us CPU/event, %" PRIu64 " retried, in flight up to %" PRIu64
          " (limit up to %" PRIu64 ") | tracker/loop %.2fx\n",
          round, b.events_per_s, bl.connections, b.cpu_us_per_event, t.r.events_per_s,
          t.log.connections, t.log.max_open, t.log.max_per_connection, t.r.cpu_us_per_event,
          t.stats.retried, t.peak_in_flight, t.peak_limit, t.r.events_per_s / b.events_per_s);
      if (fixed > 0) {
        const latency_run f = run_default_tracker(srv, events, ca, fixed);
        std::printf(
            "  round %d: tracker with %zu transfers always in flight %7.0f ev/s, %4zu "
            "connections, %5.1f us CPU/event\n",
            round, fixed, f.r.events_per_s, f.log.connections, f.r.cpu_us_per_event);
      }
      if (a.worker_threads > 0) {
        const latency_run w = run_default_tracker(srv, events, ca, 0, a.worker_threads);
        std::printf(
            "  round %d: tracker with %zu worker threads %7.0f ev/s, %4zu connections (%zu open "
            "at once), %5.1f us CPU/event | /1 thread %.2fx\n",
            round, a.worker_threads, w.r.events_per_s, w.log.connections, w.log.max_open,
            w.r.cpu_us_per_event, w.r.events_per_s / t.r.events_per_s);
        w_ratio.push_back(w.r.events_per_s / t.r.events_per_s);
      }
      b_rate.push_back(b.events_per_s);
      t_rate.push_back(t.r.events_per_s);
      ratio.push_back(t.r.events_per_s / b.events_per_s);
    }
    std::printf("  median: curl_multi loop %7.0f req/s | tracker %7.0f ev/s | tracker/loop %.2fx\n",
                median(b_rate), median(t_rate), median(ratio));
    if (!w_ratio.empty()) {
      std::printf("  median: %zu worker threads / 1 thread %.2fx\n", a.worker_threads,
                  median(w_ratio));
    }
  }
  curl_global_cleanup();
  if (g_errors.load() != 0) {
    std::fprintf(stderr, "%d error(s)\n", g_errors.load());
    return 1;
  }
  return 0;
}

args parse_args(int argc, char** argv) {
  args a;
  for (int i = 1; i < argc; ++i) {
    const std::string s = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(s + " needs a value");
      return argv[++i];
    };
    if (s == "--events") {
      a.events = std::stoull(next());
    } else if (s == "--wrk-seconds") {
      a.wrk_seconds = std::stoi(next());
    } else if (s == "--rounds") {
      a.rounds = std::stoi(next());
    } else if (s == "--memory-events") {
      a.memory_events = std::stoull(next());
    } else if (s == "--latency-ms") {
      a.latency_ms = std::stoi(next());
      if (a.latency_ms < 0) throw std::invalid_argument("--latency-ms must not be negative");
    } else if (s == "--fixed-in-flight") {
      a.fixed_in_flight = std::stoul(next());
    } else if (s == "--worker-threads") {
      a.worker_threads = std::stoul(next());
      if (a.worker_threads == 0) throw std::invalid_argument("--worker-threads must be >= 1");
    } else if (s == "--baseline-events") {
      a.baseline_events = std::stoull(next());
    } else if (s == "--keepalive-requests") {
      a.keepalive_requests = static_cast<unsigned>(std::stoul(next()));
      if (a.keepalive_requests == 0)
        throw std::invalid_argument("--keepalive-requests must be >= 1");
    } else {
      throw std::invalid_argument(
          "usage: " + std::string(argv[0]) +
          " [--events N] [--wrk-seconds S] [--rounds R] [--memory-events M]"
          " | --latency-ms D [--events N] [--baseline-events B] [--rounds R]"
          " [--fixed-in-flight F] [--keepalive-requests K] [--worker-threads W]");
    }
  }
  if (a.events < 100) throw std::invalid_argument("--events must be at least 100");
  if (a.rounds < 1) throw std::invalid_argument("--rounds must be at least 1");
  if (a.memory_events == 0) a.memory_events = a.events;
  if (a.memory_events < 100) throw std::invalid_argument("--memory-events must be >= 100");
  return a;
}

int run(const args& a) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress shows when piped to a file
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const int conns = 16;
  std::printf("pixel delivery benchmark: %" PRIu64
              " events per measurement, %d round(s), wrk -t1 -c%d -d%ds, %u cores\n%s\n",
              a.events, a.rounds, conns, a.wrk_seconds, std::thread::hardware_concurrency(),
              curl_version());

  // 1. memory
  const memory m = run_memory(a.memory_events);
  std::printf("\n== memory: queue capacity %" PRIu64 ", filled against a blackhole\n", m.events);
  std::printf("  RSS before tracker %.1f MiB, idle tracker %.1f MiB, queue full %.1f MiB\n",
              mb(m.rss_before), mb(m.rss_idle), mb(m.rss_full));
  std::printf("  per unit of capacity (allocated at create): %.0f bytes\n", m.bytes_per_slot);
  std::printf("  per queued event, on top of its slot:       %.0f bytes\n", m.bytes_per_event);
  std::printf("  full queue: %.0f bytes per event\n", m.bytes_per_slot + m.bytes_per_event);

  // 2. HTTP/1.1 over loopback. Rounds interleave the three clients so that a neighbour's
  // load on a shared machine hits them alike; the summary uses medians.
  pixel_test::temp_dir work("pixel-bench");
  pixel_test::nginx_server plain;
  const std::string url = pixel_url_for(plain.base_url());
  std::printf("\n== HTTP/1.1 keep-alive, %s (%zu-byte URL)\n", plain.pixel_url().c_str(),
              url.size());
  std::vector<double> wrk_rps, base_rps, trk_rps, base_cpu, trk_cpu, wrk_cpu;
  std::uint64_t peak_growth = 0;
  for (int round = 1; round <= a.rounds; ++round) {
    const wrk_result w = run_wrk(url, conns, a.wrk_seconds, work / "wrk.log");
    const rate base = run_baseline(url, conns, a.events, {}, false);
    const std::uintmax_t log_from = plain.log_offset();
    malloc_trim(0);
    reset_peak_rss();
    const std::uint64_t rss0 = rss_bytes();
    const rate trk = run_tracker(plain.base_url(), a.events, {});
    peak_growth = std::max(peak_growth, peak_rss_bytes() - std::min(peak_rss_bytes(), rss0));
    const std::size_t logged = count_protocol(plain, log_from, a.events, "HTTP/1.1");
    if (logged != a.events) {
      fail("tracker: nginx logged " + std::to_string(logged) + " of " + std::to_string(a.events) +
           " events as HTTP/1.1 requests");
    }
    std::printf(
        "  round %d: wrk %7.0f req/s | baseline %7.0f req/s | tracker %7.0f ev/s "
        "| tracker/baseline %.2fx, tracker/wrk %.2fx\n",
        round, w.requests_per_s, base.events_per_s, trk.events_per_s,
        trk.events_per_s / base.events_per_s,
        w.requests_per_s > 0 ? trk.events_per_s / w.requests_per_s : 0);
    wrk_rps.push_back(w.requests_per_s);
    wrk_cpu.push_back(w.cpu_us_per_request);
    base_rps.push_back(base.events_per_s);
    base_cpu.push_back(base.cpu_us_per_event);
    trk_rps.push_back(trk.events_per_s);
    trk_cpu.push_back(trk.cpu_us_per_event);
  }
  const double w_med = median(wrk_rps), b_med = median(base_rps), t_med = median(trk_rps);
  std::printf("  median: wrk -t1 -c%d      %8.0f req/s   %5.1f us CPU/req (wrk process)\n", conns,
              w_med, median(wrk_cpu));
  std::printf("  median: curl_multi loop   %8.0f req/s   %5.1f us CPU/req\n", b_med,
              median(base_cpu));
  std::printf("  median: tracker           %8.0f ev/s    %5.1f us CPU/event\n", t_med,
              median(trk_cpu));
  std::printf("  ratios (medians): tracker/baseline %.2fx, tracker/wrk %.2fx, baseline/wrk %.2fx\n",
              t_med / b_med, w_med > 0 ? t_med / w_med : 0, w_med > 0 ? b_med / w_med : 0);
  std::printf("  best:   wrk %8.0f req/s, curl_multi loop %8.0f req/s, tracker %8.0f ev/s\n",
              *std::max_element(wrk_rps.begin(), wrk_rps.end()),
              *std::max_element(base_rps.begin(), base_rps.end()),
              *std::max_element(trk_rps.begin(), trk_rps.end()));
  std::printf(
      "  peak RSS growth while the tracker delivered (10,000-event queue, producer "
      "blocking): %.1f MiB\n",
      mb(peak_growth));

  const double clk = clock_overhead_ns();
  std::printf("\n== track() latency while delivering (a clock-read pair, %.0f ns, included)\n",
              clk);
  for (int threads : {1, 4}) {
    malloc_trim(0);
    reset_peak_rss();
    const std::uint64_t rss0 = rss_bytes();
    const latency l = run_track_latency(plain.base_url(), a.events, threads);
    const std::uint64_t peak = peak_rss_bytes() - std::min(peak_rss_bytes(), rss0);
    std::printf(
        "  %d producer%s  p50 %6.0f ns  p99 %7.0f ns  p99.9 %8.0f ns  max %9.0f ns  (%.0f ev/s "
        "delivered meanwhile; peak RSS +%.1f MiB)\n",
        threads, threads == 1 ? " " : "s", l.p50_ns, l.p99_ns, l.p999_ns, l.max_ns, l.events_per_s,
        mb(peak));
  }

  // 3. HTTPS, HTTP/1.1 and HTTP/2 servers side by side, rounds interleaved likewise.
  pixel_test::test_certs certs;
  std::printf("\n== HTTPS (P-256 certificate from a test CA)\n");
  std::vector<double> rates[2][2];  // [http2][tracker]
  std::vector<double> cpus[2][2];
  auto tls_server = [&](bool http2) {
    pixel_test::nginx_options o;
    o.tls = true;
    o.http2 = http2;
    o.cert_file = certs.server_cert();
    o.key_file = certs.server_key();
    return std::make_unique<pixel_test::nginx_server>(o);
  };
  const std::unique_ptr<pixel_test::nginx_server> servers[2] = {tls_server(false),
                                                                tls_server(true)};
  for (int round = 1; round <= a.rounds; ++round) {
    std::printf("  round %d:", round);
    for (int h2 = 0; h2 < 2; ++h2) {
      const auto& srv = *servers[h2];
      const char* proto = h2 ? "HTTP/2.0" : "HTTP/1.1";
      const rate b =
          run_baseline(pixel_url_for(srv.base_url()), conns, a.events, certs.ca_file(), h2 != 0);
      const std::uintmax_t from = srv.log_offset();
      const rate t = run_tracker(srv.base_url(), a.events, certs.ca_file());
      const std::size_t matching = count_protocol(srv, from, a.events, proto);
      if (matching != a.events) {
        fail(std::string("tracker over TLS: ") + std::to_string(matching) + " of " +
             std::to_string(a.events) + " requests were " + proto);
      }
      rates[h2][0].push_back(b.events_per_s);
      rates[h2][1].push_back(t.events_per_s);
      cpus[h2][0].push_back(b.cpu_us_per_event);
      cpus[h2][1].push_back(t.cpu_us_per_event);
      std::printf("  %s baseline %6.0f, tracker %6.0f ev/s;", proto, b.events_per_s,
                  t.events_per_s);
    }
    std::printf("\n");
  }
  for (int h2 = 0; h2 < 2; ++h2) {
    std::printf(
        "  median %s: curl_multi loop %6.0f req/s %5.1f us CPU/req | tracker %6.0f ev/s "
        "%5.1f us CPU/event | tracker/baseline %.2fx (best %6.0f vs %6.0f)\n",
        h2 ? "HTTP/2.0" : "HTTP/1.1", median(rates[h2][0]), median(cpus[h2][0]),
        median(rates[h2][1]), median(cpus[h2][1]), median(rates[h2][1]) / median(rates[h2][0]),
        *std::max_element(rates[h2][1].begin(), rates[h2][1].end()),
        *std::max_element(rates[h2][0].begin(), rates[h2][0].end()));
  }
  std::printf("  tracker HTTP/2 / HTTP/1.1 (medians): %.2fx\n",
              median(rates[1][1]) / median(rates[0][1]));

  curl_global_cleanup();
  if (g_errors.load() != 0) {
    std::fprintf(stderr, "%d error(s)\n", g_errors.load());
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const args a = parse_args(argc, argv);
    if (a.latency_ms >= 0) {
      return run_latency(a);
    }
    return run(a);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pixel_delivery_bench: %s\n", e.what());
    return 2;
  }
}
