// SPDX-License-Identifier: MIT
// Tracking modes and Global Privacy Control through the Node.js binding, against the local
// edge; pseudonyms checked with Node's own crypto.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const {spawn} = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
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
            records.push({ip, userAgent: decodeURIComponent(ua),
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


const KEY = Buffer.from('pseudonym-key-0123456789abcdef');

// base64url without padding of the first 16 bytes of HMAC-SHA256(key, value), by Node's crypto.
function token(key, value) {
  return crypto.createHmac('sha256', key).update(value, 'utf8').digest().subarray(0, 16)
      .toString('base64url');
}

// Tracks each [k, mode, gpc] with userid=bob, email=bob@example.com; returns the records
// by k, the stats, the results and the ids by k.
async function runEvents(events, options = {}) {
  const edge = await startEdge();
  const results = [];
  const ids = {};
  const t = new pixel.Tracker({endpoint: edge.url, onResult: (r) => results.push(r), ...options});
  for (const [k, mode, gpc] of events) {
    ids[k] = t.track({userid: 'bob', email: 'bob@example.com', k}, {mode, gpc});
  }
  assert.equal(await t.flush(60000), true);
  const stats = t.stats();
  await t.close();
  const got = {};
  for (const r of await edge.stop()) {
    const p = Object.fromEntries(r.params);
    assert.equal(got[p.k], undefined, p.k);
    got[p.k] = p;
  }
  return {got, stats, results, ids};
}

test('each mode as received', async () => {
  const {got, stats, results, ids} = await runEvents(
      [['off', 'off'], ['aggregate', 'aggregate'], ['pseudonymous', 'pseudonymous'],
       ['identified', 'identified'], ['none', undefined]],
      {pseudonymKey: KEY});
  assert.deepEqual(Object.keys(got).sort(), ['aggregate', 'identified', 'none', 'pseudonymous']);
  assert.equal(got.aggregate.userid, undefined);
  assert.equal(got.aggregate.email, undefined);
  for (const v of ['bob', 'bob@example.com', token(KEY, 'bob')]) {
    assert.ok(!Object.values(got.aggregate).includes(v), v);
  }
  assert.equal(got.aggregate.eid, ids.aggregate);
  assert.equal(got.pseudonymous.userid, token(KEY, 'bob'));
  assert.equal(got.pseudonymous.email, token(KEY, 'bob@example.com'));
  assert.equal(got.pseudonymous.userid.length, 22);
  for (const k of ['identified', 'none']) {
    assert.deepEqual([got[k].userid, got[k].email], ['bob', 'bob@example.com']);
  }
  assert.deepEqual([stats.suppressed, stats.modeLowered, stats.delivered], [1, 0, 4]);
  const suppressed = results.filter((r) => r.outcome === 'suppressed');
  assert.deepEqual(suppressed.map((r) => r.eventId), [ids.off]);
  assert.deepEqual([suppressed[0].attempts, suppressed[0].httpStatus, suppressed[0].transportError],
                   [0, 0, 'none']);
  assert.equal(results.length, 5);
  assert.ok(pixel.OUTCOMES.includes('suppressed'));
});

test('off is reported before track() returns', async () => {
  const results = [];
  const t = new pixel.Tracker({endpoint: 'http://127.0.0.1:9/1x1.png', trackingMode: 'off',
                               shutdownTimeout: 0, onResult: (r) => results.push(r)});
  const id = t.track({userid: 'bob'}, {mode: 'identified'});
  assert.deepEqual(results.map((r) => [r.eventId, r.outcome]), [[id, 'suppressed']]);
  const s = t.stats();
  await t.close(0);
  assert.deepEqual([s.suppressed, s.modeLowered, s.queued, s.inFlight, s.delivered, s.failed,
                    s.dropped], [1, 1, 0, 0, 0, 0, 0]);
});

test('the ceiling lowers what is asked and counts it', async () => {
  const {got, stats, results} = await runEvents(
      [['asks-identified', 'identified'], ['asks-pseudonymous', 'pseudonymous'],
       ['asks-aggregate', 'aggregate'], ['none', undefined], ['asks-off', 'off']],
      {trackingMode: 'aggregate'});
  assert.deepEqual(Object.keys(got).sort(),
                   ['asks-aggregate', 'asks-identified', 'asks-pseudonymous', 'none']);
  for (const [k, p] of Object.entries(got)) {
    assert.equal(p.userid, undefined, k);
    assert.equal(p.email, undefined, k);
  }
  assert.deepEqual([stats.modeLowered, stats.suppressed], [2, 1]);
  assert.equal(results.filter((r) => r.outcome === 'suppressed').length, 1);
});

test('gpc lowers to the gpc mode', async () => {
  let {got, stats} = await runEvents(
      [['gpc', undefined, true], ['gpc-identified', 'identified', true], ['no-gpc', undefined]]);
  assert.equal(got.gpc.userid, undefined);
  assert.equal(got['gpc-identified'].userid, undefined);
  assert.equal(got['no-gpc'].userid, 'bob');
  assert.deepEqual([stats.modeLowered, stats.suppressed], [2, 0]);

  ({got, stats} = await runEvents(
      [['gpc', 'identified', true], ['no-gpc', 'identified', false]],
      {gpcMode: 'pseudonymous', pseudonymKey: KEY, identityParams: ['email']}));
  assert.equal(got.gpc.email, token(KEY, 'bob@example.com'));
  assert.equal(got.gpc.userid, 'bob');  // not an identity parameter here
  assert.equal(got['no-gpc'].email, 'bob@example.com');
  assert.equal(stats.modeLowered, 1);

  const off = await runEvents([['gpc', undefined, true], ['no-gpc']], {gpcMode: 'off'});
  assert.deepEqual(Object.keys(off.got), ['no-gpc']);
  assert.deepEqual(off.results.filter((r) => r.outcome === 'suppressed').map((r) => r.eventId),
                   [off.ids.gpc]);
  assert.equal(off.stats.suppressed, 1);
});

test('bad values are PixelErrors and lose nothing else', async () => {
  const cases = [
    {trackingMode: 'anonymous'}, {trackingMode: 2}, {gpcMode: 'none'},
    {pseudonymKey: 'text, not bytes'}, {pseudonymKey: Buffer.from('short')},
    {identityParams: 'userid'}, {identityParams: ['']}, {identityParams: [null]},
    {trackingMode: 'pseudonymous'},
  ];
  for (const c of cases) {
    assert.throws(() => new pixel.Tracker({endpoint: 'https://x.example', ...c}), (e) => {
      assert.ok(e instanceof pixel.PixelError, JSON.stringify(c));
      assert.equal(e.code, 'PIXEL_ERR_INVALID_ARGUMENT', JSON.stringify(c));
      assert.ok(!e.message.includes('short'));  // the key is never shown
      return true;
    });
  }
  const edge = await startEdge();
  const t = new pixel.Tracker({endpoint: edge.url});
  assert.throws(() => t.track({k: 'bad-mode'}, {mode: 'everything'}),
                {code: 'PIXEL_ERR_INVALID_ARGUMENT'});
  assert.throws(() => t.track({k: 'no-key'}, {mode: 'pseudonymous'}),
                {code: 'PIXEL_ERR_INVALID_ARGUMENT'});
  t.track({k: 'kept'}, {mode: 'identified', userAgent: 'consent-test/1'});
  assert.equal(await t.flush(60000), true);
  const s = t.stats();
  await t.close();
  const records = await edge.stop();
  assert.deepEqual(records.map((r) => [r.userAgent, Object.fromEntries(r.params).k]),
                   [['consent-test/1', 'kept']]);
  assert.deepEqual([s.delivered, s.suppressed, s.modeLowered], [1, 0, 0]);
});
