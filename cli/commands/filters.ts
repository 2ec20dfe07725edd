import { InvalidArgumentError } from 'commander';

/** One `--filter KEY=VALUE` term, as Docker's list commands take them. */
export interface Filter<K extends string = string> {
  key: K;
  value: string;
}

/** A commander parser for `--filter` of a command that knows `keys`; a mistake names the valid ones. */
export function filterParser<K extends string>(
  keys: readonly K[],
  check: (f: Filter<K>) => void = () => undefined,
): (raw: string) => Filter<K> {
  return (raw) => {
    const eq = raw.indexOf('=');
    const key = raw.slice(0, eq);
    const value = raw.slice(eq + 1);
    if (eq <= 0 || value === '')
      throw new InvalidArgumentError(`invalid filter "${raw}". Use KEY=VALUE with ${keys.join(', ')}`);
    if (!(keys as readonly string[]).includes(key))
      throw new InvalidArgumentError(`unknown filter "${key}". Use ${keys.join(', ')}`);
    const filter = { key: key as K, value };
    check(filter);
    return filter;
  };
}

/** `true`/`false` for a boolean filter (dangling=true), else a usage error. */
export function checkBoolean(f: Filter): void {
  if (f.value !== 'true' && f.value !== 'false')
    throw new InvalidArgumentError(`invalid ${f.key} filter "${f.value}". Use true or false`);
}

/**
 * The `filters` query parameter of Docker's list and prune endpoints, as the docker CLI sends it
 * (`{"dangling":{"true":true}}`): the daemon applies them. Undefined when there is none.
 */
export function filtersQuery(filters: readonly Filter[]): string | undefined {
  if (filters.length === 0) return undefined;
  const byKey: Record<string, Record<string, true>> = {};
  for (const f of filters) (byKey[f.key] ??= {})[f.value] = true;
  return JSON.stringify(byKey);
}
