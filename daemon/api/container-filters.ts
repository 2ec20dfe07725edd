import { TswarmError } from '../../lib/errors.js';
import type { ContainerSummary } from '../../gen/tswarm/v1/engine.js';
import { labelMatches, matchesAll } from '../../cli/commands/filters.js';
import { LABEL_IMAGE_ID } from './container-shapes.js';

/**
 * `GET /containers/json?filters=` as dockerd applies them: name (a regular expression), id
 * (a prefix), label, status, ancestor, exited (an exit code) and health. Terms with one key are
 * alternatives, different keys all apply.
 */
export const CONTAINER_FILTER_KEYS = ['name', 'id', 'label', 'status', 'ancestor', 'exited', 'health'] as const;
export type ContainerFilter = { key: (typeof CONTAINER_FILTER_KEYS)[number]; value: string };

/** Docker's container states: a status filter names one of them (tswarm's containers reach three). */
const STATES = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];
const HEALTH = ['starting', 'healthy', 'unhealthy', 'none'];

/** Refuses a status or health value dockerd refuses, in its words; a typo must not list nothing silently. */
export function checkContainerFilters(filters: readonly ContainerFilter[]): void {
  for (const f of filters) {
    const valid = f.key === 'status' ? STATES : f.key === 'health' ? HEALTH : undefined;
    if (valid && !valid.includes(f.value))
      throw new TswarmError('INVALID_ARGUMENT', `invalid filter '${f.key}=${f.value}'. Use ${valid.join(', ')}`);
    if (f.key === 'exited' && !/^-?\d{1,10}$/.test(f.value))
      throw new TswarmError('INVALID_ARGUMENT', `invalid filter 'exited=${f.value}'. Give an exit code, e.g. exited=0`);
  }
}

function nameMatches(name: string, pattern: string): boolean {
  // Docker's names carry a slash: `name=^/web$` and `name=web` both match.
  const unslashed = pattern.replace(/^\^\//, '^').replace(/^\//, '');
  try {
    return new RegExp(unslashed).test(name);
  } catch {
    return name.includes(unslashed);
  }
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
      return labelMatches(c.labels, f.value);
    case 'exited':
      return c.state?.status === 'exited' && String(c.state.exitCode) === f.value;
    case 'health':
      return (c.state?.health || 'none') === f.value;
  }
}

export function matchesContainerFilters(c: ContainerSummary, filters: readonly ContainerFilter[]): boolean {
  return matchesAll(c, filters, containerMatches);
}
