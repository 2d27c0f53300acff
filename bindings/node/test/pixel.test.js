// SPDX-License-Identifier: MIT
// The Node.js binding against the real libpixel (PIXEL_LIBRARY) and the local edge (PIXEL_EDGE).
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const {spawn} = require('node:child_process');
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

// A loopback port that accepts connections and never answers.
async function blackhole() {
  const sockets = [];
  const server = net.createServer((s) => sockets.push(s));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/1x1.png`,
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

test('loads the library named by PIXEL_LIBRARY and reports its version', () => {
  assert.match(pixel.version(), /^\d+\.\d+\.\d+$/);
  assert.equal(pixel.native.pixel_version(), pixel.version());
});

test('every declared C function is callable and refuses NULL', () => {
  const n = pixel.native;
  assert.equal(Object.keys(n).length, 56);  // signing: test/sign.test.js; capacity: test/capacity.test.js
  assert.equal(n.pixel_status_str(7), 'queue full');
  assert.equal(n.pixel_status_str(99), 'unknown status');
  assert.equal(typeof n.pixel_last_error(), 'string');
  const outLen = [0];
  assert.equal(n.pixel_url_build(null, [], 0, 0, null, 0, outLen), 1);
  assert.match(n.pixel_last_error(), /endpoint/);
  assert.equal(n.pixel_img_tag(null, 0, null, 0, outLen), 1);
  const opts = n.pixel_options_new();
  assert.ok(opts);
  n.pixel_options_free(opts);
  n.pixel_options_free(null);
  const nullSetters = [
    ['pixel_options_set_endpoint', 'https://x.example'], ['pixel_options_set_queue_capacity', 1],
    ['pixel_options_set_overflow_policy', 0], ['pixel_options_set_block_timeout_ms', 1],
    ['pixel_options_set_allow_http', 1], ['pixel_options_set_max_in_flight', 1],
    ['pixel_options_set_min_in_flight', 1], ['pixel_options_set_worker_threads', 1],
    ['pixel_options_set_connect_timeout_ms', 1], ['pixel_options_set_request_timeout_ms', 1],
    ['pixel_options_set_max_attempts', 1], ['pixel_options_set_max_age_ms', 1],
    ['pixel_options_set_shutdown_timeout_ms', 1], ['pixel_options_set_user_agent', 'ua'],
    ['pixel_options_set_ca_file', ''], ['pixel_options_set_url_flags', 0],
    ['pixel_options_set_proxy', ''], ['pixel_options_set_backoff_base_ms', 1],
    ['pixel_options_set_backoff_max_ms', 1], ['pixel_options_set_retry_after_cap_ms', 1],
    ['pixel_options_set_outage_threshold', 1], ['pixel_options_set_probe_interval_ms', 1],
    ['pixel_options_set_spool_dir', ''], ['pixel_options_set_durability', 0],
    ['pixel_options_set_spool_max_bytes', 0], ['pixel_options_set_tracking_mode', 2],
    ['pixel_options_set_gpc_mode', 2],
  ];
  for (const [name, arg] of nullSetters) assert.equal(n[name](null, arg), 1, name);
  assert.equal(n.pixel_options_set_result_callback(null, null, null), 1);
  assert.equal(n.pixel_options_set_log_callback(null, null, null), 1);
  assert.equal(n.pixel_options_set_identity_params(null, ['userid'], 1), 1);
  assert.equal(n.pixel_options_set_pseudonym_key(null, Buffer.alloc(16), 16), 1);
  const out = [null];
  assert.equal(n.pixel_tracker_new(null, out), 1);
  assert.equal(out[0], null);
  assert.equal(n.pixel_track(null, [], 0), 1);
  assert.equal(n.pixel_track_with_user_agent(null, [], 0, 'ua'), 1);
  assert.equal(n.pixel_track_event(null, {params: [], count: 0, user_agent: null}, null), 1);
  assert.equal(n.pixel_transport_error_str(5), 'timeout');
  assert.equal(n.pixel_tracker_flush(null, 0), 1);
  assert.equal(n.pixel_tracker_stats(null, {}), 1);
  assert.equal(n.pixel_tracker_shutdown(null, 0), 1);
  n.pixel_tracker_free(null);
});

test('buildUrl keeps order, encodes, and adds eid/ts as asked', () => {
  assert.equal(pixel.buildUrl('https://D111.cloudfront.net', {userid: 'a b+c', k: 'é&='},
                              {eventId: false, timestamp: false}),
               'https://d111.cloudfront.net/1x1.png?userid=a%20b%2Bc&k=%C3%A9%26%3D');
  assert.equal(pixel.buildUrl('https://x.example', [['b', '1'], ['a', 2], ['b', true]],
                              {eventId: false, timestamp: false}),
               'https://x.example/1x1.png?b=1&a=2&b=true');
  const q = [...new URL(pixel.buildUrl('https://x.example', {u: '1'})).searchParams];
  assert.deepEqual(q.map(([k]) => k), ['u', 'eid', 'ts']);
  assert.equal(q[1][1].length, 26);
  assert.match(q[2][1], /^\d+$/);
  const idOnly = new URL(pixel.buildUrl('https://x.example', {}, {timestamp: false}));
  assert.deepEqual([...idOnly.searchParams.keys()], ['eid']);
  const long = pixel.buildUrl('https://x.example', {k: 'x'.repeat(8000)},
                              {eventId: false, timestamp: false});
  assert.equal(long.length, 'https://x.example/1x1.png?k='.length + 8000);
});

test('buildUrl and imgTag reject bad input with messages', () => {
  const cases = [
    [() => pixel.buildUrl('http://example.com', {}), 'PIXEL_ERR_INVALID_ENDPOINT'],
    [() => pixel.buildUrl('https://x.example?q=1', {}), 'PIXEL_ERR_INVALID_ENDPOINT'],
    [() => pixel.buildUrl('https://x.example', {'': 'v'}), 'PIXEL_ERR_EMPTY_KEY'],
    [() => pixel.buildUrl('https://x.example', {k: 'x'.repeat(9000)}), 'PIXEL_ERR_URL_TOO_LONG'],
    [() => pixel.buildUrl('https://x.example', {eid: 'mine'}), 'PIXEL_ERR_INVALID_ARGUMENT'],
    [() => pixel.buildUrl('https://x.example', {k: 'a\0b'}), 'PIXEL_ERR_INVALID_ARGUMENT'],
    [() => pixel.buildUrl('https://x.example', {k: {}}), 'PIXEL_ERR_INVALID_ARGUMENT'],
    [() => pixel.buildUrl('https://x.example', [['only']]), 'PIXEL_ERR_INVALID_ARGUMENT'],
    [() => pixel.buildUrl(null, {}), 'PIXEL_ERR_INVALID_ARGUMENT'],
    [() => pixel.imgTag('javascript:alert(1)'), 'PIXEL_ERR_INVALID_ARGUMENT'],
    [() => pixel.imgTag('https://x.example/', {style: 'banner'}), 'PIXEL_ERR_INVALID_ARGUMENT'],
  ];
  for (const [fn, code] of cases) {
    assert.throws(fn, (e) => e instanceof Error && e instanceof pixel.PixelError &&
                             e.code === code && e.message.length > 0, code);
  }
});

test('imgTag builds email and page tags', () => {
  assert.equal(pixel.imgTag('https://x.example/1x1.png?a=1&b=2'),
               '<img src="https://x.example/1x1.png?a=1&amp;b=2" width="1" height="1" alt="" ' +
               'border="0" style="width:1px;height:1px;border:0;margin:0;padding:0;">');
  assert.match(pixel.imgTag('https://x.example/1x1.png', {style: 'page'}),
               /aria-hidden="true" referrerpolicy="no-referrer">$/);
});

test('Tracker refuses bad options', async () => {
  const bad = [
    {endpoint: null}, {endpoint: 'ftp://x.example'}, {endpoint: 'http://pixel.example'},
    {endpoint: 'https://x.example', queueCapacity: 0},
    {endpoint: 'https://x.example', queueCapacity: -1},
    {endpoint: 'https://x.example', maxInFlight: 0},
    {endpoint: 'https://x.example', maxAttempts: 0},
    {endpoint: 'https://x.example', connectTimeout: 0},
    {endpoint: 'https://x.example', requestTimeout: -5},
    {endpoint: 'https://x.example', blockTimeout: -1},
    {endpoint: 'https://x.example', probeInterval: 0},
    {endpoint: 'https://x.example', backoffMax: -1},
    {endpoint: 'https://x.example', outageThreshold: -1},
    {endpoint: 'https://x.example', proxy: 'a\r\nb'},
    {endpoint: 'https://x.example', proxy: 7},
    {endpoint: 'https://x.example', maxAge: 0},
    {endpoint: 'https://x.example', overflow: 'spill'},
    {endpoint: 'https://x.example', userAgent: 'a\nb'},
    {endpoint: 'https://x.example', onResult: 5},
    {endpoint: 'https://x.example', colour: 'red'},
  ];
  for (const o of bad) {
    assert.throws(() => new pixel.Tracker(o), pixel.PixelError, JSON.stringify(o));
  }
  assert.throws(() => new pixel.Tracker(), pixel.PixelError);
  const t = new pixel.Tracker({endpoint: 'http://pixel.example', allowHttp: true,
                               shutdownTimeout: 0});
  await t.close(0);
});

test('Tracker refuses workerThreads out of range, naming it', async () => {
  // 1 to 64 and at most maxInFlight, checked by the library; a negative or fractional
  // count by the binding.
  for (const o of [{workerThreads: 0}, {workerThreads: 65}, {workerThreads: 5, maxInFlight: 4},
                   {workerThreads: -1}, {workerThreads: 1.5}]) {
    assert.throws(() => new pixel.Tracker({endpoint: 'https://x.example', ...o}),
                  (e) => e instanceof pixel.PixelError && e.code === 'PIXEL_ERR_INVALID_ARGUMENT' &&
                         /workerThreads|worker_threads/.test(e.message),
                  JSON.stringify(o));
  }
  for (const o of [{workerThreads: 1}, {workerThreads: 64}, {workerThreads: 4, maxInFlight: 4}]) {
    const t = new pixel.Tracker({endpoint: 'https://x.example', shutdownTimeout: 0, ...o});
    await t.close(0);
  }
});

test('flush times out, the queue fills, close drops and is idempotent', async () => {
  const hole = await blackhole();
  try {
    const t = new pixel.Tracker({endpoint: hole.url, queueCapacity: 1, shutdownTimeout: 0,
                                 requestTimeout: 600000, overflow: 'drop_new'});
    t.track({k: 'v'});
    assert.throws(() => t.track({k: 'v'}), (e) => e.code === 'PIXEL_ERR_QUEUE_FULL');
    assert.equal(await t.flush(50), false);
    await Promise.all([t.close(100), t.close(100)]);
    await t.close(100);
    const s = t.stats();
    assert.equal(s.dropped, 2);
    assert.equal(s.queued + s.inFlight + s.delivered, 0);
    assert.equal(s.in_flight, s.inFlight);  // the deprecated alias
    assert.throws(() => t.track({k: 'v'}), (e) => e.code === 'PIXEL_ERR_SHUT_DOWN');
  } finally {
    hole.close();
  }
});

test('bad events are refused and nothing else is lost', async () => {
  const edge = await startEdge();
  const t = new pixel.Tracker({endpoint: edge.url});
  for (const [params, code] of [[{'': 'v'}, 'PIXEL_ERR_EMPTY_KEY'],
                                [{k: 'x'.repeat(9000)}, 'PIXEL_ERR_URL_TOO_LONG'],
                                [{eid: '1'}, 'PIXEL_ERR_INVALID_ARGUMENT'],
                                ['not params', 'PIXEL_ERR_INVALID_ARGUMENT']]) {
    assert.throws(() => t.track(params), (e) => e.code === code, code);
  }
  assert.throws(() => t.track({k: 'v'}, 'a\r\nb'), (e) => e.code === 'PIXEL_ERR_INVALID_ARGUMENT');
  t.track({k: 'kept'});
  assert.equal(await t.flush(60000), true);
  assert.equal(t.stats().delivered, 1);
  await t.close(5000);
  const records = await edge.stop();
  assert.equal(records.length, 1);
  assert.equal(new Map(records[0].params).get('k'), 'kept');
});

test('delivers 1,000 events to the edge, each reported once', async () => {
  const edge = await startEdge();
  const results = [];
  const t = new pixel.Tracker({
    endpoint: edge.url, queueCapacity: 2000, minInFlight: 2, maxInFlight: 8, connectTimeout: 30000,
    requestTimeout: 60000, maxAttempts: 10, maxAge: 600000, blockTimeout: 5000,
    overflow: 'drop_oldest', shutdownTimeout: 30000, userAgent: 'pixel-node-test/1', caFile: '',
    proxy: '', backoffBase: 50, backoffMax: 2000, retryAfterCap: 10000, outageThreshold: 5,
    probeInterval: 500, eventId: true, timestamp: true, onResult: (r) => results.push(r),
  });
  const returned = new Map();
  for (let i = 0; i < 1000; i++) {
    if (i % 100 === 0) {
      returned.set(String(i), t.track({n: String(i), who: 'browser'}, 'Mozilla/5.0 (t)'));
    } else {
      returned.set(String(i), t.track([['n', String(i)], ['who', 'sdk'], ['text', 'é & ü']]));
    }
  }
  assert.equal(await t.flush(120000), true);
  const s = t.stats();
  await t.close(30000);
  const records = await edge.stop();
  assert.equal(s.delivered, 1000);
  assert.ok(s.concurrencyLimit >= 2 && s.concurrencyLimit <= 8, String(s.concurrencyLimit));
  assert.equal(s.concurrency_limit, s.concurrencyLimit);  // the deprecated alias
  assert.equal(s.failed + s.expired + s.dropped + s.queued + s.inFlight, 0);
  assert.equal(results.length, 1000);
  assert.ok(results.every((r) => r.outcome === 'delivered' && r.httpStatus === 200 &&
                              r.transportError === 'none'));
  const eids = new Set(results.map((r) => r.eventId));
  assert.equal(eids.size, 1000);
  const seen = new Map();
  for (const r of records) {
    const p = new Map(r.params);
    assert.equal(r.ip, '127.0.0.1');
    seen.set(p.get('n'), {ua: r.userAgent, p});
  }
  assert.equal(seen.size, 1000);
  for (let i = 0; i < 1000; i++) {
    const {ua, p} = seen.get(String(i));
    assert.ok(eids.has(p.get('eid')));
    assert.equal(p.get('eid'), returned.get(String(i)));  // track() returned the id sent
    if (i % 100 === 0) {
      assert.deepEqual([ua, p.get('who')], ['Mozilla/5.0 (t)', 'browser']);
    } else {
      assert.deepEqual([ua, p.get('who'), p.get('text')], ['pixel-node-test/1', 'sdk', 'é & ü']);
    }
  }
});

test('two worker threads deliver 500 events, each once', async () => {
  const edge = await startEdge();
  const results = [];
  const t = new pixel.Tracker({
    endpoint: edge.url, workerThreads: 2, maxInFlight: 8, queueCapacity: 1000,
    connectTimeout: 30000, requestTimeout: 60000, onResult: (r) => results.push(r),
  });
  const returned = new Map();  // id -> n
  for (let i = 0; i < 500; i++) returned.set(t.track({n: String(i)}), String(i));
  assert.equal(returned.size, 500);
  assert.equal(await t.flush(120000), true);
  const s = t.stats();
  await t.close(30000);
  const records = await edge.stop();
  assert.equal(s.delivered, 500);
  assert.equal(s.failed + s.expired + s.dropped + s.queued + s.inFlight, 0);
  // Each event reported once, delivered.
  assert.deepEqual(results.map((r) => r.eventId).sort(), [...returned.keys()].sort());
  assert.ok(results.every((r) => r.outcome === 'delivered'));
  // Each event reached the edge once, with its own parameters.
  const received = records.map((r) => {
    const p = new Map(r.params);
    return `${p.get('eid')} ${p.get('n')}`;
  });
  assert.deepEqual(received.sort(), [...returned].map(([id, n]) => `${id} ${n}`).sort());
});

test('a refused connection is reported by transport error name', async () => {
  const port = await new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const {port: p} = srv.address();
      srv.close(() => resolve(p));
    });
  });
  const results = [];
  const t = new pixel.Tracker({endpoint: `http://127.0.0.1:${port}/1x1.png`, maxAttempts: 1,
                               outageThreshold: 0, onResult: (r) => results.push(r)});
  const id = t.track({k: 'v'});
  assert.equal(await t.flush(60000), true);
  await t.close(1000);
  assert.equal(results.length, 1);
  assert.equal(results[0].eventId, id);
  assert.equal(results[0].outcome, 'failed');
  assert.equal(results[0].transportError, 'connect');
  assert.equal(results[0].httpStatus, 0);
});

