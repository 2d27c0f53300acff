#!/usr/bin/env python3
"""Writes N sample recipients as RFC 4180 CSV (email,userid,first_name,last_name,name,plan).

usage: make_recipients.py N [SEED] > recipients.csv
Names mix ASCII, accents, CJK, quotes, commas and one '<script>' in every hundred rows,
so that a sample campaign exercises the escaping paths.
"""
import csv
import random
import sys

FIRST = ["Alice", "Bob", "Chloé", "Dmitri", "Émile", "Fatima", "Grace", "Hiro", "Ingrid",
         "José", "Karin", "Li", "María", "Noah", "Olga", "Priya", "太郎", "花子", "Zoë",
         'Bob "The Builder"', "Doe, Jane"]
LAST = ["Smith", "O'Neil", "Müller", "García", "Nguyen", "Kowalski", "山田", "陈", "Dubois",
        "Smith, Jr.", "Ødegaard"]
PLANS = ["free", "pro", "team", "enterprise & co"]


def main():
    n = int(sys.argv[1])
    rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    w = csv.writer(sys.stdout, lineterminator="\r\n")
    w.writerow(["email", "userid", "first_name", "last_name", "name", "plan"])
    for i in range(n):
        first = rng.choice(FIRST) if i % 100 != 42 else "<script>alert(1)</script>"
        last = rng.choice(LAST)
        userid = f"u{i:07d}" if i % 3 else ""
        w.writerow([f"user{i}@example.com", userid, first, last, f"{first} {last}",
                    rng.choice(PLANS)])


if __name__ == "__main__":
    main()
