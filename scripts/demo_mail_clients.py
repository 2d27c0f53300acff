#!/usr/bin/env python3
"""The demo's mail clients: fetch each message's pixel the way real mailboxes do.

  deliver DIR   hands the campaign to "the MTA": `sent` in DIR/manifest.jsonl becomes the
                hand-off time (as a sender whose MTA sends later rewrites it); then security
                gateways fetch within a
                second (browser-like user agent), Apple Mail Privacy Protection prefetches
                (user agent exactly "Mozilla/5.0"), Gmail prefetches for some (its fixed
                Chrome/42 + Edge/12 user agent)
  read DIR...   once the scanner window has passed: people open; Apple users through the
                same proxy (still "Mozilla/5.0", so never a provable open), Gmail users
                through GoogleImageProxy, Yahoo users through YahooMailProxy, everyone else
                in a browser or mail client, some twice

What was fetched, and what each fetch should be classified as, goes to DIR/simulated.json
for the demo's check. Mailboxes are drawn from the recipient's position and a seed, so a
run is reproducible.
usage: demo_mail_clients.py deliver DIR | read DIR...
"""
import csv
import http.client
import json
import os
import random
import sys
import time
import urllib.parse

SCANNER_WINDOW = 2.0  # pixel opens' default --scanner-window

APPLE = "Mozilla/5.0"
GMAIL_PREFETCH = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
                  "Gecko) Chrome/42.0.2311.135 Safari/537.36 Edge/12.246 Mozilla/5.0")
GMAIL_PROXY = ("Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 "
               "(via ggpht.com GoogleImageProxy)")
YAHOO = "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html"
GATEWAY = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/120.0.0.0 Safari/537.36")
PEOPLE = [
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17126; Pro)",
    "Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
]

# Share of recipients per mailbox, and the chance each one opens.
MAILBOXES = [("apple", 0.45), ("gmail", 0.25), ("yahoo", 0.08), ("gateway", 0.10),
             ("browser", 0.12)]
OPEN_RATE = {"apple": 0.4, "gmail": 0.5, "yahoo": 0.45, "gateway": 0.4, "browser": 0.35}


class client:
    def __init__(self, url):
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)

    def get(self, url, agent):
        u = urllib.parse.urlsplit(url)
        for attempt in range(3):
            try:
                self.conn.request("GET", f"{u.path}?{u.query}", headers={"User-Agent": agent})
                r = self.conn.getresponse()
                r.read()
                return r.status
            except (ConnectionError, http.client.HTTPException):
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        raise SystemExit(f"demo: cannot fetch {url}")


def load(folder):
    with open(os.path.join(folder, "manifest.csv"), newline="", encoding="utf-8") as f:
        urls = {r["eid"]: r["url"] for r in csv.DictReader(f)}
    with open(os.path.join(folder, "manifest.jsonl"), encoding="utf-8") as f:
        msgs = [json.loads(line) for line in f]
    rng = random.Random(f"{msgs[0]['campaign']}-{len(msgs)}")
    for m in msgs:
        m["url"] = urls[m["eid"]]
        x, acc = rng.random(), 0.0
        for box, share in MAILBOXES:
            acc += share
            if x < acc:
                break
        m["mailbox"] = box
        m["opens"] = rng.random() < OPEN_RATE[box]
        m["twice"] = rng.random() < 0.2
        m["prefetch"] = box == "gmail" and rng.random() < 0.3
        m["agent"] = rng.choice(PEOPLE)
    return msgs


def deliver(folder):
    msgs = load(folder)
    handed_off = round(time.time(), 3)
    path = os.path.join(folder, "manifest.jsonl")
    with open(path, encoding="utf-8") as f:
        lines = [json.loads(line) for line in f]
    for line, m in zip(lines, msgs):
        line["sent"] = m["sent"] = handed_off
    with open(path + ".new", "w", encoding="utf-8") as f:
        f.writelines(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
    os.replace(path + ".new", path)
    sim = {m["eid"]: {} for m in msgs}
    c = client(msgs[0]["url"])
    late = 0
    # Gateways first: they fetch within a second of delivery.
    for m in msgs:
        if m["mailbox"] == "gateway":
            c.get(m["url"], GATEWAY)
            if time.time() - m["sent"] >= SCANNER_WINDOW - 0.2:
                late += 1
            sim[m["eid"]]["scanner"] = 1
    for m in msgs:
        if m["mailbox"] == "apple":
            c.get(m["url"], APPLE)
            sim[m["eid"]]["apple_mpp"] = 1
        elif m["prefetch"]:
            c.get(m["url"], GMAIL_PREFETCH)
            sim[m["eid"]]["gmail_prefetch"] = 1
    if late:
        raise SystemExit(f"demo: {late} gateway fetches came too late for the scanner window "
                         "(the machine is too busy for this demo)")
    with open(os.path.join(folder, "simulated.json"), "w") as f:
        json.dump(sim, f)


def read(folders):
    every = [(folder, load(folder)) for folder in folders]
    last_sent = max(m["sent"] for _, msgs in every for m in msgs)
    # People read later: wait until every message is past the scanner window.
    while time.time() < last_sent + SCANNER_WINDOW + 0.5:
        time.sleep(last_sent + SCANNER_WINDOW + 0.5 - time.time())
    for folder, msgs in every:
        with open(os.path.join(folder, "simulated.json")) as f:
            sim = json.load(f)
        c = client(msgs[0]["url"])
        for m in msgs:
            if not m["opens"]:
                continue
            hits = sim[m["eid"]]
            box = m["mailbox"]
            times = 2 if m["twice"] and box in ("gateway", "browser") else 1
            agent, kind = {"apple": (APPLE, "apple_mpp"), "gmail": (GMAIL_PROXY, "gmail_proxy"),
                           "yahoo": (YAHOO, "yahoo_proxy")}.get(box, (m["agent"], "human"))
            for _ in range(times):
                c.get(m["url"], agent)
                hits[kind] = hits.get(kind, 0) + 1
        with open(os.path.join(folder, "simulated.json"), "w") as f:
            json.dump(sim, f)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "deliver":
        deliver(sys.argv[2])
    elif len(sys.argv) >= 3 and sys.argv[1] == "read":
        read(sys.argv[2:])
    else:
        sys.exit(__doc__)
