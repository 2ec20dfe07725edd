import { describe, expect, it } from 'vitest';
import { NodeAvailability, NodeState, TaskState, type Node, type Task } from '../../gen/tswarm/v1/objects.js';
import { node, task, type SpecOptions } from '../tasks/testing/objects.js';
import { placeTasks, type Decisions } from './scheduler.js';
import { parseSpreadDescriptor } from './spread-tree.js';

const GiB = 2 ** 30;

function pendingTasks(n: number, spec: SpecOptions = {}, serviceId = 'svc'): Task[] {
  return Array.from({ length: n }, (_, i) => task({ id: `${serviceId}-t${i}`, serviceId, ...spec }));
}

function countsByNode(d: Decisions, nodes: readonly Node[]): Map<string, number> {
  const counts = new Map(nodes.map((n) => [n.id, 0]));
  for (const a of d.assignments) counts.set(a.nodeId, (counts.get(a.nodeId) ?? 0) + 1);
  return counts;
}

function nodesNamed(n: number, extra: (i: number) => Partial<Parameters<typeof node>[0]> = () => ({})): Node[] {
  return Array.from({ length: n }, (_, i) => node({ id: `n${String(i).padStart(4, '0')}`, ...extra(i) }));
}

describe('placeTasks: filters', () => {
  it('places only on ready, active nodes', () => {
    const nodes = [
      node({ id: 'down', state: NodeState.NODE_STATE_DOWN }),
      node({ id: 'paused', availability: NodeAvailability.NODE_AVAILABILITY_PAUSE }),
      node({ id: 'drained', availability: NodeAvailability.NODE_AVAILABILITY_DRAIN }),
      node({ id: 'ok' }),
    ];
    const d = placeTasks({ nodes, placed: [], unassigned: pendingTasks(3) });
    expect(d.assignments.map((a) => a.nodeId)).toEqual(['ok', 'ok', 'ok']);
    expect(d.pending).toEqual([]);
  });

  it('respects constraints on labels, engine labels and role', () => {
    const nodes = [
      node({ id: 'a', labels: { zone: 'eu' }, engineLabels: { disk: 'ssd' } }),
      node({ id: 'b', labels: { zone: 'eu' } }),
      node({ id: 'c', labels: { zone: 'us' }, engineLabels: { disk: 'ssd' } }),
      node({ id: 'm', role: 'manager', labels: { zone: 'eu' }, engineLabels: { disk: 'ssd' } }),
    ];
    const spec = { constraints: ['node.labels.zone==eu', 'engine.labels.disk==ssd', 'node.role!=manager'] };
    const d = placeTasks({ nodes, placed: [], unassigned: pendingTasks(4, spec) });
    expect(new Set(d.assignments.map((a) => a.nodeId))).toEqual(new Set(['a']));
  });

  it('counts what tasks already reserve, and what it places in the same batch', () => {
    const nodes = [node({ id: 'a', memoryBytes: 4 * GiB, nanoCpus: 2e9 })];
    const placed = [task({ id: 'old', serviceId: 'other', nodeId: 'a', reserveMemoryBytes: 2 * GiB })];
    const d = placeTasks({ nodes, placed, unassigned: pendingTasks(3, { reserveMemoryBytes: 1 * GiB }) });
    expect(d.assignments).toHaveLength(2);
    expect(d.pending).toEqual([{ taskId: 'svc-t2', reason: 'no suitable node (insufficient memory on 1 node)' }]);
  });

  it('does not count ended tasks, but counts tasks told to stop that have not stopped yet', () => {
    const nodes = [node({ id: 'a', nanoCpus: 2e9 })];
    const placed = [
      task({ id: 'failed', nodeId: 'a', reserveNanoCpus: 2e9, state: TaskState.TASK_STATE_FAILED }),
      task({ id: 'stopping', nodeId: 'a', reserveNanoCpus: 1e9, desired: TaskState.TASK_STATE_SHUTDOWN }),
    ];
    const d = placeTasks({ nodes, placed, unassigned: pendingTasks(2, { reserveNanoCpus: 1e9 }) });
    expect(d.assignments).toHaveLength(1);
    expect(d.pending[0]!.reason).toBe('no suitable node (insufficient CPU on 1 node)');
  });

  it('keeps at most --replicas-max-per-node tasks of the service on a node', () => {
    const nodes = nodesNamed(2);
    const placed = [task({ id: 'x', nodeId: 'n0000' })];
    const d = placeTasks({ nodes, placed, unassigned: pendingTasks(4, { maxReplicasPerNode: 2 }) });
    expect(countsByNode(d, nodes)).toEqual(
      new Map([
        ['n0000', 1],
        ['n0001', 2],
      ]),
    );
    expect(d.pending.map((p) => p.reason)).toEqual(['no suitable node (max replicas per node (2) reached on 2 nodes)']);
  });

  it('places on a node of a wanted platform, whatever the architecture is called', () => {
    const nodes = [node({ id: 'arm', arch: 'arm64' }), node({ id: 'amd', arch: 'x64' })];
    const spec = { platforms: [{ os: 'linux', architecture: 'amd64' }] };
    const d = placeTasks({ nodes, placed: [], unassigned: pendingTasks(2, spec) });
    expect(d.assignments.map((a) => a.nodeId)).toEqual(['amd', 'amd']);
  });
});

