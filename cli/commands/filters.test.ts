import { describe, expect, it } from 'vitest';
import { filtersQuery } from './filters.js';
import { parseImageFilter } from './image.js';
import { parseVolumeFilter } from './volume.js';

describe('--filter on images and volumes, sent to the daemon as Docker’s filters', () => {
  it('groups the terms by key, as the docker CLI sends them', () => {
    expect(filtersQuery([])).toBeUndefined();
    const terms = ['dangling=false', 'reference=*/lab/busybox', 'reference=busybox:1'].map(parseImageFilter);
    expect(JSON.parse(filtersQuery(terms)!)).toEqual({
      dangling: { false: true },
      reference: { '*/lab/busybox': true, 'busybox:1': true },
    });
    expect(JSON.parse(filtersQuery(['label=tier=db', 'name=ca'].map(parseVolumeFilter))!)).toEqual({
      label: { 'tier=db': true },
      name: { ca: true },
    });
  });

  it('refuses a malformed or unknown term before any traffic, naming the keys', () => {
    expect(() => parseImageFilter('dangling=yes')).toThrow(/invalid dangling filter "yes". Use true or false/);
    expect(() => parseImageFilter('before=x')).toThrow(/unknown filter "before". Use dangling, reference, label/);
    expect(() => parseVolumeFilter('dangling')).toThrow(/invalid filter "dangling". Use KEY=VALUE/);
    expect(parseVolumeFilter('driver=local')).toEqual({ key: 'driver', value: 'local' });
  });
});
