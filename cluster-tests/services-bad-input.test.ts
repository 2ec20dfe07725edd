import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../lab/lab.js';
import { formSwarm } from '../lab/form-swarm.js';
import { LAB_TEST_IMAGE } from '../lab/registry.js';
import { waitFor } from '../lib/poll.js';
import { apiGet, storeDigest } from './support/attack.js';
import { docker, dockerOk, dockerPy, rawRequest } from './support/docker.js';
import { swarmCli } from './support/swarm-cli.js';

// `service create`'s flags end to end (issue 15): bad input through tswarm's CLI, the real docker
// CLI and the Python SDK is refused with a message that names what is wrong — by the CLI before
// any request, or by the manager's checks as an HTTP 400 — and nothing is created; a taken name
// is a conflict (409). Then one service with many of the flags runs on the worker, and each
// setting is looked for inside its real container there, and in `docker service inspect`.
const name = `sb${Math.floor(Math.random() * 1e6).toString(36)}`;
let lab: Lab | undefined;
let scratch: string | undefined;
const IMAGE = LAB_TEST_IMAGE;

const { tswarm, ok } = swarmCli(() => lab!);

/** The swarm's services and tasks, and its nodes and cluster object: what a refused create must leave as it was. */
async function clusterState(): Promise<{ services: unknown[]; tasks: unknown[]; digest: string }> {
  const [services, tasks, digest] = await Promise.all([
    apiGet<unknown[]>(lab!, 'm1', '/services'),
    apiGet<unknown[]>(lab!, 'm1', '/tasks'),
    storeDigest(lab!, 'm1'),
  ]);
  return { services, tasks, digest };
}

/** [what, flags, exit code, message fragment]: tswarm's CLI; 2 is a usage error found before any request. */
const TSWARM_BAD: [string, string[], number, string][] = [
  [
    'a mount option docker has not',
    ['--mount', 'type=volume,target=/d,colour=red'],
    2,
    "unknown --mount option 'colour'",
  ],
  ['a mount without a target', ['--mount', 'type=volume,source=data'], 2, '--mount needs a target'],
  ['tmpfs options on a volume', ['--mount', 'type=volume,target=/d,tmpfs-size=1m'], 2, "cannot mix 'tmpfs-*' options"],
  ['a port above 65535', ['-p', '70000:80'], 2, 'invalid --publish published port "70000"'],
  ['a publish mode that is none', ['-p', 'published=8080,target=80,mode=local'], 2, 'invalid --publish mode "local"'],
  ['a duration without a unit', ['--stop-grace-period', '10'], 2, 'invalid duration "10"'],
  ['a DNS server that is no address', ['--dns', 'dns.example'], 2, 'not an IP address'],
  ['an extra host without an address', ['--host', 'db'], 2, 'invalid --host "db". Give NAME:IP'],
  ['a missing env file', ['--env-file', '/nonexistent/app.env'], 2, 'cannot read --env-file /nonexistent/app.env'],
  [
    'a restart condition that is none',
    ['--restart-condition', 'always'],
    2,
    'Allowed choices are none, on-failure, any',
  ],
  // Well-formed flags whose meaning only the manager checks (one set of rules for every client).
  ['an unknown capability', ['--cap-add', 'NOT_A_CAP'], 1, 'unknown capability "CAP_NOT_A_CAP"'],
  ['an unknown stop signal', ['--stop-signal', 'SIGFOO'], 1, 'unknown signal "SIGFOO"'],
  ['a hostname that is no DNS name', ['--hostname', 'bad_name!'], 1, 'invalid hostname "bad_name!"'],
  ['a user with two colons', ['--user', 'a:b:c'], 1, 'invalid user "a:b:c"'],
  [
    'a relative mount target',
    ['--mount', 'type=volume,source=v1,target=data'],
    1,
    'mount target "data" is not an absolute path',
  ],
  [
    'two mounts at one path',
    ['--mount', 'type=tmpfs,target=/a', '--mount', 'type=volume,target=/a'],
    1,
    'duplicate mount point /a',
  ],
  ['a sysctl of the whole node', ['--sysctl', 'vm.swappiness=10'], 1, 'sysctl vm.swappiness is not namespaced'],
  ['a port published twice', ['-p', '8080:80', '-p', '8080:81'], 1, 'port 8080/tcp is published twice'],
];