describe('placeTasks: why a task stays pending', () => {
  it('counts nodes per reason, most first, ties in pipeline order', () => {
    const nodes = [
      ...nodesNamed(3, () => ({ labels: { zone: 'eu' }, memoryBytes: GiB })),
      node({ id: 'us1', labels: { zone: 'us' } }),
      node({ id: 'us2', labels: { zone: 'us' } }),
      node({ id: 'down', state: NodeState.NODE_STATE_DOWN }),
    ];
    const spec = { constraints: ['node.labels.zone==eu'], reserveMemoryBytes: 2 * GiB };
    const d = placeTasks({ nodes, placed: [], unassigned: pendingTasks(2, spec) });
    expect(d.assignments).toEqual([]);
    const reason =
      'no suitable node (insufficient memory on 3 nodes; 2 nodes not matching constraint node.labels.zone==eu; 1 node not ready)';
    expect(d.pending).toEqual([
      { taskId: 'svc-t0', reason },
      { taskId: 'svc-t1', reason },
    ]);
  });

  it('names the first constraint each node fails', () => {
    const nodes = [node({ id: 'a', labels: { zone: 'us' } }), node({ id: 'b', labels: { zone: 'eu' } })];
    const spec = { constraints: ['node.labels.zone==eu', 'node.labels.disk==ssd'] };
    const d = placeTasks({ nodes, placed: [], unassigned: pendingTasks(1, spec) });
    expect(d.pending[0]!.reason).toBe(
      'no suitable node (1 node not matching constraint node.labels.zone==eu; 1 node not matching constraint node.labels.disk==ssd)',
    );
  });

  it('says so plainly when there are no nodes', () => {
    expect(placeTasks({ nodes: [], placed: [], unassigned: pendingTasks(1) }).pending[0]!.reason).toBe(
      'no suitable node',
    );
  });

  it('leaves a task with an unusable stored spec pending with the parse error', () => {
    const d = placeTasks({
      nodes: nodesNamed(1),
      placed: [],
      unassigned: [...pendingTasks(1, { constraints: ['zone=eu'] }, 'bad'), ...pendingTasks(1, {}, 'good')],
    });
    expect(d.assignments.map((a) => a.taskId)).toEqual(['good-t0']);
    expect(d.pending[0]!.reason).toContain('invalid constraint "zone=eu"');
  });
});

