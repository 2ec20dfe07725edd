import { describe, expect, it } from 'vitest';
import { dfSummaryRows, dfVerbose, type DiskUsageJson } from './system-df-format.js';

const nowMs = Date.UTC(2026, 0, 2);
const created = nowMs / 1000 - 3600;

const du: DiskUsageJson = {
  LayersSize: 5_000_000,
  Images: [
    // Used by a container: its unique 1 MB is not reclaimable.
    {
      Id: 'sha256:' + 'a'.repeat(64),
      RepoTags: ['reg:5000/lab/app:1'],
      RepoDigests: [],
      Created: created,
      Size: 4_000_000,
      SharedSize: 3_000_000,
      Containers: 1,
    },
    {
      Id: 'sha256:' + 'b'.repeat(64),
      RepoTags: [],
      RepoDigests: [],
      Created: created,
      Size: 4_000_000,
      SharedSize: 3_000_000,
      Containers: 0,
    },
  ],
  Containers: [
    {
      Id: 'c'.repeat(64),
      Names: ['/web'],
      Image: 'reg:5000/lab/app:1',
      Command: 'sleep 300',
      Created: created,
      Ports: [],
      Labels: {},
      State: 'running',
      Status: 'Up 1 hour',
      SizeRw: 2_000,
      SizeRootFs: 4_002_000,
      Mounts: [{ Driver: 'local' }, {}],
    },
    {
      Id: 'd'.repeat(64),
      Names: ['/old'],
      Image: 'reg:5000/lab/app:1',
      Command: 'true',
      Created: created,
      Ports: [],
      Labels: {},
      State: 'exited',
      Status: 'Exited (0) 1 hour ago',
      SizeRw: 500,
      SizeRootFs: 4_000_500,
    },
  ],
  Volumes: [
    { Name: 'data', UsageData: { Size: 1_048_576, RefCount: 1 } },
    { Name: 'spare', UsageData: { Size: 1_000, RefCount: 0 } },
  ],
  BuildCache: [],
};

describe('system df output', () => {
  it('sums each kind as the docker CLI does: totals, active ones, sizes and what could be freed', () => {
    expect(dfSummaryRows(du)).toEqual([
      ['Images', '2', '1', '5MB', '4MB (80%)'],
      ['Containers', '2', '1', '2.5kB', '500B (20%)'],
      ['Local Volumes', '2', '1', '1.05MB', '1kB (0%)'],
      ['Build Cache', '0', '0', '0B', '0B'],
    ]);
  });

  it('says 0B without a percentage when a kind takes nothing, and copes with kinds not measured (null)', () => {
    const rows = dfSummaryRows({ LayersSize: 0, Images: null, Containers: null, Volumes: null, BuildCache: null });
    expect(rows.map((r) => r.slice(1))).toEqual([
      ['0', '0', '0B', '0B'],
      ['0', '0', '0B', '0B'],
      ['0', '0', '0B', '0B'],
      ['0', '0', '0B', '0B'],
    ]);
  });

  it('-v lists each image (unique size = size − shared), container (its changes) and volume (links, size)', () => {
    const out = dfVerbose(du, nowMs);
    const lines = out.split('\n');
    expect(lines[0]).toBe('Images space usage:');
    expect(out).toMatch(/reg:5000\/lab\/app\s+1\s+aaaaaaaaaaaa\s+1 hour ago\s+4MB\s+3MB\s+1MB\s+1\n/);
    expect(out).toMatch(/<none>\s+<none>\s+bbbbbbbbbbbb\s+1 hour ago\s+4MB\s+3MB\s+1MB\s+0\n/);
    expect(out).toContain('\nContainers space usage:\n\n');
    expect(out).toMatch(/cccccccccccc\s+reg:5000\/lab\/app:1\s+"sleep 300"\s+1\s+2kB\s+1 hour ago\s+Up 1 hour\s+web\n/);
    expect(out).toContain('\nLocal Volumes space usage:\n\n');
    expect(out).toMatch(/data\s+1\s+1.05MB\n/);
    expect(out).toMatch(/spare\s+0\s+1kB\n/);
    expect(out.endsWith('\nBuild cache usage: 0B\n')).toBe(true);
  });
});
