import { describe, expect, it } from 'vitest';
import { thrownCode } from './testing/error-codes.js';
import { parseSizeBytes, tmpfsSpec, volumeSpec } from './mount-specs.js';

describe('mount and size notations shared by the CLI and the daemon', () => {
  it('reads -v as a bind mount, a named volume or an anonymous volume', () => {
    expect(volumeSpec('/srv:/data:ro')).toEqual({ type: 'bind', source: '/srv', target: '/data', readOnly: true });
    expect(volumeSpec('cache:/cache:rw')).toEqual({
      type: 'volume',
      source: 'cache',
      target: '/cache',
      readOnly: false,
    });
    expect(volumeSpec('/anon')).toEqual({ type: 'volume', source: '', target: '/anon', readOnly: false });
    for (const bad of ['rel', '/a:rel', '/a:/b:rx', '/a::/b', 'a:b:c:d'])
      expect(thrownCode(() => volumeSpec(bad))).toBe('INVALID_ARGUMENT');
  });

  it('reads --tmpfs with its size and mode, naming where a bad value came from', () => {
    expect(tmpfsSpec('/run:size=64m,mode=1777', '--tmpfs')).toEqual({
      target: '/run',
      sizeBytes: 64 * 1024 * 1024,
      mode: 0o1777,
    });
    expect(tmpfsSpec('/tmp', '--tmpfs')).toEqual({ target: '/tmp', sizeBytes: 0, mode: 0 });
    expect(() => tmpfsSpec('run', 'HostConfig.Tmpfs')).toThrow(/^invalid HostConfig.Tmpfs "run"/);
    expect(() => tmpfsSpec('/run:uid=1', '--tmpfs')).toThrow(/^invalid --tmpfs option "uid=1"/);
    expect(thrownCode(() => tmpfsSpec('/run:size=lots', '--tmpfs'))).toBe('INVALID_ARGUMENT');
  });

  it('reads sizes with binary units, as Docker does', () => {
    expect(parseSizeBytes('64m')).toBe(64 * 1024 * 1024);
    expect(parseSizeBytes('1.5G')).toBe(1.5 * 1024 ** 3);
    expect(parseSizeBytes('100')).toBe(100);
    for (const bad of ['', 'lots', '-1m', '5x']) expect(thrownCode(() => parseSizeBytes(bad))).toBe('INVALID_ARGUMENT');
  });
});
