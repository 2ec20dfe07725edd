import { describe, expect, it } from 'vitest';
import { ContainerSpec, Task } from '../../gen/tswarm/v1/objects.js';
import { TswarmError } from '../../lib/errors.js';
import { thrownCode } from '../../lib/testing/error-codes.js';
import { encodeRegistryAuth } from '../../engine/image/registry-auth-header.js';
import { LABEL_TASK_ID, prepareFailureMessage, taskContainerConfig, taskPullOptions } from './task-container.js';

const IMAGE = `192.168.77.5:5001/lab/app:1@sha256:${'a'.repeat(64)}`;

function task(registryAuth?: string): Task {
  return Task.fromPartial({
    id: 'task1',
    serviceId: 'svc1',
    slot: 1,
    nodeId: 'node1',
    serviceAnnotations: { name: 'web' },
    spec: {
      container: ContainerSpec.fromPartial({
        image: IMAGE,
        ...(registryAuth !== undefined ? { pullOptions: { registryAuth } } : {}),
      }),
    },
  });
}

describe("a task's pull", () => {
  it("pulls with the service's own credentials, for that task's pull only", () => {
    const auth = encodeRegistryAuth({ username: 'bob', password: 'pw' }, '192.168.77.5:5001');
    expect(taskPullOptions(task(auth))).toEqual({ credentials: { username: 'bob', password: 'pw' } });
    expect(taskPullOptions(task())).toEqual({});
    expect(taskPullOptions(task(''))).toEqual({});
  });

  it('refuses stored credentials it cannot use (the task is rejected with why)', () => {
    expect(thrownCode(() => taskPullOptions(task('%%%')))).toBe('INVALID_ARGUMENT');
  });

  it('names --with-registry-auth when a registry wants a login the service did not bring', () => {
    const refused = new TswarmError('UNAUTHENTICATED', 'cannot pull x: registry r requires authentication');
    expect(prepareFailureMessage(task(), refused)).toBe(
      'cannot pull x: registry r requires authentication. The service was given no registry credentials: create or update it with --with-registry-auth',
    );
    const auth = encodeRegistryAuth({ username: 'bob', password: 'pw' }, 'r');
    expect(prepareFailureMessage(task(auth), refused)).toBe(refused.message);
    expect(prepareFailureMessage(task(), new TswarmError('NOT_FOUND', 'image x not found'))).toBe('image x not found');
  });

  it('creates the container by the pinned image, and its record keeps no credentials', () => {
    const config = taskContainerConfig(task(encodeRegistryAuth({ username: 'bob', password: 'pw' }, 'r')));
    expect(config.spec?.image).toBe(IMAGE);
    expect(config.spec?.pullOptions).toBeUndefined();
    expect(config.spec?.labels?.[LABEL_TASK_ID]).toBe('task1');
    expect(JSON.stringify(config)).not.toContain('pw');
  });
});
