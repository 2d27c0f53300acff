/* pixel: the C API (libpixel.so). C99 and C++; every function is exception-free.
 * SPDX-License-Identifier: MIT
 *
 *   pixel_options *opts = pixel_options_new();
 *   pixel_options_set_endpoint(opts, "https://d111111abcdef8.cloudfront.net");
 *   pixel_tracker *t = NULL;
 *   pixel_status st = pixel_tracker_new(opts, &t);
 *   pixel_options_free(opts);                      (the tracker copied what it needs)
 *   if (st != PIXEL_OK) { fprintf(stderr, "%s\n", pixel_last_error()); return 1; }
 *   pixel_param p[] = {{"userid", "aws_user"}, {"thirdpartyname", "example.com"}};
 *   pixel_track(t, p, 2);                          (never waits for the network)
 *   pixel_tracker_free(t);                         (shuts down, flushing up to 2 s)
 *
 * Conventions, for every function below:
 * - Strings are NUL-terminated UTF-8, borrowed for the duration of the call only.
 * - NULL where a pointer is required gives PIXEL_ERR_INVALID_ARGUMENT; nothing aborts.
 * - A failing call leaves a message for the calling thread in pixel_last_error().
 * - Output strings go into the caller's buffer, snprintf-style (see pixel_url_build).
 * - Structs that may grow (pixel_stats, pixel_event, pixel_event_result) begin with
 *   `size_t size`, the struct's size as the side that allocated it knows it. New fields are
 *   only ever appended; the library reads and writes only the fields inside `size`, so a
 *   program built against an older pixel.h keeps working with a newer libpixel.so.1 (and a
 *   newer program with an older one, which leaves the fields it does not know untouched).
 *   Compile-time version: PIXEL_VERSION_NUM (MAJOR * 10000 + MINOR * 100 + PATCH);
 *   run-time: pixel_version().
 */
#ifndef PIXEL_PIXEL_H
#define PIXEL_PIXEL_H

#include <stddef.h>
#include <stdint.h>

#include "pixel/version.h" /* PIXEL_VERSION_MAJOR, _MINOR, _PATCH, _NUM, _STRING */

/* Linux, and POSIX systems with the portable poller (README, "Platforms"); not Windows. */
#if defined(__GNUC__) || defined(__clang__)
#define PIXEL_API __attribute__((visibility("default")))
#else
#define PIXEL_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pixel_status {
  PIXEL_OK = 0,
  PIXEL_ERR_INVALID_ARGUMENT, /* NULL where a pointer is required, a bad option value */
  PIXEL_ERR_INVALID_ENDPOINT,
  PIXEL_ERR_INVALID_UTF8,
  PIXEL_ERR_EMPTY_KEY,
  PIXEL_ERR_URL_TOO_LONG,
  PIXEL_ERR_BUFFER_TOO_SMALL,
  PIXEL_ERR_QUEUE_FULL,
  PIXEL_ERR_SHUT_DOWN,
  PIXEL_ERR_TIMEOUT,
  PIXEL_ERR_INTERNAL,
  PIXEL_ERR_SPOOL /* the spool is in use by another tracker, unwritable, full or corrupt */
} pixel_status;

typedef struct pixel_param {
  const char* key;
  const char* value;
} pixel_param; /* NUL-terminated UTF-8 */
enum { PIXEL_URL_EVENT_ID = 1u, PIXEL_URL_TIMESTAMP = 2u };
typedef enum pixel_img_style { PIXEL_IMG_EMAIL = 0, PIXEL_IMG_PAGE = 1 } pixel_img_style;
/* Filled by pixel_tracker_stats. The caller sets `size` (PIXEL_STATS_INIT does); fields
   are appended in later versions, never moved. */
