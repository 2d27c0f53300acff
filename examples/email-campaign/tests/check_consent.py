#!/usr/bin/env python3
"""Checks email-campaign's tracking modes (--consent-column, --pseudonym-key, --optout-url)
with Python's own email, html.parser, hmac, hashlib and urllib.

usage: check_consent.py EMAIL_CAMPAIGN_BINARY WORK_DIR PIXEL_BINARY
"""
import base64
import csv
import email
import email.policy
import hashlib
import hmac
import html.parser
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.parse

BIN, WORK, PIXEL = sys.argv[1], sys.argv[2], sys.argv[3]
ENDPOINT = "https://px.example.com"
KEY = b"0123456789abcdef-consent-key"  # the file holds KEY and one newline
OPTOUT = "https://example.com/consent?u={{userid}}&n={{name}}&c=spring"
failures = []

# The consent column's values: every mode, spellings, and empty (--default-mode: off).
RECIPIENTS = [
    {"email": "off@example.com", "userid": "u-off", "name": "Olga & Co", "consent": "off"},
    {"email": "agg@example.com", "userid": "u-agg-7", "name": 'Al "A" <b>', "consent": "aggregate"},
    {"email": "Pseudo@Example.com", "userid": "", "name": "Pé Seu", "consent": "pseudonymous"},
    {"email": "ps2@example.com", "userid": "u-ps 2/+", "name": "Ps Two", "consent": "Pseudonymous"},
    {"email": "id@example.com", "userid": "u-id&1", "name": "Ida <Id>", "consent": "identified"},
    {"email": "none@example.com", "userid": "u-none", "name": "No One", "consent": ""},
]
TEMPLATE = """<!DOCTYPE html><html><head><title>News for {{name}}</title></head>
<body><p>Hello {{name}}.</p>
<p><a href="{{tracking_optout}}">Tracking preferences</a></p>
</body></html>
"""


def check(cond, what):
    if not cond:
        failures.append(what)
    return cond


def write(path, text, mode="w"):
    with open(path, mode) as f:
        f.write(text)
    return path


def run(name, *args, expect=0):
    out = os.path.join(WORK, name)
    shutil.rmtree(out, ignore_errors=True)
    p = subprocess.run([BIN, "--out", out, *args], capture_output=True, timeout=120)
    stderr = p.stderr.decode("utf-8", "replace")
    check(p.returncode == expect, f"{name}: exit {p.returncode}, expected {expect}\n{stderr}")
    return out, stderr


