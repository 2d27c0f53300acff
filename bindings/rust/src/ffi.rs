// SPDX-License-Identifier: MIT
//! Raw declarations of include/pixel/pixel.h. Prefer the safe API at the crate root.
#![allow(non_camel_case_types)]

use std::os::raw::{c_char, c_double, c_int, c_long, c_uint, c_void};

pub type pixel_status = c_int;
pub const PIXEL_OK: pixel_status = 0;
pub const PIXEL_ERR_BUFFER_TOO_SMALL: pixel_status = 6;
pub const PIXEL_ERR_TIMEOUT: pixel_status = 9;

pub const PIXEL_URL_EVENT_ID: c_uint = 1;
pub const PIXEL_URL_TIMESTAMP: c_uint = 2;

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct pixel_param {
    pub key: *const c_char,
    pub value: *const c_char,
}

// The size-prefixed structs of pixel.h: `size` first, fields appended in later versions.
// tests/abi.rs checks every layout here against the C compiler's (bindings/abi_layout.c).

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct pixel_stats {
    pub size: usize,
    pub queued: u64,
    pub in_flight: u64,
    pub delivered: u64,
    pub retried: u64,
    pub failed: u64,
    pub expired: u64,
    pub dropped: u64,
    pub concurrency_limit: u64,
    pub suppressed: u64,
    pub mode_lowered: u64,
    pub sampled_out: u64,
    pub receipts_unwritten: u64,
    pub endpoint_down_since_ms: u64,
    pub last_failure: [c_char; 256],
}

impl Default for pixel_stats {
    /// Zero counters, `size` set (what PIXEL_STATS_INIT gives C).
    fn default() -> Self {
        pixel_stats {
            size: std::mem::size_of::<pixel_stats>(),
            queued: 0,
            in_flight: 0,
            delivered: 0,
            retried: 0,
            failed: 0,
            expired: 0,
            dropped: 0,
            concurrency_limit: 0,
            suppressed: 0,
            mode_lowered: 0,
            sampled_out: 0,
            receipts_unwritten: 0,
            endpoint_down_since_ms: 0,
            last_failure: [0; 256],
        }
    }
}

#[repr(C)]
#[derive(Debug)]
pub struct pixel_event_result {
    pub size: usize,
    pub event_id: *const c_char,
    pub outcome: c_int,
    pub attempts: u32,
    pub http_status: c_long,
    pub transport_error: c_int,
    pub message: *const c_char,
}

pub const PIXEL_EVENT_ID_SIZE: usize = 27;

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct pixel_event {
    pub size: usize,
    pub params: *const pixel_param,
    pub count: usize,
    pub user_agent: *const c_char,
    pub tracking_mode: c_int, // 0: PIXEL_TRACKING_DEFAULT
    pub gpc: c_int,
}

impl pixel_event {
    /// An event with `size` set (what PIXEL_EVENT_INIT gives C).
    pub fn new(params: *const pixel_param, count: usize, user_agent: *const c_char) -> Self {
        pixel_event {
            size: std::mem::size_of::<pixel_event>(),
            params,
            count,
            user_agent,
            tracking_mode: 0,
            gpc: 0,
        }
    }
}

/// libpixel.so.<ABI> (PIXEL_ABI_VERSION), the file the build links and loads.
pub const LIBRARY_NAME: &str = "libpixel.so.1";

#[repr(C)]
pub struct pixel_options {
    _private: [u8; 0],
}

#[repr(C)]
pub struct pixel_tracker {
    _private: [u8; 0],
}

pub type pixel_result_callback =
    Option<unsafe extern "C" fn(result: *const pixel_event_result, user: *mut c_void)>;
pub type pixel_log_callback = Option<unsafe extern "C" fn(message: *const c_char, user: *mut c_void)>;

