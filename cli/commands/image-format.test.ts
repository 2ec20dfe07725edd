import { describe, expect, it } from 'vitest';
import { deleteLines, imagePath, imageRows, tagTarget, type DockerImageSummary } from './image-format.js';

describe('images in the shapes of Docker’s API, printed as docker does', () => {
  const now = 1_000_000_000_000;
  const image: DockerImageSummary = {
    Id: 'sha256:0123456789abcdef',
    RepoTags: ['192.168.77.5:5000/lab/busybox:1', 'busybox:latest'],
    RepoDigests: [],
    Created: (now - 120_000) / 1000,
    Size: 4_260_000,
  };

  it('gives a row per tag, and <none> <none> for an image without one (null from a dockerd)', () => {
    expect(imageRows([image], now)).toEqual([
      ['192.168.77.5:5000/lab/busybox', '1', '0123456789ab', '2 minutes ago', '4.26MB'],
      ['busybox', 'latest', '0123456789ab', '2 minutes ago', '4.26MB'],
    ]);
    for (const RepoTags of [[], null])
      expect(imageRows([{ ...image, RepoTags, Size: 1000 }], now)).toEqual([
        ['<none>', '<none>', '0123456789ab', '2 minutes ago', '1kB'],
      ]);
  });

  it('prints removals as docker rmi, and in lower case as docker image prune', () => {
    const items = [{ Untagged: 'busybox:1' }, { Deleted: 'sha256:aa' }];
    expect(deleteLines(items)).toBe('Untagged: busybox:1\nDeleted: sha256:aa\n');
    expect(deleteLines(items, true)).toBe('untagged: busybox:1\ndeleted: sha256:aa\n');
    expect(deleteLines([])).toBe('');
  });

  it('escapes each segment of a name in a path, keeping its slashes', () => {
    expect(imagePath('192.168.77.5:5000/lab/busybox:1')).toBe('192.168.77.5%3A5000/lab/busybox%3A1');
    expect(imagePath('busybox@sha256:ab')).toBe('busybox%40sha256%3Aab');
    expect(imagePath('a b?')).toBe('a%20b%3F');
  });

  it('splits a tag target at the last colon after the last slash', () => {
    expect(tagTarget('reg:5000/lab/app:2')).toEqual({ repo: 'reg:5000/lab/app', tag: '2' });
    expect(tagTarget('reg:5000/lab/app')).toEqual({ repo: 'reg:5000/lab/app' });
    expect(tagTarget('app')).toEqual({ repo: 'app' });
  });
});
