import { describe, expect, it } from 'vitest';
import {
  ContainerSpec,
  EndpointMode,
  MountType,
  PortProtocol,
  PublishMode,
  RestartCondition,
  ServiceSpec,
  type Mount,
  type PortConfig,
} from '../../gen/tswarm/v1/objects.js';
import type { DeepPartial } from '../../gen/tswarm/v1/engine.js';
import { TswarmError } from '../../lib/errors.js';
import { testStore } from '../store/testing/test-store.js';
import { createService, updateService } from './services.js';
import { validateServiceSpec } from './service-spec.js';

/** A valid spec with `container` merged into its container spec, and the rest of `o` over the spec. */
function spec(container: DeepPartial<ContainerSpec> = {}, o: DeepPartial<ServiceSpec> = {}): ServiceSpec {
  return ServiceSpec.fromPartial({
    annotations: { name: 'web' },
    replicated: { replicas: 1 },
    ...o,
    taskTemplate: { ...o.taskTemplate, container: { image: 'busybox:1', ...container } },
  });
}

const mount = (m: Partial<Mount>): Partial<Mount> => ({ type: MountType.MOUNT_TYPE_VOLUME, target: '/data', ...m });
const port = (p: Partial<PortConfig>): Partial<PortConfig> => ({
  protocol: PortProtocol.PORT_PROTOCOL_TCP,
  targetPort: 80,
  publishedPort: 8080,
  publishMode: PublishMode.PUBLISH_MODE_INGRESS,
  ...p,
});
const ports = (...list: Partial<PortConfig>[]) => ({ endpoint: { mode: EndpointMode.ENDPOINT_MODE_VIP, ports: list } });

