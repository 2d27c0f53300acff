# SPDX-License-Identifier: MIT
"""A tracker that lives through fork(): os.fork() from a process that is tracking, and
gunicorn --preload with 4 sync workers serving a WSGI app that tracks one event per
request. The judge is `pixel edge` (the local CloudFront stand-in): every event id a
process acknowledged is in its records exactly once."""

import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pixel  # noqa: E402
from edge import Edge  # noqa: E402


def eids(records):
    return Counter(dict(params).get("eid") for _ts, _ip, _ua, params in records)


class ForkTest(unittest.TestCase):
    def test_children_deliver_their_events_and_the_parent_its_own(self):
        with Edge() as edge:
            t = pixel.Tracker(edge.url, queue_capacity=100_000)
            parent_ids = [t.track({"who": "parent", "n": i}) for i in range(200)]
            children = {}
            for c in range(3):
                read, write = os.pipe()
                pid = os.fork()
                if pid == 0:  # the child: track, flush, report, leave
                    os.close(read)
                    code = 1
                    try:
                        ids = [t.track({"who": "child%d" % c, "n": i}) for i in range(100)]
                        ok = t.flush(timeout=20.0)
                        s = t.stats()
                        if ok and s["delivered"] == 100 and s["queued"] == 0:
                            os.write(write, "\n".join(ids).encode())
                            code = 0
                    finally:
                        os.close(write)
                        os._exit(code)
                os.close(write)
                children[pid] = read
                parent_ids += [t.track({"who": "parent", "n": 1000 + c})]
            child_ids = []
            for pid, read in children.items():
                with os.fdopen(read, "rb") as f:
                    child_ids += f.read().decode().split()
                _, status = os.waitpid(pid, 0)
                self.assertEqual(os.waitstatus_to_exitcode(status), 0)
            self.assertTrue(t.flush(timeout=20.0))
            self.assertEqual(t.stats()["delivered"], len(parent_ids))  # the parent's own only
            t.close()
            seen = eids(edge.stop())
        self.assertEqual(len(child_ids), 300)
        acked = parent_ids + child_ids
        self.assertEqual(len(set(acked)), len(acked))
        self.assertEqual(seen, Counter(acked))  # each exactly once, nothing else


APP = '''
import os
import pixel

# Created once, in the master, before the workers are forked (--preload).
TRACKER = pixel.Tracker(os.environ["PIXEL_TEST_ENDPOINT"], queue_capacity=100_000)


def app(environ, start_response):
    eid = TRACKER.track({"path": environ["PATH_INFO"]})
    body = ("%s %d" % (eid, os.getpid())).encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
'''


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=30)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(30)
        self.sock.connect(self.path)


GUNICORN = shutil.which("gunicorn") or "/usr/bin/gunicorn"


class GunicornTest(unittest.TestCase):
    REQUESTS = 1600
    CLIENTS = 4

    def test_preload_with_four_sync_workers_delivers_every_acknowledged_event_once(self):
        with tempfile.TemporaryDirectory(prefix="pixel-gunicorn-") as tmp, Edge() as edge:
            with open(os.path.join(tmp, "app.py"), "w") as f:
                f.write(APP)
            sock = os.path.join(tmp, "g.sock")
            env = dict(os.environ, PIXEL_TEST_ENDPOINT=edge.url,
                       PYTHONPATH=os.pathsep.join(
                           [tmp] + [p for p in (os.environ.get("PYTHONPATH"),) if p]))
            server = subprocess.Popen(
                [GUNICORN, "--preload", "--workers", "4", "--worker-class", "sync",
                 "--bind", "unix:" + sock, "--graceful-timeout", "30", "--log-level",
                 "warning", "app:app"],
                env=env, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                deadline = time.monotonic() + 30
                while not os.path.exists(sock):  # the master binds before forking
                    self.assertIsNone(server.poll(), server.stderr.read() if server.poll()
                                      is not None else "")
                    self.assertLess(time.monotonic(), deadline, "gunicorn did not bind")
                    time.sleep(0.01)
                acked, errors = [], []
                lock = threading.Lock()

                def client(k):
                    for i in range(k, self.REQUESTS, self.CLIENTS):
                        try:
                            conn = UnixHTTPConnection(sock)
                            conn.request("GET", "/r%d" % i)
                            resp = conn.getresponse()
                            body = resp.read().decode()
                            conn.close()
                            if resp.status != 200:
                                raise RuntimeError("status %d" % resp.status)
                            eid, pid = body.split()
                            with lock:
                                acked.append((eid, int(pid)))
                        except Exception as e:  # noqa: BLE001 - reported below
                            with lock:
                                errors.append(repr(e))

                threads = [threading.Thread(target=client, args=(k,))
                           for k in range(self.CLIENTS)]
                for th in threads:
                    th.start()
                for th in threads:
                    th.join()
            finally:
                server.send_signal(signal.SIGTERM)  # graceful: workers finish and exit
                _, err = server.communicate(timeout=60)
            self.assertEqual(server.returncode, 0, err)
            self.assertEqual(errors, [])
            seen = eids(edge.stop())
        self.assertEqual(len(acked), self.REQUESTS)
        workers = {pid for _eid, pid in acked}
        self.assertGreater(len(workers), 1, "one worker served every request")
        self.assertNotIn(server.pid, workers)
        self.assertEqual(seen, Counter(eid for eid, _pid in acked))


if __name__ == "__main__":
    unittest.main()
