# SPDX-License-Identifier: MIT
"""The Python binding against the real libpixel (PIXEL_LIBRARY) and the local edge."""

import ctypes
import http.server
import logging
import os
import socket
import sys
import threading
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pixel  # noqa: E402
from pixel import _native  # noqa: E402
from edge import Edge  # noqa: E402

lib = _native.lib


def query_of(url):
    return urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query, keep_blank_values=True)


class Blackhole:
    """A loopback port that accepts connections (kernel backlog) and never answers."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = "http://127.0.0.1:%d/1x1.png" % self.sock.getsockname()[1]

    def close(self):
        self.sock.close()


class LogLines(logging.Handler):
    """The records a logger gets, from any thread; tests wait on them."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []
        self.cond = threading.Condition()

    def emit(self, record):
        with self.cond:
            self.records.append(record)
            self.cond.notify_all()

    def wait_for(self, n, timeout=60):
        with self.cond:
            return self.cond.wait_for(lambda: len(self.records) >= n, timeout)


class Pixel200(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class LibraryTest(unittest.TestCase):
    def test_loaded_from_pixel_library(self):
        self.assertEqual(os.path.realpath(lib._name),
                         os.path.realpath(os.environ["PIXEL_LIBRARY"]))

    def test_imported_from_the_installed_copy(self):
        # Under ctest the package is pip-installed into the folder this names, and the
        # suite must exercise that copy rather than the source tree.
        installed = os.environ.get("PIXEL_PYTHON_INSTALLED")
        if installed:
            self.assertTrue(os.path.realpath(pixel.__file__).startswith(
                os.path.realpath(installed) + os.sep), pixel.__file__)

    def test_version(self):
        self.assertRegex(pixel.version(), r"^\d+\.\d+\.\d+$")
        self.assertEqual(pixel.version(), lib.pixel_version().decode())

    def test_timeout_error_is_also_the_builtin(self):
        import builtins
        self.assertTrue(issubclass(pixel.TimeoutError, builtins.TimeoutError))
        self.assertTrue(issubclass(pixel.TimeoutError, pixel.PixelError))
        self.assertIs(pixel._ERRORS[9], pixel.TimeoutError)

    def test_status_str_and_last_error(self):
        texts = {lib.pixel_status_str(s).decode() for s in range(11)}
        self.assertEqual(len(texts), 11)
        self.assertEqual(lib.pixel_status_str(7), b"queue full")
        self.assertEqual(lib.pixel_status_str(99), b"unknown status")
        self.assertEqual(lib.pixel_url_build(None, None, 0, 0, None, 0, None), 1)
        self.assertIn(b"endpoint", lib.pixel_last_error())

    def test_every_declared_function_refuses_null(self):
        # Hand-written declarations drift from headers: call each one through ctypes.
        called = set()
        for name, (_restype, argtypes) in _native.SIGNATURES.items():
            fn = getattr(lib, name)
            if name in ("pixel_version", "pixel_last_error"):
                self.assertIsNotNone(fn())
            elif name == "pixel_status_str":
                self.assertEqual(fn(0), b"ok")
            elif name == "pixel_transport_error_str":
                self.assertEqual(fn(0), b"none")
                self.assertEqual(fn(99), b"unknown")
            elif name == "pixel_options_new":
                opts = fn()
                self.assertTrue(opts)
                lib.pixel_options_free(opts)
            elif name in ("pixel_options_free", "pixel_tracker_free"):
                fn(None)  # NULL allowed
            else:
                pointerish = (ctypes._Pointer, ctypes.c_void_p, ctypes.c_char_p)
                args = [a() if issubclass(a, ctypes._CFuncPtr)  # a NULL function pointer
                        else None if issubclass(a, pointerish) else 0 for a in argtypes]
                self.assertEqual(fn(*args), 1, name)
            called.add(name)
        self.assertEqual(called, set(_native.SIGNATURES))
        self.assertEqual(len(called), 56)


class BuildUrlTest(unittest.TestCase):
    def test_dict_and_pairs_in_order(self):
        url = pixel.build_url("https://D111.cloudfront.net", {"userid": "a b+c", "k": "é&="},
                              event_id=False, timestamp=False)
        self.assertEqual(url, "https://d111.cloudfront.net/1x1.png?userid=a%20b%2Bc&k=%C3%A9%26%3D")
        url = pixel.build_url("https://x.example", [("b", "1"), ("a", "2"), ("b", "3")],
                              event_id=False, timestamp=False)
        self.assertEqual(url, "https://x.example/1x1.png?b=1&a=2&b=3")

    def test_event_id_and_timestamp(self):
        q = query_of(pixel.build_url("https://x.example", {"u": "1"}))
        self.assertEqual([k for k, _ in q], ["u", "eid", "ts"])
        self.assertEqual(len(q[1][1]), 26)
        self.assertTrue(q[2][1].isdigit())
        self.assertEqual([k for k, _ in query_of(pixel.build_url("https://x.example", {},
                                                                  timestamp=False))], ["eid"])
        self.assertEqual([k for k, _ in query_of(pixel.build_url("https://x.example", {},
                                                                  event_id=False))], ["ts"])

    def test_long_url_grows_the_buffer(self):
        url = pixel.build_url("https://x.example", {"k": "x" * 8000}, event_id=False,
                              timestamp=False)
        self.assertEqual(len(url), len("https://x.example/1x1.png?k=") + 8000)

    def test_non_string_values_are_text(self):
        url = pixel.build_url("https://x.example", {"n": 42}, event_id=False, timestamp=False)
        self.assertTrue(url.endswith("?n=42"))

    def test_errors(self):
        cases = [
            (("http://example.com", {}), pixel.InvalidEndpointError),
            (("https://x.example?q=1", {}), pixel.InvalidEndpointError),
            (("https://x.example", {"": "v"}), pixel.EmptyKeyError),
            (("https://x.example", {"k": "\udc80"}), pixel.InvalidUtf8Error),
            (("https://x.example", {"k": b"\xc3\x28"}), pixel.InvalidUtf8Error),
            (("https://x.example", {"k": "x" * 9000}), pixel.UrlTooLongError),
            (("https://x.example", {"eid": "mine"}), pixel.InvalidArgumentError),
            (("https://x.example", {"k": "a\0b"}), pixel.InvalidArgumentError),
            (("https://x.example", [("only-one",)]), pixel.InvalidArgumentError),
            ((None, {}), pixel.InvalidArgumentError),
        ]
        for args, cls in cases:
            with self.subTest(args=args[0], cls=cls.__name__):
                with self.assertRaises(cls) as cm:
                    pixel.build_url(*args)
                self.assertIsInstance(cm.exception, pixel.PixelError)
                self.assertIsInstance(cm.exception, ValueError)
                self.assertTrue(str(cm.exception))
        with self.assertRaises(pixel.InvalidUtf8Error) as cm:
            pixel.build_url("https://x.example", {"name": "\udc80"})
        self.assertIn("'name'", str(cm.exception))
        self.assertEqual(cm.exception.status, 3)


class ImgTagTest(unittest.TestCase):
    def test_styles(self):
        self.assertEqual(
            pixel.img_tag("https://x.example/1x1.png?a=1&b=2"),
            '<img src="https://x.example/1x1.png?a=1&amp;b=2" width="1" height="1" alt="" '
            'border="0" style="width:1px;height:1px;border:0;margin:0;padding:0;">')
        page = pixel.img_tag("https://x.example/1x1.png", style="page")
        self.assertIn('aria-hidden="true" referrerpolicy="no-referrer"', page)

    def test_errors(self):
        with self.assertRaises(pixel.InvalidArgumentError):
            pixel.img_tag("https://x.example/", style="banner")
        with self.assertRaises(pixel.InvalidArgumentError):
            pixel.img_tag("javascript:alert(1)")
        with self.assertRaises(pixel.InvalidUtf8Error):
            pixel.img_tag("https://x.example/\udc80")


class TrackerTest(unittest.TestCase):
    def test_bad_options(self):
        cases = [
            ((None,), {}, pixel.InvalidArgumentError),
            (("ftp://x.example",), {}, pixel.InvalidEndpointError),
            (("http://pixel.example",), {}, pixel.InvalidEndpointError),
            (("https://x.example",), {"queue_capacity": 0}, pixel.InvalidArgumentError),
            (("https://x.example",), {"queue_capacity": -1}, pixel.InvalidArgumentError),
            (("https://x.example",), {"max_in_flight": 0}, pixel.InvalidArgumentError),
            (("https://x.example",), {"max_attempts": 0}, pixel.InvalidArgumentError),
            (("https://x.example",), {"connect_timeout": 0}, pixel.InvalidArgumentError),
            (("https://x.example",), {"request_timeout": -1}, pixel.InvalidArgumentError),
            (("https://x.example",), {"block_timeout": -1}, pixel.InvalidArgumentError),
            (("https://x.example",), {"probe_interval": 0}, pixel.InvalidArgumentError),
            (("https://x.example",), {"backoff_base": -1}, pixel.InvalidArgumentError),
            (("https://x.example",), {"outage_threshold": -1}, pixel.InvalidArgumentError),
            (("https://x.example",), {"proxy": "a\nb"}, pixel.InvalidArgumentError),
            (("https://x.example",), {"proxy": 5}, pixel.InvalidArgumentError),
            (("https://x.example",), {"max_age": 0}, pixel.InvalidArgumentError),
            (("https://x.example",), {"overflow": "spill"}, pixel.InvalidArgumentError),
            (("https://x.example",), {"user_agent": "a\nb"}, pixel.InvalidArgumentError),
            (("https://x.example",), {"on_result": 5}, pixel.InvalidArgumentError),
            (("https://x.example",), {"colour": "red"}, pixel.InvalidArgumentError),
        ]
        for args, kwargs, cls in cases:
            with self.subTest(args=args, kwargs=kwargs):
                with self.assertRaises(cls):
                    pixel.Tracker(*args, **kwargs)
        # http:// to a non-loopback host with the opt-in: accepted.
        t = pixel.Tracker("http://pixel.example", allow_http=True, shutdown_timeout=0)
        t.close(0)

    def test_worker_threads_out_of_range(self):
        # 1 to 64 and at most max_in_flight, checked by the library; a negative count by
        # the binding.
        for kwargs in ({"worker_threads": 0}, {"worker_threads": 65},
                       {"worker_threads": 5, "max_in_flight": 4}, {"worker_threads": -1},
                       {"worker_threads": 2.0}):
            with self.subTest(kwargs=kwargs):
                with self.assertRaises(pixel.InvalidArgumentError) as cm:
                    pixel.Tracker("https://x.example", **kwargs)
                self.assertEqual(cm.exception.status, 1)
                self.assertIn("worker_threads", str(cm.exception))
        for kwargs in ({"worker_threads": 1}, {"worker_threads": 64},
                       {"worker_threads": 4, "max_in_flight": 4}):
            with self.subTest(kwargs=kwargs):
                pixel.Tracker("https://x.example", shutdown_timeout=0, **kwargs).close(0)

    def test_flush_timeout_queue_full_and_shutdown(self):
        hole = Blackhole()
        try:
            t = pixel.Tracker(hole.url, queue_capacity=1, shutdown_timeout=0,
                              request_timeout=600, overflow="drop_new")
            t.track({"k": "v"})
            with self.assertRaises(pixel.QueueFullError):
                t.track({"k": "v"})
            self.assertFalse(t.flush(timeout=0.05))
            t.close(timeout=0.1)
            t.close(timeout=0.1)  # idempotent
            s = t.stats()
            self.assertEqual(s["dropped"], 2)
            self.assertEqual(s["queued"] + s["in_flight"] + s["delivered"], 0)
            with self.assertRaises(pixel.ShutDownError):
                t.track({"k": "v"})
        finally:
            hole.close()

    def test_bad_events_are_refused_and_nothing_else_lost(self):
        with Edge() as edge:
            with pixel.Tracker(edge.url) as t:
                for params, cls in [({"": "v"}, pixel.EmptyKeyError),
                                    ({"k": "\udc80"}, pixel.InvalidUtf8Error),
                                    ({"k": "x" * 9000}, pixel.UrlTooLongError),
                                    ({"eid": "1"}, pixel.InvalidArgumentError),
                                    ("not pairs", pixel.InvalidArgumentError)]:
                    with self.assertRaises(cls):
                        t.track(params)
                with self.assertRaises(pixel.InvalidArgumentError):
                    t.track({"k": "v"}, user_agent="a\r\nb")
                t.track({"k": "kept"})
                self.assertTrue(t.flush(timeout=60))
                self.assertEqual(t.stats()["delivered"], 1)
            records = edge.stop()
        self.assertEqual(len(records), 1)
        self.assertEqual(dict(records[0][3])["k"], "kept")

    def test_delivers_1000_events_to_the_edge(self):
        outcomes = []
        lock = threading.Lock()

        def on_result(r):
            with lock:
                outcomes.append(r)

        returned = {}
        with Edge() as edge:
            with pixel.Tracker(edge.url, queue_capacity=2000, min_in_flight=2, max_in_flight=8,
                               connect_timeout=30, request_timeout=60, max_attempts=10,
                               max_age=600, block_timeout=5, overflow="block",
                               backoff_base=0.05, backoff_max=2, retry_after_cap=10,
                               outage_threshold=5, probe_interval=0.5, proxy="",
                               shutdown_timeout=30, user_agent="pixel-python-test/1",
                               ca_file="", event_id=True, timestamp=True,
                               on_result=on_result) as t:
                for i in range(1000):
                    if i % 100 == 0:
                        eid = t.track({"n": str(i), "who": "browser"},
                                      user_agent="Mozilla/5.0 (t)")
                    else:
                        eid = t.track([("n", str(i)), ("who", "sdk"), ("text", "é & ü")])
                    returned[str(i)] = eid
                self.assertTrue(t.flush(timeout=120))
                s = t.stats()
            records = edge.stop()
        self.assertEqual(s["delivered"], 1000, s)
        self.assertTrue(2 <= s["concurrency_limit"] <= 8, s)
        self.assertEqual(s["failed"] + s["expired"] + s["dropped"] + s["queued"]
                         + s["in_flight"], 0, s)
        self.assertEqual(len(outcomes), 1000)
        self.assertTrue(all(o.outcome == "delivered" and o.http_status == 200
                            and o.transport_error == "none" for o in outcomes))
        eids = {o.event_id for o in outcomes}
        self.assertEqual(len(eids), 1000)
        # track() returned the id each event was sent with and reported under.
        self.assertEqual(set(returned.values()), eids)
        # Every event reached the edge's records, with its parameters intact.
        seen = {}
        for _ts, ip, ua, params in records:
            p = dict(params)
            self.assertEqual(ip, "127.0.0.1")
            seen[p["n"]] = (ua, p)
        self.assertEqual(set(seen), {str(i) for i in range(1000)})
        self.assertEqual({p["eid"] for _ua, p in seen.values()}, eids)
        for n, (_ua, p) in seen.items():
            self.assertEqual(p["eid"], returned[n])
        for n, (ua, p) in seen.items():
            if int(n) % 100 == 0:
                self.assertEqual((ua, p["who"]), ("Mozilla/5.0 (t)", "browser"))
            else:
                self.assertEqual((ua, p["who"], p["text"]), ("pixel-python-test/1", "sdk",
                                                              "é & ü"))

    def test_two_worker_threads_deliver_500_events_each_once(self):
        outcomes = []
        lock = threading.Lock()

        def on_result(r):
            with lock:
                outcomes.append(r)

        returned = {}
        with Edge() as edge:
            with pixel.Tracker(edge.url, worker_threads=2, max_in_flight=8, queue_capacity=1000,
                               connect_timeout=30, request_timeout=60,
                               on_result=on_result) as t:
                for i in range(500):
                    returned[t.track({"n": str(i)})] = str(i)
                self.assertTrue(t.flush(timeout=120))
                s = t.stats()
            records = edge.stop()
        self.assertEqual(len(returned), 500)
        self.assertEqual(s["delivered"], 500, s)
        self.assertEqual(s["failed"] + s["expired"] + s["dropped"] + s["queued"]
                         + s["in_flight"], 0, s)
        # Each event reported once, delivered.
        self.assertEqual(sorted(o.event_id for o in outcomes), sorted(returned))
        self.assertTrue(all(o.outcome == "delivered" for o in outcomes))
        # Each event reached the edge once, with its own parameters.
        received = sorted((dict(params)["eid"], dict(params)["n"])
                          for _ts, _ip, _ua, params in records)
        self.assertEqual(received, sorted(returned.items()))

    def test_transport_error_by_name(self):
        # Nothing listens on this port: the connection is refused, a transport error.
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        url = "http://127.0.0.1:%d/1x1.png" % s.getsockname()[1]
        s.close()
        got = []
        done = threading.Event()

        def on_result(r):
            got.append(r)
            done.set()

        with pixel.Tracker(url, max_attempts=1, outage_threshold=0,
                           on_result=on_result) as t:
            eid = t.track({"k": "v"})
            self.assertTrue(done.wait(60))
        self.assertEqual(len(got), 1)
        self.assertEqual(got[0].event_id, eid)
        self.assertEqual(got[0].outcome, "failed")
        self.assertEqual(got[0].transport_error, "connect")
        self.assertEqual(got[0].http_status, 0)
        self.assertEqual(lib.pixel_transport_error_str(4), b"certificate")
        self.assertEqual(pixel.TRANSPORT_ERRORS[4], "certificate")

    def test_outage_goes_to_the_pixel_logger(self):
        # Python's own server, bound but not yet listening: connections are refused until
        # it listens on the same port.
        server = http.server.HTTPServer(("127.0.0.1", 0), Pixel200, bind_and_activate=False)
        server.server_bind()
        url = "http://127.0.0.1:%d/1x1.png" % server.server_address[1]
        logger = logging.getLogger("pixel")
        lines = LogLines()
        level, propagate = logger.level, logger.propagate
        logger.addHandler(lines)
        logger.setLevel(logging.INFO)
        logger.propagate = False
        try:
            with pixel.Tracker(url, outage_threshold=2, probe_interval=0.05,
                               backoff_base=0.01) as t:
                t.track({"k": "v"})
                self.assertTrue(lines.wait_for(1))
                first = lines.records[0]
                self.assertEqual(first.name, "pixel")
                self.assertEqual(first.levelno, logging.WARNING)
                self.assertTrue(first.getMessage().startswith(
                    "endpoint unreachable: connect (Failed to connect to 127.0.0.1 port %d "
                    % server.server_address[1]), first.getMessage())
                self.assertIn("one probe every 50 ms", first.getMessage())
                server.server_activate()
                serving = threading.Thread(target=server.serve_forever,
                                           kwargs={"poll_interval": 0.05})
                serving.start()
                try:
                    self.assertTrue(t.flush(timeout=60))
                    self.assertTrue(lines.wait_for(2))
                    self.assertEqual(t.stats()["delivered"], 1)
                finally:
                    server.shutdown()
                    serving.join()
            back = lines.records[1]
            self.assertEqual(back.levelno, logging.INFO)
            self.assertRegex(back.getMessage(), r"^endpoint reachable again after \d+ ms$")
            self.assertEqual(len(lines.records), 2)
        finally:
            logger.removeHandler(lines)
            logger.setLevel(level)
            logger.propagate = propagate
            server.server_close()

    def test_switches_off_event_id_and_timestamp(self):
        with Edge() as edge:
            with pixel.Tracker(edge.url, event_id=False, timestamp=False) as t:
                t.track({"only": "this"})
                self.assertTrue(t.flush(timeout=60))
            records = edge.stop()
        self.assertEqual([r[3] for r in records], [[("only", "this")]])


if __name__ == "__main__":
    unittest.main()
