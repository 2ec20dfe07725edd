import { describe, expect, it } from 'vitest';
import { ContainerSpec, MountType } from '../../gen/tswarm/v1/objects.js';
import type { DeepPartial } from '../../gen/tswarm/v1/objects.js';
import type { OciImageConfig } from '../image-contract.js';
import { buildOciSpec, cgroupResources, type OciSpecInput } from './oci-spec.js';
import { cannotRunExitCode, normalizeSignal, resolveArgv, resolveCapabilities, resolveHealth } from './process.js';
import { resolveUser } from './user.js';
import { DEFAULT_CAPABILITIES, DEFAULT_PATH } from './defaults.js';
import { defaultHosts, withDnsOverrides } from './etc-files.js';
import { containerResolvConf } from '../netns/resolv-conf.js';
import { overlayOptions } from './rootfs.js';

const PASSWD =
  'root:x:0:0:root:/root:/bin/sh\nweb:x:33:33:www:/var/www:/bin/sh\nnobody:x:65534:65534::/nonexistent:/bin/false\n';
const GROUP = 'root:x:0:\nweb:x:33:\nstaff:x:50:web,other\nadm:x:4:web\n';

function input(
  spec: DeepPartial<ContainerSpec>,
  image: OciImageConfig = { Cmd: ['sh'] },
  extra: Partial<OciSpecInput> = {},
): OciSpecInput {
  return {
    rootfsPath: '/c/rootfs',
    image,
    spec: ContainerSpec.fromPartial(spec),
    passwd: PASSWD,
    group: GROUP,
    hostname: 'abc',
    cgroupsPath: '/t1/abc',
    netnsPath: '/run/netns/t1-abc',
    etcFiles: { hosts: '/c/hosts', hostname: '/c/hostname', resolvConf: '/c/resolv.conf' },
    mounts: [],
    initHostPath: '/usr/bin/catatonit',
    ...extra,
  };
}

describe("a command that cannot run, in docker run's exit codes", () => {
  it('127 not found, 126 not executable, 125 anything else', () => {
    expect(cannotRunExitCode('crun: executable file `nope` not found in $PATH: No such file or directory')).toBe(127);
    expect(cannotRunExitCode('open `/no/such`: No such file or directory')).toBe(127);
    expect(cannotRunExitCode('exec `/etc/passwd`: Permission denied')).toBe(126);
    expect(cannotRunExitCode('exec `/bin`: Is a directory')).toBe(126);
    expect(
      cannotRunExitCode('the runtime could not create the container: open executable: Operation not permitted'),
    ).toBe(126);
    expect(cannotRunExitCode('write to `/sys/fs/cgroup/memory/x/memory.limit_in_bytes`: Device or resource busy')).toBe(
      125,
    );
  });
});

describe('entrypoint and cmd, as Docker resolves them', () => {
  const image = { Entrypoint: ['/entry'], Cmd: ['--default'] };
  const argv = (command: string[], args: string[]) => resolveArgv(image, { command, args });
  it('uses the image entrypoint and cmd by default', () => expect(argv([], [])).toEqual(['/entry', '--default']));
  it('args replace cmd only', () => expect(argv([], ['x'])).toEqual(['/entry', 'x']));
  it('a command replaces the entrypoint and drops the image cmd', () =>
    expect(argv(['/bin/sh'], [])).toEqual(['/bin/sh']));
  it('command and args together', () => expect(argv(['/bin/sh'], ['-c', 'true'])).toEqual(['/bin/sh', '-c', 'true']));
  it('nothing to run is INVALID_ARGUMENT', () =>
    expect(() => resolveArgv({}, { command: [], args: [] })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    ));
});

