// SPDX-License-Identifier: MIT
// Tracking-pixel URLs, <img> tags and background delivery over libpixel (the C API), via koffi.
//
//   const pixel = require('pixel');
//   const url = pixel.buildUrl('https://d111111abcdef8.cloudfront.net', {userid: 'aws_user'});
//   const t = new pixel.Tracker({endpoint: 'https://d111111abcdef8.cloudfront.net'});
//   t.track({userid: 'aws_user', thirdpartyname: 'example.com'});
//   await t.close(2000);
//
// The library is found through PIXEL_LIBRARY (a path to libpixel.so), else next to this
// file, else the system loader.
'use strict';

const fs = require('fs');
const path = require('path');
const koffi = require('koffi');

// libpixel.so.<ABI> (PIXEL_ABI_VERSION), tried first; test/abi.test.js checks it.
const LIBRARY_NAME = 'libpixel.so.1';

function loadLibrary() {
  const candidates = [];
  if (process.env.PIXEL_LIBRARY) {
    candidates.push(process.env.PIXEL_LIBRARY);  // an explicit choice: no fallback
  } else {
    for (const name of [LIBRARY_NAME, 'libpixel.so', 'libpixel.dylib', 'pixel.dll']) {
      const p = path.join(__dirname, name);
      if (fs.existsSync(p)) candidates.push(p);
    }
    candidates.push(LIBRARY_NAME, 'libpixel.so');
  }
  const errors = [];
  for (const c of candidates) {
    try {
      return koffi.load(c);
    } catch (e) {
      errors.push(`${c}: ${e.message}`);
    }
  }
  throw new Error('cannot load libpixel (set PIXEL_LIBRARY to the path of libpixel.so): ' +
                  errors.join('; '));
}

const lib = loadLibrary();

// The struct layouts of pixel.h, here only; test/abi.test.js checks each against the C
// compiler's (bindings/abi_layout.c). pixel_stats, pixel_event and pixel_event_result begin
// with their size (set by the side that allocates them); fields are appended, never moved.
const STRUCTS = {
  pixel_param: koffi.struct('pixel_param', {key: 'const char *', value: 'const char *'}),
  pixel_stats: koffi.struct('pixel_stats', {
    size: 'size_t', queued: 'uint64_t', in_flight: 'uint64_t', delivered: 'uint64_t',
    retried: 'uint64_t', failed: 'uint64_t', expired: 'uint64_t', dropped: 'uint64_t',
    concurrency_limit: 'uint64_t', suppressed: 'uint64_t', mode_lowered: 'uint64_t',
    sampled_out: 'uint64_t', receipts_unwritten: 'uint64_t', endpoint_down_since_ms: 'uint64_t',
    last_failure: 'char[256]',
  }),
  pixel_event_result: koffi.struct('pixel_event_result', {
    size: 'size_t', event_id: 'const char *', outcome: 'int', attempts: 'uint32_t',
    http_status: 'long', transport_error: 'int', message: 'const char *',
  }),
  pixel_event: koffi.struct('pixel_event', {
    size: 'size_t', params: 'const pixel_param *', count: 'size_t', user_agent: 'const char *',
    tracking_mode: 'int', gpc: 'int',
  }),
};
const EventResultType = STRUCTS.pixel_event_result;
const STATS_SIZE = koffi.sizeof(STRUCTS.pixel_stats);
const EVENT_SIZE = koffi.sizeof(STRUCTS.pixel_event);
const EVENT_ID_SIZE = 27;
koffi.opaque('pixel_options');
koffi.opaque('pixel_tracker');
const ResultCallback =
    koffi.proto('void pixel_result_callback(const pixel_event_result *result, void *user)');
const LogCallback = koffi.proto('void pixel_log_callback(const char *message, void *user)');

