#!/usr/bin/env python3
"""Receipts, `pixel reconcile` and pacing, end to end on loopback, with Python as the oracle.

A live `pixel edge` loses records after answering 200 (--drop-records, seeded, or
--max-records-per-second, as a throttled Kinesis stream does) and writes each lost record
to --lost-out. `pixel send --receipts` delivers events and writes a receipt per event.
Python reads the receipts (json), the edge's log objects and its lost records (csv-free
tab splitting, urllib.parse for the query) and computes what is missing on its own; the
test requires `pixel reconcile` to report exactly that set, and the edge's own choice of
lost records to be that set too.
"""
import argparse
import gzip
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse

FAILURES = []
SANITIZED = False


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print("FAIL:", what, file=sys.stderr)


class Edge:
    def __init__(self, pixel, out, *extra):
        self.lost = os.path.join(out, "lost.txt")
        self.logs = os.path.join(out, "logs")
        self.proc = subprocess.Popen(
            [pixel, "edge", "--listen", "127.0.0.1:0", "--out", self.logs,
             "--buffer-interval", "50", "--lost-out", self.lost, *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening on "):
            raise RuntimeError("edge did not start: " + line + self.proc.stderr.read())
        self.url = line.split()[-1]

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        _, err = self.proc.communicate(timeout=60)
        if self.proc.returncode != 0:
            raise RuntimeError("edge exited %d: %s" % (self.proc.returncode, err))
        return err


def unescape(s):
    """CloudFront's log escaping undone once (every %XX it wrote)."""
    return urllib.parse.unquote_to_bytes(s).decode("utf-8", "replace")


def eid_of(record_line):
    """The eid of a default-field record: cs-uri-query is the last of the 8 columns."""
    cols = record_line.rstrip("\n").split("\t")
    if len(cols) != 8:
        raise ValueError("unexpected record: " + record_line)
    query = unescape(cols[7])
    return dict(urllib.parse.parse_qsl(query, keep_blank_values=True))["eid"]


def log_lines(folder):
    lines = []
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            opener = gzip.open if open(path, "rb").read(2) == b"\x1f\x8b" else open
            with opener(path, "rt", encoding="utf-8") as f:
                lines.extend(line for line in f if line.strip())
    return lines


def log_eids(folder):
    return [eid_of(line) for line in log_lines(folder)]


def per_second(lines):
    """Records per second of their timestamp (the first default column)."""
    out = {}
    for line in lines:
        second = int(float(line.split("\t", 1)[0]))
        out[second] = out.get(second, 0) + 1
    return out


def read_receipts(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            check(set(r) == {"eid", "outcome", "status", "attempts", "at"},
                  "receipt keys: %s" % sorted(r))
            out.append(r)
    return out


def send(pixel, url, count, receipts, *extra, tag="u"):
    events = "".join(json.dumps({"userid": "%s%d" % (tag, i)}) + "\n" for i in range(count))
    p = subprocess.run([pixel, "send", "--endpoint", url, "--stdin", "--receipts", receipts,
                        *extra], input=events, capture_output=True, text=True, timeout=300)
    check(p.returncode == 0, "send exited %d: %s" % (p.returncode, p.stderr))


def reconcile(pixel, receipts, logs, *extra):
    p = subprocess.run([pixel, "reconcile", "--receipts", receipts, *extra, logs],
                       capture_output=True, text=True, timeout=120)
    lines = [json.loads(l) for l in p.stdout.splitlines()]
    return p.returncode, lines[:-1], lines[-1], p.stderr


def test_dropped_records(pixel, tmp):
    """10% of records lost after the 200: reconcile names exactly those events."""
    edge = Edge(pixel, tmp, "--drop-records", "0.1", "--seed", "11")
    receipts = os.path.join(tmp, "receipts.jsonl")
    send(pixel, edge.url, 2000, receipts)
    edge.stop()
    rs = read_receipts(receipts)
    check(len(rs) == 2000 and all(r["outcome"] == "delivered" for r in rs),
          "2000 delivered receipts")
    logged = log_eids(edge.logs)
    with open(edge.lost, encoding="utf-8") as f:
        lost = {eid_of(l) for l in f}
    expected = {r["eid"] for r in rs} - set(logged)
    check(expected == lost, "missing set == the edge's lost records (%d vs %d)" %
          (len(expected), len(lost)))
    check(100 <= len(lost) <= 300, "about 10%% lost: %d" % len(lost))
    code, events, summary, err = reconcile(pixel, receipts, edge.logs, "--grace", "0")
    check(code == 4, "exit 4 when something is missing, got %d (%s)" % (code, err))
    reported = {e["eid"] for e in events if e["state"] == "missing"}
    pending = summary["pending"]
    # --grace 0: only events settled after the newest record wait; none of them is lost.
    check(reported | {r["eid"] for r in rs[len(rs) - pending:]} >= lost, "every lost one named")
    check(reported == lost - {r["eid"] for r in rs[len(rs) - pending:]},
          "reconcile's missing set equals the oracle's")
    check(all(set(e) == {"eid", "state", "outcome", "records"} for e in events), "event keys")
    check(summary["missing"] == len(reported), "summary counts the missing")
    check(summary["delivered"] + pending == 2000, "judged + pending = all")
    check(summary["landed"] == summary["delivered"] - summary["missing"], "landed")
    # The default grace of 300 s judges nothing this young.
    code, events, summary, _ = reconcile(pixel, receipts, edge.logs)
    check(code == 0 and events == [] and summary["pending"] == 2000, "all pending within grace")


def test_pacing(pixel, tmp, count):
    """A burst against a sink taking 1,000 records/s: unpaced most is lost, paced none."""
    results = {}
    for name, extra in (("unpaced", []), ("paced", ["--max-rate", "900"])):
        d = os.path.join(tmp, name)
        os.makedirs(d)
        edge = Edge(pixel, d, "--max-records-per-second", "1000")
        receipts = os.path.join(d, "receipts.jsonl")
        send(pixel, edge.url, count, receipts, *extra, "--queue", str(count))
        edge.stop()
        code, events, summary, err = reconcile(pixel, receipts, edge.logs, "--grace", "0")
        with open(edge.lost, encoding="utf-8") as f:
            lost_lines = [l for l in f if l.strip()]
        lost = {eid_of(l) for l in lost_lines}
        # The sink's rule, from the records themselves: in each second, the first 1,000 are
        # logged and only the rest lost.
        logged, dropped = per_second(log_lines(edge.logs)), per_second(lost_lines)
        check(all(n <= 1000 for n in logged.values()) and
              all(logged.get(sec, 0) == 1000 for sec in dropped),
              "%s: a second lost records while under 1,000 logged" % name)
        missing = {e["eid"] for e in events if e["state"] == "missing"}
        oracle = {r["eid"] for r in read_receipts(receipts)} - set(log_eids(edge.logs))
        check(missing <= oracle and oracle <= lost,
              "%s: what reconcile calls missing, the edge lost" % name)
        results[name] = (code, summary, len(oracle))
    code, summary, oracle_missing = results["unpaced"]
    check(code == 4, "unpaced: exit 4")
    # How much of an unpaced burst a sink of 1,000/s loses depends on how fast the producer
    # bursts: most of it from a release build, less from a sanitized one, several times slower.
    share = 4 if SANITIZED else 2
    check(oracle_missing > count // share,
          "unpaced: more than 1/%d of the burst missing (%d)" % (share, oracle_missing))
    code, summary, oracle_missing = results["paced"]
    check(code == 0 and summary["missing"] == 0 and oracle_missing == 0,
          "paced at 900/s: nothing missing (%d, exit %d)" % (oracle_missing, code))


def test_sync_receipts_survive_kill(pixel, tmp):
    """Under durability sync a receipt is on disk before its event leaves the spool: after
    kill -9 and a second run on the spool, every event the edge logged has a receipt."""
    edge = Edge(pixel, tmp, "--delay-ms", "5")
    spool = os.path.join(tmp, "spool")
    receipts = os.path.join(tmp, "receipts.jsonl")
    events = "".join(json.dumps({"userid": "k%d" % i}) + "\n" for i in range(3000))
    p = subprocess.Popen([pixel, "send", "--endpoint", edge.url, "--stdin", "--spool", spool,
                          "--durability", "sync", "--receipts", receipts],
                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, text=True)
    p.stdin.write(events)
    p.stdin.flush()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if os.path.exists(receipts) and os.path.getsize(receipts) > 100 * 110:
            break
        time.sleep(0.01)  # polling a file another process writes, with a deadline
    p.kill()
    p.wait()
    before = read_receipts(receipts)
    check(len(before) >= 100, "receipts written before the kill: %d" % len(before))
    # The spool's events go out again (to the same edge) with their receipts.
    r = subprocess.run([pixel, "send", "--endpoint", edge.url, "--spool", spool,
                        "--receipts", receipts], capture_output=True, text=True, timeout=120)
    check(r.returncode == 0, "drain exited %d: %s" % (r.returncode, r.stderr))
    edge.stop()
    receipted = {x["eid"] for x in read_receipts(receipts)}
    logged = set(log_eids(edge.logs))
    check(logged <= receipted, "every logged event has a receipt (%d without)" %
          len(logged - receipted))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pixel", required=True)
    ap.add_argument("--burst", type=int, default=20000)
    ap.add_argument("--sanitized", action="store_true",
                    help="the programs are built with ASan or TSan (several times slower)")
    a = ap.parse_args()
    global SANITIZED
    SANITIZED = a.sanitized
    passed = failed = 0
    for name, fn in (("dropped", lambda t: test_dropped_records(a.pixel, t)),
                     ("pacing", lambda t: test_pacing(a.pixel, t, a.burst)),
                     ("sync", lambda t: test_sync_receipts_survive_kill(a.pixel, t))):
        with tempfile.TemporaryDirectory() as tmp:
            before = len(FAILURES)
            fn(tmp)
            ok = len(FAILURES) == before
            passed, failed = passed + ok, failed + (not ok)
            print("%s: %s" % (name, "ok" if ok else "FAILED"))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
