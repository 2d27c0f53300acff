# SPDX-License-Identifier: MIT
"""Durable delivery through the Python binding: spool_dir, durability, spool_max_bytes and
SpoolError, against the real libpixel, with Python's own http.server and sqlite3 as the
independent judges of what was delivered and what is on disk."""

import gc
import http.server
import os
import socket
import sqlite3
import sys
import tempfile
import threading
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pixel  # noqa: E402


def rows(spool):
    with sqlite3.connect(os.path.join(spool, "events.db")) as db:
        return db.execute("SELECT count(*) FROM events").fetchone()[0]


class Pixel200(http.server.BaseHTTPRequestHandler):
    received = []

    def do_GET(self):  # noqa: N802 - http.server's name
        query = urllib.parse.urlsplit(self.path).query
        Pixel200.received.append(dict(urllib.parse.parse_qsl(query)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class SpoolTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="pixel-py-spool-")
        self.spool = os.path.join(self.tmp.name, "spool")

    def tearDown(self):
        self.tmp.cleanup()

    def test_what_one_tracker_leaves_the_next_delivers(self):
        # A port that refuses connections: bound, not listening.
        dead = socket.socket()
        dead.bind(("127.0.0.1", 0))
        port = dead.getsockname()[1]
        url = "http://127.0.0.1:%d/1x1.png" % port
        for level in ("sync", "batched"):
            with self.subTest(level=level):
                t = pixel.Tracker(url, spool_dir=self.spool, durability=level,
                                  spool_max_bytes=1 << 20, shutdown_timeout=0.1)
                ids = {t.track({"userid": "u%d" % i}) for i in range(10)}
                t.close(0.1)
                self.assertEqual(t.stats()["dropped"], 0)
                del t
                gc.collect()
                self.assertEqual(rows(self.spool), 10)

                dead.close()
                Pixel200.received = []
                server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Pixel200)
                threading.Thread(target=server.serve_forever, daemon=True).start()
                try:
                    t = pixel.Tracker(url, spool_dir=self.spool, durability=level)
                    self.assertTrue(t.flush(20))
                    self.assertEqual(t.stats()["delivered"], 10)
                    t.close()
                    del t
                    gc.collect()
                finally:
                    server.shutdown()
                    server.server_close()
                self.assertEqual({r["eid"] for r in Pixel200.received}, ids)
                self.assertEqual(rows(self.spool), 0)
                dead = socket.socket()
                dead.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                dead.bind(("127.0.0.1", port))
        dead.close()

    def test_a_spool_in_use_is_spool_error(self):
        first = pixel.Tracker("http://127.0.0.1:9/1x1.png", spool_dir=self.spool,
                              durability="sync")
        with self.assertRaises(pixel.SpoolError) as caught:
            pixel.Tracker("http://127.0.0.1:9/1x1.png", spool_dir=self.spool, durability="sync")
        self.assertEqual(caught.exception.status, 11)
        self.assertIn("in use by another tracker (process %d)" % os.getpid(),
                      caught.exception.message)
        first.close()

    def test_bad_values(self):
        with self.assertRaises(pixel.InvalidArgumentError):
            pixel.Tracker("http://127.0.0.1:9/1x1.png", durability="disk")
        with self.assertRaises(pixel.InvalidArgumentError):  # sync needs a spool_dir
            pixel.Tracker("http://127.0.0.1:9/1x1.png", durability="sync")
        with self.assertRaises(pixel.InvalidArgumentError):
            pixel.Tracker("http://127.0.0.1:9/1x1.png", spool_dir=self.spool,
                          durability="sync", spool_max_bytes=-1)


if __name__ == "__main__":
    unittest.main()
