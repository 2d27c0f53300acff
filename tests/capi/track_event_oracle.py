#!/usr/bin/env python3
"""pixel_track_event against an independent server: Python's http.server on 127.0.0.1.

Runs the C program given on the command line against a fresh server and checks that the
ids pixel_track_event returned are exactly the eid values the server received, and that
the result callback reported each of them once, as delivered.
SPDX-License-Identifier: MIT
"""
import http.server
import subprocess
import sys
import threading
import urllib.parse

COUNT = 200


class Pixel(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen = []
    lock = threading.Lock()

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        with Pixel.lock:
            Pixel.seen.append((url.path, query, self.headers.get("User-Agent", "")))
        body = b"GIF89a\x01\x00\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x00;"
        self.send_response(200)
        self.send_header("Content-Type", "image/gif")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    program = sys.argv[1]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Pixel)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = "http://127.0.0.1:%d" % server.server_address[1]
    run = subprocess.run([program, endpoint, str(COUNT)], capture_output=True, text=True,
                         timeout=120)
    server.shutdown()
    failures = []
    if run.returncode != 0:
        failures.append("exit %d: %s" % (run.returncode, run.stderr))
    tracked, results = [], {}
    for line in run.stdout.splitlines():
        parts = line.split()
        if parts[0] == "tracked":
            tracked.append(parts[1])
        elif parts[0] == "result":
            results.setdefault(parts[1], []).append((parts[2], parts[3]))
    received = {}
    for path, query, agent in Pixel.seen:
        if path != "/1x1.png":
            failures.append("path %s" % path)
        for eid in query.get("eid", []):
            received.setdefault(eid, []).append((query.get("n", [""])[0], agent))
    if len(tracked) != COUNT or len(set(tracked)) != COUNT:
        failures.append("%d ids tracked, %d distinct" % (len(tracked), len(set(tracked))))
    if any(len(i) != 26 for i in tracked):
        failures.append("an id is not 26 characters")
    if set(tracked) != set(received):
        failures.append("tracked ids and received eids differ: %d only tracked, %d only received"
                        % (len(set(tracked) - set(received)), len(set(received) - set(tracked))))
    if set(tracked) != set(results):
        failures.append("tracked ids and callback ids differ")
    for i, eid in enumerate(tracked):
        got = received.get(eid, [])
        if len(got) != 1:
            failures.append("eid %s received %d times" % (eid, len(got)))
            continue
        n, agent = got[0]
        want_agent = "Mozilla/5.0 (track-event)" if i % 2 else "pixel-cpp/"
        if n != str(i) or not agent.startswith(want_agent):
            failures.append("eid %s: n=%s agent=%s" % (eid, n, agent))
        if results.get(eid) != [("delivered", "none")]:
            failures.append("eid %s: callbacks %s" % (eid, results.get(eid)))
    for f in failures[:20]:
        print("FAIL:", f)
    if failures:
        return 1
    print("ok: %d ids returned = %d eids received = %d callbacks" % (len(tracked), len(received),
                                                                    len(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
