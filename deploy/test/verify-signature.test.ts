// functions/verify-signature.js, the file CloudFront runs, run here under node with a small
// stand-in for the `cloudfront` module (its KeyValueStore) and node's crypto. It must accept
// the vectors Python computed (tests/url/vectors/signature.json) and URLs signed by `pixel
// url`, refuse tampered, expired, unsigned and unknown-key hits with 403, answer as `pixel
// edge --verify-key` does, and lose no valid hit while keys rotate. PIXEL_BIN names the
// built `pixel`.
// SPDX-License-Identifier: MIT
import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';

import { VERIFY_FUNCTION_FILE } from '../lib/pixel-stack';
import { synth, resources } from './support';

const PIXEL_BIN = process.env.PIXEL_BIN ?? '';
const SOURCE = fs.readFileSync(VERIFY_FUNCTION_FILE, 'utf8');
const VECTORS = JSON.parse(fs.readFileSync(
  path.join(__dirname, '..', '..', 'tests', 'url', 'vectors', 'signature.json'), 'utf8'));

type Store = Map<string, string>;
type Handler = (event: unknown) => Promise<any>;

/** The function's handler, with `cloudfront` backed by `store` (kid -> base64 key). */
function load(store: Store): Handler {
  const modules: Record<string, unknown> = {
    cloudfront: {
      kvs: () => ({
        async get(key: string) {
          if (!store.has(key)) throw new Error(`KeyValueStore: key ${key} not found`);
          return store.get(key);
        },
      }),
    },
    crypto,
  };
  // The two imports become bindings to the stand-ins; the rest runs as CloudFront runs it.
  const body = SOURCE.replace(/^import (\w+) from '(\w+)';$/gm,
    (_m, name: string, mod: string) => `const ${name} = __modules[${JSON.stringify(mod)}];`);
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function('__modules', 'Buffer', `${body}\nreturn handler;`)(modules, Buffer) as Handler;
}

/**
 * The viewer-request event CloudFront builds for `target` (path?query): values raw, as sent,
 * or decoded; repeated names collapse into multiValue; order is not kept (reversed here).
 */
function eventFor(target: string, decoded = false) {
  const q = target.indexOf('?');
  const uri = q < 0 ? target : target.slice(0, q);
  const querystring: Record<string, { value: string; multiValue?: { value: string }[] }> = {};
  const parts = q < 0 ? [] : target.slice(q + 1).split('&').filter((p) => p !== '').reverse();
  for (const part of parts) {
    const eq = part.indexOf('=');
    let [k, v] = eq < 0 ? [part, ''] : [part.slice(0, eq), part.slice(eq + 1)];
    if (decoded) [k, v] = [decodeURIComponent(k), decodeURIComponent(v)];
    const e = querystring[k];
    if (!e) {
      querystring[k] = { value: v };
    } else {
      e.multiValue = e.multiValue ?? [{ value: e.value }];
      e.multiValue.push({ value: v });
    }
  }
  return {
    version: '1.0',
    context: { eventType: 'viewer-request' },
    viewer: { ip: '192.0.2.1' },
    request: { method: 'GET', uri, querystring, headers: {}, cookies: {} },
  };
}

const targetOf = (url: string) => url.slice(url.indexOf('/', url.indexOf('://') + 3));

async function status(handler: Handler, target: string, decoded = false): Promise<number> {
  const out = await handler(eventFor(target, decoded));
  if (out && out.statusCode !== undefined) return out.statusCode;
  expect(out.uri).toBe(target.split('?')[0]);  // the request itself: let through unchanged
  return 200;
}

function vectorStore(): Store {
  const store: Store = new Map();
  for (const v of VECTORS.vectors) store.set(v.kid, v.key);
  return store;
}

