// Named Athena queries for the questions users ask of the pixel events.
// SPDX-License-Identifier: MIT
import { columnName } from './fields';

export interface NamedQuery {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly sql: string;
}

/** Days the named queries look back. */
export const WINDOW_DAYS = 7;

/**
 * The queries that the field list can answer. Firehose files objects by arrival time, so the
 * partition filter starts one hour before the window and the window itself is on `timestamp`.
 * A query parameter is read as CloudFront logged it: undo the log escaping once
 * (url_decode), cut out `&key=value`, then percent-decode the value.
 */
export function namedQueries(database: string, table: string, fields: ReadonlySet<string>): NamedQuery[] {
  const from = `"${database}"."${table}"`;
  const where = [
    `concat(year, month, day, hour) >= date_format(current_timestamp - INTERVAL '${WINDOW_DAYS}' DAY - INTERVAL '1' HOUR, '%Y%m%d%H')`,
    `"timestamp" >= to_unixtime(current_timestamp - INTERVAL '${WINDOW_DAYS}' DAY)`,
  ];
  // A redirect (http to https) or an error is not an open.
  if (fields.has('sc-status')) where.push(`${columnName('sc-status')} IN (200, 304)`);
  const hasQuery = fields.has('cs-uri-query');
  const param = (key: string) =>
    `url_decode(regexp_extract('&' || url_decode(${columnName('cs-uri-query')}), '&${key}=([^&]*)', 1))`;
  const events = (...keys: string[]) =>
    `WITH events AS (\n  SELECT "timestamp"${keys.map((k) => `,\n    ${param(k)} AS ${k}`).join('')}\n` +
    `  FROM ${from}\n  WHERE ${where.join('\n    AND ')}\n)\n`;

  const out: NamedQuery[] = [
    {
      id: 'EventsPerHour',
      name: 'pixel: events per hour',
      description: `Pixel requests per UTC hour over the last ${WINDOW_DAYS} days` +
        (hasQuery ? ', with and without retried duplicates (same eid)' : ''),
      sql: events(...(hasQuery ? ['eid'] : [])) +
        `SELECT date_trunc('hour', from_unixtime("timestamp")) AS hour_utc,\n` +
        `  count(*) AS requests${hasQuery ? ',\n  count(DISTINCT eid) AS events' : ''}\n` +
        'FROM events\nGROUP BY 1\nORDER BY 1',
    },
  ];
  if (hasQuery) {
    out.push(
      {
        id: 'OpensPerCampaign',
        name: 'pixel: opens per campaign',
        description: `Opens per campaign over the last ${WINDOW_DAYS} days, each event id counted once`,
        sql: events('campaign', 'eid') +
          'SELECT campaign, count(DISTINCT eid) AS opens\nFROM events\n' +
          'WHERE campaign IS NOT NULL AND eid IS NOT NULL\nGROUP BY campaign\nORDER BY opens DESC',
      },
      {
        id: 'UsersPerThirdParty',
        name: 'pixel: unique users per third party',
        description: `Distinct userid values per thirdpartyname over the last ${WINDOW_DAYS} days`,
        sql: events('thirdpartyname', 'userid') +
          'SELECT thirdpartyname, count(DISTINCT userid) AS users\nFROM events\n' +
          'WHERE thirdpartyname IS NOT NULL AND userid IS NOT NULL\nGROUP BY thirdpartyname\nORDER BY users DESC',
      },
    );
  }
  return out;
}