// Every function of pixel.h; enums are passed as int.
const SIGNATURES = [
  'const char *pixel_version(void)',
  'const char *pixel_status_str(int status)',
  'const char *pixel_last_error(void)',
  'const char *pixel_transport_error_str(int error)',
  'int pixel_url_build(const char *endpoint, const pixel_param *params, size_t count, ' +
      'unsigned int flags, uint8_t *buf, size_t buf_size, _Out_ size_t *out_len)',
  'int pixel_img_tag(const char *url, int style, uint8_t *buf, size_t buf_size, ' +
      '_Out_ size_t *out_len)',
  'pixel_options *pixel_options_new(void)',
  'void pixel_options_free(pixel_options *options)',
  'int pixel_options_set_endpoint(pixel_options *options, const char *url)',
  'int pixel_options_set_queue_capacity(pixel_options *options, size_t capacity)',
  'int pixel_options_set_overflow_policy(pixel_options *options, int policy)',
  'int pixel_options_set_block_timeout_ms(pixel_options *options, uint32_t ms)',
  'int pixel_options_set_allow_http(pixel_options *options, int allow)',
  'int pixel_options_set_min_in_flight(pixel_options *options, size_t count)',
  'int pixel_options_set_max_in_flight(pixel_options *options, size_t count)',
  'int pixel_options_set_worker_threads(pixel_options *options, size_t count)',
  'int pixel_options_set_connect_timeout_ms(pixel_options *options, uint32_t ms)',
  'int pixel_options_set_request_timeout_ms(pixel_options *options, uint32_t ms)',
  'int pixel_options_set_max_attempts(pixel_options *options, uint32_t attempts)',
  'int pixel_options_set_max_age_ms(pixel_options *options, uint32_t ms)',
  'int pixel_options_set_shutdown_timeout_ms(pixel_options *options, uint32_t ms)',
  'int pixel_options_set_user_agent(pixel_options *options, const char *user_agent)',
  'int pixel_options_set_ca_file(pixel_options *options, const char *path)',
  'int pixel_options_set_proxy(pixel_options *options, const char *proxy)',
  'int pixel_options_set_backoff_base_ms(pixel_options *options, uint32_t ms)',
  'int pixel_options_set_backoff_max_ms(pixel_options *options, uint32_t ms)',
  'int pixel_options_set_retry_after_cap_ms(pixel_options *options, uint32_t ms)',
  'int pixel_options_set_outage_threshold(pixel_options *options, uint32_t failures)',
  'int pixel_options_set_probe_interval_ms(pixel_options *options, uint32_t ms)',
  'int pixel_options_set_url_flags(pixel_options *options, unsigned int flags)',
  'int pixel_options_set_spool_dir(pixel_options *options, const char *dir)',
  'int pixel_options_set_durability(pixel_options *options, int level)',
  'int pixel_options_set_spool_max_bytes(pixel_options *options, uint64_t bytes)',
  'int pixel_options_set_result_callback(pixel_options *options, ' +
      'pixel_result_callback *callback, void *user)',
  'int pixel_options_set_log_callback(pixel_options *options, pixel_log_callback *callback, ' +
      'void *user)',
  'int pixel_tracker_new(const pixel_options *options, _Out_ pixel_tracker **out)',
  'int pixel_track(pixel_tracker *tracker, const pixel_param *params, size_t count)',
  'int pixel_track_with_user_agent(pixel_tracker *tracker, const pixel_param *params, ' +
      'size_t count, const char *user_agent)',
  'int pixel_track_event(pixel_tracker *tracker, const pixel_event *event, _Out_ uint8_t *id_out)',
  'int pixel_tracker_flush(pixel_tracker *tracker, uint32_t timeout_ms)',
  'int pixel_tracker_stats(const pixel_tracker *tracker, _Inout_ pixel_stats *out)',
  'int pixel_tracker_shutdown(pixel_tracker *tracker, uint32_t timeout_ms)',
  'void pixel_tracker_free(pixel_tracker *tracker)',
  'int pixel_options_set_tracking_mode(pixel_options *options, int mode)',
  'int pixel_options_set_identity_params(pixel_options *options, const char **names, ' +
      'size_t count)',
  'int pixel_options_set_pseudonym_key(pixel_options *options, const uint8_t *key, size_t len)',
  'int pixel_options_set_gpc_mode(pixel_options *options, int mode)',
  'int pixel_options_set_signing_key(pixel_options *options, const char *kid, ' +
      'const uint8_t *key, size_t key_len)',
  'int pixel_options_set_signature_ttl_s(pixel_options *options, uint32_t seconds)',
  'int pixel_url_build_signed(const char *endpoint, const pixel_param *params, size_t count, ' +
      'unsigned int flags, const char *kid, const uint8_t *key, size_t key_len, ' +
      'uint32_t ttl_s, uint8_t *buf, size_t buf_size, _Out_ size_t *out_len)',
  // The sink's capacity: receipts, pacing, sampling.
  'int pixel_options_set_receipts_path(pixel_options *options, const char *path)',
  'int pixel_options_set_max_rate(pixel_options *options, double per_second)',
  'int pixel_options_set_sample_rate(pixel_options *options, double rate)',
  'int pixel_options_set_sample_key(pixel_options *options, const char *key)',
  'int pixel_options_set_sample_salt(pixel_options *options, const uint8_t *salt, size_t len)',
  'int pixel_sample_keeps(double rate, const uint8_t *salt, size_t salt_len, ' +
      'const uint8_t *value, size_t value_len, _Out_ int *keep)',
];
const native = {};
for (const sig of SIGNATURES) {
  const fn = lib.func(sig);
  native[sig.match(/(pixel_[a-z_]+)\(/)[1]] = fn;
}

const STATUS_NAMES = [
  'OK', 'INVALID_ARGUMENT', 'INVALID_ENDPOINT', 'INVALID_UTF8', 'EMPTY_KEY', 'URL_TOO_LONG',
  'BUFFER_TOO_SMALL', 'QUEUE_FULL', 'SHUT_DOWN', 'TIMEOUT', 'INTERNAL', 'SPOOL',
];
const BUFFER_TOO_SMALL = 6;
const TIMEOUT = 9;
const URL_EVENT_ID = 1;
const URL_TIMESTAMP = 2;
const STYLES = {email: 0, page: 1};
const OVERFLOW = {drop_new: 0, dropNew: 0, drop_oldest: 1, dropOldest: 1, block: 2};
const DURABILITY = {memory: 0, batched: 1, sync: 2};
const OUTCOMES = ['delivered', 'failed', 'expired', 'dropped', 'suppressed'];
// Tracking modes (docs/privacy.md), most restrictive first; C values 1..4 (0: none asked).
const TRACKING_MODES = ['off', 'aggregate', 'pseudonymous', 'identified'];
// Why an attempt got no HTTP response ('none': it got one, whatever its status).
const TRANSPORT_ERRORS = ['none', 'dns', 'connect', 'tls', 'certificate', 'timeout', 'reset',
  'send', 'receive', 'protocol', 'other'];
const STAT_NAMES = [
  'queued', 'in_flight', 'delivered', 'retried', 'failed', 'expired', 'dropped',
  'concurrency_limit', 'suppressed', 'mode_lowered',
];

// An Error from libpixel: `status` is the C pixel_status value, `code` its name
// (e.g. 'PIXEL_ERR_QUEUE_FULL').
class PixelError extends Error {
  constructor(status, message) {
    super(message);
    this.name = 'PixelError';
    this.status = status;
    this.code = status > 0 && status < STATUS_NAMES.length ? `PIXEL_ERR_${STATUS_NAMES[status]}` :
                                                             'PIXEL_ERR_UNKNOWN';
  }
}

function errorFor(status) {
  const text = native.pixel_status_str(status);
  const detail = native.pixel_last_error();
  return new PixelError(status, detail ? `${text}: ${detail}` : text);
}

function check(status) {
  if (status !== 0) throw errorFor(status);
}

function invalid(message) {
  return new PixelError(1, `invalid argument: ${message}`);
}

function cString(value, what) {
  if (typeof value !== 'string') throw invalid(`${what} must be a string`);
  if (value.includes('\0')) throw invalid(`${what} contains a NUL character`);
  return value;
}

function toParams(params) {
  if (params === undefined || params === null) return [];
  let entries;
  if (Array.isArray(params)) {
    entries = params;
  } else if (params instanceof Map) {
    entries = [...params.entries()];
  } else if (typeof params === 'object') {
    entries = Object.entries(params);
  } else {
    throw invalid('params must be an object, a Map or an array of [key, value] pairs');
  }
  return entries.map((pair) => {
    if (!Array.isArray(pair) || pair.length !== 2) {
      throw invalid('each parameter must be a [key, value] pair');
    }
    let [k, v] = pair;
    if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') v = String(v);
    return {key: cString(k, 'key'), value: cString(v, 'value')};
  });
}

// Runs call(buf, size, outLen) with a growing buffer, snprintf-style.
function intoBuffer(call) {
  let size = 1024;
  for (;;) {
    const buf = Buffer.alloc(size);
    const outLen = [0];
    const status = call(buf, size, outLen);
    const len = Number(outLen[0]);
    if (status === BUFFER_TOO_SMALL && len + 1 > size) {
      size = len + 1;
      continue;
    }
    check(status);
    return buf.toString('utf8', 0, len);
  }
}

function version() {
  return native.pixel_version();
}

function buildUrl(endpoint, params, options = {}) {
  const ep = cString(endpoint, 'endpoint');
  const ps = toParams(params);
  const {eventId = true, timestamp = true} = options || {};
  const flags = (eventId ? URL_EVENT_ID : 0) | (timestamp ? URL_TIMESTAMP : 0);
  return intoBuffer((buf, size, outLen) =>
    native.pixel_url_build(ep, ps, ps.length, flags, buf, size, outLen));
}

// Signed URLs: the raw key (at least 16 bytes) and how long a URL stays valid, in seconds.
function signingKey(key) {
  if (!(key instanceof Uint8Array)) throw invalid('key must be a Buffer (the raw key bytes)');
  return key;
}
function ttlSeconds(value) {
  if (!Number.isSafeInteger(value) || value < 0 || value > 0xFFFFFFFF) {
    throw invalid('ttl must be a whole number of seconds (0: 30 days)');
  }
  return value;
}

function buildSignedUrl(endpoint, params, options = {}) {
  const ep = cString(endpoint, 'endpoint');
  const ps = toParams(params);
  const {kid, key, ttl = 0, eventId = true, timestamp = true} = options || {};
  const k = signingKey(key);
  const t = ttlSeconds(ttl);
  const flags = (eventId ? URL_EVENT_ID : 0) | (timestamp ? URL_TIMESTAMP : 0);
  return intoBuffer((buf, size, outLen) => native.pixel_url_build_signed(
      ep, ps, ps.length, flags, cString(kid, 'kid'), k, k.length, t, buf, size, outLen));
}

function imgTag(url, options = {}) {
  const u = cString(url, 'url');
  const {style = 'email'} = options || {};
  if (!Object.prototype.hasOwnProperty.call(STYLES, style)) {
    throw invalid(`style must be 'email' or 'page', not ${JSON.stringify(style)}`);
  }
  return intoBuffer((buf, size, outLen) =>
    native.pixel_img_tag(u, STYLES[style], buf, size, outLen));
}

// The C pixel_tracking_mode of a mode name; undefined or null: 0 (PIXEL_TRACKING_DEFAULT).
function trackingMode(value, what) {
  if (value === undefined || value === null) return 0;
  const i = TRACKING_MODES.indexOf(value);
  if (i < 0) throw invalid(`${what} must be one of ${TRACKING_MODES.join(', ')}, not ${JSON.stringify(value)}`);
  return i + 1;
}

function ms(value, what) {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw invalid(`${what} must be a non-negative number of milliseconds`);
  }
  return Math.min(Math.round(value), 0xFFFFFFFF);
}

