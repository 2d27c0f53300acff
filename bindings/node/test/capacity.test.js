// SPDX-License-Identifier: MIT
// The sink's capacity through the Node.js binding (docs/capacity.md): sampling checked
// against Node's own crypto, pacing (maxRate), and receipts read back with JSON.parse.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const {spawn} = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');

const pixel = require('..');

// `pixel edge` on a free loopback port; stop() sends SIGTERM and returns its records as
// {ip, userAgent, params: [[k, v], ...]}.
async function startEdge() {
  const program = process.env.PIXEL_EDGE;
  if (!program) throw new Error('PIXEL_EDGE must name the pixel CLI (it runs `pixel edge`)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pixel-edge-'));
  const out = path.join(dir, 'out');
  const child = spawn(program, ['edge', '--listen', '127.0.0.1:0', '--out', out],
                      {stdio: ['ignore', 'pipe', 'inherit']});
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  const lines = readline.createInterface({input: child.stdout});
  const first = await new Promise((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`pixel edge exited ${code}`)));
  });
  const m = /^listening on (http:\/\/\S+)$/.exec(first);
  if (!m) {
    child.kill('SIGKILL');
    throw new Error(`pixel edge did not start: ${first}`);
  }
  return {
    url: `${m[1]}/1x1.png`,
    async stop() {
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
      const records = [];
      const walk = (d) => {
        if (!fs.existsSync(d)) return;
        for (const e of fs.readdirSync(d, {withFileTypes: true})) {
          const p = path.join(d, e.name);
          if (e.isDirectory()) {
            walk(p);
            continue;
          }
          for (const line of fs.readFileSync(p, 'utf8').split('\n')) {
            if (!line) continue;
            // The default fields: timestamp, c-ip, sc-status, cs-uri-stem,
            // x-edge-request-id, cs-user-agent, cs-referer, cs-uri-query.
            const f = line.split('\t');
            assert.equal(f.length, 8, line);
            const [ip, ua, query] = [f[1], f[5], f[7]];
            // Undo the log escaping once, then decode the query as sent.
            const sent = query === '-' ? '' : decodeURIComponent(query);
            records.push({ts: Number(f[0]), ip, userAgent: decodeURIComponent(ua),
                          params: [...new URLSearchParams(sent)]});
          }
        }
      };
      walk(out);
      fs.rmSync(dir, {recursive: true, force: true});
      return records;
    },
  };
}

// The documented rule, independently: the first 8 bytes of SHA-256(salt + value),
// big-endian, below rate x 2^64 (a BigInt against a Number compares exactly).
function referenceKeeps(rate, salt, value) {
  const digest = crypto.createHash('sha256').update(salt).update(value, 'utf8').digest();
  return digest.readBigUInt64BE(0) < rate * 2 ** 64;
}

// A server that accepts connections and answers nothing until release(), which resets
// them: a request stays in flight until then, and fails at once after it.
function holdServer() {
  return new Promise((resolve) => {
    const sockets = new Set();
    const server = net.createServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
    });
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address();
      resolve({
        url: `http://127.0.0.1:${port}/1x1.png`,
        release: () => {
          server.close();
          for (const s of sockets) s.resetAndDestroy();
        },
      });
    });
  });
}

function expectInvalid(fn, pattern) {
  assert.throws(fn, (e) => e instanceof pixel.PixelError && e.code === 'PIXEL_ERR_INVALID_ARGUMENT' &&
                           (!pattern || pattern.test(e.message)));
}

test('the capacity functions refuse NULL', () => {
  const n = pixel.native;
  for (const [name, arg] of [['pixel_options_set_receipts_path', ''], ['pixel_options_set_max_rate', 1],
                             ['pixel_options_set_sample_rate', 1], ['pixel_options_set_sample_key', 'k']]) {
    assert.equal(n[name](null, arg), 1, name);
  }
  assert.equal(n.pixel_options_set_sample_salt(null, null, 0), 1);
  assert.equal(n.pixel_sample_keeps(0.5, null, 1, Buffer.from('v'), 1, [0]), 1);
  assert.match(n.pixel_last_error(), /salt/);
});

test('sampleKeeps equals node:crypto', () => {
  for (const rate of [0.001, 0.1, 0.25, 0.5, 0.9, 1]) {
    for (const salt of [Buffer.alloc(0), Buffer.from('salt-1'), Buffer.from([...Array(256).keys()])]) {
      for (let i = 0; i < 2000; i++) {
        const v = `user-${i}`;
        assert.equal(pixel.sampleKeeps(rate, salt, v), referenceKeeps(rate, salt, v), `${rate} ${v}`);
      }
    }
  }
  assert.equal(pixel.sampleKeeps(0.5, Buffer.from('s'), 'ééé'),
               pixel.sampleKeeps(0.5, Buffer.from('s'), Buffer.from('ééé')));
  expectInvalid(() => pixel.sampleKeeps('0.5', Buffer.alloc(0), 'v'), /rate/);
  expectInvalid(() => pixel.sampleKeeps(0.5, 'salt', 'v'), /salt/);
  expectInvalid(() => pixel.sampleKeeps(0.5, Buffer.alloc(0), 7), /value/);
});