typedef struct pixel_stats {
  size_t size; /* sizeof(pixel_stats), set by the caller */
  /* retried: requests after each event's first, outage probes included (a total) */
  uint64_t queued, in_flight, delivered, retried, failed, expired, dropped;
  uint64_t concurrency_limit;  /* transfers in flight allowed now (the adaptive limit) */
  uint64_t suppressed;         /* events under PIXEL_TRACKING_OFF: never sent (a total) */
  uint64_t mode_lowered;       /* events lowered by the tracking-mode ceiling or GPC (a total) */
  uint64_t sampled_out;        /* left out by the sample rate: never sent, not lost (a total) */
  uint64_t receipts_unwritten; /* receipts a write failed for (a total) */
  /* The endpoint's health: when the current outage began (Unix ms; 0 while the endpoint is
     taken as up), and the last failed attempt's reason, NUL-terminated (truncated to fit;
     "" before the first failure). */
  uint64_t endpoint_down_since_ms;
  char last_failure[256];
} pixel_stats;
#define PIXEL_STATS_INIT \
  { sizeof(pixel_stats), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, "" }
typedef struct pixel_options pixel_options;
typedef struct pixel_tracker pixel_tracker;

/* What pixel_track does when the queue is at capacity. */
typedef enum pixel_overflow_policy {
  PIXEL_OVERFLOW_DROP_NEW = 0,    /* refuse the new event: PIXEL_ERR_QUEUE_FULL (default) */
  PIXEL_OVERFLOW_DROP_OLDEST = 1, /* evict the oldest queued event (reported as dropped) */
  PIXEL_OVERFLOW_BLOCK = 2        /* wait up to the block timeout for room, then as DROP_NEW */
} pixel_overflow_policy;

/* How one event ended; exactly one per event. */
typedef enum pixel_outcome {
  PIXEL_OUTCOME_DELIVERED = 0, /* a 2xx response */
  PIXEL_OUTCOME_FAILED = 1,    /* a final status, or attempts exhausted */
  PIXEL_OUTCOME_EXPIRED = 2,   /* older than the maximum age before it could be delivered */
  PIXEL_OUTCOME_DROPPED = 3,   /* queue full, or still queued at shutdown */
  PIXEL_OUTCOME_SUPPRESSED = 4 /* tracking mode off: never built, queued or sent; reported
                                  from pixel_track_event, on the calling thread */
} pixel_outcome;

/* Tracking modes (docs/privacy.md), from most to least restrictive: OFF sends nothing;
   AGGREGATE removes the identity parameters; PSEUDONYMOUS replaces each identity
   parameter's value with base64url (no padding) of the first 16 bytes of
   HMAC-SHA256(pseudonym key, value); IDENTIFIED sends the parameters as given.
   0 is PIXEL_TRACKING_DEFAULT, not OFF, so that a zeroed pixel_event (or one from a program
   built before the field existed) asks for nothing: in a pixel_event it means "no request"
   (the tracker's ceiling applies, and the event is not counted as lowered); given to
   pixel_options_set_tracking_mode or pixel_options_set_gpc_mode it restores that option's
   default (IDENTIFIED and AGGREGATE). */
typedef enum pixel_tracking_mode {
  PIXEL_TRACKING_DEFAULT = 0,
  PIXEL_TRACKING_OFF = 1,
  PIXEL_TRACKING_AGGREGATE = 2,
  PIXEL_TRACKING_PSEUDONYMOUS = 3,
  PIXEL_TRACKING_IDENTIFIED = 4
} pixel_tracking_mode;

/* Why an attempt got no HTTP response. 0 means the transfer completed, whatever its HTTP
   status. DNS, CONNECT, TLS, TIMEOUT, RESET, SEND, RECEIVE and PROTOCOL are retried;
   CERTIFICATE and OTHER are final. */
