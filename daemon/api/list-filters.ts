import { TswarmError } from '../../lib/errors.js';

/** A `filters` query is a small JSON object; beyond this a client is broken. */
const FILTERS_CHARS_MAX = 64 * 1024;

/** Docker's list filters: each key to the values given for it (`label` may be given several times). */
export type Filters = Map<string, string[]>;

/**
 * Parses Docker's `filters` query parameter: `{"label":{"a=b":true}}` (what clients send) or the
 * older `{"label":["a=b"]}`. A key the endpoint does not know is refused as dockerd refuses it
 * ("invalid filter 'x'"), so a typo never silently lists everything.
 */
export function parseFilters(raw: string | null, known: readonly string[]): Filters {
  const filters: Filters = new Map();
  if (raw === null || raw === '') return filters;
  if (raw.length > FILTERS_CHARS_MAX)
    throw new TswarmError('INVALID_ARGUMENT', `the filters are over ${FILTERS_CHARS_MAX} characters. Give fewer`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new TswarmError('INVALID_ARGUMENT', `invalid filters JSON: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new TswarmError('INVALID_ARGUMENT', 'the filters must be a JSON object such as {"label":{"a=b":true}}');
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (!known.includes(key))
      throw new TswarmError('INVALID_ARGUMENT', `invalid filter '${key}'. Known filters: ${known.join(', ')}`);
    let values: unknown[];
    if (Array.isArray(value)) values = value;
    else if (value !== null && typeof value === 'object')
      values = Object.entries(value as Record<string, unknown>)
        .filter(([, on]) => on === true)
        .map(([k]) => k);
    else throw new TswarmError('INVALID_ARGUMENT', `filter '${key}' must map to an object or an array of strings`);
    for (const v of values)
      if (typeof v !== 'string')
        throw new TswarmError('INVALID_ARGUMENT', `filter '${key}' has a value that is not a string`);
    filters.set(key, values as string[]);
  }
  return filters;
}

/** `label=key` or `label=key=value` filters, all of which must hold. */
export function matchesLabels(labels: Record<string, string>, wanted: readonly string[] | undefined): boolean {
  return (wanted ?? []).every((w) => {
    const eq = w.indexOf('=');
    return eq < 0 ? labels[w] !== undefined : labels[w.slice(0, eq)] === w.slice(eq + 1);
  });
}

/** A boolean filter (`dangling=true`); undefined when not given, INVALID_ARGUMENT for other words. */
export function booleanFilter(filters: Filters, key: string): boolean | undefined {
  const values = filters.get(key);
  if (!values || values.length === 0) return undefined;
  const [v] = values;
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new TswarmError('INVALID_ARGUMENT', `invalid filter '${key}=${v}'. Give true or false`);
}

/** Docker's glob for `reference` filters: `*` within a path component, `?` one character. */
export function globMatch(pattern: string, value: string): boolean {
  if (pattern.length > 1024) return false;
  let re = '';
  for (const ch of pattern) {
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else re += ch.replace(/[.+^$(){}|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`).test(value);
}
