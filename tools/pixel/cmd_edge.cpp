// pixel edge: the local CloudFront stand-in.
// SPDX-License-Identifier: MIT
#include <pthread.h>
#include <signal.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <fmt/core.h>

#include "cli.hpp"
#include "edge_server.hpp"
#include "pixel/log.hpp"
#include "pixel/url.hpp"

namespace pixel::cli {
namespace {

struct edge_args {
  std::string listen = "127.0.0.1:8080";
  std::string out;
  std::string fields = log::default_fields().to_string();
  std::string asn = "64496";
  std::string primary_distribution_id, primary_distribution_dns_name;
  std::string tls_cert, tls_key;
  double fail_rate = 0;
  int fail_status = 503;
  int retry_after = -1;
  double reset_rate = 0;
  int delay_ms = 0;
  std::uint64_t seed = 0;
  int sampling = 100;
  double drop_records = 0;
  std::uint64_t max_records_per_second = 0;
  std::string lost_out;
  bool to_stdout = false;
  bool reuse_port = false;
  long buffer_interval_ms = 1000;
  std::size_t buffer_size = 5 * 1024 * 1024;
  std::size_t threads = 256;
  std::vector<std::string> verify_keys;  // KID:FILE, repeatable
  bool no_client_ip = false;
  bool fields_given = false;
};

// --no-client-ip: the list without the fields that carry viewer addresses (c-ip, and
// x-forwarded-for, which holds the viewer's own address behind a proxy), with c-country
// and asn, as a real-time log configuration that leaves c-ip out (docs/privacy.md).
result<log::field_list> without_client_ip(const log::field_list& fields, bool given) {
  std::string names;
  bool country = false, asn = false;
  for (const log::field f : fields) {
    if (f == log::field::c_ip || f == log::field::x_forwarded_for) {
      if (given) {
        return error(errc::invalid_argument, "--no-client-ip: --fields names " +
                                                 std::string(log::field_name(f)) +
                                                 ", a viewer's address");
      }
      continue;
    }
    country = country || f == log::field::c_country;
    asn = asn || f == log::field::asn;
    if (!names.empty()) names += ',';
    names += log::field_name(f);
  }
  if (!country) names += ",c-country";
  if (!asn) names += ",asn";
  return log::parse_fields(names);
}

// HOST:PORT, [IPv6]:PORT.
bool split_listen(const std::string& s, std::string& host, int& port) {
  const std::size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  host = s.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string p = s.substr(colon + 1);
  if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  port = std::stoi(p);
  return port <= 65535 && !host.empty();
}

int run_edge(const edge_args& a) {
  edge::options o;
  if (!split_listen(a.listen, o.host, o.port)) {
    return fail("--listen: expected HOST:PORT, got '" + a.listen + "'");
  }
  if (a.out.empty() && !a.to_stdout) return fail("--out DIR is required (or --stdout)");
  auto fields = log::parse_fields(a.fields);
  if (!fields.has_value()) return fail("--fields: " + fields.error().message());
  o.fields = fields.value();
  if (a.no_client_ip) {
    auto kept = without_client_ip(o.fields, a.fields_given);
    if (!kept) return fail(kept.error().message());
    o.fields = std::move(*kept);
  }
  o.asn = a.asn;
  o.primary_distribution_id = a.primary_distribution_id;
  o.primary_distribution_dns_name = a.primary_distribution_dns_name;
  o.out_dir = a.out;
  o.tls_cert = a.tls_cert;
  o.tls_key = a.tls_key;
  o.fail_rate = a.fail_rate;
  o.fail_status = a.fail_status;
  o.retry_after = a.retry_after;
  o.reset_rate = a.reset_rate;
  o.delay_ms = a.delay_ms;
  o.seed = a.seed;
  o.reuse_port = a.reuse_port;
  o.sampling = a.sampling;
  o.drop_records = a.drop_records;
  o.max_records_per_second = a.max_records_per_second;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> lost(nullptr, &std::fclose);
  if (!a.lost_out.empty()) {
    lost.reset(std::fopen(a.lost_out.c_str(), "w"));
    if (!lost) return fail("--lost-out: cannot write " + a.lost_out + ": " + std::strerror(errno));
    o.on_lost_record = [f = lost.get()](std::string_view line) {
      std::fwrite(line.data(), 1, line.size(), f);
    };
  }
  o.buffer_interval = std::chrono::milliseconds(a.buffer_interval_ms);
  o.buffer_size = a.buffer_size;
  o.threads = a.threads;
  if (!a.verify_keys.empty()) {
    auto ring = read_keyring("--verify-key", a.verify_keys);
    if (!ring) return fail(ring.error().message());
    o.verify_keys = std::move(*ring);
    // One line per refused hit on stderr (the record carries sc-status 403 as well).
    o.on_refused = [](signature_status verdict, std::string_view target) {
      fmt::print(stderr, "pixel edge: 403 {}: {}\n", signature_status_name(verdict),
                 pixel::detail::printable(target, 512));
    };
  }
  if (a.to_stdout) {
    o.on_record = [](std::string_view line) {
      std::fwrite(line.data(), 1, line.size(), stdout);
      std::fflush(stdout);
    };
  }

  // Signals are taken by one thread with sigwait, so every other thread (the server's
  // pool included, created below) must have them blocked.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  auto created = edge::server::create(std::move(o));
  if (!created.has_value()) return fail(created.error().message());
  edge::server& s = *created.value();
  const std::string line = "listening on " + s.url() + "\n";
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);

