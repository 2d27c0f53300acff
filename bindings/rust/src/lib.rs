// SPDX-License-Identifier: MIT
//! Tracking-pixel URLs, `<img>` tags and background delivery, over libpixel (the C API).
//!
//! ```no_run
//! use std::time::Duration;
//! let url = pixel::build_url("https://d111111abcdef8.cloudfront.net",
//!                            &[("userid", "aws_user")], pixel::UrlFlags::DEFAULT)?;
//! let tracker = pixel::Tracker::new(
//!     pixel::Options::new("https://d111111abcdef8.cloudfront.net").queue_capacity(50_000))?;
//! tracker.track(&[("userid", "aws_user"), ("thirdpartyname", "example.com")])?;
//! tracker.flush(Duration::from_secs(5))?;
//! # Ok::<(), pixel::Error>(())
//! ```
//! `Drop` shuts the tracker down (waiting up to `Options::shutdown_timeout`).

pub mod ffi;

use std::ffi::{c_void, CStr, CString};
use std::fmt;
use std::os::raw::{c_char, c_int, c_uint};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::time::Duration;

/// The C `pixel_status` codes other than OK.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    InvalidArgument,
    InvalidEndpoint,
    InvalidUtf8,
    EmptyKey,
    UrlTooLong,
    BufferTooSmall,
    QueueFull,
    ShutDown,
    Timeout,
    Internal,
    /// The spool is in use by another tracker, unwritable, full or corrupt.
    Spool,
    /// A value this binding does not know (a newer library).
    Unknown(i32),
}

impl Status {
    fn from_c(code: c_int) -> Status {
        match code {
            1 => Status::InvalidArgument,
            2 => Status::InvalidEndpoint,
            3 => Status::InvalidUtf8,
            4 => Status::EmptyKey,
            5 => Status::UrlTooLong,
            6 => Status::BufferTooSmall,
            7 => Status::QueueFull,
            8 => Status::ShutDown,
            9 => Status::Timeout,
            10 => Status::Internal,
            11 => Status::Spool,
            other => Status::Unknown(other),
        }
    }

    /// The C value.
    pub fn code(self) -> i32 {
        match self {
            Status::InvalidArgument => 1,
            Status::InvalidEndpoint => 2,
            Status::InvalidUtf8 => 3,
            Status::EmptyKey => 4,
            Status::UrlTooLong => 5,
            Status::BufferTooSmall => 6,
            Status::QueueFull => 7,
            Status::ShutDown => 8,
            Status::Timeout => 9,
            Status::Internal => 10,
            Status::Spool => 11,
            Status::Unknown(c) => c,
        }
    }
}

/// A libpixel failure: its status and the message that names the offending part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    status: Status,
    message: String,
}

