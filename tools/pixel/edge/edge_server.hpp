// The local edge: a CloudFront stand-in that serves /1x1.png and writes real-time log
// records laid out as Firehose delivers them to S3. Internal to the pixel tool and tests.
// SPDX-License-Identifier: MIT
#ifndef PIXEL_TOOLS_EDGE_SERVER_HPP
#define PIXEL_TOOLS_EDGE_SERVER_HPP

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pixel/error.hpp"
#include "pixel/log.hpp"
#include "pixel/url/sign.hpp"

namespace pixel::edge {

// The 68-byte transparent PNG the pixel path answers with.
std::string_view pixel_png() noexcept;

// Longest request target (path + query) served; longer gets 413 and no record.
inline constexpr std::size_t max_target = 8192;

struct options {
  std::string host = "127.0.0.1";
  int port = 0;  // 0: a free port chosen by the system
  // Share the port with other sockets that ask for it too (SO_REUSEPORT): the kernel then
  // spreads connections among them. Off: a port another process listens on is refused
  // (errc::invalid_argument, "address in use").
  bool reuse_port = false;
  std::string out_dir;  // Firehose layout root; empty: no files
  log::field_list fields = log::default_fields();
  // Fixed values of fields a local edge cannot know: the viewer's network (asn), and the
  // primary distribution of a staging one (empty: '-').
  std::string asn = "64496";  // a documentation ASN (RFC 5398)
  std::string primary_distribution_id;
  std::string primary_distribution_dns_name;
  std::string tls_cert, tls_key;  // both set: HTTPS

  // Fault injection. Each pixel request n draws from a generator keyed by (seed, n):
  // the same seed and request order give the same faults.
  double reset_rate = 0;  // record written as served (200), connection reset
  double fail_rate = 0;   // answered fail_status (and logged with it)
  int fail_status = 503;
  int retry_after = -1;  // seconds, sent with failures when >= 0
  int delay_ms = 0;      // added before every pixel answer
  std::uint64_t seed = 0;

  // Losses of the sink after the answer, as on AWS: the viewer gets its answer and the
  // record never reaches the log. Applied in this order to every record (each request n
  // draws under `seed`, as the faults above do):
  int sampling = 100;       // percent of requests that get a record (real-time log sampling)
  double drop_records = 0;  // fraction of the sampled records lost (best-effort delivery)
  // Records beyond this many in one second (of their timestamp) are lost, as a throttled
  // Kinesis stream loses them (a shard takes 1,000 records/s); 0: no cap.
  std::uint64_t max_records_per_second = 0;
  // Called with each lost record line, under a lock: what the log would have held.
  std::function<void(std::string_view)> on_lost_record;

  std::chrono::milliseconds buffer_interval{1000};  // a new object at least this often
  std::size_t buffer_size = 5 * 1024 * 1024;        // or when the buffer reaches this
  std::size_t threads = 256;              // connections served at once (keep-alive holds one)
  std::chrono::seconds idle_timeout{30};  // keep-alive connections idle this long close

  // Signed URLs: with keys, a pixel request that does not verify (pixel/url/sign.hpp) is
  // answered 403 with no body, as deploy/functions/verify-signature.js answers at
  // CloudFront, before any fault injection, and logged with sc-status 403.
  std::optional<keyring> verify_keys;
  std::chrono::seconds verify_leeway = default_signature_leeway;
  // Called for each refused request with the verdict and the request target.
  std::function<void(signature_status, std::string_view)> on_refused;

  // Called with each record line (ending in '\n') as it is produced, under a lock.
  std::function<void(std::string_view)> on_record;
};

class server {
 public:
  // Binds the listening socket; errors name the address or the TLS file.
  static result<std::unique_ptr<server>> create(options o);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  int port() const noexcept;
  // http://HOST:PORT or https://HOST:PORT (IPv6 hosts in brackets).
  std::string url() const;

  // Serves until stop(); then finishes in-flight requests, writes every record and
  // returns. An error is a failure to write the log objects.
  result<void> run();
  // Thread-safe; returns at once. Not async-signal-safe: call it from a normal thread.
  void stop();

  std::uint64_t records() const noexcept;       // records written (or buffered) so far
  std::uint64_t lost_records() const noexcept;  // records lost to the sink options

  class impl;

 private:
  explicit server(std::unique_ptr<impl> p) noexcept;
  std::unique_ptr<impl> impl_;
};

}  // namespace pixel::edge

#endif  // PIXEL_TOOLS_EDGE_SERVER_HPP
