import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TswarmError } from '../lib/errors.js';
import { Lab } from './lab.js';
import { LAB_REGISTRY_DAEMON_ARGS, LAB_TEST_IMAGE, planRegistry, withRegistryDaemonArgs } from './registry.js';
import { loadLabState, saveLabState, type LabState } from './state.js';

describe('planRegistry', () => {
  it('puts reg at .5:5000 with the test image lab/busybox:1 (docs/architecture.md, "Address plan")', () => {
    const reg = planRegistry('ab1');
    expect(reg).toMatchObject({
      name: 'reg',
      addr: '192.168.77.5',
      address: '192.168.77.5:5000',
      image: '192.168.77.5:5000/lab/busybox:1',
      netns: 'tsl-ab1-reg',
      pid: 0,
    });
    expect(LAB_TEST_IMAGE).toBe(reg.image);
  });
});

describe('withRegistryDaemonArgs', () => {
  it('adds --insecure-registry for the lab registry once', () => {
    expect(withRegistryDaemonArgs()).toEqual(['--insecure-registry', '192.168.77.5:5000']);
    expect(withRegistryDaemonArgs(['--runtime', 'crun'])).toEqual([
      '--runtime',
      'crun',
      '--insecure-registry',
      '192.168.77.5:5000',
    ]);
    expect(withRegistryDaemonArgs([...LAB_REGISTRY_DAEMON_ARGS])).toEqual([...LAB_REGISTRY_DAEMON_ARGS]);
    expect(withRegistryDaemonArgs(['--insecure-registry=192.168.77.5:5000'])).toEqual([
      '--insecure-registry=192.168.77.5:5000',
    ]);
    // Another registry's flag is no reason to leave ours out.
    expect(withRegistryDaemonArgs(['--insecure-registry', '10.0.0.1:5000'])).toHaveLength(4);
  });
});

describe('the registry in the lab state', () => {
  const saved = process.env['TSWARM_LAB_ROOT'];
  let root = '';

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'tswarm-lab-state-'));
    process.env['TSWARM_LAB_ROOT'] = root;
  });

  afterAll(async () => {
    if (saved === undefined) delete process.env['TSWARM_LAB_ROOT'];
    else process.env['TSWARM_LAB_ROOT'] = saved;
    await rm(root, { recursive: true, force: true });
  });

  const state = (name: string, withRegistry: boolean): LabState => ({
    formatVersion: 1,
    name,
    createdAtMs: 1,
    phase: 'up',
    partition: null,
    hosts: [],
    ...(withRegistry
      ? { daemonArgs: withRegistryDaemonArgs(), registry: { ...planRegistry(name), pid: 4242, startTime: '99' } }
      : {}),
  });

  it('survives the round trip, so Lab.open knows the registry', async () => {
    await saveLabState(state('withreg', true));
    expect(await loadLabState('withreg')).toEqual(state('withreg', true));
    const reg = (await Lab.open('withreg')).requireRegistry();
    expect(reg).toMatchObject({
      host: '192.168.77.5:5000',
      image: '192.168.77.5:5000/lab/busybox:1',
      pid: 4242,
      logFile: join(root, 'withreg', 'hosts', 'reg', 'registry.log'),
    });
    expect(await reg.countRequests('/v2/')).toBe(0);
  });

  it('says how to get a registry when the lab has none', async () => {
    await saveLabState(state('noreg', false));
    const lab = await Lab.open('noreg');
    expect(lab.registry).toBeUndefined();
    const err = (() => {
      try {
        lab.requireRegistry();
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(TswarmError);
    expect((err as TswarmError).code).toBe('FAILED_PRECONDITION');
    expect((err as TswarmError).message).toBe(
      'lab "noreg" has no registry: it was brought up with --no-registry. Tear it down with `tswarm lab down --name noreg` and bring it up again with `tswarm lab up --name noreg` (without --no-registry)',
    );
  });
});
