import { describe, expect, it } from 'vitest';
import type { ImageSummary, Volume } from '../../gen/lite/tswarm/v1/engine.js';
import { globMatches, matchesAll } from './filters.js';
import { imageMatches, parseImageFilter } from './image.js';
import { parseVolumeFilter, volumeMatches } from './volume.js';

describe('--filter on images and volumes, as Docker takes it', () => {
  const tagged = {
    id: 'sha256:aa',
    repoTags: ['192.168.77.5:5000/lab/busybox:1'],
    repoDigests: [],
    sizeBytes: 0,
    createdAtMs: 0,
  } as ImageSummary;
  const dangling = { ...tagged, id: 'sha256:bb', repoTags: [] } as ImageSummary;
  it('images: dangling, and reference as a shell pattern over repo or repo:tag', () => {
    const pick = (...raw: string[]) =>
      [tagged, dangling].filter((i) => matchesAll(i, raw.map(parseImageFilter), imageMatches)).map((i) => i.id);
    expect(pick('dangling=true')).toEqual(['sha256:bb']);
    expect(pick('dangling=false')).toEqual(['sha256:aa']);
    expect(pick('reference=*/lab/busybox')).toEqual(['sha256:aa']);
    expect(pick('reference=*/lab/busybox:2')).toEqual([]);
    expect(() => parseImageFilter('dangling=yes')).toThrow(/invalid dangling filter "yes". Use true or false/);
    expect(() => parseImageFilter('label=x')).toThrow(/unknown filter "label". Use dangling, reference/);
  });

  it('volumes: dangling (used by no container), name, label', () => {
    const used = {
      name: 'data',
      driver: 'local',
      mountpoint: '',
      labels: { tier: 'db' },
      createdAtMs: 0,
      usedBy: ['web'],
    } as Volume;
    const loose = { ...used, name: 'cache', labels: {}, usedBy: [] } as Volume;
    const pick = (...raw: string[]) =>
      [used, loose].filter((v) => matchesAll(v, raw.map(parseVolumeFilter), volumeMatches)).map((v) => v.name);
    expect(pick('dangling=true')).toEqual(['cache']);
    expect(pick('label=tier=db')).toEqual(['data']);
    expect(pick('name=ca', 'name=da')).toEqual(['data', 'cache']); // one key: either
    expect(pick('name=ca', 'dangling=false')).toEqual([]); // two keys: both
  });

  it('glob patterns keep to one path segment per *', () => {
    expect(globMatches('docker.io/library/busybox', 'docker.io/*/busybox')).toBe(true);
    expect(globMatches('a/b/c', 'a/*')).toBe(false);
    expect(globMatches('web.1', 'web?1')).toBe(true);
  });
});
