#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Every subcommand of the pixel CLI receives its arguments byte for byte.

Arguments shaped like CLI11 lists ('[a=b,c]'), holding , { } " ' \\, looking like options
or carrying invalid UTF-8 are given to `pixel url`, `img`, `send`, `edge` and `logs`; what
each one received is read back with decoders that are not ours: urllib.parse.parse_qsl on
the printed URL, html.parser on the printed tag, the records a live `pixel edge` wrote (a
real HTTP request, its query decoded with parse_qsl) and the file system for paths.

    bytes_test.py --pixel PATH_TO_PIXEL --edge-helper bindings/python/tests
"""
import argparse
import html.parser
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import urllib.parse

PIXEL = None
ENDPOINT = "https://d111111abcdef8.cloudfront.net"

# KEY=VALUE arguments as bytes, each a shape CLI11 (or a shell-minded parser) would alter.
PARAMS = [
    b"[a=b]",
    b"[a=b,c]",
    b"[k=v,{}\"'\\]",
    b"[]=[]",
    b"k=[v]",
    b"k=[a,b]",
    b"k=a,b",
    b"k={x}",
    b"k=\"q\"",
    b"k='q'",
    b"k=\\",
    b"k=\\\"",
    b"k=--endpoint",
    b"k=[--no-event-id]",
    b"-k=v",
    b"--no-event-id=1",
    b"[--endpoint=x]",
    b"k=\xc3\xa9[\xe2\x82\xac]",
]
# After `--`: arguments that would otherwise be read as options.
OPTION_LIKE = [b"-k=v", b"--no-event-id=1", b"--endpoint=x", b"-h=[1]", b"--=x", b"-=-"]
# Invalid UTF-8 (byte position of the first bad byte in the value).
INVALID = [(b"k=[\xff]", 1), (b"k=ab\xc0\xaf", 2), (b"k=[a,\xe2\x82]", 3)]
# Free-text option values.
USER_AGENTS = [b"[ua]", b"[a,b]", b"{\"x\": 'y'}\\", b"-looks-like-an-option", b"[--quiet]"]


def split_kv(arg):
    k, _, v = arg.partition(b"=")
    return (k.decode(), v.decode())


def run(args, **kw):
    return subprocess.run([PIXEL] + args, capture_output=True, timeout=120, **kw)


def query_pairs(url):
    query = urllib.parse.urlsplit(url).query
    return urllib.parse.parse_qsl(query, keep_blank_values=True, strict_parsing=True)


class ImgSrc(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.src = None

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.src = dict(attrs)["src"]


class Url(unittest.TestCase):
    def check(self, args, expected):
        r = run(["url", "--endpoint", ENDPOINT, "--no-event-id", "--no-timestamp"] + args)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(query_pairs(r.stdout.decode().rstrip("\n")), expected)

    def test_list_shaped_and_quoted_arguments(self):
        self.check([b"--"] + PARAMS, [split_kv(p) for p in PARAMS])

    def test_each_argument_alone(self):
        for p in PARAMS:
            with self.subTest(p=p):
                self.check([b"--", p], [split_kv(p)])

    def test_without_double_dash(self):
        plain = [p for p in PARAMS if not p.startswith(b"-")]
        self.check(plain, [split_kv(p) for p in plain])

    def test_option_like_after_double_dash(self):
        self.check([b"--"] + OPTION_LIKE, [split_kv(p) for p in OPTION_LIKE])

    def test_options_after_the_params_still_apply(self):
        r = run(["url", "--endpoint", ENDPOINT, "[a=b]", "--no-event-id", "--no-timestamp"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(query_pairs(r.stdout.decode()), [("[a", "b]")])

    def test_invalid_utf8_reported_at_its_byte(self):
        for arg, at in INVALID:
            with self.subTest(arg=arg):
                r = run(["url", "--endpoint", ENDPOINT, "--", arg])
                self.assertEqual(r.returncode, 1)
                self.assertEqual(r.stdout, b"")
                self.assertIn(b"invalid UTF-8 in value of 'k' at byte %d" % at, r.stderr)

    def test_not_key_value_is_named_exactly(self):
        for arg in (b"[a]", b"[a,b]", b"[\xff]"):
            with self.subTest(arg=arg):
                r = run(["url", "--endpoint", ENDPOINT, "--", arg])
                self.assertEqual(r.returncode, 2)
                self.assertIn(b"argument '" + arg + b"' is not KEY=VALUE", r.stderr)

    def test_endpoint_value_kept(self):
        r = run(["url", "--endpoint", "[https://d1.example]", "k=v"])
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"[https://d1.example]", r.stderr)


class Img(unittest.TestCase):
    def test_params_reach_the_tag(self):
        for args in ([b"--"] + PARAMS, [b"--"] + OPTION_LIKE):
            with self.subTest(args=args[:2]):
                r = run(["img", "--endpoint", ENDPOINT, "--no-event-id", "--no-timestamp"] +
                        args)
                self.assertEqual(r.returncode, 0, r.stderr)
                p = ImgSrc()
                p.feed(r.stdout.decode())
                expected = [split_kv(a) for a in args if a != b"--"]
                self.assertEqual(query_pairs(p.src), expected)

    def test_given_url_kept(self):
        url = ENDPOINT + "/1x1.png?k=[a,b]&q={\"'}"
        r = run(["img", "--url", url])
        self.assertEqual(r.returncode, 0, r.stderr)
        p = ImgSrc()
        p.feed(r.stdout.decode())
        self.assertEqual(p.src, url)
        r = run(["img", "--url", "[" + url + "]"])
        self.assertEqual(r.returncode, 1)
        self.assertIn(("'[" + url + "]'").encode(), r.stderr)

    def test_invalid_utf8(self):
        for arg, at in INVALID:
            r = run(["img", "--endpoint", ENDPOINT, "--", arg])
            self.assertEqual(r.returncode, 1)
            self.assertIn(b"at byte %d" % at, r.stderr)


class SendEdgeLogs(unittest.TestCase):
    """`pixel send` to a live `pixel edge` whose --out is list-shaped; `pixel logs` reads
    the objects back from a list-shaped folder."""

    @classmethod
    def setUpClass(cls):
        from edge import Edge  # bindings/python/tests/edge.py: runs `pixel edge`
        cls.Edge = Edge

    def test_send_edge_and_logs(self):
        tmp = tempfile.mkdtemp(prefix="pixel-bytes-")
        try:
            self._run(tmp)
        finally:
            shutil.rmtree(tmp)

    def _run(self, tmp):
        os.environ["PIXEL_EDGE"] = PIXEL
        out = os.path.join(tmp, "[out,{x}]")
        edge = self.Edge(out=out)
        with edge:
            sent = []
            for ua in USER_AGENTS:
                r = run(["send", "--endpoint", edge.url, "--no-event-id", "--no-timestamp",
                         b"--user-agent=" + ua, "--quiet", "--"] + PARAMS + OPTION_LIKE)
                self.assertEqual(r.returncode, 0, r.stderr)
                sent.append(ua)
            r = run(["send", "--endpoint", edge.url, "--", INVALID[0][0]])
            self.assertEqual(r.returncode, 1)
            self.assertIn(b"invalid UTF-8", r.stderr)
            records = edge.stop()
        expected = [split_kv(p) for p in PARAMS + OPTION_LIKE]
        self.assertEqual(sorted(rec[2] for rec in records), sorted(u.decode() for u in sent))
        for rec in records:
            self.assertEqual(rec[3], expected)
        # The edge wrote into the folder named exactly so.
        self.assertEqual(os.listdir(tmp), ["[out,{x}]"])
        self.assertTrue(os.listdir(out))

    def test_logs_paths(self):
        tmp = tempfile.mkdtemp(prefix="pixel-bytes-")
        try:
            os.environ["PIXEL_EDGE"] = PIXEL
            out = os.path.join(tmp.encode(), b"[edge,out]")
            edge = self.Edge(out=os.fsdecode(out))
            with edge:
                r = run(["send", "--endpoint", edge.url, "--quiet", "--no-event-id",
                         "--no-timestamp", "k=[v]"])
                self.assertEqual(r.returncode, 0, r.stderr)
                edge.stop()
            # The same objects under list-shaped, quoted and invalid UTF-8 folder names.
            names = [b"[a,b]", b"{\"'\\}", b"-dash", b"[\xff]"]
            for n in names:
                shutil.copytree(out, os.path.join(tmp.encode(), n))
            for n in names:
                with self.subTest(n=n):
                    r = run(["logs", "--format", "tsv", "--", n], cwd=tmp)
                    self.assertEqual(r.returncode, 0, r.stderr)
                    self.assertIn(b"[v]", r.stdout)
            r = run(["logs", "--", b"[nope,\xff]"], cwd=tmp)
            self.assertEqual(r.returncode, 1)
            self.assertEqual(r.stderr, b"pixel: no such file or folder: [nope,\xff]\n")
        finally:
            shutil.rmtree(tmp)


def main():
    global PIXEL
    ap = argparse.ArgumentParser()
    ap.add_argument("--pixel", required=True)
    ap.add_argument("--edge-helper", required=True, help="folder holding edge.py")
    args, rest = ap.parse_known_args()
    PIXEL = args.pixel
    sys.path.insert(0, args.edge_helper)
    unittest.main(argv=[sys.argv[0], "-v"] + rest)


if __name__ == "__main__":
    main()
