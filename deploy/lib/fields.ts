// The log field catalog (src/log/fields.json), shared with the local edge and the reader.
// SPDX-License-Identifier: MIT
import * as fs from 'fs';
import * as path from 'path';

export type FieldType = 'text' | 'integer' | 'decimal' | 'ip' | 'epoch_time';

export interface CatalogField {
  readonly name: string;
  readonly type: FieldType;
  readonly escaped: boolean;
}

export interface FieldCatalog {
  /** Every real-time log field, in the order CloudFront writes them. */
  readonly realtime: CatalogField[];
  /** The fields the distribution logs unless told otherwise, in catalog order. */
  readonly default: string[];
}

/** The catalog in the repository, read at synth time. */
export const CATALOG_PATH = path.resolve(__dirname, '..', '..', 'src', 'log', 'fields.json');

const TYPES: ReadonlySet<string> = new Set(['text', 'integer', 'decimal', 'ip', 'epoch_time']);

export class FieldCatalogError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FieldCatalogError';
  }
}

export function loadCatalog(file: string = CATALOG_PATH): FieldCatalog {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new FieldCatalogError(`cannot read the field catalog ${file}: ${(e as Error).message}`);
  }
  const c = parsed as Partial<FieldCatalog>;
  if (!Array.isArray(c.realtime) || !Array.isArray(c.default)) {
    throw new FieldCatalogError(`${file}: expected "realtime" and "default" arrays`);
  }
  const seen = new Set<string>();
  for (const f of c.realtime) {
    if (typeof f?.name !== 'string' || !TYPES.has(f.type) || typeof f.escaped !== 'boolean') {
      throw new FieldCatalogError(`${file}: malformed realtime entry ${JSON.stringify(f)}`);
    }
    if (seen.has(f.name)) throw new FieldCatalogError(`${file}: field '${f.name}' listed twice`);
    seen.add(f.name);
  }
  const catalog = { realtime: c.realtime, default: c.default } as FieldCatalog;
  selectFields(catalog, catalog.default);  // the default list obeys the same rules
  return catalog;
}

/**
 * Checks a field list against the catalog and returns it in catalog order (the order
 * CloudFront writes the fields, whatever order they are configured in).
 */
export function selectFields(catalog: FieldCatalog, names: readonly string[]): CatalogField[] {
  if (names.length === 0) throw new FieldCatalogError('the field list is empty');
  const wanted = new Set<string>();
  for (const n of names) {
    if (!catalog.realtime.some((f) => f.name === n)) {
      throw new FieldCatalogError(`unknown real-time log field '${n}'`);
    }
    if (wanted.has(n)) throw new FieldCatalogError(`field '${n}' given twice`);
    wanted.add(n);
  }
  if (!wanted.has('timestamp')) {
    throw new FieldCatalogError("the field list must include 'timestamp' (queries filter on it)");
  }
  return catalog.realtime.filter((f) => wanted.has(f.name));
}

/** Fields that carry a viewer's address: `c-ip`, and `x-forwarded-for` behind a proxy. */
export const CLIENT_ADDRESS_FIELDS: readonly string[] = ['c-ip', 'x-forwarded-for'];
/** What a configuration without the client IP keeps instead: country and network. */
export const COARSE_LOCATION_FIELDS: readonly string[] = ['c-country', 'asn'];

/**
 * A field list without the viewer's address (`logClientIp: false`, `pixel edge
 * --no-client-ip`): `c-ip` and `x-forwarded-for` left out, `c-country` and `asn` added.
 * `given` lists (the user's own) that name an address field are refused, not trimmed.
 */
export function withoutClientIp(names: readonly string[], given: boolean): string[] {
  const named = names.filter((n) => CLIENT_ADDRESS_FIELDS.includes(n));
  if (given && named.length > 0) {
    throw new FieldCatalogError(`logClientIp: false, but the field list names ${named.join(', ')}`);
  }
  const kept = names.filter((n) => !CLIENT_ADDRESS_FIELDS.includes(n));
  for (const n of COARSE_LOCATION_FIELDS) if (!kept.includes(n)) kept.push(n);
  return kept;
}

/** The Glue column for a field: `cs-uri-query` is `cs_uri_query`. */
export function columnName(field: string): string {
  return field.replace(/-/g, '_');
}

/** The Glue (Hive) type for a catalog type. */
export function columnType(type: FieldType): string {
  switch (type) {
    case 'epoch_time':
    case 'decimal':
      return 'double';
    case 'integer':
      return 'bigint';
    default:
      return 'string';
  }
}