typedef enum pixel_transport_error {
  PIXEL_TRANSPORT_OK = 0,          /* a response was received (see http_status) */
  PIXEL_TRANSPORT_DNS = 1,         /* the host or proxy could not be resolved */
  PIXEL_TRANSPORT_CONNECT = 2,     /* the connection was refused or could not be made */
  PIXEL_TRANSPORT_TLS = 3,         /* the TLS handshake failed or was cut short */
  PIXEL_TRANSPORT_CERTIFICATE = 4, /* the peer's certificate did not verify */
  PIXEL_TRANSPORT_TIMEOUT = 5,     /* the connect or request timeout passed */
  PIXEL_TRANSPORT_RESET = 6,       /* the server closed the connection without a response */
  PIXEL_TRANSPORT_SEND = 7,        /* sending the request failed */
  PIXEL_TRANSPORT_RECEIVE = 8,     /* receiving the response failed or it ended short */
  PIXEL_TRANSPORT_PROTOCOL = 9,    /* the server broke HTTP (or HTTP/2) framing */
  PIXEL_TRANSPORT_OTHER = 10       /* anything else (a local failure) */
} pixel_transport_error;

/* Passed to a pixel_result_callback. The strings are valid during the call only. `size` is
   the library's sizeof(pixel_event_result): read a field appended in a later version only
   when `size` covers it (offsetof(pixel_event_result, field) + sizeof(field) <= size). */
typedef struct pixel_event_result {
  size_t size;          /* set by the library */
  const char* event_id; /* 26 characters, NUL-terminated */
  pixel_outcome outcome;
  uint32_t attempts;                     /* requests sent for this event, outage probes
                                            included (above max attempts after an outage) */
  long http_status;                      /* last HTTP status, 0 when no response was received */
  pixel_transport_error transport_error; /* why the last attempt got no response; 0 if it did */
  const char* message;                   /* reason for anything but delivered; "" when delivered */
} pixel_event_result;

#define PIXEL_EVENT_ID_SIZE 27 /* 26 characters and the NUL */

/* One event for pixel_track_event. The caller sets `size` (PIXEL_EVENT_INIT does); a field
   beyond it takes its default. */
typedef struct pixel_event {
  size_t size;               /* sizeof(pixel_event), set by the caller */
  const pixel_param* params; /* may be NULL when count is 0 */
  size_t count;
  const char* user_agent; /* NULL: the tracker's User-Agent */
  /* The mode this event's person consented to (PIXEL_TRACKING_DEFAULT: none asked, the
     tracker's ceiling). The event goes out under the most restrictive of this, the ceiling
     (pixel_options_set_tracking_mode) and, when gpc is non-zero, the GPC mode
     (pixel_options_set_gpc_mode); asking for more is lowered, not refused, and counted in
     pixel_stats.mode_lowered. */
  pixel_tracking_mode tracking_mode;
  int gpc; /* non-zero: the producer saw `Sec-GPC: 1` (Global Privacy Control) */
} pixel_event;
#define PIXEL_EVENT_INIT \
  { sizeof(pixel_event), NULL, 0, NULL, PIXEL_TRACKING_DEFAULT, 0 }

/* Called once per event with its outcome, on the tracker's worker thread (or, for
   queue-full drops and events suppressed by PIXEL_TRACKING_OFF, on the thread calling
   pixel_track). Keep it short; it may call
   pixel_track and pixel_tracker_stats but not flush, shutdown or free. */
typedef void (*pixel_result_callback)(const pixel_event_result* result, void* user);

/* Called with one line of text, NUL-terminated, when the endpoint is taken as down
   ("endpoint unreachable: <the last failure>; events wait (one probe every N ms, until
   retry.max_age)") and when it is back ("endpoint reachable again after N ms"), on the
   tracker's worker thread. The string is valid during the call only. Keep it short; it may
   call pixel_track and pixel_tracker_stats but not flush, shutdown or free. */
typedef void (*pixel_log_callback)(const char* message, void* user);

/* ---- Library ---------------------------------------------------------------------- */

