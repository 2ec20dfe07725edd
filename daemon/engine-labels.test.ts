import { describe, expect, it } from 'vitest';
import { checkNodeDescription } from '../manager/dispatcher/description-rules.js';
import { thrownCode } from '../lib/testing/error-codes.js';
import { addEngineLabel, parseEngineLabel } from './engine-labels.js';

const all = (...texts: string[]) => texts.reduce<Record<string, string>>(addEngineLabel, {});

describe('engine labels (tswarmd --label)', () => {
  it('takes KEY=VALUE, the value empty or holding "=", and a repeated identical label once', () => {
    expect(all('zone=eu-1', 'ssd=', 'expr=a=b', 'zone=eu-1')).toEqual({ zone: 'eu-1', ssd: '', expr: 'a=b' });
  });

  it.each([
    ['no "="', 'zone', /use KEY=VALUE/],
    ['an empty key', '=v', /the key is empty/],
    ['whitespace in the key', 'my zone=eu', /whitespace/],
    ['a control character in the value', 'zone=eu\u0007', /control characters/],
    ['a reserved namespace', 'com.docker.zone=eu', /reserved for internal use/],
    ['a reserved namespace, any case', 'IO.Docker.x=1', /reserved/],
    ['a key over the bound', `${'k'.repeat(257)}=v`, /longer than 256/],
    ['a value over the bound', `k=${'v'.repeat(4097)}`, /longer than 4096/],
  ])('refuses %s as a usage error', (_what, text, message) => {
    expect(thrownCode(() => parseEngineLabel(text))).toBe('USAGE');
    expect(() => parseEngineLabel(text)).toThrow(message);
  });

  it('refuses one key with two values, and more labels than a description may carry', () => {
    expect(() => all('zone=eu', 'zone=us')).toThrow(/conflicting engine labels zone=eu and zone=us/);
    const many = Array.from({ length: 65 }, (_, i) => `k${i}=v`);
    expect(() => all(...many)).toThrow(/more than 64 engine labels/);
  });

  it('gives labels the managers accept in a heartbeat description', () => {
    const engineLabels = all('zone=eu-1', `k=${'v'.repeat(4096)}`, ...Array.from({ length: 62 }, (_, i) => `k${i}=`));
    expect(() =>
      checkNodeDescription({
        hostname: 'w1',
        platform: undefined,
        resources: undefined,
        engineVersion: '',
        engineLabels,
      }),
    ).not.toThrow();
  });
});