class Tags(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.imgs, self.links = [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.imgs.append(a.get("src") or "")
        elif tag == "a":
            self.links.append(a.get("href") or "")


def pseudonym(value):
    mac = hmac.new(KEY, value.encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def forbidden_forms(value):
    """A value and what it is commonly disguised as."""
    v = value.encode()
    full = hmac.new(KEY, v, hashlib.sha256).digest()
    forms = {value, urllib.parse.quote(value, safe=""), hashlib.sha256(v).hexdigest(),
             hashlib.md5(v).hexdigest(), full.hex(), pseudonym(value),
             base64.b64encode(full).decode().rstrip("=")}
    return {f for f in forms if f}


def case_modes():
    csv_path = os.path.join(WORK, "consent.csv")
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["email", "userid", "name", "consent"])
        w.writeheader()
        w.writerows(RECIPIENTS)
    tpl = write(os.path.join(WORK, "consent.html"), TEMPLATE)
    key = write(os.path.join(WORK, "pseudonym.key"), KEY + b"\n", "wb")
    os.chmod(key, 0o600)
    out, err = run("consent", "--template", tpl, "--recipients", csv_path, "--campaign", "spring",
                   "--endpoint", ENDPOINT, "--consent-column", "consent", "--pseudonym-key", key,
                   "--optout-url", OPTOUT)
    with open(os.path.join(out, "manifest.jsonl"), encoding="utf-8") as f:
        lines = [json.loads(line) for line in f]
    with open(os.path.join(out, "manifest.csv"), newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    check(len(lines) == len(rows) == len(RECIPIENTS), f"{len(lines)} lines, {len(rows)} rows")
    expected_modes = ["off", "aggregate", "pseudonymous", "pseudonymous", "identified", "off"]
    check("messages per tracking mode: off 2, aggregate 1, pseudonymous 2, identified 1" in err,
          f"summary per mode:\n{err}")
    aggregate_eids = []
    for r, want, line, row in zip(RECIPIENTS, expected_modes, lines, rows):
        who = r["email"]
        uid = r["userid"] or r["email"].lower()
        check(line["mode"] == want and row["mode"] == want,
              f"{who}: mode {line['mode']}/{row['mode']} != {want}")
        with open(os.path.join(out, row["file"]), "rb") as f:
            raw = f.read()
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        doc = msg.get_body(("html",)).get_content()
        text = msg.get_body(("plain",)).get_content()
        tags = Tags()
        tags.feed(doc)
        tags.close()
        remote = [s for s in tags.imgs if re.match(r"(?i)\s*(https?:)?//", s)]
        pixels = [urllib.parse.urlsplit(s) for s in remote if s.startswith(ENDPOINT + "/")]
        query = [urllib.parse.parse_qs(p.query) for p in pixels]

        # The opt-out link, every mode: merge values percent-encoded in the URL, the URL
        # HTML-escaped in the HTML part, as it is in the text part.
        link = OPTOUT.replace("{{userid}}", urllib.parse.quote(r["userid"], safe="")).replace(
            "{{name}}", urllib.parse.quote(r["name"], safe=""))
        check(tags.links == [link], f"{who}: opt-out links {tags.links} != [{link}]")
        check(f'href="{link.replace("&", "&amp;")}"' in doc, f"{who}: opt-out href not escaped")
        check(link in text, f"{who}: opt-out link not in the text part:\n{text}")

        if want == "off":
            check(remote == [], f"{who}: off message loads remote images {remote}")
            check(ENDPOINT.encode() not in raw and b"1x1.png" not in raw, f"{who}: pixel in off")
            check(line["eid"] is None and line["recipient"] is None, f"{who}: off manifest {line}")
            check(row["eid"] == row["url"] == row["userid"] == "", f"{who}: off manifest.csv {row}")
            continue
        check(len(pixels) == 1 and remote == [p.geturl() for p in pixels],
              f"{who}: remote images {remote}")
        q = query[0] if query else {}
        eid = q.get("eid", [""])[0]
        check(line["eid"] == eid != "", f"{who}: manifest eid {line['eid']} != pixel's {eid}")
        check(q.get("campaign") == ["spring"] and q.get("channel") == ["email"], f"{who}: {q}")
        if want == "aggregate":
            aggregate_eids.append(eid)
            check("userid" not in q, f"{who}: aggregate pixel has userid {q}")
            url = remote[0]
            for value in (uid, r["email"], r["email"].lower()):
                for form in forbidden_forms(value):
                    check(form not in url, f"{who}: aggregate pixel carries {form!r}: {url}")
            check(line["recipient"] is None, f"{who}: aggregate manifest recipient {line}")
            check(row["eid"] == row["url"] == row["userid"] == "", f"{who}: manifest.csv {row}")
            check(eid not in msg["Message-ID"] and eid.encode() not in raw.replace(
                remote[0].encode(), b""), f"{who}: the event id is outside the pixel")
        elif want == "pseudonymous":
            token = pseudonym(uid)
            check(q.get("userid") == [token], f"{who}: userid {q.get('userid')} != {token}")
            check(urllib.parse.quote(uid, safe="") not in remote[0], f"{who}: raw id in pixel")
            check(line["recipient"] == token == row["userid"], f"{who}: manifest {line} {row}")
        else:
            check(q.get("userid") == [uid], f"{who}: userid {q.get('userid')} != {uid}")
            check(line["recipient"] == uid == row["userid"], f"{who}: manifest {line} {row}")
    for eid in aggregate_eids:
        check(eid not in err, "an aggregate event id is in the diagnostics")
    # `pixel opens` reads the manifest: the messages with a pixel, the off ones left out.
    empty_log = write(os.path.join(WORK, "empty.log"), "")
    p = subprocess.run([PIXEL, "opens", "--summary", "--manifest", os.path.join(out, "manifest.jsonl"),
                        empty_log], capture_output=True, timeout=60)
    check(p.returncode == 0 and p.stderr == b"", f"pixel opens: exit {p.returncode} {p.stderr!r}")
    summary = json.loads(p.stdout) if p.returncode == 0 else {}
    check(summary.get("sent") == 4 and summary.get("not_opened") == 4, f"pixel opens: {summary}")


def case_errors():
    csv_path = write(os.path.join(WORK, "bad.csv"),
                     "email,consent\na@example.com,identified\nb@example.com,yes please\n")
    tpl = write(os.path.join(WORK, "bad.html"), TEMPLATE)
    _, err = run("unknown-mode", "--template", tpl, "--recipients", csv_path, "--campaign", "c",
                 "--endpoint", ENDPOINT, "--consent-column", "consent", "--optout-url", OPTOUT,
                 expect=1)
    check("line 3" in err and "'yes please'" in err, f"unknown mode not named:\n{err}")
    short = write(os.path.join(WORK, "short.key"), "tooshort-Zq9\n")
    os.chmod(short, 0o600)
    _, err = run("short-key", "--template", tpl, "--recipients", csv_path, "--campaign", "c",
                 "--endpoint", ENDPOINT, "--pseudonym-key", short, expect=2)
    check("at least 16 bytes" in err and "tooshort" not in err, f"short key:\n{err}")
    csv_path = write(os.path.join(WORK, "nokey.csv"), "email,consent\na@example.com,pseudonymous\n")
    _, err = run("no-key", "--template", tpl, "--recipients", csv_path, "--campaign", "c",
                 "--endpoint", ENDPOINT, "--consent-column", "consent", expect=1)
    check("--pseudonym-key" in err, f"pseudonymous without a key:\n{err}")


os.makedirs(WORK, exist_ok=True)
for case in (case_modes, case_errors):
    case()
if failures:
    for f in failures[:50]:
        print("FAIL:", f)
    print(f"{len(failures)} failures")
    sys.exit(1)
print("all checks passed")
