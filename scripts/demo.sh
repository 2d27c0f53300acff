#!/usr/bin/env bash
# The whole pipeline on one machine, as a real email campaign:
#   the local edge up -> two campaigns generated (one message and one pixel URL per
#   recipient, manifest.jsonl) -> mail clients fetch the pixels as real mailboxes do
#   (security gateways and Apple Mail Privacy Protection at delivery, Gmail's prefetch, then
#   people through Apple's and Gmail's and Yahoo's proxies or their own mail client) -> the
#   edge stopped -> `pixel logs` and `pixel opens` read the records back -> an open report
#   (and report.html) whose numbers must agree with what the clients did. Exits non-zero if
#   they do not.
# usage: scripts/demo.sh [RECIPIENTS]   (default 3000)
set -euo pipefail
cd "$(dirname "$0")/.."

recipients=${1:-3000}

./scripts/install-deps.sh
echo "demo: building (release preset: pixel, email-campaign)"
mkdir -p build
if ! { cmake --preset release && cmake --build --preset release --target pixel_cli email-campaign; } \
    >build/demo-build.log 2>&1; then
  cat build/demo-build.log >&2
  echo "demo: the build failed (log above, also in build/demo-build.log)" >&2
  exit 1
fi

pixel=build/release/tools/pixel/pixel
generator=build/release/examples/email-campaign/email-campaign
work=build/demo
rm -rf "$work"
mkdir -p "$work"

