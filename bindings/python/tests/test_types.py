# SPDX-License-Identifier: MIT
"""Arguments of the wrong type raise TypeError (pixel.ArgumentTypeError, which is also the
library's InvalidArgumentError), before anything reaches the library; and the package
ships its type information (py.typed)."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pixel  # noqa: E402

EP = "https://x.example"


class WrongTypesTest(unittest.TestCase):
    def assert_type_error(self, call, *names):
        with self.assertRaises(TypeError) as cm:
            call()
        self.assertIsInstance(cm.exception, pixel.ArgumentTypeError)
        self.assertIsInstance(cm.exception, pixel.InvalidArgumentError)
        self.assertEqual(cm.exception.status, 1)
        for name in names:
            self.assertIn(name, str(cm.exception))

    def test_functions(self):
        t = self.assert_type_error
        t(lambda: pixel.build_url(None, {}), "endpoint", "NoneType")
        t(lambda: pixel.build_url(b"https://x.example", {}), "endpoint", "bytes")
        t(lambda: pixel.build_url(42, {}), "endpoint", "int")
        t(lambda: pixel.build_url(EP, 5), "params", "int")
        t(lambda: pixel.build_url(EP, "userid=1"), "params", "str")
        t(lambda: pixel.build_url(EP, ["userid"]), "parameter")
        t(lambda: pixel.build_url(EP, [("only-one",)]), "pair")
        t(lambda: pixel.build_url(EP, {1: "v"}), "key", "int")
        t(lambda: pixel.build_url(EP, {"k": None}), "value", "NoneType")
        t(lambda: pixel.build_url(EP, {"k": ["list"]}), "value", "list")
        t(lambda: pixel.img_tag(None), "url")
        t(lambda: pixel.img_tag(EP, style=1), "style")
        t(lambda: pixel.build_signed_url(EP, {}, kid="k", key="not bytes"), "key", "str")
        t(lambda: pixel.build_signed_url(EP, {}, kid=1, key=b"k" * 16), "kid", "int")
        t(lambda: pixel.build_signed_url(EP, {}, kid="k", key=b"k" * 16, ttl=1.5), "ttl")
        t(lambda: pixel.sample_keeps("0.5", b"", "v"), "rate")
        t(lambda: pixel.sample_keeps(0.5, "salt", "v"), "salt")
        t(lambda: pixel.sample_keeps(0.5, b"", 7), "value")

    def test_tracker_options_and_calls(self):
        t = self.assert_type_error
        t(lambda: pixel.Tracker(None), "endpoint")
        t(lambda: pixel.Tracker(EP, queue_capacity="10"), "queue_capacity", "str")
        t(lambda: pixel.Tracker(EP, queue_capacity=True), "queue_capacity", "bool")
        t(lambda: pixel.Tracker(EP, request_timeout="1"), "request_timeout")
        t(lambda: pixel.Tracker(EP, proxy=5), "proxy", "int")
        t(lambda: pixel.Tracker(EP, on_result=5), "on_result")
        t(lambda: pixel.Tracker(EP, pseudonym_key="text"), "pseudonym_key")
        t(lambda: pixel.Tracker(EP, identity_params="userid"), "identity_params")
        t(lambda: pixel.Tracker(EP, signing_key=b"k" * 16), "signing_key")
        t(lambda: pixel.Tracker(EP, tracking_mode=1), "tracking_mode")
        t(lambda: pixel.Tracker(EP, max_rate=None), "max_rate")
        with pixel.Tracker(EP, shutdown_timeout=0) as tracker:
            t(lambda: tracker.track(42), "params", "int")
            t(lambda: tracker.track({"k": "v"}, user_agent=b"ua"), "user_agent")
            t(lambda: tracker.track({"k": "v"}, mode=3), "mode")
            t(lambda: tracker.flush(timeout="1"), "timeout")
            self.assertEqual(tracker.stats()["queued"], 0)  # nothing reached the queue
            tracker.close(0)

    def test_values_of_the_right_type_still_get_value_errors(self):
        with self.assertRaises(pixel.InvalidArgumentError) as cm:
            pixel.Tracker(EP, queue_capacity=-1)
        self.assertNotIsInstance(cm.exception, TypeError)
        with self.assertRaises(pixel.InvalidEndpointError):
            pixel.build_url("ftp://x.example", {})


class TypeInformationTest(unittest.TestCase):
    def test_py_typed_is_shipped(self):
        here = os.path.dirname(pixel.__file__)
        self.assertTrue(os.path.isfile(os.path.join(here, "py.typed")), here)


if __name__ == "__main__":
    unittest.main()