/* The library's version, "MAJOR.MINOR.PATCH". Static text, never NULL; thread-safe. */
PIXEL_API const char* pixel_version(void);
PIXEL_API const char* pixel_status_str(pixel_status status); /* static text, never NULL */
/* "none", "dns", "connect", "tls", "certificate", "timeout", "reset", "send", "receive",
   "protocol", "other"; "unknown" for any other value. Static text, never NULL. */
PIXEL_API const char* pixel_transport_error_str(pixel_transport_error error);

/* The message of the last call that failed on the calling thread (naming the offending
   key, option or part), or "" if none has. Thread-local: valid until the next pixel_*
   call on this thread. Never NULL. */
PIXEL_API const char* pixel_last_error(void);

/* ---- URLs and HTML (stateless; thread-safe) -------------------------------------- */

/* Builds the pixel URL for `endpoint` (https://host[:port][/path]; http:// only for
   loopback hosts) with `count` parameters in order, plus an event id and/or a timestamp
   as `flags` says (PIXEL_URL_EVENT_ID | PIXEL_URL_TIMESTAMP; 0 for neither). `params`
   may be NULL when count is 0. Errors: INVALID_ARGUMENT (NULL, unknown flag bits, a key
   reserved for eid/ts), INVALID_ENDPOINT, INVALID_UTF8, EMPTY_KEY, URL_TOO_LONG (over
   8,192 bytes), BUFFER_TOO_SMALL.
   Caller's buffer, snprintf-style: *out_len gets the length without the NUL; on
   PIXEL_ERR_BUFFER_TOO_SMALL it gets the length needed. buf may be NULL when buf_size is 0.
   out_len may be NULL. On any error, buf (when buf_size > 0) holds "". */
PIXEL_API pixel_status pixel_url_build(const char* endpoint, const pixel_param* params,
                                       size_t count, unsigned flags, char* buf, size_t buf_size,
                                       size_t* out_len);

/* The <img> tag for `url` (http or https) in the given style, attribute-escaped. Buffer
   rules as pixel_url_build. Errors: INVALID_ARGUMENT (NULL, bad URL, unknown style),
   INVALID_UTF8, BUFFER_TOO_SMALL. */
PIXEL_API pixel_status pixel_img_tag(const char* url, pixel_img_style style, char* buf,
                                     size_t buf_size, size_t* out_len);

/* ---- Tracker options --------------------------------------------------------------
   A pixel_options is a plain value owned by the caller: create, set, hand to
   pixel_tracker_new (which copies it), free. Not thread-safe: one thread at a time per
   object. Setters check only what C cannot (NULL, enum values and flag bits, strings that
   are not UTF-8) and leave the option unchanged on error; the values themselves (ranges,
   endpoint rules, control bytes) are checked once, by pixel_tracker_new, which names the
   offending option in pixel_last_error(). */

/* A new set of defaults (no endpoint yet), or NULL when out of memory. Free it with
   pixel_options_free. */
PIXEL_API pixel_options* pixel_options_new(void);
PIXEL_API void pixel_options_free(pixel_options* options); /* NULL allowed */

/* The pixel location, https://host[:port][/path] (http:// only with allow_http, or for
   loopback hosts). Checked by pixel_tracker_new (INVALID_ENDPOINT). Copied. */
PIXEL_API pixel_status pixel_options_set_endpoint(pixel_options* options, const char* url);
/* Events queued or in flight at most (default 10,000; at least 1). */
PIXEL_API pixel_status pixel_options_set_queue_capacity(pixel_options* options, size_t capacity);
/* What pixel_track does on a full queue (default DROP_NEW), and how long BLOCK waits for
   room, in ms (default 100; 0: do not wait). */
PIXEL_API pixel_status pixel_options_set_overflow_policy(pixel_options* options,
                                                         pixel_overflow_policy policy);
