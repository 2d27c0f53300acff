# SPDX-License-Identifier: MIT
"""Tracking modes and Global Privacy Control through the Python binding, against the local
edge; pseudonyms checked with Python's own hmac."""

import base64
import hashlib
import hmac
import os
import sys
import threading
import unittest
import urllib.request
import wsgiref.simple_server

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pixel  # noqa: E402
from edge import Edge  # noqa: E402

KEY = b"pseudonym-key-0123456789abcdef"


def token(key, value):
    """base64url without padding of the first 16 bytes of HMAC-SHA256(key, value)."""
    mac = hmac.new(key, value.encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def by_k(records):
    """The edge's records as {k: {key: value}}, failing on a repeated k."""
    out = {}
    for _ts, _ip, _ua, params in records:
        p = dict(params)
        assert p["k"] not in out, p["k"]
        out[p["k"]] = p
    return out


class Results:
    def __init__(self):
        self.lock = threading.Lock()
        self.items = []

    def __call__(self, r):
        with self.lock:
            self.items.append(r)

    def outcomes(self, name):
        with self.lock:
            return [r for r in self.items if r.outcome == name]


class TrackingModeTest(unittest.TestCase):
    def run_events(self, events, **options):
        """Tracks each (k, mode, gpc) with userid=bob, email=bob@example.com, flushes, and
        returns (records by k, stats, results, {k: id})."""
        results = Results()
        ids = {}
        with Edge() as edge:
            with pixel.Tracker(edge.url, on_result=results, **options) as t:
                for k, mode, gpc in events:
                    ids[k] = t.track({"userid": "bob", "email": "bob@example.com", "k": k},
                                     mode=mode, gpc=gpc)
                self.assertTrue(t.flush(timeout=60))
                stats = t.stats()
            records = by_k(edge.stop())
        return records, stats, results, ids

    def test_each_mode_as_received(self):
        got, stats, results, ids = self.run_events(
            [("off", "off", False), ("aggregate", "aggregate", False),
             ("pseudonymous", "pseudonymous", False), ("identified", "identified", False),
             ("none", None, False)],
            pseudonym_key=KEY)
        self.assertEqual(sorted(got), ["aggregate", "identified", "none", "pseudonymous"])
        self.assertNotIn("userid", got["aggregate"])
        self.assertNotIn("email", got["aggregate"])
        for value in ("bob", "bob@example.com", token(KEY, "bob")):
            self.assertNotIn(value, got["aggregate"].values())
        self.assertEqual(got["aggregate"]["eid"], ids["aggregate"])
        self.assertEqual(got["pseudonymous"]["userid"], token(KEY, "bob"))
        self.assertEqual(got["pseudonymous"]["email"], token(KEY, "bob@example.com"))
        self.assertEqual(len(got["pseudonymous"]["userid"]), 22)
        for k in ("identified", "none"):  # the default ceiling: as given
            self.assertEqual((got[k]["userid"], got[k]["email"]), ("bob", "bob@example.com"))
        self.assertEqual((stats["suppressed"], stats["mode_lowered"], stats["delivered"]),
                         (1, 0, 4))
        suppressed = results.outcomes("suppressed")
        self.assertEqual([r.event_id for r in suppressed], [ids["off"]])
        self.assertEqual((suppressed[0].attempts, suppressed[0].http_status,
                          suppressed[0].transport_error), (0, 0, "none"))
        self.assertEqual(len(results.items), 5)

    def test_off_reports_before_track_returns(self):
        results = Results()
        with pixel.Tracker("http://127.0.0.1:9/1x1.png", tracking_mode="off",
                           on_result=results, shutdown_timeout=0) as t:
            eid = t.track({"userid": "bob"}, mode="identified")
            self.assertEqual([(r.event_id, r.outcome) for r in results.items],
                             [(eid, "suppressed")])
            s = t.stats()
        self.assertEqual((s["suppressed"], s["mode_lowered"], s["queued"], s["in_flight"],
                          s["delivered"], s["failed"], s["dropped"]), (1, 1, 0, 0, 0, 0, 0))

    def test_ceiling_lowers_and_counts(self):
        got, stats, results, _ids = self.run_events(
            [("asks-identified", "identified", False), ("asks-pseudonymous", "pseudonymous",
                                                        False),
             ("asks-aggregate", "aggregate", False), ("none", None, False),
             ("asks-off", "off", False)],
            tracking_mode="aggregate")
        self.assertEqual(sorted(got), ["asks-aggregate", "asks-identified", "asks-pseudonymous",
                                       "none"])
        for k, p in got.items():
            self.assertNotIn("userid", p, k)
            self.assertNotIn("email", p, k)
        self.assertEqual((stats["mode_lowered"], stats["suppressed"]), (2, 1))
        self.assertEqual(len(results.outcomes("suppressed")), 1)

    def test_gpc_lowers_to_gpc_mode(self):
        # Default gpc_mode: aggregate.
        got, stats, _r, _ids = self.run_events(
            [("gpc", None, True), ("gpc-identified", "identified", True),
             ("no-gpc", None, False)])
        self.assertNotIn("userid", got["gpc"])
        self.assertNotIn("userid", got["gpc-identified"])
        self.assertEqual(got["no-gpc"]["userid"], "bob")
        self.assertEqual((stats["mode_lowered"], stats["suppressed"]), (2, 0))
        # gpc_mode pseudonymous, with other identity parameters.
        got, stats, _r, _ids = self.run_events(
            [("gpc", "identified", True), ("no-gpc", "identified", False)],
            gpc_mode="pseudonymous", pseudonym_key=bytearray(KEY), identity_params=["email"])
        self.assertEqual(got["gpc"]["email"], token(KEY, "bob@example.com"))
        self.assertEqual(got["gpc"]["userid"], "bob")  # not an identity parameter here
        self.assertEqual(got["no-gpc"]["email"], "bob@example.com")
        self.assertEqual(stats["mode_lowered"], 1)
        # gpc_mode off: nothing sent for a gpc event.
        got, stats, results, ids = self.run_events(
            [("gpc", None, True), ("no-gpc", None, False)], gpc_mode="off")
        self.assertEqual(sorted(got), ["no-gpc"])
        self.assertEqual([r.event_id for r in results.outcomes("suppressed")], [ids["gpc"]])
        self.assertEqual(stats["suppressed"], 1)

    def test_bad_values_are_typed_errors(self):
        cases = [
            {"tracking_mode": "anonymous"}, {"tracking_mode": 2}, {"gpc_mode": "none"},
            {"pseudonym_key": "text, not bytes"}, {"pseudonym_key": b"short"},
            {"identity_params": "userid"}, {"identity_params": [""]},
            {"identity_params": [None]}, {"tracking_mode": "pseudonymous"},
        ]
        for kwargs in cases:
            with self.subTest(kwargs=kwargs):
                with self.assertRaises(pixel.InvalidArgumentError) as cm:
                    pixel.Tracker("https://x.example", **kwargs)
                self.assertNotIn("short", str(cm.exception))  # the key is never shown
        with Edge() as edge:
            with pixel.Tracker(edge.url) as t:
                with self.assertRaises(pixel.InvalidArgumentError):
                    t.track({"k": "bad-mode"}, mode="everything")
                with self.assertRaises(pixel.InvalidArgumentError):
                    t.track({"k": "no-key"}, mode="pseudonymous")  # no pseudonym_key
                t.track({"k": "kept"}, mode="identified")
                self.assertTrue(t.flush(timeout=60))
                s = t.stats()
            got = by_k(edge.stop())
        self.assertEqual(sorted(got), ["kept"])
        self.assertEqual((s["delivered"], s["suppressed"], s["mode_lowered"]), (1, 0, 0))


class GpcHelperTest(unittest.TestCase):
    def test_wsgi_environ(self):
        self.assertTrue(pixel.gpc_from_wsgi({"HTTP_SEC_GPC": "1"}))
        self.assertTrue(pixel.gpc_from_wsgi({"HTTP_SEC_GPC": " 1 "}))
        for environ in ({}, {"HTTP_SEC_GPC": "0"}, {"HTTP_SEC_GPC": ""},
                        {"HTTP_SEC_GPC": "yes"}, {"HTTP_DNT": "1"}):
            self.assertFalse(pixel.gpc_from_wsgi(environ), environ)

    def test_asgi_scope(self):
        ua = (b"user-agent", b"Mozilla/5.0")
        self.assertTrue(pixel.gpc_from_asgi({"type": "http", "headers": [ua, (b"sec-gpc", b"1")]}))
        self.assertTrue(pixel.gpc_from_asgi({"type": "http", "headers": [[b"Sec-GPC", b"1"]]}))
        for headers in ([], [ua], [(b"sec-gpc", b"0")], [(b"dnt", b"1")]):
            self.assertFalse(pixel.gpc_from_asgi({"type": "http", "headers": headers}), headers)
        self.assertFalse(pixel.gpc_from_asgi({"type": "http"}))

    def test_wsgi_app_tracks_with_the_header_it_received(self):
        # A real WSGI server: the browser's request carries Sec-GPC: 1 (or not), the app
        # passes what the helper read to track().
        with Edge() as edge:
            with pixel.Tracker(edge.url) as t:
                def app(environ, start_response):
                    t.track({"userid": "bob", "k": environ["PATH_INFO"].strip("/")},
                            gpc=pixel.gpc_from_wsgi(environ))
                    start_response("204 No Content", [])
                    return [b""]

                server = wsgiref.simple_server.make_server(
                    "127.0.0.1", 0, app, handler_class=_QuietHandler)
                try:
                    base = "http://127.0.0.1:%d/" % server.server_port
                    for path, headers in (("with-gpc", {"Sec-GPC": "1"}), ("without", {})):
                        served = threading.Thread(target=server.handle_request)
                        served.start()
                        req = urllib.request.Request(base + path, headers=headers)
                        with urllib.request.urlopen(req, timeout=30) as resp:
                            self.assertEqual(resp.status, 204)
                        served.join()
                finally:
                    server.server_close()
                self.assertTrue(t.flush(timeout=60))
                self.assertEqual(t.stats()["mode_lowered"], 1)
            got = by_k(edge.stop())
        self.assertNotIn("userid", got["with-gpc"])
        self.assertEqual(got["without"]["userid"], "bob")


class _QuietHandler(wsgiref.simple_server.WSGIRequestHandler):
    def log_message(self, *args):
        pass


if __name__ == "__main__":
    unittest.main()
