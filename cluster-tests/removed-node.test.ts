import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Lab } from '../lab/lab.js';
import { swarmCli } from './support/swarm-cli.js';
import { labPaths } from '../lab/paths.js';
import { waitFor } from '../lib/poll.js';
import { dockerOk } from './support/docker.js';

// A force-removed worker learns it from the managers' answer to its heartbeats (NODE_REMOVED):
// it stops heartbeating and renewing, deletes its keys as `leave` does, and `tswarm info` (and
// Docker's /info) say it was removed and how to come back. Before, it beat forever, refused, and
// its info said "active".
const name = `rn${Math.floor(Math.random() * 1e6).toString(36)}`;
let lab: Lab | undefined;
const M1 = '192.168.77.11:2377';

const { tswarm, ok, info, nodeRows: rows, dataDir } = swarmCli(() => lab!);

describe('a force-removed worker knows it', () => {
  beforeAll(async () => {
    lab = await Lab.up({ name, managers: 1, workers: 1 });
    await ok('m1', 'init');
    await ok('w1', 'join', '--token', (await ok('m1', 'join-token', 'worker', '-q')).trim(), M1);
    await waitFor(async () => (await rows('m1')).some((r) => r.hostname === 'w1' && r.status === 'Ready'), {
      what: 'w1 Ready on m1',
      timeoutMs: 60_000,
      intervalMs: 500,
    });
  });

  afterAll(async () => {
    await lab?.down();
  });

  it('stops heartbeating, says it was removed, keeps no keys; leave --force and join bring it back', async () => {
    const removedId = (await info('w1')).nodeId;
    expect((await tswarm('m1', 'node', 'rm', '--force', 'w1')).code).toBe(0);
    await waitFor(async () => (await info('w1')).localNodeState === 'error', {
      what: 'w1 to learn it was removed',
      timeoutMs: 30_000,
      intervalMs: 500,
    });
    const removed = await info('w1');
    expect(removed.nodeId).toBe(removedId);
    expect(removed.error).toContain('was removed from the swarm');
    expect(removed.error).toContain('`tswarm leave --force`, then `tswarm join`');
    const text = await ok('w1', 'info');
    expect(text).toMatch(/Swarm:\s+error/);
    expect(text).toContain('was removed from the swarm');
    const docker = await dockerOk(lab!, 'w1', ['info', '--format', '{{.Swarm.LocalNodeState}}|{{.Swarm.Error}}']);
    expect(docker).toMatch(/^error\|.*was removed from the swarm/);
    const node = JSON.parse(await readFile(join(dataDir('w1'), 'node.json'), 'utf8')) as { removed?: boolean };
    expect(node.removed).toBe(true);
    expect(existsSync(join(dataDir('w1'), 'raft'))).toBe(false);
    expect(await readdir(join(dataDir('w1'), 'certificates')).catch(() => [])).toEqual([]);
    // It beats no more: the loop logged its stop once, and nothing about heartbeats follows.
    const heartbeatLines = async () =>
      (await readFile(labPaths.daemonLog(lab!.name, 'w1'), 'utf8')).split('\n').filter((l) => /heartbeat/.test(l));
    const before = await heartbeatLines();
    expect(before.filter((l) => l.includes('heartbeats stop'))).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    expect(await heartbeatLines()).toEqual(before);
    expect((await rows('m1')).some((r) => r.id === removedId)).toBe(false);
    expect((await info('w1')).localNodeState).toBe('error');
    // Plain join is refused until the operator leaves, as the message says.
    const token = (await ok('m1', 'join-token', 'worker', '-q')).trim();
    const refused = await tswarm('w1', 'join', '--token', token, M1);
    expect(refused.code).toBe(1);
    await ok('w1', 'leave', '--force');
    expect((await info('w1')).localNodeState).toBe('inactive');
    await ok('w1', 'join', '--token', token, M1);
    await waitFor(async () => (await rows('m1')).some((r) => r.hostname === 'w1' && r.status === 'Ready'), {
      what: 'w1 back and Ready on m1',
      timeoutMs: 60_000,
      intervalMs: 500,
    });
    const back = await info('w1');
    expect(back.localNodeState).toBe('active');
    expect(back.nodeId).not.toBe(removedId);
  });
});