impl Error {
    pub fn status(&self) -> Status {
        self.status
    }
    pub fn message(&self) -> &str {
        &self.message
    }
    fn invalid(message: impl Into<String>) -> Error {
        Error { status: Status::InvalidArgument, message: message.into() }
    }
    fn from_c(code: c_int) -> Error {
        // SAFETY: both return static or thread-local NUL-terminated text, never NULL.
        let (text, detail) = unsafe {
            (cstr(ffi::pixel_status_str(code)), cstr(ffi::pixel_last_error()))
        };
        let message = if detail.is_empty() { text } else { format!("{text}: {detail}") };
        Error { status: Status::from_c(code), message }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

unsafe fn cstr(p: *const c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        CStr::from_ptr(p).to_string_lossy().into_owned()
    }
}

fn check(code: c_int) -> Result<(), Error> {
    if code == ffi::PIXEL_OK {
        Ok(())
    } else {
        Err(Error::from_c(code))
    }
}

fn c_string(s: &str, what: &str) -> Result<CString, Error> {
    CString::new(s).map_err(|_| Error::invalid(format!("invalid argument: {what} contains a NUL byte")))
}

/// Owned C copies of a parameter list, and the pixel_param array pointing into them.
struct CParams {
    _strings: Vec<CString>,
    array: Vec<ffi::pixel_param>,
}

impl CParams {
    fn new(params: &[(&str, &str)]) -> Result<CParams, Error> {
        let mut strings = Vec::with_capacity(params.len() * 2);
        let mut array = Vec::with_capacity(params.len());
        for (k, v) in params {
            let k = c_string(k, "key")?;
            let v = c_string(v, "value")?;
            array.push(ffi::pixel_param { key: k.as_ptr(), value: v.as_ptr() });
            strings.push(k);
            strings.push(v);
        }
        Ok(CParams { _strings: strings, array })
    }
}

fn into_buffer(mut call: impl FnMut(*mut c_char, usize, *mut usize) -> c_int) -> Result<String, Error> {
    let mut size = 1024usize;
    loop {
        let mut buf = vec![0u8; size];
        let mut len = 0usize;
        let code = call(buf.as_mut_ptr().cast(), size, &mut len);
        if code == ffi::PIXEL_ERR_BUFFER_TOO_SMALL && len + 1 > size {
            size = len + 1;
            continue;
        }
        check(code)?;
        buf.truncate(len);
        return String::from_utf8(buf).map_err(|_| Error {
            status: Status::Internal,
            message: "libpixel returned text that is not UTF-8".into(),
        });
    }
}

fn millis(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

/// The libpixel version, e.g. "0.1.0".
pub fn version() -> &'static str {
    // SAFETY: static NUL-terminated ASCII text.
    unsafe { CStr::from_ptr(ffi::pixel_version()) }.to_str().unwrap_or("")
}

/// Which of the event id and the timestamp a URL carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UrlFlags(u32);

impl UrlFlags {
    pub const NONE: UrlFlags = UrlFlags(0);
    pub const EVENT_ID: UrlFlags = UrlFlags(ffi::PIXEL_URL_EVENT_ID);
    pub const TIMESTAMP: UrlFlags = UrlFlags(ffi::PIXEL_URL_TIMESTAMP);
    pub const DEFAULT: UrlFlags = UrlFlags(ffi::PIXEL_URL_EVENT_ID | ffi::PIXEL_URL_TIMESTAMP);
    pub fn bits(self) -> u32 {
        self.0
    }
    pub fn contains(self, other: UrlFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl Default for UrlFlags {
    fn default() -> Self {
        UrlFlags::DEFAULT
    }
}

impl std::ops::BitOr for UrlFlags {
    type Output = UrlFlags;
    fn bitor(self, rhs: UrlFlags) -> UrlFlags {
        UrlFlags(self.0 | rhs.0)
    }
}

/// The pixel URL for `endpoint` with `params` in order, plus what `flags` asks for.
pub fn build_url(endpoint: &str, params: &[(&str, &str)], flags: UrlFlags) -> Result<String, Error> {
    let ep = c_string(endpoint, "endpoint")?;
    let ps = CParams::new(params)?;
    into_buffer(|buf, size, len| unsafe {
        ffi::pixel_url_build(ep.as_ptr(), ps.array.as_ptr(), ps.array.len(), flags.0 as c_uint,
                             buf, size, len)
    })
}

/// A signing key: its id (1 to 32 of A-Z a-z 0-9 _ -) and the raw key (at least 16 bytes).
#[derive(Clone)]
pub struct SigningKey {
    pub kid: String,
    pub key: Vec<u8>,
}

impl std::fmt::Debug for SigningKey {
    // The key itself never appears in debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").field("kid", &self.kid).finish_non_exhaustive()
    }
}

/// As `build_url`, signed (kid, exp, sig) with `key`, valid `ttl` (whole seconds; zero: 30
/// days). A parameter named kid, exp or sig is an `InvalidArgument` error.
pub fn build_signed_url(endpoint: &str, params: &[(&str, &str)], flags: UrlFlags,
                        key: &SigningKey, ttl: Duration) -> Result<String, Error> {
    let ep = c_string(endpoint, "endpoint")?;
    let kid = c_string(&key.kid, "kid")?;
    let ps = CParams::new(params)?;
    let ttl = u32::try_from(ttl.as_secs()).unwrap_or(u32::MAX);
    into_buffer(|buf, size, len| unsafe {
        ffi::pixel_url_build_signed(ep.as_ptr(), ps.array.as_ptr(), ps.array.len(),
                                    flags.0 as c_uint, kid.as_ptr(), key.key.as_ptr(),
                                    key.key.len(), ttl, buf, size, len)
    })
}

/// The sampling decision a tracker with `sample_rate(rate)` and `sample_salt(salt)` makes for
/// an event whose sample-key parameter is `value`: true when the first 8 bytes of
/// SHA-256(salt followed by value), read as a big-endian unsigned 64-bit number, are below
/// rate x 2^64. The same in every binding and in C and C++.
pub fn sample_keeps(rate: f64, salt: &[u8], value: impl AsRef<[u8]>) -> bool {
    let value = value.as_ref();
    let mut keep: c_int = 0;
    // Cannot fail: every pointer comes from a slice or a local.
    let _ = unsafe {
        ffi::pixel_sample_keeps(rate, salt.as_ptr().cast(), salt.len(), value.as_ptr().cast(),
                                value.len(), &mut keep)
    };
    keep != 0
}

/// The `<img>` markup preset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ImgStyle {
    #[default]
    Email,
    Page,
}

/// The `<img>` tag for `url`.
pub fn img_tag(url: &str, style: ImgStyle) -> Result<String, Error> {
    let u = c_string(url, "url")?;
    let s: c_int = match style {
        ImgStyle::Email => 0,
        ImgStyle::Page => 1,
    };
    into_buffer(|buf, size, len| unsafe { ffi::pixel_img_tag(u.as_ptr(), s, buf, size, len) })
}

/// What `track` does when the queue is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Overflow {
    #[default]
    DropNew,
    DropOldest,
    Block,
}

