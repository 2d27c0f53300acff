#!/usr/bin/env python3
"""Checks `pixel url` against an independent decoder.

Generates random parameters (keys and values of random UTF-8, with the characters that
break naive encoders), prints a URL for each set with `pixel url`, decodes the query with
Python's urllib.parse.parse_qsl or Node's URLSearchParams, and requires the decoded pairs
to equal the input pairs exactly, in order.
"""
import argparse
import concurrent.futures
import json
import random
import subprocess
import sys
import urllib.parse

TRICKY = " +&=%#?/;\"'<>\\~.-_\t\n\r"


def random_text(rng, max_len, min_len=0):
    out = []
    for _ in range(rng.randint(min_len, max_len)):
        kind = rng.randrange(10)
        if kind < 2:
            out.append(rng.choice(TRICKY))
        elif kind < 5:
            out.append(chr(rng.randint(1, 0x7F)))  # no NUL: argv cannot carry it
        elif kind < 7:
            out.append(chr(rng.randint(0x80, 0x7FF)))
        elif kind < 9:
            cp = rng.randint(0x800, 0xFFFF)
            while 0xD800 <= cp <= 0xDFFF:
                cp = rng.randint(0x800, 0xFFFF)
            out.append(chr(cp))
        else:
            out.append(chr(rng.randint(0x10000, 0x10FFFF)))
    return "".join(out)


def random_params(rng):
    params = []
    for _ in range(rng.randint(0, 6)):
        # The CLI splits KEY=VALUE at the first '=', so a key cannot hold one.
        key = random_text(rng, 8, 1).replace("=", "")
        if not key:
            key = "k"
        params.append((key, random_text(rng, 24)))
    if params and rng.random() < 0.2:
        params.append(params[0])  # duplicates are kept
    return params


NODE_DECODER = r"""
let input = '';
process.stdin.on('data', (d) => { input += d; });
process.stdin.on('end', () => {
  const urls = JSON.parse(input);
  const out = urls.map((u) => Array.from(new URL(u).searchParams.entries()));
  process.stdout.write(JSON.stringify(out));
});
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pixel", required=True)
    ap.add_argument("--decoder", choices=["python", "node"], required=True)
    ap.add_argument("--node", default="node")
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    rng = random.Random(args.seed)
    endpoint = "https://d111111abcdef8.cloudfront.net"
    cases = [random_params(rng) for _ in range(args.count)]

    def print_url(params):
        argv = [args.pixel, "url", "--no-event-id", "--no-timestamp", "--endpoint", endpoint, "--"]
        argv += [f"{k}={v}".encode("utf-8") for k, v in params]
        proc = subprocess.run(argv, capture_output=True)
        if proc.returncode != 0:
            raise SystemExit(f"pixel url failed ({proc.returncode}) for {params!r}: {proc.stderr!r}")
        url = proc.stdout.decode("ascii")
        assert url.endswith("\n") and url.count("\n") == 1, repr(url)
        url = url[:-1]
        assert len(url.encode()) <= 8192
        for ch in urllib.parse.urlsplit(url).query:
            assert ch.isascii() and (ch.isalnum() or ch in "-._~%&="), (url, ch)
        return url

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        urls = list(pool.map(print_url, cases))

    if args.decoder == "python":
        decoded = []
        for url in urls:
            query = urllib.parse.urlsplit(url).query
            decoded.append(urllib.parse.parse_qsl(query, keep_blank_values=True,
                                                  strict_parsing=bool(query), errors="strict"))
    else:
        proc = subprocess.run([args.node, "-e", NODE_DECODER], input=json.dumps(urls).encode(),
                              capture_output=True, check=True)
        decoded = [[tuple(p) for p in entry] for entry in json.loads(proc.stdout)]

    bad = 0
    for params, url, got in zip(cases, urls, decoded):
        if [tuple(p) for p in params] != [tuple(p) for p in got]:
            bad += 1
            if bad <= 5:
                print(f"MISMATCH\n  url: {url}\n  sent: {params!r}\n  got:  {got!r}")
    total = len(cases)
    print(f"{args.decoder}: {total - bad} of {total} URLs decoded to exactly the parameters sent")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