/** Bad specs and a fragment of the message each must be refused with. */
const BAD: [string, ServiceSpec, string][] = [
  [
    'a relative mount target',
    spec({ mounts: [mount({ target: 'data' })] }),
    'mount target "data" is not an absolute path',
  ],
  ['a mount at /', spec({ mounts: [mount({ target: '/' })] }), 'a mount target cannot be /'],
  [
    'two mounts at one path',
    spec({ mounts: [mount({ source: 'aa' }), mount({ type: MountType.MOUNT_TYPE_TMPFS, target: '/data/' })] }),
    'duplicate mount point /data',
  ],
  ['a mount without a type', spec({ mounts: [mount({ type: MountType.MOUNT_TYPE_UNSPECIFIED })] }), 'has no type'],
  [
    'a relative bind source',
    spec({ mounts: [mount({ type: MountType.MOUNT_TYPE_BIND, source: 'srv' })] }),
    'bind mount source "srv"',
  ],
  [
    'a bind without a source',
    spec({ mounts: [mount({ type: MountType.MOUNT_TYPE_BIND })] }),
    'bind mount /data has no source',
  ],
  ['a bad volume name', spec({ mounts: [mount({ source: 'a/b' })] }), 'invalid volume name "a/b"'],
  [
    'a tmpfs with a source',
    spec({ mounts: [mount({ type: MountType.MOUNT_TYPE_TMPFS, source: 'x' })] }),
    'a tmpfs mount takes no source',
  ],
  [
    'tmpfs options on a volume',
    spec({ mounts: [mount({ tmpfsSizeBytes: 1024 })] }),
    'tmpfs-size and tmpfs-mode are for tmpfs',
  ],
  [
    'volume options on a bind',
    spec({ mounts: [mount({ type: MountType.MOUNT_TYPE_BIND, source: '/srv', volumeNoCopy: true })] }),
    'volume-label and volume-nocopy are for volume mounts',
  ],
  [
    'a tmpfs mode out of range',
    spec({ mounts: [mount({ type: MountType.MOUNT_TYPE_TMPFS, tmpfsMode: 0o17777 })] }),
    'tmpfs mode for /data is out of range',
  ],
  [
    'the engine’s anonymous-volume label',
    spec({ mounts: [mount({ volumeLabels: { 'com.docker.volume.anonymous': '' } })] }),
    'is the engine',
  ],
  [
    'a negative health interval',
    spec({ healthcheck: { test: ['CMD', 'true'], intervalMs: -1000 } }),
    'health check interval -1000 ms',
  ],
  [
    'a negative health timeout',
    spec({ healthcheck: { test: ['CMD', 'true'], timeoutMs: -1 } }),
    'health check timeout -1 ms',
  ],
  [
    'too many health retries',
    spec({ healthcheck: { test: ['CMD', 'true'], retries: 2_000_000 } }),
    'health check retries 2000000',
  ],
  [
    'a health test kind that is none',
    spec({ healthcheck: { test: ['RUN', 'true'] } }),
    'must start with CMD, CMD-SHELL or NONE',
  ],
  ['a health test without a command', spec({ healthcheck: { test: ['CMD-SHELL'] } }), 'has no command'],
  ['NONE with words after it', spec({ healthcheck: { test: ['NONE', 'x'] } }), 'takes nothing after NONE'],
  ['an unknown stop signal', spec({ stopSignal: 'SIGFOO' }), 'unknown signal "SIGFOO"'],
  ['a stop signal number past the last', spec({ stopSignal: '99' }), 'unknown signal "99"'],
  ['a negative stop grace period', spec({ stopGracePeriodMs: -1 }), 'stop grace period -1 ms is negative'],
  ['an unknown capability to add', spec({ capabilityAdd: ['CAP_FLY'] }), 'unknown capability "CAP_FLY"'],
  ['an unknown capability to drop', spec({ capabilityDrop: ['teleport'] }), 'unknown capability "teleport"'],
  [
    'a DNS server that is no address',
    spec({ dnsNameservers: ['dns.example'] }),
    'DNS server "dns.example" is not an IP',
  ],
  ['a DNS search with a space', spec({ dnsSearch: ['a b'] }), 'DNS setting "a b" is not a single word'],
  ['an extra host without an address', spec({ hosts: ['db'] }), 'invalid extra host "db"'],
  ['an extra host with a bad address', spec({ hosts: ['10.0.0.999 db'] }), '"10.0.0.999" is not an IP address'],
  ['an extra host with a bad name', spec({ hosts: ['10.0.0.1 bad!name'] }), '"bad!name" is not a host name'],
  ['host-gateway', spec({ hosts: ['db:host-gateway'] }), 'host-gateway is not supported'],
  ['a hostname that is no DNS name', spec({ hostname: 'bad_name!' }), 'invalid hostname "bad_name!"'],
  ['a hostname too long', spec({ hostname: 'a'.repeat(65) }), 'invalid hostname'],
  [
    'a hostname template',
    spec({ hostname: '{{.Node.Hostname}}-web' }),
    'templates ({{.Node.Hostname}}, {{.Task.Slot}}, …) are not supported yet',
  ],
  ['a user with two colons', spec({ user: 'a:b:c' }), 'invalid user "a:b:c"'],
  ['a user with a space', spec({ user: 'my user' }), 'invalid user "my user"'],
  ['a uid past 32 bits', spec({ user: '4294967296' }), 'invalid user "4294967296"'],
  ['a group with a colon', spec({ groups: ['a:b'] }), 'invalid group "a:b"'],
  ['a relative working directory', spec({ dir: 'app' }), 'working directory "app" is not absolute'],
  ['an environment entry without a key', spec({ env: ['=x'] }), 'invalid environment entry "=x"'],
  [
    'a sysctl of the whole node',
    spec({ sysctls: { 'vm.swappiness': '10' } }),
    'sysctl vm.swappiness is not namespaced',
  ],
  ['a sysctl name that is none', spec({ sysctls: { 'a b': '1' } }), 'invalid sysctl "a b"'],
  ['a reserved container label', spec({ labels: { 'tswarm.engine.x': '1' } }), 'reserved prefix'],
  [
    'a restart condition out of range',
    spec({}, { taskTemplate: { restart: { condition: 9 as RestartCondition } } }),
    'invalid restart condition 9',
  ],
  [
    'a negative restart delay',
    spec({}, { taskTemplate: { restart: { condition: RestartCondition.RESTART_CONDITION_ANY, delayMs: -5 } } }),
    'invalid restart delay -5 ms',
  ],
  [
    'a negative restart window',
    spec({}, { taskTemplate: { restart: { condition: RestartCondition.RESTART_CONDITION_ANY, windowMs: -5 } } }),
    'invalid restart window -5 ms',
  ],
  [
    'too many restart attempts',
    spec(
      {},
      { taskTemplate: { restart: { condition: RestartCondition.RESTART_CONDITION_ANY, maxAttempts: 10_000_000 } } },
    ),
    'invalid restart max attempts 10000000',
  ],
  [
    'a negative pids limit',
    spec({}, { taskTemplate: { resources: { limits: { pids: -1 } } } }),
    'Give --limit-pids between 0',
  ],
  ['a target port of 0', spec({}, ports(port({ targetPort: 0 }))), 'invalid target port 0'],
  ['a target port past 65535', spec({}, ports(port({ targetPort: 70_000 }))), 'invalid target port 70000'],
  ['a published port past 65535', spec({}, ports(port({ publishedPort: 65_536 }))), 'invalid published port 65536'],
  ['a protocol that is none', spec({}, ports(port({ protocol: 7 as PortProtocol }))), 'invalid port protocol 7'],
  ['a publish mode that is none', spec({}, ports(port({ publishMode: 5 as PublishMode }))), 'invalid publish mode 5'],
  ['a port published twice', spec({}, ports(port({}), port({ targetPort: 81 }))), 'port 8080/tcp is published twice'],
  [
    'an ingress port with dnsrr',
    spec({}, { endpoint: { mode: EndpointMode.ENDPOINT_MODE_DNSRR, ports: [port({})] } }),
    'cannot be used with endpoint mode dnsrr',
  ],
  ['an endpoint mode that is none', spec({}, { endpoint: { mode: 4 as EndpointMode } }), 'invalid endpoint mode 4'],
];