PIXEL_API pixel_status pixel_options_set_block_timeout_ms(pixel_options* options, uint32_t ms);
/* Non-zero: allow http:// to hosts other than loopback (default 0). */
PIXEL_API pixel_status pixel_options_set_allow_http(pixel_options* options, int allow);
/* Transfers in flight adapt between min and max: more while events wait and latency stays
   flat, fewer when it rises or on 429/503/timeouts (defaults 16 and 1,024; max 1 to
   1,024; a max below min is the number). */
PIXEL_API pixel_status pixel_options_set_max_in_flight(pixel_options* options, size_t count);
PIXEL_API pixel_status pixel_options_set_min_in_flight(pixel_options* options, size_t count);
/* Threads that run transfers, each with its own connections and an equal share of the
   in-flight limit (default 1; 1 to 64, at most max_in_flight). More than one helps only
   when one core is not enough for libcurl's work. */
PIXEL_API pixel_status pixel_options_set_worker_threads(pixel_options* options, size_t count);
/* Connection and whole-request timeouts in ms (defaults 5,000 and 10,000; at least 1). */
PIXEL_API pixel_status pixel_options_set_connect_timeout_ms(pixel_options* options, uint32_t ms);
PIXEL_API pixel_status pixel_options_set_request_timeout_ms(pixel_options* options, uint32_t ms);
/* Attempts per event, the first included, made while the endpoint is up (default 8; at
   least 1): attempts during an outage (its probes) are not counted against it. */
PIXEL_API pixel_status pixel_options_set_max_attempts(pixel_options* options, uint32_t attempts);
/* An event older than this (ms) expires instead of being retried (default 600,000; at
   least 1). */
PIXEL_API pixel_status pixel_options_set_max_age_ms(pixel_options* options, uint32_t ms);
/* How long pixel_tracker_free waits for delivery before dropping (default 2,000 ms). */
PIXEL_API pixel_status pixel_options_set_shutdown_timeout_ms(pixel_options* options, uint32_t ms);
/* The User-Agent header (logged by CloudFront as cs-user-agent); must be UTF-8 without
   control bytes. Default "pixel-cpp/VERSION". Copied. */
PIXEL_API pixel_status pixel_options_set_user_agent(pixel_options* options, const char* user_agent);
/* A proxy for every transfer, "http://host:port" (also https://, socks5://, socks5h://);
   "" for none (the default; http_proxy and the like in the environment are ignored).
   Copied. */
PIXEL_API pixel_status pixel_options_set_proxy(pixel_options* options, const char* proxy);
/* Retry backoff: the n-th retry waits a uniformly random time up to
   min(base * 2^(n-1), max) ms (defaults 250 and 30,000; 0 for no wait). */
PIXEL_API pixel_status pixel_options_set_backoff_base_ms(pixel_options* options, uint32_t ms);
PIXEL_API pixel_status pixel_options_set_backoff_max_ms(pixel_options* options, uint32_t ms);
/* The longest Retry-After (429, 503) honoured, in ms (default 60,000; 0 ignores it). */
PIXEL_API pixel_status pixel_options_set_retry_after_cap_ms(pixel_options* options, uint32_t ms);
/* After this many consecutive connection failures, timeouts or 5xx the endpoint is taken as
   down (default 5; 0: never): events wait without spending max attempts while one probe
   goes out every probe interval (ms, default 500; at least 1) until one gets a non-5xx
   answer. A probe is an attempt (counted in the result's attempts and in retried). The
   outage shows in pixel_stats (endpoint_down_since_ms, last_failure). A certificate that
   does not verify, or an https:// endpoint answering plain HTTP, fails at once instead. */
PIXEL_API pixel_status pixel_options_set_outage_threshold(pixel_options* options,
                                                          uint32_t failures);
PIXEL_API pixel_status pixel_options_set_probe_interval_ms(pixel_options* options, uint32_t ms);
/* A PEM CA bundle to verify the endpoint with, instead of the system's; "" for the system's.
   Peer and host verification stay on. Copied; the file is read by pixel_tracker_new. */