/// Where events wait for their outcome (see docs/tracker.md, "Durable delivery").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Durability {
    /// In memory only: a crash loses what is queued (the default).
    #[default]
    Memory,
    /// Also in the spool, committed at most 10 ms after `track`.
    Batched,
    /// Also in the spool: `track` returns once the event is on disk (fsync, group commit).
    Sync,
}

/// How an event ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    Failed,
    Expired,
    Dropped,
    /// Tracking mode `Off`: never built, queued or sent; reported from `track_with`, on the
    /// calling thread, before it returns.
    Suppressed,
}

/// What an event may carry, following its person's consent (docs/privacy.md); from most
/// to least restrictive, so `min` of two modes is the more restrictive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TrackingMode {
    /// Nothing is sent.
    Off,
    /// The identity parameters are removed.
    Aggregate,
    /// Each identity parameter's value is replaced by base64url (no padding) of the first 16
    /// bytes of HMAC-SHA256(pseudonym key, value).
    Pseudonymous,
    /// The parameters as given (the default ceiling).
    Identified,
}

impl TrackingMode {
    fn code(self) -> c_int {
        match self {
            TrackingMode::Off => 1,
            TrackingMode::Aggregate => 2,
            TrackingMode::Pseudonymous => 3,
            TrackingMode::Identified => 4,
        }
    }

    /// "off", "aggregate", "pseudonymous" or "identified".
    pub fn name(self) -> &'static str {
        match self {
            TrackingMode::Off => "off",
            TrackingMode::Aggregate => "aggregate",
            TrackingMode::Pseudonymous => "pseudonymous",
            TrackingMode::Identified => "identified",
        }
    }
}

impl fmt::Display for TrackingMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for TrackingMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<TrackingMode, Error> {
        match s {
            "off" => Ok(TrackingMode::Off),
            "aggregate" => Ok(TrackingMode::Aggregate),
            "pseudonymous" => Ok(TrackingMode::Pseudonymous),
            "identified" => Ok(TrackingMode::Identified),
            _ => Err(Error::invalid(format!(
                "invalid argument: tracking mode must be off, aggregate, pseudonymous or identified, not {s:?}"
            ))),
        }
    }
}

/// Per-event settings for `Tracker::track_with`; `EventOptions::default()` asks for nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EventOptions<'a> {
    /// This event's User-Agent header (None: the tracker's).
    pub user_agent: Option<&'a str>,
    /// The mode this event's person consented to (None: the tracker's ceiling).
    pub mode: Option<TrackingMode>,
    /// The request being handled carried `Sec-GPC: 1` (Global Privacy Control).
    pub gpc: bool,
}

/// Why an attempt got no HTTP response. `None` means the transfer completed, whatever
/// its HTTP status. Certificate and Other are final; the rest are retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportError {
    None,
    Dns,
    Connect,
    Tls,
    Certificate,
    Timeout,
    Reset,
    Send,
    Receive,
    Protocol,
    Other,
}

impl TransportError {
    fn from_c(v: c_int) -> TransportError {
        use TransportError::*;
        match v {
            0 => None,
            1 => Dns,
            2 => Connect,
            3 => Tls,
            4 => Certificate,
            5 => Timeout,
            6 => Reset,
            7 => Send,
            8 => Receive,
            9 => Protocol,
            _ => Other,
        }
    }

