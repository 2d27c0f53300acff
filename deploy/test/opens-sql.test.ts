// The open classification in Athena SQL: generated from src/log/opens_rules.json (the file
// `pixel opens` is built from), every rule present in the file's order, and the manifest
// table and named queries in the stack.
// SPDX-License-Identifier: MIT
import { clientCase, loadOpensRules, MANIFEST_PREFIX, opensQueries, sqlString } from '../lib/opens';
import { resources, synth } from './support';

const rules = loadOpensRules();
const fields = new Set(['timestamp', 'c-ip', 'sc-status', 'cs-user-agent', 'cs-uri-query']);

describe('the CASE expression', () => {
  const sql = clientCase(rules, 'ua', 'since');

  test('every rule of the file, in its order, with each of its strings', () => {
    let at = 0;
    for (const r of rules.rules) {
      const key = r.step === 'machine_ranges' ? '-- machine_ranges' : r.always ? `ELSE '${r.client}'` : `THEN '${r.client}'`;
      const pos = sql.indexOf(key, at);
      expect([r.client ?? r.step, pos]).not.toEqual([r.client ?? r.step, -1]);
      at = pos;
    }
    const strings = rules.rules.flatMap((r) => [
      ...(r.user_agent_equals ?? []), ...(r.user_agent_contains_all ?? []),
      ...(r.user_agent_contains_any ?? []), ...(r.user_agent_contains_any_nocase ?? []),
    ]);
    expect(strings.length).toBeGreaterThan(10);
    for (const s of strings.filter((x) => x !== '')) expect(sql).toContain(sqlString(s));
  });

  test('the rules as stated', () => {
    expect(sql).toContain("WHEN ua = 'Mozilla/5.0'\n    THEN 'apple_mpp'");
    expect(sql).toContain("(strpos(ua, 'Chrome/42.0.2311.135') > 0 AND strpos(ua, 'Edge/12.246') > 0)\n    THEN 'gmail_prefetch'");
    expect(sql).toContain("WHEN strpos(ua, 'GoogleImageProxy') > 0\n    THEN 'gmail_proxy'");
    expect(sql).toContain("WHEN strpos(ua, 'YahooMailProxy') > 0\n    THEN 'yahoo_proxy'");
    for (const w of ['bot', 'crawler', 'spider', 'curl/', 'wget/', 'python-requests', 'go-http-client', 'headlesschrome']) {
      expect(sql).toContain(`strpos(lower(ua), '${w}') > 0`);
    }
    expect(sql).toContain("coalesce(ua, '') = ''");
    expect(sql).toContain("ua = '-'");
    expect(sql).toContain(`WHEN since < ${rules.scanner_window_default}\n    THEN 'scanner'`);
    expect(sql.trim().endsWith("ELSE 'human'\nEND")).toBe(true);
    expect(clientCase(rules, 'ua', 'since', 30)).toContain("WHEN since < 30\n    THEN 'scanner'");
  });

  test('quotes in a rule are SQL-escaped', () => {
    const tricky = { ...rules, rules: [{ client: "o'k", human: false, source: 's', user_agent_contains_any: ["it's"] }] };
    expect(clientCase(tricky, 'ua', 'since')).toContain("strpos(ua, 'it''s') > 0\n    THEN 'o''k'");
  });
});

describe('named queries', () => {
  const queries = opensQueries(rules, 'pixel', 'events', fields);
  const by = (id: string) => queries.find((q) => q.id === id)!;

  test('a view, per-message verdicts, the summary and machine hits', () => {
    expect(queries.map((q) => q.id)).toEqual(['OpensView', 'OpensPerMessage', 'OpensSummary', 'OpensMachineHits']);
    expect(by('OpensView').sql).toMatch(/^CREATE OR REPLACE VIEW "pixel"."opens_hits" AS\n/);
    for (const q of queries) {
      expect(q.sql).toContain('"pixel"."events" e');
      expect(q.sql).toContain('LEFT JOIN "pixel"."manifests" m ON m.eid = r.eid');
      expect(q.sql).toContain("url_decode(replace(e.cs_user_agent, '+', '%2B'))");
      expect(q.sql).toContain("client IN ('gmail_proxy', 'yahoo_proxy', 'human') AS human");
      expect(q.sql).toContain('r."timestamp" - m.sent < 2');
    }
    expect(by('OpensPerMessage').sql).toContain(
      "CASE WHEN first_open IS NOT NULL THEN 'opened' WHEN hits > 0 THEN 'machine_only' ELSE 'not_opened' END AS verdict");
    const summary = by('OpensSummary').sql;
    for (const col of ['sent', 'opened', 'machine_only', 'not_opened', 'open_rate', 'median_time_to_open', 'failed_hits']) {
      expect(summary).toMatch(new RegExp(`\\b${col}\\b`));
    }
    expect(summary).toContain('WHERE rn IN ((n + 1) / 2, (n + 2) / 2)');  // the exact median
    expect(summary).toContain('e.sc_status BETWEEN 200 AND 399 AS delivered');
    expect(by('OpensMachineHits').sql).toContain('WHERE delivered AND NOT human');
    expect(by('OpensSummary').description).toContain(rules.version);
  });

  test('none without the fields they need', () => {
    expect(opensQueries(rules, 'pixel', 'events', new Set(['timestamp', 'cs-uri-query']))).toEqual([]);
  });
});

describe('the stack', () => {
  const { json } = synth({});

  test('the manifest table under its own prefix', () => {
    const tables = resources(json, 'AWS::Glue::Table').map(([, t]) => t.Properties.TableInput);
    const m = tables.find((t: any) => t.Name === 'manifests');
    expect(m.StorageDescriptor.Columns).toEqual([
      { Name: 'campaign', Type: 'string' }, { Name: 'eid', Type: 'string' },
      { Name: 'recipient', Type: 'string' }, { Name: 'sent', Type: 'double' },
      { Name: 'mode', Type: 'string' },
    ]);
    expect(m.StorageDescriptor.SerdeInfo.SerializationLibrary).toBe('org.openx.data.jsonserde.JsonSerDe');
    expect(JSON.stringify(m.StorageDescriptor.Location)).toContain(`/${MANIFEST_PREFIX}`);
  });

  test('the open queries are named queries of the workgroup', () => {
    const names = resources(json, 'AWS::Athena::NamedQuery').map(([, q]) => q.Properties.Name);
    for (const n of ['pixel: create the opens view', 'pixel: opens per message', 'pixel: opens summary per campaign',
      'pixel: machine hits per campaign and kind']) {
      expect(names).toContain(n);
    }
  });
});