PIXEL_API pixel_status pixel_options_set_ca_file(pixel_options* options, const char* path);
/* Which of the event id and timestamp each tracked URL carries: PIXEL_URL_EVENT_ID |
   PIXEL_URL_TIMESTAMP (the default). Unknown bits are INVALID_ARGUMENT. */
PIXEL_API pixel_status pixel_options_set_url_flags(pixel_options* options, unsigned flags);
/* The per-event outcome callback (see pixel_result_callback); NULL for none. `user` is
   passed through untouched: the caller keeps it alive until pixel_tracker_free returns. */
PIXEL_API pixel_status pixel_options_set_result_callback(pixel_options* options,
                                                         pixel_result_callback callback,
                                                         void* user);
/* The outage notice callback (see pixel_log_callback); NULL for none (the default: the
   lines are not said anywhere, while pixel_stats still shows the outage). `user` is passed
   through untouched: the caller keeps it alive until pixel_tracker_free returns. */
PIXEL_API pixel_status pixel_options_set_log_callback(pixel_options* options,
                                                      pixel_log_callback callback, void* user);

/* ---- Durable delivery (docs/tracker.md) --------------------------------------------- */

typedef enum pixel_durability {
  PIXEL_DURABILITY_MEMORY = 0,  /* in memory only: a crash loses what is queued (default) */
  PIXEL_DURABILITY_BATCHED = 1, /* also in the spool, committed at most 10 ms after tracking */
  PIXEL_DURABILITY_SYNC = 2     /* PIXEL_OK from pixel_track means "on disk" (fsync) */
} pixel_durability;
/* Keep events in a spool in `dir` (created if missing) until each has an outcome; events
   found there from an earlier run are delivered too. Copied; opened by pixel_tracker_new,
   which fails with PIXEL_ERR_SPOOL (the reason in pixel_last_error()) when the spool is in
   use by another tracker, unwritable or corrupt. "" for none (the default). Needs
   PIXEL_DURABILITY_BATCHED or PIXEL_DURABILITY_SYNC. */
PIXEL_API pixel_status pixel_options_set_spool_dir(pixel_options* options, const char* dir);
/* Where events wait (default PIXEL_DURABILITY_MEMORY); BATCHED and SYNC need a spool_dir.
   With SYNC, concurrent pixel_track calls share one fsync. Unknown values are
   INVALID_ARGUMENT. */
PIXEL_API pixel_status pixel_options_set_durability(pixel_options* options, pixel_durability level);
/* Bounds of the spool (0: no bound for that measure; events also bounded by queue capacity).
   Bytes: the URLs and User-Agents of the events waiting; beyond it the overflow policy
   applies. Ages: max_age (pixel_options_set_max_age_ms) holds across restarts. */
PIXEL_API pixel_status pixel_options_set_spool_max_bytes(pixel_options* options, uint64_t bytes);

/* ---- The sink's capacity (docs/capacity.md) ----------------------------------------- */
/* Append one JSON line per event, when it has its outcome, to the file at `path` (created
   if missing; copied; "" for none, the default):
     {"eid":"...","outcome":"delivered","status":200,"attempts":1,"at":1795746757.547}
   `pixel reconcile` matches them with the log records. Written by the worker in batches;
   under PIXEL_DURABILITY_SYNC a receipt is on disk before its event leaves the spool.
   pixel_tracker_new fails (INVALID_ARGUMENT) when the file cannot be opened. */
PIXEL_API pixel_status pixel_options_set_receipts_path(pixel_options* options, const char* path);
/* Start at most `per_second` requests per second (bursts of a tenth of that), so bursts wait
   in the queue instead of overrunning the log stream (1,000 records/s per Kinesis shard).
   0 (the default): unpaced. Negative, NaN or infinite: INVALID_ARGUMENT from
   pixel_tracker_new. */
