import { describe, expect, it } from 'vitest';
import { thrownCode } from '../../lib/testing/error-codes.js';
import { dfTypes, dockerDiskUsage } from './system-df.js';

const q = (s: string) => new URLSearchParams(s);

describe('GET /system/df', () => {
  it('measures every kind for clients before 1.42, or when no type is named', () => {
    const all = ['container', 'image', 'volume', 'build-cache'];
    expect([...dfTypes(q(''), '1.50')]).toEqual(all);
    expect([...dfTypes(q('type=volume'), '1.41')]).toEqual(all);
  });

  it('measures the kinds named (type repeated) from 1.42; an unknown one is 400 in dockerd’s words', () => {
    expect([...dfTypes(q('type=volume&type=image'), '1.42')]).toEqual(['volume', 'image']);
    expect(() => dfTypes(q('type=volumes'), '1.50')).toThrow('unknown object type: volumes');
    expect(thrownCode(() => dfTypes(q('type='), '1.50'))).toBe('INVALID_ARGUMENT');
  });

  it("answers Docker's DiskUsage: each volume with UsageData, kinds not asked for null, an empty build cache", () => {
    const volume = {
      name: 'data',
      driver: 'local',
      mountpoint: '/v/data/_data',
      labels: {},
      createdAtMs: 1_700_000_000_000,
      usedBy: ['web'],
    };
    const body = dockerDiskUsage({
      images: { layersBytes: 4_000_000, summaries: [{ Id: 'sha256:a', Size: 4_000_000 }] },
      volumes: [{ volume, sizeBytes: 1_048_576, refCount: 1 }],
      buildCache: true,
    });
    expect(body).toEqual({
      LayersSize: 4_000_000,
      Images: [{ Id: 'sha256:a', Size: 4_000_000 }],
      Containers: null,
      Volumes: [
        {
          Name: 'data',
          Driver: 'local',
          Mountpoint: '/v/data/_data',
          CreatedAt: '2023-11-14T22:13:20.000Z',
          Labels: {},
          Scope: 'local',
          Options: null,
          UsageData: { Size: 1_048_576, RefCount: 1 },
        },
      ],
      BuildCache: [],
    });
    expect(dockerDiskUsage({ buildCache: false })).toEqual({
      LayersSize: 0,
      Images: null,
      Containers: null,
      Volumes: null,
      BuildCache: null,
    });
  });
});
