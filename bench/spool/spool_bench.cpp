// Durable delivery benchmark, on this machine's disk, against a local nginx pixel endpoint.
// SPDX-License-Identifier: MIT
//
//   pixel_spool_bench [--seconds S] [--events N] [--dir DIR]
//
// 1. sync: with 1, 4 and 16 producer threads for S seconds each, track() on a tracker with
//    durability sync (every call returns once its event is committed with fsync; concurrent
//    callers share commits), next to a baseline measured in the same run: one SQLite INSERT
//    with its own commit per event (WAL, synchronous=FULL, one connection behind a mutex),
//    the way a tracker that persists on the caller's thread does it. Events/s, per-call
//    p50/p99, and the ratio.
// 2. batched against memory: N events tracked by 1, 4 and 16 producers into a queue that
//    holds them all, delivered to nginx; delivery throughput (first track() to flush()) and
//    track() p50/p99, memory and batched interleaved, and the ratio.
// Exits non-zero when an event is lost (not delivered) or a call fails.
#include <sqlite3.h>

#include <pixel/tracker.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../bench_support.hpp"
#include "nginx.hpp"
#include "spawn.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

using pixel_bench::event_params;
using pixel_bench::fail;
using pixel_bench::g_errors;
using pixel_bench::seconds;

struct figures {
  double events_per_s = 0;
  double p50_us = 0, p99_us = 0;
  std::uint64_t events = 0;
};

// Per-call latencies (ns) from every thread -> percentiles.
void percentiles(std::vector<std::vector<std::uint32_t>>& per_thread, figures& f) {
  std::vector<std::uint32_t> all;
  for (auto& v : per_thread) all.insert(all.end(), v.begin(), v.end());
  if (all.empty()) return;
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) {
    return static_cast<double>(all[std::min(
               all.size() - 1, static_cast<std::size_t>(p * static_cast<double>(all.size())))]) /
           1000.0;
  };
  f.p50_us = pct(0.50);
  f.p99_us = pct(0.99);
}

