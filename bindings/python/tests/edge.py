# SPDX-License-Identifier: MIT
"""The local edge (`pixel edge`) as a test endpoint: start, stop, read its records."""

import os
import signal
import subprocess
import tempfile
import urllib.parse


class Edge:
    """Runs `$PIXEL_EDGE edge --listen 127.0.0.1:0 --out DIR`; PIXEL_EDGE is the pixel CLI.
    DIR is a fresh temporary folder, or `out` (then kept after stop()); `args` are added
    (e.g. --verify-key KID:FILE)."""

    def __init__(self, out=None, args=()):
        program = os.environ.get("PIXEL_EDGE")
        if not program:
            raise RuntimeError("PIXEL_EDGE must name the pixel CLI (it runs `pixel edge`)")
        self._dir = None if out else tempfile.TemporaryDirectory(prefix="pixel-edge-")
        self.out = out or os.path.join(self._dir.name, "out")
        self._proc = subprocess.Popen(
            [program, "edge", "--listen", "127.0.0.1:0", "--out", self.out, *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self._proc.stdout.readline()  # blocks until the edge is up (or exits)
        prefix = "listening on "
        if not line.startswith(prefix):
            self._proc.kill()
            raise RuntimeError(f"pixel edge did not start: {line!r} {self._proc.stderr.read()}")
        self.base_url = line[len(prefix):].strip()
        self.url = self.base_url + "/1x1.png"
        self.records = None

    def stop(self):
        """SIGTERM (the edge writes every record), then the records as
        (timestamp, ip, user_agent, [(key, value), ...]) tuples."""
        if self.records is None:
            self._proc.send_signal(signal.SIGTERM)
            _, err = self._proc.communicate(timeout=120)
            if self._proc.returncode != 0:
                raise RuntimeError(f"pixel edge exited {self._proc.returncode}: {err}")
            self.records = []
            for root, _dirs, files in os.walk(self.out):
                for name in sorted(files):
                    with open(os.path.join(root, name), encoding="utf-8") as f:
                        for line in f:
                            # The default fields: timestamp, c-ip, sc-status, cs-uri-stem,
                            # x-edge-request-id, cs-user-agent, cs-referer, cs-uri-query.
                            f = line.rstrip("\n").split("\t")
                            if len(f) != 8:
                                raise RuntimeError(f"not an 8-field record: {line!r}")
                            ts, ip, ua, query = f[0], f[1], f[5], f[7]
                            # Undo the log escaping once, then split and decode the query.
                            raw = urllib.parse.unquote(query) if query != "-" else ""
                            params = urllib.parse.parse_qsl(raw, keep_blank_values=True)
                            self.records.append((ts, ip, urllib.parse.unquote(ua), params))
            if self._dir:
                self._dir.cleanup()
        return self.records

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.records is None:
            try:
                self.stop()
            except Exception:  # noqa: BLE001 - the test's own failure matters more
                self._proc.kill()
        return False
