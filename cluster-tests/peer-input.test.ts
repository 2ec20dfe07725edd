import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cp, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { Lab } from '../lab/lab.js';
import { labPaths } from '../lab/paths.js';
import { waitFor } from '../lib/poll.js';
import { DESCRIPTION_WRITE_INTERVAL_MS } from '../manager/dispatcher/description-rules.js';
import { swarmCli } from './support/swarm-cli.js';
import { apiGet, rawCall as rawCallFrom, storeDigest as digestOf } from './support/attack.js';

// Input from peers (docs/security.md, "Input from peers"), replayed as an attacker holding a
// worker's files would: with w1's own certificate and key, raw heartbeats that rename the node
// with a control character or claim absurd memory; a flood of anonymous joins with a well-formed
// token of another cluster; and descriptions alternating as fast as the attacker can send them.
// Each lie is refused with the field named and the store does not move; the flood is cut off by
// the per-source rate limit before any CSR is verified; alternation costs at most one store write
// per DESCRIPTION_WRITE_INTERVAL_MS.
const name = `pi${Math.floor(Math.random() * 1e6).toString(36)}`;
let lab: Lab | undefined;
const M1 = '192.168.77.11:2377';

const { ok, nodeRows, dataDir } = swarmCli(() => lab!);
const api = <T>(host: string, path: string) => apiGet<T>(lab!, host, path);
const storeDigest = () => digestOf(lab!, 'm1');
/** lib/testing/raw-call.js in `from`'s namespace, to m1: one call (or a flood) presenting the files in `certs`. */
const rawCall = <T = { code: string; message: string }>(from: string, certs: string, ...args: string[]) =>
  rawCallFrom<T>(lab!, from, certs, M1, ...args);

interface NodeShape {
  ID: string;
  Version: { Index: number };
  Spec: unknown;
  Description: { Hostname: string };
}

describe('input from peers: lies refused, floods cut off, alternation bounded', () => {
  let stolen = '';
  let w1Id = '';

  beforeAll(async () => {
    lab = await Lab.up({ name, managers: 1, workers: 1 });
    await ok('m1', 'init');
    await ok('w1', 'join', '--token', (await ok('m1', 'join-token', 'worker', '-q')).trim(), M1);
    await waitFor(async () => (await nodeRows('m1')).find((r) => r.hostname === 'w1')?.status === 'Ready', {
      what: 'w1 Ready',
      timeoutMs: 90_000,
      intervalMs: 500,
    });
    w1Id = (await nodeRows('m1')).find((r) => r.hostname === 'w1')!.id;
    stolen = await mkdtemp(join(labPaths.dir(lab.name), 'w1-certs-'));
    await cp(join(dataDir('w1'), 'certificates'), stolen, { recursive: true });
  });

  afterAll(async () => {
    await lab?.down();
  });

  it('refuses a heartbeat that renames the node with a control character or claims a petabyte of memory; the store does not move', async () => {
    const before = await storeDigest();
    const renamed = await rawCall('w1', stolen, 'heartbeat-as', 'm1\u0007', String(8 * 2 ** 30));
    expect(renamed.code).toBe('INVALID_ARGUMENT');
    expect(renamed.message).toMatch(/hostname/);
    const tooLong = await rawCall('w1', stolen, 'heartbeat-as', 'a'.repeat(300), String(8 * 2 ** 30));
    expect(tooLong.code).toBe('INVALID_ARGUMENT');
    const greedy = await rawCall('w1', stolen, 'heartbeat-as', 'w1', String(2 ** 50)); // 1 PiB, past 64 TiB
    expect(greedy.code).toBe('INVALID_ARGUMENT');
    expect(greedy.message).toMatch(/memoryBytes/);
    // Past 2^53 the server cannot even decode the int64 into a number: refused before any handler.
    const undecodable = await rawCall('w1', stolen, 'heartbeat-as', 'w1', String(2 ** 62));
    expect(undecodable.code).not.toBe('OK');
    expect(await storeDigest()).toBe(before);
    expect((await api<NodeShape>('m1', `/nodes/${w1Id}`)).Description.Hostname).toBe('w1');
  });

  it('cuts off a flood of anonymous joins with another cluster’s token; no node is added', async () => {
    const nodesBefore = (await nodeRows('m1')).length;
    const { codes } = await rawCall<{ codes: Record<string, number> }>('w1', 'none', 'join-flood', '20');
    expect(codes['OK']).toBeUndefined();
    // The token's CA digest is refused first (cheap); past the bucket, calls are not even looked at.
    expect(codes['PERMISSION_DENIED']).toBeGreaterThan(0);
    expect(codes['RESOURCE_EXHAUSTED']).toBeGreaterThan(0);
    expect((await nodeRows('m1')).length).toBe(nodesBefore);
  });

  it('writes descriptions alternating as fast as they are sent at most once per interval', async () => {
    const versionOf = async () => (await api<NodeShape>('m1', `/nodes/${w1Id}`)).Version.Index;
    const versionBefore = await versionOf();
    const startMs = Date.now();
    const beats = 10;
    for (let i = 0; i < beats; i++) {
      const r = await rawCall('w1', stolen, 'heartbeat-as', 'w1', String(8 * 2 ** 30), i % 2 === 0 ? 'a' : 'b');
      expect(r.code).toBe('OK');
    }
    const elapsedMs = Date.now() - startMs;
    // Other writers (w1's own description coming back, its status) go through the same limit,
    // or do not write in a steady swarm: each version step here is a description write.
    const writes = (await versionOf()) - versionBefore;
    const allowed = Math.floor(elapsedMs / DESCRIPTION_WRITE_INTERVAL_MS) + 1;
    expect(allowed).toBeLessThan(beats); // the bound is tighter than one write per beat
    expect(writes).toBeLessThanOrEqual(allowed);
  });
});
