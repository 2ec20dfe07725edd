import { parseContainerFilter } from './container-filters.js';
import { filtersQuery } from './filters.js';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from 'commander';
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
import { buildCreateBody, containerFlags } from './container-config.js';
import { containerConfigFromDocker } from '../../daemon/api/container-create.js';
import { MountType, PortProtocol } from '../../gen/tswarm/v1/objects.js';
import { humanBytes, splitRepoTag } from './engine-format.js';
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
    // Passed on as given: the daemon reads it (the last one wins), as dockerd does.
    expect(['no-new-privileges', ' no-new-privileges:true', 'no-new-privileges=false'].map(parseSecurityOpt)).toEqual([
      'no-new-privileges',
      'no-new-privileges:true',
      'no-new-privileges=false',
    ]);
    expect(() => parseSecurityOpt('seccomp=unconfined')).toThrow(
      'unsupported --security-opt "seccomp=unconfined". Only no-new-privileges[:true|false] is supported',
    );
  });

  it('reads published ports as Docker’s port key and host binding', () => {
    expect(parsePort('8080:80')).toEqual({ port: '80/tcp', binding: { HostIp: '', HostPort: '8080' } });
    expect(parsePort('127.0.0.1:53:53/UDP')).toEqual({
      port: '53/udp',
      binding: { HostIp: '127.0.0.1', HostPort: '53' },
    });
    // No host port: the daemon picks a free one.
    expect(parsePort('80')).toEqual({ port: '80/tcp', binding: { HostIp: '', HostPort: '' } });
    for (const bad of ['0', '70000:80', '80/icmp', 'a:b', '1:2:3:4'])
      expect(() => parsePort(bad)).toThrow(InvalidArgumentError);
  });

  it('reads bind mounts, volumes and tmpfs, and passes them on as docker run does', () => {
    // SRC:DST goes in HostConfig.Binds as written, a lone path in Config.Volumes.
    expect(parseVolume('/srv:/data:ro')).toEqual({ bind: '/srv:/data:ro' });
    expect(parseVolume('cache:/cache')).toEqual({ bind: 'cache:/cache' });
    expect(parseVolume('/anon')).toEqual({ anonymous: '/anon' });
    for (const bad of ['rel', '/a:rel', '/a:/b:rx', '/a::/b'])
      expect(() => parseVolume(bad)).toThrow(InvalidArgumentError);
    expect(parseTmpfs('/run:size=64m,mode=1777')).toEqual(['/run', 'size=64m,mode=1777']);
    expect(parseTmpfs('/tmp')).toEqual(['/tmp', '']);
    expect(() => parseTmpfs('/run:uid=1')).toThrow(/invalid --tmpfs option/);
    expect(() => parseTmpfs('run')).toThrow(/invalid --tmpfs "run"/);
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

describe('the create body from flags', () => {
  it('maps Docker’s flags onto Docker’s create body, --entrypoint replacing the entrypoint and the rest the cmd', () => {
    const body = buildCreateBody(
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
        stopSignal: 'SIGQUIT',
        healthCmd: 'true',
        healthInterval: 1500,
        label: [['k', 'v']],
        workdir: '/w',
        user: '1000:1000',
        hostname: 'h',
        init: true,
        readOnly: true,
        volume: [parseVolume('/srv:/srv:ro'), parseVolume('data:/data'), parseVolume('/scratch')],
        tmpfs: [parseTmpfs('/run:size=1m')],
        publish: [parsePort('8080:80'), parsePort('127.0.0.1:8081:80'), parsePort('53/udp')],
        capAdd: ['NET_ADMIN'],
        capDrop: ['ALL'],
        securityOpt: ['no-new-privileges'],
        dns: ['10.0.0.2'],
        dnsSearch: ['lab'],
        dnsOption: ['ndots:2'],
      }),
    );
    expect(body).toEqual({
      Image: 'busybox',
      Cmd: ['-c', 'echo hi'],
      Entrypoint: ['sh'],
      Env: ['A=1'],
      Labels: { k: 'v' },
      WorkingDir: '/w',
      User: '1000:1000',
      Hostname: 'h',
      ExposedPorts: { '80/tcp': {}, '53/udp': {} },
      Volumes: { '/scratch': {} },
      Healthcheck: { Test: ['CMD-SHELL', 'true'], Interval: 1.5e9, Timeout: 0, Retries: 0, StartPeriod: 0 },
      StopSignal: 'SIGQUIT',
      StopTimeout: 3,
      HostConfig: {
        Binds: ['/srv:/srv:ro', 'data:/data'],
        Tmpfs: { '/run': 'size=1m' },
        PortBindings: {
          '80/tcp': [
            { HostIp: '', HostPort: '8080' },
            { HostIp: '127.0.0.1', HostPort: '8081' },
          ],
          '53/udp': [{ HostIp: '', HostPort: '' }],
        },
        Memory: 1024,
        NanoCpus: 5e8,
        PidsLimit: 10,
        RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
        AutoRemove: true,
        NetworkMode: 'none',
        ReadonlyRootfs: true,
        Init: true,
        SecurityOpt: ['no-new-privileges'],
        CapAdd: ['NET_ADMIN'],
        CapDrop: ['ALL'],
        Dns: ['10.0.0.2'],
        DnsSearch: ['lab'],
        DnsOptions: ['ndots:2'],
      },
    });
  });

  it('leaves out what no flag set, so the image’s defaults and the daemon’s apply', () => {
    const body = JSON.parse(JSON.stringify(buildCreateBody('busybox', [], containerFlags({})))) as object;
    expect(body).toEqual({
      Image: 'busybox',
      HostConfig: {
        RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
        AutoRemove: false,
        NetworkMode: 'default',
        ReadonlyRootfs: false,
      },
    });
  });

  it('turns the health check off with --no-healthcheck, and tunes the image’s without --health-cmd', () => {
    expect(buildCreateBody('x', [], containerFlags({ healthcheck: false })).Healthcheck).toEqual({ Test: ['NONE'] });
    expect(buildCreateBody('x', [], containerFlags({ healthRetries: 5 })).Healthcheck).toEqual({
      Interval: 0,
      Timeout: 0,
      Retries: 5,
      StartPeriod: 0,
    });
  });

  it('refuses --no-healthcheck with --health-* options, as Docker does', () => {
    expect(() => buildCreateBody('x', [], containerFlags({ healthcheck: false, healthCmd: 'true' }))).toThrow(
      /--no-healthcheck conflicts with --health-\* options/,
    );
    expect(() => buildCreateBody('x', [], containerFlags({ healthcheck: false, healthInterval: 1000 }))).toThrow(
      /conflicts/,
    );
  });

  it('--entrypoint "" clears the entrypoint: the words after the image are the whole command', () => {
    expect(buildCreateBody('x', ['echo', 'hi'], containerFlags({ entrypoint: '' }))).toMatchObject({
      Entrypoint: [''],
      Cmd: ['echo', 'hi'],
    });
    expect(() => buildCreateBody('x', [], containerFlags({ entrypoint: '' }))).toThrow(
      /--entrypoint "" clears the image's entrypoint and cmd, so a command is needed/,
    );
  });

  it('gives every `tswarm run` flag the meaning it has: the CLI’s body, read back', () => {
    const body = buildCreateBody(
      'busybox',
      ['-c', 'echo hi'],
      containerFlags({
        entrypoint: 'sh',
        env: ['A=1'],
        label: [['k', 'v']],
        workdir: '/w',
        user: '1000',
        hostname: 'h',
        init: true,
        readOnly: true,
        memory: 64 * 1024 * 1024,
        cpus: 5e8,
        pidsLimit: 10,
        rm: true,
        network: 'none',
        volume: [parseVolume('/srv:/srv:ro'), parseVolume('data:/data'), parseVolume('/scratch')],
        tmpfs: [parseTmpfs('/run:size=1m,mode=1777')],
        publish: [parsePort('127.0.0.1:8080:80/udp'), parsePort('81')],
        capAdd: ['NET_ADMIN'],
        capDrop: ['MKNOD'],
        securityOpt: ['no-new-privileges:false', 'no-new-privileges'],
        dns: ['10.0.0.2'],
        dnsSearch: ['lab'],
        dnsOption: ['ndots:2'],
        healthCmd: 'true',
        healthInterval: 2000,
        healthTimeout: 1000,
        healthRetries: 4,
        healthStartPeriod: 500,
        stopSignal: 'SIGQUIT',
        stopTimeout: 3,
      }),
    );
    const { config } = containerConfigFromDocker(JSON.parse(JSON.stringify(body)) as Record<string, unknown>, 'web');
    expect(config).toMatchObject({
      name: 'web',
      networkMode: 'none',
      autoRemove: true,
      resources: { limits: { nanoCpus: 5e8, memoryBytes: 64 * 1024 * 1024, pids: 10 } },
      ports: [
        { containerPort: 80, hostPort: 8080, protocol: PortProtocol.PORT_PROTOCOL_UDP, hostIp: '127.0.0.1' },
        { containerPort: 81, hostPort: 0, protocol: PortProtocol.PORT_PROTOCOL_TCP, hostIp: '' },
      ],
    });
    expect(config.spec).toMatchObject({
      image: 'busybox',
      command: ['sh'],
      args: ['-c', 'echo hi'],
      env: ['A=1'],
      labels: { k: 'v' },
      dir: '/w',
      user: '1000',
      hostname: 'h',
      init: true,
      readOnly: true,
      capabilityAdd: ['NET_ADMIN'],
      capabilityDrop: ['MKNOD'],
      noNewPrivileges: true, // the last --security-opt wins
      dnsNameservers: ['10.0.0.2'],
      dnsSearch: ['lab'],
      dnsOptions: ['ndots:2'],
      healthcheck: { test: ['CMD-SHELL', 'true'], intervalMs: 2000, timeoutMs: 1000, retries: 4, startPeriodMs: 500 },
      stopSignal: 'SIGQUIT',
      stopGracePeriodMs: 3000,
    });
    expect(
      config.spec!.mounts.map((m) => [m.type, m.source, m.target, m.readOnly, m.tmpfsSizeBytes, m.tmpfsMode]),
    ).toEqual([
      [MountType.MOUNT_TYPE_BIND, '/srv', '/srv', true, 0, 0],
      [MountType.MOUNT_TYPE_VOLUME, 'data', '/data', false, 0, 0],
      [MountType.MOUNT_TYPE_VOLUME, '', '/scratch', false, 0, 0],
      [MountType.MOUNT_TYPE_TMPFS, '', '/run', false, 1024 * 1024, 0o1777],
    ]);
  });
});

