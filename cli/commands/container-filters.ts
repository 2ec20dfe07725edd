/** `ps --filter` as Docker's daemon applies it: the terms, their parsing and their matching. */
import { InvalidArgumentError } from 'commander';
import type { ContainerSummary } from '../../gen/lite/tswarm/v1/engine.js';
import { filterParser, labelMatches, matchesAll, type Filter } from './filters.js';

function nameMatches(name: string, pattern: string): boolean {
  try {
    return new RegExp(pattern).test(name);
  } catch {
    return name.includes(pattern);
  }
}

/** A `ps --filter` term, as Docker's: name (a regex), id (prefix), label, status, ancestor. */
export type ContainerFilter = Filter<'name' | 'id' | 'label' | 'status' | 'ancestor'>;

const STATUSES = ['created', 'running', 'exited'];

export const parseContainerFilter = filterParser(['name', 'id', 'label', 'status', 'ancestor'] as const, (f) => {
  if (f.key === 'status' && !STATUSES.includes(f.value))
    throw new InvalidArgumentError(`invalid status filter "${f.value}". Use ${STATUSES.join(', ')}`);
});

export function matchesFilters(c: ContainerSummary, filters: readonly ContainerFilter[]): boolean {
  return matchesAll(c, filters, matchesFilter);
}

export function matchesFilter(c: ContainerSummary, f: ContainerFilter): boolean {
  switch (f.key) {
    case 'name':
      // A regular expression, as Docker takes it (name=^web$ for one name); a text that is not one matches as text.
      return nameMatches(c.name, f.value);
    case 'id':
      return c.id.startsWith(f.value);
    case 'status':
      return c.state?.status === f.value;
    case 'ancestor': {
      // The engine labels each container with its image's ID (engine.ts LABEL_IMAGE_ID).
      const imageId = c.labels['tswarm.engine.image-id'] ?? '';
      return (
        c.image === f.value ||
        c.image.startsWith(`${f.value}:`) ||
        imageId === f.value ||
        (/^[0-9a-f]+$/.test(f.value) && imageId.startsWith(`sha256:${f.value}`))
      );
    }
    case 'label':
      return labelMatches(c.labels, f.value);
  }
}
