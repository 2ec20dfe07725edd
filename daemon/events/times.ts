import { TswarmError } from '../../lib/errors.js';
import { NS_PER_S } from './message.js';

/**
 * Docker's `since` / `until` of `GET /events`: Unix seconds with an optional fraction
 * ("1700000000", "1700000000.123456789"), as dockerd's ParseTimestamps reads them. Clients
 * convert everything else first: the docker CLI turns `10m`, RFC 3339 times and dates into this
 * (as `tswarm events` does), the Python SDK sends whole seconds. Undefined when absent or empty.
 */
export function eventTimeParam(query: URLSearchParams, name: 'since' | 'until'): bigint | undefined {
  const v = query.get(name);
  if (v === null || v === '') return undefined;
  const m = /^(\d{1,12})(?:\.(\d{1,9}))?$/.exec(v);
  if (!m)
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `${name}=${v} is not a Unix time in seconds. Give one such as 1700000000 or 1700000000.5`,
    );
  // The fraction's digits are a fraction of a second whatever their number (".5" is half a second).
  const fraction = (m[2] ?? '').padEnd(9, '0');
  return BigInt(m[1]!) * NS_PER_S + BigInt(fraction);
}

/** `since` and `until` of one request, checked against each other as dockerd does. */
export function eventWindow(query: URLSearchParams): { sinceNano?: bigint; untilNano?: bigint } {
  const sinceNano = eventTimeParam(query, 'since');
  const untilNano = eventTimeParam(query, 'until');
  if (sinceNano !== undefined && untilNano !== undefined && untilNano < sinceNano)
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `\`since\` time (${query.get('since')}) cannot be after \`until\` time (${query.get('until')})`,
    );
  return {
    ...(sinceNano !== undefined ? { sinceNano } : {}),
    ...(untilNano !== undefined ? { untilNano } : {}),
  };
}
