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

/**
 * `label=key` or `label=key=value` filters, all of which must hold (dockerd's MatchKVList). Own
 * keys only: `label=constructor` must not match every object.
 */
export function matchesLabels(labels: Record<string, string>, wanted: readonly string[] | undefined): boolean {
  return (wanted ?? []).every((w) => {
    const eq = w.indexOf('=');
    const key = eq < 0 ? w : w.slice(0, eq);
    return Object.hasOwn(labels, key) && (eq < 0 || labels[key] === w.slice(eq + 1));
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

/** Beyond this a glob is no reference anyone means; refused rather than matched. */
const GLOB_CHARS_MAX = 1024;

/**
 * Docker's glob for `reference` filters: `*` within a path component, `?` one character. Matched
 * component by component without a regular expression: a glob compiled to one (`*a*a*a*…`) can
 * backtrack for minutes, and this takes at most pattern × value steps.
 */
export function globMatch(pattern: string, value: string): boolean {
  if (pattern.length > GLOB_CHARS_MAX) return false;
  const patternParts = pattern.split('/');
  const valueParts = value.split('/');
  return patternParts.length === valueParts.length && patternParts.every((p, i) => componentMatch(p, valueParts[i]!));
}

/** Wildcard matching of one component: on a mismatch, only the latest `*` takes one more character. */
function componentMatch(pattern: string, value: string): boolean {
  let p = 0;
  let v = 0;
  let star = -1;
  let starValue = 0;
  while (v < value.length) {
    if (pattern[p] === '*') {
      star = p++;
      starValue = v;
    } else if (p < pattern.length && (pattern[p] === '?' || pattern[p] === value[v])) {
      p++;
      v++;
    } else if (star >= 0) {
      p = star + 1;
      v = ++starValue;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}
