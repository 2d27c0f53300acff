#!/usr/bin/env python3
"""`pixel opens` and `pixel logs --classify` against an independent implementation of the
open rules, written here from their statement (not from src/log/opens_rules.json):

  apple_mpp      the user agent is exactly "Mozilla/5.0"
  gmail_prefetch it contains "Chrome/42.0.2311.135" and "Edge/12.246"
  gmail_proxy    it contains "GoogleImageProxy"                       (human)
  yahoo_proxy    it contains "YahooMailProxy"                         (human)
  bot            empty or "-", or contains (any case) bot, crawler, spider, curl/, wget/,
                 python-requests, go-http-client, headlesschrome
  <label>        the address is in a --machine-ranges block (longest prefix)
  scanner        less than the scanner window after the message's `sent`
  human          anything else                                        (human)

Random campaigns (manifest.jsonl files), random real-time records (log-escaped user agents
quoted from mail clients, browsers, proxies and bots; 2xx/3xx and refused statuses; hits of
no manifest), then every message line, every summary line and the unknown line compared.

Usage: oracle_opens.py PIXEL_BIN
"""
import base64
import hashlib
import hmac
import ipaddress
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
from urllib.parse import quote

ESCAPE = set(b'<>"#%{}|\\^~[]`\'')

AGENTS = [
    "Mozilla/5.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/42.0.2311.135 Safari/537.36 Edge/12.246 Mozilla/5.0",
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
    "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17126; Pro)",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "curl/8.5.0", "Wget/1.21.4", "python-requests/2.31.0", "Go-http-client/1.1",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/120.0.6099.109 Safari/537.36",
    "Baiduspider", "ia_archiver CRAWLER", "", "-", "Mozilla/5.0 ", "Thunderbird \"quoted\" %",
]
ADDRESSES = ["17.58.1.2", "17.1.1.1", "198.51.100.7", "203.0.113.9", "2a01:b740::5",
             "2001:db8::1", "192.0.2.1"]
RANGES = "17.0.0.0/8 apple_relay\n17.58.0.0/16 apple_mail\n2a01:b740::/32 apple_relay\n"
HUMAN = {"human", "gmail_proxy", "yahoo_proxy"}
BOT_WORDS = ["bot", "crawler", "spider", "curl/", "wget/", "python-requests", "go-http-client",
             "headlesschrome"]


def log_escape(text: str) -> str:
    return "".join(f"%{b:02X}" if b <= 0x20 or b >= 0x7F or b in ESCAPE else chr(b)
                   for b in text.encode())


def sign(pairs, key, kid, exp, path="/1x1.png"):
    """pixel-sig-v1 as written in docs/signing.md: every pair but sig, each side percent-
    encoded (all but A-Z a-z 0-9 - . _ ~), sorted by bytes, joined with '&'; HMAC-SHA256 of
    "pixel-sig-v1\n" + path + "\n" + that, base64url without padding."""
    pairs = pairs + [("kid", kid), ("exp", str(exp))]
    canonical = "&".join(sorted(quote(k, safe="-._~") + "=" + quote(v, safe="-._~")
                                for k, v in pairs))
    mac = hmac.new(key, f"pixel-sig-v1\n{path}\n{canonical}".encode(), hashlib.sha256).digest()
    sig = base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    return pairs + [("sig", sig)]


def classify(ua, ip, since, window, ranges):
    if ua == "Mozilla/5.0":
        return "apple_mpp"
    if "Chrome/42.0.2311.135" in ua and "Edge/12.246" in ua:
        return "gmail_prefetch"
    if "GoogleImageProxy" in ua:
        return "gmail_proxy"
    if "YahooMailProxy" in ua:
        return "yahoo_proxy"
    if ua in ("", "-") or any(w in ua.lower() for w in BOT_WORDS):
        return "bot"
    if ranges and ip:
        addr = ipaddress.ip_address(ip)
        best = None
        for net, label in ranges:
            if addr.version == net.version and addr in net:
                if best is None or net.prefixlen > best[0].prefixlen:
                    best = (net, label)
        if best:
            return best[1]
    if since is not None and since < window:
        return "scanner"
    return "human"


