import { describe, expect, it } from 'vitest';
import { containerRows, formatPort, humanBinaryBytes, humanBytes, statsRows } from './engine-format.js';
import type { ContainerSummaryJson, StatsJson } from './container-api.js';

const GiB = 1024 ** 3;

/** A daemon's stats answer: CPU times (ns) now and a second before, memory in bytes. */
function stats(
  id: string,
  cpu: { before: number; now: number; systemBefore: number; systemNow: number; cpus: number },
  memory: { usage: number; limit: number; inactiveFile?: number },
): StatsJson {
  return {
    id,
    name: `/c-${id.slice(0, 3)}`,
    cpu_stats: { cpu_usage: { total_usage: cpu.now }, system_cpu_usage: cpu.systemNow, online_cpus: cpu.cpus },
    precpu_stats: { cpu_usage: { total_usage: cpu.before }, system_cpu_usage: cpu.systemBefore },
    memory_stats: {
      usage: memory.usage,
      limit: memory.limit,
      stats: memory.inactiveFile !== undefined ? { inactive_file: memory.inactiveFile } : {},
    },
    pids_stats: { current: 3 },
  };
}

describe('docker stats rows', () => {
  it('computes CPU as docker stats does (container over host time, times the CPUs), memory against its limit', () => {
    // 0.5 s of CPU while the host's 4 CPUs ran 4 s: half of one CPU.
    const half = stats(
      'a'.repeat(64),
      { before: 1e9, now: 1.5e9, systemBefore: 100e9, systemNow: 104e9, cpus: 4 },
      { usage: 512 * 1024 * 1024, limit: GiB },
    );
    // No earlier sample (the container just started, or stopped): no CPU figure; page cache not counted.
    const fresh = stats(
      'b'.repeat(64),
      { before: 0, now: 7e9, systemBefore: 0, systemNow: 0, cpus: 4 },
      { usage: 768 * 1024 * 1024, limit: 4 * GiB, inactiveFile: 256 * 1024 * 1024 },
    );
    expect(statsRows([half, fresh])).toEqual([
      ['a'.repeat(12), 'c-aaa', '50.00%', '512MiB / 1GiB', '50.00%', '3'],
      ['b'.repeat(12), 'c-bbb', '0.00%', '512MiB / 4GiB', '12.50%', '3'],
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

describe('docker ps rows', () => {
  it('shows the daemon’s summary in docker ps’s columns', () => {
    const nowMs = 1_700_000_000_000;
    const web: ContainerSummaryJson = {
      Id: 'f'.repeat(64),
      Names: ['/web'],
      Image: 'busybox:1',
      Command: 'httpd -f -p 80 -h /www',
      Created: nowMs / 1000 - 180,
      Ports: [
        { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
        { PrivatePort: 53, Type: 'udp' },
      ],
      Labels: {},
      State: 'running',
      Status: 'Up 3 minutes',
    };
    expect(containerRows([web], nowMs)).toEqual([
      [
        'f'.repeat(12),
        'busybox:1',
        '"httpd -f -p 80 -h /…"',
        '3 minutes ago',
        'Up 3 minutes',
        '0.0.0.0:8080->80/tcp, 53/udp',
        'web',
      ],
    ]);
    // docker ps -s: the changes, then with the image, in decimal units.
    expect(containerRows([{ ...web, SizeRw: 300_000, SizeRootFs: 4_564_000 }], nowMs, true)[0]?.at(-1)).toBe(
      '300kB (virtual 4.56MB)',
    );
    expect(containerRows([web], nowMs, true)[0]?.at(-1)).toBe('0B (virtual 0B)');
    expect([120e6, 100e3, 4.5e6, 1e9, 999].map(humanBytes)).toEqual(['120MB', '100kB', '4.5MB', '1GB', '999B']);
    expect(formatPort({ IP: '127.0.0.1', PrivatePort: 53, PublicPort: 5353, Type: 'udp' })).toBe(
      '127.0.0.1:5353->53/udp',
    );
  });
});
