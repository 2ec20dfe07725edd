import { matchesFilter, matchesFilters, parseContainerFilter } from './container-filters.js';
import type { ContainerSummary } from '../../gen/lite/tswarm/v1/engine.js';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from 'commander';
import { MountType, PortProtocol } from '../../gen/lite/tswarm/v1/objects.js';
import {
  parseDurationMs,
  parseEnv,
  parseLabel,
  parseNanoCpus,
  parseNonNegativeInt,
  parsePort,
  parseSecurityOpt,
  parseSizeBytes,
  parseTmpfs,
  parseVolume,
} from './engine-flags.js';
import { buildContainerConfig, containerFlags } from './container-config.js';
import { containerStatus, humanBytes, imageRows, splitRepoTag } from './engine-format.js';
import { PullProgress } from './engine-progress.js';

describe('engine flag parsers', () => {
  it('reads sizes with binary units, as Docker does', () => {
    expect(parseSizeBytes('64m')).toBe(64 * 1024 * 1024);
    expect(parseSizeBytes('1g')).toBe(1024 ** 3);
    expect(parseSizeBytes('1.5G')).toBe(1.5 * 1024 ** 3);
    expect(parseSizeBytes('512kb')).toBe(512 * 1024);
    expect(parseSizeBytes('100')).toBe(100);
    for (const bad of ['', 'lots', '-1m', '5x']) expect(() => parseSizeBytes(bad)).toThrow(InvalidArgumentError);
  });

  it('reads Go-style durations, CPUs and whole numbers', () => {
    expect(parseDurationMs('30s')).toBe(30_000);
    expect(parseDurationMs('1m30s')).toBe(90_000);
    expect(parseDurationMs('250ms')).toBe(250);
    expect(() => parseDurationMs('30')).toThrow(/Use a number with a unit/);
    expect(parseNanoCpus('0.5')).toBe(500_000_000);
    expect(parseNanoCpus('2')).toBe(2_000_000_000);
    expect(() => parseNanoCpus('0')).toThrow(InvalidArgumentError);
    expect(parseNonNegativeInt('--pids-limit')('100')).toBe(100);
    expect(() => parseNonNegativeInt('--pids-limit')('-1')).toThrow(/invalid --pids-limit "-1"/);
  });

  it('reads --security-opt no-new-privileges and refuses what it does not support', () => {
    expect(
      ['no-new-privileges', 'no-new-privileges:true', 'no-new-privileges=false'].map(
        (v) => parseSecurityOpt(v).noNewPrivileges,
      ),
    ).toEqual([true, true, false]);
    expect(() => parseSecurityOpt('seccomp=unconfined')).toThrow(
      'unsupported --security-opt "seccomp=unconfined". Only no-new-privileges[:true|false] is supported',
    );
  });

  it('reads published ports', () => {
    expect(parsePort('8080:80')).toEqual({
      hostPort: 8080,
      containerPort: 80,
      protocol: PortProtocol.PORT_PROTOCOL_TCP,
      hostIp: '',
    });
    expect(parsePort('127.0.0.1:53:53/udp')).toEqual({
      hostPort: 53,
      containerPort: 53,
      protocol: PortProtocol.PORT_PROTOCOL_UDP,
      hostIp: '127.0.0.1',
    });
    expect(parsePort('80')).toMatchObject({ hostPort: 0, containerPort: 80 });
    for (const bad of ['0', '70000:80', '80/icmp', 'a:b', '1:2:3:4'])
      expect(() => parsePort(bad)).toThrow(InvalidArgumentError);
  });

  it('reads bind mounts, volumes and tmpfs', () => {
    expect(parseVolume('/srv:/data:ro')).toMatchObject({
      type: MountType.MOUNT_TYPE_BIND,
      source: '/srv',
      target: '/data',
      readOnly: true,
    });
    expect(parseVolume('cache:/cache')).toMatchObject({
      type: MountType.MOUNT_TYPE_VOLUME,
      source: 'cache',
      target: '/cache',
      readOnly: false,
    });
    expect(parseVolume('/anon')).toMatchObject({ type: MountType.MOUNT_TYPE_VOLUME, source: '', target: '/anon' });
    for (const bad of ['rel', '/a:rel', '/a:/b:rx', '/a::/b'])
      expect(() => parseVolume(bad)).toThrow(InvalidArgumentError);
    expect(parseTmpfs('/run:size=64m,mode=1777')).toMatchObject({
      type: MountType.MOUNT_TYPE_TMPFS,
      target: '/run',
      tmpfsSizeBytes: 64 * 1024 * 1024,
      tmpfsMode: 0o1777,
    });
    expect(() => parseTmpfs('/run:uid=1')).toThrow(/invalid --tmpfs option/);
  });

  it('reads env and labels; a bare env name comes from the CLI’s environment', () => {
    expect(parseEnv('A=1')).toBe('A=1');
    expect(parseEnv('HOME_X', { HOME_X: '/x' })).toBe('HOME_X=/x');
    expect(parseEnv('UNSET_X', {})).toBeUndefined();
    expect(() => parseEnv('=1')).toThrow(InvalidArgumentError);
    expect(parseLabel('a=b=c')).toEqual(['a', 'b=c']);
    expect(parseLabel('flag')).toEqual(['flag', '']);
  });
});