    /// The library's name for it: "none", "dns", "connect", ..., "other".
    pub fn name(self) -> &'static str {
        use TransportError::*;
        match self {
            None => "none",
            Dns => "dns",
            Connect => "connect",
            Tls => "tls",
            Certificate => "certificate",
            Timeout => "timeout",
            Reset => "reset",
            Send => "send",
            Receive => "receive",
            Protocol => "protocol",
            Other => "other",
        }
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One event's outcome, given to the `on_result` callback.
#[derive(Clone, Debug)]
pub struct EventResult {
    pub event_id: String,
    pub outcome: Outcome,
    pub attempts: u32,
    pub http_status: i64,
    pub transport_error: TransportError,
    pub message: String,
}

type Callback = Box<dyn Fn(&EventResult) + Send + Sync + 'static>;
type LogCallback = Box<dyn Fn(&str) + Send + Sync + 'static>;

/// Tracker options, built up then handed to `Tracker::new` (which validates them).
pub struct Options {
    endpoint: String,
    queue_capacity: Option<usize>,
    overflow: Option<Overflow>,
    block_timeout: Option<Duration>,
    allow_http: Option<bool>,
    min_in_flight: Option<usize>,
    max_in_flight: Option<usize>,
    worker_threads: Option<usize>,
    connect_timeout: Option<Duration>,
    request_timeout: Option<Duration>,
    max_attempts: Option<u32>,
    max_age: Option<Duration>,
    shutdown_timeout: Option<Duration>,
    user_agent: Option<String>,
    ca_file: Option<String>,
    proxy: Option<String>,
    backoff_base: Option<Duration>,
    backoff_max: Option<Duration>,
    retry_after_cap: Option<Duration>,
    outage_threshold: Option<u32>,
    probe_interval: Option<Duration>,
    spool_dir: Option<String>,
    durability: Option<Durability>,
    spool_max_bytes: Option<u64>,
    url_flags: Option<UrlFlags>,
    on_result: Option<Callback>,
    on_log: Option<LogCallback>,
    signing_key: Option<SigningKey>,
    signature_ttl: Option<Duration>,
    tracking_mode: Option<TrackingMode>,
    identity_params: Option<Vec<String>>,
    pseudonym_key: Option<Vec<u8>>,
    gpc_mode: Option<TrackingMode>,
    receipts_path: Option<String>,
    max_rate: Option<f64>,
    sample_rate: Option<f64>,
    sample_key: Option<String>,
    sample_salt: Option<Vec<u8>>,
}

impl Options {
    pub fn new(endpoint: impl Into<String>) -> Options {
        Options {
            endpoint: endpoint.into(),
            queue_capacity: None,
            overflow: None,
            block_timeout: None,
            allow_http: None,
            min_in_flight: None,
            max_in_flight: None,
            worker_threads: None,
            connect_timeout: None,
            request_timeout: None,
            max_attempts: None,
            max_age: None,
            shutdown_timeout: None,
            user_agent: None,
            ca_file: None,
            proxy: None,
            backoff_base: None,
            backoff_max: None,
            retry_after_cap: None,
            outage_threshold: None,
            probe_interval: None,
            spool_dir: None,
            durability: None,
            spool_max_bytes: None,
            url_flags: None,
            on_result: None,
            on_log: None,
            signing_key: None,
            signature_ttl: None,
            tracking_mode: None,
            identity_params: None,
            pseudonym_key: None,
            gpc_mode: None,
            receipts_path: None,
            max_rate: None,
            sample_rate: None,
            sample_key: None,
            sample_salt: None,
        }
    }
    /// Events queued or in flight at most (default 10,000).
    pub fn queue_capacity(mut self, n: usize) -> Self {
        self.queue_capacity = Some(n);
        self
    }
    pub fn overflow(mut self, policy: Overflow) -> Self {
        self.overflow = Some(policy);
        self
    }
    /// How long `Overflow::Block` waits for room (default 100 ms).
    pub fn block_timeout(mut self, d: Duration) -> Self {
        self.block_timeout = Some(d);
        self
    }
    /// Allow http:// to hosts other than loopback.
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.allow_http = Some(allow);
        self
    }
    pub fn min_in_flight(mut self, n: usize) -> Self {
        self.min_in_flight = Some(n);
        self
    }
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = Some(n);
        self
    }
    pub fn worker_threads(mut self, n: usize) -> Self {
        self.worker_threads = Some(n);
        self
    }
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = Some(d);
        self
    }
    pub fn request_timeout(mut self, d: Duration) -> Self {
        self.request_timeout = Some(d);
        self
    }
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = Some(n);
        self
    }
    pub fn max_age(mut self, d: Duration) -> Self {
        self.max_age = Some(d);
        self
    }
    /// How long `Drop` waits for delivery before dropping what is left (default 2 s).
    pub fn shutdown_timeout(mut self, d: Duration) -> Self {
        self.shutdown_timeout = Some(d);
        self
    }
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = Some(ua.into());
        self
    }
    pub fn ca_file(mut self, path: impl Into<String>) -> Self {
        self.ca_file = Some(path.into());
        self
    }
    /// A proxy URL (`http://host:port`, `socks5://host:port`); "" for none (the default;
    /// the environment's `http_proxy` and the like are ignored).
    pub fn proxy(mut self, proxy: impl Into<String>) -> Self {
        self.proxy = Some(proxy.into());
        self
    }
    /// Retry backoff: the n-th retry waits up to min(base * 2^(n-1), max) (defaults
    /// 250 ms and 30 s), a uniformly random part of it.
    pub fn backoff_base(mut self, d: Duration) -> Self {
        self.backoff_base = Some(d);
        self
    }
    pub fn backoff_max(mut self, d: Duration) -> Self {
        self.backoff_max = Some(d);
        self
    }
    /// The longest Retry-After honoured (default 60 s; zero ignores it).
    pub fn retry_after_cap(mut self, d: Duration) -> Self {
        self.retry_after_cap = Some(d);
        self
    }
    /// Consecutive connection failures, timeouts or 5xx that mean the endpoint is down
    /// (default 5; 0: never), and how often a probe goes out then (default 500 ms).
    pub fn outage_threshold(mut self, failures: u32) -> Self {
        self.outage_threshold = Some(failures);
        self
    }
    pub fn probe_interval(mut self, d: Duration) -> Self {
        self.probe_interval = Some(d);
        self
    }
    /// Durable delivery: events also wait in a spool in `dir` (created if missing), and what
    /// an earlier run left there is delivered too. `Tracker::new` fails with `Status::Spool`
    /// when it is in use by another tracker, unwritable or corrupt. Needs `durability`.
    pub fn spool_dir(mut self, dir: impl Into<String>) -> Self {
        self.spool_dir = Some(dir.into());
        self
    }
    pub fn durability(mut self, level: Durability) -> Self {
        self.durability = Some(level);
        self
    }
    /// URL and User-Agent bytes waiting in the spool, at most (0: no bound).
    pub fn spool_max_bytes(mut self, bytes: u64) -> Self {
        self.spool_max_bytes = Some(bytes);
        self
    }
    pub fn url_flags(mut self, flags: UrlFlags) -> Self {
        self.url_flags = Some(flags);
        self
    }
    /// Sign every event's URL with this key (see `build_signed_url`).
    pub fn signing_key(mut self, key: SigningKey) -> Self {
        self.signing_key = Some(key);
        self
    }
    /// How long a signed URL stays valid, in whole seconds (default 30 days).
    pub fn signature_ttl(mut self, ttl: Duration) -> Self {
        self.signature_ttl = Some(ttl);
        self
    }
    /// The ceiling on every event's mode (default `Identified`: events go out as given).
    pub fn tracking_mode(mut self, mode: TrackingMode) -> Self {
        self.tracking_mode = Some(mode);
        self
    }
    /// The parameters (exact keys) that name a person (default userid, email, recipient;
    /// none when empty).
    pub fn identity_params<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.identity_params = Some(names.into_iter().map(Into::into).collect());
        self
    }
    /// The pseudonym key (raw bytes, at least 16); needed for `Pseudonymous`. Never shown
    /// in errors or debug output.
    pub fn pseudonym_key(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.pseudonym_key = Some(key.into());
        self
    }
    /// The most an event with `gpc` set may carry (default `Aggregate`).
    pub fn gpc_mode(mut self, mode: TrackingMode) -> Self {
        self.gpc_mode = Some(mode);
        self
    }
    /// Append one JSON line per event, when it has its outcome, to the file at `path`
    /// (created if missing): `{"eid","outcome","status","attempts","at"}`, the format
    /// `pixel reconcile` reads (docs/capacity.md). `Tracker::new` fails with
    /// `Status::InvalidArgument` when the file cannot be opened.
    pub fn receipts_path(mut self, path: impl Into<String>) -> Self {
        self.receipts_path = Some(path.into());
        self
    }
    /// Start at most `per_second` requests a second (bursts of a tenth of that), so a burst
    /// waits in the queue instead of overrunning the log stream; 0 (the default): unpaced.
    /// Negative, NaN or infinite: `Status::InvalidArgument` from `Tracker::new`.
    pub fn max_rate(mut self, per_second: f64) -> Self {
        self.max_rate = Some(per_second);
        self
    }
    /// Deterministic sampling, in (0, 1] (default 1: none): an event with the `sample_key`
    /// parameter is sent only when `sample_keeps(rate, salt, value)`, and then carries
    /// `sr=<rate>`; one without it is sent as it is. Sampled-out events get an id from
    /// `track` but are neither sent nor reported.
    pub fn sample_rate(mut self, rate: f64) -> Self {
        self.sample_rate = Some(rate);
        self
    }
    /// The parameter sampled on (default "userid").
    pub fn sample_key(mut self, name: impl Into<String>) -> Self {
        self.sample_key = Some(name.into());
        self
    }
    /// Bytes hashed before the value (default none).
    pub fn sample_salt(mut self, salt: impl Into<Vec<u8>>) -> Self {
        self.sample_salt = Some(salt.into());
        self
    }
    /// Called once per event with its outcome, on the tracker's worker thread (or on the
    /// thread calling `track` for queue-full drops and suppressed events). A panic in it is
    /// caught and discarded.
    pub fn on_result(mut self, f: impl Fn(&EventResult) + Send + Sync + 'static) -> Self {
        self.on_result = Some(Box::new(f));
        self
    }
    /// The outage notice, one line at a time, on the tracker's worker thread: "endpoint
    /// unreachable: <reason>; ..." when the endpoint is taken as down, "endpoint reachable
    /// again after N ms" when it is back. Same rules as `on_result`; a panic in it is caught
    /// and discarded.
    pub fn on_log(mut self, f: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.on_log = Some(Box::new(f));
        self
    }
}

