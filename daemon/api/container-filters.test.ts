import { describe, expect, it } from 'vitest';
import type { ContainerSummary } from '../../gen/tswarm/v1/engine.js';
import { thrownCode } from '../../lib/testing/error-codes.js';
import {
  checkContainerFilters,
  containerMatches,
  matchesContainerFilters,
  type ContainerFilter,
} from './container-filters.js';

const term = (raw: string): ContainerFilter => {
  const eq = raw.indexOf('=');
  return { key: raw.slice(0, eq) as ContainerFilter['key'], value: raw.slice(eq + 1) };
};

describe('GET /containers/json filters', () => {
  const c = {
    id: 'abc123',
    name: 'web-1',
    image: 'busybox:1',
    command: [],
    createdAtMs: 0,
    state: undefined,
    ports: [],
    labels: { tier: 'front', 'tswarm.engine.image-id': 'sha256:35ce00' },
  } as unknown as ContainerSummary;
  const running = { ...c, state: { status: 'running', health: 'healthy' } } as unknown as ContainerSummary;
  const exited = { ...c, state: { status: 'exited', exitCode: 3, health: '' } } as unknown as ContainerSummary;
  const matches = (x: ContainerSummary, raw: string) => containerMatches(x, term(raw));

  it('matches as dockerd does: name, id prefix, label, status, ancestor, exited, health', () => {
    expect(matches(c, 'name=web')).toBe(true);
    expect(matches(c, 'id=abc')).toBe(true);
    expect(matches(c, 'id=bc')).toBe(false);
    expect(matches(c, 'label=tier')).toBe(true);
    expect(matches(c, 'label=tier=back')).toBe(false);
    expect(matches(running, 'status=running')).toBe(true);
    expect(matches(c, 'ancestor=busybox')).toBe(true);
    expect(matches(c, 'ancestor=35ce')).toBe(true);
    expect(matches(c, 'ancestor=alpine')).toBe(false);
    expect([matches(exited, 'exited=3'), matches(exited, 'exited=0'), matches(running, 'exited=3')]).toEqual([
      true,
      false,
      false,
    ]);
    expect([matches(running, 'health=healthy'), matches(exited, 'health=none')]).toEqual([true, true]);
  });

  it('takes name as a regular expression, with or without Docker’s slash, and ORs terms of one key while ANDing keys', () => {
    expect(matches(c, 'name=^web-1$')).toBe(true);
    expect(matches(c, 'name=^/web-1$')).toBe(true);
    expect(matches(c, 'name=/web-1')).toBe(true);
    expect(matches(c, 'name=^web$')).toBe(false);
    expect(matches(c, 'name=web-[0-9]+')).toBe(true);
    expect(matches(c, 'name=web-1[')).toBe(false); // not an expression: matched as text
    const terms = ['name=other', 'name=web', 'label=tier'].map(term);
    expect(matchesContainerFilters(c, terms)).toBe(true);
    expect(matchesContainerFilters(c, [term('name=other'), term('label=tier')])).toBe(false);
  });

  it('requires every label term, as dockerd does (docker ps -f label=a -f label=b lists what has both)', () => {
    expect(matchesContainerFilters(c, ['label=tier', 'label=tier=front'].map(term))).toBe(true);
    expect(matchesContainerFilters(c, ['label=tier', 'label=nope'].map(term))).toBe(false);
  });

  it('refuses a name pattern that would backtrack for seconds, before matching any container', () => {
    expect(thrownCode(() => checkContainerFilters([term('name=(a+)+$')]))).toBe('INVALID_ARGUMENT');
    expect(() => checkContainerFilters([term('name=^/(a+)+$')])).toThrow(/^invalid filter 'name=\^\(a\+\)\+\$'/);
    expect(thrownCode(() => matches({ ...c, name: `${'a'.repeat(30)}!` }, 'name=(a+)+$'))).toBe('INVALID_ARGUMENT');
    expect(thrownCode(() => checkContainerFilters(['name=^web', 'name=db-[0-9]+'].map(term)))).toBe('ok');
  });

  it('refuses a status, health or exit code dockerd refuses, in its words', () => {
    expect(() => checkContainerFilters([term('status=up')])).toThrow(/^invalid filter 'status=up'. Use created, /);
    expect(thrownCode(() => checkContainerFilters([term('health=ok')]))).toBe('INVALID_ARGUMENT');
    expect(thrownCode(() => checkContainerFilters([term('exited=x')]))).toBe('INVALID_ARGUMENT');
    expect(thrownCode(() => checkContainerFilters(['status=paused', 'health=none', 'exited=0'].map(term)))).toBe('ok');
  });
});