test('onLog gets the outage notice, on the main thread', {timeout: 60000}, async () => {
  // A port nothing listens on: every connection is refused.
  const port = await new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const {port: p} = srv.address();
      srv.close(() => resolve(p));
    });
  });
  assert.throws(() => new pixel.Tracker({endpoint: 'https://x.example', onLog: 'loud'}),
                /onLog must be a function/);
  const lines = [];
  let said;
  const first = new Promise((resolve) => { said = resolve; });
  const t = new pixel.Tracker({endpoint: `http://127.0.0.1:${port}/1x1.png`, outageThreshold: 2,
                               probeInterval: 50, backoffBase: 10, shutdownTimeout: 0,
                               onLog: (m) => { lines.push(m); said(m); }});
  t.track({k: 'v'});
  // koffi queues a call from the worker thread on the event loop, which must stay alive
  // to run it: nothing else here holds it while the line is awaited.
  const keepAlive = setInterval(() => {}, 1000);
  const line = await first;
  clearInterval(keepAlive);
  await t.close(0);
  assert.ok(line.startsWith(
      `endpoint unreachable: connect (Failed to connect to 127.0.0.1 port ${port} `), line);
  assert.ok(line.endsWith('; events wait (one probe every 50 ms, until retry.max_age)'), line);
  assert.deepEqual(lines, [line]);
  assert.equal(t.stats().dropped, 1);
});