function count(value, what) {
  if (!Number.isSafeInteger(value) || value < 0) throw invalid(`${what} must be a non-negative integer`);
  return value;
}

// A double for C; whether it is in range is the library's to say.
function number(value, what) {
  if (typeof value !== 'number') throw invalid(`${what} must be a number`);
  return value;
}

function bytes(value, what) {
  if (!(value instanceof Uint8Array)) throw invalid(`${what} must be a Buffer (raw bytes)`);
  return value;
}

// The sampling decision a tracker with sampleRate `rate` and sampleSalt `salt` makes for an
// event whose sample-key parameter is `value` (a string, as UTF-8, or a Buffer): true when
// the first 8 bytes of SHA-256(salt followed by value), big-endian, are below rate x 2^64.
function sampleKeeps(rate, salt, value) {
  const r = number(rate, 'rate');
  const s = bytes(salt, 'salt');
  const v = typeof value === 'string' ? Buffer.from(value, 'utf8') : bytes(value, 'value');
  const keep = [0];
  check(native.pixel_sample_keeps(r, s, s.length, v, v.length, keep));
  return keep[0] !== 0;
}

// Option name -> [C setter, conversion]. Times in milliseconds, like the C API.
const SETTERS = {
  queueCapacity: ['pixel_options_set_queue_capacity', count],
  blockTimeout: ['pixel_options_set_block_timeout_ms', ms],
  allowHttp: ['pixel_options_set_allow_http', (v) => (v ? 1 : 0)],
  minInFlight: ['pixel_options_set_min_in_flight', count],
  maxInFlight: ['pixel_options_set_max_in_flight', count],
  workerThreads: ['pixel_options_set_worker_threads', count],
  connectTimeout: ['pixel_options_set_connect_timeout_ms', ms],
  requestTimeout: ['pixel_options_set_request_timeout_ms', ms],
  maxAttempts: ['pixel_options_set_max_attempts', count],
  maxAge: ['pixel_options_set_max_age_ms', ms],
  shutdownTimeout: ['pixel_options_set_shutdown_timeout_ms', ms],
  userAgent: ['pixel_options_set_user_agent', cString],
  caFile: ['pixel_options_set_ca_file', cString],
  proxy: ['pixel_options_set_proxy', cString],
  backoffBase: ['pixel_options_set_backoff_base_ms', ms],
  backoffMax: ['pixel_options_set_backoff_max_ms', ms],
  retryAfterCap: ['pixel_options_set_retry_after_cap_ms', ms],
  outageThreshold: ['pixel_options_set_outage_threshold', count],
  probeInterval: ['pixel_options_set_probe_interval_ms', ms],
  spoolDir: ['pixel_options_set_spool_dir', cString],
  spoolMaxBytes: ['pixel_options_set_spool_max_bytes', count],
  receiptsPath: ['pixel_options_set_receipts_path', cString],
  maxRate: ['pixel_options_set_max_rate', number],
  sampleRate: ['pixel_options_set_sample_rate', number],
  sampleKey: ['pixel_options_set_sample_key', cString],
};

