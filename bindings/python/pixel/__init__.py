# SPDX-License-Identifier: MIT
"""Tracking-pixel URLs, <img> tags and background delivery, over libpixel (the C API).

    import pixel
    url = pixel.build_url("https://d111111abcdef8.cloudfront.net", {"userid": "aws_user"})
    with pixel.Tracker("https://d111111abcdef8.cloudfront.net", queue_capacity=50_000) as t:
        t.track({"userid": "aws_user", "thirdpartyname": "example.com"})
        t.flush(timeout=5.0)

The library is found through PIXEL_LIBRARY (a path to libpixel.so), else next to this
package, else the system loader.
"""

import atexit
import builtins
import ctypes
import logging
import math
import weakref
from typing import (Any, Callable, Dict, Iterable, List, Mapping, NamedTuple, Optional, Tuple,
                    Union)

from . import _native
from ._native import lib as _lib

__all__ = [
    "version", "build_url", "img_tag", "Tracker", "EventResult", "PixelError",
    "InvalidArgumentError", "InvalidEndpointError", "InvalidUtf8Error", "EmptyKeyError",
    "UrlTooLongError", "BufferTooSmallError", "QueueFullError", "ShutDownError",
    "TimeoutError", "InternalError", "SpoolError", "OUTCOMES", "TRANSPORT_ERRORS",
    "build_signed_url", "TRACKING_MODES", "gpc_from_wsgi", "gpc_from_asgi", "sample_keeps",
    "ArgumentTypeError", "Params", "ParamValue",
]

# A parameter's value: text (bytes pass through as they are; the library checks they are
# UTF-8), or a number, turned into text with str().
ParamValue = Union[str, bytes, int, float]
# Parameters: a mapping, or (key, value) pairs (order kept, duplicates allowed); None: none.
Params = Union[Mapping[str, ParamValue], Iterable[Tuple[str, ParamValue]], None]


