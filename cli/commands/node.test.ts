import { describe, expect, it } from 'vitest';
import type { DockerNode } from '../../lib/api-client/swarm-types.js';
import type { ApiClient } from '../../lib/api-client/client.js';
import { TswarmError } from '../../lib/errors.js';
import { managerStatusText, nodeRow, parseNodeFilters, updateNodeSpec } from './node.js';

const worker: DockerNode = {
  ID: 'w1id',
  Version: { Index: 7 },
  CreatedAt: '2024-01-01T00:00:00.000Z',
  UpdatedAt: '2024-01-01T00:00:01.000Z',
  Spec: { Labels: { zone: 'a' }, Role: 'worker', Availability: 'drain' },
  Description: {
    Hostname: 'w1',
    Platform: { Architecture: 'x86_64', OS: 'linux' },
    Resources: { NanoCPUs: 2e9, MemoryBytes: 1 << 30 },
    Engine: { EngineVersion: '0.1.0' },
  },
  Status: { State: 'ready', Addr: '192.168.77.21' },
};

describe('tswarm node', () => {
  it('turns --filter flags into Docker’s filters, same keys as alternatives', () => {
    expect(parseNodeFilters(['role=manager', 'name=m1', 'name=m2', 'node.label=zone=a', 'id=ab'])).toEqual({
      role: ['manager'],
      name: ['m1', 'm2'],
      'node.label': ['zone=a'],
      id: ['ab'],
    });
    expect(() => parseNodeFilters(['colour=red'])).toThrow('unknown filter "colour"');
    expect(() => parseNodeFilters(['role=boss'])).toThrow('invalid role filter "boss"');
    expect(() => parseNodeFilters(['name='])).toThrow('invalid filter "name="');
  });

  it('prints a Docker node as the row `node ls --format json` always printed', () => {
    expect(nodeRow(worker)).toEqual({
      id: 'w1id',
      hostname: 'w1',
      status: 'Ready',
      statusMessage: '',
      availability: 'Drain',
      role: 'worker',
      managerStatus: '',
      managerAddr: '',
      labels: { zone: 'a' },
      engineVersion: '0.1.0',
      platform: { os: 'linux', architecture: 'x86_64' },
      resources: { nanoCpus: 2e9, memoryBytes: 1 << 30 },
      version: 7,
      createdAtMs: Date.parse('2024-01-01T00:00:00.000Z'),
      updatedAtMs: Date.parse('2024-01-01T00:00:01.000Z'),
    });
  });

  it('names a manager Leader, Reachable or Unreachable', () => {
    const manager = (leader: boolean, reachability: string): DockerNode => ({
      ...worker,
      ManagerStatus: { Leader: leader, Reachability: reachability, Addr: '192.168.77.11:2377' },
    });
    expect(managerStatusText(manager(true, 'reachable'))).toBe('Leader');
    expect(managerStatusText(manager(false, 'reachable'))).toBe('Reachable');
    expect(managerStatusText(manager(false, 'unknown'))).toBe('Unreachable');
    expect(nodeRow(manager(false, 'reachable'))).toMatchObject({ role: 'manager', managerAddr: '192.168.77.11:2377' });
  });
});

describe('tswarm node update', () => {
  /** A daemon whose node moves on by itself (its heartbeats) `movesBy` times, or has its spec changed by another operator. */
  function fakeApi(opts: { movesBy: number; specChangedBetween?: boolean }) {
    let node: DockerNode = { ...worker, Spec: { ...worker.Spec, Labels: { ...worker.Spec.Labels } } };
    const written: unknown[] = [];
    let moves = opts.movesBy;
    const api = {
      json: async (method: string, _path: string, o: { query?: { version?: number }; json?: unknown }) => {
        if (method === 'GET') return structuredClone(node);
        if (moves > 0) {
          moves--;
          const Spec = opts.specChangedBetween ? { ...node.Spec, Availability: 'pause' as const } : node.Spec;
          node = { ...node, Spec, Version: { Index: node.Version.Index + 1 } };
        }
        if (o.query?.version !== node.Version.Index)
          throw new TswarmError('CONFLICT', `node ${node.ID} changed since it was read`);
        written.push(o.json);
        return undefined;
      },
    };
    return { api: api as unknown as ApiClient, written };
  }

  it('applies the change again when only the node itself moved on (a heartbeat), a bounded number of times', async () => {
    const once = fakeApi({ movesBy: 1 });
    await updateNodeSpec(once.api, 'w1', (spec) => (spec.Availability = 'active'));
    expect(once.written).toEqual([{ ...worker.Spec, Availability: 'active' }]);
    const always = fakeApi({ movesBy: 100 });
    await expect(updateNodeSpec(always.api, 'w1', (spec) => (spec.Availability = 'active'))).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    expect(always.written).toEqual([]);
  });

  it("keeps another operator's change to the spec a conflict, not overwritten", async () => {
    const raced = fakeApi({ movesBy: 1, specChangedBetween: true });
    await expect(updateNodeSpec(raced.api, 'w1', (spec) => (spec.Availability = 'active'))).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    expect(raced.written).toEqual([]);
  });
});
