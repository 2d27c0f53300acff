// Open classification in Athena: the rules of src/log/opens_rules.json (the same file
// `pixel opens` is built from) as SQL over the events table, with the campaign manifests
// (manifest.jsonl) as a second table.
// SPDX-License-Identifier: MIT
import * as fs from 'fs';
import * as path from 'path';

import { columnName } from './fields';
import { NamedQuery, WINDOW_DAYS } from './queries';

export const RULES_PATH = path.resolve(__dirname, '..', '..', 'src', 'log', 'opens_rules.json');

/** Manifests (manifest.jsonl files) go under this prefix of the data bucket. */
export const MANIFEST_PREFIX = 'manifests/';
/** The Glue table over the manifests, and the view of classified hits. */
export const MANIFEST_TABLE = 'manifests';
export const OPENS_VIEW = 'opens_hits';

export interface OpensRule {
  readonly client?: string;
  readonly step?: 'machine_ranges';
  readonly human: boolean;
  readonly source: string;
  readonly user_agent_equals?: string[];
  readonly user_agent_contains_all?: string[];
  readonly user_agent_contains_any?: string[];
  readonly user_agent_contains_any_nocase?: string[];
  readonly seconds_after_sent_below?: 'scanner_window';
  readonly always?: boolean;
}

export interface OpensRules {
  readonly version: string;
  readonly scanner_window_default: number;
  readonly rules: OpensRule[];
}

export function loadOpensRules(file: string = RULES_PATH): OpensRules {
  const r = JSON.parse(fs.readFileSync(file, 'utf8')) as OpensRules;
  if (typeof r.version !== 'string' || !Array.isArray(r.rules) || typeof r.scanner_window_default !== 'number') {
    throw new Error(`${file}: not an open rules file (version, scanner_window_default, rules)`);
  }
  return r;
}

/** A SQL string literal. */
export function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/**
 * The CASE expression naming a hit's client. `ua` is the user agent with the log escaping
 * undone, `since` the seconds from the message's `sent` (NULL without a manifest row).
 * The machine-ranges step needs the user's file, which Athena does not have: it is left out
 * (a comment says so) and such hits fall through to the next rule.
 */
export function clientCase(rules: OpensRules, ua: string, since: string, window: number = rules.scanner_window_default): string {
  const whens: string[] = [];
  for (const r of rules.rules) {
    if (r.step === 'machine_ranges') {
      whens.push('  -- machine_ranges: the user\'s CIDR file is not in Athena (pixel opens --machine-ranges)');
      continue;
    }
    const client = sqlString(r.client as string);
    if (r.always) {
      whens.push(`  ELSE ${client}`);
      continue;
    }
    const tests: string[] = [];
    for (const v of r.user_agent_equals ?? []) {
      tests.push(v === '' ? `coalesce(${ua}, '') = ''` : `${ua} = ${sqlString(v)}`);
    }
    if (r.user_agent_contains_all?.length) {
      tests.push('(' + r.user_agent_contains_all.map((v) => `strpos(${ua}, ${sqlString(v)}) > 0`).join(' AND ') + ')');
    }
    for (const v of r.user_agent_contains_any ?? []) tests.push(`strpos(${ua}, ${sqlString(v)}) > 0`);
    for (const v of r.user_agent_contains_any_nocase ?? []) {
      tests.push(`strpos(lower(${ua}), ${sqlString(v.toLowerCase())}) > 0`);
    }
    if (r.seconds_after_sent_below === 'scanner_window') tests.push(`${since} < ${window}`);
    if (tests.length === 0) throw new Error(`open rule ${r.client}: nothing to test`);
    whens.push(`  WHEN ${tests.join('\n    OR ')}\n    THEN ${client}`);
  }
  if (!whens.some((w) => w.startsWith('  ELSE'))) whens.push("  ELSE 'human'");
  return `CASE\n${whens.join('\n')}\nEND`;
}

/** The clients whose hits are human opens. */
export function humanClients(rules: OpensRules): string[] {
  return rules.rules.filter((r) => r.human && r.client).map((r) => r.client as string);
}

/**
 * SELECT of every hit with its message, client and whether it is a human open, from the
 * events table joined to the manifests on the event id. `where` filters the events.
 */
export function classifiedHits(rules: OpensRules, database: string, table: string, where: string[]): string {
  const events = `"${database}"."${table}"`;
  const manifests = `"${database}"."${MANIFEST_TABLE}"`;
  const query = columnName('cs-uri-query');
  // CloudFront's log escaping never writes '+', so url_decode must not turn one into a space.
  const ua = `url_decode(replace(e.${columnName('cs-user-agent')}, '+', '%2B'))`;
  const eid = `url_decode(regexp_extract('&' || url_decode(e.${query}), '&eid=([^&]*)', 1))`;
  const status = columnName('sc-status');
  const humans = humanClients(rules).map(sqlString).join(', ');
  const since = 'r."timestamp" - m.sent';
  return (
    `WITH raw AS (\n  SELECT e."timestamp", ${ua} AS user_agent, ${eid} AS eid,\n` +
    `    e.${status} BETWEEN 200 AND 399 AS delivered\n  FROM ${events} e\n` +
    (where.length ? `  WHERE ${where.join('\n    AND ')}\n` : '') +
    `),\njoined AS (\n  SELECT m.campaign, r.eid, m.recipient, m.sent, r."timestamp", r.user_agent, r.delivered,\n` +
    `    ${clientCase(rules, 'r.user_agent', since).replace(/\n/g, '\n    ')} AS client\n` +
    `  FROM raw r\n  LEFT JOIN ${manifests} m ON m.eid = r.eid\n)\n` +
    `SELECT joined.*, client IN (${humans}) AS human\nFROM joined`
  );
}