test('a sampled tracker sends exactly the kept users, with sr', async () => {
  const rate = 0.25;
  const salt = Buffer.from('campaign-2026');
  const users = Array.from({length: 400}, (_, i) => `u${i}`);
  const kept = users.filter((u) => referenceKeeps(rate, salt, u));
  assert.ok(kept.length > 60 && kept.length < 140, String(kept.length));
  const edge = await startEdge();
  const results = [];
  const t = new pixel.Tracker({endpoint: edge.url, sampleRate: rate, sampleKey: 'uid', sampleSalt: salt,
                               onResult: (r) => results.push(r)});
  const ids = {};
  for (const u of users) ids[u] = t.track({uid: u, userid: 'not-the-key'});
  ids['no-key'] = t.track({userid: 'no-key'});  // without the key: kept, without sr
  assert.equal(await t.flush(60000), true);
  const stats = t.stats();
  await t.close();
  const got = (await edge.stop()).map((r) => Object.fromEntries(r.params));
  assert.equal(new Set(Object.values(ids)).size, users.length + 1);
  const withKey = got.filter((p) => p.uid !== undefined);
  assert.deepEqual(withKey.map((p) => p.uid).sort(), [...kept].sort());
  for (const p of withKey) {
    assert.equal(p.sr, '0.25');
    assert.equal(p.eid, ids[p.uid]);
  }
  const without = got.filter((p) => p.uid === undefined);
  assert.equal(without.length, 1);
  assert.equal(without[0].sr, undefined);
  // Sampled-out events are neither sent nor reported.
  assert.equal(stats.delivered, kept.length + 1);
  assert.equal(results.length, kept.length + 1);
});

test('sampling and maxRate values: accepted and refused', async () => {
  for (const options of [{sampleRate: 0}, {sampleRate: 1.5}, {sampleRate: -0.5}, {sampleRate: NaN},
                         {sampleRate: 0.5, sampleKey: ''}]) {
    expectInvalid(() => new pixel.Tracker({endpoint: 'https://x.example', ...options}), /sample_/);
  }
  for (const options of [{sampleRate: '0.5'}, {sampleSalt: 'text'}, {sampleKey: 5}, {maxRate: '900'}]) {
    expectInvalid(() => new pixel.Tracker({endpoint: 'https://x.example', ...options}));
  }
  for (const maxRate of [0, 0.5, 900, 1e9]) {
    await new pixel.Tracker({endpoint: 'https://x.example', maxRate, shutdownTimeout: 0}).close(0);
  }
  for (const maxRate of [-1, NaN, Infinity]) {
    expectInvalid(() => new pixel.Tracker({endpoint: 'https://x.example', maxRate}), /max_rate/);
  }
  const t = new pixel.Tracker({endpoint: 'https://x.example', sampleRate: 0.5, shutdownTimeout: 0});
  expectInvalid(() => t.track({userid: 'a', sr: '1'}), /sr/);
  await t.close(0);
});

test('a paced burst is spread out and delivered', async () => {
  // 60 events tracked at once, paced at 100/s in bursts of a tenth of that: any 100 ms of
  // the edge's arrival times holds about 20 (30 allows for arrivals bunching up; unpaced,
  // nearly all 60 arrive within a few ms).
  const edge = await startEdge();
  const t = new pixel.Tracker({endpoint: edge.url, maxRate: 100});
  for (let i = 0; i < 60; i++) t.track({n: String(i)});
  assert.equal(await t.flush(60000), true);
  assert.equal(t.stats().delivered, 60);
  await t.close();
  const records = await edge.stop();
  const arrivals = records.map((r) => r.ts).sort((a, b) => a - b);
  const busiest = Math.max(...arrivals.map((a, i) => arrivals.filter((b) => b >= a && b < a + 0.1).length));
  assert.ok(busiest <= 30, `${busiest} in 100 ms: ${arrivals}`);
  assert.deepEqual(records.map((r) => Number(Object.fromEntries(r.params).n)).sort((a, b) => a - b),
                   Array.from({length: 60}, (_, i) => i));
});

test('receipts: one JSON line per event with its outcome', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pixel-node-receipts-'));
  const file = path.join(dir, 'receipts.jsonl');
  const before = Date.now() / 1000;
  const edge = await startEdge();
  let t = new pixel.Tracker({endpoint: edge.url, receiptsPath: file});
  const delivered = Array.from({length: 5}, (_, i) => t.track({n: String(i)}));
  assert.equal(await t.flush(60000), true);
  await t.close();
  await edge.stop();
  // A request held in flight fills the queue of one, so a second event is dropped; then
  // the connection is reset: one attempt, failed.
  const hold = await holdServer();
  t = new pixel.Tracker({endpoint: hold.url, receiptsPath: file, maxAttempts: 1,
                         outageThreshold: 0, queueCapacity: 1, requestTimeout: 600000});
  const failed = t.track({n: 'x'});
  assert.throws(() => t.track({n: 'y'}), (e) => e.code === 'PIXEL_ERR_QUEUE_FULL');
  hold.release();
  assert.equal(await t.flush(60000), true);
  await t.close();
  const after = Date.now() / 1000;
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  fs.rmSync(dir, {recursive: true, force: true});
  assert.equal(lines.length, 7);
  for (const r of lines) {
    assert.deepEqual(Object.keys(r).sort(), ['at', 'attempts', 'eid', 'outcome', 'status']);
    assert.ok(r.at >= before - 1 && r.at <= after + 1, JSON.stringify(r));
  }
  const pick = (r) => [r.outcome, r.status, r.attempts];
  const byEid = Object.fromEntries(lines.map((r) => [r.eid, r]));
  for (const eid of delivered) assert.deepEqual(pick(byEid[eid]), ['delivered', 200, 1]);
  assert.deepEqual(pick(byEid[failed]), ['failed', 0, 1]);
  const known = new Set([...delivered, failed]);
  assert.deepEqual(lines.filter((r) => !known.has(r.eid)).map(pick), [['dropped', 0, 0]]);
  expectInvalid(() => new pixel.Tracker({endpoint: 'https://x.example',
                                         receiptsPath: '/nonexistent-dir/receipts.jsonl'}), /receipts/);
});
