#!/usr/bin/env python3
"""A tracker across fork(), checked by an independent endpoint (Python's http.server).

Runs fork_main.c (argv[1]) against a fresh server: every id pixel_track_event returned, in
the parent or in a child, reached the server exactly once, and its result callback said
"delivered" once, in the process that tracked it. With "--spool", the tracker keeps a
spool: the first event of each child carries the notice that it is kept in memory, and the
spool holds nothing afterwards (the children never wrote to it).
SPDX-License-Identifier: MIT
"""
import http.server
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import urllib.parse

CHILDREN, PARENT = 4, 400
# "--idle-children": the children track nothing (TSan: see fork_main.c).
PER_CHILD = 0 if "--idle-children" in sys.argv else 150
# "--quiet-forks": the parent's own events are delivered before it forks (ASan: see
# fork_main.c).
QUIET = ["--quiet-forks"] if "--quiet-forks" in sys.argv else []


class Pixel(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen = []
    lock = threading.Lock()

    def do_GET(self):
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        with Pixel.lock:
            Pixel.seen.append(query.get("eid", [""])[0])
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def main():
    program = sys.argv[1]
    spool = "--spool" in sys.argv[2:]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Pixel)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = "http://127.0.0.1:%d" % server.server_address[1]
    with tempfile.TemporaryDirectory() as tmp:
        args = [program] + QUIET + [endpoint, str(CHILDREN), str(PER_CHILD), str(PARENT)]
        if spool:
            args.append(os.path.join(tmp, "spool"))
        run = subprocess.run(args, capture_output=True, text=True, timeout=120)
        left = None
        if spool:
            db = sqlite3.connect(os.path.join(tmp, "spool", "events.db"))
            left = db.execute("SELECT count(*) FROM events").fetchone()[0]
            db.close()
    server.shutdown()
    failures = []
    if run.returncode != 0:
        failures.append("exit %d: %s" % (run.returncode, run.stderr))
    acked, results = {}, {}
    for line in run.stdout.splitlines():
        parts = line.split()
        if parts[0] == "acked":
            if parts[1] in acked:
                failures.append("id %s acked twice" % parts[1])
            acked[parts[1]] = parts[2]
        elif parts[0] == "result":
            results.setdefault(parts[1], []).append((parts[2], parts[3], parts[4]))
    received = {}
    for eid in Pixel.seen:
        received[eid] = received.get(eid, 0) + 1
    pids = set(acked.values())
    want = CHILDREN * PER_CHILD + PARENT + 1
    if len(acked) != want:
        failures.append("%d ids acked, want %d" % (len(acked), want))
    if len(pids) != (CHILDREN if PER_CHILD else 0) + 1:
        failures.append("%d processes acked events, want %d" % (len(pids), CHILDREN + 1))
    for eid, pid in acked.items():
        if received.get(eid, 0) != 1:
            failures.append("eid %s (pid %s) received %d times" % (eid, pid, received.get(eid, 0)))
        got = results.get(eid, [])
        if len(got) != 1 or got[0][0] != "delivered" or got[0][1] != pid:
            failures.append("eid %s (pid %s): results %s" % (eid, pid, got))
    for eid in received:
        if eid not in acked:
            failures.append("eid %s received but never acked" % eid)
    if spool:
        notices = {}
        for eid, got in results.items():
            if got and got[0][2] == "1":
                notices[got[0][1]] = notices.get(got[0][1], 0) + 1
        parent = [p for p in pids if p not in notices]
        if len(notices) != (CHILDREN if PER_CHILD else 0) or any(n != 1 for n in notices.values()) or len(parent) != 1:
            failures.append("fork notices per process: %s" % notices)
        if left != 0:
            failures.append("%s events left in the spool" % left)
    for f in failures[:20]:
        print("FAIL:", f)
    if failures:
        return 1
    print("ok: %d ids acked by %d processes = %d eids received once each" %
          (len(acked), len(pids), len(received)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