/// The counters: `queued` and `in_flight` are current counts, the rest running totals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub queued: u64,
    pub in_flight: u64,
    pub delivered: u64,
    pub retried: u64,
    pub failed: u64,
    pub expired: u64,
    pub dropped: u64,
    pub concurrency_limit: u64,
    /// Events under tracking mode `Off`: never sent.
    pub suppressed: u64,
    /// Events lowered by the tracking-mode ceiling or GPC.
    pub mode_lowered: u64,
}

unsafe extern "C" fn trampoline(result: *const ffi::pixel_event_result, user: *mut c_void) {
    if result.is_null() || user.is_null() {
        return;
    }
    let r = &*result;
    let f = &*(user as *const Callback);
    let event = EventResult {
        event_id: cstr(r.event_id),
        outcome: match r.outcome {
            0 => Outcome::Delivered,
            1 => Outcome::Failed,
            2 => Outcome::Expired,
            4 => Outcome::Suppressed,
            _ => Outcome::Dropped,
        },
        attempts: r.attempts,
        http_status: r.http_status as i64,
        transport_error: TransportError::from_c(r.transport_error),
        message: cstr(r.message),
    };
    // Unwinding into C is undefined behaviour: stop it here.
    let _ = catch_unwind(AssertUnwindSafe(|| f(&event)));
}

