// SPDX-License-Identifier: MIT
// Durable delivery through the Node.js binding: spoolDir, durability, spoolMaxBytes and
// PIXEL_ERR_SPOOL, against the real libpixel, with Node's own http server as the judge of
// what was delivered.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const pixel = require('..');

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const {port} = s.address();
      s.close(() => resolve(port));
    });
  });
}

test('what one tracker leaves in the spool, the next delivers', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pixel-node-spool-'));
  const spoolDir = path.join(dir, 'spool');
  const port = await freePort();  // nothing listens: connections are refused
  const url = `http://127.0.0.1:${port}/1x1.png`;
  const first = new pixel.Tracker({endpoint: url, spoolDir, durability: 'sync',
                                   spoolMaxBytes: 1 << 20, shutdownTimeout: 100});
  const ids = new Set();
  for (let i = 0; i < 10; ++i) ids.add(first.track({userid: `u${i}`}));
  await first.close(100);
  assert.equal(first.stats().dropped, 0);

  const received = new Set();
  const server = http.createServer((req, res) => {
    received.add(new URL(req.url, 'http://x').searchParams.get('eid'));
    res.end();
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  try {
    // The first tracker's spool lock went with close().
    const second = new pixel.Tracker({endpoint: url, spoolDir, durability: 'batched'});
    assert.equal(await second.flush(20000), true);
    assert.equal(second.stats().delivered, 10);
    await second.close();
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
  assert.deepEqual([...received].sort(), [...ids].sort());
  fs.rmSync(dir, {recursive: true, force: true});
});

test('a spool in use is PIXEL_ERR_SPOOL; bad values are refused', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pixel-node-spool-'));
  const spoolDir = path.join(dir, 'spool');
  const endpoint = 'http://127.0.0.1:9/1x1.png';
  const first = new pixel.Tracker({endpoint, spoolDir, durability: 'sync'});
  assert.throws(() => new pixel.Tracker({endpoint, spoolDir, durability: 'sync'}), (e) => {
    assert.equal(e.status, 11);
    assert.equal(e.code, 'PIXEL_ERR_SPOOL');
    assert.match(e.message, new RegExp(`in use by another tracker \\(process ${process.pid}\\)`));
    return true;
  });
  await first.close();
  assert.throws(() => new pixel.Tracker({endpoint, durability: 'disk'}),
                {code: 'PIXEL_ERR_INVALID_ARGUMENT'});
  assert.throws(() => new pixel.Tracker({endpoint, durability: 'sync'}),
                {code: 'PIXEL_ERR_INVALID_ARGUMENT'});
  assert.throws(() => new pixel.Tracker({endpoint, spoolDir, durability: 'sync', spoolMaxBytes: -1}),
                {code: 'PIXEL_ERR_INVALID_ARGUMENT'});
  fs.rmSync(dir, {recursive: true, force: true});
});
