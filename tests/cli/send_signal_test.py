"""pixel send --stdin stopped by SIGTERM: input stops, a short flush, a summary that counts
every accepted event (delivered + left == accepted), exit status 143. With --spool the
events left stay on disk: the next run delivers them. The endpoint is a local server that
answers the first ANSWERED requests and holds every later one, so the events delivered are
exactly those it answered.

  send_signal_test.py --pixel PIXEL
"""
import argparse
import http.server
import re
import signal
import subprocess
import sys
import tempfile
import threading

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
    return 0


if __name__ == "__main__":
    sys.exit(main())
