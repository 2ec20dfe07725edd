import { describe, expect, it } from 'vitest';
import type { ImageSummary } from '../../gen/tswarm/v1/engine.js';
import { thrownCode } from '../../lib/testing/error-codes.js';
import { pullReference } from './image-pull.js';
import { imageName } from './images.js';
import {
  dockerImageInspect,
  dockerImageSummary,
  imageMatches,
  pullProgressMessage,
  withMatchingReferences,
} from './image-shapes.js';
import { parseFilters } from './list-filters.js';

const summary: ImageSummary = {
  id: `sha256:${'a'.repeat(64)}`,
  repoTags: ['192.168.77.5:5000/lab/busybox:1', 'busybox:latest'],
  repoDigests: [`192.168.77.5:5000/lab/busybox@sha256:${'b'.repeat(64)}`],
  sizeBytes: 1234,
  createdAtMs: 1_700_000_000_500,
};
const config = {
  created: '2023-11-14T22:13:20Z',
  architecture: 'amd64',
  os: 'linux',
  config: { Cmd: ['sh'], Env: ['PATH=/bin'], Labels: { team: 'a' }, ExposedPorts: { '80/tcp': {} } },
  rootfs: { type: 'layers', diff_ids: [`sha256:${'c'.repeat(64)}`] },
};

describe('image shapes', () => {
  it('makes Docker ImageSummary, with VirtualSize only for clients before 1.44', () => {
    const s = dockerImageSummary(summary, config, '1.50');
    expect(s).toEqual({
      Id: summary.id,
      ParentId: '',
      RepoTags: summary.repoTags,
      RepoDigests: summary.repoDigests,
      Created: 1_700_000_000,
      Size: 1234,
      SharedSize: -1,
      Labels: { team: 'a' },
      Containers: -1,
    });
    expect(dockerImageSummary(summary, config, '1.43')['VirtualSize']).toBe(1234);
  });

  it('makes Docker ImageInspect from the stored config', () => {
    const body = dockerImageInspect(
      { image: summary, configJson: Buffer.from(JSON.stringify(config)), layerDigests: [] },
      '1.50',
    );
    expect(body).toMatchObject({
      Id: summary.id,
      Created: '2023-11-14T22:13:20Z',
      Architecture: 'amd64',
      Os: 'linux',
      Size: 1234,
      RootFS: { Type: 'layers', Layers: config.rootfs.diff_ids },
      Config: { Cmd: ['sh'], Entrypoint: null, Env: ['PATH=/bin'], WorkingDir: '', User: '', Labels: { team: 'a' } },
    });
    expect((body['Config'] as Record<string, unknown>)['ExposedPorts']).toEqual({ '80/tcp': {} });
  });

  it('filters by dangling, reference (glob, short or full name) and label', () => {
    const match = (raw: string) => {
      const f = parseFilters(raw, ['dangling', 'reference', 'label']);
      return imageMatches(summary, config, f, f.has('dangling') ? f.get('dangling')![0] === 'true' : undefined);
    };
    expect(match('{"reference":{"busybox":true}}')).toBe(true);
    expect(match('{"reference":{"busybox:latest":true}}')).toBe(true);
    expect(match('{"reference":["192.168.77.5:5000/lab/*"]}')).toBe(true);
    expect(match('{"reference":{"alpine":true}}')).toBe(false);
    expect(match('{"label":{"team=a":true}}')).toBe(true);
    expect(match('{"label":{"team=b":true}}')).toBe(false);
    expect(match('{"dangling":{"true":true}}')).toBe(false);
    expect(thrownCode(() => parseFilters('{"bogus":{"x":true}}', ['label']))).toBe('INVALID_ARGUMENT');
    expect(thrownCode(() => parseFilters('{nope', ['label']))).toBe('INVALID_ARGUMENT');
  });

  it('lists an image under a reference filter with only the names that matched, as dockerd', () => {
    const only = (raw: string) => withMatchingReferences(summary, parseFilters(raw, ['reference']));
    expect(only('{"reference":{"busybox":true}}')).toMatchObject({ repoTags: ['busybox:latest'], repoDigests: [] });
    expect(only('{"reference":{"192.168.77.5:5000/lab/*":true}}')).toMatchObject({
      repoTags: ['192.168.77.5:5000/lab/busybox:1'],
      repoDigests: summary.repoDigests,
    });
    expect(only('{"reference":{"docker.io/library/busybox:latest":true}}').repoTags).toEqual(['busybox:latest']);
    expect(only('{}')).toBe(summary);
  });

  it('checks an image name of a path as a reference: empty, too long, whitespace', () => {
    expect(imageName('192.168.77.5:5000/lab/busybox:1')).toBe('192.168.77.5:5000/lab/busybox:1');
    expect(() => imageName(undefined)).toThrow('the image reference is empty. Give one');
    expect(() => imageName('x'.repeat(600))).toThrow('the image reference is longer than 512 characters');
    expect(thrownCode(() => imageName('a b'))).toBe('INVALID_ARGUMENT');
  });

  it('turns the engine’s layer reports into Docker progress lines', () => {
    const digest = `sha256:0123456789ab${'f'.repeat(52)}`;
    expect(pullProgressMessage({ digest, status: 'downloading', currentBytes: 10, totalBytes: 100 })).toEqual({
      status: 'Downloading',
      progressDetail: { current: 10, total: 100 },
      id: '0123456789ab',
    });
    expect(pullProgressMessage({ digest, status: 'done', currentBytes: 100, totalBytes: 100 })['status']).toBe(
      'Pull complete',
    );
    expect(pullProgressMessage({ digest, status: 'already exists', currentBytes: 0, totalBytes: 0 })['status']).toBe(
      'Already exists',
    );
  });

  it('reads the pull reference from fromImage and tag (a tag or a digest)', () => {
    expect(pullReference('192.168.77.5:5000/lab/busybox', '1')).toBe('192.168.77.5:5000/lab/busybox:1');
    expect(pullReference('busybox', '')).toBe('docker.io/library/busybox:latest');
    const d = `sha256:${'d'.repeat(64)}`;
    expect(pullReference('busybox', d)).toBe(`docker.io/library/busybox@${d}`);
    expect(thrownCode(() => pullReference(null, '1'))).toBe('INVALID_ARGUMENT');
    expect(thrownCode(() => pullReference('Bad Name', '1'))).toBe('INVALID_ARGUMENT');
  });
});