extern "C" {
    pub fn pixel_version() -> *const c_char;
    pub fn pixel_status_str(status: pixel_status) -> *const c_char;
    pub fn pixel_last_error() -> *const c_char;
    pub fn pixel_transport_error_str(error: c_int) -> *const c_char;
    pub fn pixel_url_build(
        endpoint: *const c_char,
        params: *const pixel_param,
        count: usize,
        flags: c_uint,
        buf: *mut c_char,
        buf_size: usize,
        out_len: *mut usize,
    ) -> pixel_status;
    pub fn pixel_img_tag(
        url: *const c_char,
        style: c_int,
        buf: *mut c_char,
        buf_size: usize,
        out_len: *mut usize,
    ) -> pixel_status;
    pub fn pixel_options_new() -> *mut pixel_options;
    pub fn pixel_options_free(options: *mut pixel_options);
    pub fn pixel_options_set_endpoint(o: *mut pixel_options, url: *const c_char) -> pixel_status;
    pub fn pixel_options_set_queue_capacity(o: *mut pixel_options, capacity: usize)
        -> pixel_status;
    pub fn pixel_options_set_overflow_policy(o: *mut pixel_options, policy: c_int)
        -> pixel_status;
    pub fn pixel_options_set_block_timeout_ms(o: *mut pixel_options, ms: u32) -> pixel_status;
    pub fn pixel_options_set_allow_http(o: *mut pixel_options, allow: c_int) -> pixel_status;
    pub fn pixel_options_set_min_in_flight(o: *mut pixel_options, count: usize) -> pixel_status;
    pub fn pixel_options_set_max_in_flight(o: *mut pixel_options, count: usize) -> pixel_status;
    pub fn pixel_options_set_worker_threads(o: *mut pixel_options, count: usize) -> pixel_status;
    pub fn pixel_options_set_connect_timeout_ms(o: *mut pixel_options, ms: u32) -> pixel_status;
    pub fn pixel_options_set_request_timeout_ms(o: *mut pixel_options, ms: u32) -> pixel_status;
    pub fn pixel_options_set_max_attempts(o: *mut pixel_options, attempts: u32) -> pixel_status;
    pub fn pixel_options_set_max_age_ms(o: *mut pixel_options, ms: u32) -> pixel_status;
    pub fn pixel_options_set_shutdown_timeout_ms(o: *mut pixel_options, ms: u32)
        -> pixel_status;
    pub fn pixel_options_set_user_agent(o: *mut pixel_options, ua: *const c_char)
        -> pixel_status;
    pub fn pixel_options_set_ca_file(o: *mut pixel_options, path: *const c_char) -> pixel_status;
    pub fn pixel_options_set_proxy(o: *mut pixel_options, proxy: *const c_char) -> pixel_status;
    pub fn pixel_options_set_backoff_base_ms(o: *mut pixel_options, ms: u32) -> pixel_status;
    pub fn pixel_options_set_backoff_max_ms(o: *mut pixel_options, ms: u32) -> pixel_status;
    pub fn pixel_options_set_retry_after_cap_ms(o: *mut pixel_options, ms: u32) -> pixel_status;
    pub fn pixel_options_set_outage_threshold(o: *mut pixel_options, failures: u32)
        -> pixel_status;
    pub fn pixel_options_set_probe_interval_ms(o: *mut pixel_options, ms: u32) -> pixel_status;
    pub fn pixel_options_set_url_flags(o: *mut pixel_options, flags: c_uint) -> pixel_status;
    pub fn pixel_options_set_spool_dir(o: *mut pixel_options, dir: *const c_char) -> pixel_status;
    pub fn pixel_options_set_durability(o: *mut pixel_options, level: c_int) -> pixel_status;
    pub fn pixel_options_set_spool_max_bytes(o: *mut pixel_options, bytes: u64) -> pixel_status;
    pub fn pixel_options_set_result_callback(
        o: *mut pixel_options,
        callback: pixel_result_callback,
        user: *mut c_void,
    ) -> pixel_status;
    pub fn pixel_options_set_log_callback(
        o: *mut pixel_options,
        callback: pixel_log_callback,
        user: *mut c_void,
    ) -> pixel_status;
    pub fn pixel_tracker_new(o: *const pixel_options, out: *mut *mut pixel_tracker)
        -> pixel_status;
    pub fn pixel_track(t: *mut pixel_tracker, params: *const pixel_param, count: usize)
        -> pixel_status;
    pub fn pixel_track_with_user_agent(
        t: *mut pixel_tracker,
        params: *const pixel_param,
        count: usize,
        user_agent: *const c_char,
    ) -> pixel_status;
    pub fn pixel_track_event(
        t: *mut pixel_tracker,
        event: *const pixel_event,
        id_out: *mut c_char,
    ) -> pixel_status;
    pub fn pixel_tracker_flush(t: *mut pixel_tracker, timeout_ms: u32) -> pixel_status;
    pub fn pixel_tracker_stats(t: *const pixel_tracker, out: *mut pixel_stats) -> pixel_status;
    pub fn pixel_tracker_shutdown(t: *mut pixel_tracker, timeout_ms: u32) -> pixel_status;
    pub fn pixel_tracker_free(t: *mut pixel_tracker);
    pub fn pixel_options_set_tracking_mode(o: *mut pixel_options, mode: c_int) -> pixel_status;
    pub fn pixel_options_set_identity_params(
        o: *mut pixel_options,
        names: *const *const c_char,
        count: usize,
    ) -> pixel_status;
    pub fn pixel_options_set_pseudonym_key(o: *mut pixel_options, key: *const u8, len: usize)
        -> pixel_status;
    pub fn pixel_options_set_gpc_mode(o: *mut pixel_options, mode: c_int) -> pixel_status;
    pub fn pixel_options_set_signing_key(
        o: *mut pixel_options,
        kid: *const c_char,
        key: *const u8,
        key_len: usize,
    ) -> pixel_status;
    pub fn pixel_options_set_signature_ttl_s(o: *mut pixel_options, seconds: u32) -> pixel_status;
    pub fn pixel_url_build_signed(
        endpoint: *const c_char,
        params: *const pixel_param,
        count: usize,
        flags: c_uint,
        kid: *const c_char,
        key: *const u8,
        key_len: usize,
        ttl_s: u32,
        buf: *mut c_char,
        buf_size: usize,
        out_len: *mut usize,
    ) -> pixel_status;
    // The sink's capacity: receipts, pacing, sampling.
    pub fn pixel_options_set_receipts_path(o: *mut pixel_options, path: *const c_char)
        -> pixel_status;
    pub fn pixel_options_set_max_rate(o: *mut pixel_options, per_second: c_double)
        -> pixel_status;
    pub fn pixel_options_set_sample_rate(o: *mut pixel_options, rate: c_double) -> pixel_status;
    pub fn pixel_options_set_sample_key(o: *mut pixel_options, key: *const c_char)
        -> pixel_status;
    pub fn pixel_options_set_sample_salt(o: *mut pixel_options, salt: *const c_void, len: usize)
        -> pixel_status;
    pub fn pixel_sample_keeps(
        rate: c_double,
        salt: *const c_void,
        salt_len: usize,
        value: *const c_char,
        value_len: usize,
        keep: *mut c_int,
    ) -> pixel_status;
}
