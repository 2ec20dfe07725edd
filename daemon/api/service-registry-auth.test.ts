import { describe, expect, it } from 'vitest';
import { Service, Task } from '../../gen/tswarm/v1/objects.js';
import { thrownCode } from '../../lib/testing/error-codes.js';
import { decodeRegistryAuth, encodeRegistryAuth } from '../../engine/image/registry-auth-header.js';
import { pullOptionsForUpdate, pullOptionsFromHeader, withPullOptions } from './service-registry-auth.js';
import { dockerService, dockerTask, serviceSpecFromDocker } from './service-shapes.js';

const REGISTRY = '192.168.77.5:5001';
const SECRET = 's3cret-p4ss';
const header = (password = SECRET) => encodeRegistryAuth({ username: 'bob', password }, REGISTRY);
const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');

function serviceWith(auth: string | undefined, previous?: string): Service {
  const spec = (registryAuth: string | undefined) =>
    withPullOptions(
      serviceSpecFromDocker({ Name: 'web', TaskTemplate: { ContainerSpec: { Image: `${REGISTRY}/lab/app:1` } } }),
      registryAuth === undefined ? undefined : { registryAuth },
    );
  return Service.fromPartial({
    id: 'svc1',
    spec: spec(auth),
    ...(previous !== undefined ? { previousSpec: spec(previous) } : {}),
  });
}

describe("a service's registry credentials (X-Registry-Auth → pull options)", () => {
  it('keeps only what a pull uses, re-encoded; no credentials in the header gives none', () => {
    const given = enc({ username: 'bob', password: SECRET, serveraddress: REGISTRY, email: 'x@y', auth: 'zzz' });
    const kept = pullOptionsFromHeader(given);
    expect(decodeRegistryAuth(kept?.registryAuth)).toEqual({
      username: 'bob',
      password: SECRET,
      serveraddress: REGISTRY,
    });
    expect(pullOptionsFromHeader(undefined)).toBeUndefined();
    expect(pullOptionsFromHeader(enc({}))).toBeUndefined();
    expect(pullOptionsFromHeader(enc({ serveraddress: REGISTRY }))).toBeUndefined();
  });

  it('refuses credentials no worker could use, before anything is created', () => {
    expect(thrownCode(() => pullOptionsFromHeader('%%%'))).toBe('INVALID_ARGUMENT');
    expect(thrownCode(() => pullOptionsFromHeader(enc({ identitytoken: 'tok' })))).toBe('UNAUTHENTICATED');
  });

  it('on update: new credentials win; else the spec’s (a scale keeps them), or the previous spec’s', () => {
    const current = serviceWith(header('now'), header('before'));
    const password = (h: string | undefined) => decodeRegistryAuth(h)?.password;
    expect(password(pullOptionsForUpdate(header('new'), null, current)?.registryAuth)).toBe('new');
    expect(password(pullOptionsForUpdate(undefined, null, current)?.registryAuth)).toBe('now');
    expect(password(pullOptionsForUpdate(undefined, 'spec', current)?.registryAuth)).toBe('now');
    expect(password(pullOptionsForUpdate(undefined, 'previous-spec', current)?.registryAuth)).toBe('before');
    expect(pullOptionsForUpdate(undefined, null, serviceWith(undefined))).toBeUndefined();
    expect(thrownCode(() => pullOptionsForUpdate(undefined, 'previous-spec', serviceWith(header())))).toBe(
      'FAILED_PRECONDITION',
    );
    expect(thrownCode(() => pullOptionsForUpdate(undefined, 'elsewhere', current))).toBe('INVALID_ARGUMENT');
  });

  it('is never shown: not by service inspect / GET /services, not by GET /tasks', () => {
    const service = serviceWith(header(), header());
    expect(service.spec?.taskTemplate?.container?.pullOptions?.registryAuth).toBe(header());
    const task = Task.fromPartial({ id: 't1', serviceId: service.id, spec: service.spec?.taskTemplate });
    for (const shown of [dockerService(service), dockerTask(task)]) {
      const text = JSON.stringify(shown);
      expect(text).not.toContain(header());
      expect(text).not.toContain(SECRET);
      expect(text).not.toMatch(/PullOptions|RegistryAuth/i);
    }
  });
});
