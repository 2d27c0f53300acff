# SPDX-License-Identifier: MIT
"""ctypes declarations of libpixel (include/pixel/pixel.h). Internal: use the package API."""

import ctypes
import ctypes.util
import os
from typing import Any, Dict, Iterator, List, Optional, Tuple

c_status = ctypes.c_int
c_size_p = ctypes.POINTER(ctypes.c_size_t)


class Param(ctypes.Structure):
    _fields_ = [("key", ctypes.c_char_p), ("value", ctypes.c_char_p)]


# The size-prefixed structs (pixel.h): `size` first, fields appended in later versions.
# tests/test_abi.py checks every layout here against the C compiler's (abi_layout.c).
class Stats(ctypes.Structure):
    _fields_ = [("size", ctypes.c_size_t)] + [
        (name, ctypes.c_uint64) for name in
        ("queued", "in_flight", "delivered", "retried", "failed", "expired", "dropped",
         "concurrency_limit", "suppressed", "mode_lowered", "sampled_out",
         "receipts_unwritten", "endpoint_down_since_ms")] + [
        ("last_failure", ctypes.c_char * 256)]

    def __init__(self) -> None:
        super().__init__(ctypes.sizeof(Stats))


class EventResult(ctypes.Structure):
    _fields_ = [
        ("size", ctypes.c_size_t),
        ("event_id", ctypes.c_char_p),
        ("outcome", ctypes.c_int),
        ("attempts", ctypes.c_uint32),
        ("http_status", ctypes.c_long),
        ("transport_error", ctypes.c_int),
        ("message", ctypes.c_char_p),
    ]


class Event(ctypes.Structure):
    _fields_ = [
        ("size", ctypes.c_size_t),
        ("params", ctypes.POINTER(Param)),
        ("count", ctypes.c_size_t),
        ("user_agent", ctypes.c_char_p),
        ("tracking_mode", ctypes.c_int),  # 0: PIXEL_TRACKING_DEFAULT
        ("gpc", ctypes.c_int),
    ]

    def __init__(self, params: Any, count: int, user_agent: Optional[bytes],
                 tracking_mode: int = 0, gpc: int = 0) -> None:
        super().__init__(ctypes.sizeof(Event), params, count, user_agent, tracking_mode, gpc)


STRUCTS: Dict[str, Any] = {"pixel_param": Param, "pixel_stats": Stats, "pixel_event_result": EventResult,
           "pixel_event": Event}


EVENT_ID_SIZE = 27

RESULT_CALLBACK = ctypes.CFUNCTYPE(None, ctypes.POINTER(EventResult), ctypes.c_void_p)
LOG_CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_void_p)