  std::thread waiter([&s, set] {
    int sig = 0;
    sigwait(&set, &sig);
    s.stop();
  });
  auto done = s.run();
  waiter.join();
  if (const std::uint64_t n = s.lost_records(); n > 0) {
    std::fprintf(stderr,
                 "pixel edge: %llu records lost to --sampling, --drop-records or "
                 "--max-records-per-second (answered, not logged)\n",
                 static_cast<unsigned long long>(n));
  }
  if (lost && std::fflush(lost.get()) != 0) return fail("--lost-out: cannot write " + a.lost_out);
  if (!done) return fail(done.error().message());
  return exit_ok;
}

}  // namespace

void add_edge_command(CLI::App& app, context& ctx) {
  auto a = std::make_shared<edge_args>();
  CLI::App* cmd = app.add_subcommand(
      "edge", "Run a local CloudFront stand-in: serve /1x1.png, write real-time log records");
  cmd->add_option("--listen", a->listen, "HOST:PORT to listen on (port 0: any free port)")
      ->capture_default_str();
  cmd->add_option("--out", a->out, "Folder for the Firehose-style log objects");
  auto* fields = cmd->add_option("--fields", a->fields,
                                 "Comma-separated real-time log fields, any order (written in "
                                 "CloudFront's)");
  fields->capture_default_str();
  cmd->add_flag("--no-client-ip", a->no_client_ip,
                "Log no viewer address: --fields without c-ip and x-forwarded-for, with "
                "c-country and asn (as a configuration that leaves c-ip out)");
  cmd->add_option("--asn", a->asn, "The asn field: the viewer's autonomous system number")
      ->check(CLI::TypeValidator<std::uint32_t>())
      ->capture_default_str();
  // Written into records as they are: no blanks, tabs or control characters.
  const auto token = CLI::Validator(
      [](std::string& v) -> std::string {
        for (char c : v) {
          if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7F) return "no blanks allowed";
        }
        return {};
      },
      "TOKEN");
  cmd->add_option("--primary-distribution-id", a->primary_distribution_id,
                  "The primary-distribution-id field, as a staging distribution logs it "
                  "(default '-')")
      ->check(token);
  cmd->add_option("--primary-distribution-dns-name", a->primary_distribution_dns_name,
                  "The primary-distribution-dns-name field (default '-')")
      ->check(token);
  cmd->add_option("--tls-cert", a->tls_cert, "PEM certificate: serve HTTPS")
      ->check(CLI::ExistingFile);
  cmd->add_option("--tls-key", a->tls_key, "PEM private key for --tls-cert")
      ->check(CLI::ExistingFile);
  cmd->add_option("--fail-rate", a->fail_rate, "Fraction of pixel requests answered --fail-status")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--fail-status", a->fail_status, "Status of injected failures")
      ->check(CLI::Range(400, 599))
      ->capture_default_str();
  cmd->add_option("--retry-after", a->retry_after, "Retry-After seconds sent with failures")
      ->check(CLI::Range(0, 86400));
  cmd->add_option("--reset-rate", a->reset_rate,
                  "Fraction of pixel requests logged, then answered with a connection reset")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--delay-ms", a->delay_ms, "Latency added to every pixel answer")
      ->check(CLI::Range(0, 600000));
  cmd->add_option("--seed", a->seed, "Seed of the fault draws (same seed, same faults)");
  cmd->add_option("--sampling", a->sampling,
                  "Percent of requests that get a record (the real-time log sampling rate)")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  cmd->add_option("--drop-records", a->drop_records,
                  "Fraction of records lost after the answer (best-effort log delivery)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--max-records-per-second", a->max_records_per_second,
                  "Records beyond N in one second are lost after the answer (a throttled "
                  "Kinesis stream: 1,000 per shard)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 40));
  cmd->add_option("--lost-out", a->lost_out,
                  "Write every lost record to FILE (what the log would have held)");
  cmd->add_flag("--stdout", a->to_stdout, "Also print each record on stdout");
  cmd->add_flag("--reuse-port", a->reuse_port,
                "Share the port with other processes that ask for it too (SO_REUSEPORT); "
                "without it a port in use is refused");
  cmd->add_option("--buffer-interval", a->buffer_interval_ms,
                  "Milliseconds before a buffered object is written")
      ->check(CLI::Range(1L, 3'600'000L))
      ->capture_default_str();
  cmd->add_option("--buffer-size", a->buffer_size, "Bytes that start a new object")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 32))
      ->capture_default_str();
  cmd->add_option("--threads", a->threads, "Connections served at once")
      ->check(CLI::Range(std::size_t{2}, std::size_t{4096}))
      ->capture_default_str();
  cmd->add_option("--verify-key", a->verify_keys,
                  "Answer 403 to pixel URLs not signed by one of these keys, as the CloudFront "
                  "Function does: KID:FILE (FILE holds the base64 key); repeat for rotation")
      ->take_all()
      ->allow_extra_args(false);
  cmd->callback([a, fields, &ctx] {
    a->fields_given = fields->count() > 0;
    ctx.exit_code = run_edge(*a);
  });
}

}  // namespace pixel::cli
