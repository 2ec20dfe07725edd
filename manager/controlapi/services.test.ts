import { describe, expect, it } from 'vitest';
import { ContainerSpec, TaskState, type ServiceSpec } from '../../gen/tswarm/v1/objects.js';
import { TswarmError } from '../../lib/errors.js';
import { testStore } from '../store/testing/test-store.js';
import { taskSpec, task } from '../tasks/testing/objects.js';
import {
  createService,
  listServices,
  listTasks,
  removeService,
  resolveService,
  serviceIdFor,
  updateService,
} from './services.js';

function spec(
  name: string,
  o: { image?: string; replicas?: number; constraints?: string[]; spread?: string[] } = {},
): ServiceSpec {
  return {
    annotations: { name, labels: { team: 'a' } },
    taskTemplate: {
      ...taskSpec({ constraints: o.constraints ?? [], spread: o.spread ?? [] }),
      container: ContainerSpec.fromPartial({ image: o.image ?? 'busybox' }),
    },
    replicated: { replicas: o.replicas ?? 1 },
    updateConfig: undefined,
    rollbackConfig: undefined,
    endpoint: undefined,
  };
}

async function refused(p: Promise<unknown>): Promise<TswarmError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TswarmError);
  return err as TswarmError;
}

describe('services in the control API', () => {
  it('creates a service whose ID comes from the request ID: a retried create returns the same service', async () => {
    const { store } = testStore();
    const first = await createService(store, spec('web', { replicas: 3 }), 'req-a');
    expect(first.id).toBe(serviceIdFor('req-a'));
    expect(first.specVersion).toBe(1);
    const again = await createService(store, spec('web', { replicas: 3 }), 'req-a');
    expect(again.id).toBe(first.id);
    expect(store.list('service')).toHaveLength(1);
    const dup = await refused(createService(store, spec('web'), 'req-b'));
    expect(dup.code).toBe('ALREADY_EXISTS');
    expect(dup.message).toContain('a service named "web" already exists');
  });

  it('refuses bad specs with the field and what to do, creating nothing', async () => {
    const { store } = testStore();
    const cases: [ServiceSpec, string][] = [
      [spec('web', { image: '' }), 'a service needs an image'],
      [spec('web', { replicas: 10_001 }), 'invalid replicas 10001. Give --replicas between 0 and 10000'],
      [spec('-web'), 'invalid service name "-web"'],
      [spec('web', { constraints: ['node.color==red'] }), 'node.color'],
      [spec('web', { spread: ['node.zone'] }), 'invalid placement preference "spread=node.zone"'],
    ];
    for (const [s, words] of cases) {
      const err = await refused(createService(store, s, ''));
      expect(err.code).toBe('INVALID_ARGUMENT');
      expect(err.message).toContain(words);
    }
    const negative = spec('web');
    negative.taskTemplate!.resources!.reservations!.memoryBytes = -1;
    expect((await refused(createService(store, negative, ''))).message).toContain('--reserve-memory');
    expect(store.list('service')).toHaveLength(0);
  });

  it('updates at the version read: the spec version rises on a change; a stale version is a CONFLICT', async () => {
    const { store } = testStore();
    const svc = await createService(store, spec('web'), '');
    const v = svc.meta!.version;
    const same = await updateService(
      store,
      { serviceId: 'web', serviceVersion: v, spec: spec('web'), rollback: false },
      '',
    );
    expect(same.specVersion).toBe(1);
    const scaled = await updateService(
      store,
      { serviceId: svc.id, serviceVersion: same.meta!.version, spec: spec('web', { replicas: 4 }), rollback: false },
      '',
    );
    expect(scaled.specVersion).toBe(2);
    expect(scaled.previousSpec?.replicated?.replicas).toBe(1);
    const stale = await refused(
      updateService(
        store,
        { serviceId: svc.id, serviceVersion: v, spec: spec('web', { replicas: 9 }), rollback: false },
        '',
      ),
    );
    expect(stale.code).toBe('CONFLICT');
    const rename = await refused(
      updateService(
        store,
        { serviceId: svc.id, serviceVersion: scaled.meta!.version, spec: spec('api'), rollback: false },
        '',
      ),
    );
    expect(rename.message).toContain('renaming a service is not supported');
  });

  it('finds services by ID, name or prefix; lists by name prefix, ID prefix and label; removes', async () => {
    const { store } = testStore();
    const web = await createService(store, spec('web'), 'r1');
    await createService(store, spec('webapp'), 'r2');
    await createService(store, spec('db'), 'r3');
    expect(resolveService(store.replica, 'web').id).toBe(web.id);
    expect(resolveService(store.replica, web.id.slice(0, 10)).id).toBe(web.id);
    const names = (req: Partial<Parameters<typeof listServices>[1]>) =>
      listServices(store.replica, { names: [], idPrefixes: [], labels: {}, namePrefixes: [], ...req }).map(
        (s) => s.spec!.annotations!.name,
      );
    expect(names({ namePrefixes: ['web'] })).toEqual(['web', 'webapp']);
    expect(names({ names: ['web'] })).toEqual(['web']);
    expect(names({ labels: { team: 'a' } })).toEqual(['db', 'web', 'webapp']);
    expect(names({ labels: { team: 'b' } })).toEqual([]);
    await removeService(store, 'web', '');
    expect(names({})).toEqual(['db', 'webapp']);
    expect((await refused(removeService(store, 'web', ''))).code).toBe('NOT_FOUND');
  });

  it('lists tasks by service, node, desired state and name', async () => {
    const { store } = testStore();
    await store.update((tx) => {
      const make = (id: string, serviceId: string, slot: number, nodeId: string, desired: TaskState) => {
        const t = task({ id, serviceId, slot, nodeId, desired });
        t.serviceAnnotations = { name: serviceId, labels: {} };
        tx.create('task', t);
      };
      make('t1', 'web', 1, 'n1', TaskState.TASK_STATE_RUNNING);
      make('t2', 'web', 2, 'n2', TaskState.TASK_STATE_SHUTDOWN);
      make('t3', 'db', 1, 'n1', TaskState.TASK_STATE_RUNNING);
    });
    const ids = (req: Partial<Parameters<typeof listTasks>[1]>) =>
      listTasks(store.replica, {
        serviceIds: [],
        nodeIds: [],
        desiredStates: [],
        idPrefixes: [],
        namePrefixes: [],
        ...req,
      }).map((t) => t.id);
    expect(ids({ serviceIds: ['web'] })).toEqual(['t1', 't2']);
    expect(ids({ nodeIds: ['n1'] })).toEqual(['t3', 't1']);
    expect(ids({ desiredStates: [TaskState.TASK_STATE_RUNNING] })).toEqual(['t3', 't1']);
    expect(ids({ namePrefixes: ['web.2'] })).toEqual(['t2']);
  });
});