# name: (restype, argtypes). Every function of pixel.h.
_opts = ctypes.c_void_p
_trk = ctypes.c_void_p
SIGNATURES: Dict[str, Tuple[Any, List[Any]]] = {
    "pixel_version": (ctypes.c_char_p, []),
    "pixel_status_str": (ctypes.c_char_p, [c_status]),
    "pixel_last_error": (ctypes.c_char_p, []),
    "pixel_transport_error_str": (ctypes.c_char_p, [ctypes.c_int]),
    "pixel_url_build": (c_status, [ctypes.c_char_p, ctypes.POINTER(Param), ctypes.c_size_t,
                                   ctypes.c_uint, ctypes.c_char_p, ctypes.c_size_t, c_size_p]),
    "pixel_img_tag": (c_status, [ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                                 ctypes.c_size_t, c_size_p]),
    "pixel_options_new": (_opts, []),
    "pixel_options_free": (None, [_opts]),
    "pixel_options_set_endpoint": (c_status, [_opts, ctypes.c_char_p]),
    "pixel_options_set_queue_capacity": (c_status, [_opts, ctypes.c_size_t]),
    "pixel_options_set_overflow_policy": (c_status, [_opts, ctypes.c_int]),
    "pixel_options_set_block_timeout_ms": (c_status, [_opts, ctypes.c_uint32]),
    "pixel_options_set_allow_http": (c_status, [_opts, ctypes.c_int]),
    "pixel_options_set_min_in_flight": (c_status, [_opts, ctypes.c_size_t]),
    "pixel_options_set_max_in_flight": (c_status, [_opts, ctypes.c_size_t]),
    "pixel_options_set_worker_threads": (c_status, [_opts, ctypes.c_size_t]),
    "pixel_options_set_connect_timeout_ms": (c_status, [_opts, ctypes.c_uint32]),
    "pixel_options_set_request_timeout_ms": (c_status, [_opts, ctypes.c_uint32]),
    "pixel_options_set_max_attempts": (c_status, [_opts, ctypes.c_uint32]),
    "pixel_options_set_max_age_ms": (c_status, [_opts, ctypes.c_uint32]),
    "pixel_options_set_shutdown_timeout_ms": (c_status, [_opts, ctypes.c_uint32]),
    "pixel_options_set_user_agent": (c_status, [_opts, ctypes.c_char_p]),
    "pixel_options_set_ca_file": (c_status, [_opts, ctypes.c_char_p]),
    "pixel_options_set_proxy": (c_status, [_opts, ctypes.c_char_p]),
    "pixel_options_set_backoff_base_ms": (c_status, [_opts, ctypes.c_uint32]),
    "pixel_options_set_backoff_max_ms": (c_status, [_opts, ctypes.c_uint32]),
    "pixel_options_set_retry_after_cap_ms": (c_status, [_opts, ctypes.c_uint32]),
    "pixel_options_set_outage_threshold": (c_status, [_opts, ctypes.c_uint32]),
    "pixel_options_set_probe_interval_ms": (c_status, [_opts, ctypes.c_uint32]),
    "pixel_options_set_url_flags": (c_status, [_opts, ctypes.c_uint]),
    "pixel_options_set_spool_dir": (c_status, [_opts, ctypes.c_char_p]),
    "pixel_options_set_durability": (c_status, [_opts, ctypes.c_int]),
    "pixel_options_set_spool_max_bytes": (c_status, [_opts, ctypes.c_uint64]),
    "pixel_options_set_result_callback": (c_status, [_opts, RESULT_CALLBACK, ctypes.c_void_p]),
    "pixel_options_set_log_callback": (c_status, [_opts, LOG_CALLBACK, ctypes.c_void_p]),
    "pixel_tracker_new": (c_status, [_opts, ctypes.POINTER(ctypes.c_void_p)]),
    "pixel_track": (c_status, [_trk, ctypes.POINTER(Param), ctypes.c_size_t]),
    "pixel_track_with_user_agent": (c_status, [_trk, ctypes.POINTER(Param), ctypes.c_size_t,
                                               ctypes.c_char_p]),
    "pixel_track_event": (c_status, [_trk, ctypes.POINTER(Event), ctypes.c_char_p]),
    "pixel_tracker_flush": (c_status, [_trk, ctypes.c_uint32]),
    "pixel_tracker_stats": (c_status, [_trk, ctypes.POINTER(Stats)]),
    "pixel_tracker_shutdown": (c_status, [_trk, ctypes.c_uint32]),
    "pixel_tracker_free": (None, [_trk]),
    # Tracking modes.
    "pixel_options_set_tracking_mode": (c_status, [_opts, ctypes.c_int]),
    "pixel_options_set_identity_params": (c_status, [_opts, ctypes.POINTER(ctypes.c_char_p),
                                                     ctypes.c_size_t]),
    "pixel_options_set_pseudonym_key": (c_status, [_opts, ctypes.c_char_p, ctypes.c_size_t]),
    "pixel_options_set_gpc_mode": (c_status, [_opts, ctypes.c_int]),
    # Signed URLs.
    "pixel_options_set_signing_key": (c_status, [_opts, ctypes.c_char_p, ctypes.c_char_p,
                                                 ctypes.c_size_t]),
    "pixel_options_set_signature_ttl_s": (c_status, [_opts, ctypes.c_uint32]),
    "pixel_url_build_signed": (c_status, [ctypes.c_char_p, ctypes.POINTER(Param),
                                          ctypes.c_size_t, ctypes.c_uint, ctypes.c_char_p,
                                          ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint32,
                                          ctypes.c_char_p, ctypes.c_size_t, c_size_p]),
    # The sink's capacity: receipts, pacing, sampling.
    "pixel_options_set_receipts_path": (c_status, [_opts, ctypes.c_char_p]),
    "pixel_options_set_max_rate": (c_status, [_opts, ctypes.c_double]),
    "pixel_options_set_sample_rate": (c_status, [_opts, ctypes.c_double]),
    "pixel_options_set_sample_key": (c_status, [_opts, ctypes.c_char_p]),
    "pixel_options_set_sample_salt": (c_status, [_opts, ctypes.c_char_p, ctypes.c_size_t]),
    "pixel_sample_keeps": (c_status, [ctypes.c_double, ctypes.c_char_p, ctypes.c_size_t,
                                      ctypes.c_char_p, ctypes.c_size_t,
                                      ctypes.POINTER(ctypes.c_int)]),
}


# libpixel.so.<ABI> first (PIXEL_ABI_VERSION; tests/test_abi.py checks it).
LIBRARY_NAMES = ("libpixel.so.1", "libpixel.so", "libpixel.dylib", "pixel.dll")


def _candidates() -> Iterator[str]:
    env = os.environ.get("PIXEL_LIBRARY")
    if env:
        # An explicit choice: no fallback, so a wrong path fails loudly.
        yield env
        return
    here = os.path.dirname(os.path.abspath(__file__))
    for name in LIBRARY_NAMES:
        path = os.path.join(here, name)
        if os.path.exists(path):
            yield path
    found = ctypes.util.find_library("pixel")
    if found:
        yield found
    yield LIBRARY_NAMES[0]


def load() -> ctypes.CDLL:
    errors: List[str] = []
    for candidate in _candidates():
        try:
            lib = ctypes.CDLL(candidate)
        except OSError as e:
            errors.append(f"{candidate}: {e}")
            continue
        for name, (restype, argtypes) in SIGNATURES.items():
            fn = getattr(lib, name)
            fn.restype = restype
            fn.argtypes = argtypes
        return lib
    raise OSError("cannot load libpixel (set PIXEL_LIBRARY to the path of libpixel.so): "
                  + "; ".join(errors))


lib = load()