describe('placeTasks: spread', () => {
  it('fills the nodes with the fewest tasks of the service first, then the fewest tasks overall', () => {
    const nodes = nodesNamed(3);
    const placed = [
      task({ id: 'mine', serviceId: 'svc', nodeId: 'n0000' }),
      task({ id: 'other1', serviceId: 'other', nodeId: 'n0001' }),
      task({ id: 'other2', serviceId: 'other', nodeId: 'n0001' }),
    ];
    const d = placeTasks({ nodes, placed, unassigned: pendingTasks(2) });
    expect(d.assignments.map((a) => a.nodeId)).toEqual(['n0002', 'n0001']);
  });

  it('places 10,000 tasks on 100 nodes evenly in one pass', () => {
    const nodes = nodesNamed(100);
    const d = placeTasks({ nodes, placed: [], unassigned: pendingTasks(10_000) });
    expect(d.pending).toEqual([]);
    const counts = [...countsByNode(d, nodes).values()];
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(10_000);
  });

  it('evens out nodes that already run different numbers of tasks', () => {
    const nodes = nodesNamed(10);
    const placed = Array.from({ length: 45 }, (_, i) => task({ id: `p${i}`, nodeId: `n000${i % 5}` }));
    const d = placeTasks({ nodes, placed, unassigned: pendingTasks(55) });
    const counts = countsByNode(d, nodes);
    for (let i = 0; i < 5; i++) counts.set(`n000${i}`, counts.get(`n000${i}`)! + 9);
    expect(new Set(counts.values())).toEqual(new Set([10]));
  });

  it('spreads over the values of a label first, with unlabelled nodes as a group of their own', () => {
    // eu has 4 nodes, us 1, and two nodes have no zone: each of the 3 groups gets 1/3 of the tasks.
    const nodes = [
      ...nodesNamed(4, () => ({ labels: { zone: 'eu' } })),
      node({ id: 'us', labels: { zone: 'us' } }),
      node({ id: 'x1' }),
      node({ id: 'x2' }),
    ];
    const d = placeTasks({ nodes, placed: [], unassigned: pendingTasks(12, { spread: ['node.labels.zone'] }) });
    const counts = countsByNode(d, nodes);
    expect(['n0000', 'n0001', 'n0002', 'n0003'].map((id) => counts.get(id))).toEqual([1, 1, 1, 1]);
    expect(counts.get('us')).toBe(4);
    expect([counts.get('x1'), counts.get('x2')]).toEqual([2, 2]);
  });

  it('counts the tasks a full group already runs, and gives the rest to groups that can take them', () => {
    const nodes = [
      node({ id: 'eu1', labels: { zone: 'eu' }, memoryBytes: 2 * GiB }),
      node({ id: 'us1', labels: { zone: 'us' } }),
    ];
    const placed = [task({ id: 'p', nodeId: 'eu1', reserveMemoryBytes: GiB })];
    const spec = { spread: ['node.labels.zone'], reserveMemoryBytes: GiB };
    const d = placeTasks({ nodes, placed, unassigned: pendingTasks(4, spec) });
    // us starts 1 behind; eu1 then fills after one more and us takes the rest.
    expect(countsByNode(d, nodes)).toEqual(
      new Map([
        ['eu1', 1],
        ['us1', 3],
      ]),
    );
  });

  it('nests several preferences in the order given', () => {
    const nodes = [
      node({ id: 'eu-r1-a', labels: { zone: 'eu', rack: 'r1' } }),
      node({ id: 'eu-r1-b', labels: { zone: 'eu', rack: 'r1' } }),
      node({ id: 'eu-r2-a', labels: { zone: 'eu', rack: 'r2' } }),
      node({ id: 'us-r3-a', labels: { zone: 'us', rack: 'r3' } }),
    ];
    const spec = { spread: ['node.labels.zone', 'node.labels.rack'] };
    const d = placeTasks({ nodes, placed: [], unassigned: pendingTasks(8, spec) });
    const counts = countsByNode(d, nodes);
    expect(counts.get('us-r3-a')).toBe(4);
    expect(counts.get('eu-r2-a')).toBe(2);
    expect(counts.get('eu-r1-a')! + counts.get('eu-r1-b')!).toBe(2);
  });

  it('places several services in one batch, each spread over the nodes', () => {
    const nodes = nodesNamed(4);
    const unassigned = [...pendingTasks(4, {}, 'a'), ...pendingTasks(4, {}, 'b')];
    const d = placeTasks({ nodes, placed: [], unassigned });
    for (const svc of ['a', 'b']) {
      const ofService = d.assignments.filter((x) => x.taskId.startsWith(`${svc}-`)).map((x) => x.nodeId);
      expect(new Set(ofService).size).toBe(4);
    }
    expect([...countsByNode(d, nodes).values()]).toEqual([2, 2, 2, 2]);
  });

  it('spreads 999 tasks evenly over three zones of 500, 400 and 100 nodes, and within each zone', () => {
    const nodes = nodesNamed(1000, (i) => ({ labels: { zone: i < 500 ? 'a' : i < 900 ? 'b' : 'c' } }));
    const d = placeTasks({ nodes, placed: [], unassigned: pendingTasks(999, { spread: ['node.labels.zone'] }) });
    const byZone = new Map<string, number>();
    for (const a of d.assignments) {
      const zone = nodes.find((n) => n.id === a.nodeId)!.spec!.annotations!.labels['zone']!;
      byZone.set(zone, (byZone.get(zone) ?? 0) + 1);
    }
    expect(byZone).toEqual(
      new Map([
        ['a', 333],
        ['b', 333],
        ['c', 333],
      ]),
    );
    // Within a zone, the nodes stay even: c's 100 nodes take 333 tasks as 3 or 4 each.
    const counts = countsByNode(d, nodes);
    for (const zone of ['a', 'b', 'c']) {
      const inZone = nodes.filter((n) => n.spec!.annotations!.labels['zone'] === zone).map((n) => counts.get(n.id)!);
      expect(Math.max(...inZone) - Math.min(...inZone)).toBeLessThanOrEqual(1);
    }
  });
});

