import { describe, expect, it } from 'vitest';
import { TswarmError } from '../../lib/errors.js';
import { node } from '../tasks/testing/objects.js';
import { constraintMatches, firstUnmet, parseConstraint, parseConstraints } from './constraint.js';

function refusal(text: string): string {
  try {
    parseConstraint(text);
  } catch (err) {
    expect(err).toBeInstanceOf(TswarmError);
    expect((err as TswarmError).code).toBe('INVALID_ARGUMENT');
    return (err as Error).message;
  }
  throw new Error(`"${text}" was accepted`);
}

describe('parseConstraint', () => {
  it('reads the key, operator and value, trimming spaces around them', () => {
    expect(parseConstraint(' node.labels.zone == eu ')).toEqual({
      text: 'node.labels.zone==eu',
      field: { kind: 'nodeLabel', label: 'zone' },
      operator: '==',
      value: 'eu',
    });
    expect(parseConstraint('node.role!=manager')).toMatchObject({ field: { kind: 'role' }, operator: '!=' });
    expect(parseConstraint('engine.labels.disk==ssd').field).toEqual({ kind: 'engineLabel', label: 'disk' });
    expect(parseConstraint('NODE.HOSTNAME==w1').field).toEqual({ kind: 'hostname' });
    expect(parseConstraint('node.platform.os==linux').field).toEqual({ kind: 'os' });
    expect(parseConstraint('node.platform.arch==x86_64').field).toEqual({ kind: 'arch' });
    expect(parseConstraint('node.id==abc').field).toEqual({ kind: 'id' });
  });

  it('keeps a label name as written (labels are case-sensitive) and accepts Docker\u2019s value characters', () => {
    expect(parseConstraint('node.labels.Zone==eu').field).toEqual({ kind: 'nodeLabel', label: 'Zone' });
    expect(parseConstraint('node.labels.path==/srv/data:1 (a|b)').value).toBe('/srv/data:1 (a|b)');
  });

  it('refuses a constraint without an operator, saying how to write one', () => {
    expect(refusal('node.role=worker')).toBe(
      'invalid constraint "node.role=worker": expected one operator from ==, !=. Write it as KEY==VALUE or KEY!=VALUE, e.g. node.role==worker',
    );
    expect(refusal('node.role>worker')).toContain('expected one operator from ==, !=');
  });

  it('refuses bad keys and values as Docker does', () => {
    expect(refusal('==worker')).toContain('key "" is invalid');
    expect(refusal('1node==worker')).toContain('key "1node" is invalid');
    expect(refusal('node.role==')).toContain('value "" is invalid');
    expect(refusal('node.role==a==b')).toContain('value "a==b" is invalid');
    expect(refusal('node.labels.x==a<b')).toContain('value "a<b" is invalid');
  });

  it('refuses an unknown key instead of matching no node, and names the keys it knows', () => {
    expect(refusal('node.zone==eu')).toBe(
      'invalid constraint "node.zone==eu": unknown key "node.zone". Use one of node.id, node.hostname, node.role, node.platform.os, node.platform.arch, node.labels.<label>, engine.labels.<label>',
    );
    expect(refusal('node.labels.==x')).toContain('unknown key "node.labels."');
  });

  it('fails a list on its first bad entry', () => {
    expect(() => parseConstraints(['node.role==worker', 'nope'])).toThrow('invalid constraint "nope"');
    expect(parseConstraints([])).toEqual([]);
  });
});

describe('constraintMatches', () => {
  const w1 = node({
    id: 'n1',
    hostname: 'w1',
    labels: { zone: 'eu', Tier: 'Front' },
    engineLabels: { disk: 'ssd' },
    arch: 'x64',
  });
  const m1 = node({ id: 'n2', hostname: 'm1', role: 'manager' });
  const matches = (text: string, n = w1) => constraintMatches(parseConstraint(text), n);

  it('reads each field of the node', () => {
    expect(matches('node.id==n1')).toBe(true);
    expect(matches('node.hostname==w1')).toBe(true);
    expect(matches('node.role==worker')).toBe(true);
    expect(matches('node.role==manager', m1)).toBe(true);
    expect(matches('node.platform.os==linux')).toBe(true);
    expect(matches('node.labels.zone==eu')).toBe(true);
    expect(matches('engine.labels.disk==ssd')).toBe(true);
    expect(matches('engine.labels.disk==hdd')).toBe(false);
  });

  it('compares values without regard to case, label names with regard to it', () => {
    expect(matches('node.hostname==W1')).toBe(true);
    expect(matches('node.labels.Tier==front')).toBe(true);
    expect(matches('node.labels.tier==front')).toBe(false);
  });

  it('reads a missing label as empty: == fails, != holds', () => {
    expect(matches('node.labels.rack==r1')).toBe(false);
    expect(matches('node.labels.rack!=r1')).toBe(true);
    expect(matches('node.labels.zone!=eu')).toBe(false);
  });

  it('knows an architecture by any of its names', () => {
    for (const arch of ['x86_64', 'amd64', 'x64', 'AMD64']) expect(matches(`node.platform.arch==${arch}`)).toBe(true);
    expect(matches('node.platform.arch==arm64')).toBe(false);
    expect(matches('node.platform.arch==aarch64', node({ id: 'a', arch: 'arm64' }))).toBe(true);
  });

  it('reads labels named like Object.prototype members as labels, not as the prototype', () => {
    expect(matches('node.labels.constructor==x')).toBe(false);
    expect(matches('node.labels.constructor!=x')).toBe(true);
    expect(matches('node.labels.toString==y', node({ id: 'l', labels: { toString: 'y' } }))).toBe(true);
    expect(() => parseConstraint('constructor==x')).toThrow('unknown key "constructor"');
    expect(matches('node.platform.arch==constructor')).toBe(false);
  });

  it('names the first constraint a node fails', () => {
    const cs = parseConstraints(['node.role==worker', 'node.labels.zone==us', 'node.hostname==w2']);
    expect(firstUnmet(cs, w1)?.text).toBe('node.labels.zone==us');
    expect(firstUnmet(cs.slice(0, 1), w1)).toBeUndefined();
  });
});
