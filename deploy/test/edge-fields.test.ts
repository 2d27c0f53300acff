// `pixel edge` with no --fields writes exactly the fields the stack deploys, and `pixel logs`
// with no --fields reads such a record. PIXEL_BIN names the built `pixel` (scripts/test.sh
// sets it); without it this test fails.
// SPDX-License-Identifier: MIT
import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';

import { synth } from './support';

const PIXEL_BIN = process.env.PIXEL_BIN ?? '';

function waitFor<T>(what: string, ms: number, poll: () => T | undefined): Promise<T> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = () => {
      const v = poll();
      if (v !== undefined) return resolve(v);
      if (Date.now() > deadline) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 20);
    };
    tick();
  });
}

function get(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get(url, { headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    }).on('error', reject);
  });
}

describe('the local edge and the reader default to the stack field list', () => {
  let edge: ChildProcess | undefined;
  let dir = '';
  afterEach(async () => {
    // The edge flushes its files as it exits: remove the directory only once it has.
    const running = edge;
    if (running && running.exitCode === null && running.signalCode === null) {
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGTERM');
      await exited;
    }
    edge = undefined;
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('PIXEL_BIN is set to an executable pixel', () => {
    expect(PIXEL_BIN).not.toBe('');
    fs.accessSync(PIXEL_BIN, fs.constants.X_OK);
  });

  test('pixel edge writes the stack fields, pixel logs reads them back', async () => {
    if (!PIXEL_BIN) throw new Error('PIXEL_BIN is not set: run through scripts/test.sh or set it');
    const fields = synth().json.Resources;
    const [config] = Object.values(fields).filter((r: any) => r.Type === 'AWS::CloudFront::RealtimeLogConfig') as any[];
    const stackFields: string[] = config.Properties.Fields;

    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pixel-edge-fields-'));
    let stdout = '';
    edge = spawn(PIXEL_BIN, ['edge', '--listen', '127.0.0.1:0', '--out', path.join(dir, 'out'), '--stdout'],
      { stdio: ['ignore', 'pipe', 'inherit'] });
    edge.stdout!.on('data', (d: Buffer) => { stdout += d.toString('utf8'); });
    const base = await waitFor('the edge to listen', 10000,
      () => /^listening on (\S+)\n/.exec(stdout)?.[1]);
    const status = await get(`${base.replace(/\/$/, '')}/1x1.png?campaign=spring&eid=01KB3ZQ2M5V6S8W1X4Y7Z9A0BC`, {
      'User-Agent': 'edge-fields test', Referer: 'https://example.com/page',
    });
    expect(status).toBe(200);
    const record = await waitFor('the log record', 10000, () => {
      const lines = stdout.split('\n');
      return lines.length > 2 ? lines[1] : undefined;
    });
    const values = record.split('\t');
    expect(values).toHaveLength(stackFields.length);
    const value = (f: string) => values[stackFields.indexOf(f)];
    expect(value('cs-uri-query')).toBe('campaign=spring&eid=01KB3ZQ2M5V6S8W1X4Y7Z9A0BC');
    expect(value('c-ip')).toBe('127.0.0.1');
    if (stackFields.includes('sc-status')) expect(value('sc-status')).toBe('200');
    if (stackFields.includes('cs-referer')) expect(value('cs-referer')).toBe('https://example.com/page');
    expect(Number(value('timestamp'))).toBeGreaterThan(1.7e9);

    const file = path.join(dir, 'record.tsv');
    fs.writeFileSync(file, record + '\n');
    const out = execFileSync(PIXEL_BIN, ['logs', '--format', 'jsonl', file], { encoding: 'utf8' });
    const rows = out.trim().split('\n').map((l) => JSON.parse(l));
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows[0])).toContain('spring');
    expect(JSON.stringify(rows[0])).toContain('01KB3ZQ2M5V6S8W1X4Y7Z9A0BC');
  });

  test('pixel edge --no-client-ip writes the fields of logClientIp: false, without the address', async () => {
    if (!PIXEL_BIN) throw new Error('PIXEL_BIN is not set: run through scripts/test.sh or set it');
    const [config] = Object.values(synth({ logClientIp: false }).json.Resources)
      .filter((r: any) => r.Type === 'AWS::CloudFront::RealtimeLogConfig') as any[];
    const stackFields: string[] = config.Properties.Fields;
    expect(stackFields).not.toContain('c-ip');

    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pixel-edge-fields-'));
    let stdout = '';
    edge = spawn(PIXEL_BIN, ['edge', '--listen', '127.0.0.1:0', '--no-client-ip', '--asn', '64500',
      '--out', path.join(dir, 'out'), '--stdout'], { stdio: ['ignore', 'pipe', 'inherit'] });
    edge.stdout!.on('data', (d: Buffer) => { stdout += d.toString('utf8'); });
    const base = await waitFor('the edge to listen', 10000,
      () => /^listening on (\S+)\n/.exec(stdout)?.[1]);
    expect(await get(`${base.replace(/\/$/, '')}/1x1.png?eid=E1`, { 'User-Agent': 'no-ip test' })).toBe(200);
    const record = await waitFor('the log record', 10000, () => {
      const lines = stdout.split('\n');
      return lines.length > 2 ? lines[1] : undefined;
    });
    const values = record.split('\t');
    expect(values).toHaveLength(stackFields.length);
    expect(record).not.toContain('127.0.0.1');
    expect(values[stackFields.indexOf('cs-uri-query')]).toBe('eid=E1');
    expect(values[stackFields.indexOf('asn')]).toBe('64500');

    const file = path.join(dir, 'record.tsv');
    fs.writeFileSync(file, record + '\n');
    const out = execFileSync(PIXEL_BIN, ['logs', '--format', 'jsonl', '--fields', stackFields.join(','), file],
      { encoding: 'utf8' });
    const rows = out.trim().split('\n').map((l) => JSON.parse(l));
    expect(rows).toHaveLength(1);
    expect(rows[0].params.eid).toBe('E1');
    expect(rows[0]).not.toHaveProperty('c_ip');
  });
});
