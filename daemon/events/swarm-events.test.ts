import { describe, expect, it } from 'vitest';
import {
  NodeAvailability,
  NodeRole,
  NodeState,
  Reachability,
  UpdateState,
  type Node,
  type Service,
} from '../../gen/tswarm/v1/objects.js';
import type { ChangeEvent } from '../../manager/store/watch.js';
import { testTask } from '../../manager/store/testing/test-store.js';
import { swarmEventOf } from './swarm-events.js';

function node(over: Partial<Node> = {}): Node {
  return {
    id: 'n1',
    spec: {
      annotations: { name: '', labels: {} },
      desiredRole: NodeRole.NODE_ROLE_WORKER,
      availability: NodeAvailability.NODE_AVAILABILITY_ACTIVE,
    },
    description: { hostname: 'w1', engineVersion: '', engineLabels: {} },
    status: { state: NodeState.NODE_STATE_READY, message: '', addr: '' },
    role: NodeRole.NODE_ROLE_WORKER,
    trustRootDigest: '',
    ...over,
  } as Node;
}

function service(replicas: number, image: string, over: Partial<Service> = {}): Service {
  return {
    id: 's1',
    spec: {
      annotations: { name: 'web', labels: {} },
      taskTemplate: { container: { image } },
      replicated: { replicas },
    },
    ...over,
  } as Service;
}

const change = (c: Partial<ChangeEvent> & Pick<ChangeEvent, 'kind' | 'object'>): ChangeEvent => ({
  action: 'create',
  version: 7,
  timestampMs: 1_700_000_000_123,
  ...c,
});

describe('swarm events from store changes, as dockerd makes them', () => {
  it('names a created node by its hostname, at the time the change was proposed', () => {
    expect(swarmEventOf(change({ kind: 'node', object: node() }))).toEqual({
      type: 'node',
      action: 'create',
      id: 'n1',
      attributes: { name: 'w1' },
      timeNano: 1_700_000_000_123_000_000n,
    });
  });

  it('tells the old and new availability, role, state, leadership and reachability of an updated node', () => {
    const before = node({
      managerStatus: { addr: 'a', leader: true, reachability: Reachability.REACHABILITY_REACHABLE },
    });
    const after = node({
      spec: { ...before.spec!, availability: NodeAvailability.NODE_AVAILABILITY_DRAIN },
      role: NodeRole.NODE_ROLE_MANAGER,
      status: { state: NodeState.NODE_STATE_DOWN, message: '', addr: '' },
      managerStatus: { addr: 'a', leader: false, reachability: Reachability.REACHABILITY_UNREACHABLE },
    });
    expect(
      swarmEventOf(change({ kind: 'node', action: 'update', object: after, previous: before }))!.attributes,
    ).toEqual({
      name: 'w1',
      'availability.old': 'active',
      'availability.new': 'drain',
      'role.old': 'worker',
      'role.new': 'manager',
      'state.old': 'ready',
      'state.new': 'down',
      'leader.old': 'true',
      'leader.new': 'false',
      'reachability.old': 'reachable',
      'reachability.new': 'unreachable',
    });
    // A label change alone: an update naming the node and nothing else.
    expect(
      swarmEventOf(change({ kind: 'node', action: 'update', object: node(), previous: node() }))!.attributes,
    ).toEqual({
      name: 'w1',
    });
  });

  it('tells a service’s replicas, image and update state as they change', () => {
    const e = swarmEventOf(
      change({
        kind: 'service',
        action: 'update',
        object: service(3, 'busybox:2', {
          updateStatus: { state: UpdateState.UPDATE_STATE_UPDATING, startedAtMs: 0, completedAtMs: 0, message: '' },
        }),
        previous: service(1, 'busybox:1'),
      }),
    );
    expect(e).toMatchObject({ type: 'service', action: 'update', id: 's1' });
    expect(e!.attributes).toEqual({
      name: 'web',
      'image.old': 'busybox:1',
      'image.new': 'busybox:2',
      'replicas.old': '1',
      'replicas.new': '3',
      'updatestate.new': 'updating',
    });
    const done = swarmEventOf(
      change({
        kind: 'service',
        action: 'update',
        object: service(3, 'busybox:2', {
          updateStatus: {
            state: UpdateState.UPDATE_STATE_ROLLBACK_COMPLETED,
            startedAtMs: 0,
            completedAtMs: 0,
            message: '',
          },
        }),
        previous: service(3, 'busybox:2', {
          updateStatus: { state: UpdateState.UPDATE_STATE_UPDATING, startedAtMs: 0, completedAtMs: 0, message: '' },
        }),
      }),
    );
    expect(done!.attributes).toEqual({
      name: 'web',
      'updatestate.old': 'updating',
      'updatestate.new': 'rollback_completed',
    });
  });

  it('makes a removal event of the object as it was, and none of tasks (Docker has no task events)', () => {
    expect(swarmEventOf(change({ kind: 'service', action: 'remove', object: service(1, 'busybox:1') }))).toMatchObject({
      type: 'service',
      action: 'remove',
      attributes: { name: 'web' },
    });
    expect(swarmEventOf(change({ kind: 'task', object: testTask('t1', 's1', 'n1') }))).toBeUndefined();
  });
});
