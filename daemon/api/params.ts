import { TswarmError } from '../../lib/errors.js';
import { parseFilters } from './list-filters.js';

/** Query parameters as dockerd reads them. */

/** Docker's boolValue: absent, "", "0", "no", "false" and "none" are false; anything else true. */
export function boolParam(query: URLSearchParams, name: string): boolean {
  const v = query.get(name);
  if (v === null) return false;
  return !['', '0', 'no', 'false', 'none'].includes(v.trim().toLowerCase());
}

/** An integer parameter; absent or empty gives `fallback`, anything else not an integer is INVALID_ARGUMENT. */
export function intParam(query: URLSearchParams, name: string, fallback?: number): number | undefined {
  const v = query.get(name);
  if (v === null || v === '') return fallback;
  if (!/^-?\d{1,15}$/.test(v)) throw new TswarmError('INVALID_ARGUMENT', `${name}=${v} is not an integer. Give one`);
  return Number(v);
}

/** A terminal size from `?h=&w=` (resize): rows and columns, each 0–65535. */
export function terminalSizeParams(query: URLSearchParams): [number, number] {
  const h = intParam(query, 'h', 0)!;
  const w = intParam(query, 'w', 0)!;
  if (h < 0 || w < 0 || h > 0xffff || w > 0xffff)
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `h=${h} w=${w} is not a terminal size. Give two integers from 0 to 65535`,
    );
  return [h, w];
}

/** Docker's `filters` parameter as key/value pairs; a key not in `keys` is INVALID_ARGUMENT naming the valid ones. */
export function filtersParam<K extends string>(
  query: URLSearchParams,
  keys: readonly K[],
): { key: K; value: string }[] {
  const out: { key: K; value: string }[] = [];
  for (const [key, values] of parseFilters(query.get('filters'), keys))
    for (const value of values) out.push({ key: key as K, value });
  return out;
}

/** A container reference from the path: Docker's names carry a leading slash some clients keep. */
export function containerRef(params: Record<string, string>, name = 'id'): string {
  const ref = (params[name] ?? '').replace(/^\//, '');
  if (ref === '' || ref.length > 256 || /[\s\0]/.test(ref))
    throw new TswarmError('INVALID_ARGUMENT', `invalid container reference "${ref.slice(0, 64)}"`);
  return ref;
}

/** Docker's wording for a missing container: clients (compose, the SDK) read the 404's message. */
export function noSuchContainer<T>(ref: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof TswarmError && err.code === 'NOT_FOUND')
      throw new TswarmError('NOT_FOUND', `No such container: ${ref}`);
    throw err;
  }
}
