# SPDX-License-Identifier: MIT
"""Signed URLs through the Python binding: the vectors computed by Python's hmac
(tests/url/vectors/signature.json) byte for byte, bad keys, and a signing Tracker whose
every event `pixel edge --verify-key` accepts."""

import base64
import json
import os
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pixel  # noqa: E402
from edge import Edge  # noqa: E402

VECTORS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                       "tests", "url", "vectors", "signature.json")


def raw_key(text):
    text = text.replace("-", "+").replace("_", "/")
    return base64.b64decode(text + "=" * (-len(text) % 4))


class SignedUrls(unittest.TestCase):
    def test_vectors(self):
        with open(VECTORS, encoding="utf-8") as f:
            vectors = json.load(f)["vectors"]
        self.assertGreaterEqual(len(vectors), 5)
        for v in vectors:
            with self.subTest(v["name"]):
                # The lifetime counts from the build: exp - now, again if the second turned.
                for _ in range(3):
                    url = pixel.build_signed_url(
                        v["endpoint"], [tuple(p) for p in v["params"]], kid=v["kid"],
                        key=raw_key(v["key"]), ttl=v["exp"] - int(time.time()),
                        event_id=False, timestamp=False)
                    if "&exp=%d&" % v["exp"] in url:
                        break
                self.assertEqual(url, v["url"])

    def test_bad_keys_and_reserved_names(self):
        ep = "https://d111111abcdef8.cloudfront.net"
        key = b"0123456789abcdef-secret"
        for kwargs in [dict(kid="bad kid", key=key), dict(kid="k", key=key[:15]),
                       dict(kid="k", key="not bytes"), dict(kid="k", key=key, ttl=-1)]:
            with self.assertRaises(pixel.InvalidArgumentError) as cm:
                pixel.build_signed_url(ep, {"a": "1"}, **kwargs)
            self.assertNotIn("0123456789", str(cm.exception))
        with self.assertRaises(pixel.InvalidArgumentError):
            pixel.build_signed_url(ep, {"sig": "1"}, kid="k", key=key)
        url = pixel.build_signed_url(ep, {"a": "1"}, kid="k", key=key, ttl=60)
        exp = int(url.split("&exp=")[1].split("&")[0])
        self.assertLessEqual(abs(exp - (int(time.time()) + 60)), 2)
        with self.assertRaises(pixel.InvalidArgumentError):
            pixel.Tracker(ep, signing_key=("k", key[:8]))

    def test_tracker_signs_every_event_for_the_edge(self):
        key = os.urandom(32)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "k.key")
            with open(path, "w") as f:
                f.write(base64.b64encode(key).decode())
            os.chmod(path, 0o600)
            with Edge(args=["--verify-key", "py1:" + path]) as edge:
                with pixel.Tracker(edge.url, signing_key=("py1", key), signature_ttl=600) as t:
                    for i in range(10):
                        t.track({"userid": "u%d" % i})
                    self.assertTrue(t.flush(timeout=60))
                    s = t.stats()
                    self.assertEqual((s["delivered"], s["failed"]), (10, 0))
                # Unsigned: refused with 403, a final status.
                with pixel.Tracker(edge.url) as t:
                    t.track({"userid": "forged"})
                    self.assertTrue(t.flush(timeout=60))
                    self.assertEqual(t.stats()["failed"], 1)
                records = edge.stop()
        self.assertEqual(len(records), 11)
        signed = [dict(r[3]) for r in records if dict(r[3]).get("kid") == "py1"]
        self.assertEqual(len(signed), 10)
        for p in signed:
            self.assertEqual(int(p["exp"]), int(p["ts"]) // 1000 + 600)


if __name__ == "__main__":
    unittest.main()
