# SPDX-License-Identifier: MIT
"""The sink's capacity through the Python binding (docs/capacity.md): deterministic
sampling checked against Python's own hashlib, pacing (max_rate), and receipts read back
with Python's json, against the local edge."""

import bisect
import hashlib
import json
import os
import socket
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pixel  # noqa: E402
from edge import Edge  # noqa: E402


def reference_keeps(rate, salt, value):
    """The documented rule, independently: the first 8 bytes of SHA-256(salt + value),
    big-endian, below rate x 2^64."""
    digest = hashlib.sha256(salt + value.encode()).digest()
    return int.from_bytes(digest[:8], "big") < rate * 2**64


class Results:
    def __init__(self):
        self.lock = threading.Lock()
        self.items = []

    def __call__(self, r):
        with self.lock:
            self.items.append(r)


class SamplingTest(unittest.TestCase):
    def test_sample_keeps_equals_hashlib(self):
        for rate in (0.001, 0.1, 0.25, 0.5, 0.9, 1.0):
            for salt in (b"", b"salt-1", bytes(range(256))):
                with self.subTest(rate=rate, salt=salt[:8]):
                    got = [pixel.sample_keeps(rate, salt, "user-%d" % i) for i in range(2000)]
                    want = [reference_keeps(rate, salt, "user-%d" % i) for i in range(2000)]
                    self.assertEqual(got, want)
        # Text and its UTF-8 bytes are the same value.
        self.assertEqual(pixel.sample_keeps(0.5, b"s", "é" * 3),
                         pixel.sample_keeps(0.5, b"s", "é".encode() * 3))

    def test_a_sampled_tracker_sends_exactly_the_kept_users_with_sr(self):
        rate, salt = 0.25, b"campaign-2026"
        users = ["u%d" % i for i in range(400)]
        kept = {u for u in users if reference_keeps(rate, salt, u)}
        self.assertTrue(60 < len(kept) < 140, len(kept))  # the reference itself is sane
        results = Results()
        with Edge() as edge:
            with pixel.Tracker(edge.url, sample_rate=rate, sample_key="uid", sample_salt=salt,
                               on_result=results) as t:
                ids = {u: t.track({"uid": u, "userid": "not-the-key"}) for u in users}
                ids["no-key"] = t.track({"userid": "no-key"})  # without the key: kept
                self.assertTrue(t.flush(timeout=60))
                s = t.stats()
            records = edge.stop()
        self.assertEqual(len(set(ids.values())), len(ids))  # every event gets an id
        got = [dict(p) for _ts, _ip, _ua, p in records]
        with_key = [p for p in got if "uid" in p]
        self.assertEqual(sorted(p["uid"] for p in with_key), sorted(kept))
        self.assertTrue(all(p["sr"] == "0.25" for p in with_key))
        self.assertTrue(all(p["eid"] == ids[p["uid"]] for p in with_key))
        without = [p for p in got if "uid" not in p]
        self.assertEqual(len(without), 1)
        self.assertNotIn("sr", without[0])
        # Sampled-out events are neither sent nor reported.
        self.assertEqual(s["delivered"], len(kept) + 1)
        self.assertEqual(len(results.items), len(kept) + 1)

    def test_bad_sampling_options(self):
        for kwargs in ({"sample_rate": 0}, {"sample_rate": 1.5}, {"sample_rate": -0.5},
                       {"sample_rate": float("nan")}, {"sample_rate": 0.5, "sample_key": ""}):
            with self.subTest(kwargs=kwargs):
                with self.assertRaises(pixel.InvalidArgumentError) as cm:
                    pixel.Tracker("https://x.example", **kwargs)
                self.assertIn("sample_", str(cm.exception))
        for kwargs in ({"sample_rate": "0.5"}, {"sample_salt": "text, not bytes"},
                       {"sample_key": 5}):
            with self.subTest(kwargs=kwargs):
                with self.assertRaises(TypeError):
                    pixel.Tracker("https://x.example", **kwargs)
        # A parameter named sr is the sample rate's while sampling is on.
        with pixel.Tracker("https://x.example", sample_rate=0.5, shutdown_timeout=0) as t:
            with self.assertRaises(pixel.InvalidArgumentError):
                t.track({"userid": "a", "sr": "1"})
            t.close(0)
        with self.assertRaises(TypeError):
            pixel.sample_keeps(0.5, "salt", "v")


