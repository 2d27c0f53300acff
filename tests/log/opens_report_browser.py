#!/usr/bin/env python3
"""The HTML report of `pixel opens --html`, opened in headless Chromium.

The page must be self-contained (no script, no external resource of any kind), accessible
(a <title>, every chart an SVG with role="img" and its own <title>), render with nothing
but the file (a screenshot at laptop width and at phone width shows the charts' colours),
and say the same numbers as `pixel opens --summary` (read back from Chromium's DOM).

Usage: opens_report_browser.py PIXEL_BIN CHROMIUM_BIN
"""
import html.parser
import json
import os
import random
import struct
import subprocess
import sys
import tempfile
import zlib

HUMAN_GREEN = (0x1A, 0x7F, 0x37)
APPLE_PURPLE = (0x66, 0x39, 0xBA)


def png_pixels(path):
    """Width, height and RGB rows of an 8-bit RGB/RGBA PNG (as Chromium writes them)."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6), (depth, colour)
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 0xFF
            elif f == 2:
                line[i] = (line[i] + b) & 0xFF
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


def count_colour(rows, bpp, rgb):
    n = 0
    for row in rows:
        for i in range(0, len(row), bpp):
            if abs(row[i] - rgb[0]) <= 2 and abs(row[i + 1] - rgb[1]) <= 2 and \
                    abs(row[i + 2] - rgb[2]) <= 2:
                n += 1
    return n


class Page(html.parser.HTMLParser):
    """Collects the data-key values per campaign section, the titles and the resources."""

    def __init__(self):
        super().__init__()
        self.sections, self.current = {}, None
        self.titles, self.svgs, self.tags = 0, 0, []
        self.labelled, self.title_ids = [], set()
        self.in_svg = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "section" and "data-campaign" in a:
            self.current = self.sections.setdefault(a["data-campaign"], {"machine": {}})
        if tag == "svg":
            self.svgs += 1
            self.in_svg = True
            if a.get("role") != "img" or not a.get("aria-labelledby"):
                raise AssertionError(f"svg without role=img/aria-labelledby: {a}")
            self.labelled.append(a["aria-labelledby"])
        if tag == "title":
            if self.in_svg:
                if a.get("id"):
                    self.title_ids.add(a["id"])
            else:
                self.titles += 1
        if self.current is not None:
            if "data-key" in a:
                self.current[a["data-key"]] = a.get("data-value")
                self.pending = a["data-key"] if "data-value" not in a else None
            if "data-machine-client" in a:
                self.pending_machine = a["data-machine-client"]

    def handle_endtag(self, tag):
        if tag == "svg":
            self.in_svg = False
        if tag == "section":
            self.current = None

    def handle_data(self, data):
        if self.current is None:
            return
        if getattr(self, "pending", None):
            self.current[self.pending] = data.strip()
            self.pending = None
        if getattr(self, "pending_machine", None):
            self.current["machine"][self.pending_machine] = int(data.strip())
            self.pending_machine = None


def chromium(binary, tmp, *args):
    profile = os.path.join(tmp, "profile")
    os.makedirs(profile, exist_ok=True)
    # Every host name fails to resolve: the page must render from the file alone.
    cmd = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--hide-scrollbars", "--host-resolver-rules=MAP * ~NOTFOUND",
           f"--user-data-dir={profile}", *args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise AssertionError(f"chromium exit {p.returncode}: {p.stderr[-2000:]}")
    return p.stdout


def main():
    pixel, browser = sys.argv[1], sys.argv[2]
    rng = random.Random(4)
    failures = []

    def check(cond, what):
        if not cond:
            failures.append(what)

    with tempfile.TemporaryDirectory() as tmp:
        base = 1718787248.0
        agents = ["Mozilla/5.0",
                  "Mozilla/5.0%20(Windows%20NT%205.1;%20rv:11.0)%20Gecko%20Firefox/11.0%20"
                  "(via%20ggpht.com%20GoogleImageProxy)",
                  "YahooMailProxy;%20https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html",
                  "Mozilla/5.0%20(X11;%20Linux%20x86_64;%20rv:126.0)%20Gecko/20100101%20"
                  "Firefox/126.0", "curl/8.5.0"]
        lines = []
        for c, name in enumerate(["spring <sale> & \"more\"", "product-update"]):
            d = os.path.join(tmp, "m", name.replace(" ", "_").replace("/", "_"))
            os.makedirs(d)
            with open(os.path.join(d, "manifest.jsonl"), "w", encoding="utf-8") as f:
                for i in range(300 + 100 * c):
                    sent = base + c * 86400 + i * 0.5
                    f.write(json.dumps({"campaign": name, "eid": f"C{c}M{i}",
                                        "recipient": f"r{i}", "sent": sent}) + "\n")
                    for _ in range(rng.choice([0, 1, 1, 2, 3])):
                        t = sent + rng.choice([0.3, rng.expovariate(1 / 5400)])
                        status = rng.choice(["200", "200", "304", "403"])
                        lines.append("\t".join([f"{t:.3f}", "192.0.2.9", status, "/1x1.png",
                                                "r", rng.choice(agents), "-",
                                                f"campaign=x&eid=C{c}M{i}"]))
        lines.append("\t".join([f"{base:.3f}", "192.0.2.9", "200", "/1x1.png", "r", "curl/8",
                                "-", "eid=stranger"]))
        rng.shuffle(lines)
        with open(os.path.join(tmp, "records"), "w") as f:
            f.write("\n".join(lines) + "\n")
        report = os.path.join(tmp, "report.html")
        p = subprocess.run([pixel, "opens", "--manifest", os.path.join(tmp, "m"), "--summary",
                            "--html", report, os.path.join(tmp, "records")],
                           capture_output=True, text=True)
        check(p.returncode == 0, f"pixel opens exit {p.returncode}: {p.stderr}")
        summary = [json.loads(l) for l in p.stdout.splitlines()]

        text = open(report, encoding="utf-8").read().lower()
        for banned in ("<script", "src=", "href=", "url(", "@import", "<link", "<img",
                       "<iframe", "<object", "<embed", "http://", "https://"):
            check(banned not in text, f"the report contains {banned!r}")
        check(text.startswith("<!doctype html>"), "no doctype")

        dom = chromium(browser, tmp, "--dump-dom", "file://" + report)
        page = Page()
        page.feed(dom)
        check(page.titles == 1, f"{page.titles} page titles")
        check(page.svgs >= 6 and all(i in page.title_ids for i in page.labelled),
              f"{page.svgs} charts; labels {page.labelled}, titles {page.title_ids}")
        for s in summary:
            if s.get("unknown"):
                continue
            got = page.sections.get(s["campaign"])
            if not check(got is not None, f"no section for {s['campaign']!r}"):
                continue
            for key in ("sent", "opened", "machine_only", "not_opened"):
                check(int(got[key]) == s[key], f"{s['campaign']}: {key} {got[key]} != {s[key]}")
            check(float(got["open_rate"]) == s["open_rate"],
                  f"{s['campaign']}: open_rate {got['open_rate']} != {s['open_rate']}")
            want_median = s["median_time_to_open"]
            check((got["median_time_to_open"] == "null") if want_median is None else
                  float(got["median_time_to_open"]) == want_median,
                  f"{s['campaign']}: median {got['median_time_to_open']} != {want_median}")
            check(got["machine"] == s["machine_hits"],
                  f"{s['campaign']}: machine hits {got['machine']} != {s['machine_hits']}")
            check(int(got["failed_hits"]) == s["failed_hits"], f"{s['campaign']}: failed hits")
            check(f"{100 * s['open_rate']:.1f}%" in dom, f"open rate {s['open_rate']} not shown")

        for width, height in ((1280, 1200), (390, 1600)):
            shot = os.path.join(tmp, f"shot-{width}.png")
            chromium(browser, tmp, f"--window-size={width},{height}", f"--screenshot={shot}",
                     "file://" + report)
            w, h, bpp, rows = png_pixels(shot)
            check((w, h) == (width, height), f"screenshot {w}x{h}, asked {width}x{height}")
            green = count_colour(rows, bpp, HUMAN_GREEN)
            purple = count_colour(rows, bpp, APPLE_PURPLE)
            check(green > 1000, f"{width} px: {green} pixels of the human-open green")
            check(purple > 500, f"{width} px: {purple} pixels of the Apple MPP purple")
            # Nothing wider than the window: the right-most column stays page background.
            right = [r[(w - 1) * bpp:(w - 1) * bpp + 3] for r in rows]
            check(all(px == b"\xff\xff\xff" for px in right), f"{width} px: content past the edge")
    for f in failures[:30]:
        print("FAIL:", f)
    if failures:
        print(f"{len(failures)} failures")
        return 1
    print(f"report checked: {len(summary)} summary lines, DOM and screenshots agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