unsafe extern "C" fn log_trampoline(message: *const c_char, user: *mut c_void) {
    if message.is_null() || user.is_null() {
        return;
    }
    let f = &*(user as *const LogCallback);
    let line = CStr::from_ptr(message).to_string_lossy();
    // Unwinding into C is undefined behaviour: stop it here.
    let _ = catch_unwind(AssertUnwindSafe(|| f(&line)));
}

/// Background delivery of pixel events. `track`, `flush`, `stats` and `shutdown` may be
/// called from any thread (`Tracker` is `Send + Sync`); dropping it shuts it down.
pub struct Tracker {
    handle: *mut ffi::pixel_tracker,
    _callbacks: Callbacks, // held for C until the tracker is freed (Drop)
}

// The callbacks handed to C, owned here and freed once the tracker is (or was never made).
struct Callbacks {
    result: *mut Callback,
    log: *mut LogCallback,
}
impl Drop for Callbacks {
    fn drop(&mut self) {
        unsafe {
            if !self.result.is_null() {
                drop(Box::from_raw(self.result));
            }
            if !self.log.is_null() {
                drop(Box::from_raw(self.log));
            }
        }
    }
}

// SAFETY: the C API makes every function but free safe to call concurrently; free runs
// only in Drop, when no other reference exists.
unsafe impl Send for Tracker {}
unsafe impl Sync for Tracker {}

struct OptionsHandle(*mut ffi::pixel_options);
impl Drop for OptionsHandle {
    fn drop(&mut self) {
        unsafe { ffi::pixel_options_free(self.0) }
    }
}

