#!/usr/bin/env python3
"""`pixel logs` against an independent decoder: Python's urllib and json.

Writes random real-time records the way CloudFront does (random field lists in catalog
order, log-escaped free text, '-' and empty values, integers, decimals, 000), reads them
with `pixel logs`, decodes the same lines here from the documented rules, and compares
every record, keys in order.

Usage: oracle_logs.py PIXEL_BIN FIELDS_JSON
"""
import json
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