test('eid and ts can be switched off', async () => {
  const edge = await startEdge();
  const t = new pixel.Tracker({endpoint: edge.url, eventId: false, timestamp: false});
  t.track({only: 'this'});
  assert.equal(await t.flush(60000), true);
  await t.close(5000);
  const records = await edge.stop();
  assert.deepEqual(records.map((r) => r.params), [[['only', 'this']]]);
});

// A script that tracks and ends without close(): run as its own process, as a user's would.
function runScript(body, endpoint) {
  const script = `const pixel = require(${JSON.stringify(require.resolve('..'))});\n${body}`;
  const child = spawn(process.execPath, ['-e', script, endpoint],
                      {stdio: ['ignore', 'pipe', 'pipe']});
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  return new Promise((resolve) => child.on('exit', (code) => resolve({code, stdout, stderr})));
}

test('a script that never calls close() still delivers every event at exit', async () => {
  const edge = await startEdge();
  const run = await runScript(`
    const t = new pixel.Tracker({endpoint: process.argv[1]});
    for (let i = 0; i < 500; ++i) t.track({n: String(i)});
  `, edge.url);
  const records = await edge.stop();
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stderr, '');
  const seen = new Set(records.map((r) => new Map(r.params).get('n')));
  assert.equal(records.length, 500);
  assert.equal(seen.size, 500);
});