/** Tampered forms of a signed target: one byte of any value, pairs added or removed, exp. */
function tampered(target: string): string[] {
  const out: string[] = [];
  const q = target.indexOf('?');
  for (let i = q + 1; i < target.length; i++) {
    const eq = target.lastIndexOf('=', i);
    const amp = target.lastIndexOf('&', i);
    if (eq < 0 || amp > eq || target[i] === '=' || target[i] === '&') continue;
    const c = target[i] === 'x' ? 'y' : 'x';
    out.push(target.slice(0, i) + c + target.slice(i + 1));
  }
  out.push(`${target}&extra=1`);
  const first = target.slice(q + 1).split('&')[0];
  out.push(target.replace(`${first}&`, ''));  // the first pair removed
  out.push(target.replace(/exp=(\d+)/, (_m, d: string) => `exp=${Number(d) + 1}`));
  out.push(target.replace(/&sig=[^&]*/, ''));
  out.push(`${target}&sig=${target.split('&sig=')[1]}`);  // sig twice
  return out;
}

describe('functions/verify-signature.js fits CloudFront Functions', () => {
  test('cloudfront-js-2.0 shape, under the 10 KB limit, nothing but cloudfront and crypto', () => {
    expect(Buffer.byteLength(SOURCE)).toBeLessThan(10 * 1024);
    expect(SOURCE).toMatch(/^async function handler\(event\) \{$/m);
    expect(SOURCE).not.toMatch(/\bexport\b|\brequire\(|\bfetch\(|\bprocess\./);
    const imports = [...SOURCE.matchAll(/^import .* from '(\w+)';$/gm)].map((m) => m[1]);
    expect(imports.sort()).toEqual(['cloudfront', 'crypto']);
    expect(SOURCE).toContain('cf.kvs()');
    expect(SOURCE).toContain("crypto.createHmac('sha256'");
  });
});

describe('the function verifies pixel-sig-v1', () => {
  const realNow = Date.now;
  afterEach(() => { Date.now = realNow; });

  test('accepts every vector, with raw or decoded query values, and refuses every tampering', async () => {
    const handler = load(vectorStore());
    expect(VECTORS.vectors.length).toBeGreaterThanOrEqual(5);
    for (const v of VECTORS.vectors) {
      const target = targetOf(v.url);
      expect(await status(handler, target)).toBe(200);
      expect(await status(handler, target, true)).toBe(200);
      for (const t of tampered(target)) {
        expect([t, await status(handler, t)]).toEqual([t, 403]);
      }
    }
  });

  test('refuses expired, unsigned and unknown-key hits', async () => {
    const handler = load(vectorStore());
    const v = VECTORS.vectors[0];
    const target = targetOf(v.url);
    Date.now = () => (v.exp + 300) * 1000;
    expect(await status(handler, target)).toBe(200);  // within the leeway
    Date.now = () => (v.exp + 301) * 1000;
    expect(await status(handler, target)).toBe(403);
    Date.now = realNow;
    expect(await status(handler, '/1x1.png?userid=aws_user')).toBe(403);
    expect(await status(handler, '/1x1.png')).toBe(403);
    expect(await status(load(new Map()), target)).toBe(403);
    expect(await status(handler, target.replace('kid=k2026a', 'kid=nobody'))).toBe(403);
  });
});

describe('the function and the library agree (PIXEL_BIN)', () => {
  let edge: ChildProcess | undefined;
  let dir = '';
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pixel-verify-fn-')); });
  afterEach(async () => {
    const running = edge;
    if (running && running.exitCode === null && running.signalCode === null) {
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGTERM');
      await exited;
    }
    edge = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function keyFile(kid: string, b64: string): string {
    const file = path.join(dir, `${kid}.key`);
    fs.writeFileSync(file, `${b64}\n`, { mode: 0o600 });
    return `${kid}:${file}`;
  }
  function pixelUrl(spec: string, n: number): string {
    return execFileSync(PIXEL_BIN, ['url', '--endpoint', 'https://d111111abcdef8.cloudfront.net',
      '--sign-key', spec, '--ttl', '3600', `userid=u${n}`, 'campaign=spring sale'],
    { encoding: 'utf8' }).trim();
  }

  test('pixel edge --verify-key answers every target as the function does', async () => {
    expect(PIXEL_BIN).not.toBe('');
    const handler = load(vectorStore());
    const args = ['edge', '--listen', '127.0.0.1:0', '--out', path.join(dir, 'out')];
    for (const [kid, key] of vectorStore()) args.push('--verify-key', keyFile(kid, key));
    let stdout = '';
    edge = spawn(PIXEL_BIN, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    edge.stdout!.on('data', (d: Buffer) => { stdout += d.toString('utf8'); });
    const deadline = Date.now() + 10000;
    while (!/^listening on (\S+)\n/.test(stdout)) {
      if (Date.now() > deadline) throw new Error('the edge did not start');
      await new Promise((r) => setTimeout(r, 20));
    }
    const base = /^listening on (\S+)\n/.exec(stdout)![1];
    const get = (target: string) => new Promise<number>((resolve, reject) => {
      http.get(base + target, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)); })
        .on('error', reject);
    });
    let compared = 0;
    for (const v of VECTORS.vectors) {
      const target = targetOf(v.url);
      if (!target.startsWith('/1x1.png?')) continue;  // the edge serves /1x1.png only
      for (const t of [target, ...tampered(target)]) {
        expect([t, await get(t)]).toEqual([t, await status(handler, t)]);
        ++compared;
      }
    }
    expect(compared).toBeGreaterThan(100);
  });

  test('a campaign opened while the producer rotates keys loses no valid hit', async () => {
    expect(PIXEL_BIN).not.toBe('');
    const oldKey = crypto.randomBytes(32).toString('base64');
    const newKey = crypto.randomBytes(32).toString('base64url');  // either form works
    const oldSpec = keyFile('old', oldKey);
    const newSpec = keyFile('new', newKey);
    const store: Store = new Map([['old', oldKey]]);
    const handler = load(store);  // one function instance; the store changes under it
    const sent: string[] = [];
    let valid = 0;
    const openAll = async () => {
      for (const url of sent) {
        expect([url, await status(handler, targetOf(url))]).toEqual([url, 200]);
        ++valid;
      }
    };
    for (let i = 0; i < 5; i++) sent.push(pixelUrl(oldSpec, sent.length));
    await openAll();
    store.set('new', newKey);  // 1: the store learns the new key
    await openAll();
    for (let i = 0; i < 5; i++) sent.push(pixelUrl(newSpec, sent.length));  // 2: producers switch
    await openAll();
    expect(valid).toBe(5 + 5 + 10);
    store.delete('old');  // 3: after the longest lifetime, the old key goes
    for (const [i, url] of sent.entries()) {
      expect(await status(handler, targetOf(url))).toBe(i < 5 ? 403 : 200);
    }
  });
});

describe('the stack with signing', () => {
  test("'off' (the default) adds no function and no store", () => {
    const { json } = synth();
    expect(resources(json, 'AWS::CloudFront::Function')).toHaveLength(0);
    expect(resources(json, 'AWS::CloudFront::KeyValueStore')).toHaveLength(0);
  });

  test("'enforce' associates the function (viewer request) with the pixel behaviour and its store", () => {
    const { json } = synth({ signing: 'enforce' });
    const stores = resources(json, 'AWS::CloudFront::KeyValueStore');
    const fns = resources(json, 'AWS::CloudFront::Function');
    expect(stores).toHaveLength(1);
    expect(fns).toHaveLength(1);
    const [fnId, fn] = fns[0];
    expect(fn.Properties.FunctionConfig.Runtime).toBe('cloudfront-js-2.0');
    expect(fn.Properties.FunctionCode).toBe(SOURCE);
    expect(fn.Properties.AutoPublish).toBe(true);
    expect(JSON.stringify(fn.Properties.FunctionConfig.KeyValueStoreAssociations))
      .toContain(stores[0][0]);
    const [, dist] = resources(json, 'AWS::CloudFront::Distribution')[0];
    const config = dist.Properties.DistributionConfig;
    const pixel = config.CacheBehaviors.find((b: any) => b.PathPattern === '/1x1.png');
    expect(pixel.FunctionAssociations).toEqual([
      { EventType: 'viewer-request', FunctionARN: { 'Fn::GetAtt': [fnId, 'FunctionARN'] } },
    ]);
    expect(config.DefaultCacheBehavior.FunctionAssociations).toBeUndefined();
    expect(json.Outputs.SigningKeysArn).toBeDefined();
  });

  test('an unknown signing mode is refused', () => {
    expect(() => synth({ signing: 'strict' as any })).toThrow(/signing must be 'off' or 'enforce'/);
  });
});