function callAsync(fn, ...args) {
  return new Promise((resolve, reject) => {
    fn.async(...args, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

// Trackers not closed yet. When the event loop has nothing left to do ('beforeExit'), each
// is closed with its shutdownTimeout (default 2000 ms), so a script that ends without
// `await t.close()` still delivers what it tracked; the events that could not be are
// reported through onResult ('dropped') or, without one, in a process warning.
const LIVE = new Set();
process.on('beforeExit', () => {
  for (const t of [...LIVE]) {
    if (t._closing) continue;
    const before = t.stats();
    t.close(t._exitTimeoutMs).then(() => {
      const left = t._finalStats.dropped - before.dropped;
      if (left > 0 && !t._hasOnResult) {
        process.emitWarning(`${left} tracked events were not delivered before the process ` +
                                `exited (closed after ${t._exitTimeoutMs} ms); await close() ` +
                                `or pass onResult to see each one`,
                            {code: 'PIXEL_UNDELIVERED_AT_EXIT'});
      }
    }, (e) => process.emitWarning(`closing a tracker at exit failed: ${e.message}`,
                                  {code: 'PIXEL_CLOSE_AT_EXIT'}));
  }
});

// Background delivery of pixel events. track() and stats() are synchronous and never wait
// for the network; flush() and close() run off the main thread and return Promises, so
// onResult callbacks (which run on the main thread) keep flowing while they wait.
class Tracker {
  constructor(options) {
    if (!options || typeof options !== 'object') throw invalid('options must be an object');
    const opts = native.pixel_options_new();
    if (!opts) throw new PixelError(10, 'internal error: out of memory');
    this._handle = null;
    this._callback = null;
    this._logCallback = null;
    this._closing = null;
    this._pending = new Set();
    try {
      check(native.pixel_options_set_endpoint(opts, cString(options.endpoint, 'endpoint')));
      let flags = URL_EVENT_ID | URL_TIMESTAMP;
      for (const [name, value] of Object.entries(options)) {
        if (name === 'endpoint' || value === undefined) continue;
        if (Object.prototype.hasOwnProperty.call(SETTERS, name)) {
          const [setter, convert] = SETTERS[name];
          check(native[setter](opts, convert(value, name)));
        } else if (name === 'sampleSalt') {
          const salt = bytes(value, name);
          check(native.pixel_options_set_sample_salt(opts, salt, salt.length));
        } else if (name === 'overflow') {
          if (!Object.prototype.hasOwnProperty.call(OVERFLOW, value)) {
            throw invalid(`overflow must be 'drop_new', 'drop_oldest' or 'block'`);
          }
          check(native.pixel_options_set_overflow_policy(opts, OVERFLOW[value]));
        } else if (name === 'durability') {
          if (!Object.prototype.hasOwnProperty.call(DURABILITY, value)) {
            throw invalid(`durability must be 'memory', 'batched' or 'sync'`);
          }
          check(native.pixel_options_set_durability(opts, DURABILITY[value]));
        } else if (name === 'eventId') {
          flags = value ? flags | URL_EVENT_ID : flags & ~URL_EVENT_ID;
        } else if (name === 'timestamp') {
          flags = value ? flags | URL_TIMESTAMP : flags & ~URL_TIMESTAMP;
        } else if (name === 'signingKey') {
          const k = signingKey(value && value.key);
          check(native.pixel_options_set_signing_key(opts, cString(value.kid, 'kid'), k, k.length));
        } else if (name === 'trackingMode') {
          check(native.pixel_options_set_tracking_mode(opts, trackingMode(value, name)));
        } else if (name === 'gpcMode') {
          check(native.pixel_options_set_gpc_mode(opts, trackingMode(value, name)));
        } else if (name === 'identityParams') {
          if (!Array.isArray(value)) throw invalid('identityParams must be an array of parameter names');
          const names = value.map((v) => cString(v, 'identityParams'));
          check(native.pixel_options_set_identity_params(opts, names, names.length));
        } else if (name === 'pseudonymKey') {
          if (!(value instanceof Uint8Array)) {
            throw invalid('pseudonymKey must be a Buffer (the raw key bytes)');
          }
          check(native.pixel_options_set_pseudonym_key(opts, value, value.length));
        } else if (name === 'signatureTtl') {
          check(native.pixel_options_set_signature_ttl_s(opts, ttlSeconds(value)));
        } else if (name === 'onResult') {
          if (typeof value !== 'function') throw invalid('onResult must be a function');
          this._callback = koffi.register((ptr) => {
            const r = koffi.decode(ptr, EventResultType);
            try {
              value({
                eventId: r.event_id,
                outcome: OUTCOMES[r.outcome] || String(r.outcome),
                attempts: r.attempts,
                httpStatus: r.http_status,
                transportError: TRANSPORT_ERRORS[r.transport_error] || String(r.transport_error),
                message: r.message || '',
              });
            } catch (e) {
              process.nextTick(() => { throw e; });  // surface it, never into C
            }
          }, koffi.pointer(ResultCallback));
          check(native.pixel_options_set_result_callback(opts, this._callback, null));
        } else if (name === 'onLog') {
          if (typeof value !== 'function') throw invalid('onLog must be a function');
          this._logCallback = koffi.register((message) => {
            try {
              value(message);
            } catch (e) {
              process.nextTick(() => { throw e; });  // surface it, never into C
            }
          }, koffi.pointer(LogCallback));
          check(native.pixel_options_set_log_callback(opts, this._logCallback, null));
        } else {
          throw invalid(`unknown option ${JSON.stringify(name)}`);
        }
      }
      check(native.pixel_options_set_url_flags(opts, flags));
      const out = [null];
      check(native.pixel_tracker_new(opts, out));
      this._handle = out[0];
      this._exitTimeoutMs = options.shutdownTimeout === undefined ? 2000 : options.shutdownTimeout;
      this._hasOnResult = typeof options.onResult === 'function';
      LIVE.add(this);
    } catch (e) {
      this._unregister();
      throw e;
    } finally {
      native.pixel_options_free(opts);
    }
  }

  // Remembers an async native call in progress, so close() frees only after it ends.
  async _track(promise) {
    this._pending.add(promise);
    try {
      return await promise;
    } finally {
      this._pending.delete(promise);
    }
  }

  _live() {
    if (this._handle === null) throw new PixelError(8, 'shut down: the tracker is closed');
    return this._handle;
  }

  // Queues one event and returns its id at once: the 26-character eid it is sent with, and
  // the eventId of its onResult. Throws on bad input, a full queue, or after close.
  // `how` is this event's User-Agent (a string), or {userAgent, mode, gpc}: mode (one of
  // TRACKING_MODES; absent: the ceiling) is what its person consented to, gpc that the
  // request being handled carried `Sec-GPC: 1`. Under 'off' nothing is sent, and onResult
  // gets 'suppressed' before track() returns.
  track(params, how) {
    const ps = toParams(params);
    const h = this._live();
    let userAgent = how;
    let mode = 0;
    let gpc = 0;
    if (how !== null && typeof how === 'object') {
      userAgent = how.userAgent;
      mode = trackingMode(how.mode, 'mode');
      gpc = how.gpc ? 1 : 0;
    }
    const ua = userAgent === undefined || userAgent === null ? null :
                                                               cString(userAgent, 'userAgent');
    const id = Buffer.alloc(EVENT_ID_SIZE);
    check(native.pixel_track_event(
        h, {size: EVENT_SIZE, params: ps, count: ps.length, user_agent: ua, tracking_mode: mode, gpc},
        id));
    return id.toString('latin1', 0, EVENT_ID_SIZE - 1);
  }

  // Resolves true once every event tracked so far has an outcome, false after `ms`.
  async flush(timeoutMs = 5000) {
    const status = await this._track(
        callAsync(native.pixel_tracker_flush, this._live(), ms(timeoutMs, 'timeout')));
    if (status === TIMEOUT) return false;
    check(status);
    return true;
  }

  // The counters (Numbers): queued, inFlight, delivered, retried, failed, expired, dropped,
  // concurrencyLimit, suppressed (events under mode 'off'), modeLowered (events lowered by
  // the ceiling or GPC). The snake_case names (in_flight, concurrency_limit, mode_lowered)
  // are deprecated aliases of the same values, kept for one release.
  stats() {
    if (this._handle === null) return {...this._finalStats};
    const s = {size: STATS_SIZE};
    check(native.pixel_tracker_stats(this._handle, s));
    const out = {};
    for (const n of STAT_NAMES) {
      const v = Number(s[n]);
      out[n.replace(/_([a-z])/g, (_, c) => c.toUpperCase())] = v;
      out[n] = v;
    }
    return out;
  }

  // Stops accepting events, waits up to `ms` for delivery, drops the rest and releases the
  // tracker. Idempotent; stats() keeps the final counters.
  close(timeoutMs = 2000) {
    if (this._closing) return this._closing;
    const h = this._live();
    const timeout = ms(timeoutMs, 'timeout');
    LIVE.delete(this);
    this._closing = (async () => {
      check(await callAsync(native.pixel_tracker_shutdown, h, timeout));
      this._finalStats = this.stats();
      this._handle = null;
      await Promise.allSettled([...this._pending]);
      await callAsync(native.pixel_tracker_free, h);
      this._unregister();
    })();
    return this._closing;
  }

  // Releases the callbacks handed to C, once nothing can call them.
  _unregister() {
    if (this._callback) koffi.unregister(this._callback);
    if (this._logCallback) koffi.unregister(this._logCallback);
    this._callback = null;
    this._logCallback = null;
  }
}

module.exports = {
  version, buildUrl, imgTag, Tracker, PixelError, native, SIGNATURES, STRUCTS, LIBRARY_NAME,
  buildSignedUrl, TRACKING_MODES, OUTCOMES, sampleKeeps,
};