impl Tracker {
    pub fn new(options: Options) -> Result<Tracker, Error> {
        let o = OptionsHandle(unsafe { ffi::pixel_options_new() });
        if o.0.is_null() {
            return Err(Error { status: Status::Internal, message: "out of memory".into() });
        }
        let p = o.0;
        unsafe {
            check(ffi::pixel_options_set_endpoint(p, c_string(&options.endpoint, "endpoint")?.as_ptr()))?;
            if let Some(n) = options.queue_capacity {
                check(ffi::pixel_options_set_queue_capacity(p, n))?;
            }
            if let Some(policy) = options.overflow {
                let v = match policy {
                    Overflow::DropNew => 0,
                    Overflow::DropOldest => 1,
                    Overflow::Block => 2,
                };
                check(ffi::pixel_options_set_overflow_policy(p, v))?;
            }
            if let Some(d) = options.block_timeout {
                check(ffi::pixel_options_set_block_timeout_ms(p, millis(d)))?;
            }
            if let Some(a) = options.allow_http {
                check(ffi::pixel_options_set_allow_http(p, a as c_int))?;
            }
            if let Some(n) = options.min_in_flight {
                check(ffi::pixel_options_set_min_in_flight(p, n))?;
            }
            if let Some(n) = options.max_in_flight {
                check(ffi::pixel_options_set_max_in_flight(p, n))?;
            }
            if let Some(n) = options.worker_threads {
                check(ffi::pixel_options_set_worker_threads(p, n))?;
            }
            if let Some(d) = options.connect_timeout {
                check(ffi::pixel_options_set_connect_timeout_ms(p, millis(d)))?;
            }
            if let Some(d) = options.request_timeout {
                check(ffi::pixel_options_set_request_timeout_ms(p, millis(d)))?;
            }
            if let Some(n) = options.max_attempts {
                check(ffi::pixel_options_set_max_attempts(p, n))?;
            }
            if let Some(d) = options.max_age {
                check(ffi::pixel_options_set_max_age_ms(p, millis(d)))?;
            }
            if let Some(d) = options.shutdown_timeout {
                check(ffi::pixel_options_set_shutdown_timeout_ms(p, millis(d)))?;
            }
            if let Some(ua) = &options.user_agent {
                check(ffi::pixel_options_set_user_agent(p, c_string(ua, "user agent")?.as_ptr()))?;
            }
            if let Some(ca) = &options.ca_file {
                check(ffi::pixel_options_set_ca_file(p, c_string(ca, "CA file")?.as_ptr()))?;
            }
            if let Some(proxy) = &options.proxy {
                check(ffi::pixel_options_set_proxy(p, c_string(proxy, "proxy")?.as_ptr()))?;
            }
            if let Some(d) = options.backoff_base {
                check(ffi::pixel_options_set_backoff_base_ms(p, millis(d)))?;
            }
            if let Some(d) = options.backoff_max {
                check(ffi::pixel_options_set_backoff_max_ms(p, millis(d)))?;
            }
            if let Some(d) = options.retry_after_cap {
                check(ffi::pixel_options_set_retry_after_cap_ms(p, millis(d)))?;
            }
            if let Some(n) = options.outage_threshold {
                check(ffi::pixel_options_set_outage_threshold(p, n))?;
            }
            if let Some(d) = options.probe_interval {
                check(ffi::pixel_options_set_probe_interval_ms(p, millis(d)))?;
            }
            if let Some(dir) = &options.spool_dir {
                check(ffi::pixel_options_set_spool_dir(p, c_string(dir, "spool dir")?.as_ptr()))?;
            }
            if let Some(level) = options.durability {
                let v = match level {
                    Durability::Memory => 0,
                    Durability::Batched => 1,
                    Durability::Sync => 2,
                };
                check(ffi::pixel_options_set_durability(p, v))?;
            }
            if let Some(bytes) = options.spool_max_bytes {
                check(ffi::pixel_options_set_spool_max_bytes(p, bytes))?;
            }
            if let Some(f) = options.url_flags {
                check(ffi::pixel_options_set_url_flags(p, f.0 as c_uint))?;
            }
            if let Some(k) = &options.signing_key {
                let kid = c_string(&k.kid, "kid")?;
                check(ffi::pixel_options_set_signing_key(p, kid.as_ptr(), k.key.as_ptr(),
                                                         k.key.len()))?;
            }
            if let Some(mode) = options.tracking_mode {
                check(ffi::pixel_options_set_tracking_mode(p, mode.code()))?;
            }
            if let Some(names) = &options.identity_params {
                let owned = names
                    .iter()
                    .map(|n| c_string(n, "identity parameter"))
                    .collect::<Result<Vec<_>, _>>()?;
                let ptrs: Vec<*const c_char> = owned.iter().map(|n| n.as_ptr()).collect();
                check(ffi::pixel_options_set_identity_params(p, ptrs.as_ptr(), ptrs.len()))?;
            }
            if let Some(key) = &options.pseudonym_key {
                check(ffi::pixel_options_set_pseudonym_key(p, key.as_ptr(), key.len()))?;
            }
            if let Some(mode) = options.gpc_mode {
                check(ffi::pixel_options_set_gpc_mode(p, mode.code()))?;
            }
            if let Some(ttl) = options.signature_ttl {
                let secs = u32::try_from(ttl.as_secs()).unwrap_or(u32::MAX);
                check(ffi::pixel_options_set_signature_ttl_s(p, secs))?;
            }
            if let Some(path) = &options.receipts_path {
                check(ffi::pixel_options_set_receipts_path(p, c_string(path, "receipts path")?.as_ptr()))?;
            }
            if let Some(rate) = options.max_rate {
                check(ffi::pixel_options_set_max_rate(p, rate))?;
            }
            if let Some(rate) = options.sample_rate {
                check(ffi::pixel_options_set_sample_rate(p, rate))?;
            }
            if let Some(key) = &options.sample_key {
                check(ffi::pixel_options_set_sample_key(p, c_string(key, "sample key")?.as_ptr()))?;
            }
            if let Some(salt) = &options.sample_salt {
                check(ffi::pixel_options_set_sample_salt(p, salt.as_ptr().cast(), salt.len()))?;
            }
        }
        let callbacks = Callbacks {
            result: options.on_result.map_or(ptr::null_mut(), |f| Box::into_raw(Box::new(f))),
            log: options.on_log.map_or(ptr::null_mut(), |f| Box::into_raw(Box::new(f))),
        };
        let mut handle = ptr::null_mut();
        unsafe {
            if !callbacks.result.is_null() {
                check(ffi::pixel_options_set_result_callback(p, Some(trampoline), callbacks.result.cast()))?;
            }
            if !callbacks.log.is_null() {
                check(ffi::pixel_options_set_log_callback(p, Some(log_trampoline), callbacks.log.cast()))?;
            }
            check(ffi::pixel_tracker_new(p, &mut handle))?;
        }
        Ok(Tracker { handle, _callbacks: callbacks })
    }