describe('container config from flags', () => {
  it('maps Docker’s flags onto a ContainerConfig, --entrypoint replacing the entrypoint and the rest the cmd', () => {
    const config = buildContainerConfig(
      'busybox',
      ['-c', 'echo hi'],
      containerFlags({
        entrypoint: 'sh',
        env: ['A=1', undefined],
        memory: 1024,
        cpus: 5e8,
        pidsLimit: 10,
        rm: true,
        network: 'none',
        stopTimeout: 3,
        healthCmd: 'true',
        label: [['k', 'v']],
      }),
    );
    expect(config.spec).toMatchObject({
      image: 'busybox',
      command: ['sh'],
      args: ['-c', 'echo hi'],
      env: ['A=1'],
      stopGracePeriodMs: 3000,
      labels: { k: 'v' },
    });
    expect(config.spec?.healthcheck?.test).toEqual(['CMD-SHELL', 'true']);
    expect(config.resources?.limits).toEqual({ nanoCpus: 5e8, memoryBytes: 1024, pids: 10 });
    expect([config.autoRemove, config.networkMode]).toEqual([true, 'none']);
    expect(buildContainerConfig('x', [], containerFlags({ healthcheck: false })).spec?.healthcheck?.test).toEqual([
      'NONE',
    ]);
  });
  it('refuses --no-healthcheck with --health-* options, as Docker does', () => {
    expect(() => buildContainerConfig('x', [], containerFlags({ healthcheck: false, healthCmd: 'true' }))).toThrow(
      /--no-healthcheck conflicts with --health-\* options/,
    );
    expect(() => buildContainerConfig('x', [], containerFlags({ healthcheck: false, healthInterval: 1000 }))).toThrow(
      /conflicts/,
    );
  });

  it('--entrypoint "" clears the entrypoint: the words after the image are the whole command', () => {
    expect(buildContainerConfig('x', ['echo', 'hi'], containerFlags({ entrypoint: '' })).spec).toMatchObject({
      command: ['echo', 'hi'],
      args: [],
    });
    expect(() => buildContainerConfig('x', [], containerFlags({ entrypoint: '' }))).toThrow(
      /--entrypoint "" clears the image's entrypoint and cmd, so a command is needed/,
    );
  });
});

