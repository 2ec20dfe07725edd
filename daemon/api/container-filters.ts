import { TswarmError } from '../../lib/errors.js';
import type { ContainerSummary } from '../../gen/tswarm/v1/engine.js';
import { filterRegex } from './filter-pattern.js';
import { matchesLabels } from './list-filters.js';
import { LABEL_IMAGE_ID } from './container-shapes.js';

/**
 * `GET /containers/json?filters=` as dockerd applies them: name (a regular expression), id
 * (a prefix), label, status, ancestor, exited (an exit code) and health. Terms with one key are
 * alternatives, except labels, which must all hold (dockerd's MatchKVList); different keys all apply.
 */
export const CONTAINER_FILTER_KEYS = ['name', 'id', 'label', 'status', 'ancestor', 'exited', 'health'] as const;
export type ContainerFilter = { key: (typeof CONTAINER_FILTER_KEYS)[number]; value: string };

/** Docker's container states: a status filter names one of them (tswarm's containers reach three). */
const STATES = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];
const HEALTH = ['starting', 'healthy', 'unhealthy', 'none'];

/**
 * Refuses a status or health value dockerd refuses, in its words; a typo must not list nothing
 * silently. Refuses a name pattern that could stall the daemon (filter-pattern.ts).
 */
export function checkContainerFilters(filters: readonly ContainerFilter[]): void {
  for (const f of filters) {
    if (f.key === 'name') filterRegex('name', unslashed(f.value));
    const valid = f.key === 'status' ? STATES : f.key === 'health' ? HEALTH : undefined;
    if (valid && !valid.includes(f.value))
      throw new TswarmError('INVALID_ARGUMENT', `invalid filter '${f.key}=${f.value}'. Use ${valid.join(', ')}`);
    if (f.key === 'exited' && !/^-?\d{1,10}$/.test(f.value))
      throw new TswarmError('INVALID_ARGUMENT', `invalid filter 'exited=${f.value}'. Give an exit code, e.g. exited=0`);
  }
}

/** Docker's names carry a slash, tswarm's do not: `name=^/web$` and `name=web` both match "web". */
const unslashed = (pattern: string) => pattern.replace(/^\^\//, '^').replace(/^\//, '');

function nameMatches(name: string, pattern: string): boolean {
  const text = unslashed(pattern);
  // Not a regular expression at all: matched as plain text, as a mistyped pattern still means something.
  return filterRegex('name', text)?.test(name) ?? name.includes(text);
}

function ancestorMatches(c: ContainerSummary, value: string): boolean {
  const imageId = c.labels[LABEL_IMAGE_ID] ?? '';
  return (
    c.image === value ||
    c.image.startsWith(`${value}:`) ||
    imageId === value ||
    (/^[0-9a-f]+$/.test(value) && imageId.startsWith(`sha256:${value}`))
  );
}

export function containerMatches(c: ContainerSummary, f: ContainerFilter): boolean {
  switch (f.key) {
    case 'name':
      return nameMatches(c.name, f.value);
    case 'id':
      return c.id.startsWith(f.value);
    case 'status':
      return c.state?.status === f.value;
    case 'ancestor':
      return ancestorMatches(c, f.value);
    case 'label':
      return matchesLabels(c.labels, [f.value]);
    case 'exited':
      return c.state?.status === 'exited' && String(c.state.exitCode) === f.value;
    case 'health':
      return (c.state?.health || 'none') === f.value;
  }
}

export function matchesContainerFilters(c: ContainerSummary, filters: readonly ContainerFilter[]): boolean {
  const byKey = new Map<ContainerFilter['key'], string[]>();
  for (const f of filters) byKey.set(f.key, [...(byKey.get(f.key) ?? []), f.value]);
  return [...byKey].every(([key, values]) =>
    key === 'label' ? matchesLabels(c.labels, values) : values.some((value) => containerMatches(c, { key, value })),
  );
}
