import { describe, expect, it } from 'vitest';
import type { DockerNode } from '../../lib/api-client/swarm-types.js';
import { managerStatusText, nodeRow, parseNodeFilters } from './node.js';

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