    /// Queues one event and returns its id at once (the 26-character eid it is sent with,
    /// and the `event_id` of its `EventResult`); never waits for the network.
    pub fn track(&self, params: &[(&str, &str)]) -> Result<String, Error> {
        self.track_with(params, &EventOptions::default())
    }

    /// As `track`, sending `user_agent` as this event's User-Agent header.
    pub fn track_with_user_agent(&self, params: &[(&str, &str)], user_agent: &str) -> Result<String, Error> {
        self.track_with(params, &EventOptions { user_agent: Some(user_agent), ..Default::default() })
    }

    /// As `track`, with this event's User-Agent, tracking mode and GPC flag. The event goes
    /// out under the most restrictive of `how.mode`, the ceiling and, with `how.gpc`, the
    /// GPC mode; asking for more is lowered, not refused (`Stats::mode_lowered`). Under
    /// `Off` nothing is sent: the id is returned, `Stats::suppressed` counts it, and
    /// `on_result` gets `Outcome::Suppressed` before this returns. `Pseudonymous` without a
    /// pseudonym key is an `InvalidArgument` error.
    pub fn track_with(&self, params: &[(&str, &str)], how: &EventOptions<'_>) -> Result<String, Error> {
        let ps = CParams::new(params)?;
        let ua = match how.user_agent {
            Some(ua) => Some(c_string(ua, "user agent")?),
            None => None,
        };
        let mut event = ffi::pixel_event::new(
            ps.array.as_ptr(),
            ps.array.len(),
            ua.as_ref().map_or(ptr::null(), |u| u.as_ptr()),
        );
        event.tracking_mode = how.mode.map_or(0, TrackingMode::code);
        event.gpc = how.gpc as c_int;
        let mut id = [0 as c_char; ffi::PIXEL_EVENT_ID_SIZE];
        check(unsafe { ffi::pixel_track_event(self.handle, &event, id.as_mut_ptr()) })?;
        Ok(unsafe { cstr(id.as_ptr()) })
    }

    /// Waits until every event tracked so far has an outcome; `Status::Timeout` otherwise.
    pub fn flush(&self, timeout: Duration) -> Result<(), Error> {
        check(unsafe { ffi::pixel_tracker_flush(self.handle, millis(timeout)) })
    }

    pub fn stats(&self) -> Stats {
        let mut s = ffi::pixel_stats::default();
        // Cannot fail with a valid handle and output pointer.
        let _ = unsafe { ffi::pixel_tracker_stats(self.handle, &mut s) };
        Stats {
            queued: s.queued,
            in_flight: s.in_flight,
            delivered: s.delivered,
            retried: s.retried,
            failed: s.failed,
            expired: s.expired,
            dropped: s.dropped,
            concurrency_limit: s.concurrency_limit,
            suppressed: s.suppressed,
            mode_lowered: s.mode_lowered,
        }
    }

    /// Stops accepting events, waits up to `timeout`, drops what is left. Idempotent;
    /// afterwards `track` gives `Status::ShutDown`.
    pub fn shutdown(&self, timeout: Duration) -> Result<(), Error> {
        check(unsafe { ffi::pixel_tracker_shutdown(self.handle, millis(timeout)) })
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        // Before the callbacks (a field, dropped after this): free stops every call to them.
        unsafe { ffi::pixel_tracker_free(self.handle) }
    }
}