test('what cannot be delivered by exit is reported: onResult, or a warning', async () => {
  const hole = await blackhole();
  try {
    // Without onResult: one process warning with the count.
    const quiet = await runScript(`
      const t = new pixel.Tracker({endpoint: process.argv[1], shutdownTimeout: 200});
      for (let i = 0; i < 3; ++i) t.track({n: String(i)});
    `, hole.url);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.match(quiet.stderr, /PIXEL_UNDELIVERED_AT_EXIT/);
    assert.match(quiet.stderr, /3 tracked events were not delivered/);
    // With onResult: each event's 'dropped' outcome, and no warning.
    const told = await runScript(`
      const t = new pixel.Tracker({endpoint: process.argv[1], shutdownTimeout: 200,
                                   onResult: (r) => console.log(r.eventId, r.outcome)});
      for (let i = 0; i < 3; ++i) console.log('tracked', t.track({n: String(i)}));
    `, hole.url);
    assert.equal(told.code, 0, told.stderr);
    assert.equal(told.stderr, '');
    const lines = told.stdout.trim().split('\n');
    const tracked = lines.filter((l) => l.startsWith('tracked ')).map((l) => l.split(' ')[1]);
    const dropped = lines.filter((l) => l.endsWith(' dropped')).map((l) => l.split(' ')[0]);
    assert.equal(tracked.length, 3);
    assert.deepEqual([...dropped].sort(), [...tracked].sort());
  } finally {
    hole.close();
  }
});