/** [what, flags, message fragment]: the docker CLI sends these as they are; the manager refuses each (400). */
const DOCKER_BAD: [string, string[], string][] = [
  ['a hostname that is no DNS name', ['--hostname', 'bad_name!'], 'invalid hostname "bad_name!"'],
  ['an unknown stop signal', ['--stop-signal', 'SIGFOO'], 'unknown signal "SIGFOO"'],
  ['an unknown capability', ['--cap-add', 'NOT_A_CAP'], 'unknown capability "CAP_NOT_A_CAP"'],
  ['a relative mount target', ['--mount', 'type=volume,src=v1,dst=rel'], 'mount target "rel" is not an absolute path'],
  [
    'a relative bind source',
    ['--mount', 'type=bind,src=rel/x,dst=/x'],
    'bind mount source "rel/x" is not an absolute path',
  ],
  [
    'two mounts at one path',
    ['--mount', 'type=tmpfs,dst=/a', '--mount', 'type=volume,dst=/a'],
    'duplicate mount point /a',
  ],
  ['a user with two colons', ['--user', 'a:b:c'], 'invalid user "a:b:c"'],
  ['negative health retries', ['--health-retries', '-1'], 'Healthcheck.Retries must be 0 or more, not -1'],
  ['a health interval below 1 ms', ['--health-cmd', 'true', '--health-interval', '500us'], 'below the minimum of 1 ms'],
  ['a negative pids limit', ['--limit-pids', '-1'], 'Give --limit-pids between 0'],
  ['a negative stop grace period', ['--stop-grace-period', '-1s'], 'the stop grace period -1000 ms is negative'],
  ['a restart condition that is none', ['--restart-condition', 'bogus'], 'RestartPolicy.Condition "bogus"'],
  [
    'a port published twice',
    ['-p', 'published=8080,target=80', '-p', 'published=8080,target=81'],
    'port 8080/tcp is published twice',
  ],
  ['a sysctl of the whole node', ['--sysctl', 'vm.swappiness=10'], 'sysctl vm.swappiness is not namespaced'],
];