class MaxRateTest(unittest.TestCase):
    def test_accepted_and_refused_values(self):
        for rate in (0, 0.5, 900, 1e9):
            with self.subTest(rate=rate):
                pixel.Tracker("https://x.example", max_rate=rate, shutdown_timeout=0).close(0)
        for rate in (-1, float("nan"), float("inf")):
            with self.subTest(rate=rate):
                with self.assertRaises(pixel.InvalidArgumentError) as cm:
                    pixel.Tracker("https://x.example", max_rate=rate)
                self.assertIn("max_rate", str(cm.exception))
        with self.assertRaises(TypeError):
            pixel.Tracker("https://x.example", max_rate="900")

    def test_a_paced_burst_is_spread_and_delivered(self):
        # 60 events tracked at once, paced at 100/s in bursts of a tenth of that: any 100 ms
        # of the edge's arrival times holds about 20 (30 allows for arrivals bunching up;
        # unpaced, nearly all 60 arrive within a few ms); every one is delivered.
        with Edge() as edge:
            with pixel.Tracker(edge.url, max_rate=100) as t:
                for i in range(60):
                    t.track({"n": str(i)})
                self.assertTrue(t.flush(timeout=60))
                self.assertEqual(t.stats()["delivered"], 60)
            records = edge.stop()
        arrivals = sorted(float(ts) for ts, *_ in records)
        busiest = max(bisect.bisect_left(arrivals, a + 0.1) - i for i, a in enumerate(arrivals))
        self.assertLessEqual(busiest, 30, arrivals)
        self.assertEqual(sorted(int(dict(p)["n"]) for *_, p in records), list(range(60)))


class ReceiptsTest(unittest.TestCase):
    def test_one_line_per_event_with_its_outcome(self):
        tmp = tempfile.TemporaryDirectory(prefix="pixel-py-receipts-")
        self.addCleanup(tmp.cleanup)
        path = os.path.join(tmp.name, "receipts.jsonl")
        before = time.time()
        with Edge() as edge:
            with pixel.Tracker(edge.url, receipts_path=path) as t:
                delivered = [t.track({"n": str(i)}) for i in range(5)]
                self.assertTrue(t.flush(timeout=60))
            edge.stop()
        # A port that listens and never accepts holds the request in flight, so the queue of
        # one is full for a second event; closing it resets the connection: one attempt,
        # failed.
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        held = "http://127.0.0.1:%d/1x1.png" % s.getsockname()[1]
        with pixel.Tracker(held, receipts_path=path, max_attempts=1, outage_threshold=0,
                           queue_capacity=1) as t:
            failed = t.track({"n": "x"})
            with self.assertRaises(pixel.QueueFullError):
                t.track({"n": "y"})
            s.close()
            self.assertTrue(t.flush(timeout=60))
        after = time.time()
        with open(path, encoding="utf-8") as f:
            lines = [json.loads(line) for line in f]
        for r in lines:
            self.assertEqual(set(r), {"eid", "outcome", "status", "attempts", "at"})
            self.assertTrue(before - 1 <= r["at"] <= after + 1, r)
        by_eid = {r["eid"]: r for r in lines}
        self.assertEqual(len(lines), 7)  # the queue-full drop has a receipt too
        for eid in delivered:
            self.assertEqual({k: by_eid[eid][k] for k in ("outcome", "status", "attempts")},
                             {"outcome": "delivered", "status": 200, "attempts": 1})
        self.assertEqual({k: by_eid[failed][k] for k in ("outcome", "status", "attempts")},
                         {"outcome": "failed", "status": 0, "attempts": 1})
        refused = [r for r in lines if r["eid"] not in set(delivered) | {failed}]
        self.assertEqual([(r["outcome"], r["status"], r["attempts"]) for r in refused],
                         [("dropped", 0, 0)])

    def test_an_unopenable_receipts_file_is_refused(self):
        with self.assertRaises(pixel.InvalidArgumentError) as cm:
            pixel.Tracker("https://x.example", receipts_path="/nonexistent-dir/receipts.jsonl")
        self.assertIn("receipts", str(cm.exception))


if __name__ == "__main__":
    unittest.main()