def main() -> int:
    pixel = sys.argv[1]
    rng = random.Random(18)
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        base = 1718787248.0
        messages = []
        for c in range(3):
            campaign = ["spring", "product \"update\"", "été"][c]
            folder = os.path.join(tmp, "campaigns", f"c{c}")
            os.makedirs(folder)
            with open(os.path.join(folder, "manifest.jsonl"), "w", encoding="utf-8") as f:
                for i in range(rng.randint(150, 300)):
                    m = {"campaign": campaign, "eid": f"E{c}x{i:05d}",
                         "recipient": None if i % 7 == 0 else f"u-{c}-{i}",
                         "sent": base + c * 3600 + i * 0.25 + rng.choice([0, 0.5, 0.125])}
                    messages.append(m)
                    f.write(json.dumps(m, ensure_ascii=False) + "\n")
        lines, hits = [], []
        for n in range(6000):
            if rng.random() < 0.05:
                eid = rng.choice([f"X{rng.randint(0, 40)}", None])
                sent = None
            else:
                m = rng.choice(messages)
                eid, sent = m["eid"], m["sent"]
            ts_ms = int(((sent or base) + rng.choice([0.2, 1.0, 1.999, 2.0, 2.5, 30, 600,
                                                        7200, 90000, -1.0])) * 1000)
            ua = rng.choice(AGENTS)
            ip = rng.choice(ADDRESSES)
            status = rng.choice([200, 200, 200, 304, 403, 503, 0])
            query = "campaign=x&channel=email" + (f"&eid={eid}" if eid else "")
            cols = [f"{ts_ms // 1000}.{ts_ms % 1000:03d}", ip, f"{status:03d}", "/1x1.png",
                    f"req{n}", log_escape(ua) if ua else rng.choice(["-", ""]), "-",
                    log_escape(query)]
            lines.append("\t".join(cols))
            hits.append((eid, ts_ms, ua, ip, status))
        logs = os.path.join(tmp, "logs")
        os.makedirs(logs)
        with open(os.path.join(logs, "records"), "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        with open(os.path.join(tmp, "ranges.txt"), "w") as f:
            f.write(RANGES)

        for window, use_ranges in ((2.0, False), (30.0, True)):
            ranges = [(ipaddress.ip_network(l.split()[0]), l.split()[1])
                      for l in RANGES.splitlines()] if use_ranges else []
            by_eid = {m["eid"]: {"m": m, "hits": {}, "failed": 0, "first": None}
                      for m in messages}
            unknown = {"hits": {}, "failed": 0, "ids": set(), "none": 0}
            for eid, ts_ms, ua, ip, status in hits:
                ok = 200 <= status < 400
                e = by_eid.get(eid)
                if e is None:
                    if eid is None:
                        unknown["none"] += 1
                    else:
                        unknown["ids"].add(eid)
                    if not ok:
                        unknown["failed"] += 1
                    else:
                        k = classify(ua, ip, None, window, ranges)
                        unknown["hits"][k] = unknown["hits"].get(k, 0) + 1
                    continue
                if not ok:
                    e["failed"] += 1
                    continue
                since = ts_ms / 1000 - e["m"]["sent"]
                k = classify(ua, ip, since, window, ranges)
                e["hits"][k] = e["hits"].get(k, 0) + 1
                if k in HUMAN and (e["first"] is None or ts_ms < e["first"]):
                    e["first"] = ts_ms
            args = [pixel, "opens", "--manifest", os.path.join(tmp, "campaigns"),
                    "--scanner-window", str(window)]
            if use_ranges:
                args += ["--machine-ranges", os.path.join(tmp, "ranges.txt")]
            per = subprocess.run(args + [logs], capture_output=True, text=True)
            summ = subprocess.run(args + ["--summary", logs], capture_output=True, text=True)
            for p in (per, summ):
                if p.returncode != 0:
                    failures.append(f"exit {p.returncode}: {p.stderr}")
            got = [json.loads(l) for l in per.stdout.splitlines()]
            want_lines = []
            for m in messages:
                e = by_eid[m["eid"]]
                verdict = ("opened" if e["first"] is not None else
                           "machine_only" if e["hits"] else "not_opened")
                want_lines.append({
                    "campaign": m["campaign"], "eid": m["eid"], "recipient": m["recipient"],
                    "verdict": verdict,
                    "first_open": None if e["first"] is None else e["first"] / 1000,
                    "hits": e["hits"], "failed_hits": e["failed"]})
            want_unknown = {"campaign": None, "unknown": True, "events": len(unknown["ids"]),
                            "without_event_id": unknown["none"], "hits": unknown["hits"],
                            "failed_hits": unknown["failed"]}
            if got[:-1] != want_lines:
                for g, w in zip(got, want_lines):
                    if g != w:
                        failures.append(f"window {window}: message\n  got  {g}\n  want {w}")
                        break
                if len(got) - 1 != len(want_lines):
                    failures.append(f"{len(got) - 1} message lines, want {len(want_lines)}")
            if got and got[-1] != want_unknown:
                failures.append(f"unknown line\n  got  {got[-1]}\n  want {want_unknown}")
            sums = [json.loads(l) for l in summ.stdout.splitlines()]
            for c in dict.fromkeys(m["campaign"] for m in messages):
                ms = [by_eid[m["eid"]] for m in messages if m["campaign"] == c]
                opened = [e for e in ms if e["first"] is not None]
                machine = {}
                for e in ms:
                    for k, v in e["hits"].items():
                        if k not in HUMAN:
                            machine[k] = machine.get(k, 0) + v
                tto = [e["first"] / 1000 - e["m"]["sent"] for e in opened]
                want = {"campaign": c, "sent": len(ms), "opened": len(opened),
                        "machine_only": sum(1 for e in ms if e["first"] is None and e["hits"]),
                        "not_opened": sum(1 for e in ms if not e["hits"]),
                        "open_rate": len(opened) / len(ms), "machine_hits": machine,
                        "median_time_to_open": statistics.median(tto) if tto else None}
                g = next((s for s in sums if s.get("campaign") == c), None)
                if g is None:
                    failures.append(f"no summary line for {c}")
                    continue
                for key, value in want.items():
                    same = (abs(g[key] - value) < 1e-6 if isinstance(value, float)
                            else g[key] == value)
                    if not same:
                        failures.append(f"window {window}: {c}: {key} {g[key]} != {value}")
            if sums[-1] != want_unknown:
                failures.append(f"summary unknown line {sums[-1]}")

        # --verify-key and sampled hits: hits that do not verify are never opens, and hits
        # carrying sr=<rate> stand for 1/rate in the estimates.
        key = bytes(range(32))
        with open(os.path.join(tmp, "k1.key"), "w") as f:
            f.write(base64.b64encode(key).decode() + "\n")
        os.chmod(os.path.join(tmp, "k1.key"), 0o600)
        signed = os.path.join(tmp, "signed")
        os.makedirs(signed)
        lines, shits = [], []
        for n in range(3000):
            m = rng.choice(messages) if rng.random() < 0.95 else None
            eid = m["eid"] if m else f"X{rng.randint(0, 40)}"
            ts_ms = int(((m["sent"] if m else base) + rng.choice([1.0, 30, 600, 7200])) * 1000)
            pairs = [("campaign", "x"), ("eid", eid)]
            sr = rng.choice([None, None, "0.25", "0.5", "1", "abc", "0"])
            if sr is not None:
                pairs.append(("sr", sr))
            kind = rng.choice(["valid", "valid", "valid", "tampered", "expired", "unknown_key",
                               "missing"])
            exp = ts_ms // 1000 + 86400
            if kind == "expired":
                exp = ts_ms // 1000 - 301 - rng.randint(0, 10**6)
            if kind == "missing":
                signed_pairs = pairs
            else:
                signed_pairs = sign(pairs, key, "k2" if kind == "unknown_key" else "k1", exp)
            if kind == "tampered":
                signed_pairs = [("campaign", "y") if p == ("campaign", "x") else p
                                for p in signed_pairs]
            want_sig = {"valid": "valid", "tampered": "bad_signature", "expired": "expired",
                        "unknown_key": "unknown_key", "missing": "missing"}[kind]
            ua = rng.choice(AGENTS)
            status = rng.choice([200, 200, 200, 304, 403])
            query = "&".join(quote(k, safe="-._~") + "=" + quote(v, safe="-._~")
                             for k, v in signed_pairs)
            lines.append("\t".join([f"{ts_ms // 1000}.{ts_ms % 1000:03d}", "198.51.100.7",
                                    f"{status:03d}", "/1x1.png", f"s{n}",
                                    log_escape(ua) if ua else "-", "-", log_escape(query)]))
            shits.append((eid, ts_ms, ua, status, want_sig, sr))
        with open(os.path.join(signed, "records"), "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")

        def weight(sr):
            try:
                rate = float(sr)
            except ValueError:
                return 1.0, True
            return (1 / rate, False) if 0 < rate <= 1 else (1.0, True)

        by_eid = {m["eid"]: {"m": m, "hits": {}, "failed": 0, "unverified": 0, "first": None,
                             "w": None} for m in messages}
        blank = lambda: {"hits": {}, "failed": 0, "unverified": {}, "sampled": 0, "bad": 0,
                         "est": {}}
        camp = {m["campaign"]: blank() for m in messages}
        unk = blank()
        for eid, ts_ms, ua, status, verdict, sr in shits:
            e = by_eid.get(eid)
            c = camp[e["m"]["campaign"]] if e else unk
            if not 200 <= status < 400:
                c["failed"] += 1
                if e:
                    e["failed"] += 1
                continue
            if verdict != "valid":
                c["unverified"][verdict] = c["unverified"].get(verdict, 0) + 1
                if e:
                    e["unverified"] += 1
                continue
            k = classify(ua, "198.51.100.7", ts_ms / 1000 - e["m"]["sent"] if e else None,
                         2.0, [])
            c["hits"][k] = c["hits"].get(k, 0) + 1
            w = 1.0
            if sr is not None:
                w, bad = weight(sr)
                c["sampled"] += 1
                c["bad"] += bad
            c["est"][k] = c["est"].get(k, 0) + w
            if not e:
                continue
            e["hits"][k] = e["hits"].get(k, 0) + 1
            if e["w"] is None and sr is not None:
                e["w"] = w
            if k in HUMAN and (e["first"] is None or ts_ms < e["first"]):
                e["first"] = ts_ms
        args = [pixel, "opens", "--manifest", os.path.join(tmp, "campaigns"), "--verify-key",
                f"k1:{os.path.join(tmp, 'k1.key')}"]
        per = subprocess.run(args + [signed], capture_output=True, text=True)
        summ = subprocess.run(args + ["--summary", signed], capture_output=True, text=True)
        for p in (per, summ):
            if p.returncode != 0:
                failures.append(f"--verify-key: exit {p.returncode}: {p.stderr}")
        got = [json.loads(l) for l in per.stdout.splitlines()]
        if len(got) != len(messages) + 1:
            failures.append(f"--verify-key: {len(got)} lines, want {len(messages) + 1}")
        for g, m in zip(got, messages):
            e = by_eid[m["eid"]]
            want = {"campaign": m["campaign"], "eid": m["eid"], "recipient": m["recipient"],
                    "verdict": ("opened" if e["first"] is not None else
                                "machine_only" if e["hits"] else "not_opened"),
                    "first_open": None if e["first"] is None else e["first"] / 1000,
                    "hits": e["hits"], "failed_hits": e["failed"],
                    "unverified_hits": e["unverified"]}
            if g != want:
                failures.append(f"--verify-key: message\n  got  {g}\n  want {want}")
                break
        r1 = lambda v: round(v * 10) / 10
        sums = {s["campaign"]: s for s in map(json.loads, summ.stdout.splitlines())}
        for name, c in list(camp.items()) + [(None, unk)]:
            g = sums.get(name)
            if g is None:
                failures.append(f"--verify-key: no line for {name}")
                continue
            want = {"failed_hits": c["failed"], "unverified_hits": sum(c["unverified"].values()),
                    "unverified": c["unverified"], "sampled_hits": c["sampled"],
                    "bad_rates": c["bad"],
                    "estimated_hits": {k: r1(v) for k, v in c["est"].items()}}
            if name is not None:
                ms = [e for e in by_eid.values() if e["m"]["campaign"] == name]
                want["estimated_opened"] = r1(sum(e["w"] or 1.0 for e in ms
                                                  if e["first"] is not None))
                want["estimated_machine_only"] = r1(sum(e["w"] or 1.0 for e in ms
                                                        if e["first"] is None and e["hits"]))
                want["opened"] = sum(1 for e in ms if e["first"] is not None)
            for key, value in want.items():
                if g.get(key) != value:
                    failures.append(f"--verify-key: {name}: {key} {g.get(key)} != {value}")

        # Manifest lines as other writers make them: CRLF, escapes, another key order, a
        # line longer than the reader's 1 MiB buffer, an id given twice (the first counts),
        # a bad line, and no final newline.
        edge = os.path.join(tmp, "edge-manifest.jsonl")
        long_recipient = "r" * (3 << 19)
        rows = [json.dumps({"campaign": "e", "eid": "A1", "recipient": "x", "sent": 1}) + "\r\n",
                json.dumps({"sent": 2, "recipient": "caf\u00e9 \"q\"", "eid": "A2",
                            "campaign": "e"}) + "\n",
                json.dumps({"campaign": "e", "eid": "A3", "recipient": long_recipient,
                            "sent": 3}) + "\n",
                json.dumps({"campaign": "e", "eid": "A1", "recipient": "dup", "sent": 4}) + "\n",
                "not json\n",
                json.dumps({"campaign": "e", "eid": "A4", "recipient": None, "sent": 5})]
        with open(edge, "w", encoding="utf-8", newline="") as f:
            f.write("".join(rows))
        open(os.path.join(tmp, "empty.log"), "w").close()
        p = subprocess.run([pixel, "opens", "--manifest", edge, os.path.join(tmp, "empty.log")],
                           capture_output=True, text=True)
        got = [json.loads(l) for l in p.stdout.splitlines()]
        want = [("A1", "x"), ("A2", 'caf\u00e9 "q"'), ("A3", long_recipient), ("A4", None)]
        if p.returncode != 3 or [(g["eid"], g["recipient"]) for g in got] != want:
            failures.append(f"edge manifest: exit {p.returncode}, "
                            f"{[(g['eid'], len(g['recipient'] or '')) for g in got]}; {p.stderr}")
        if "twice" not in p.stderr or "edge-manifest.jsonl:5: not a JSON object" not in p.stderr:
            failures.append(f"edge manifest: warnings {p.stderr!r}")

        # pixel logs --classify: the same rules without a manifest (no scanner rule).
        p = subprocess.run([pixel, "logs", "--classify", logs], capture_output=True, text=True)
        got = [json.loads(l)["client"] for l in p.stdout.splitlines()]
        want = [classify(ua, ip, None, 2.0, []) for _, _, ua, ip, _ in hits]
        if got != want:
            bad = next(i for i, (a, b) in enumerate(zip(got, want)) if a != b) if len(got) == len(want) else -1
            failures.append(f"logs --classify differs (first at {bad}: {got[bad] if bad >= 0 else len(got)} vs {want[bad] if bad >= 0 else len(want)})")
    for f in failures[:20]:
        print("FAIL:", f)
    if failures:
        print(f"{len(failures)} failures")
        return 1
    print(f"all {len(hits)} hits classified alike; messages, summaries, unknown line agree; "
          f"{len(shits)} signed and sampled hits verified and weighed alike")
    return 0


if __name__ == "__main__":
    sys.exit(main())