describe('service create: bad input refused everywhere, every flag applied on the worker', () => {
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'tswarm-svc-flags-'));
    lab = await Lab.up({ name, managers: 1, workers: 1, registry: true });
    await formSwarm(lab);
  }, 180_000);

  afterAll(async () => {
    await lab?.down();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('refuses bad flags through tswarm, the docker CLI and the Python SDK, and creates nothing', async () => {
    const before = await clusterState();
    expect(before.services).toEqual([]);
    for (const [what, flags, code, message] of TSWARM_BAD) {
      const r = await tswarm('m1', 'service', 'create', '--detach', '--name', 'bad', ...flags, IMAGE);
      expect([r.code, r.stderr], `tswarm: ${what}`).toEqual([code, expect.stringContaining(message)]);
    }
    for (const [what, flags, message] of DOCKER_BAD) {
      // --no-resolve-image: the docker CLI's own registry lookup is not what is tested here.
      const r = await docker(lab!, 'm1', [
        'service',
        'create',
        '--detach',
        '--no-resolve-image',
        '--name',
        'bad',
        ...flags,
        IMAGE,
      ]);
      // The daemon's answer (not a docker CLI check), naming what is wrong.
      expect([r.code, r.stderr], `docker: ${what}`).toEqual([
        1,
        expect.stringMatching(/^Error response from daemon: /),
      ]);
      expect(r.stderr, `docker: ${what}`).toContain(message);
    }
    // The Python SDK gets the same refusals, as HTTP 400 with the message.
    const py = await dockerPy(
      lab!,
      'm1',
      `
import docker, json
c = docker.from_env()
cases = {
  'hostname': dict(hostname='bad_name!'),
  'stop_signal': dict(stop_signal='SIGFOO'),
  'cap_drop': dict(cap_drop=['TELEPORT']),
  'mount': dict(mounts=[docker.types.Mount('rel', 'data')]),
  'hosts': dict(hosts={'db': '10.0.0.999'}),
}
out = {}
for key, kwargs in cases.items():
    try:
        out[key] = {'created': c.services.create('${IMAGE}', ['sleep', '1d'], name='py-' + key.replace('_', '-'), **kwargs).id}
    except docker.errors.APIError as e:
        out[key] = {'status': e.status_code, 'message': e.explanation}
print(json.dumps(out))
`,
    );
    expect(py.code, py.stderr).toBe(0);
    expect(JSON.parse(py.stdout)).toEqual({
      hostname: { status: 400, message: expect.stringContaining('invalid hostname "bad_name!"') },
      stop_signal: { status: 400, message: expect.stringContaining('unknown signal "SIGFOO"') },
      cap_drop: { status: 400, message: expect.stringContaining('unknown capability "TELEPORT"') },
      mount: { status: 400, message: expect.stringContaining('mount target "rel" is not an absolute path') },
      hosts: { status: 400, message: expect.stringContaining('"10.0.0.999" is not an IP address') },
    });
    // Nothing was created, and nothing else in the swarm changed.
    expect(await clusterState()).toEqual(before);
    expect(await ok('m1', 'service', 'ls', '-q')).toBe('');
  }, 90_000);

  it('answers a second service of one name with a conflict (409), through every client', async () => {
    await ok('m1', 'service', 'create', '--detach', '--name', 'dup', IMAGE, 'sleep', '1d');
    const again = await tswarm('m1', 'service', 'create', '--detach', '--name', 'dup', IMAGE);
    expect([again.code, again.stderr]).toEqual([1, expect.stringContaining('a service named "dup" already exists')]);
    const d = await docker(lab!, 'm1', ['service', 'create', '--detach', '--no-resolve-image', '--name', 'dup', IMAGE]);
    expect([d.code, d.stderr]).toEqual([1, expect.stringContaining('a service named "dup" already exists')]);
    const body = JSON.stringify({ Name: 'dup', TaskTemplate: { ContainerSpec: { Image: IMAGE } } });
    const { response } = await rawRequest(
      lab!,
      'm1',
      `POST /v1.50/services/create HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
    expect(response).toMatch(/^HTTP\/1\.1 409 /);
    expect(await ok('m1', 'service', 'ls', '--format', '{{.Name}}')).toBe('dup\n');
    await ok('m1', 'service', 'rm', 'dup');
  }, 60_000);

  it('runs a service with many of the flags, each applied in its container on the worker', async () => {
    const envFile = join(scratch!, 'app.env');
    await writeFile(envFile, '# settings\nGREETING=hello from file\nMODE=prod\n');
    // Without --detach: the CLI waits until the task runs.
    await ok(
      'm1',
      'service',
      'create',
      '--name',
      'rich',
      '--constraint',
      'node.role==worker',
      '--env-file',
      envFile,
      '-e',
      'MODE=test',
      '--mount',
      'type=volume,source=richdata,target=/data,volume-label=owner=rich',
      '--mount',
      'type=tmpfs,target=/scratch,tmpfs-size=16m',
      '--hostname',
      'rich-host',
      '--workdir',
      '/data',
      '--user',
      '1000:1000',
      '--group',
      '50',
      '--entrypoint',
      'sh -c',
      '--init',
      '--cap-drop',
      'ALL',
      '--read-only',
      '--dns',
      '10.9.8.7',
      '--dns-search',
      'lab.test',
      '--dns-option',
      'ndots:3',
      '--host',
      'db:10.1.2.3',
      '--stop-signal',
      'SIGUSR1',
      '--stop-grace-period',
      '3s',
      '--health-cmd',
      'test -d /data',
      '--health-interval',
      '500ms',
      '--limit-pids',
      '50',
      '--tty',
      IMAGE,
      'echo started; exec sleep 1d',
    );
    const ids = (await dockerOk(lab!, 'w1', ['ps', '-q', '--filter', 'label=com.docker.swarm.service.name=rich']))
      .split('\n')
      .filter((l) => l !== '');
    expect(ids).toHaveLength(1);
    const id = ids[0]!;
    const inContainer = async (script: string) => dockerOk(lab!, 'w1', ['exec', id, 'sh', '-c', script]);

    // Docker's exec runs as the container's user in its working directory: so does this one.
    expect(await inContainer('cat /etc/hostname; pwd; id -u; id -G')).toBe('rich-host\n/data\n1000\n1000 50\n');
    // --init: catatonit is PID 1 and runs the entrypoint; --cap-drop ALL leaves no capability;
    // --tty: its output goes to a pseudo-terminal.
    expect(await inContainer('cat /proc/1/comm; grep CapEff /proc/1/status; readlink /proc/1/fd/1')).toMatch(
      /^tswarm-init\nCapEff:\t0000000000000000\n\/dev\/pts\/\d+\n$/,
    );
    expect(await inContainer('echo "$GREETING|$MODE"')).toBe('hello from file|test\n');
    expect(await inContainer('cat /etc/resolv.conf')).toBe('nameserver 10.9.8.7\nsearch lab.test\noptions ndots:3\n');
    expect(await inContainer('cat /etc/hosts')).toContain('10.1.2.3\tdb\n');
    // --read-only: the root is not writable; the tmpfs is.
    const write = await docker(lab!, 'w1', ['exec', id, 'sh', '-c', 'touch /rootfile']);
    expect([write.code, write.stderr]).toEqual([1, expect.stringContaining('Read-only file system')]);
    expect(await inContainer('touch /scratch/ok && grep " /scratch " /proc/mounts')).toMatch(
      /^tmpfs \/scratch tmpfs .*size=16384k/,
    );

    const [inspected] = JSON.parse(await dockerOk(lab!, 'w1', ['inspect', id])) as {
      Config: {
        User: string;
        WorkingDir: string;
        StopSignal: string;
        StopTimeout: number;
        Entrypoint: string[];
        Tty: boolean;
      };
      HostConfig: { ReadonlyRootfs: boolean; Init: boolean; PidsLimit: number; CapDrop: string[] };
      Mounts: { Type: string; Name?: string; Destination: string }[];
    }[];
    expect(inspected!.Config).toMatchObject({
      User: '1000:1000',
      WorkingDir: '/data',
      StopSignal: 'SIGUSR1',
      StopTimeout: 3,
      Entrypoint: ['sh', '-c'],
      Tty: true,
    });
    expect(inspected!.HostConfig).toMatchObject({ ReadonlyRootfs: true, Init: true, PidsLimit: 50, CapDrop: ['ALL'] });
    expect(inspected!.Mounts.map((m) => [m.Type, m.Destination])).toEqual([
      ['volume', '/data'],
      ['tmpfs', '/scratch'],
    ]);
    const [volume] = JSON.parse(await dockerOk(lab!, 'w1', ['volume', 'inspect', 'richdata'])) as {
      Labels: Record<string, string>;
    }[];
    expect(volume!.Labels).toEqual({ owner: 'rich' });
    expect(await dockerOk(lab!, 'w1', ['logs', id])).toContain('started');
    await waitFor(
      async () => (await dockerOk(lab!, 'w1', ['inspect', '-f', '{{.State.Health.Status}}', id])).trim() === 'healthy',
      { what: 'the --health-cmd check to report healthy', timeoutMs: 30_000, intervalMs: 500 },
    );

    // The service as docker shows it, in Docker's shape.
    const [service] = JSON.parse(await dockerOk(lab!, 'm1', ['service', 'inspect', 'rich'])) as {
      Spec: { TaskTemplate: { ContainerSpec: Record<string, unknown>; Resources: unknown } };
    }[];
    expect(service!.Spec.TaskTemplate.ContainerSpec).toMatchObject({
      Command: ['sh', '-c'],
      Args: ['echo started; exec sleep 1d'],
      Hostname: 'rich-host',
      Env: ['GREETING=hello from file', 'MODE=test'],
      Dir: '/data',
      User: '1000:1000',
      Groups: ['50'],
      Init: true,
      TTY: true,
      ReadOnly: true,
      StopSignal: 'SIGUSR1',
      StopGracePeriod: 3_000_000_000,
      Mounts: [
        { Type: 'volume', Source: 'richdata', Target: '/data', VolumeOptions: { Labels: { owner: 'rich' } } },
        { Type: 'tmpfs', Target: '/scratch', TmpfsOptions: { SizeBytes: 16 * 2 ** 20 } },
      ],
      Healthcheck: { Test: ['CMD-SHELL', 'test -d /data'], Interval: 500_000_000 },
      Hosts: ['10.1.2.3 db'],
      DNSConfig: { Nameservers: ['10.9.8.7'], Search: ['lab.test'], Options: ['ndots:3'] },
      CapabilityDrop: ['ALL'],
    });
    expect(service!.Spec.TaskTemplate.Resources).toMatchObject({ Limits: { Pids: 50 } });
  }, 90_000);
});
