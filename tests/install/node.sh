#!/usr/bin/env bash
# The Node.js binding installed the documented way into a fresh project outside the
# repository: `npm pack <repo>/bindings/node` (its prepack builds libpixel.so.1 with CMake
# and packs it next to index.js), then `npm install ./pixel-<version>.tgz`. With no
# libpixel anywhere else it builds a URL and delivers events to a live `pixel edge`.
#   node.sh REPO PIXEL_CLI
REPO=$1 PIXEL_CLI=$2
source "$(dirname "$0")/common.sh"

npm pack --silent --pack-destination "${project}" "${REPO}/bindings/node" > packed
tarball=$(tail -n 1 packed)
tar -tzf "${tarball}" | sort > contents
cat contents
grep -qx 'package/libpixel.so.1' contents
npm init -y --silent > /dev/null
# koffi (the binding's one dependency) comes from the registry; its prebuilt binaries
# need no install script.
npm install --ignore-scripts --no-audit --no-fund --loglevel=error "./${tarball}"
cat > app.js <<'JS'
'use strict';
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const pixel = require('pixel');
const here = fs.realpathSync(path.dirname(require.resolve('pixel')));
assert.ok(here.startsWith(fs.realpathSync(path.join(__dirname, 'node_modules')) + path.sep), here);
assert.ok(fs.existsSync(path.join(here, 'libpixel.so.1')));
const url = pixel.buildUrl('https://d111111abcdef8.cloudfront.net', {k: '[v]'},
                           {eventId: false, timestamp: false});
assert.strictEqual(url, 'https://d111111abcdef8.cloudfront.net/1x1.png?k=%5Bv%5D');
(async () => {
  const results = [];
  const t = new pixel.Tracker({endpoint: process.argv[2], onResult: (r) => results.push(r)});
  for (let i = 0; i < 25; i++) t.track({from: 'node-install', i: String(i)});
  await t.close(30000);
  const delivered = results.filter((r) => r.outcome === 'delivered').length;
  assert.strictEqual(delivered, 25, JSON.stringify(results));
  console.log(`node: version ${pixel.version()} from ${here}, delivered ${delivered}`);
})().catch((e) => { console.error(e); process.exit(1); });
JS
with_edge 'from=node-install' 25 node app.js @ENDPOINT@
