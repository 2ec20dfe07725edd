import { describe, expect, it } from 'vitest';
import { containerJson, humanBinaryBytes, statsRows } from './engine-format.js';
import type { ContainerSummary } from '../../gen/lite/tswarm/v1/engine.js';

const sample = (id: string, cpuUsageNs: number, readAtMs: number, memoryLimitBytes = 0) => ({
  id,
  name: `c-${id}`,
  cpuUsageNs,
  memoryBytes: 512 * 1024 * 1024,
  memoryLimitBytes,
  pids: 3,
  readAtMs,
});

describe('docker stats rows', () => {
  it('computes CPU over the time between samples, memory against its limit or the host’s', () => {
    const rows = statsRows(
      [sample('a'.repeat(25), 1e9, 1000, 1024 ** 3)],
      [sample('a'.repeat(25), 1.5e9, 2000, 1024 ** 3), sample('b'.repeat(25), 7e9, 2000)],
      4 * 1024 ** 3,
    );
    expect(rows).toEqual([
      ['a'.repeat(12), `c-${'a'.repeat(25)}`, '50.00%', '512MiB / 1GiB', '50.00%', '3'],
      // No earlier sample: it just started, so no CPU figure yet; unlimited memory counts against the host's.
      ['b'.repeat(12), `c-${'b'.repeat(25)}`, '0.00%', '512MiB / 4GiB', '12.50%', '3'],
    ]);
  });

  it('prints binary units as docker stats does', () => {
    expect([humanBinaryBytes(0), humanBinaryBytes(1536), humanBinaryBytes(64 * 1024 * 1024)]).toEqual([
      '0B',
      '1.5KiB',
      '64MiB',
    ]);
  });
});

describe('ps --format json', () => {
  it("names each port's protocol, as the table does", () => {
    const c = {
      id: 'a',
      name: 'web',
      image: 'busybox',
      command: [],
      createdAtMs: 0,
      state: undefined,
      labels: {},
      ports: [{ hostIp: '', hostPort: 8080, containerPort: 80, protocol: 1 }],
    } as unknown as ContainerSummary;
    expect(containerJson(c)).toMatchObject({ ports: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] });
  });
});
