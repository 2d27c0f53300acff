#!/usr/bin/env python3
"""`pixel logs` against an independent decoder: Python's urllib, json, gzip, calendar.

Writes random real-time records the way CloudFront does (random field lists in catalog
order, log-escaped free text, '-' and empty values, integers, decimals, 000), reads them
with `pixel logs`, decodes the same lines here from the documented rules, and compares
every record, keys in order. Then the same for standard logging v2: a random field
selection in a random order, written as W3C (a '#Fields:' line), as plain lines (the
selection given with --fields) and as JSON Lines (Python's json, ASCII-escaped or not),
each plain or gzip (Python's gzip).

Usage: oracle_logs.py PIXEL_BIN FIELDS_JSON
"""
import calendar
import gzip
import json
import os
import random
import subprocess
import sys
import tempfile
import urllib.parse

ESCAPE = set(b'<>"#%{}|\\^~[]`\'')


def log_escape(raw: bytes) -> str:
    return "".join(
        f"%{b:02X}" if b <= 0x20 or b >= 0x7F or b in ESCAPE else chr(b) for b in raw)


def random_text(rng: random.Random) -> str:
    alphabet = "ab Z09-_.~%+&=/?:;#\"'<>\t\\é€😀"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))


def main() -> int:
    pixel, fields_json = sys.argv[1], sys.argv[2]
    catalog = json.load(open(fields_json, encoding="utf-8"))["realtime"]
    rng = random.Random(20240619)
    failures = 0
    for round_no in range(30):
        chosen = [f for f in catalog if rng.random() < 0.4 or f["name"] in
                  ("timestamp", "cs-uri-query")]
        lines, expected = [], []
        for n in range(200):
            cols, want = [], {}
            query_raw = None
            for f in chosen:
                name, kind = f["name"], f["type"]
                absent = rng.random() < 0.15
                if absent:
                    cols.append(rng.choice(["-", ""]))
                    value = None
                elif name == "sc-status":
                    value = rng.choice([0, 200, 204, 304, 403, 503])
                    cols.append(f"{value:03d}")
                elif kind == "epoch_time":
                    ms = 1718787248000 + rng.randint(0, 10**6)
                    cols.append(f"{ms // 1000}.{ms % 1000:03d}")
                    value = ms / 1000
                elif kind == "integer":
                    value = rng.randint(0, 10**6)
                    cols.append(str(value))
                elif kind == "decimal":
                    value = rng.randint(0, 10**5) / 1000
                    cols.append(f"{value:.3f}")
                elif kind == "ip":
                    value = rng.choice(["203.0.113.9", "2001:db8::1"])
                    cols.append(value)
                elif name == "cs-uri-query":
                    # What a client sends: percent-encoded keys and values.
                    pairs = [(random_text(rng), random_text(rng)) for _ in range(rng.randint(1, 4))]
                    query_raw = "&".join(
                        urllib.parse.quote(k, safe="") + "=" + urllib.parse.quote(v, safe="")
                        for k, v in pairs)
                    cols.append(log_escape(query_raw.encode()))
                    value = query_raw
                elif f["escaped"]:
                    text = random_text(rng)
                    cols.append(log_escape(text.encode()))
                    # A value that is exactly "-" is indistinguishable from an absent one.
                    value = None if text == "-" else text
                else:
                    value = rng.choice(["Hit", "GET", "TLSv1.3", "E2ABC"])
                    cols.append(value)
                want[name] = value
            lines.append("\t".join(cols))
            # The documented decoding, done here.
            out = {}
            if "timestamp" in want:
                out["timestamp"] = want["timestamp"]
            if "c-ip" in want:
                out["c_ip"] = want["c-ip"]
            if "cs-user-agent" in want:
                out["user_agent"] = want["cs-user-agent"]
            if "cs-uri-query" in want:
                q = want["cs-uri-query"]
                out["query"] = q
                params = {}
                if q is not None:
                    for part in q.split("&"):
                        if not part:
                            continue
                        k, _, v = part.partition("=")
                        params[urllib.parse.unquote(k)] = urllib.parse.unquote(v)
                out["params"] = params
            for f in chosen:
                name = f["name"]
                if name in ("timestamp", "c-ip", "cs-user-agent", "cs-uri-query"):
                    continue
                out[name.replace("-", "_")] = want[name]
                if name == "sc-status" and want[name] == 0:
                    out["closed"] = True
            expected.append(out)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".log") as tmp:
            tmp.write("\n".join(lines) + "\n")
            tmp.flush()
            r = subprocess.run([pixel, "logs", "--fields", ",".join(f["name"] for f in chosen),
                                tmp.name], capture_output=True, check=False)
        if r.returncode != 0:
            print(f"round {round_no}: exit {r.returncode}: {r.stderr.decode()}")
            return 1
        got = [json.loads(l, object_pairs_hook=lambda kv: kv)
               for l in r.stdout.decode("utf-8").splitlines()]
        if len(got) != len(expected):
            print(f"round {round_no}: {len(got)} records, expected {len(expected)}")
            return 1
        for i, (g, e) in enumerate(zip(got, expected)):
            g_keys = [k for k, _ in g]
            g_dict = {k: (dict(v) if k == "params" else v) for k, v in g}
            if g_keys != list(e.keys()) or g_dict != e:
                failures += 1
                if failures <= 3:
                    print(f"round {round_no} record {i}:\n  line {lines[i]!r}\n  got  {g_dict}\n"
                          f"  want {e}")
    if failures:
        print(f"{failures} records differ")
        return 1
    print("30 x 200 records: pixel logs and the Python decoder agree")
    return v2_rounds(pixel, json.load(open(fields_json, encoding="utf-8")))