describe('placeTasks: tasks made for a node (global services)', () => {
  it('assigns each to its node when the node can take it, charging it before the others are placed', () => {
    const nodes = [node({ id: 'a', memoryBytes: 2 * GiB }), node({ id: 'b', memoryBytes: 2 * GiB })];
    const preassigned = [
      task({ id: 'g-a', serviceId: 'g', nodeId: 'a', state: TaskState.TASK_STATE_NEW, reserveMemoryBytes: GiB }),
      task({ id: 'g-b', serviceId: 'g', nodeId: 'b', state: TaskState.TASK_STATE_NEW, reserveMemoryBytes: GiB }),
    ];
    // Two replicated tasks of 1.5 GiB: the global tasks took 1 GiB of each node first.
    const unassigned = pendingTasks(2, { reserveMemoryBytes: 1.5 * GiB });
    const d = placeTasks({ nodes, placed: [], unassigned, preassigned });
    expect(d.assignments).toEqual([
      { taskId: 'g-a', nodeId: 'a' },
      { taskId: 'g-b', nodeId: 'b' },
    ]);
    expect(d.pending.map((p) => p.reason)).toEqual([
      'no suitable node (insufficient memory on 2 nodes)',
      'no suitable node (insufficient memory on 2 nodes)',
    ]);
  });

  it('leaves one pending with its node’s reason when the node cannot take it', () => {
    const nodes = [
      node({ id: 'small', memoryBytes: GiB }),
      node({ id: 'paused', availability: NodeAvailability.NODE_AVAILABILITY_PAUSE }),
    ];
    const big = (id: string, nodeId: string) =>
      task({ id, serviceId: 'g', nodeId, state: TaskState.TASK_STATE_NEW, reserveMemoryBytes: 2 * GiB });
    const d = placeTasks({ nodes, placed: [], unassigned: [], preassigned: [big('t1', 'small'), big('t2', 'gone')] });
    expect(d.assignments).toEqual([]);
    expect(d.pending).toEqual([
      { taskId: 't1', reason: 'no suitable node (insufficient memory on 1 node)' },
      { taskId: 't2', reason: 'node gone is not in the cluster' },
    ]);
  });
});

describe('placement preferences', () => {
  it('accept node and engine labels, and refuse anything else with the form to use', () => {
    expect(parseSpreadDescriptor('node.labels.zone')).toEqual({ kind: 'nodeLabel', label: 'zone' });
    expect(parseSpreadDescriptor('engine.labels.rack')).toEqual({ kind: 'engineLabel', label: 'rack' });
    expect(() => parseSpreadDescriptor('node.hostname')).toThrow(
      'invalid placement preference "spread=node.hostname": tasks can be spread over node.labels.<label> or engine.labels.<label>. Write it as spread=node.labels.zone',
    );
  });

  it('leave a task whose stored preference is unusable pending with the reason', () => {
    const d = placeTasks({ nodes: nodesNamed(1), placed: [], unassigned: pendingTasks(1, { spread: ['zone'] }) });
    expect(d.pending[0]!.reason).toContain('invalid placement preference "spread=zone"');
  });
});
