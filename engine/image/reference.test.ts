import { describe, expect, it } from 'vitest';
import { familiarReference, formatReference, parseReference } from './reference.js';
import { selectPlatform } from './platform.js';

describe('parseReference', () => {
  const digest = `sha256:${'a'.repeat(64)}`;
  it.each([
    ['busybox', 'docker.io/library/busybox:latest'],
    ['user/app:1.2', 'docker.io/user/app:1.2'],
    ['index.docker.io/library/busybox', 'docker.io/library/busybox:latest'],
    ['127.0.0.1:5000/test/busybox:1', '127.0.0.1:5000/test/busybox:1'],
    ['localhost/x', 'localhost/x:latest'],
    [`reg.example.com:443/a/b@${digest}`, `reg.example.com:443/a/b@${digest}`],
    [`busybox:1@${digest}`, `docker.io/library/busybox:1@${digest}`],
  ])('%s → %s', (input, normalized) => {
    expect(formatReference(parseReference(input))).toBe(normalized);
  });

  it.each(['', 'UPPER/case', 'a:b:c', 'x@sha256:short', 'bad tag:!'])('refuses %j', (input) => {
    expect(() => parseReference(input)).toThrow(/invalid image reference/);
  });

  it('shows Docker Hub names the short way', () => {
    expect(familiarReference('docker.io/library/busybox:latest')).toBe('busybox:latest');
    expect(familiarReference('docker.io/user/app:1')).toBe('user/app:1');
    expect(familiarReference('127.0.0.1:5000/t/x:1')).toBe('127.0.0.1:5000/t/x:1');
  });
});

describe('selectPlatform', () => {
  const d = (architecture: string, variant?: string) => ({
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: `sha256:${architecture
      .padEnd(64, '0')
      .slice(0, 64)
      .replace(/[^a-f0-9]/g, '0')}`,
    size: 1,
    platform: { os: 'linux', architecture, ...(variant ? { variant } : {}) },
  });
  it('matches arm64 with or without v8, prefers the exact arm variant', () => {
    expect(
      selectPlatform('x', [d('amd64'), d('arm64')], { os: 'linux', architecture: 'arm64', variant: 'v8' }).platform
        ?.architecture,
    ).toBe('arm64');
    const arm = [d('arm', 'v6'), d('arm', 'v7')];
    expect(selectPlatform('x', arm, { os: 'linux', architecture: 'arm', variant: 'v7' }).platform?.variant).toBe('v7');
    expect(() => selectPlatform('x', [d('amd64')], { os: 'linux', architecture: 'riscv64' })).toThrow(
      /offers: linux\/amd64/,
    );
  });
});
