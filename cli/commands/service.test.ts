import { describe, expect, it } from 'vitest';
import type { DockerService, DockerTask } from '../../lib/api-client/swarm-types.js';
import { parsePlacementPref, progressLines, psRows, replicasText, serviceSpecFromFlags } from './service.js';

const noFlags = { constraint: [], placementPref: [], env: [], label: [], containerLabel: [] };

function task(id: string, slot: number, state: string, o: Partial<DockerTask> = {}): DockerTask {
  return {
    ID: id,
    Version: { Index: 1 },
    CreatedAt: '2026-01-01T00:00:00.000Z',
    UpdatedAt: '2026-01-01T00:00:00.000Z',
    ServiceID: 'svc',
    Slot: slot,
    Spec: { ContainerSpec: { Image: 'busybox' } },
    Status: { Timestamp: '2026-01-01T00:00:00.000Z', State: state, Message: '' },
    DesiredState: 'running',
    ...o,
  };
}

describe('service command', () => {
  it('builds Docker’s ServiceSpec from the flags, the command as Args', () => {
    const spec = serviceSpecFromFlags('busybox', ['sleep', '1d'], {
      ...noFlags,
      name: 'web',
      replicas: 4,
      constraint: ['node.role==worker'],
      placementPref: ['node.labels.zone'],
      reserveMemory: 64 * 2 ** 20,
      limitCpu: 1e9,
      replicasMaxPerNode: 2,
      env: ['A=1', undefined],
      label: [['team', 'a']],
    });
    expect(spec).toEqual({
      Name: 'web',
      Labels: { team: 'a' },
      TaskTemplate: {
        ContainerSpec: { Image: 'busybox', Args: ['sleep', '1d'], Env: ['A=1'] },
        Resources: { Limits: { NanoCPUs: 1e9 }, Reservations: { MemoryBytes: 64 * 2 ** 20 } },
        Placement: {
          Constraints: ['node.role==worker'],
          Preferences: [{ Spread: { SpreadDescriptor: 'node.labels.zone' } }],
          MaxReplicas: 2,
        },
      },
      Mode: { Replicated: { Replicas: 4 } },
    });
    expect(serviceSpecFromFlags('busybox', [], noFlags).Mode).toEqual({ Replicated: { Replicas: 1 } });
    expect(parsePlacementPref('spread=node.labels.zone')).toBe('node.labels.zone');
    expect(() => parsePlacementPref('node.labels.zone')).toThrow('Use spread=node.labels.<label>');
  });

  it('shows progress honestly: assigned, pending with the reason, converged only when all run', () => {
    const waiting = progressLines(3, [
      task('a', 1, 'assigned'),
      task('b', 2, 'pending', {
        Status: { Timestamp: '', State: 'pending', Message: '', Err: 'no suitable node (1 node not ready)' },
      }),
    ]);
    expect(waiting).toEqual({
      lines: [
        'overall progress: 0 out of 3 tasks',
        '1/3: assigned',
        '2/3: pending: no suitable node (1 node not ready)',
        '3/3: no task yet',
      ],
      converged: false,
    });
    const done = progressLines(2, [task('a', 1, 'running'), task('b', 2, 'running')]);
    expect(done.converged).toBe(true);
    expect(done.lines.at(-1)).toBe('verify: Service converged');
  });

  it('lists a service’s tasks as docker service ps: slot history under its latest task, node hostnames', () => {
    const service = { ID: 'svc', Spec: { Name: 'web' } } as DockerService;
    const rows = psRows(
      service,
      [
        task('old1111111111', 1, 'shutdown', { NodeID: 'n1', DesiredState: 'shutdown' }),
        task('new1111111111', 1, 'assigned', { NodeID: 'n2', CreatedAt: '2026-01-01T00:01:00.000Z' }),
      ],
      new Map([
        ['n1', 'w1'],
        ['n2', 'w2'],
      ]),
      Date.parse('2026-01-01T00:00:30.000Z'),
    );
    expect(rows).toEqual([
      ['new111111111', 'web.1', 'busybox', 'w2', 'Running', 'Assigned 30 seconds ago', ''],
      ['old111111111', ' \\_ web.1', 'busybox', 'w1', 'Shutdown', 'Shutdown 30 seconds ago', ''],
    ]);
    expect(
      replicasText({
        Spec: { Mode: { Replicated: { Replicas: 3 } } },
        ServiceStatus: { RunningTasks: 1, DesiredTasks: 3, CompletedTasks: 0 },
      } as DockerService),
    ).toBe('1/3');
  });
});
