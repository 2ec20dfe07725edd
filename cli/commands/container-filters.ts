/**
 * `ps --filter` as `docker ps` passes it: each KEY=VALUE term goes to the daemon in Docker's
 * `filters` query parameter, and the daemon matches them (daemon/api/container-filters.ts) and
 * refuses a key or value it does not know.
 */
import { InvalidArgumentError } from 'commander';
import type { Filter } from './filters.js';

/** The keys the daemon takes, for help and for the usage error of a term that is not KEY=VALUE. */
export const CONTAINER_FILTER_HELP = 'name, id, label (KEY or KEY=VALUE), status, ancestor, exited or health';

/** One `--filter KEY=VALUE` term; only its form is checked here. */
export function parseContainerFilter(raw: string): Filter {
  const eq = raw.indexOf('=');
  const value = raw.slice(eq + 1);
  if (eq <= 0 || value === '')
    throw new InvalidArgumentError(`invalid filter "${raw}". Use KEY=VALUE with ${CONTAINER_FILTER_HELP}`);
  return { key: raw.slice(0, eq), value };
}
