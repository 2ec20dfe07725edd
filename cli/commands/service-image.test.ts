import { describe, expect, it } from 'vitest';
import { TswarmError } from '../../lib/errors.js';
import type { ApiClient, CallOptions } from '../../lib/api-client/client.js';
import type { DockerServiceSpec } from '../../lib/api-client/swarm-types.js';
import { digestWarning, imageForDisplay, imageWithDigest, imageWithTag, prepareServiceImage } from './service-image.js';

const DIGEST = `sha256:${'b'.repeat(64)}`;
const REG = '192.168.77.5:5000';

interface Call {
  method: string;
  path: string;
  opts: CallOptions | undefined;
}

/** An Engine API that answers /distribution and /tswarm/registry-auth as told, and records the calls. */
function fakeApi(answers: { distribution?: unknown; login?: string }): { api: ApiClient; calls: Call[] } {
  const calls: Call[] = [];
  const api = {
    json: (method: string, path: string, opts?: CallOptions) => {
      calls.push({ method, path, opts });
      if (path.startsWith('/distribution/')) {
        if (answers.distribution instanceof Error) return Promise.reject(answers.distribution);
        return Promise.resolve(answers.distribution);
      }
      if (path === '/tswarm/registry-auth') {
        if (answers.login === undefined)
          return Promise.reject(new TswarmError('NOT_FOUND', `this node has no login for ${REG}`));
        return Promise.resolve({ RegistryAuth: answers.login });
      }
      return Promise.reject(new Error(`unexpected ${method} ${path}`));
    },
  } as unknown as ApiClient;
  return { api, calls };
}

const spec = (image: string): DockerServiceSpec => ({
  Name: 'web',
  TaskTemplate: {
    ContainerSpec: { Image: image, Args: ['sleep', '1'] },
    Placement: { Constraints: ['node.role==worker'] },
  },
  Mode: { Replicated: { Replicas: 2 } },
});