# Standard logging v2: the legacy fields and the real-time ones the guide lists.
V2_EXTRA = ["timestamp(ms)", "origin-fbl", "origin-lbl", "asn", "c-country",
            "cache-behavior-path-pattern", "DistributionId"]


def v2_rounds(pixel: str, catalog: dict) -> int:
    realtime = {f["name"]: f for f in catalog["realtime"]}
    own = {c["name"]: c for c in catalog["standard"]["columns"]}

    def info(name):
        """(output key, type, escaped) of a v2 name, from the documented mapping."""
        c = own.get(name)
        if c is not None and "column" in c:
            return c["column"], c["type"], c["escaped"]
        f = realtime[c["field"] if c is not None else name]
        return f["name"].replace("-", "_"), f["type"], f["escaped"]

    names = catalog["standard"]["default"] + V2_EXTRA
    rng = random.Random(20241115)
    failures = 0
    rounds = 0
    for round_no in range(12):
        chosen = [n for n in names if rng.random() < 0.35 or n == "cs-uri-query"]
        rng.shuffle(chosen)
        if ("date" in chosen) != ("time" in chosen):
            chosen = [n for n in chosen if n not in ("date", "time")]
        lines, objects, expected = [], [], []
        for n in range(120):
            cols, obj, want = [], {}, {}
            for name in chosen:
                key, kind, escaped = info(name)
                value = None
                fixed = name in ("date", "time", "timestamp(ms)")
                if not fixed and rng.random() < 0.15:
                    text = rng.choice(["-", ""])
                elif name == "date":
                    day = rng.randint(1, 28)
                    text = f"2024-11-{day:02d}"
                    value = text
                elif name == "time":
                    text = f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
                    value = text
                elif name == "timestamp(ms)":
                    value = 1731623425000 + rng.randint(0, 10**7)
                    text = str(value)
                elif name == "sc-status":
                    value = rng.choice([0, 200, 304, 403, 503])
                    text = f"{value:03d}"
                elif kind == "integer":
                    value = rng.randint(0, 10**6)
                    text = str(value)
                elif kind == "decimal":
                    value = rng.randint(0, 10**5) / 1000
                    text = f"{value:.3f}"
                elif kind == "ip":
                    value = rng.choice(["203.0.113.9", "2001:db8::1"])
                    text = value
                elif name == "cs-uri-query":
                    pairs = [(random_text(rng), random_text(rng)) for _ in range(rng.randint(1, 3))]
                    value = "&".join(urllib.parse.quote(k, safe="") + "=" +
                                     urllib.parse.quote(v, safe="") for k, v in pairs)
                    text = log_escape(value.encode())
                elif name == "cs(User-Agent)":
                    # Escaped twice, as standard logs write it; no '%' of its own, so that
                    # "once, then again while a '%' is left" and "twice" agree.
                    value = random_text(rng).replace("%", "")
                    text = log_escape(log_escape(value.encode()).encode())
                    if value in ("-", ""):
                        value = None
                elif escaped:
                    value = random_text(rng)
                    text = log_escape(value.encode())
                    if value == "-":
                        value = None
                else:
                    value = rng.choice(["Hit", "GET", "TLSv1.3", "E2ABC", "SOF50-P2"])
                    text = value
                cols.append(text)
                obj[name] = text
                want[name] = value
            lines.append("\t".join(cols))
            objects.append(obj)
            out = {}
            if "timestamp(ms)" in want:
                out["timestamp"] = want["timestamp(ms)"] / 1000
            elif "date" in want:
                t = calendar.timegm(tuple(int(x) for x in want["date"].split("-")) +
                                    tuple(int(x) for x in want["time"].split(":")))
                out["timestamp"] = float(t)
            if "c-ip" in want:
                out["c_ip"] = want["c-ip"]
            if "cs(User-Agent)" in want:
                out["user_agent"] = want["cs(User-Agent)"]
            q = want.get("cs-uri-query")
            out["query"] = q
            params = {}
            for part in (q or "").split("&"):
                if part:
                    k, _, v = part.partition("=")
                    params[urllib.parse.unquote(k)] = urllib.parse.unquote(v)
            out["params"] = params
            for name in chosen:
                if name in ("date", "time", "c-ip", "cs(User-Agent)", "cs-uri-query"):
                    continue
                key = info(name)[0]
                out[key] = want[name]
                if name == "sc-status" and want[name] == 0:
                    out["closed"] = True
            expected.append(out)
        for form in ("w3c", "plain", "json"):
            rounds += 1
            if form == "json":
                ascii_only = rng.random() < 0.5
                body = "".join(json.dumps(o, ensure_ascii=ascii_only) + "\n" for o in objects)
            elif form == "w3c":
                body = "#Fields: " + " ".join(chosen) + "\n" + "\n".join(lines) + "\n"
            else:
                body = "\n".join(lines) + "\n"
            packed = rng.random() < 0.5
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "obj.gz" if packed else "obj.log")
                data = body.encode("utf-8")
                with open(path, "wb") as f:
                    f.write(gzip.compress(data) if packed else data)
                args = [pixel, "logs"]
                if form == "plain":
                    args += ["--fields", ",".join(chosen), "--fields-order", "as-given"]
                r = subprocess.run(args + [path], capture_output=True, check=False)
            if r.returncode != 0:
                print(f"v2 round {round_no} {form}: exit {r.returncode}: {r.stderr.decode()}")
                return 1
            got = [json.loads(l, object_pairs_hook=lambda kv: kv)
                   for l in r.stdout.decode("utf-8").splitlines()]
            if len(got) != len(expected):
                print(f"v2 round {round_no} {form}: {len(got)} records, expected {len(expected)}")
                return 1
            for i, (g, e) in enumerate(zip(got, expected)):
                g_keys = [k for k, _ in g]
                g_dict = {k: (dict(v) if k == "params" else v) for k, v in g}
                if "cs-uri-query" not in chosen:
                    e = {k: v for k, v in e.items() if k not in ("query", "params")}
                if g_keys != list(e.keys()) or g_dict != e:
                    failures += 1
                    if failures <= 3:
                        print(f"v2 round {round_no} {form} record {i}:\n  line {lines[i]!r}\n"
                              f"  got  {g_dict}\n  want {e}")
    if failures:
        print(f"{failures} v2 records differ")
        return 1
    print(f"{rounds} v2 files (W3C, plain, JSON Lines; plain or gzip) x 120 records: agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