describe('engine output', () => {
  it('formats sizes, tags and states as docker does', () => {
    expect([humanBytes(999), humanBytes(4_260_000), humanBytes(1_500_000_000)]).toEqual(['999B', '4.26MB', '1.5GB']);
    expect(splitRepoTag('127.0.0.1:5000/test/busybox:1')).toEqual(['127.0.0.1:5000/test/busybox', '1']);
    expect(splitRepoTag('127.0.0.1:5000/test/busybox')).toEqual(['127.0.0.1:5000/test/busybox', '<none>']);
  });

  it('prints a plain line per layer status change off a terminal, and redraws on one', () => {
    let plain = '';
    const p = new PullProgress((t) => (plain += t), false);
    const layer = { id: 'aaaaaaaaaaaa', status: 'Downloading', progressDetail: { current: 1, total: 10 } };
    p.update({ status: 'Pulling from test/busybox', id: '1' });
    p.update(layer);
    p.update({ ...layer, progressDetail: { current: 5, total: 10 } });
    p.update({ id: 'aaaaaaaaaaaa', status: 'Pull complete' });
    p.update({ status: 'Status: Downloaded newer image for test/busybox:1' });
    expect(plain).toBe(
      'aaaaaaaaaaaa: Downloading 1B/10B\naaaaaaaaaaaa: Pull complete\nStatus: Downloaded newer image for test/busybox:1\n',
    );
    let tty = '';
    const t = new PullProgress((s) => (tty += s), true);
    t.update(layer);
    t.update({ id: 'bbbbbbbbbbbb', status: 'Waiting' });
    expect(tty).toContain('\x1b[1A');
    expect(() => p.update({ error: 'layer digest mismatch' })).toThrow('layer digest mismatch');
  });
});

describe('ps --filter', () => {
  it('passes each KEY=VALUE term to the daemon in Docker’s filters parameter', () => {
    const terms = ['name=web', 'label=tier=front', 'label=team', 'status=exited'].map(parseContainerFilter);
    expect(JSON.parse(filtersQuery(terms)!)).toEqual({
      name: { web: true },
      label: { 'tier=front': true, team: true },
      status: { exited: true },
    });
    expect(filtersQuery([])).toBeUndefined();
  });

  it('refuses a term that is not KEY=VALUE before asking the daemon', () => {
    expect(() => parseContainerFilter('name')).toThrow(/invalid filter "name". Use KEY=VALUE with name, id, label/);
    expect(() => parseContainerFilter('=web')).toThrow(InvalidArgumentError);
    expect(() => parseContainerFilter('name=')).toThrow(InvalidArgumentError);
  });
});
