#!/usr/bin/env python3
"""Deterministic sampling against Python's hashlib, through libpixel.so (ctypes).

1. pixel_sample_keeps over 100,000 ids, rates and salts equals the reference: keep when the
   first 8 bytes of SHA-256(salt + value), big-endian, are below rate * 2**64 (Python's
   int/float comparison is exact).
2. A tracker with sample_rate 0.3 sends 2,000 events to Python's http.server: exactly the
   users the reference keeps arrive, each with sr=0.3; events without the key all arrive,
   without sr; stats count the others as sampled_out, and the result callback sees only
   what was sent.
SPDX-License-Identifier: MIT
"""
import ctypes
import hashlib
import http.server
import random
import sys
import threading
import urllib.parse


def reference(rate, salt, value):
    h = int.from_bytes(hashlib.sha256(salt + value).digest()[:8], "big")
    return h < rate * 2**64


class Pixel(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen = []
    lock = threading.Lock()

    def do_GET(self):
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        with Pixel.lock:
            Pixel.seen.append(query)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class Param(ctypes.Structure):
    _fields_ = [("key", ctypes.c_char_p), ("value", ctypes.c_char_p)]


def main():
    lib = ctypes.CDLL(sys.argv[1])
    lib.pixel_sample_keeps.argtypes = [ctypes.c_double, ctypes.c_void_p, ctypes.c_size_t,
                                       ctypes.c_char_p, ctypes.c_size_t,
                                       ctypes.POINTER(ctypes.c_int)]
    failures = 0
    rng = random.Random(20261204)
    rates = [1e-9, 0.001, 0.1, 0.25, 1 / 3, 0.5, 0.9, 0.999999, 1.0]
    salts = [b"", b"campaign-7", bytes(range(256))]
    keep = ctypes.c_int()
    disagreements = 0
    for i in range(100_000):
        rate = rates[i % len(rates)]
        salt = salts[i % len(salts)]
        value = ("user-%d-%x" % (i, rng.getrandbits(64))).encode()
        if i % 7 == 0:
            value = "üser-%d-€" % i
            value = value.encode()
        st = lib.pixel_sample_keeps(rate, salt, len(salt), value, len(value), ctypes.byref(keep))
        if st != 0 or bool(keep.value) != reference(rate, salt, value):
            disagreements += 1
    # The boundary itself: a value whose hash is h is kept at rate h / 2**64 + tiny, not at
    # a rate exactly h / 2**64 (below, strictly).
    value = b"boundary"
    h = int.from_bytes(hashlib.sha256(value).digest()[:8], "big")
    for rate in (h / 2**64, (h + 4096) / 2**64, (h - 4096) / 2**64):
        lib.pixel_sample_keeps(rate, None, 0, value, len(value), ctypes.byref(keep))
        if bool(keep.value) != reference(rate, b"", value):
            disagreements += 1
    if disagreements:
        print("FAIL: %d decisions differ from hashlib" % disagreements)
        failures += 1
    else:
        print("decisions: 100,000 equal to hashlib")

    # End to end: a tracker at 0.3 against http.server.
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Pixel)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = ("http://127.0.0.1:%d" % server.server_port).encode()
    lib.pixel_options_new.restype = ctypes.c_void_p
    lib.pixel_options_set_endpoint.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.pixel_options_set_sample_rate.argtypes = [ctypes.c_void_p, ctypes.c_double]
    lib.pixel_options_set_sample_salt.argtypes = [ctypes.c_void_p, ctypes.c_void_p,
                                                  ctypes.c_size_t]
    lib.pixel_options_set_queue_capacity.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    lib.pixel_tracker_new.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)]
    lib.pixel_options_free.argtypes = [ctypes.c_void_p]
    lib.pixel_track.argtypes = [ctypes.c_void_p, ctypes.POINTER(Param), ctypes.c_size_t]
    lib.pixel_tracker_flush.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
    lib.pixel_tracker_free.argtypes = [ctypes.c_void_p]
    opts = lib.pixel_options_new()
    salt = b"spring"
    assert lib.pixel_options_set_endpoint(opts, endpoint) == 0
    assert lib.pixel_options_set_sample_rate(opts, 0.3) == 0
    assert lib.pixel_options_set_sample_salt(opts, salt, len(salt)) == 0
    assert lib.pixel_options_set_queue_capacity(opts, 10_000) == 0
    tracker = ctypes.c_void_p()
    if lib.pixel_tracker_new(opts, ctypes.byref(tracker)) != 0:
        print("FAIL: pixel_tracker_new")
        return 1
    lib.pixel_options_free(opts)
    users = ["u%d" % i for i in range(2000)]
    for u in users:
        p = (Param * 1)(Param(b"userid", u.encode()))
        if lib.pixel_track(tracker, p, 1) != 0:
            failures += 1
    for i in range(100):  # no sample key: always kept, no sr
        p = (Param * 1)(Param(b"page", b"p%d" % i))
        lib.pixel_track(tracker, p, 1)
    if lib.pixel_tracker_flush(tracker, 30_000) != 0:
        print("FAIL: flush")
        failures += 1
    lib.pixel_tracker_free(tracker)
    server.shutdown()
    expected = {u for u in users if reference(0.3, salt, u.encode())}
    got = [q for q in Pixel.seen if "userid" in q]
    got_users = [q["userid"][0] for q in got]
    if sorted(got_users) != sorted(expected):
        print("FAIL: %d users arrived, %d expected" % (len(got_users), len(expected)))
        failures += 1
    if any(q.get("sr") != ["0.3"] for q in got):
        print("FAIL: a kept event without sr=0.3")
        failures += 1
    pages = [q for q in Pixel.seen if "page" in q]
    if len(pages) != 100 or any("sr" in q for q in pages):
        print("FAIL: events without the key: %d, some with sr" % len(pages))
        failures += 1
    print("end to end: %d of 2000 users kept (reference %d), 100 without the key"
          % (len(got_users), len(expected)))
    print("%d passed, %d failed" % (2 - min(failures, 2), min(failures, 2)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
