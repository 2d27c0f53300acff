# SPDX-License-Identifier: MIT
"""The ctypes declarations (pixel/_native.py) against pixel.h as the C compiler sees it:
abi_layout.json, written at build time by bindings/abi_layout.c (PIXEL_ABI_LAYOUT)."""

import ctypes
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pixel  # noqa: E402
from pixel import _native  # noqa: E402


class AbiLayoutTest(unittest.TestCase):
    def setUp(self):
        with open(os.environ["PIXEL_ABI_LAYOUT"], encoding="utf-8") as f:
            self.layout = json.load(f)

    def test_every_struct_matches_the_c_header(self):
        self.assertEqual(set(_native.STRUCTS), set(self.layout["structs"]))
        for name, want in self.layout["structs"].items():
            with self.subTest(struct=name):
                cls = _native.STRUCTS[name]
                self.assertEqual(ctypes.sizeof(cls), want["size"])
                self.assertEqual(ctypes.alignment(cls), want["align"])
                fields = {f[0]: (getattr(cls, f[0]).offset, getattr(cls, f[0]).size)
                          for f in cls._fields_}
                self.assertEqual(fields, {k: tuple(v) for k, v in want["fields"].items()})

    def test_size_prefixed_structs_carry_their_size(self):
        self.assertEqual(_native.Stats().size, self.layout["structs"]["pixel_stats"]["size"])
        self.assertEqual(_native.Event(None, 0, None).size,
                         self.layout["structs"]["pixel_event"]["size"])

    def test_constants_and_the_library_it_loads(self):
        self.assertEqual(_native.EVENT_ID_SIZE, self.layout["constants"]["PIXEL_EVENT_ID_SIZE"])
        self.assertEqual(pixel.version(), self.layout["version"])
        self.assertIn("libpixel.so.%d" % self.layout["abi"], _native.LIBRARY_NAMES)


if __name__ == "__main__":
    unittest.main()
