#!/usr/bin/env python3
"""Tracking modes through libpixel.so (ctypes) against Python's hmac and http.server.

Trackers with each ceiling (and one with GPC mode off and other identity parameters) get
an event for every event mode (PIXEL_TRACKING_DEFAULT .. IDENTIFIED), with and without gpc,
through pixel_track_event, and send to Python's http.server. This script works out each
event's effective mode on its own (the most restrictive of the mode asked, the ceiling and,
with gpc, the GPC mode) and checks what arrived:
- off: nothing arrives; the result callback sees PIXEL_OUTCOME_SUPPRESSED once for its id,
  and stats count it in `suppressed`;
- aggregate: no identity parameter, and no identity value anywhere in the query;
- pseudonymous: each identity value is base64url, without padding, of the first 16 bytes of
  HMAC-SHA256(key, value) as Python's hmac computes it;
- identified: the values as given;
- stats().mode_lowered counts exactly the events whose effective mode is below the one asked
  (an event with no mode asks for the ceiling);
- a pseudonymous event on a tracker without a key is INVALID_ARGUMENT and sends nothing.
SPDX-License-Identifier: MIT
"""
import base64
import ctypes
import hashlib
import hmac
import http.server
import sys
import threading
import urllib.parse

DEFAULT, OFF, AGGREGATE, PSEUDONYMOUS, IDENTIFIED = range(5)
NAMES = {DEFAULT: "default", OFF: "off", AGGREGATE: "aggregate",
         PSEUDONYMOUS: "pseudonymous", IDENTIFIED: "identified"}
OUTCOME_DELIVERED, OUTCOME_SUPPRESSED = 0, 4
INVALID_ARGUMENT = 1
KEY = b"consent\x00key-" + bytes(range(200, 216))  # bytes, a NUL included


