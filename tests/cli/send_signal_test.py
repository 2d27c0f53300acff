"""pixel send --stdin stopped by SIGTERM: input stops, a short flush, a summary that counts
every accepted event (delivered + left == accepted), exit status 143. With --spool the
events left stay on disk: the next run delivers them. The endpoint is a local server that
answers the first ANSWERED requests and holds every later one, so the events delivered are
exactly those it answered.
A second SIGTERM during that flush (against an endpoint that never answers, so the flush
would wait) ends it at once with the first signal's status: 143, "SIGTERM again" (or
"SIGINT again"), no summary.

  send_signal_test.py --pixel PIXEL
"""
import argparse
import http.server
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ANSWERED = 20
LINES = 100
SUMMARY = re.compile(
    r"pixel: stopped by SIGTERM after line (\d+): (\d+) events accepted, (\d+) delivered, "
    r"(\d+) failed, (\d+) expired, (\d+) dropped, (\d+) left (.*)\n")


class Endpoint(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.cond = threading.Condition()
        self.answered = 0  # 200s written in full
        self.requests = 0
        self.hold = True  # after ANSWERED answers, hold requests until released
        self.release = threading.Event()

    def wait_for(self, pred, what):
        with self.cond:
            if not self.cond.wait_for(pred, timeout=60):
                raise AssertionError(f"timed out waiting for {what}")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        s = self.server
        with s.cond:
            s.requests += 1
            held = s.hold and s.requests > ANSWERED
            s.cond.notify_all()
        if held:
            s.release.wait()
            return  # never answered: the connection closes
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
        self.wfile.flush()
        with s.cond:
            s.answered += 1
            s.cond.notify_all()


class Blackhole:
    """A loopback port that accepts connections and never answers: every request waits."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = "http://127.0.0.1:%d/1x1.png" % self.sock.getsockname()[1]
        self.cond = threading.Condition()
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.cond:
                self.conns.append(conn)
                self.cond.notify_all()

    def wait_for_connection(self):
        with self.cond:
            if not self.cond.wait_for(lambda: self.conns, timeout=60):
                raise AssertionError("no connection reached the endpoint")

    def close(self):
        self.sock.shutdown(socket.SHUT_RDWR)  # wakes accept()
        self.sock.close()
        with self.cond:
            for conn in self.conns:
                conn.close()


def wait_until_taken(pid, sig):
    """Until `sig`, sent to `pid` while every thread blocks it, has been read from its
    signalfd: it is no longer pending for the process (ShdPnd in /proc/PID/status)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with open(f"/proc/{pid}/status") as f:
            pending = next(int(line.split()[1], 16) for line in f if line.startswith("ShdPnd:"))
        if not pending >> (sig - 1) & 1:
            return
        time.sleep(0.001)  # polling, with the deadline above
    raise AssertionError(f"signal {sig} still pending after 30 s")


def second_signal(pixel, first, second):
    hole = Blackhole()
    try:
        # --wait-ms long: the first signal's flush would take its full 2 s.
        p = subprocess.Popen(
            [pixel, "send", "--endpoint", hole.url, "--stdin", "--wait-ms", "60000"],
            stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(10):
            p.stdin.write('{"n": "%d"}\n' % i)
        p.stdin.flush()  # stdin stays open
        hole.wait_for_connection()  # events tracked: the signal watch is in place
        p.send_signal(first)
        wait_until_taken(p.pid, first)  # the short flush has started
        p.send_signal(second)
        _, err = p.communicate(timeout=30)
    finally:
        hole.close()
    # The first signal's status; the second only says "now".
    check(p.returncode == 128 + first, f"exit {p.returncode}: {err}")
    check(err.endswith(f"\npixel: {second.name} again: exiting without waiting\n"), err)
    check("stopped by" not in err and "delivered" not in err, f"a summary: {err}")
    print(f"{first.name} then {second.name}: exit {128 + first} at once, no summary")


def interrupted_run(pixel, endpoint, extra):
    p = subprocess.Popen(
        [pixel, "send", "--endpoint", endpoint, "--stdin", "--in-flight", "4", "--wait-ms", "1000",
         *extra],
        stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for i in range(LINES):
        p.stdin.write('{"n": "%d"}\n' % i)
    p.stdin.flush()  # stdin stays open: pixel would wait for more
    return p


def check(cond, message):
    if not cond:
        raise AssertionError(message)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pixel", required=True)
    a = ap.parse_args()

    for spool in (False, True):
        server = Endpoint()
        threading.Thread(target=server.serve_forever, daemon=True).start()
        endpoint = f"http://127.0.0.1:{server.server_address[1]}/1x1.png"
        with tempfile.TemporaryDirectory() as tmp:
            extra = ["--spool", tmp + "/spool"] if spool else []
            p = interrupted_run(a.pixel, endpoint, extra)
            # The first ANSWERED answered, and a later request held: events are in flight.
            server.wait_for(lambda: server.answered == ANSWERED and server.requests > ANSWERED,
                            "the held request")
            p.send_signal(signal.SIGTERM)
            try:
                _, err = p.communicate(timeout=30)
            finally:
                server.release.set()
            check(p.returncode == 128 + signal.SIGTERM, f"exit {p.returncode}: {err}")
            m = SUMMARY.search(err)
            check(m, f"no summary: {err}")
            line, accepted, delivered, failed, expired, dropped, left = map(int, m.groups()[:7])
            check(delivered == server.answered == ANSWERED,
                  f"delivered {delivered}, the endpoint answered {server.answered}: {err}")
            check((failed, expired, dropped) == (0, 0, 0), err)
            check(delivered + left == accepted, f"delivered + left != accepted: {err}")
            check(ANSWERED < accepted <= LINES and line == accepted, err)
            if not spool:
                check(m.group(8) == "undelivered (lost: kept only with --spool)", err)
            else:
                check(m.group(8).startswith(f"in the spool {tmp}/spool "), err)
                # The next run delivers what was left, from the spool.
                with server.cond:
                    server.hold = False
                again = subprocess.run(
                    [a.pixel, "send", "--endpoint", endpoint, "--spool", tmp + "/spool"],
                    capture_output=True, text=True, timeout=60)
                check(again.returncode == 0, again.stderr)
                check(again.stderr.startswith(
                    f"delivered {left}, failed 0, expired 0, dropped 0, recovered {left}, "
                    "kept 0 in the spool"), again.stderr)
        server.shutdown()
        print(f"{'spool' if spool else 'memory'}: {accepted} accepted, {delivered} delivered, "
              f"{left} left")
    second_signal(a.pixel, signal.SIGTERM, signal.SIGTERM)
    second_signal(a.pixel, signal.SIGTERM, signal.SIGINT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