/** The view (run once), then the named queries: per-message verdicts and campaign summaries. */
export function opensQueries(rules: OpensRules, database: string, table: string, fields: ReadonlySet<string>): NamedQuery[] {
  for (const f of ['timestamp', 'sc-status', 'cs-user-agent', 'cs-uri-query']) {
    if (!fields.has(f)) return [];
  }
  const window = [
    `concat(year, month, day, hour) >= date_format(current_timestamp - INTERVAL '${WINDOW_DAYS}' DAY - INTERVAL '1' HOUR, '%Y%m%d%H')`,
    `"timestamp" >= to_unixtime(current_timestamp - INTERVAL '${WINDOW_DAYS}' DAY)`,
  ];
  const view = `"${database}"."${OPENS_VIEW}"`;
  const messages =
    `WITH hits AS (\n${classifiedHits(rules, database, table, window)}\n),\n` +
    `messages AS (\n  SELECT m.campaign, m.eid, m.recipient, m.sent,\n` +
    `    min(CASE WHEN h.delivered AND h.human THEN h."timestamp" END) AS first_open,\n` +
    `    count_if(h.delivered) AS hits,\n    count_if(NOT h.delivered) AS failed_hits\n` +
    `  FROM "${database}"."${MANIFEST_TABLE}" m\n  LEFT JOIN hits h ON h.eid = m.eid\n` +
    // A message sent with tracking off has no pixel (eid null): it cannot be opened.
    `  WHERE m.eid IS NOT NULL\n` +
    `  GROUP BY m.campaign, m.eid, m.recipient, m.sent\n)\n`;
  const verdict =
    "CASE WHEN first_open IS NOT NULL THEN 'opened' WHEN hits > 0 THEN 'machine_only' ELSE 'not_opened' END";
  return [
    {
      id: 'OpensView',
      name: 'pixel: create the opens view',
      description: `Run once: the view ${OPENS_VIEW}, every hit with its campaign and client by the open rules ` +
        `(version ${rules.version}, scanner window ${rules.scanner_window_default} s)`,
      sql: `CREATE OR REPLACE VIEW ${view} AS\n${classifiedHits(rules, database, table, [])}`,
    },
    {
      id: 'OpensPerMessage',
      name: 'pixel: opens per message',
      description: `Verdict per message (opened, machine_only, not_opened), as pixel opens prints it, over the last ${WINDOW_DAYS} days`,
      sql: messages +
        `SELECT campaign, eid, recipient, ${verdict} AS verdict, first_open, hits, failed_hits\n` +
        'FROM messages\nORDER BY campaign, eid',
    },
    {
      id: 'OpensSummary',
      name: 'pixel: opens summary per campaign',
      description: `Per campaign, as pixel opens --summary: sent, opened, machine_only, not_opened, open_rate, ` +
        `median time to open (rules ${rules.version})`,
      sql: messages +
        `, ranked AS (\n  SELECT campaign, first_open - sent AS tto,\n` +
        `    row_number() OVER (PARTITION BY campaign ORDER BY first_open - sent) AS rn,\n` +
        `    count(*) OVER (PARTITION BY campaign) AS n\n  FROM messages WHERE first_open IS NOT NULL\n),\n` +
        `medians AS (\n  SELECT campaign, avg(tto) AS median_time_to_open FROM ranked\n` +
        `  WHERE rn IN ((n + 1) / 2, (n + 2) / 2) GROUP BY campaign\n)\n` +
        `SELECT s.campaign, s.sent, s.opened, s.machine_only, s.not_opened,\n` +
        `  CAST(s.opened AS double) / s.sent AS open_rate, md.median_time_to_open, s.failed_hits\n` +
        `FROM (\n  SELECT campaign, count(*) AS sent,\n` +
        `    count_if(first_open IS NOT NULL) AS opened,\n` +
        `    count_if(first_open IS NULL AND hits > 0) AS machine_only,\n` +
        `    count_if(hits = 0) AS not_opened, sum(failed_hits) AS failed_hits\n` +
        `  FROM messages GROUP BY campaign\n) s\nLEFT JOIN medians md ON md.campaign = s.campaign\n` +
        'ORDER BY s.campaign',
    },
    {
      id: 'OpensMachineHits',
      name: 'pixel: machine hits per campaign and kind',
      description: `Machine hits per campaign and client (apple_mpp, gmail_prefetch, bot, scanner), as pixel opens --summary's machine_hits`,
      sql: `WITH hits AS (\n${classifiedHits(rules, database, table, window)}\n)\n` +
        'SELECT campaign, client, count(*) AS hits\nFROM hits\n' +
        'WHERE delivered AND NOT human AND campaign IS NOT NULL\nGROUP BY campaign, client\nORDER BY campaign, hits DESC',
    },
  ];
}
