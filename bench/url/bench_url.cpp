// Building a typical pixel URL: pixel::url_builder with a reused buffer against a baseline
// measured in the same run (curl_easy_escape on each key and value, concatenated).
// Prints the ratio and the heap allocations per URL.
// SPDX-License-Identifier: MIT
#include <benchmark/benchmark.h>
#include <curl/curl.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <new>
#include <string>
#include <vector>

#include "pixel/url.hpp"

// Counts every heap allocation in the process.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
static std::atomic<std::uint64_t> g_allocations{0};
void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

namespace {

constexpr const char* kEndpoint = "https://d111111abcdef8.cloudfront.net";

// endpoint + userid + thirdpartyname + three custom keys: about 150 bytes of values.
const std::vector<pixel::param>& typical_params() {
  static const std::vector<pixel::param> params = {
      {"userid", "user-8f14e45f-ceea-467f-a0e6-9cbe2a1c4f7e"},
      {"thirdpartyname", "example.hightrafficwebsite.com"},
      {"campaign", "spring sale 2026/week 3"},
      {"page", "/products/shoes?color=red&size=42"},
      {"ref", "newsletter+footer \xC3\xA9t\xC3\xA9"},
  };
  return params;
}

void BM_pixel_url_builder(benchmark::State& state) {
  const auto builder = pixel::url_builder(pixel::endpoint::parse(kEndpoint).value());
  const auto& params = typical_params();
  std::string out;
  (void)builder.build_into(params, out);  // warm: grow the buffer once
  const auto before = g_allocations.load();
  for (auto _ : state) {
    auto id = builder.build_into(params, out);
    benchmark::DoNotOptimize(id);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["allocs/url"] = benchmark::Counter(
      static_cast<double>(g_allocations.load() - before) / static_cast<double>(state.iterations()));
  state.counters["bytes"] = static_cast<double>(out.size());
}

// The same URL signed (kid, exp, HMAC-SHA256 sig): the cost signing adds per URL.
void BM_pixel_url_builder_signed(benchmark::State& state) {
  pixel::url_options o;
  o.signer = pixel::make_url_signer("k2026a", std::string(32, 'k')).value();
  const auto builder =
      pixel::url_builder::create(pixel::endpoint::parse(kEndpoint).value(), o).value();
  const auto& params = typical_params();
  std::string out;
  (void)builder.build_into(params, out);
  const auto before = g_allocations.load();
  for (auto _ : state) {
    auto id = builder.build_into(params, out);
    benchmark::DoNotOptimize(id);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["allocs/url"] = benchmark::Counter(
      static_cast<double>(g_allocations.load() - before) / static_cast<double>(state.iterations()));
  state.counters["bytes"] = static_cast<double>(out.size());
}

void BM_curl_escape_concat(benchmark::State& state) {
  CURL* curl = curl_easy_init();
  const auto& params = typical_params();
  std::string out;
  const auto before = g_allocations.load();
  for (auto _ : state) {
    // The same work: id, clock, validation is skipped (the baseline does not validate).
    const auto id = pixel::event_id::generate();
    const auto ts = std::to_string(pixel::detail::unix_millis());
    out.clear();
    out += kEndpoint;
    out += "/1x1.png";
    char sep = '?';
    auto add = [&](std::string_view k, std::string_view v) {
      char* ek = curl_easy_escape(curl, k.data(), static_cast<int>(k.size()));
      char* ev = curl_easy_escape(curl, v.data(), static_cast<int>(v.size()));
      out += sep;
      sep = '&';
      out += ek;
      out += '=';
      out += ev;
      curl_free(ek);
      curl_free(ev);
    };
    for (const auto& p : params) add(p.key, p.value);
    add("eid", id.view());
    add("ts", ts);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["allocs/url"] = benchmark::Counter(
      static_cast<double>(g_allocations.load() - before) / static_cast<double>(state.iterations()));
  state.counters["bytes"] = static_cast<double>(out.size());
  curl_easy_cleanup(curl);
}

void BM_copy_output_bytes(benchmark::State& state) {
  // The floor: copying a URL of the same size into a reused buffer.
  const auto builder = pixel::url_builder(pixel::endpoint::parse(kEndpoint).value());
  const std::string url = builder.build(typical_params()).value();
  std::string out;
  out.reserve(url.size());
  for (auto _ : state) {
    out.assign(url);
    benchmark::DoNotOptimize(out.data());
  }
}

BENCHMARK(BM_pixel_url_builder);
BENCHMARK(BM_pixel_url_builder_signed);
BENCHMARK(BM_curl_escape_concat);
BENCHMARK(BM_copy_output_bytes);

// Keeps the console output and remembers each benchmark's time per iteration.
class ratio_reporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& r : runs) {
      if (r.run_type == Run::RT_Iteration) {
        ns_[r.benchmark_name()] = r.GetAdjustedCPUTime();
        if (auto it = r.counters.find("allocs/url"); it != r.counters.end()) {
          allocs_[r.benchmark_name()] = it->second.value;
        }
      }
    }
  }
  std::map<std::string, double> ns_;
  std::map<std::string, double> allocs_;
};

}  // namespace

int main(int argc, char** argv) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  benchmark::Initialize(&argc, argv);
  ratio_reporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  const double pixel_ns = reporter.ns_["BM_pixel_url_builder"];
  const double curl_ns = reporter.ns_["BM_curl_escape_concat"];
  const double copy_ns = reporter.ns_["BM_copy_output_bytes"];
  const double allocs = reporter.allocs_["BM_pixel_url_builder"];
  int rc = 0;
  if (pixel_ns > 0 && curl_ns > 0 && copy_ns > 0) {
    std::printf("\nurl_builder vs curl_easy_escape+concat: %.1fx faster\n", curl_ns / pixel_ns);
    std::printf("url_builder vs copying the output bytes: %.1fx the time of a copy\n",
                pixel_ns / copy_ns);
    std::printf("url_builder heap allocations per URL (warm buffer): %.3f\n", allocs);
    const double signed_ns = reporter.ns_["BM_pixel_url_builder_signed"];
    if (signed_ns > 0) {
      std::printf(
          "signed url_builder vs unsigned: %.1fx the time (%.0f ns vs %.0f ns), "
          "%.1f heap allocations per signed URL\n",
          signed_ns / pixel_ns, signed_ns, pixel_ns,
          reporter.allocs_["BM_pixel_url_builder_signed"]);
    }
    if (allocs != 0.0) rc = 1;  // the reused-buffer builder must not allocate
  }
  curl_global_cleanup();
  benchmark::Shutdown();
  return rc;
}