def pseudonym(key, value):
    mac = hmac.new(key, value.encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


class Pixel(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen = []
    lock = threading.Lock()

    def do_GET(self):
        query = urllib.parse.urlsplit(self.path).query
        with Pixel.lock:
            Pixel.seen.append((query, urllib.parse.parse_qs(query, keep_blank_values=True)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class Param(ctypes.Structure):
    _fields_ = [("key", ctypes.c_char_p), ("value", ctypes.c_char_p)]


class Event(ctypes.Structure):
    _fields_ = [("size", ctypes.c_size_t), ("params", ctypes.POINTER(Param)),
                ("count", ctypes.c_size_t), ("user_agent", ctypes.c_char_p),
                ("tracking_mode", ctypes.c_int), ("gpc", ctypes.c_int)]


class Stats(ctypes.Structure):
    _fields_ = [("size", ctypes.c_size_t)] + [
        (n, ctypes.c_uint64) for n in
        ("queued", "in_flight", "delivered", "retried", "failed", "expired", "dropped",
         "concurrency_limit", "suppressed", "mode_lowered")]


class EventResult(ctypes.Structure):
    _fields_ = [("size", ctypes.c_size_t), ("event_id", ctypes.c_char_p),
                ("outcome", ctypes.c_int), ("attempts", ctypes.c_uint32),
                ("http_status", ctypes.c_long), ("transport_error", ctypes.c_int),
                ("message", ctypes.c_char_p)]


CALLBACK = ctypes.CFUNCTYPE(None, ctypes.POINTER(EventResult), ctypes.c_void_p)
results = []
results_lock = threading.Lock()


@CALLBACK
def on_result(r, _user):
    with results_lock:
        results.append((r.contents.event_id.decode(), r.contents.outcome))


def declare(lib):
    vp = ctypes.c_void_p
    lib.pixel_options_new.restype = vp
    for name, args in {
        "pixel_options_set_endpoint": [vp, ctypes.c_char_p],
        "pixel_options_set_tracking_mode": [vp, ctypes.c_int],
        "pixel_options_set_gpc_mode": [vp, ctypes.c_int],
        "pixel_options_set_identity_params": [vp, ctypes.POINTER(ctypes.c_char_p),
                                              ctypes.c_size_t],
        "pixel_options_set_pseudonym_key": [vp, ctypes.c_char_p, ctypes.c_size_t],
        "pixel_options_set_result_callback": [vp, CALLBACK, vp],
        "pixel_tracker_new": [vp, ctypes.POINTER(vp)],
        "pixel_options_free": [vp],
        "pixel_track_event": [vp, ctypes.POINTER(Event), ctypes.c_char_p],
        "pixel_tracker_flush": [vp, ctypes.c_uint32],
        "pixel_tracker_stats": [vp, ctypes.POINTER(Stats)],
        "pixel_tracker_free": [vp],
    }.items():
        getattr(lib, name).argtypes = args
    lib.pixel_last_error.restype = ctypes.c_char_p


def make_tracker(lib, endpoint, ceiling, gpc_mode, identity, key):
    opts = lib.pixel_options_new()
    assert lib.pixel_options_set_endpoint(opts, endpoint) == 0
    assert lib.pixel_options_set_tracking_mode(opts, ceiling) == 0
    assert lib.pixel_options_set_gpc_mode(opts, gpc_mode) == 0
    if identity is not None:
        names = (ctypes.c_char_p * len(identity))(*[n.encode() for n in identity])
        assert lib.pixel_options_set_identity_params(opts, names, len(identity)) == 0
    if key is not None:
        assert lib.pixel_options_set_pseudonym_key(opts, key, len(key)) == 0
    assert lib.pixel_options_set_result_callback(opts, on_result, None) == 0
    tracker = ctypes.c_void_p()
    st = lib.pixel_tracker_new(opts, ctypes.byref(tracker))
    lib.pixel_options_free(opts)
    if st != 0:
        raise RuntimeError("pixel_tracker_new: %s" % lib.pixel_last_error().decode())
    return tracker


def track(lib, tracker, params, mode, gpc):
    arr = (Param * len(params))(*[Param(k.encode(), v.encode()) for k, v in params])
    ev = Event(ctypes.sizeof(Event), arr, len(params), None, mode, gpc)
    out = ctypes.create_string_buffer(27)
    st = lib.pixel_track_event(tracker, ctypes.byref(ev), out)
    return st, out.value.decode()


def main():
    lib = ctypes.CDLL(sys.argv[1])
    declare(lib)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Pixel)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = ("http://127.0.0.1:%d" % server.server_port).encode()
    failures = []

    default_identity = ["userid", "email", "recipient"]
    # (ceiling, GPC mode, identity parameters as configured (None: the default))
    setups = [(c, DEFAULT, None) for c in (IDENTIFIED, PSEUDONYMOUS, AGGREGATE, OFF)]
    setups.append((DEFAULT, OFF, ["uid", "email"]))
    expected = {}  # k -> (effective mode, identity params, values sent, event id)
    n = 0
    for ceiling, gpc_mode, identity in setups:
        tracker = make_tracker(lib, endpoint, ceiling, gpc_mode, identity, KEY)
        ids = default_identity if identity is None else identity
        cap = IDENTIFIED if ceiling == DEFAULT else ceiling
        gcap = AGGREGATE if gpc_mode == DEFAULT else gpc_mode
        lowered = suppressed = sent = 0
        for mode in (DEFAULT, OFF, AGGREGATE, PSEUDONYMOUS, IDENTIFIED):
            for gpc in (0, 1):
                n += 1
                k = "e%d" % n
                params = [("userid", "üser-%d" % n), ("email", "p%d@example.com" % n),
                          ("recipient", "r-%d" % n), ("uid", "id-%d" % n),
                          ("page", "home"), ("k", k)]
                asked = cap if mode == DEFAULT else mode
                eff = min(asked, cap, gcap if gpc else IDENTIFIED)
                st, eid = track(lib, tracker, params, mode, gpc)
                if st != 0 or len(eid) != 26:
                    failures.append("%s: status %d (%s)" % (k, st, lib.pixel_last_error()))
                    continue
                lowered += eff != asked
                suppressed += eff == OFF
                sent += eff != OFF
                expected[k] = (eff, ids, dict(params), eid)
        if lib.pixel_tracker_flush(tracker, 30_000) != 0:
            failures.append("flush")
        stats = Stats()
        stats.size = ctypes.sizeof(Stats)
        assert lib.pixel_tracker_stats(tracker, ctypes.byref(stats)) == 0
        got = (stats.delivered, stats.suppressed, stats.mode_lowered)
        if got != (sent, suppressed, lowered):
            failures.append("ceiling %s, gpc mode %s: delivered, suppressed, mode_lowered %s, "
                            "expected %s" % (NAMES[ceiling], NAMES[gpc_mode], got,
                                             (sent, suppressed, lowered)))
        lib.pixel_tracker_free(tracker)

    # No key: a pseudonymous event is refused, nothing sent; others go out.
    tracker = make_tracker(lib, endpoint, IDENTIFIED, DEFAULT, None, None)
    st, eid = track(lib, tracker, [("userid", "nokey"), ("k", "nokey")], PSEUDONYMOUS, 0)
    if st != INVALID_ARGUMENT or eid != "":
        failures.append("pseudonymous without a key: status %d, id %r" % (st, eid))
    lib.pixel_tracker_flush(tracker, 30_000)
    lib.pixel_tracker_free(tracker)
    server.shutdown()

    arrived = {}
    for raw, q in Pixel.seen:
        arrived.setdefault(q.get("k", [""])[0], []).append((raw, q))
    if "nokey" in arrived:
        failures.append("a refused pseudonymous event arrived")
    outcomes = {}
    for eid, what in results:
        outcomes.setdefault(eid, []).append(what)
    counts = dict.fromkeys(NAMES.values(), 0)
    for k, (eff, ids, params, eid) in expected.items():
        counts[NAMES[eff]] += 1
        got = arrived.get(k, [])
        if eff == OFF:
            if got:
                failures.append("%s: off, but %d requests arrived" % (k, len(got)))
            if outcomes.get(eid) != [OUTCOME_SUPPRESSED]:
                failures.append("%s: off, outcomes %s" % (k, outcomes.get(eid)))
            continue
        if len(got) != 1:
            failures.append("%s: %d requests" % (k, len(got)))
            continue
        if outcomes.get(eid) != [OUTCOME_DELIVERED]:
            failures.append("%s: outcomes %s" % (k, outcomes.get(eid)))
        raw, q = got[0]
        if q.get("eid") != [eid] or q.get("page") != ["home"]:
            failures.append("%s: eid or page wrong: %s" % (k, raw))
        for name, value in params.items():
            if name in ("page", "k"):
                continue
            if name not in ids:
                want = [value]
            elif eff == AGGREGATE:
                want = None
            elif eff == PSEUDONYMOUS:
                want = [pseudonym(KEY, value)]
            else:
                want = [value]
            if q.get(name) != want:
                failures.append("%s (%s): %s is %s, expected %s"
                                % (k, NAMES[eff], name, q.get(name), want))
            if want != [value] and (value in urllib.parse.unquote(raw)):
                failures.append("%s (%s): %s's value is in the query" % (k, NAMES[eff], name))

    for f in failures:
        print("FAIL:", f)
    print("%d events over %d trackers: %s; %d failures"
          % (len(expected), len(setups), ", ".join("%s %d" % kv for kv in counts.items()
                                                   if kv[1]), len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