describe('users', () => {
  it('defaults to root', () =>
    expect(resolveUser('', PASSWD, GROUP)).toEqual({ uid: 0, gid: 0, additionalGids: [], home: '/root' }));
  it('resolves a name with its groups', () =>
    expect(resolveUser('web', PASSWD, GROUP)).toEqual({ uid: 33, gid: 33, additionalGids: [50, 4], home: '/var/www' }));
  it('resolves name:group', () => expect(resolveUser('web:staff', PASSWD, GROUP).gid).toBe(50));
  it('takes an unknown numeric uid with gid 0', () =>
    expect(resolveUser('1234', PASSWD, GROUP)).toMatchObject({ uid: 1234, gid: 0, home: '/' }));
  it('takes uid:gid as given', () =>
    expect(resolveUser('1234:99', PASSWD, GROUP)).toMatchObject({ uid: 1234, gid: 99 }));
  it('adds extra groups by name or number', () =>
    expect(resolveUser('0', PASSWD, GROUP, ['staff', '7']).additionalGids).toEqual([50, 7]));
  it('refuses an unknown name or group', () => {
    expect(() => resolveUser('nosuch', PASSWD, GROUP)).toThrow(/not in the image's \/etc\/passwd/);
    expect(() => resolveUser('web:nosuch', PASSWD, GROUP)).toThrow(/not in the image's \/etc\/group/);
  });
});

describe('capabilities', () => {
  it('default set', () => expect(resolveCapabilities([], []).sort()).toEqual([...DEFAULT_CAPABILITIES].sort()));
  it('add and drop, with or without CAP_', () => {
    const caps = resolveCapabilities(['NET_ADMIN'], ['CAP_CHOWN', 'net_raw']);
    expect(caps).toContain('CAP_NET_ADMIN');
    expect(caps).not.toContain('CAP_CHOWN');
    expect(caps).not.toContain('CAP_NET_RAW');
  });
  it('drop ALL keeps only the added', () => expect(resolveCapabilities(['KILL'], ['ALL'])).toEqual(['CAP_KILL']));
  it('add ALL gives all but the dropped', () => {
    const caps = resolveCapabilities(['ALL'], ['SYS_ADMIN']);
    expect(caps).toContain('CAP_SYS_PTRACE');
    expect(caps).not.toContain('CAP_SYS_ADMIN');
  });
  it('refuses unknown names', () => expect(() => resolveCapabilities(['FLY'], [])).toThrow(/unknown capability/));
});

describe('buildOciSpec', () => {
  it('merges env by key, defaults PATH and sets HOSTNAME and HOME', () => {
    const { oci } = buildOciSpec(input({ env: ['A=spec', 'B=2'] }, { Env: ['A=image', 'C=3'], Cmd: ['sh'] }));
    expect(oci.process.env).toEqual(
      expect.arrayContaining(['A=spec', 'B=2', 'C=3', `PATH=${DEFAULT_PATH}`, 'HOSTNAME=abc', 'HOME=/root']),
    );
    expect(oci.process.env.filter((e) => e.startsWith('A='))).toHaveLength(1);
  });

  it('takes the working dir and user from the spec, else the image', () => {
    expect(buildOciSpec(input({}, { Cmd: ['sh'], WorkingDir: '/app', User: 'web' })).oci.process).toMatchObject({
      cwd: '/app',
      user: { uid: 33, gid: 33 },
    });
    expect(
      buildOciSpec(input({ dir: '/x', user: '0' }, { Cmd: ['sh'], WorkingDir: '/app', User: 'web' })).oci.process,
    ).toMatchObject({ cwd: '/x', user: { uid: 0 } });
  });

  it('puts catatonit in front for init: true', () => {
    const { oci, argv } = buildOciSpec(input({ init: true, command: ['sleep', '1'] }));
    expect(oci.process.args).toEqual(['/sbin/tswarm-init', '--', 'sleep', '1']);
    expect(argv).toEqual(['sleep', '1']);
    expect(oci.mounts).toContainEqual({
      destination: '/sbin/tswarm-init',
      type: 'bind',
      source: '/usr/bin/catatonit',
      options: ['rbind', 'rprivate', 'ro'],
    });
  });

  it('mounts the system dirs, the etc files and the user mounts', () => {
    const mounts = [
      {
        type: 'tmpfs' as const,
        source: '',
        target: '/scratch',
        readOnly: false,
        tmpfsSizeBytes: 1024,
        tmpfsMode: 0o1777,
      },
      { type: 'bind' as const, source: '/srv', target: '/data', readOnly: true },
    ];
    const { oci } = buildOciSpec(input({ readOnly: true }, undefined, { mounts }));
    const destinations = oci.mounts.map((m) => m.destination);
    expect(destinations).toEqual(
      expect.arrayContaining([
        '/proc',
        '/dev',
        '/dev/pts',
        '/dev/shm',
        '/dev/mqueue',
        '/sys',
        '/etc/hosts',
        '/etc/hostname',
        '/etc/resolv.conf',
      ]),
    );
    expect(oci.mounts).toContainEqual({
      destination: '/scratch',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'nodev', 'noexec', 'size=1024', 'mode=1777'],
    });
    expect(oci.mounts).toContainEqual({
      destination: '/data',
      type: 'bind',
      source: '/srv',
      options: ['rbind', 'rprivate', 'ro'],
    });
    expect(oci.root).toEqual({ path: '/c/rootfs', readonly: true });
  });

  it('joins the given netns, or shares the host network with null', () => {
    expect(buildOciSpec(input({})).oci.linux.namespaces).toContainEqual({ type: 'network', path: '/run/netns/t1-abc' });
    expect(
      buildOciSpec(input({}, undefined, { netnsPath: null })).oci.linux.namespaces.map((n) => n.type),
    ).not.toContain('network');
  });

  it('masks paths, sets no-new-privileges and a seccomp profile that follows the capabilities', () => {
    const { oci } = buildOciSpec(input({ noNewPrivileges: true, capabilityAdd: ['SYS_PTRACE'] }));
    expect(oci.process.noNewPrivileges).toBe(true);
    expect(oci.linux.maskedPaths).toContain('/proc/kcore');
    expect(oci.linux.readonlyPaths).toContain('/proc/sys');
    expect(oci.linux.seccomp.defaultAction).toBe('SCMP_ACT_ERRNO');
    const allowed = oci.linux.seccomp.syscalls.filter((s) => s.action === 'SCMP_ACT_ALLOW').flatMap((s) => s.names);
    expect(allowed).toEqual(expect.arrayContaining(['read', 'execve', 'ptrace']));
    expect(allowed).not.toContain('mount');
  });

  it('honours the image STOPSIGNAL and HEALTHCHECK unless the spec overrides them', () => {
    const image = {
      Cmd: ['sh'],
      StopSignal: 'SIGQUIT',
      Healthcheck: { Test: ['CMD', 'true'], Interval: 5e9, Timeout: 1e9, Retries: 2 },
    };
    const fromImage = buildOciSpec(input({}, image));
    expect(fromImage.stopSignal).toBe('SIGQUIT');
    expect(fromImage.health).toEqual({
      test: ['CMD', 'true'],
      intervalMs: 5000,
      timeoutMs: 1000,
      retries: 2,
      startPeriodMs: 0,
    });
    const fromSpec = buildOciSpec(input({ stopSignal: 'INT', healthcheck: { test: ['NONE'] } }, image));
    expect(fromSpec.stopSignal).toBe('SIGINT');
    expect(fromSpec.health).toBeUndefined();
    expect(resolveHealth({}, { healthcheck: undefined })).toBeUndefined();
    // Timings alone (--health-interval without --health-cmd) retime the image's check, as Docker merges them.
    const retimed = resolveHealth(image, {
      healthcheck: { test: [], intervalMs: 250, timeoutMs: 0, retries: 0, startPeriodMs: 0 },
    });
    expect(retimed).toEqual({ test: ['CMD', 'true'], intervalMs: 250, timeoutMs: 1000, retries: 2, startPeriodMs: 0 });
    expect(
      resolveHealth({}, { healthcheck: { test: [], intervalMs: 250, timeoutMs: 0, retries: 0, startPeriodMs: 0 } }),
    ).toBeUndefined();
  });

  it('rejects an unknown signal', () => expect(() => normalizeSignal('SIGFOO')).toThrow(/unknown signal/));
});

describe('resources, etc files and overlay options', () => {
  it('maps limits to cgroup resources', () => {
    expect(
      cgroupResources(
        { memoryBytes: 64 << 20, nanoCpus: 500_000_000, pids: 20 },
        { nanoCpus: 2e9, memoryBytes: 0, pids: 0 },
      ),
    ).toMatchObject({
      memory: { limit: 64 << 20, swap: 64 << 20 },
      cpu: { quota: 50_000, period: 100_000, shares: 2048 },
      pids: { limit: 20 },
    });
  });

  it('writes hosts with the container address and resolv.conf without loopback servers', () => {
    expect(defaultHosts({ hostname: 'web1', ip: '10.0.0.5', extraHosts: ['db:10.0.0.9'] })).toMatch(
      /10\.0\.0\.9\tdb\n10\.0\.0\.5\tweb1\n$/,
    );
    const base = containerResolvConf('nameserver 127.0.0.53\nnameserver 10.1.1.1\nsearch lab\noptions rotate\n');
    const none = { nameservers: [], search: [], options: [] };
    expect(withDnsOverrides(base, none)).toBe(base);
    // Each setting given replaces its kind of line and leaves the others as the host has them.
    expect(withDnsOverrides(base, { ...none, nameservers: ['10.9.9.9'] })).not.toContain('10.1.1.1');
    expect(
      withDnsOverrides(base, { ...none, nameservers: ['10.9.9.9'], options: ['ndots:2'] })
        .split('\n')
        .filter((l) => !l.startsWith('#')),
    ).toEqual(['search lab', 'nameserver 10.9.9.9', 'options ndots:2', '']);
    expect(withDnsOverrides(containerResolvConf(''), { ...none, nameservers: ['10.9.9.9'] })).toBe(
      'nameserver 10.9.9.9\n',
    );
  });

  it('lists overlay lowerdirs highest first', () => {
    expect(overlayOptions(['/l/1', '/l/2'], { upper: '/u', work: '/w', target: '/m' })).toBe(
      'lowerdir=/l/2:/l/1,upperdir=/u,workdir=/w',
    );
  });
});

it('MountType is what create.ts expects', () => expect(MountType.MOUNT_TYPE_TMPFS).toBe(3));
