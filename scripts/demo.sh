#!/usr/bin/env bash
# The main job end to end: build, then show pixel URLs and tags being generated.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target pixel_cli >/dev/null
pixel=build/release/tools/pixel/pixel
endpoint=https://d111111abcdef8.cloudfront.net
echo "# a pixel URL"
"${pixel}" url --endpoint "${endpoint}" userid=aws_user thirdpartyname=example.hightrafficwebsite.com
echo "# the same, without event id and timestamp, with values that need encoding"
"${pixel}" url --endpoint "${endpoint}" --no-event-id --no-timestamp "userid=Zoë Smith" "note=a+b & c=d"
echo "# an <img> tag for an email"
"${pixel}" img --style email --endpoint "${endpoint}" userid=aws_user campaign=spring
echo "# an <img> tag for a page"
"${pixel}" img --style page --endpoint "${endpoint}" userid=aws_user page=/pricing