class PixelError(Exception):
    """A libpixel failure. `status` is the C pixel_status value, `message` its detail."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class InvalidArgumentError(PixelError, ValueError): pass  # noqa: E701
class InvalidEndpointError(PixelError, ValueError): pass  # noqa: E701
class InvalidUtf8Error(PixelError, ValueError): pass  # noqa: E701
class EmptyKeyError(PixelError, ValueError): pass  # noqa: E701
class UrlTooLongError(PixelError, ValueError): pass  # noqa: E701
class BufferTooSmallError(PixelError): pass  # noqa: E701
class QueueFullError(PixelError): pass  # noqa: E701
class ShutDownError(PixelError): pass  # noqa: E701
# Also the builtin TimeoutError, so `except TimeoutError` catches it either way.
class TimeoutError(PixelError, builtins.TimeoutError): pass  # noqa: E701,A001
class InternalError(PixelError): pass  # noqa: E701
class SpoolError(PixelError): pass  # noqa: E701 - spool in use, unwritable, full or corrupt
# An argument of the wrong type (a number where text is needed, params that are neither a
# mapping nor pairs, a key that is not bytes): the builtin TypeError, and the library's
# INVALID_ARGUMENT like a bad value.
class ArgumentTypeError(InvalidArgumentError, TypeError): pass  # noqa: E701


_ERRORS: Dict[int, type] = {
    1: InvalidArgumentError, 2: InvalidEndpointError, 3: InvalidUtf8Error, 4: EmptyKeyError,
    5: UrlTooLongError, 6: BufferTooSmallError, 7: QueueFullError, 8: ShutDownError,
    9: TimeoutError, 10: InternalError, 11: SpoolError,
}
_BUFFER_TOO_SMALL = 6

URL_EVENT_ID = 1
URL_TIMESTAMP = 2
_STYLES: Dict[str, int] = {"email": 0, "page": 1}
_OVERFLOW: Dict[str, int] = {"drop_new": 0, "drop_oldest": 1, "block": 2}
_DURABILITY: Dict[str, int] = {"memory": 0, "batched": 1, "sync": 2}
OUTCOMES = ("delivered", "failed", "expired", "dropped", "suppressed")
_STAT_NAMES = ("queued", "in_flight", "delivered", "retried", "failed", "expired", "dropped",
               "concurrency_limit", "suppressed", "mode_lowered")

# Tracking modes (docs/privacy.md), from most to least restrictive; their C values are 1..4
# (0, PIXEL_TRACKING_DEFAULT, is "none asked": None here).
TRACKING_MODES = ("off", "aggregate", "pseudonymous", "identified")

# Why an attempt got no HTTP response ("none": it got one, whatever its status).
TRANSPORT_ERRORS = ("none", "dns", "connect", "tls", "certificate", "timeout", "reset", "send",
                    "receive", "protocol", "other")

class EventResult(NamedTuple):
    """What an on_result callback receives, once per event."""
    event_id: str
    outcome: str          # one of OUTCOMES
    attempts: int
    http_status: int      # the last HTTP status, 0 when no response came
    transport_error: str  # one of TRANSPORT_ERRORS
    message: str          # why, for anything but "delivered"; "" when delivered


# The tracker's outage notice (pixel_options_set_log_callback): "endpoint unreachable: ..."
# as WARNING when the endpoint is taken as down, "endpoint reachable again after N ms" as
# INFO when it is back. Called on the tracker's worker thread.
_LOGGER = logging.getLogger("pixel")


def _log_line(message: Optional[bytes], _user: Any) -> None:
    text = (message or b"").decode("utf-8", "replace")
    level = logging.INFO if text.startswith("endpoint reachable again") else logging.WARNING
    _LOGGER.log(level, "%s", text)


def _error(status: int) -> PixelError:
    message = bytes(_lib.pixel_last_error()).decode("utf-8", "replace")
    text = bytes(_lib.pixel_status_str(status)).decode()
    cls = _ERRORS.get(status, PixelError)
    error: PixelError = cls(status, f"{text}: {message}" if message else text)
    return error


def _check(status: int) -> None:
    if status != 0:
        raise _error(status)


def _type_error(what: str, wanted: str, value: object) -> ArgumentTypeError:
    return ArgumentTypeError(1, f"{what} must be {wanted}, not {type(value).__name__}")


def _bytes(value: object, what: str) -> bytes:
    """UTF-8 bytes for C. str goes through surrogatepass so that text that is not valid
    Unicode reaches the library and gets its typed error; bytes pass through as they are."""
    if isinstance(value, bytes):
        b = value
    elif isinstance(value, str):
        b = value.encode("utf-8", "surrogatepass")
    else:
        raise _type_error(what, "str or bytes", value)
    if b"\0" in b:
        raise InvalidArgumentError(1, f"{what} contains a NUL character")
    return b


def _text(value: object, what: str) -> bytes:
    """UTF-8 bytes for C of a value that must be str (an endpoint, a URL, an option)."""
    if not isinstance(value, str):
        raise _type_error(what, "str", value)
    return _bytes(value, what)


_Pairs = List[Tuple[bytes, bytes]]


def _params(params: Params) -> Tuple["ctypes.Array[_native.Param]", int, _Pairs]:
    """A ctypes pixel_param array (and the bytes it points into) from a mapping or pairs."""
    if params is None:
        params = ()
    if isinstance(params, (str, bytes, bytearray)) or not isinstance(params, (Mapping, Iterable)):
        raise _type_error("params", "a mapping or (key, value) pairs", params)
    items: Iterable[Any] = params.items() if isinstance(params, Mapping) else params
    pairs: _Pairs = []
    for item in items:
        if isinstance(item, (str, bytes)):
            raise _type_error("each parameter", "a (key, value) pair", item)
        try:
            k, v = item
        except (TypeError, ValueError):
            raise ArgumentTypeError(
                1, f"parameter {item!r} is not a (key, value) pair") from None
        if isinstance(v, (int, float)):
            v = str(v)
        pairs.append((_bytes(k, "key"), _bytes(v, "value")))
    arr = (_native.Param * max(len(pairs), 1))()
    for i, (kb, vb) in enumerate(pairs):
        arr[i].key = kb
        arr[i].value = vb
    return arr, len(pairs), pairs


def _into_buffer(call: Callable[[Any, int, Any], Any]) -> str:
    """Runs call(buf, size, out_len) with a growing buffer, snprintf-style."""
    size = 1024
    while True:
        buf = ctypes.create_string_buffer(size)
        out_len = ctypes.c_size_t(0)
        status = int(call(buf, size, ctypes.byref(out_len)))
        if status == _BUFFER_TOO_SMALL and out_len.value + 1 > size:
            size = out_len.value + 1
            continue
        _check(status)
        return buf.raw[:out_len.value].decode("utf-8")


def version() -> str:
    """The libpixel version, e.g. "0.1.0"."""
    return bytes(_lib.pixel_version()).decode()


def build_url(endpoint: str, params: Params = (), event_id: bool = True,
              timestamp: bool = True) -> str:
    """The pixel URL for `endpoint` with `params` (a dict or a list of pairs, order kept),
    plus an event id and a timestamp unless switched off. Raises PixelError subclasses
    (ArgumentTypeError, also a TypeError, for arguments of the wrong type)."""
    ep = _text(endpoint, "endpoint")
    arr, n, _keep = _params(params)
    flags = (URL_EVENT_ID if event_id else 0) | (URL_TIMESTAMP if timestamp else 0)
    return _into_buffer(lambda buf, size, out: _lib.pixel_url_build(ep, arr, n, flags, buf, size, out))


def _ttl(ttl: object) -> int:
    if not isinstance(ttl, int) or isinstance(ttl, bool):
        raise _type_error("ttl", "a whole number of seconds (0: 30 days)", ttl)
    if not 0 <= ttl <= 0xFFFFFFFF:
        raise InvalidArgumentError(1, "ttl must be a whole number of seconds (0: 30 days)")
    return ttl


def _raw(value: object, what: str) -> bytes:
    if not isinstance(value, (bytes, bytearray)):
        raise _type_error(what, "bytes", value)
    return bytes(value)


def _signing(kid: str, key: bytes, ttl: int) -> Tuple[bytes, bytes, int]:
    """C arguments for a signing key: kid bytes, raw key bytes, ttl seconds (0: 30 days)."""
    raw = _raw(key, "key (the raw key; decode base64 first)")
    return _text(kid, "kid"), raw, _ttl(ttl)


def build_signed_url(endpoint: str, params: Params = (), *, kid: str, key: bytes, ttl: int = 0,
                     event_id: bool = True, timestamp: bool = True) -> str:
    """As build_url, signed (kid, exp, sig) with `key` (raw bytes, at least 16) named `kid`,
    valid `ttl` seconds (0: 30 days). Raises InvalidArgumentError for a bad kid or key, or a
    parameter named kid, exp or sig; messages never contain the key."""
    ep = _text(endpoint, "endpoint")
    arr, n, _keep = _params(params)
    k, raw, ttl = _signing(kid, key, ttl)
    flags = (URL_EVENT_ID if event_id else 0) | (URL_TIMESTAMP if timestamp else 0)
    return _into_buffer(lambda buf, size, out: _lib.pixel_url_build_signed(
        ep, arr, n, flags, k, raw, len(raw), ttl, buf, size, out))


def img_tag(url: str, style: str = "email") -> str:
    """The <img> tag for `url`; style "email" or "page"."""
    if not isinstance(style, str):
        raise _type_error("style", "str", style)
    if style not in _STYLES:
        raise InvalidArgumentError(1, f"style must be 'email' or 'page', not {style!r}")
    u = _text(url, "url")
    return _into_buffer(lambda buf, size, out: _lib.pixel_img_tag(u, _STYLES[style], buf, size, out))


def sample_keeps(rate: float, salt: bytes, value: Union[str, bytes]) -> bool:
    """The sampling decision a tracker with sample_rate=rate and sample_salt=salt makes for
    an event whose sample-key parameter is `value`: True when the first 8 bytes of
    SHA-256(salt followed by value), read as a big-endian unsigned 64-bit number, are below
    rate x 2^64. The same in every binding and in C and C++."""
    r = _number(rate, "rate")
    s = _raw(salt, "salt")
    v = _bytes(value, "value")
    keep = ctypes.c_int(0)
    _check(_lib.pixel_sample_keeps(r, s, len(s), v, len(v), ctypes.byref(keep)))
    return keep.value != 0


def _number(value: object, what: str) -> float:
    """A float for C; whether it is in range is the library's to say."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise _type_error(what, "a number", value)
    return float(value)


