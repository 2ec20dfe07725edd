import { describe, expect, it } from 'vitest';
import { MountType, type Mount } from '../../gen/tswarm/v1/objects.js';
import { networkId } from '../network/network-id.js';
import { containerEventOf, networkEventOf, volumeMountEvents } from './events.js';

describe('engine events in dockerd’s shapes', () => {
  it('gives a container event its labels over the action’s attributes, then image and name; never the engine’s labels', () => {
    const e = containerEventOf({
      action: 'die',
      id: 'c1',
      name: 'web',
      image: 'busybox:1',
      labels: { tier: 'front', exitCode: 'a label', 'tswarm.engine.image-id': 'sha256:x' },
      attributes: { exitCode: '3', execDuration: '1' },
    });
    expect(e).toEqual({
      type: 'container',
      action: 'die',
      id: 'c1',
      attributes: { exitCode: 'a label', execDuration: '1', tier: 'front', image: 'busybox:1', name: 'web' },
    });
  });

  it('names the built-in network of a container’s mode, by its ID, name and driver', () => {
    expect(networkEventOf('connect', 'c1', 'none')).toEqual({
      type: 'network',
      action: 'connect',
      id: networkId('none'),
      attributes: { container: 'c1', name: 'none', type: 'null' },
    });
    expect(networkEventOf('disconnect', 'c1', '').attributes).toMatchObject({ name: 'bridge', type: 'bridge' });
  });

  it('tells the mounts of named volumes only, with their destination and mode', () => {
    const mounts = [
      { type: MountType.MOUNT_TYPE_VOLUME, source: 'data', target: '/data', readOnly: true },
      { type: MountType.MOUNT_TYPE_BIND, source: '/etc', target: '/host-etc', readOnly: false },
    ] as Mount[];
    expect(volumeMountEvents('mount', 'c1', mounts)).toEqual([
      {
        type: 'volume',
        action: 'mount',
        id: 'data',
        attributes: { container: 'c1', destination: '/data', 'read/write': 'false', propagation: '', driver: 'local' },
      },
    ]);
    expect(volumeMountEvents('unmount', 'c1', mounts)[0]!.attributes).toEqual({ container: 'c1', driver: 'local' });
  });
});
