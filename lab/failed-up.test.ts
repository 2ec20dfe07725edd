import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  FAILED_LOG_TAIL_LINES,
  failedLogsDir,
  failedUpReport,
  formatFailedUp,
  keepLabLogs,
  notReadyHosts,
  type NodeRow,
} from './failed-up.js';
import type { HostState, LabState } from './state.js';

const hosts = ['m1', 'm2', 'm3', 'w1', 'w2'];

describe('notReadyHosts', () => {
  it('lists hosts that are Down or missing from node ls, with what node ls says', () => {
    const nodes: NodeRow[] = [
      { hostname: 'm1', status: 'Ready' },
      { hostname: 'm2', status: 'Ready' },
      { hostname: 'm3', status: 'Down', statusMessage: 'heartbeat failure' },
      { hostname: 'w1', status: 'Ready' },
    ];
    expect(notReadyHosts(hosts, nodes)).toEqual([
      { host: 'm3', why: 'status Down (heartbeat failure)' },
      { host: 'w2', why: 'not a node of the swarm' },
    ]);
  });

  it('counts a host Ready when one of its nodes is Ready (a stale Down node of an earlier join beside it)', () => {
    const nodes: NodeRow[] = hosts.map((h) => ({ hostname: h, status: 'Ready' }));
    nodes.push({ hostname: 'w1', status: 'Down' });
    expect(notReadyHosts(hosts, nodes)).toEqual([]);
  });

  it('suspects every host when no manager answered node ls', () => {
    expect(notReadyHosts(['m1', 'w1'], undefined)).toEqual([
      { host: 'm1', why: 'no manager answered node ls' },
      { host: 'w1', why: 'no manager answered node ls' },
    ]);
  });
});

describe('the kept logs of a failed lab up', () => {
  const made: string[] = [];
  afterEach(async () => {
    for (const dir of made.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  function host(name: string, dir: string): HostState {
    return {
      name,
      role: name.startsWith('m') ? 'manager' : 'worker',
      addr: '192.168.77.11',
      netns: `tsl-t-${name}`,
      dataDir: join(dir, name, 'data'),
      socket: join(dir, name, 'tswarmd.sock'),
      logFile: join(dir, `${name}-tswarmd.log`),
      pid: 0,
      startTime: '',
      desired: 'running',
    };
  }

  it('copies each log out of the lab, and reports the tail of each not-Ready host only', async () => {
    const root = await mkdtemp(join(tmpdir(), 'failed-up-test-'));
    made.push(root);
    const state: LabState = {
      formatVersion: 1,
      name: 'fu',
      createdAtMs: 0,
      phase: 'up',
      partition: null,
      hosts: [host('m1', root), host('w1', root), host('w2', root)],
    };
    await writeFile(state.hosts[0]!.logFile, 'm1 line\n');
    const w1Lines = Array.from({ length: 50 }, (_, i) => `w1 line ${i + 1}`);
    await writeFile(state.hosts[1]!.logFile, `${w1Lines.join('\n')}\n`);
    // w2 never started: no log, which must not fail the copy.
    const kept = await keepLabLogs(state, 'timed out waiting', Date.UTC(2026, 0, 2, 3, 4, 5, 6));
    made.push(kept);
    expect(kept).toBe(failedLogsDir('fu', Date.UTC(2026, 0, 2, 3, 4, 5, 6)));
    expect(kept).toMatch(/tswarm-lab-failed-fu-2026-01-02T03-04-05-006Z$/);
    expect((await readdir(kept)).sort()).toEqual(['error.txt', 'm1.log', 'w1.log']);
    expect(await readFile(join(kept, 'error.txt'), 'utf8')).toBe('timed out waiting\n');

    const report = failedUpReport(state, kept, {
      host: 'm1',
      nodes: [
        { hostname: 'm1', status: 'Ready', role: 'manager', managerStatus: 'Leader' },
        { hostname: 'w1', status: 'Down', role: 'worker' },
      ],
    });
    expect(report.notReady.map((h) => h.host)).toEqual(['w1', 'w2']);
    expect(report.tails['w1']!.split('\n')).toEqual(w1Lines.slice(-FAILED_LOG_TAIL_LINES));
    expect(report.tails['w2']).toBe('(no log)');

    const text = formatFailedUp(report);
    expect(text).toContain(`kept in ${kept}`);
    expect(text).toContain('node ls on m1:\n  m1  Ready  manager Leader\n  w1  Down  worker');
    expect(text).toContain('Not Ready: w1 (status Down), w2 (not a node of the swarm)');
    expect(text).toContain('w1 line 50');
    expect(text).not.toContain('w1 line 20\n');
    expect(text).not.toContain('m1 line');
  });
});