describe('service create: the image, as docker service create handles it', () => {
  it('tags an image as Docker sends it, and pins a digest to it', () => {
    expect(imageWithTag('busybox')).toBe('busybox:latest');
    expect(imageWithTag(`${REG}/lab/app`)).toBe(`${REG}/lab/app:latest`);
    expect(imageWithTag(`${REG}/lab/app:1`)).toBe(`${REG}/lab/app:1`);
    expect(imageWithTag('Not An Image')).toBe('Not An Image');
    expect(imageWithDigest(`${REG}/lab/app:1`, DIGEST)).toBe(`${REG}/lab/app:1@${DIGEST}`);
    expect(imageWithDigest('busybox:latest', DIGEST)).toBe(`busybox:latest@${DIGEST}`);
    const pinned = `${REG}/lab/app:1@sha256:${'c'.repeat(64)}`;
    expect(imageWithDigest(pinned, DIGEST)).toBe(pinned);
    expect(() => imageWithDigest('busybox:1', 'sha256:short')).toThrow(/not a digest/);
  });

  it('shows a pinned image by its tag in tables, as docker service ls and ps do', () => {
    expect(imageForDisplay(`${REG}/lab/app:1@${DIGEST}`)).toBe(`${REG}/lab/app:1`);
    expect(imageForDisplay(`busybox:latest@${DIGEST}`)).toBe('busybox:latest');
    expect(imageForDisplay(`${REG}/lab/app@${DIGEST}`)).toBe(`${REG}/lab/app@${DIGEST}`);
    expect(imageForDisplay(`${REG}/lab/app:1`)).toBe(`${REG}/lab/app:1`);
  });

  it("pins the tag to the registry's digest and places by the image's platforms (arm left open)", async () => {
    const { api, calls } = fakeApi({
      distribution: {
        Descriptor: { mediaType: 'application/vnd.oci.image.index.v1+json', digest: DIGEST, size: 500 },
        Platforms: [
          { architecture: 'amd64', os: 'linux' },
          { architecture: 'arm', os: 'linux', variant: 'v7' },
        ],
      },
    });
    const warnings: string[] = [];
    const { spec: sent, headers } = await prepareServiceImage(
      api,
      spec(`${REG}/lab/app`),
      { resolveImage: true },
      (w) => warnings.push(w),
    );
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual([`GET /distribution/${REG}/lab/app:latest/json`]);
    expect(sent.TaskTemplate.ContainerSpec).toEqual({ Image: `${REG}/lab/app:latest@${DIGEST}`, Args: ['sleep', '1'] });
    expect(sent.TaskTemplate.Placement).toEqual({
      Constraints: ['node.role==worker'],
      Platforms: [
        { Architecture: 'amd64', OS: 'linux' },
        { Architecture: '', OS: 'linux' },
      ],
    });
    expect(sent.Mode).toEqual({ Replicated: { Replicas: 2 } });
    expect(headers).toEqual({});
    expect(warnings).toEqual([]);
  });

  it('warns as Docker does when the registry cannot be asked, and creates with the tag', async () => {
    const { api } = fakeApi({
      distribution: new TswarmError('UNAVAILABLE', 'registry 192.168.77.5:5000 is unreachable'),
    });
    const warnings: string[] = [];
    const { spec: sent } = await prepareServiceImage(api, spec(`${REG}/lab/app:1`), { resolveImage: true }, (w) =>
      warnings.push(w),
    );
    expect(sent.TaskTemplate.ContainerSpec.Image).toBe(`${REG}/lab/app:1`);
    expect(sent.TaskTemplate.Placement).toEqual({ Constraints: ['node.role==worker'] });
    expect(warnings.join('')).toBe(`${digestWarning(`${REG}/lab/app:1`)}(registry 192.168.77.5:5000 is unreachable)\n`);
    expect(digestWarning('x:1')).toBe(
      'image x:1 could not be accessed on a registry to record\nits digest. Each node will access x:1 independently,\npossibly leading to different nodes running different\nversions of the image.\n',
    );
  });

  it('with --no-resolve-image, keeps the tag and asks no registry', async () => {
    const { api, calls } = fakeApi({});
    const { spec: sent } = await prepareServiceImage(api, spec('busybox'), { resolveImage: false }, () => undefined);
    expect(sent.TaskTemplate.ContainerSpec.Image).toBe('busybox:latest');
    expect(calls).toEqual([]);
  });

  it("with --with-registry-auth, sends this node's login for the image's registry, also to /distribution", async () => {
    const { api, calls } = fakeApi({
      login: 'ZW5jb2RlZA',
      distribution: { Descriptor: { mediaType: 'm', digest: DIGEST, size: 1 }, Platforms: null },
    });
    const { spec: sent, headers } = await prepareServiceImage(
      api,
      spec(`${REG}/lab/app:1`),
      { resolveImage: true, withRegistryAuth: true },
      () => undefined,
    );
    expect(calls[0]).toMatchObject({
      method: 'POST',
      path: '/tswarm/registry-auth',
      opts: { json: { Registry: REG } },
    });
    expect(calls[1]?.opts?.headers).toEqual({ 'X-Registry-Auth': 'ZW5jb2RlZA' });
    expect(headers).toEqual({ 'X-Registry-Auth': 'ZW5jb2RlZA' });
    expect(sent.TaskTemplate.ContainerSpec.Image).toBe(`${REG}/lab/app:1@${DIGEST}`);
    expect(sent.TaskTemplate.Placement).toEqual({ Constraints: ['node.role==worker'] });
  });

  it('with --with-registry-auth and no login on this node, says so and sends none', async () => {
    const { api } = fakeApi({});
    const warnings: string[] = [];
    const { headers } = await prepareServiceImage(
      api,
      spec(`${REG}/lab/app:1`),
      { resolveImage: false, withRegistryAuth: true },
      (w) => warnings.push(w),
    );
    expect(headers).toEqual({});
    expect(warnings.join('')).toMatch(/--with-registry-auth: this node has no login for 192\.168\.77\.5:5000/);
  });
});
