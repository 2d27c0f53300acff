// SPDX-License-Identifier: MIT
// Signed URLs through the Node.js binding: the vectors computed by Python's hmac
// (tests/url/vectors/signature.json) byte for byte, bad keys, and a signing Tracker whose
// every event `pixel edge --verify-key` accepts (an unsigned one gets 403).
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const {spawn} = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');

const pixel = require('..');

const VECTORS = path.join(__dirname, '..', '..', '..', 'tests', 'url', 'vectors',
                          'signature.json');

function rawKey(text) {
  return Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

test('buildSignedUrl reproduces the Python vectors', () => {
  const {vectors} = JSON.parse(fs.readFileSync(VECTORS, 'utf8'));
  assert.ok(vectors.length >= 5);
  for (const v of vectors) {
    let url;
    // The lifetime counts from the build: exp - now, again if the second turned meanwhile.
    for (let i = 0; i < 3; i++) {
      url = pixel.buildSignedUrl(v.endpoint, v.params, {
        kid: v.kid, key: rawKey(v.key), ttl: v.exp - Math.floor(Date.now() / 1000),
        eventId: false, timestamp: false});
      if (url.includes(`&exp=${v.exp}&`)) break;
    }
    assert.equal(url, v.url, v.name);
  }
});

test('the signing functions refuse NULL', () => {
  const n = pixel.native;
  assert.equal(n.pixel_options_set_signing_key(null, 'k', Buffer.alloc(16), 16), 1);
  assert.equal(n.pixel_options_set_signature_ttl_s(null, 1), 1);
  assert.equal(n.pixel_url_build_signed(null, [], 0, 0, 'k', Buffer.alloc(16), 16, 0, null, 0,
                                        [0]), 1);
  assert.match(n.pixel_last_error(), /endpoint/);
});

test('bad keys and reserved names throw without showing the key', () => {
  const ep = 'https://d111111abcdef8.cloudfront.net';
  const key = Buffer.from('0123456789abcdef-secret');
  for (const o of [{kid: 'bad kid', key}, {kid: 'k', key: key.subarray(0, 15)},
                   {kid: 'k', key: 'not a buffer'}, {kid: 'k', key, ttl: -1}]) {
    assert.throws(() => pixel.buildSignedUrl(ep, {a: 1}, o), (e) => {
      assert.ok(e instanceof pixel.PixelError);
      assert.ok(!e.message.includes('0123456789'), e.message);
      return true;
    });
  }
  assert.throws(() => pixel.buildSignedUrl(ep, {exp: 1}, {kid: 'k', key}), pixel.PixelError);
  const url = pixel.buildSignedUrl(ep, {a: 1}, {kid: 'k', key, ttl: 60});
  const exp = Number(/&exp=(\d+)&/.exec(url)[1]);
  assert.ok(Math.abs(exp - (Math.floor(Date.now() / 1000) + 60)) <= 2, url);
  assert.throws(() => new pixel.Tracker({endpoint: ep, signingKey: {kid: 'k', key: key.subarray(0, 8)}}),
                pixel.PixelError);
});

test('a signing Tracker delivers every event through pixel edge --verify-key', async () => {
  const program = process.env.PIXEL_EDGE;
  assert.ok(program, 'PIXEL_EDGE must name the pixel CLI');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pixel-sign-'));
  const key = Buffer.from(Array.from({length: 32}, (_, i) => (i * 37 + 11) & 255));
  const keyFile = path.join(dir, 'js1.key');
  fs.writeFileSync(keyFile, key.toString('base64'), {mode: 0o600});
  const child = spawn(program, ['edge', '--listen', '127.0.0.1:0', '--out', path.join(dir, 'out'),
                                '--verify-key', `js1:${keyFile}`],
                      {stdio: ['ignore', 'pipe', 'inherit']});
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const first = await new Promise((resolve) => readline.createInterface({input: child.stdout})
    .once('line', resolve));
  const m = /^listening on (http:\/\/\S+)$/.exec(first);
  assert.ok(m, first);
  try {
    const signed = new pixel.Tracker({endpoint: `${m[1]}/1x1.png`,
                                      signingKey: {kid: 'js1', key}, signatureTtl: 600});
    for (let i = 0; i < 10; i++) signed.track({userid: `u${i}`});
    assert.equal(await signed.flush(60000), true);
    assert.equal(signed.stats().delivered, 10);
    assert.equal(signed.stats().failed, 0);
    await signed.close();
    const plain = new pixel.Tracker({endpoint: `${m[1]}/1x1.png`});
    plain.track({userid: 'forged'});
    assert.equal(await plain.flush(60000), true);
    assert.equal(plain.stats().failed, 1);  // 403: a final status
    await plain.close();
  } finally {
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    fs.rmSync(dir, {recursive: true, force: true});
  }
});