PIXEL_API pixel_status pixel_options_set_max_rate(pixel_options* options, double per_second);
/* Deterministic sampling: an event whose sample-key parameter (default "userid") is present
   is kept when pixel_sample_keeps(rate, salt, value) says so, and then carries sr=<rate>;
   an event sampled out is not sent, not reported, and counted in stats (sampled_out).
   Events without the key are kept. rate in (0, 1]; default 1 (no sampling). */
PIXEL_API pixel_status pixel_options_set_sample_rate(pixel_options* options, double rate);
PIXEL_API pixel_status pixel_options_set_sample_key(pixel_options* options, const char* key);
/* `len` bytes at `salt` (NULL allowed when len is 0); copied. Default: no salt. */
PIXEL_API pixel_status pixel_options_set_sample_salt(pixel_options* options, const void* salt,
                                                     size_t len);
/* The sampling decision on its own: *keep is 1 when the first 8 bytes of
   SHA-256(salt || value), big-endian, are below rate x 2^64, else 0. */
PIXEL_API pixel_status pixel_sample_keeps(double rate, const void* salt, size_t salt_len,
                                          const char* value, size_t value_len, int* keep);

/* ---- Tracking that follows consent (docs/privacy.md, docs/tracker.md) --------------- */
/* The ceiling on every event's mode (default IDENTIFIED: events go out as given). An event
   under OFF is never built, queued or sent: pixel_track_event returns PIXEL_OK and its id,
   pixel_stats.suppressed counts it, and the result callback is called once, before
   pixel_track_event returns, with PIXEL_OUTCOME_SUPPRESSED (no receipt is written). The
   mode applies before sampling and signing: an AGGREGATE event whose sample key was an
   identity parameter is kept, without sr; a PSEUDONYMOUS one is sampled on its token.
   Unknown values are INVALID_ARGUMENT. */
PIXEL_API pixel_status pixel_options_set_tracking_mode(pixel_options* options,
                                                       pixel_tracking_mode mode);
/* The parameters (exact keys) that name a person: `count` NUL-terminated UTF-8 names,
   copied (default "userid", "email", "recipient"; count 0: none). `names` may be NULL
   when count is 0; a NULL name is INVALID_ARGUMENT, an empty one is refused by
   pixel_tracker_new. */
PIXEL_API pixel_status pixel_options_set_identity_params(pixel_options* options,
                                                         const char* const* names, size_t count);
/* The pseudonym key: `len` bytes at `key`, copied (at least 16, checked by
   pixel_tracker_new, whose message never shows the key); len 0 removes it. Needed when the
   ceiling or the GPC mode is PSEUDONYMOUS; without it a PSEUDONYMOUS event is refused
   with INVALID_ARGUMENT (nothing queued). */
PIXEL_API pixel_status pixel_options_set_pseudonym_key(pixel_options* options, const uint8_t* key,
                                                       size_t len);
/* The most an event with gpc set may carry (default AGGREGATE). */
PIXEL_API pixel_status pixel_options_set_gpc_mode(pixel_options* options, pixel_tracking_mode mode);

/* ---- Tracker ----------------------------------------------------------------------
   pixel_track, pixel_tracker_flush, pixel_tracker_stats and pixel_tracker_shutdown are
   safe to call from any number of threads at once. pixel_tracker_free must be the last
   call on a tracker, with no other call in progress. */

/* Validates the options and starts the worker thread. On success *out owns a new tracker
   (free it with pixel_tracker_free); on error *out is set to NULL. */
PIXEL_API pixel_status pixel_tracker_new(const pixel_options* options,
                                         pixel_tracker** out); /* copies options */
/* Validates, builds the URL (adding eid/ts), enqueues it and returns at once; never waits
   for the network. Errors: INVALID_ARGUMENT, INVALID_UTF8, EMPTY_KEY, URL_TOO_LONG,
   QUEUE_FULL, SHUT_DOWN. */
