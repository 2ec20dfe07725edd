import { describe, expect, it } from 'vitest';
import {
  canReach,
  checkHostEngineLabels,
  engineLabelArgs,
  parseHostEngineLabel,
  partitionGroups,
  planHosts,
  validateLabName,
} from './plan.js';
import { TswarmError } from '../lib/errors.js';

function usageError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(TswarmError);
    expect((e as TswarmError).code).toBe('USAGE');
    return (e as TswarmError).message;
  }
  throw new Error('expected a usage error');
}

describe('planHosts', () => {
  it('names and addresses hosts as the address plan lays out (docs/architecture.md)', () => {
    expect(planHosts(3, 2)).toEqual([
      { name: 'm1', role: 'manager', addr: '192.168.77.11' },
      { name: 'm2', role: 'manager', addr: '192.168.77.12' },
      { name: 'm3', role: 'manager', addr: '192.168.77.13' },
      { name: 'w1', role: 'worker', addr: '192.168.77.21' },
      { name: 'w2', role: 'worker', addr: '192.168.77.22' },
    ]);
  });

  it('refuses counts outside the address plan, and an empty lab', () => {
    expect(usageError(() => planHosts(10, 0))).toContain('--managers 10');
    expect(usageError(() => planHosts(1, -1))).toContain('--workers -1');
    expect(usageError(() => planHosts(1.5, 0))).toContain('whole number');
    expect(usageError(() => planHosts(0, 0))).toContain('at least one host');
  });
});

describe('partitionGroups', () => {
  const hosts = ['m1', 'm2', 'm3', 'w1', 'w2'];

  it('puts the hosts named in no group together', () => {
    expect(partitionGroups(hosts, ['m1'])).toEqual([['m1'], ['m2', 'm3', 'w1', 'w2']]);
    expect(partitionGroups(hosts, ['m1,m2', 'm3,w1,w2'])).toEqual([
      ['m1', 'm2'],
      ['m3', 'w1', 'w2'],
    ]);
  });

  it('refuses unknown hosts, duplicates and empty groups', () => {
    expect(usageError(() => partitionGroups(hosts, ['m9']))).toContain('unknown host "m9"');
    expect(usageError(() => partitionGroups(hosts, ['m1', 'm1,m2']))).toContain('two groups');
    expect(usageError(() => partitionGroups(hosts, [',']))).toContain('empty group');
    expect(usageError(() => partitionGroups(hosts, []))).toContain('at least one group');
  });

  it('answers reachability from the groups', () => {
    const groups = partitionGroups(hosts, ['m1']);
    expect(canReach(groups, 'm1', 'm2')).toBe(false);
    expect(canReach(groups, 'm2', 'w2')).toBe(true);
    expect(canReach(null, 'm1', 'm2')).toBe(true);
  });
});

describe('validateLabName', () => {
  it('accepts short plain names and refuses the rest', () => {
    expect(validateLabName('lab')).toBe('lab');
    expect(validateLabName('ci42')).toBe('ci42');
    for (const bad of ['', 'Lab', '1lab', 'a-b', 'abcdefghijk'])
      expect(usageError(() => validateLabName(bad))).toContain('invalid lab name');
  });
});

describe('engine labels per host', () => {
  const hosts = ['m1', 'w1', 'w2'];

  it('turns a host’s labels into daemon flags, and refuses unknown hosts and empty keys', () => {
    expect(engineLabelArgs({ zone: 'eu', disk: 'ssd' })).toEqual(['--label', 'disk=ssd', '--label', 'zone=eu']);
    expect(engineLabelArgs(undefined)).toEqual([]);
    expect(() => checkHostEngineLabels(hosts, { w1: { disk: 'ssd' } })).not.toThrow();
    expect(usageError(() => checkHostEngineLabels(hosts, { w3: { disk: 'ssd' } }))).toContain('unknown host "w3"');
    expect(usageError(() => checkHostEngineLabels(hosts, { w1: { ' ': 'x' } }))).toContain('empty key');
  });

  it('parses `lab up --engine-label HOST:KEY=VALUE`', () => {
    expect(parseHostEngineLabel('w1:disk=ssd')).toEqual({ host: 'w1', key: 'disk', value: 'ssd' });
    expect(parseHostEngineLabel('w2:a=b=c')).toEqual({ host: 'w2', key: 'a', value: 'b=c' });
    expect(usageError(() => parseHostEngineLabel('disk=ssd'))).toContain('HOST:KEY=VALUE');
  });
});