describe('engine output', () => {
  it('formats sizes, tags and states as docker does', () => {
    expect([humanBytes(999), humanBytes(4_260_000), humanBytes(1_500_000_000)]).toEqual(['999B', '4.26MB', '1.5GB']);
    expect(splitRepoTag('127.0.0.1:5000/test/busybox:1')).toEqual(['127.0.0.1:5000/test/busybox', '1']);
    expect(splitRepoTag('127.0.0.1:5000/test/busybox')).toEqual(['127.0.0.1:5000/test/busybox', '<none>']);
    const now = 1_000_000_000;
    expect(
      imageRows(
        [{ id: 'sha256:0123456789abcdef', repoTags: [], repoDigests: [], sizeBytes: 1000, createdAtMs: now - 120_000 }],
        now,
      ),
    ).toEqual([['<none>', '<none>', '0123456789ab', '2 minutes ago', '1kB']]);
    const state = {
      status: 'exited',
      pid: 0,
      exitCode: 3,
      oomKilled: false,
      startedAtMs: 0,
      finishedAtMs: now - 5_000,
      health: '',
      error: '',
    };
    expect(
      containerStatus(
        { id: 'x', name: 'n', image: 'i', command: [], createdAtMs: 0, state, ports: [], labels: {} },
        now,
      ),
    ).toBe('Exited (3) 5 seconds ago');
  });

  it('prints a plain line per layer status change off a terminal, and redraws on one', () => {
    let plain = '';
    const p = new PullProgress((t) => (plain += t), false);
    const layer = { digest: 'sha256:aaaaaaaaaaaaaaaa', status: 'downloading', currentBytes: 1, totalBytes: 10 };
    p.update(layer);
    p.update({ ...layer, currentBytes: 5 });
    p.update({ ...layer, status: 'done' });
    expect(plain).toBe('aaaaaaaaaaaa: downloading 1B/10B\naaaaaaaaaaaa: done\n');
    let tty = '';
    const t = new PullProgress((s) => (tty += s), true);
    t.update(layer);
    t.update({ ...layer, digest: 'sha256:bbbbbbbbbbbbbbbb', status: 'waiting' });
    expect(tty).toContain('\x1b[1A');
  });
});

describe('ps --filter', () => {
  const c = {
    id: 'abc123',
    name: 'web-1',
    image: 'busybox:1',
    command: [],
    createdAtMs: 0,
    state: undefined,
    ports: [],
    labels: { tier: 'front', 'tswarm.engine.image-id': 'sha256:35ce00' },
  } as unknown as ContainerSummary;
  const running = { ...c, state: { status: 'running' } } as unknown as ContainerSummary;
  it('matches as docker ps does: name substring, id prefix, label, status, ancestor', () => {
    expect(matchesFilter(c, parseContainerFilter('name=web'))).toBe(true);
    expect(matchesFilter(c, parseContainerFilter('id=abc'))).toBe(true);
    expect(matchesFilter(c, parseContainerFilter('id=bc'))).toBe(false);
    expect(matchesFilter(c, parseContainerFilter('label=tier'))).toBe(true);
    expect(matchesFilter(c, parseContainerFilter('label=tier=back'))).toBe(false);
    expect(matchesFilter(running, parseContainerFilter('status=running'))).toBe(true);
    expect(matchesFilter(c, parseContainerFilter('ancestor=busybox'))).toBe(true);
    expect(matchesFilter(c, parseContainerFilter('ancestor=35ce'))).toBe(true);
  });
  it('takes name as a regular expression, and ORs terms of one key while ANDing keys', () => {
    expect(matchesFilter(c, parseContainerFilter('name=^web-1$'))).toBe(true);
    expect(matchesFilter(c, parseContainerFilter('name=^web$'))).toBe(false);
    const terms = ['name=other', 'name=web', 'label=tier'].map(parseContainerFilter);
    expect(matchesFilters(c, terms)).toBe(true);
    expect(matchesFilters(c, [...terms, parseContainerFilter('label=nope')])).toBe(true); // label=tier OR label=nope
    expect(matchesFilters(c, [parseContainerFilter('name=other'), parseContainerFilter('label=tier')])).toBe(false);
  });

  it('refuses what it cannot filter by, naming the keys', () => {
    expect(() => parseContainerFilter('nmae=web')).toThrow(
      /unknown filter "nmae". Use name, id, label, status, ancestor/,
    );
    expect(() => parseContainerFilter('status=up')).toThrow(/invalid status filter "up"/);
    expect(() => parseContainerFilter('name')).toThrow(/invalid filter "name"/);
  });
});
