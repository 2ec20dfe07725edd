import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../lib/log.js';
import { isPlausibleFilter, parseEntry, SeccompBpfCache } from './seccomp-cache.js';
import { defaultSeccompProfile } from './seccomp.js';

/** A two-instruction filter: load the arch word, return ALLOW. */
function program(): Buffer {
  const bytes = Buffer.alloc(16);
  bytes.writeUInt16LE(0x20, 0); // BPF_LD | BPF_W | BPF_ABS
  bytes.writeUInt32LE(4, 4);
  bytes.writeUInt16LE(0x06, 8); // BPF_RET | BPF_K
  bytes.writeUInt32LE(0x7fff0000, 12);
  return bytes;
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tswarm-seccomp-cache-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('SeccompBpfCache', () => {
  it('keeps a program across reopening, keyed by profile and compiler', async () => {
    const plain = defaultSeccompProfile([]);
    const admin = defaultSeccompProfile(['CAP_SYS_ADMIN']);
    const cache = await SeccompBpfCache.open(dir, 'crun 1.8.1', silentLogger());
    expect(cache.lookup(plain)).toBeUndefined();
    await cache.remember(plain, program());
    expect(cache.lookup(plain)).toBe(program().toString('base64'));
    expect(cache.lookup(admin)).toBeUndefined();

    const reopened = await SeccompBpfCache.open(dir, 'crun 1.8.1', silentLogger());
    expect(reopened.lookup(plain)).toBe(program().toString('base64'));
    // Another runtime, libseccomp or kernel compiles afresh.
    const upgraded = await SeccompBpfCache.open(dir, 'crun 1.9', silentLogger());
    expect(upgraded.lookup(plain)).toBeUndefined();
  });

  it('drops a damaged entry and a leftover temporary file when it opens', async () => {
    const profile = defaultSeccompProfile([]);
    const cache = await SeccompBpfCache.open(dir, 'f', silentLogger());
    await cache.remember(profile, program());
    const [name] = await readdir(dir);
    const path = join(dir, name!);
    const bytes = await readFile(path);
    bytes[bytes.length - 3]! ^= 0x01; // one flipped bit in the program
    await writeFile(path, bytes);
    await writeFile(join(dir, `${name}.tmp`), 'half written');

    const reopened = await SeccompBpfCache.open(dir, 'f', silentLogger());
    expect(reopened.lookup(profile)).toBeUndefined();
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses to keep something that is not a filter', async () => {
    const profile = defaultSeccompProfile([]);
    const cache = await SeccompBpfCache.open(dir, 'f', silentLogger());
    await cache.remember(profile, Buffer.alloc(0));
    await cache.remember(profile, program().subarray(0, 12));
    expect(cache.lookup(profile)).toBeUndefined();
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('filter shape', () => {
  it('wants whole instructions ending in a return, at most BPF_MAXINSNS', () => {
    expect(isPlausibleFilter(program())).toBe(true);
    expect(isPlausibleFilter(program().subarray(0, 8))).toBe(false); // ends in a load
    expect(isPlausibleFilter(Buffer.alloc(4097 * 8, 0x06))).toBe(false);
  });

  it('reads back only an entry whose header and checksum hold', () => {
    expect(parseEntry(Buffer.from('no header'))).toBeUndefined();
    expect(parseEntry(Buffer.concat([Buffer.from('tswarm-seccomp-bpf v1 00\n'), program()]))).toBeUndefined();
  });
});