def _ms(seconds: object, what: str) -> int:
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
        raise _type_error(what, "a number of seconds", seconds)
    if seconds < 0 or math.isnan(seconds):
        raise InvalidArgumentError(1, f"{what} must be a non-negative number of seconds")
    return min(int(round(min(seconds, 0xFFFFFFFF) * 1000)), 0xFFFFFFFF)


def _count(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _type_error(what, "an int", value)
    if value < 0:
        raise InvalidArgumentError(1, f"{what} must be a non-negative int")
    return value


def _mode(value: Optional[str], what: str) -> int:
    """The C pixel_tracking_mode of a mode name (None: PIXEL_TRACKING_DEFAULT)."""
    if value is None:
        return 0
    if not isinstance(value, str):
        raise _type_error(what, "str or None", value)
    if value not in TRACKING_MODES:
        raise InvalidArgumentError(
            1, f"{what} must be one of {', '.join(TRACKING_MODES)}, not {value!r}")
    return TRACKING_MODES.index(value) + 1


def gpc_from_wsgi(environ: Mapping[str, Any]) -> bool:
    """True when the WSGI request carries `Sec-GPC: 1` (Global Privacy Control): pass it
    as track(..., gpc=...)."""
    value = environ.get("HTTP_SEC_GPC")
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return isinstance(value, str) and value.strip() == "1"


def gpc_from_asgi(scope: Mapping[str, Any]) -> bool:
    """True when the ASGI (HTTP or WebSocket) scope's headers carry `Sec-GPC: 1` (Global
    Privacy Control); header names are matched without regard to case."""
    for name, value in scope.get("headers") or ():
        if _latin1(name).lower() == b"sec-gpc":
            return _latin1(value).strip() == b"1"
    return False


def _latin1(value: Union[bytes, str]) -> bytes:
    return value.encode("latin-1", "replace") if isinstance(value, str) else bytes(value)


class Tracker:
    """Background delivery of pixel events (a libpixel tracker).

    Options (keyword arguments; times in seconds): queue_capacity, overflow ("drop_new",
    "drop_oldest", "block"), block_timeout, allow_http, min_in_flight, max_in_flight,
    worker_threads, connect_timeout, request_timeout, max_attempts, max_age, backoff_base,
    backoff_max, retry_after_cap, outage_threshold, probe_interval, shutdown_timeout,
    user_agent, ca_file, proxy, event_id, timestamp, on_result (called with an EventResult
    from a worker thread).
    The outage notice goes to the logging logger "pixel": WARNING "endpoint unreachable:
    <reason>; ..." when the endpoint is taken as down, INFO "endpoint reachable again after
    N ms" when it is back.
    Signed URLs: signing_key=(kid, raw key bytes) signs every event; signature_ttl (seconds,
    default 30 days) is how long each URL stays valid.
    Durable delivery: spool_dir (events also wait in a spool there, and what an earlier run
    left is delivered too; SpoolError when it is in use, unwritable or corrupt), durability
    ("memory", "batched", "sync": track() returns once the event is on disk),
    spool_max_bytes.
    Tracking modes (docs/privacy.md): tracking_mode, the ceiling on every event's mode
    ("off", "aggregate", "pseudonymous", "identified", the default); identity_params, the
    parameter names that identify a person (default ("userid", "email", "recipient"));
    pseudonym_key (bytes, at least 16; needed for "pseudonymous"); gpc_mode, the most an
    event with gpc=True may carry (default "aggregate").
    The sink's capacity (docs/capacity.md): receipts_path, a file that gets one JSON line
    per event with its outcome; max_rate, requests started per second at most (0: unpaced);
    sample_rate in (0, 1] with sample_key (default "userid") and sample_salt (bytes): an
    event with that parameter is sent only when sample_keeps(sample_rate, sample_salt, its
    value), and then carries sr=<rate>.
    Values are checked once, by the library, when the tracker is created; a value of the
    wrong type raises ArgumentTypeError (also a TypeError) here.

    track(), flush(), stats() and close() may be called from any thread. close() (or
    leaving the `with` block) shuts down, waiting up to its timeout.
    """

    # Option name: (C setter, conversion of the value into its one argument).
    _SETTERS: Dict[str, Tuple[str, Callable[[Any, str], Any]]] = {
        "queue_capacity": ("pixel_options_set_queue_capacity", _count),
        "block_timeout": ("pixel_options_set_block_timeout_ms", _ms),
        "allow_http": ("pixel_options_set_allow_http", lambda v, _: 1 if v else 0),
        "min_in_flight": ("pixel_options_set_min_in_flight", _count),
        "max_in_flight": ("pixel_options_set_max_in_flight", _count),
        "worker_threads": ("pixel_options_set_worker_threads", _count),
        "connect_timeout": ("pixel_options_set_connect_timeout_ms", _ms),
        "request_timeout": ("pixel_options_set_request_timeout_ms", _ms),
        "max_attempts": ("pixel_options_set_max_attempts", _count),
        "max_age": ("pixel_options_set_max_age_ms", _ms),
        "shutdown_timeout": ("pixel_options_set_shutdown_timeout_ms", _ms),
        "user_agent": ("pixel_options_set_user_agent", _text),
        "ca_file": ("pixel_options_set_ca_file", _text),
        "proxy": ("pixel_options_set_proxy", _text),
        "backoff_base": ("pixel_options_set_backoff_base_ms", _ms),
        "backoff_max": ("pixel_options_set_backoff_max_ms", _ms),
        "retry_after_cap": ("pixel_options_set_retry_after_cap_ms", _ms),
        "outage_threshold": ("pixel_options_set_outage_threshold", _count),
        "probe_interval": ("pixel_options_set_probe_interval_ms", _ms),
        "spool_dir": ("pixel_options_set_spool_dir", _text),
        "spool_max_bytes": ("pixel_options_set_spool_max_bytes", _count),
        "receipts_path": ("pixel_options_set_receipts_path", _text),
        "max_rate": ("pixel_options_set_max_rate", _number),
        "sample_rate": ("pixel_options_set_sample_rate", _number),
        "sample_key": ("pixel_options_set_sample_key", _text),
    }

    def __init__(self, endpoint: str, **options: Any) -> None:
        self._handle: Optional[ctypes.c_void_p] = None
        self._callback: Optional[Any] = None
        # Kept alive with the tracker, as the C side holds only its address.
        self._log_callback = _native.LOG_CALLBACK(_log_line)
        opts = _lib.pixel_options_new()
        if not opts:
            raise InternalError(10, "out of memory")
        try:
            _check(_lib.pixel_options_set_endpoint(opts, _text(endpoint, "endpoint")))
            _check(_lib.pixel_options_set_log_callback(opts, self._log_callback, None))
            flags = URL_EVENT_ID | URL_TIMESTAMP
            for name, value in options.items():
                if name in self._SETTERS:
                    fn, convert = self._SETTERS[name]
                    _check(getattr(_lib, fn)(opts, convert(value, name)))
                elif name == "sample_salt":
                    salt = _raw(value, name)
                    _check(_lib.pixel_options_set_sample_salt(opts, salt, len(salt)))
                elif name == "overflow":
                    if not isinstance(value, str) or value not in _OVERFLOW:
                        raise InvalidArgumentError(
                            1, f"overflow must be one of {sorted(_OVERFLOW)}, not {value!r}")
                    _check(_lib.pixel_options_set_overflow_policy(opts, _OVERFLOW[value]))
                elif name == "durability":
                    if not isinstance(value, str) or value not in _DURABILITY:
                        raise InvalidArgumentError(
                            1, f"durability must be one of {sorted(_DURABILITY)}, not {value!r}")
                    _check(_lib.pixel_options_set_durability(opts, _DURABILITY[value]))
                elif name == "event_id":
                    flags = (flags | URL_EVENT_ID) if value else (flags & ~URL_EVENT_ID)
                elif name == "timestamp":
                    flags = (flags | URL_TIMESTAMP) if value else (flags & ~URL_TIMESTAMP)
                elif name == "signing_key":
                    if not isinstance(value, tuple) or len(value) != 2:
                        raise _type_error(name, "a (kid, key bytes) pair", value)
                    kid, key = value
                    k, raw, _ = _signing(kid, key, 0)
                    _check(_lib.pixel_options_set_signing_key(opts, k, raw, len(raw)))
                elif name in ("tracking_mode", "gpc_mode"):
                    setter = getattr(_lib, f"pixel_options_set_{name}")
                    _check(setter(opts, _mode(value, name)))
                elif name == "identity_params":
                    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
                        raise _type_error(name, "a list of parameter names", value)
                    names = [_text(v, "identity_params") for v in value]
                    arr = (ctypes.c_char_p * max(len(names), 1))(*names)
                    _check(_lib.pixel_options_set_identity_params(opts, arr, len(names)))
                elif name == "pseudonym_key":
                    raw = _raw(value, "pseudonym_key (the raw key)")
                    _check(_lib.pixel_options_set_pseudonym_key(opts, raw, len(raw)))
                elif name == "signature_ttl":
                    _check(_lib.pixel_options_set_signature_ttl_s(opts, _ttl(value)))
                elif name == "on_result":
                    if value is not None:
                        if not callable(value):
                            raise _type_error(name, "callable", value)
                        self._callback = _native.RESULT_CALLBACK(self._wrap(value))
                        _check(_lib.pixel_options_set_result_callback(opts, self._callback, None))
                else:
                    raise InvalidArgumentError(1, f"unknown option {name!r}")
            _check(_lib.pixel_options_set_url_flags(opts, flags))
            handle = ctypes.c_void_p()
            _check(_lib.pixel_tracker_new(opts, ctypes.byref(handle)))
            self._handle = handle
            self._shutdown_ms = (_ms(options["shutdown_timeout"], "shutdown_timeout")
                                 if "shutdown_timeout" in options else 2000)
            _LIVE.add(self)
        finally:
            _lib.pixel_options_free(opts)

    @staticmethod
    def _wrap(fn: Callable[[EventResult], object]) -> Callable[[Any, Any], None]:
        def trampoline(result_p: Any, _user: Any) -> None:
            r = result_p.contents
            fn(EventResult(
                r.event_id.decode("ascii"),
                OUTCOMES[r.outcome] if 0 <= r.outcome < len(OUTCOMES) else str(r.outcome),
                r.attempts, r.http_status,
                TRANSPORT_ERRORS[r.transport_error]
                if 0 <= r.transport_error < len(TRANSPORT_ERRORS) else str(r.transport_error),
                (r.message or b"").decode("utf-8", "replace")))
        return trampoline

    def _live(self) -> ctypes.c_void_p:
        if self._handle is None:
            raise ShutDownError(8, "shut down: the tracker was not created")
        return self._handle

    def track(self, params: Params, user_agent: Optional[str] = None, *,
              mode: Optional[str] = None, gpc: bool = False) -> str:
        """Queues one event (a dict or a list of pairs) and returns its id at once: the
        26-character eid it is sent with, and the event_id its EventResult will carry.
        `mode` is what this event's person consented to (one of TRACKING_MODES; None: the
        tracker's ceiling); `gpc` says the request being handled carried `Sec-GPC: 1`
        (gpc_from_wsgi, gpc_from_asgi). The event goes out under the most restrictive of
        these and the ceiling; asking for more is lowered, not refused (stats'
        mode_lowered). Under "off" nothing is sent: the id is returned, stats count it in
        suppressed, and on_result gets it once, before track() returns, as "suppressed".
        Raises QueueFullError, ShutDownError, or a ValueError subclass for bad input (an
        unknown mode, or "pseudonymous" without a pseudonym_key)."""
        arr, n, _keep = _params(params)
        h = self._live()
        event = _native.Event(arr, n, None if user_agent is None
                              else _text(user_agent, "user_agent"), _mode(mode, "mode"),
                              1 if gpc else 0)
        out = ctypes.create_string_buffer(_native.EVENT_ID_SIZE)
        _check(_lib.pixel_track_event(h, ctypes.byref(event), out))
        return out.value.decode("ascii")

    def flush(self, timeout: float = 5.0) -> bool:
        """Waits until every event tracked so far has an outcome: True, or False when
        `timeout` seconds pass first."""
        status = _lib.pixel_tracker_flush(self._live(), _ms(timeout, "timeout"))
        if status == 9:
            return False
        _check(status)
        return True

    def stats(self) -> Dict[str, int]:
        """The counters as a dict: queued, in_flight, delivered, retried, failed, expired,
        dropped, concurrency_limit, suppressed (events under tracking mode "off") and
        mode_lowered (events lowered by the ceiling or GPC)."""
        s = _native.Stats()
        _check(_lib.pixel_tracker_stats(self._live(), ctypes.byref(s)))
        return {name: int(getattr(s, name)) for name in _STAT_NAMES}

    def close(self, timeout: float = 2.0) -> None:
        """Stops accepting events, waits up to `timeout` seconds for delivery and drops
        the rest. Idempotent; afterwards track() raises ShutDownError and stats() keeps
        the final counters. The native tracker is released with this object."""
        _check(_lib.pixel_tracker_shutdown(self._live(), _ms(timeout, "timeout")))

    def __enter__(self) -> "Tracker":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        # No other reference exists, so no call can be in progress: free is safe here.
        handle, self._handle = getattr(self, "_handle", None), None
        if handle is not None:
            try:
                _lib.pixel_tracker_free(handle)
            except Exception:  # noqa: BLE001 - never raise from a finaliser
                pass


# Trackers still open when the interpreter exits are closed then (each waiting up to its
# shutdown_timeout), in whichever process exits: the one that created them, or a forked
# child (a pre-forking server's worker) that tracked with them. A module-level tracker's
# __del__ may otherwise never run, or run after the library is gone.
_LIVE: "weakref.WeakSet[Tracker]" = weakref.WeakSet()


@atexit.register
def _close_live_trackers() -> None:
    for t in list(_LIVE):
        handle = t._handle
        if handle is not None:
            try:
                _lib.pixel_tracker_shutdown(handle, t._shutdown_ms)
            except Exception:  # noqa: BLE001 - never raise at exit
                pass

