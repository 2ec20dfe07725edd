import { describe, expect, it } from 'vitest';
import { MountType, PortProtocol } from '../../gen/tswarm/v1/objects.js';
import { thrownCode } from '../../lib/testing/error-codes.js';
import { containerConfigFromDocker } from './container-create.js';

/** What `docker run -d -p 8080:80 --name web -e A=1 busybox httpd -f` sends, trimmed to what matters. */
const cliBody = {
  Hostname: '',
  User: '',
  Tty: false,
  OpenStdin: false,
  AttachStdin: false,
  Env: ['A=1'],
  Cmd: ['httpd', '-f'],
  Image: 'busybox',
  Labels: { team: 'a' },
  ExposedPorts: { '80/tcp': {} },
  HostConfig: {
    Binds: ['data:/data', '/srv:/srv:ro'],
    NetworkMode: 'default',
    PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }] },
    RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
    AutoRemove: false,
    CpuShares: 0,
    Memory: 64 * 1024 * 1024,
    NanoCpus: 500_000_000,
    PidsLimit: -1,
    Init: null,
    Privileged: false,
    LogConfig: { Type: '', Config: {} },
    SecurityOpt: ['no-new-privileges'],
    Dns: ['10.0.0.2'],
    CapAdd: ['NET_ADMIN'],
  },
  NetworkingConfig: { EndpointsConfig: {} },
};

/** Refused as INVALID_ARGUMENT (a 400), with a message matching `message`. */
function expectCode(fn: () => unknown, code: string, message: RegExp): void {
  expect(thrownCode(fn)).toBe(code);
  expect(fn).toThrow(message);
}

describe('containerConfigFromDocker', () => {
  it('converts what the docker CLI sends', () => {
    const { config, warnings } = containerConfigFromDocker(structuredClone(cliBody), '/web');
    expect(warnings).toEqual([]);
    expect(config.name).toBe('web');
    expect(config.networkMode).toBe('');
    expect(config.ports).toEqual([
      { containerPort: 80, hostPort: 8080, protocol: PortProtocol.PORT_PROTOCOL_TCP, hostIp: '' },
    ]);
    expect(config.resources?.limits).toEqual({ nanoCpus: 500_000_000, memoryBytes: 64 * 1024 * 1024, pids: 0 });
    const spec = config.spec!;
    expect(spec).toMatchObject({
      image: 'busybox',
      command: [],
      args: ['httpd', '-f'],
      env: ['A=1'],
      labels: { team: 'a' },
      noNewPrivileges: true,
      dnsNameservers: ['10.0.0.2'],
      capabilityAdd: ['NET_ADMIN'],
    });
    expect(spec.mounts.map((m) => [m.type, m.source, m.target, m.readOnly])).toEqual([
      [MountType.MOUNT_TYPE_VOLUME, 'data', '/data', false],
      [MountType.MOUNT_TYPE_BIND, '/srv', '/srv', true],
    ]);
  });

  it('takes Entrypoint and Cmd as strings or arrays; Entrypoint [""] clears it', () => {
    expect(containerConfigFromDocker({ Image: 'x', Entrypoint: 'sh', Cmd: 'ls' }, '').config.spec).toMatchObject({
      command: ['sh'],
      args: ['ls'],
    });
    expect(containerConfigFromDocker({ Image: 'x', Entrypoint: [''], Cmd: ['ls', '/'] }, '').config.spec).toMatchObject(
      { command: ['ls', '/'], args: [] },
    );
  });

  it('names the field of a wrong type', () => {
    expectCode(() => containerConfigFromDocker({ Image: 'x', Cmd: 5 }, ''), 'INVALID_ARGUMENT', /^Cmd must be/);
    expectCode(
      () => containerConfigFromDocker({ Image: 'x', HostConfig: { Memory: '1g' } }, ''),
      'INVALID_ARGUMENT',
      /HostConfig\.Memory must be a number/,
    );
    expectCode(
      () =>
        containerConfigFromDocker({ Image: 'x', HostConfig: { PortBindings: { '80/tcp': [{ HostPort: 8080 }] } } }, ''),
      'INVALID_ARGUMENT',
      /HostPort must be a string/,
    );
  });

  it('takes a terminal and a stdin (docker run -it)', () => {
    expect(
      containerConfigFromDocker({ Image: 'x', Tty: true, OpenStdin: true, StdinOnce: true, AttachStdin: true }, '')
        .config.spec,
    ).toMatchObject({ tty: true, openStdin: true, stdinOnce: true });
    expectCode(
      () => containerConfigFromDocker({ Image: 'x', Tty: 'yes' }, ''),
      'INVALID_ARGUMENT',
      /Tty must be a boolean/,
    );
  });

  it('refuses what it cannot honour instead of ignoring it', () => {
    expectCode(
      () => containerConfigFromDocker({ Image: 'x', HostConfig: { RestartPolicy: { Name: 'always' } } }, ''),
      'INVALID_ARGUMENT',
      /RestartPolicy "always" is not supported/,
    );
    expectCode(
      () => containerConfigFromDocker({ Image: 'x', HostConfig: { NetworkMode: 'container:web' } }, ''),
      'INVALID_ARGUMENT',
      /NetworkMode/,
    );
    expectCode(
      () => containerConfigFromDocker({ Image: 'x', HostConfig: { SecurityOpt: ['seccomp=unconfined'] } }, ''),
      'INVALID_ARGUMENT',
      /SecurityOpt/,
    );
    expectCode(
      () => containerConfigFromDocker({ Image: 'x', HostConfig: { CpuQuota: 50000 } }, ''),
      'INVALID_ARGUMENT',
      /HostConfig.CpuQuota is not supported/,
    );
    expectCode(
      () =>
        containerConfigFromDocker({ Image: 'x', HostConfig: { Ulimits: [{ Name: 'nofile', Soft: 1, Hard: 1 }] } }, ''),
      'INVALID_ARGUMENT',
      /HostConfig.Ulimits/,
    );
    // What the docker CLI sends when no such flag is given passes.
    expect(() =>
      containerConfigFromDocker(
        { Image: 'x', HostConfig: { CpuQuota: 0, ShmSize: 0, OomKillDisable: false, Ulimits: null, CgroupParent: '' } },
        '',
      ),
    ).not.toThrow();
    expectCode(() => containerConfigFromDocker({ Cmd: ['ls'] }, ''), 'INVALID_ARGUMENT', /Image is empty/);
    expectCode(() => containerConfigFromDocker({ Image: 'x' }, 'bad name'), 'INVALID_ARGUMENT', /container name/);
  });

  it('makes an anonymous volume for each Config.Volumes path (docker run -v /data)', () => {
    const { config } = containerConfigFromDocker({ Image: 'x', Volumes: { '/data': {} } }, '');
    expect(config?.spec?.mounts).toEqual([
      expect.objectContaining({ type: MountType.MOUNT_TYPE_VOLUME, source: '', target: '/data' }),
    ]);
  });

  it('reads --mount volume-nocopy (HostConfig.Mounts VolumeOptions.NoCopy)', () => {
    const { config } = containerConfigFromDocker(
      {
        Image: 'x',
        HostConfig: { Mounts: [{ Type: 'volume', Source: 'data', Target: '/data', VolumeOptions: { NoCopy: true } }] },
      },
      '',
    );
    expect(config?.spec?.mounts).toEqual([expect.objectContaining({ source: 'data', volumeNoCopy: true })]);
  });

  it('warns about CPU shares, which it cannot apply', () => {
    expect(containerConfigFromDocker({ Image: 'x', HostConfig: { CpuShares: 512 } }, '').warnings).toHaveLength(1);
  });
});
