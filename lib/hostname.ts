import { TswarmError } from './errors.js';

/**
 * RFC 1123 (2.1) with RFC 1035's lengths: 253 characters in all, labels of 1 to 63 — and, unlike
 * the RFC, underscores, which real machines' names carry (`build_01`) and Docker accepts: a node
 * must not be refused for the name its operating system gave it.
 */
export const HOSTNAME_CHARS_MAX = 253;
const LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/i;

/** Why `hostname` is not a host name tswarm takes, or undefined when it is one. */
export function hostnameProblem(hostname: string): string | undefined {
  if (hostname === '') return 'is empty';
  if (hostname.length > HOSTNAME_CHARS_MAX) return `is longer than ${HOSTNAME_CHARS_MAX} characters`;
  const bad = hostname.split('.').find((label) => !LABEL.test(label));
  if (bad === undefined) return undefined;
  return `has the label "${bad.slice(0, 63)}", and labels are 1 to 63 letters, digits, underscores or inner hyphens`;
}

/** Refuses a host name that is not RFC 1123's, naming the field it came in (`field`). */
export function checkHostname(field: string, hostname: string): void {
  const problem = hostnameProblem(hostname);
  if (problem)
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `${field} ${problem}. Give the node a host name of letters, digits, '-', '_' and '.' (tswarmd --hostname)`,
    );
}
