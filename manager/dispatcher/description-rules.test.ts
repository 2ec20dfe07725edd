import { describe, expect, it } from 'vitest';
import type { NodeDescription } from '../../gen/tswarm/v1/objects.js';
import { TswarmError } from '../../lib/errors.js';
import {
  checkNodeDescription,
  DescriptionWriteLimiter,
  ENGINE_LABELS_MAX,
  MEMORY_BYTES_MAX,
  NANO_CPUS_MAX,
} from './description-rules.js';

const good: NodeDescription = {
  hostname: 'worker-1.example.com',
  platform: { os: 'linux', architecture: 'x64' },
  resources: { nanoCpus: 8e9, memoryBytes: 16 * 1024 ** 3, pids: 0 },
  engineVersion: '0.1.0',
  engineLabels: { 'com.example.zone': 'eu-1' },
};

function refusal(d: NodeDescription): string | undefined {
  try {
    checkNodeDescription(d);
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(TswarmError);
    expect((err as TswarmError).code).toBe('INVALID_ARGUMENT');
    return (err as Error).message;
  }
}

const manyLabels = Object.fromEntries(Array.from({ length: ENGINE_LABELS_MAX + 1 }, (_, i) => [`k${i}`, 'v']));

describe('checkNodeDescription', () => {
  it('accepts what a real node sends, at the bounds included', () => {
    expect(refusal(good)).toBeUndefined();
    expect(refusal({ ...good, hostname: 'a'.repeat(63) + '.' + 'b'.repeat(63) })).toBeUndefined();
    // Underscores are outside RFC 1123 but in many machines' names, and Docker takes them.
    expect(refusal({ ...good, hostname: 'build_01.lab' })).toBeUndefined();
    expect(refusal({ ...good, resources: { nanoCpus: NANO_CPUS_MAX, memoryBytes: MEMORY_BYTES_MAX, pids: 0 } })).toBe(
      undefined,
    );
    expect(refusal({ ...good, platform: undefined, resources: undefined, engineLabels: {} })).toBeUndefined();
  });

  it.each<[string, Partial<NodeDescription>, RegExp]>([
    ['an empty hostname', { hostname: '' }, /hostname is empty/],
    ['a hostname with a space', { hostname: 'evil host' }, /hostname has the label "evil host"/],
    ['a hostname with a slash', { hostname: 'a/b' }, /hostname has the label/],
    ['a label starting with a hyphen', { hostname: '-a.example' }, /hostname has the label "-a"/],
    ['an empty label', { hostname: 'a..b' }, /hostname has the label ""/],
    ['a 64-character label', { hostname: 'a'.repeat(64) }, /hostname has the label/],
    ['a 254-character hostname', { hostname: ('a'.repeat(62) + '.').repeat(4) + 'ab' }, /longer than 253/],
    ['a long os', { platform: { os: 'x'.repeat(65), architecture: 'x64' } }, /platform\.os is longer than 64/],
    ['a control character', { platform: { os: 'linux', architecture: 'x\u001b[2J' } }, /architecture contains/],
    ['a long engine version', { engineVersion: '1'.repeat(129) }, /engineVersion is longer than 128/],
    ['negative CPUs', { resources: { nanoCpus: -1, memoryBytes: 0, pids: 0 } }, /resources\.nanoCpus is -1/],
    ['4097 CPUs', { resources: { nanoCpus: 4097e9, memoryBytes: 0, pids: 0 } }, /nanoCpus .* outside 0 to/],
    ['65 TiB', { resources: { nanoCpus: 0, memoryBytes: 65 * 1024 ** 4, pids: 0 } }, /resources\.memoryBytes/],
    ['fractional memory', { resources: { nanoCpus: 0, memoryBytes: 1.5, pids: 0 } }, /resources\.memoryBytes/],
    ['negative pids', { resources: { nanoCpus: 0, memoryBytes: 0, pids: -5 } }, /resources\.pids is -5/],
    ['too many labels', { engineLabels: manyLabels }, /engineLabels has 65 labels/],
    ['an empty label key', { engineLabels: { '': 'v' } }, /engineLabels has an empty key/],
    ['a long label key', { engineLabels: { ['k'.repeat(257)]: 'v' } }, /engineLabels key .* longer than 256/],
    ['a long label value', { engineLabels: { k: 'v'.repeat(4097) } }, /engineLabels\["k"\] is longer than 4096/],
  ])('refuses %s, naming the field', (_what, change, message) => {
    expect(refusal({ ...good, ...change })).toMatch(message);
  });
});

describe('DescriptionWriteLimiter', () => {
  it('allows one write per node per interval, each node on its own clock', () => {
    const limiter = new DescriptionWriteLimiter(10_000);
    expect(limiter.tryWrite('w1', 0)).toBe(true);
    expect(limiter.tryWrite('w1', 1)).toBe(false);
    expect(limiter.tryWrite('w2', 5_000)).toBe(true);
    expect(limiter.tryWrite('w1', 9_999)).toBe(false);
    expect(limiter.tryWrite('w1', 10_000)).toBe(true);
    expect(limiter.tryWrite('w2', 14_999)).toBe(false);
    expect(limiter.tryWrite('w2', 15_000)).toBe(true);
  });

  it('forgets nodes whose interval has passed, so it holds only recent writers', () => {
    const limiter = new DescriptionWriteLimiter(10_000);
    for (let i = 0; i < 100; i++) limiter.tryWrite(`n${i}`, 0);
    expect(limiter.size()).toBe(100);
    limiter.tryWrite('late', 10_000);
    expect(limiter.size()).toBe(1);
  });
});
