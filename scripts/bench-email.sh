#!/usr/bin/env bash
# Measures email-campaign: a ~10 KB template, N recipients (default 100,000), release build.
# usage: scripts/bench-email.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
cmake --preset release >/dev/null
cmake --build --preset release --target email-campaign >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 examples/email-campaign/make_recipients.py "$n" > "$work/recipients.csv"
for format in eml html; do
  echo "== --format $format, $n recipients, $(wc -c < examples/email-campaign/templates/newsletter-10k.html)-byte template"
  build/release/examples/email-campaign/email-campaign \
    --template examples/email-campaign/templates/newsletter-10k.html \
    --recipients "$work/recipients.csv" --campaign bench --from 'Example <news@example.com>' \
    --endpoint https://d111111abcdef8.cloudfront.net --out "$work/out-$format" --format "$format" \
    2>&1 | grep -v '^email-campaign: warning'
  rm -rf "$work/out-$format"
done
