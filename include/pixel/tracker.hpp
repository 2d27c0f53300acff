// pixel: background delivery of pixel events. The front door of the SDK.
// SPDX-License-Identifier: MIT
//
//   pixel::tracker_options opts;
//   opts.endpoint = "https://d111111abcdef8.cloudfront.net";
//   auto t = pixel::tracker::create(std::move(opts));
//   if (!t) return fail(t.error().message());
//   auto id = t->track({{"userid", "aws_user"}, {"thirdpartyname", "example.com"}});
//   // ... later, at exit (the destructor does this with options.shutdown_timeout):
//   t->shutdown(std::chrono::seconds(2));
#ifndef PIXEL_TRACKER_HPP
#define PIXEL_TRACKER_HPP

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pixel/config.hpp"
#include "pixel/consent.hpp"
#include "pixel/error.hpp"
#include "pixel/sampling.hpp"
#include "pixel/url.hpp"
#include "pixel/version.hpp"

namespace pixel {

namespace detail {
struct tracker_access;
}

// What track() does when the queue is at capacity.
enum class overflow_policy {
  drop_new,     // refuse the new event: track() returns errc::queue_full
  drop_oldest,  // evict the oldest queued event (reported as dropped) and accept the new one
  block,        // wait up to tracker_options::block_timeout for room, then as drop_new
};

// Where events wait for their outcome (docs/tracker.md, "Durable delivery").
enum class durability {
  memory,   // in memory only: a crash or kill loses what is queued (the default)
  batched,  // also in the spool, committed at most spool_commit_interval after track()
  sync,     // also in the spool: track() returns once the event is on disk (fsync)
};

// An attempt is a request sent for an event: the first, each retry, each redirect followed
// and each outage probe.
struct retry_policy {
  // Attempts per event, the first included, made while the endpoint is up. Attempts in an
  // outage (the probes, and an attempt that failed as the endpoint went down) are not
  // counted against it: an event waits out an outage until max_age, whatever its budget.
  std::uint32_t max_attempts = 8;
  std::chrono::milliseconds base_delay{250};    // first backoff ceiling
  std::chrono::milliseconds max_delay{30'000};  // cap on any one backoff
  std::chrono::milliseconds max_age{600'000};   // an event older than this expires
};

// How an event ended. Exactly one per event.
enum class outcome {
  delivered,   // a 2xx (or 3xx other than a followed redirect) response
  failed,      // a final status (non-retryable 4xx, refused redirect) or attempts exhausted
  expired,     // older than retry_policy::max_age before it could be delivered
  dropped,     // queue full (drop_new, drop_oldest, block timeout) or left at shutdown
  suppressed,  // tracking mode off: never built, queued or sent (reported from track())
};

constexpr const char* outcome_name(outcome o) noexcept {
  switch (o) {
    case outcome::delivered:
      return "delivered";
    case outcome::failed:
      return "failed";
    case outcome::expired:
      return "expired";
    case outcome::dropped:
      return "dropped";
    case outcome::suppressed:
      return "suppressed";
  }
  return "unknown";
}

// Why an attempt got no HTTP response. `none` means the transfer completed, whatever its
// HTTP status. Which of these are retried is the delivery policy's business (see docs).
enum class transport_error {
  none = 0,     // a response was received (look at http_status)
  dns,          // the host (or the proxy) could not be resolved
  connect,      // the connection was refused or could not be made
  tls,          // the TLS handshake failed or was cut short
  certificate,  // the peer's certificate did not verify (final: repeating cannot help)
  timeout,      // connect_timeout or request_timeout passed
  reset,        // the server closed the connection without a response
  send,         // sending the request failed
  receive,      // receiving the response failed or it ended short
  protocol,     // the server broke HTTP (or HTTP/2) framing
  other,        // anything else (a local failure, an unsupported option): final
};

constexpr const char* transport_error_name(transport_error e) noexcept {
  switch (e) {
    case transport_error::none:
      return "none";
    case transport_error::dns:
      return "dns";
    case transport_error::connect:
      return "connect";
    case transport_error::tls:
      return "tls";
    case transport_error::certificate:
      return "certificate";
    case transport_error::timeout:
      return "timeout";
    case transport_error::reset:
      return "reset";
    case transport_error::send:
      return "send";
    case transport_error::receive:
      return "receive";
    case transport_error::protocol:
      return "protocol";
    case transport_error::other:
      return "other";
  }
  return "unknown";
}

// Passed to tracker_options::on_result. The views are valid during the call only.
struct event_result {
  std::string_view event_id;
  pixel::outcome outcome = outcome::dropped;
  std::uint32_t attempts = 0;  // requests sent for this event, outage probes included (it
                               // can pass retry_policy::max_attempts after an outage)
  long http_status = 0;        // last HTTP status, 0 when no response was received
  // Why the last attempt got no response; none when it got one (or none was made).
  pixel::transport_error transport_error = pixel::transport_error::none;
  std::string_view message;  // human-readable reason for anything but delivered
};

// Counters. queued and in_flight are current counts (zero once every event has an
// outcome); the others are running totals. Every valid event given to track(), a
// queue-full refusal included, is counted exactly once in
// queued + in_flight + delivered + failed + expired + dropped + suppressed + sampled_out.
struct tracker_stats {
  std::uint64_t queued = 0;
  std::uint64_t in_flight = 0;
  std::uint64_t delivered = 0;
  std::uint64_t retried = 0;  // attempts after each event's first (probes included), all
                              // events together: the sum of event_result::attempts - 1
  std::uint64_t failed = 0;
  std::uint64_t expired = 0;
  std::uint64_t dropped = 0;
  std::uint64_t concurrency_limit = 0;   // transfers in flight allowed now
  std::uint64_t receipts_unwritten = 0;  // receipts a write failed for (receipts_path)
  std::uint64_t sampled_out = 0;         // left out by sample_rate: never sent, not lost
  std::uint64_t suppressed = 0;          // tracking mode off: never sent (outcome::suppressed)
  std::uint64_t mode_lowered = 0;        // events sent (or suppressed) under a more restrictive
                                         // mode than they asked for: the ceiling, or gpc
  // The endpoint's health: when the current outage began (Unix ms; 0 while the endpoint is
  // taken as up), and the last failed attempt's reason, e.g. "connect (Failed to connect to
  // 127.0.0.1 port 1 after 0 ms: Couldn't connect to server)" or "HTTP 503" ("" before
  // the first failure; kept after the endpoint comes back).
  std::uint64_t endpoint_down_since = 0;
  std::string last_failure;
};

// Per-event choices for tracker::track (all optional).
struct event_options {
  // This event's User-Agent header (CloudFront logs it as cs-user-agent), for servers that
  // forward their end user's agent; unset: tracker_options::user_agent.
  std::optional<std::string_view> user_agent;
  // The tracking mode this event's person consented to; unset: the tracker's ceiling
  // (tracker_options::tracking_mode). A mode above the ceiling is lowered to it (counted in
  // tracker_stats::mode_lowered), never refused.
  std::optional<pixel::tracking_mode> mode;
  // The producer saw `Sec-GPC: 1` (Global Privacy Control) on the request it is handling:
  // the event goes out at most under tracker_options::gpc_mode.
  bool gpc = false;
};

struct tracker_options {
  std::string endpoint;     // https://host[:port][/path]; see pixel::endpoint
  bool allow_http = false;  // http:// to non-loopback hosts
  url_options url;          // eid/ts names and switches, URL length limit

  std::size_t queue_capacity = 10'000;  // events waiting or in flight, at most
  overflow_policy overflow = overflow_policy::drop_new;
  std::chrono::milliseconds block_timeout{100};  // for overflow_policy::block

  // Transfers in flight adapt between min_in_flight and max_in_flight (at most 1,024):
  // more while events wait and the endpoint's latency stays flat, fewer when it rises or
  // the endpoint answers 429 or 503 or times out. Equal values fix the number; a
  // max_in_flight below min_in_flight is the number.
  std::size_t min_in_flight = 16;
  std::size_t max_in_flight = 1024;
  // Threads that run transfers, each with its own libcurl multi handle and an equal share
  // of the in-flight limit (1 to 64, at most max_in_flight). One is enough until its core
  // is the limit (libcurl, TLS and the kernel cost some 30 to 110 us of CPU per event over
  // HTTPS, depending on the machine); more spread that work over cores. Events are handed
  // to them without a lock shared between threads.
  std::size_t worker_threads = 1;
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds request_timeout{10'000};  // whole transfer
  retry_policy retry;
  std::chrono::milliseconds retry_after_cap{60'000};  // longest Retry-After honoured

  // After this many consecutive connection failures, timeouts or 5xx the endpoint is
  // taken as down: events wait without spending retry.max_attempts (they still expire at
  // max_age), and the oldest goes out as a probe every probe_interval until one gets a
  // non-5xx answer, which releases them all. The outage is said as it starts and ends
  // (on_log, stats().endpoint_down_since and last_failure). Failures waiting cannot cure
  // (a certificate that does not verify, an https:// endpoint answering plain HTTP) are
  // final at once and never start one.
  std::uint32_t outage_threshold = 5;
  std::chrono::milliseconds probe_interval{500};

  // Pacing: at most this many requests start per second (bursts of a tenth of that), so a
  // burst waits in the queue instead of overrunning the sink: CloudFront's real-time logs
  // lose records a throttled Kinesis stream cannot take (1,000 records/s per shard) while
  // the viewer still gets its 200. 0: unpaced. See docs/capacity.md.
  double max_rate = 0;

  // Deterministic sampling (pixel/sampling.hpp): with sample_rate below 1, an event whose
  // sample_key parameter is present is kept when sample_keeps(sample_rate, sample_salt,
  // value) says so; kept events carry `sr=<rate>` (shortest decimal) so readers can weight
  // them; events without the key are kept (without sr). An event sampled out is never
  // built or queued: track() returns its id, stats().sampled_out counts it, and it is not
  // reported to on_result (it is not lost).
  double sample_rate = 1.0;  // in (0, 1]
  std::string sample_key = "userid";
  std::string sample_salt;  // bytes

  // Tracking that follows consent (docs/privacy.md). An event goes out under the most
  // restrictive of the mode it asks for (event_options::mode; unset: this ceiling), this
  // ceiling, and gpc_mode when event_options::gpc is set; lowering is counted in
  // stats().mode_lowered, never refused. The mode applies to the parameters before
  // anything else looks at them (sampling, the URL, its signature), so what is sampled,
  // signed, spooled and sent is what the mode lets out:
  //  - identified:   the parameters as given (the default: nothing changes);
  //  - pseudonymous: each identity parameter's value replaced by pseudonym(pseudonym_key,
  //                  value); an event that needs it without a key is errc::invalid_argument;
  //  - aggregate:    identity parameters removed (an event whose sample_key was one of them
  //                  has no sample key any more: it is kept, without sr);
  //  - off:          nothing is built, queued or sent: track() returns the event's id,
  //                  stats().suppressed counts it and on_result is called once, from
  //                  track(), with outcome::suppressed. No receipt is written.
  pixel::tracking_mode tracking_mode = pixel::tracking_mode::identified;
  pixel::tracking_mode gpc_mode = pixel::tracking_mode::aggregate;       // the most under gpc
  std::vector<std::string> identity_params = default_identity_params();  // exact keys
  std::string pseudonym_key;  // bytes, at least 16 when set (the message never shows it)

  std::string user_agent = "pixel-cpp/" PIXEL_VERSION_STRING;
  std::string ca_file;  // PEM bundle; empty: the system's
  std::string proxy;    // proxy URL (http://host:port, socks5://host:port); empty: none
                        // (the environment's http_proxy and friends are ignored)

  std::chrono::milliseconds shutdown_timeout{2'000};  // used by the destructor

  // Durable delivery: with spool_dir set (created if missing), events also wait in a SQLite
  // spool there until each has an outcome, and events found there from an earlier run are
  // delivered too, counted as tracked before any later flush(). One tracker per directory
  // at a time (errc::spool_locked). Events left at shutdown stay for the next run.
  std::string spool_dir;
  pixel::durability durability = durability::memory;  // batched or sync with a spool_dir
  std::uint64_t spool_max_bytes = 0;  // URL and User-Agent bytes waiting, at most; 0: no bound
  std::chrono::milliseconds spool_commit_interval{10};  // batched: a commit at least this often
  std::size_t spool_commit_batch = 1'000;  // batched: staged events that start a commit at once
  bool spool_recreate_if_corrupt = false;  // move a corrupt spool aside (its events are lost)

  // Receipts: with receipts_path set, one JSON line per event is appended to that file when
  // the event has its outcome (docs/tracker.md, "Receipts"; `pixel reconcile` reads them):
  //   {"eid":"...","outcome":"delivered","status":200,"attempts":1,"at":1795746757.547}
  // Written by the worker in batches, never by track(); under durability::sync a receipt
  // is on disk before its event leaves the spool. Past receipts_max_bytes the file is
  // renamed to the first free PATH.1, PATH.2, ... and a new one started (0: never).
  std::string receipts_path;
  std::uint64_t receipts_max_bytes = 64ULL << 20;

  // Called once per event with its outcome: on the worker thread, or for queue-full drops
  // and events suppressed by tracking mode off on the thread calling track() (after its
  // locks are released). Must not throw; keep it
  // short. It may call track() but not flush() or shutdown().
  std::function<void(const event_result&)> on_result;

  // Called on the worker thread with one line of text when the endpoint is taken as down
  // ("endpoint unreachable: <the last failure>; ...") and when it is back ("endpoint
  // reachable again after N ms"). Must not throw; same rules as on_result.
  std::function<void(std::string_view)> on_log;
};

// Delivers pixel events in the background: a bounded event store, one worker thread that
// drives an HTTP transport (with worker_threads > 1, over that many transfer threads of
// its own), retry with backoff and full jitter, outage detection.
// track(), stats() and flush() are safe from any number of threads.
class PIXEL_CXX_API tracker {
 public:
  // Validates the options (endpoint, non-zero capacities and timeouts, the pseudonym key,
  // which a pseudonymous ceiling or gpc_mode needs) and starts the worker thread.
  static result<tracker> create(tracker_options options);

  tracker(tracker&&) noexcept;
  tracker& operator=(tracker&&) noexcept;
  tracker(const tracker&) = delete;
  tracker& operator=(const tracker&) = delete;
  // shutdown(options.shutdown_timeout).
  ~tracker();

  // Validates and builds the URL (adding eid and ts), enqueues it, and returns at once
  // with the event id. Never waits for the network (overflow_policy::block waits for room,
  // up to block_timeout). Errors: invalid_utf8, empty_key, invalid_argument,
  // url_too_long, queue_full, shut_down.
  result<event_id> track(params_view params);
  // The same, sending `user_agent` as this event's User-Agent header (CloudFront logs it as
  // cs-user-agent), for servers that forward their end user's agent.
  result<event_id> track(params_view params, std::string_view user_agent);
  // The same with per-event options: the User-Agent, the tracking mode, GPC (see
  // event_options and tracker_options::tracking_mode). An event whose mode is off returns
  // its id without being built. Errors as above; invalid_argument also for a pseudonymous
  // event when no pseudonym_key is configured (nothing is queued).
  result<event_id> track(params_view params, const event_options& options);

  // Waits until every event tracked before the call has an outcome (true), or the
  // timeout passes (false).
  bool flush(std::chrono::milliseconds timeout);

  // Stops accepting events, flushes up to `timeout`, then aborts transfers in flight and
  // counts every event left as dropped. Returns by the deadline whatever the network does.
  // Idempotent. True when nothing had to be dropped.
  bool shutdown(std::chrono::milliseconds timeout);

  tracker_stats stats() const noexcept;

  const tracker_options& options() const noexcept;

  class impl;

 private:
  friend struct detail::tracker_access;
  explicit tracker(std::unique_ptr<impl> p) noexcept;
  std::unique_ptr<impl> impl_;
};

}  // namespace pixel

#endif  // PIXEL_TRACKER_HPP
