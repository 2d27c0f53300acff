"""pixel send to an endpoint that refuses connections: it says so, with the reason, as soon
as the endpoint is taken as down (well before --wait-ms, while it still waits), then exits
1 when --wait-ms is over, with the same reason in its summary. Also: https:// to a plain
HTTP port fails at once with a clear message, without waiting.

  send_unreachable_test.py --pixel PIXEL
"""
import argparse
import http.server
import re
import socket
import subprocess
import sys
import threading
import time

WAIT_MS = 3000


def dead_port():
    """A port on 127.0.0.1 with nothing listening (bound, then closed)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def check(cond, message):
    if not cond:
        raise AssertionError(message)


def unreachable(pixel):
    port = dead_port()
    start = time.monotonic()
    p = subprocess.Popen(
        [pixel, "send", "--endpoint", f"http://127.0.0.1:{port}", "--wait-ms", str(WAIT_MS),
         "userid=42"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    first = p.stderr.readline()  # blocks until pixel says something
    said = time.monotonic() - start
    running = p.poll() is None
    rest = p.stderr.read()
    rc = p.wait()
    ended = time.monotonic() - start
    sys.stdout.write(first + rest)
    m = re.match(r"pixel: endpoint unreachable: (connect \(Failed to connect to 127\.0\.0\.1 "
                 rf"port {port} .*\)); waiting up to 3 s \(Ctrl-C stops\)\n$", first)
    check(m, f"first line: {first!r}")
    check(running, "the line came only as pixel ended")
    check(said < 2.0, f"said after {said:.2f} s, --wait-ms is {WAIT_MS / 1000} s")
    check(rc == 1, f"exit status {rc}")
    check(ended >= WAIT_MS / 1000, f"ended after {ended:.2f} s, before --wait-ms")
    check(ended < WAIT_MS / 1000 + 10, f"ended after {ended:.2f} s")
    # libcurl says how long each attempt took ("after 0 ms"): the rest is the same.
    same = re.sub(r"after \d+ ms", "after N ms", m.group(1))
    tail = [re.sub(r"after \d+ ms", "after N ms", line) for line in rest.splitlines()]
    check(f"pixel: endpoint still unreachable: {same}" in tail, f"summary: {rest!r}")
    check(re.search(r"^delivered 0, failed 0, expired 0, dropped 1 \(\d+ retries\)$", rest, re.M),
          f"summary: {rest!r}")


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        self.send_response(200)
        self.end_headers()


def https_to_http(pixel):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        start = time.monotonic()
        p = subprocess.run(
            [pixel, "send", "--endpoint", f"https://127.0.0.1:{server.server_address[1]}",
             "--wait-ms", "60000", "userid=42"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=60)
        took = time.monotonic() - start
    finally:
        server.shutdown()
    sys.stdout.write(p.stderr)
    check(p.returncode == 1, f"exit status {p.returncode}")
    check(took < 30, f"took {took:.1f} s: waited instead of failing")
    check("delivered 0, failed 1, expired 0, dropped 0 (0 retries)" in p.stderr, p.stderr)
    check("the endpoint does not speak TLS" in p.stderr, p.stderr)
    check("unreachable" not in p.stderr, p.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pixel", required=True)
    args = ap.parse_args()
    unreachable(args.pixel)
    https_to_http(args.pixel)
    print("ok")


if __name__ == "__main__":
    main()