# 1. The local edge: CloudFront + Kinesis + Firehose stand-in, on a port the OS picks.
"$pixel" edge --listen 127.0.0.1:0 --out "$work/edge" >"$work/edge.stdout" 2>"$work/edge.stderr" &
edge_pid=$!
trap 'kill "$edge_pid" 2>/dev/null || true' EXIT
endpoint=
for _ in $(seq 1 300); do  # up to 30 s for the first line
  if ! kill -0 "$edge_pid" 2>/dev/null; then
    echo "demo: pixel edge exited early:" >&2
    cat "$work/edge.stderr" >&2
    exit 1
  fi
  line=$(head -n 1 "$work/edge.stdout" 2>/dev/null || true)
  if [[ $line == "listening on "* ]]; then
    endpoint=${line#listening on }
    break
  fi
  sleep 0.1
done
if [[ -z $endpoint ]]; then
  echo "demo: pixel edge did not report its address" >&2
  exit 1
fi
echo "demo: edge listening on $endpoint"

# 2. Sample recipients (names with accents, CJK, quotes, commas and the odd <script>).
python3 examples/email-campaign/make_recipients.py "$recipients" 1 >"$work/recipients.csv"
python3 examples/email-campaign/make_recipients.py $((recipients * 2 / 3)) 2 >"$work/recipients-b.csv"

# 3. Two campaigns, each fetched at delivery by gateways, Apple's proxy and Gmail's prefetch
#    (scripts/demo_mail_clients.py), then read by people once the scanner window has passed.
"$generator" --template examples/email-campaign/templates/newsletter.html \
  --text-template examples/email-campaign/templates/newsletter.txt \
  --recipients "$work/recipients.csv" --campaign spring-newsletter \
  --from 'Example News <news@example.com>' --endpoint "$endpoint" --out "$work/spring-newsletter"
python3 scripts/demo_mail_clients.py deliver "$work/spring-newsletter"
"$generator" --template examples/email-campaign/templates/newsletter.html \
  --recipients "$work/recipients-b.csv" --campaign product-update \
  --subject 'What is new, {{first_name}}' \
  --from 'Example Product <product@example.com>' --endpoint "$endpoint" --out "$work/product-update"
python3 scripts/demo_mail_clients.py deliver "$work/product-update"
python3 scripts/demo_mail_clients.py read "$work/spring-newsletter" "$work/product-update"

# 4. Stop the edge: on SIGTERM it writes every record and exits 0.
kill -TERM "$edge_pid"
if ! wait "$edge_pid"; then
  echo "demo: pixel edge did not exit cleanly" >&2
  cat "$work/edge.stderr" >&2
  exit 1
fi
trap - EXIT

# 5. Read the records back: every record, and the opens of each message and campaign.
"$pixel" logs "$work/edge" >"$work/records.jsonl"
"$pixel" opens --manifest "$work" "$work/edge" >"$work/opens.jsonl"
"$pixel" opens --manifest "$work" --summary --html "$work/report.html" "$work/edge" \
  >"$work/opens-summary.jsonl"

# 6. The open report, checked against what was generated and what the clients did.
python3 - "$work" spring-newsletter product-update <<'PY'
import csv, json, os, statistics, sys
work, campaigns = sys.argv[1], sys.argv[2:]
HUMAN = {"human", "gmail_proxy", "yahoo_proxy"}
problems = []
def agree(what, a, b):
    if a != b:
        problems.append(f"{what}: {a} != {b}")

sim, sent, campaign_of = {}, {}, {}
for c in campaigns:
    with open(os.path.join(work, c, "manifest.csv"), newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    manifest = [json.loads(l) for l in open(os.path.join(work, c, "manifest.jsonl"), encoding="utf-8")]
    agree(f"{c}: manifest.jsonl vs manifest.csv event ids", [m["eid"] for m in manifest], [r["eid"] for r in rows])
    files = [n for n in os.listdir(os.path.join(work, c)) if n.endswith(".eml")]
    agree(f"{c}: .eml files vs manifest rows", len(files), len(rows))
    sim.update(json.load(open(os.path.join(work, c, "simulated.json"))))
    for m in manifest:
        sent[m["eid"]], campaign_of[m["eid"]] = m["sent"], c

records = [json.loads(l) for l in open(os.path.join(work, "records.jsonl"), encoding="utf-8")]
opens = [json.loads(l) for l in open(os.path.join(work, "opens.jsonl"), encoding="utf-8")]
summary = {s["campaign"]: s for s in map(json.loads, open(os.path.join(work, "opens-summary.jsonl")))}
fired = sum(sum(h.values()) for h in sim.values())

print()
print("open report")
print(f"  messages generated     {len(sent):8d}")
print(f"  pixels fetched         {fired:8d}")
print(f"  records read           {len(records):8d}")
for c in campaigns:
    s = summary.get(c, {})
    machine = ", ".join(f"{k} {v}" for k, v in sorted(s.get("machine_hits", {}).items()))
    print(f"  {c}")
    print(f"    human opens          {s.get('opened', 0):8d}  ({100 * s.get('open_rate', 0):.1f}% of {s.get('sent', 0)} messages)")
    print(f"    machine opens only   {s.get('machine_only', 0):8d}  (hits: {machine})")
    print(f"    not opened           {s.get('not_opened', 0):8d}")
    naive = s.get("opened", 0) + s.get("machine_only", 0)
    print(f"    what unique event ids alone would have said: {naive} opens ({100 * naive / max(1, s.get('sent', 1)):.1f}%)")

agree("records read vs pixels fetched", len(records), fired)
agree("unknown hits", [o for o in opens if o.get("unknown")], [])
by_eid = {o["eid"]: o for o in opens if not o.get("unknown")}
agree("messages in pixel opens vs generated", set(by_eid), set(sent))
for eid, hits in sim.items():
    o = by_eid.get(eid)
    if o is None:
        continue
    want = {k: v for k, v in hits.items() if v}
    if o["hits"] != want:
        problems.append(f"{eid}: classified {o['hits']}, the clients did {want}")
    verdict = "opened" if HUMAN & set(want) else "machine_only" if want else "not_opened"
    agree(f"{eid}: verdict", o["verdict"], verdict)
for c in campaigns:
    mine = [e for e in sim if campaign_of[e] == c]
    opened = [e for e in mine if HUMAN & set(sim[e])]
    s = summary.get(c, {})
    agree(f"{c}: opened", s.get("opened"), len(opened))
    agree(f"{c}: open rate", s.get("open_rate"), len(opened) / len(mine))
    machine = {}
    for e in mine:
        for k, v in sim[e].items():
            if k not in HUMAN:
                machine[k] = machine.get(k, 0) + v
    agree(f"{c}: machine hits by kind", s.get("machine_hits"), machine)
    agree(f"{c}: records", sum(1 for r in records if r["params"].get("campaign") == c),
          sum(sum(sim[e].values()) for e in mine))
    first = {e: by_eid[e]["first_open"] for e in opened}
    if opened:
        want = statistics.median(first[e] - sent[e] for e in opened)
        if abs((s.get("median_time_to_open") or 0) - want) > 1e-3:
            problems.append(f"{c}: median time to open {s.get('median_time_to_open')} != {want}")
for r in records:
    if r["params"].get("channel") != "email":
        problems.append(f"record without channel=email: {r['query']}")
        break
if problems:
    print("\nthe numbers do not agree:", file=sys.stderr)
    for p in problems[:30]:
        print("  " + p, file=sys.stderr)
    sys.exit(1)
print("\nall numbers agree")
PY
echo "demo: messages in $work/spring-newsletter and $work/product-update, records in $work/edge"
echo "demo: the open report: $work/report.html"
