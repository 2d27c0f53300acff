"""email-campaign stopped by a signal: no row is read after it, the simulated opens get a
short wait, and a summary counts every open fired (delivered + left == fired) and every
message written (== the rows of manifest.csv and manifest.jsonl); exit status 128 + the
signal.

1. SIGTERM while --simulate-opens waits for delivery: the endpoint, a local server, answers
   the first ANSWERED requests and holds every later one, so the opens delivered are
   exactly those it answered and the others are left.
2. SIGINT while the recipients come from a pipe that stays open: the rows written so far
   become messages, then it stops (no opens).
3. SIGTERM as in 1, then SIGINT during the short wait: it exits at once with the first
   signal's status, without the summary.

  stop_signal_test.py EMAIL_CAMPAIGN
"""
import csv
import fcntl
import http.server
import json
import os
import re
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time

ANSWERED = 10
ROWS = 40
SUMMARY = re.compile(
    r"email-campaign: stopped by (SIGINT|SIGTERM) after (\d+) messages \(the rest of (.*) not "
    r"read\): (\d+) simulated opens fired, (\d+) delivered, (\d+) failed, (\d+) dropped, "
    r"(\d+) left undelivered\n")
TEMPLATE = "<html><head><title>News</title></head><body><p>Hi {{name}}</p></body></html>\n"


class Endpoint(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.cond = threading.Condition()
        self.answered = 0
        self.requests = 0
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
            held = s.requests > ANSWERED
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


def check(cond, message):
    if not cond:
        raise AssertionError(message)


def rows(n):
    return "email,name\n" + "".join(f"u{i}@example.com,User {i}\n" for i in range(n))


def written(out):
    with open(os.path.join(out, "manifest.csv"), newline="", encoding="utf-8") as f:
        listed = list(csv.DictReader(f))
    with open(os.path.join(out, "manifest.jsonl"), encoding="utf-8") as f:
        sent = [json.loads(line) for line in f]
    emls = sorted(n for n in os.listdir(out) if n.endswith(".eml"))
    check(len(listed) == len(sent) == len(emls),
          f"manifest.csv {len(listed)}, manifest.jsonl {len(sent)}, .eml {len(emls)}")
    return listed


def opens_cut_short(exe, tmp):
    server = Endpoint()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with open(os.path.join(tmp, "t.html"), "w", encoding="utf-8") as f:
        f.write(TEMPLATE)
    with open(os.path.join(tmp, "r.csv"), "w", encoding="utf-8") as f:
        f.write(rows(ROWS))
    out = os.path.join(tmp, "opens")
    p = subprocess.Popen(
        [exe, "--template", os.path.join(tmp, "t.html"), "--recipients",
         os.path.join(tmp, "r.csv"), "--campaign", "c", "--out", out, "--endpoint",
         f"http://127.0.0.1:{server.server_address[1]}", "--simulate-opens", "1", "--seed", "7"],
        stderr=subprocess.PIPE, text=True)
    # ANSWERED opens answered and a later one held: opens are in flight.
    server.wait_for(lambda: server.answered == ANSWERED and server.requests > ANSWERED,
                    "the held request")
    p.send_signal(signal.SIGTERM)
    try:
        _, err = p.communicate(timeout=30)
    finally:
        server.release.set()
        server.shutdown()
    check(p.returncode == 128 + signal.SIGTERM, f"exit {p.returncode}: {err}")
    m = SUMMARY.search(err)
    check(m, f"no summary: {err}")
    messages, fired, delivered, failed, dropped, left = map(int, m.groups()[1:2] + m.groups()[3:])
    check(m.group(1) == "SIGTERM", err)
    check(delivered == server.answered == ANSWERED,
          f"delivered {delivered}, the endpoint answered {server.answered}: {err}")
    check((failed, dropped) == (0, 0), err)
    check(delivered + left == fired, f"delivered + left != fired: {err}")
    listed = written(out)
    check(messages == len(listed) and fired == messages, f"{len(listed)} listed: {err}")
    check(sum(int(r["opens"]) for r in listed) == fired, err)
    print(f"opens: {messages} messages, {fired} fired, {delivered} delivered, {left} left")


def signal_taken(pid, sig):
    """True once `sig` is no longer pending for `pid` (ShdPnd in /proc/PID/status): its
    handler has run."""
    with open(f"/proc/{pid}/status") as f:
        pending = next(int(line.split()[1], 16) for line in f if line.startswith("ShdPnd:"))
    return not pending >> (sig - 1) & 1


def second_signal(exe, tmp):
    server = Endpoint()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    out = os.path.join(tmp, "again")
    p = subprocess.Popen(
        [exe, "--template", os.path.join(tmp, "t.html"), "--recipients",
         os.path.join(tmp, "r.csv"), "--campaign", "c", "--out", out, "--endpoint",
         f"http://127.0.0.1:{server.server_address[1]}", "--simulate-opens", "1", "--seed", "7"],
        stderr=subprocess.PIPE, text=True)
    try:
        server.wait_for(lambda: server.answered == ANSWERED and server.requests > ANSWERED,
                        "the held request")
        p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 30
        while not signal_taken(p.pid, signal.SIGTERM):
            check(time.monotonic() < deadline, "SIGTERM still pending")
            time.sleep(0.001)  # polling a condition (the process's state), with a deadline
        p.send_signal(signal.SIGINT)  # within the 2 s the opens are given
        _, err = p.communicate(timeout=30)
    finally:
        server.release.set()
        server.shutdown()
    check(p.returncode == 128 + signal.SIGTERM, f"exit {p.returncode}: {err}")
    check(err.endswith("email-campaign: signal again: exiting without waiting\n"), err)
    check(not SUMMARY.search(err), f"a summary: {err}")
    print("SIGTERM then SIGINT: exit 143 at once, no summary")


def blocked_reading_stdin(pid, pipe_fd):
    """True once the process waits in read(0) with nothing left in the pipe."""
    try:
        with open(f"/proc/{pid}/syscall", encoding="ascii") as f:
            fields = f.read().split()
    except PermissionError:
        raise AssertionError("cannot read /proc/PID/syscall")
    waiting = len(fields) > 1 and fields[0] == "0" and int(fields[1], 16) == 0  # read(0, ...)
    buf = fcntl.ioctl(pipe_fd, termios.FIONREAD, struct.pack("i", 0))
    return waiting and struct.unpack("i", buf)[0] == 0


def stdin_interrupted(exe, tmp):
    out = os.path.join(tmp, "stdin")
    p = subprocess.Popen(
        [exe, "--template", os.path.join(tmp, "t.html"), "--recipients", "-", "--campaign", "c",
         "--out", out, "--endpoint", "https://d111111abcdef8.cloudfront.net"],
        stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    p.stdin.write(rows(5))
    p.stdin.flush()  # stdin stays open: it would wait for more
    deadline = time.monotonic() + 30
    while not blocked_reading_stdin(p.pid, p.stdin.fileno()):
        check(time.monotonic() < deadline and p.poll() is None, "never waited for more rows")
        time.sleep(0.01)  # polling a condition (the process's state), with a deadline
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=30)
    check(p.returncode == 128 + signal.SIGINT, f"exit {p.returncode}: {err}")
    m = SUMMARY.search(err)
    check(m and m.group(1) == "SIGINT" and m.group(2) == "5" and m.group(3) == "-", err)
    check(len(written(out)) == 5, err)
    print("stdin: 5 messages, stopped by SIGINT")


def main():
    exe = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        opens_cut_short(exe, tmp)
        stdin_interrupted(exe, tmp)
        second_signal(exe, tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