// Runs `call` on `threads` threads, started together, for `duration` (or `each` calls per
// thread when each > 0), timing every call.
template <typename Call>
figures run_producers(int threads, clock_type::duration duration, std::uint64_t each, Call call) {
  std::vector<std::vector<std::uint32_t>> lat(static_cast<std::size_t>(threads));
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::atomic<std::uint64_t> done{0};
  std::vector<std::thread> producers;
  clock_type::time_point t0;
  for (int k = 0; k < threads; ++k) {
    producers.emplace_back([&, k] {
      auto& mine = lat[static_cast<std::size_t>(k)];
      mine.reserve(each > 0 ? each : 100'000);
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      const auto end = t0 + duration;
      for (std::uint64_t i = 0; each > 0 ? i < each : clock_type::now() < end; ++i) {
        const auto a = clock_type::now();
        if (!call(k)) return;
        const auto b = clock_type::now();
        mine.push_back(static_cast<std::uint32_t>(
            std::min<std::int64_t>(std::chrono::nanoseconds(b - a).count(), UINT32_MAX)));
      }
      done.fetch_add(mine.size());
    });
  }
  while (ready.load() < threads) std::this_thread::yield();
  t0 = clock_type::now();
  go.store(true, std::memory_order_release);
  for (auto& p : producers) p.join();
  const auto t1 = clock_type::now();
  figures f;
  f.events = done.load();
  f.events_per_s = static_cast<double>(f.events) / seconds(t1 - t0);
  percentiles(lat, f);
  return f;
}

// The baseline: one INSERT and one commit (fsync) per event.
figures run_per_event_commit(const fs::path& dir, int threads, clock_type::duration duration) {
  fs::create_directories(dir);
  sqlite3* db = nullptr;
  if (sqlite3_open((dir / "baseline.db").c_str(), &db) != SQLITE_OK) {
    fail("baseline: cannot open the database");
    return {};
  }
  sqlite3_exec(db,
               "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
               "CREATE TABLE IF NOT EXISTS events(key INTEGER PRIMARY KEY, eid TEXT, url TEXT,"
               " user_agent TEXT, attempts INTEGER, created_ms INTEGER, not_before_ms INTEGER);",
               nullptr, nullptr, nullptr);
  sqlite3_stmt* insert = nullptr;
  sqlite3_prepare_v2(db,
                     "INSERT INTO events(eid, url, user_agent, attempts, created_ms, "
                     "not_before_ms) VALUES(?1, ?2, '', 0, ?3, ?3)",
                     -1, &insert, nullptr);
  // The URL the tracker would send for the same event.
  auto builder = pixel::url_builder::create(*pixel::endpoint::parse("http://127.0.0.1:8080"), {});
  std::string url;
  (void)builder->build_with(event_params(), pixel::event_id::generate().view(), 0, url);
  std::mutex mutex;
  figures f = run_producers(threads, duration, 0, [&](int) {
    const auto id = pixel::event_id::generate();
    std::lock_guard<std::mutex> lock(mutex);
    sqlite3_bind_text(insert, 1, id.view().data(), static_cast<int>(id.view().size()),
                      SQLITE_STATIC);
    sqlite3_bind_text(insert, 2, url.data(), static_cast<int>(url.size()), SQLITE_STATIC);
    sqlite3_bind_int64(insert, 3, 1'767'225'600'000);
    const int rc = sqlite3_step(insert);
    sqlite3_reset(insert);
    if (rc != SQLITE_DONE) {
      fail(std::string("baseline insert: ") + sqlite3_errmsg(db));
      return false;
    }
    return true;
  });
  sqlite3_finalize(insert);
  sqlite3_close(db);
  fs::remove_all(dir);
  return f;
}

pixel::tracker make_tracker(const std::string& endpoint, pixel::durability level,
                            const fs::path& dir, std::size_t capacity) {
  pixel::tracker_options o;
  o.endpoint = endpoint;
  o.queue_capacity = capacity;
  o.durability = level;
  if (level != pixel::durability::memory) o.spool_dir = dir.string();
  o.shutdown_timeout = 60s;
  auto t = pixel::tracker::create(std::move(o));
  if (!t) {
    std::fprintf(stderr, "cannot create the tracker: %s\n", t.error().message().c_str());
    std::exit(2);
  }
  return std::move(*t);
}

void check_delivered(const char* what, pixel::tracker& t, std::uint64_t tracked) {
  if (!t.flush(600s)) fail(std::string(what) + ": flush timed out");
  const auto s = t.stats();
  if (s.delivered != tracked) {
    fail(std::string(what) + ": delivered " + std::to_string(s.delivered) + " of " +
         std::to_string(tracked));
  }
}

figures run_sync(const std::string& endpoint, const fs::path& dir, int threads,
                 clock_type::duration duration) {
  figures f;
  {
    auto t = make_tracker(endpoint, pixel::durability::sync, dir, 1'000'000);
    f = run_producers(threads, duration, 0, [&](int) {
      auto id = t.track(event_params());
      if (!id) fail("sync track: " + id.error().message());
      return static_cast<bool>(id);
    });
    check_delivered("sync", t, f.events);
  }
  fs::remove_all(dir);
  return f;
}

// N events into a queue that holds them all; throughput is first track() to flush().
figures run_delivery(const std::string& endpoint, pixel::durability level, const fs::path& dir,
                     int threads, std::uint64_t events) {
  figures f;
  {
    auto t = make_tracker(endpoint, level, dir, static_cast<std::size_t>(events));
    const std::uint64_t each = events / static_cast<std::uint64_t>(threads);
    const auto t0 = clock_type::now();
    f = run_producers(threads, 0s, each, [&](int) {
      auto id = t.track(event_params());
      if (!id) fail("track: " + id.error().message());
      return static_cast<bool>(id);
    });
    check_delivered(level == pixel::durability::memory ? "memory" : "batched", t, f.events);
    f.events_per_s = static_cast<double>(f.events) / seconds(clock_type::now() - t0);
  }
  fs::remove_all(dir);
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  double secs = 3;
  std::uint64_t events = 20'000;
  std::string dir_arg;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--seconds" && i + 1 < argc) {
      secs = std::atof(argv[++i]);
    } else if (a == "--events" && i + 1 < argc) {
      events = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--dir" && i + 1 < argc) {
      dir_arg = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s [--seconds S] [--events N] [--dir DIR]\n", argv[0]);
      return 2;
    }
  }
  pixel_test::temp_dir tmp("pixel-spool-bench");
  const fs::path base = dir_arg.empty() ? tmp.path() : fs::path(dir_arg);
  const auto duration =
      std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(secs));
  pixel_test::nginx_server nginx;
  const std::string endpoint = nginx.pixel_url();
  std::printf("spool directory: %s\n", base.c_str());

  std::printf("\n== sync: track() returns once the event is on disk (%.0f s per run)\n", secs);
  std::printf("  %-10s %-30s %-30s %s\n", "producers", "per-event commit (baseline)",
              "tracker, durability sync", "ratio");
  bool sync_target = true;
  for (int threads : {1, 4, 16}) {
    const figures b = run_per_event_commit(base / "baseline", threads, duration);
    const figures s = run_sync(endpoint, base / "sync", threads, duration);
    const double ratio = b.events_per_s > 0 ? s.events_per_s / b.events_per_s : 0;
    std::printf(
        "  %-10d %7.0f ev/s p50 %6.0f p99 %6.0f us   %7.0f ev/s p50 %6.0f p99 %6.0f us   %5.1fx\n",
        threads, b.events_per_s, b.p50_us, b.p99_us, s.events_per_s, s.p50_us, s.p99_us, ratio);
    if (threads == 16) sync_target = ratio >= 20;
  }

  std::printf("\n== batched against memory: %llu events delivered to nginx\n",
              static_cast<unsigned long long>(events));
  std::printf("  %-10s %-34s %-34s %s\n", "producers", "memory", "batched", "ratio");
  bool batched_target = true, latency_target = true;
  for (int threads : {1, 4, 16}) {
    const figures m =
        run_delivery(endpoint, pixel::durability::memory, base / "memory", threads, events);
    const figures b =
        run_delivery(endpoint, pixel::durability::batched, base / "batched", threads, events);
    const double ratio = m.events_per_s > 0 ? b.events_per_s / m.events_per_s : 0;
    std::printf(
        "  %-10d %7.0f ev/s p50 %5.1f p99 %6.1f us   %7.0f ev/s p50 %5.1f p99 %6.1f us   %5.2fx\n",
        threads, m.events_per_s, m.p50_us, m.p99_us, b.events_per_s, b.p50_us, b.p99_us, ratio);
    batched_target = batched_target && ratio >= 0.5;
    latency_target = latency_target && b.p99_us < 20;
  }
  std::printf(
      "\ntargets: sync x16 >= 20x baseline: %s; batched >= 0.5x memory: %s; "
      "batched track() p99 < 20 us: %s\n",
      sync_target ? "met" : "MISSED", batched_target ? "met" : "MISSED",
      latency_target ? "met" : "MISSED");
  return g_errors.load() == 0 ? 0 : 1;
}