describe('validateServiceSpec', () => {
  it.each(BAD)('refuses %s, saying what to give', (_what, bad, message) => {
    let err: unknown;
    try {
      validateServiceSpec(bad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TswarmError);
    expect((err as TswarmError).code).toBe('INVALID_ARGUMENT');
    expect((err as TswarmError).message).toContain(message);
  });

  it('accepts every field the flags give when it makes sense', () => {
    const good = spec(
      {
        hostname: 'web-1',
        user: 'nobody:nogroup',
        groups: ['audio', '50'],
        dir: '/srv',
        env: ['A=1'],
        mounts: [
          mount({ source: 'data', volumeLabels: { tier: 'db' }, volumeNoCopy: true }),
          mount({ type: MountType.MOUNT_TYPE_TMPFS, target: '/run', tmpfsSizeBytes: 1 << 20, tmpfsMode: 0o1777 }),
          mount({ type: MountType.MOUNT_TYPE_BIND, source: '/srv', target: '/srv', readOnly: true }),
          mount({ source: '', target: '/anon' }),
        ],
        stopSignal: 'usr1',
        stopGracePeriodMs: 0,
        healthcheck: { test: ['CMD-SHELL', 'true'], intervalMs: 1, retries: 3 },
        hosts: ['10.0.0.5 db alias', 'cache:10.0.0.6', 'v6:::1'],
        dnsNameservers: ['10.0.0.2', 'fd00::53'],
        dnsSearch: ['lab.test'],
        dnsOptions: ['ndots:2'],
        capabilityAdd: ['NET_ADMIN', 'ALL'],
        capabilityDrop: ['CAP_CHOWN'],
        sysctls: { 'net.core.somaxconn': '1024', 'kernel.shmmax': '1' },
      },
      {
        taskTemplate: {
          restart: { condition: RestartCondition.RESTART_CONDITION_ON_FAILURE, delayMs: 5000, maxAttempts: 3 },
        },
        ...ports(
          port({}),
          port({ protocol: PortProtocol.PORT_PROTOCOL_UDP }),
          port({ publishedPort: 0 }),
          port({ publishedPort: 0 }),
        ),
      },
    );
    expect(() => validateServiceSpec(good)).not.toThrow();
    const hostPorts = spec(
      {},
      {
        endpoint: {
          mode: EndpointMode.ENDPOINT_MODE_DNSRR,
          ports: [port({ publishMode: PublishMode.PUBLISH_MODE_HOST })],
        },
      },
    );
    expect(() => validateServiceSpec(hostPorts)).not.toThrow();
  });

  it('creates nothing on a bad spec, and refuses a routing-mesh port another service publishes', async () => {
    const { store } = testStore();
    for (const [, bad] of BAD.slice(0, 5)) await expect(createService(store, bad, '')).rejects.toThrow(TswarmError);
    expect(store.list('service')).toHaveLength(0);
    const web = await createService(store, spec({}, ports(port({}))), '');
    const api = ServiceSpec.fromPartial({ ...spec({}, ports(port({ targetPort: 81 }))), annotations: { name: 'api' } });
    await expect(createService(store, api, '')).rejects.toThrow(
      `port 8080/tcp is already published by service web (${web.id.slice(0, 12)})`,
    );
    // Another protocol, or host mode, is another port.
    const udp = ServiceSpec.fromPartial({
      ...spec({}, ports(port({ protocol: PortProtocol.PORT_PROTOCOL_UDP }))),
      annotations: { name: 'dns' },
    });
    const dns = await createService(store, udp, '');
    expect(store.list('service')).toHaveLength(2);
    // An update keeps its own ports, and cannot take another's.
    await updateService(
      store,
      { serviceId: 'web', serviceVersion: web.meta!.version, spec: spec({}, ports(port({}))), rollback: false },
      '',
    );
    const steal = ServiceSpec.fromPartial({ ...spec({}, ports(port({}))), annotations: { name: 'dns' } });
    await expect(
      updateService(store, { serviceId: 'dns', serviceVersion: dns.meta!.version, spec: steal, rollback: false }, ''),
    ).rejects.toThrow('port 8080/tcp is already published by service web');
  });
});
