#!/usr/bin/env bash
# The whole pipeline on one machine, as a real email campaign:
#   the local edge up -> two campaigns generated (one message and one pixel URL per
#   recipient) -> a fraction of recipients "open" them (their pixel is fetched through the
#   tracker, some twice) -> the edge stopped -> its records read back with `pixel logs`
#   -> an open report whose numbers must agree. Exits non-zero if they do not.
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

# 3. Two campaigns; each opens a random fraction of its messages, some twice.
"$generator" --template examples/email-campaign/templates/newsletter.html \
  --text-template examples/email-campaign/templates/newsletter.txt \
  --recipients "$work/recipients.csv" --campaign spring-newsletter \
  --from 'Example News <news@example.com>' --endpoint "$endpoint" --out "$work/spring-newsletter" \
  --simulate-opens 0.35 --reopen-rate 0.2
"$generator" --template examples/email-campaign/templates/newsletter.html \
  --recipients "$work/recipients-b.csv" --campaign product-update \
  --subject 'What is new, {{first_name}}' \
  --from 'Example Product <product@example.com>' --endpoint "$endpoint" --out "$work/product-update" \
  --simulate-opens 0.2 --reopen-rate 0.3

# 4. Stop the edge: on SIGTERM it writes every record and exits 0.
kill -TERM "$edge_pid"
if ! wait "$edge_pid"; then
  echo "demo: pixel edge did not exit cleanly" >&2
  cat "$work/edge.stderr" >&2
  exit 1
fi
trap - EXIT

# 5. Read the records back.
"$pixel" logs "$work/edge" >"$work/records.jsonl"
"$pixel" logs --dedupe "$work/edge" >"$work/opens.jsonl"
"$pixel" logs --dedupe --stats --group-by campaign "$work/edge" >"$work/opens-by-campaign.jsonl"

# 6. The open report, checked against what was generated and fired.
python3 - "$work" spring-newsletter product-update <<'PY'
import csv, json, os, sys
work, campaigns = sys.argv[1], sys.argv[2:]
problems = []
def agree(what, a, b):
    if a != b:
        problems.append(f"{what}: {a} != {b}")

generated = fired = 0
openers, fired_by, eids_opened = {}, {}, set()
for c in campaigns:
    with open(os.path.join(work, c, "manifest.csv"), newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    generated += len(rows)
    opens = [int(r["opens"]) for r in rows]
    fired += sum(opens)
    fired_by[c] = sum(opens)
    openers[c] = sum(1 for n in opens if n > 0)
    eids_opened |= {r["eid"] for r in rows if int(r["opens"]) > 0}
    files = [n for n in os.listdir(os.path.join(work, c)) if n.endswith(".eml")]
    agree(f"{c}: .eml files vs manifest rows", len(files), len(rows))

records = [json.loads(l) for l in open(os.path.join(work, "records.jsonl"), encoding="utf-8")]
unique = [json.loads(l) for l in open(os.path.join(work, "opens.jsonl"), encoding="utf-8")]
stats = {}
for l in open(os.path.join(work, "opens-by-campaign.jsonl"), encoding="utf-8"):
    o = json.loads(l)
    stats[o["campaign"]] = o["count"]
dupes = len(records) - len(unique)

print()
print("open report")
print(f"  messages generated     {generated:8d}")
print(f"  pixels fired           {fired:8d}")
print(f"  records read           {len(records):8d}")
print(f"  duplicates removed     {dupes:8d}")
print(f"  unique opens           {len(unique):8d}")
for c in campaigns:
    rate = 100.0 * stats.get(c, 0) / max(1, sum(1 for _ in open(os.path.join(work, c, 'manifest.csv'))) - 1)
    print(f"    {c:20s} {stats.get(c, 0):8d}  ({rate:.1f}% of messages opened)")

agree("records read vs pixels fired", len(records), fired)
agree("unique opens vs recipients who opened", len(unique), sum(openers.values()))
agree("duplicates removed vs re-opens", dupes, fired - sum(openers.values()))
for c in campaigns:
    agree(f"{c}: unique opens (pixel logs --stats) vs recipients who opened", stats.get(c, 0), openers[c])
    agree(f"{c}: records vs pixels fired", sum(1 for r in records if r["params"].get("campaign") == c), fired_by[c])
agree("event ids in the records vs messages opened", {r["params"].get("eid") for r in unique}, eids_opened)
for r in records:
    if r["params"].get("channel") != "email":
        problems.append(f"record without channel=email: {r['query']}")
        break
if problems:
    print("\nthe numbers do not agree:", file=sys.stderr)
    for p in problems:
        print("  " + p, file=sys.stderr)
    sys.exit(1)
print("\nall numbers agree")
PY
echo "demo: messages in $work/spring-newsletter and $work/product-update, records in $work/edge"