PIXEL_API pixel_status pixel_track(pixel_tracker* tracker, const pixel_param* params, size_t count);
/* As pixel_track, sending `user_agent` as this event's User-Agent (for servers that
   forward their end user's agent). */
PIXEL_API pixel_status pixel_track_with_user_agent(pixel_tracker* tracker,
                                                   const pixel_param* params, size_t count,
                                                   const char* user_agent);
/* As pixel_track; on PIXEL_OK writes the event id (the eid sent, and the one later passed
   to the result callback) into id_out, which may be NULL. On an error id_out holds "".
   Errors: as pixel_track, INVALID_UTF8 or INVALID_ARGUMENT for a bad user_agent,
   INVALID_ARGUMENT for an unknown tracking_mode or a PSEUDONYMOUS one without a pseudonym
   key, and INVALID_ARGUMENT when event->size is smaller than the first version of
   pixel_event (size, params, count). An event under PIXEL_TRACKING_OFF gives PIXEL_OK and
   its id without being sent (see pixel_options_set_tracking_mode). */
PIXEL_API pixel_status pixel_track_event(pixel_tracker* tracker, const pixel_event* event,
                                         char id_out[PIXEL_EVENT_ID_SIZE]);
/* Waits until every event tracked before the call has an outcome (OK) or the timeout
   passes (PIXEL_ERR_TIMEOUT). */
PIXEL_API pixel_status pixel_tracker_flush(pixel_tracker* tracker,
                                           uint32_t timeout_ms); /* OK or TIMEOUT */
/* A snapshot of the counters: queued and in_flight are current counts, the rest totals.
   Fills the fields that out->size covers and leaves the rest of the caller's struct
   alone. INVALID_ARGUMENT when out->size is smaller than size_t (not set). */
PIXEL_API pixel_status pixel_tracker_stats(const pixel_tracker* tracker, pixel_stats* out);
/* Stops accepting events, flushes up to timeout_ms, then drops what is left (counted and
   reported). Returns by its deadline. OK also when events had to be dropped (see
   stats); later calls return OK at once. */
PIXEL_API pixel_status pixel_tracker_shutdown(pixel_tracker* tracker,
                                              uint32_t timeout_ms); /* idempotent */
PIXEL_API void pixel_tracker_free(pixel_tracker* tracker); /* NULL allowed; shuts down first */

/* ---- Signed URLs (docs/signing.md) ------------------------------------------------
   kid, exp and sig are added after every other parameter: an HMAC-SHA256 under `key`
   (raw bytes, at least 16) over the sorted parameters, verified at the edge. `kid`: 1 to
   32 characters from A-Z a-z 0-9 _ -. A parameter named kid, exp or sig is then
   INVALID_ARGUMENT. Messages never contain the key. */

/* Signs every URL the tracker builds with `key` (copied), named `kid`; kid NULL turns
   signing off again. Errors: INVALID_ARGUMENT (bad kid, key NULL or shorter than 16). */
PIXEL_API pixel_status pixel_options_set_signing_key(pixel_options* options, const char* kid,
                                                     const uint8_t* key, size_t key_len);
/* How long a signed URL stays valid, in seconds from when it is built; 0 for the default
   (30 days, for mail opened weeks later). */
PIXEL_API pixel_status pixel_options_set_signature_ttl_s(pixel_options* options, uint32_t seconds);
/* pixel_url_build, signed with `key` named `kid`, valid `ttl_s` seconds (0: 30 days).
   Same buffer rules and errors, plus the signing ones above. */
PIXEL_API pixel_status pixel_url_build_signed(const char* endpoint, const pixel_param* params,
                                              size_t count, unsigned flags, const char* kid,
                                              const uint8_t* key, size_t key_len, uint32_t ttl_s,
                                              char* buf, size_t buf_size, size_t* out_len);

#ifdef __cplusplus
}
#endif

#endif /* PIXEL_PIXEL_H */
