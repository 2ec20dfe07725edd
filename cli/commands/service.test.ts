import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import type { DockerService, DockerServiceSpec, DockerTask } from '../../lib/api-client/swarm-types.js';
import type { CliContext } from '../context.js';
import {
  lsRow,
  parsePlacementPref,
  progressLines,
  psRows,
  registerService,
  replicasText,
  serviceSpecFromFlags,
  taskFilters,
} from './service.js';
import { parseMount, parsePublish, serviceEnv } from './service-flags.js';
import { modeText, serviceModeFromFlags, serviceProgress } from './service-mode.js';
import { csvRecord, parseEnvText, shellWords } from './docker-notations.js';
import { formatWithTemplate, parseListFormat, renderTemplate, parseTemplate } from '../go-template.js';

const noFlags = {
  constraint: [],
  placementPref: [],
  env: [],
  label: [],
  containerLabel: [],
  envFile: [],
  mount: [],
  group: [],
  capAdd: [],
  capDrop: [],
  dns: [],
  dnsSearch: [],
  dnsOption: [],
  host: [],
  sysctl: [],
  publish: [],
};

/**
 * `tswarm service …ARGS` through the real command definitions, against a stand-in for the daemon
 * that records each request: what `create` sends, or the usage error it stops at before sending.
 */
async function runService(
  args: string[],
): Promise<{ requests: { method: string; path: string; json?: unknown }[]; error?: string; out: string }> {
  const requests: { method: string; path: string; json?: unknown }[] = [];
  let out = '';
  let error: string | undefined;
  const api = {
    json: async (method: string, path: string, o: { json?: unknown } = {}) => {
      requests.push({ method, path, json: o.json });
      return { ID: 'svc1', Warnings: [] };
    },
  };
  const ctx = { api: () => api, out: (t: string) => (out += t) } as unknown as CliContext;
  const program = new Command()
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ writeErr: (t) => (error = (error ?? '') + t), writeOut: () => undefined });
  registerService(program, () => ctx);
  try {
    await program.parseAsync(['service', ...args], { from: 'user' });
  } catch (err) {
    if (!(err instanceof CommanderError)) error = (err as Error).message;
  }
  return { requests, out, ...(error !== undefined ? { error } : {}) };
}

async function created(args: string[]): Promise<DockerServiceSpec> {
  // The image's digest lookup (a GET before the create) is service-image.ts's, tested there.
  const r = await runService(['create', '--detach', '--no-resolve-image', ...args]);
  expect(r.error).toBeUndefined();
  expect(r.requests).toHaveLength(1);
  return r.requests[0]!.json as DockerServiceSpec;
}

function task(id: string, slot: number, state: string, o: Partial<DockerTask> = {}): DockerTask {
  return {
    ID: id,
    Version: { Index: 1 },
    CreatedAt: '2026-01-01T00:00:00.000Z',
    UpdatedAt: '2026-01-01T00:00:00.000Z',
    ServiceID: 'svc',
    Slot: slot,
    Spec: { ContainerSpec: { Image: 'busybox' } },
    Status: { Timestamp: '2026-01-01T00:00:00.000Z', State: state, Message: '' },
    DesiredState: 'running',
    ...o,
  };
}

describe('service command', () => {
  it('builds Docker’s ServiceSpec from the flags, the command as Args', () => {
    const spec = serviceSpecFromFlags('busybox', ['sleep', '1d'], {
      ...noFlags,
      name: 'web',
      replicas: 4,
      constraint: ['node.role==worker'],
      placementPref: ['node.labels.zone'],
      reserveMemory: 64 * 2 ** 20,
      limitCpu: 1e9,
      replicasMaxPerNode: 2,
      env: ['A=1', undefined],
      label: [['team', 'a']],
    });
    expect(spec).toEqual({
      Name: 'web',
      Labels: { team: 'a' },
      TaskTemplate: {
        ContainerSpec: { Image: 'busybox', Args: ['sleep', '1d'], Env: ['A=1'] },
        Resources: { Limits: { NanoCPUs: 1e9 }, Reservations: { MemoryBytes: 64 * 2 ** 20 } },
        Placement: {
          Constraints: ['node.role==worker'],
          Preferences: [{ Spread: { SpreadDescriptor: 'node.labels.zone' } }],
          MaxReplicas: 2,
        },
      },
      Mode: { Replicated: { Replicas: 4 } },
      EndpointSpec: { Mode: 'vip' },
    });
    expect(serviceSpecFromFlags('busybox', [], noFlags).Mode).toEqual({ Replicated: { Replicas: 1 } });
    expect(parsePlacementPref('spread=node.labels.zone')).toBe('node.labels.zone');
    expect(() => parsePlacementPref('node.labels.zone')).toThrow('Use spread=node.labels.<label>');
  });

  it('shows progress honestly: assigned, pending with the reason, converged only when all run', () => {
    const waiting = progressLines(3, [
      task('a', 1, 'assigned'),
      task('b', 2, 'pending', {
        Status: { Timestamp: '', State: 'pending', Message: '', Err: 'no suitable node (1 node not ready)' },
      }),
    ]);
    expect(waiting).toEqual({
      lines: [
        'overall progress: 0 out of 3 tasks',
        '1/3: assigned',
        '2/3: pending: no suitable node (1 node not ready)',
        '3/3: no task yet',
      ],
      converged: false,
    });
    const done = progressLines(2, [task('a', 1, 'running'), task('b', 2, 'running')]);
    expect(done.converged).toBe(true);
    expect(done.lines.at(-1)).toBe('verify: Service converged');
  });

  it('lists a service’s tasks as docker service ps: slot history under its latest task, node hostnames', () => {
    const service = { ID: 'svc', Spec: { Name: 'web' } } as DockerService;
    const rows = psRows(
      service,
      [
        task('old1111111111', 1, 'shutdown', { NodeID: 'n1', DesiredState: 'shutdown' }),
        task('new1111111111', 1, 'assigned', { NodeID: 'n2', CreatedAt: '2026-01-01T00:01:00.000Z' }),
      ],
      new Map([
        ['n1', 'w1'],
        ['n2', 'w2'],
      ]),
      { nowMs: Date.parse('2026-01-01T00:00:30.000Z') },
    );
    expect(rows.map((r) => Object.values(r))).toEqual([
      ['new111111111', 'web.1', 'busybox', 'w2', 'Running', 'Assigned 30 seconds ago', ''],
      ['old111111111', ' \\_ web.1', 'busybox', 'w1', 'Shutdown', 'Shutdown 30 seconds ago', ''],
    ]);
    const failed = task('abcdefabcdef123456', 1, 'failed', {
      Status: { Timestamp: '', State: 'failed', Message: '', Err: 'x'.repeat(80) },
    });
    const [short] = psRows(service, [failed], new Map());
    expect([short!.ID, short!.Error.length, short!.Error.endsWith('…')]).toEqual(['abcdefabcdef', 60, true]);
    const [full] = psRows(service, [failed], new Map(), { noTrunc: true });
    expect([full!.ID, full!.Error]).toEqual(['abcdefabcdef123456', 'x'.repeat(80)]);
    expect(taskFilters(['desired-state=running', 'node=w1'])).toEqual({ 'desired-state': ['running'], node: ['w1'] });
    expect(() => taskFilters(['state=running'])).toThrow('invalid filter "state=running"');
    expect(
      replicasText({
        Spec: { Mode: { Replicated: { Replicas: 3 } } },
        ServiceStatus: { RunningTasks: 1, DesiredTasks: 3, CompletedTasks: 0 },
      } as DockerService),
    ).toBe('1/3');
  });
});

describe('service create flags, as docker service create reads them', () => {
  it('sends each container, restart and endpoint flag in Docker’s ServiceSpec shape', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tswarm-envfile-'));
    const envFile = join(dir, 'app.env');
    writeFileSync(envFile, '\uFEFF# comment\n\n  A=from-file\nB="kept quotes" \nFROM_SHELL\n');
    process.env['FROM_SHELL'] = 'shell-value';
    const spec = await created([
      '--name',
      'web',
      '--env-file',
      envFile,
      '-e',
      'A=from-flag',
      '--mount',
      'type=volume,source=data,target=/data,volume-label=tier=db,volume-nocopy',
      '--mount',
      'type=tmpfs,dst=/run,tmpfs-size=64m,tmpfs-mode=1777',
      '--mount',
      'type=bind,src=/srv,target=/srv,ro',
      '--limit-pids',
      '100',
      '--health-cmd',
      'test -f /tmp/ok',
      '--health-interval',
      '500ms',
      '--health-retries',
      '2',
      '--stop-grace-period',
      '1m30s',
      '--stop-signal',
      'SIGINT',
      '--hostname',
      'web-host',
      '-w',
      '/data',
      '-u',
      'nobody:nogroup',
      '--group',
      'audio',
      '--entrypoint',
      `sh -c 'exec "$0" "$@"'`,
      '--init',
      '--cap-add',
      'net_admin',
      '--cap-drop',
      'chown',
      '--cap-drop',
      'NET_ADMIN',
      '--read-only',
      '-t',
      '--dns',
      '10.0.0.2',
      '--dns-search',
      'lab.test',
      '--dns-option',
      'ndots:2',
      '--host',
      'db:10.0.0.5',
      '--sysctl',
      'net.core.somaxconn=1024',
      '--restart-condition',
      'on-failure',
      '--restart-max-attempts',
      '3',
      '-p',
      '8080:80',
      '-p',
      'published=53,target=53,protocol=udp,mode=host',
      'busybox',
      'sleep',
      '1d',
    ]);
    expect(spec.TaskTemplate.ContainerSpec).toEqual({
      Image: 'busybox:latest',
      Args: ['sleep', '1d'],
      Command: ['sh', '-c', 'exec "$0" "$@"'],
      // The file first, then -e; a key once, with its last value; a bare KEY from this shell.
      Env: ['B="kept quotes" ', 'FROM_SHELL=shell-value', 'A=from-flag'],
      Hostname: 'web-host',
      Dir: '/data',
      User: 'nobody:nogroup',
      Groups: ['audio'],
      StopSignal: 'SIGINT',
      StopGracePeriod: 90e9,
      TTY: true,
      ReadOnly: true,
      Init: true,
      Mounts: [
        {
          Type: 'volume',
          Source: 'data',
          Target: '/data',
          VolumeOptions: { Labels: { tier: 'db' }, NoCopy: true },
        },
        { Type: 'tmpfs', Target: '/run', TmpfsOptions: { SizeBytes: 64 * 2 ** 20, Mode: 0o1777 } },
        { Type: 'bind', Source: '/srv', Target: '/srv', ReadOnly: true },
      ],
      Healthcheck: { Test: ['CMD-SHELL', 'test -f /tmp/ok'], Interval: 500e6, Timeout: 0, Retries: 2, StartPeriod: 0 },
      Hosts: ['10.0.0.5 db'],
      DNSConfig: { Nameservers: ['10.0.0.2'], Search: ['lab.test'], Options: ['ndots:2'] },
      Sysctls: { 'net.core.somaxconn': '1024' },
      // docker's arithmetic: normalized, and an add beats a drop of the same capability.
      CapabilityAdd: ['CAP_NET_ADMIN'],
      CapabilityDrop: ['CAP_CHOWN'],
    });
    expect(spec.TaskTemplate.Resources).toEqual({ Limits: { Pids: 100 } });
    expect(spec.TaskTemplate.RestartPolicy).toEqual({
      Condition: 'on-failure',
      Delay: 5e9,
      MaxAttempts: 3,
      Window: 0,
    });
    expect(spec.EndpointSpec).toEqual({
      Mode: 'vip',
      Ports: [
        { Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' },
        { Protocol: 'udp', TargetPort: 53, PublishedPort: 53, PublishMode: 'host' },
      ],
    });
  });

  it('leaves out what no flag gives, so the image’s and the engine’s defaults hold', async () => {
    const spec = await created(['busybox']);
    expect(spec.TaskTemplate.ContainerSpec).toEqual({ Image: 'busybox:latest' });
    expect(spec.TaskTemplate.RestartPolicy).toBeUndefined();
    expect(spec.EndpointSpec).toEqual({ Mode: 'vip' });
    // --no-healthcheck turns the image's check off; an empty --entrypoint keeps the image's.
    const off = await created(['--no-healthcheck', '--entrypoint', '', 'busybox']);
    expect(off.TaskTemplate.ContainerSpec).toEqual({ Image: 'busybox:latest', Healthcheck: { Test: ['NONE'] } });
  });

  const cases: [string, string[], string | RegExp][] = [
    [
      'a mount option that is not one',
      ['--mount', 'type=volume,target=/d,colour=red'],
      "unknown --mount option 'colour'",
    ],
    ['a mount type tswarm has not', ['--mount', 'type=npipe,target=/d'], "mount type 'npipe' is not supported"],
    ['a mount without a target', ['--mount', 'type=volume,source=data'], '--mount needs a target'],
    ['a bind mount without a source', ['--mount', 'type=bind,target=/d'], 'a bind --mount needs a source'],
    [
      'tmpfs options on a volume',
      ['--mount', 'type=volume,target=/d,tmpfs-size=1m'],
      "cannot mix 'tmpfs-*' options with mount type 'volume'",
    ],
    ['a bad tmpfs mode', ['--mount', 'type=tmpfs,target=/d,tmpfs-mode=999'], 'tmpfs-mode: "999"'],
    ['a bad readonly value', ['--mount', 'type=volume,target=/d,readonly=maybe'], "value for 'readonly'"],
    ['a mount field without a value', ['--mount', 'type=volume,target'], "'target': it must be a key=value pair"],
    ['an unclosed quote in a mount', ['--mount', '"type=volume,target=/d'], 'a quoted field is not closed'],
    ['bind propagation', ['--mount', 'type=bind,source=/a,target=/b,bind-propagation=shared'], 'bind-propagation'],
    ['a port above 65535', ['-p', '70000:80'], 'invalid --publish published port "70000"'],
    ['a zero target port', ['-p', '8080:0'], 'invalid --publish target port "0"'],
    ['a protocol that is none', ['-p', '8080:80/icmp'], 'invalid --publish "8080:80/icmp"'],
    ['a host IP for a service', ['-p', '127.0.0.1:8080:80'], 'a host IP is not supported'],
    ['a publish mode that is none', ['-p', 'published=8080,target=80,mode=local'], 'invalid --publish mode "local"'],
    ['long syntax without a target', ['-p', 'published=8080'], 'has no target'],
    ['ranges of different sizes', ['-p', '8080-8082:80-81'], 'ranges differ in size'],
    ['a duration without a unit', ['--stop-grace-period', '10'], 'invalid duration "10"'],
    ['a negative duration', ['--health-interval', '-1s'], 'invalid duration "-1s"'],
    ['a negative restart delay', ['--restart-delay', '-5s'], 'a duration is not negative'],
    [
      'a restart condition that is none',
      ['--restart-condition', 'always'],
      /Allowed choices are none, on-failure, any/,
    ],
    ['negative retries', ['--health-retries', '-1'], 'invalid --health-retries "-1"'],
    ['a pids limit that is no number', ['--limit-pids', 'lots'], 'invalid --limit-pids "lots"'],
    ['a DNS server that is no address', ['--dns', 'dns.example'], 'invalid --dns "dns.example": not an IP address'],
    ['a DNS search domain that is none', ['--dns-search', 'a b'], 'invalid --dns-search "a b"'],
    ['an extra host without an address', ['--host', 'db'], 'invalid --host "db". Give NAME:IP'],
    ['an extra host with a bad address', ['--host', 'db:10.0.0.999'], 'invalid --host "db:10.0.0.999"'],
    ['a sysctl without a value', ['--sysctl', 'net.core.somaxconn'], 'invalid --sysctl'],
    ['an unclosed quote in the entrypoint', ['--entrypoint', "sh -c 'echo"], "a ' quote is not closed"],
    [
      'a missing env file',
      ['--env-file', '/nonexistent/app.env'],
      'cannot read --env-file /nonexistent/app.env: ENOENT',
    ],
    [
      '--no-healthcheck with --health-cmd',
      ['--no-healthcheck', '--health-cmd', 'true'],
      '--no-healthcheck conflicts with --health-* options',
    ],
  ];
  it.each(cases)('refuses %s before any request', async (_what, flags, message) => {
    const r = await runService(['create', '--detach', ...flags, 'busybox']);
    expect(r.requests).toEqual([]);
    expect(r.error).toBeDefined();
    if (typeof message === 'string') expect(r.error).toContain(message);
    else expect(r.error).toMatch(message);
  });

  it('refuses an env file line docker would refuse', () => {
    expect(() => parseEnvText('=x\n', 'f')).toThrow('line 1: no variable name');
    expect(() => parseEnvText('MY VAR=x\n', 'f')).toThrow('variable "MY VAR" contains whitespace');
    expect(parseEnvText('  K=v w \r\n# c\nUNSET_KEY_XYZ\n', 'f', {})).toEqual(['K=v w ']);
    expect(serviceEnv([['A=1', 'B=2']], ['A=3', undefined, 'B=2'])).toEqual(['B=2', 'A=3']);
  });

  it('reads CSV as Go does, and shell words as shlex does', () => {
    expect(csvRecord('type=volume,"volume-label=a=b,c",target=/x', '--mount')).toEqual([
      'type=volume',
      'volume-label=a=b,c',
      'target=/x',
    ]);
    expect(csvRecord('"a ""quoted"" word",b', '--mount')).toEqual(['a "quoted" word', 'b']);
    expect(() => csvRecord('a"b,c', '--mount')).toThrow('a quote inside an unquoted field');
    expect(parseMount('type=volume,"volume-label=a=b,c",target=/x').VolumeOptions).toEqual({ Labels: { a: 'b,c' } });
    expect(shellWords(`sh -c "echo \\"hi there\\"" it\\'s ''`, '--entrypoint')).toEqual([
      'sh',
      '-c',
      'echo "hi there"',
      "it's",
      '',
    ]);
    expect(shellWords('  ', '--entrypoint')).toEqual([]);
  });

  it('reads both --publish syntaxes, ranges included', () => {
    expect(parsePublish('80')).toEqual([{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 0, PublishMode: 'ingress' }]);
    expect(parsePublish('8080-8081:80-81/udp').map((p) => [p.PublishedPort, p.TargetPort, p.Protocol])).toEqual([
      [8080, 80, 'udp'],
      [8081, 81, 'udp'],
    ]);
    expect(parsePublish('target=80')).toEqual([
      { Protocol: 'tcp', TargetPort: 80, PublishedPort: 0, PublishMode: 'ingress' },
    ]);
  });
});

describe('service ls and ps --format', () => {
  const svc = {
    ID: 'abcdefghijklmnop',
    Spec: {
      Name: 'web',
      Mode: { Replicated: { Replicas: 2 } },
      TaskTemplate: { ContainerSpec: { Image: 'busybox' } },
      EndpointSpec: {
        Ports: [
          { Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' },
          { Protocol: 'udp', TargetPort: 53, PublishedPort: 53, PublishMode: 'host' },
        ],
      },
    },
    ServiceStatus: { RunningTasks: 1, DesiredTasks: 2, CompletedTasks: 0 },
  } as unknown as DockerService;

  it('renders Go templates over docker’s fields, and tables with docker’s column titles', () => {
    expect(lsRow(svc)).toEqual({
      ID: 'abcdefghijkl',
      Name: 'web',
      Mode: 'replicated',
      Replicas: '1/2',
      Image: 'busybox',
      Ports: '*:8080->80/tcp',
    });
    const headers = { ID: 'ID', Name: 'NAME', Replicas: 'REPLICAS' };
    const plain = parseListFormat('{{.Name}}: {{.Replicas}} {{.Name | upper}} {{json .Name}}');
    expect(plain.kind).toBe('template');
    if (plain.kind !== 'template') return;
    expect(formatWithTemplate(plain, [lsRow(svc)], headers)).toBe('web: 1/2 WEB "web"\n');
    const table = parseListFormat('table {{.Name}}\\t{{.Replicas}}');
    if (table.kind !== 'template') throw new Error('a template');
    expect(formatWithTemplate(table, [lsRow(svc), { ...lsRow(svc), Name: 'a-longer-name' }], headers)).toBe(
      'NAME            REPLICAS\nweb             1/2\na-longer-name   1/2\n',
    );
    expect(
      renderTemplate(parseTemplate('{{join .L ","}} {{truncate .N 3}} {{- " x" }}'), { L: ['a', 'b'], N: 'abcdef' }),
    ).toBe('a,b abc x');
  });

  it('says what it cannot read in a template', () => {
    expect(() => parseListFormat('{{range .Ports}}x{{end}}')).toThrow('"range" is not supported');
    expect(() => parseListFormat('{{.Name')).toThrow('is not closed');
    const f = parseListFormat('{{.Colour}}');
    if (f.kind !== 'template') throw new Error('a template');
    expect(() => formatWithTemplate(f, [lsRow(svc)], {})).toThrow('the field .Colour does not exist');
  });

  it('prints tables and templates through the real commands', async () => {
    const api = (list: unknown) => ({ json: async () => list });
    let out = '';
    const program = new Command().enablePositionalOptions().exitOverride();
    registerService(
      program,
      () => ({ api: () => api([svc]), out: (t: string) => (out += t) }) as unknown as CliContext,
    );
    await program.parseAsync(['service', 'ls', '--format', '{{.ID}} {{.Ports}}'], { from: 'user' });
    expect(out).toBe('abcdefghijkl *:8080->80/tcp\n');
  });
});

describe('service modes: --mode, and how each shows', () => {
  it('builds Docker’s Mode from the flags, refusing a flag the mode has no use for', () => {
    expect(serviceModeFromFlags({ mode: 'global' })).toEqual({ Global: {} });
    expect(serviceModeFromFlags({ mode: 'replicated-job', replicas: 4, maxConcurrent: 2 })).toEqual({
      ReplicatedJob: { TotalCompletions: 4, MaxConcurrent: 2 },
    });
    expect(serviceModeFromFlags({ mode: 'replicated-job', replicas: 3 })).toEqual({
      ReplicatedJob: { TotalCompletions: 3, MaxConcurrent: 3 },
    });
    expect(serviceModeFromFlags({ mode: 'global-job' })).toEqual({ GlobalJob: {} });
    expect(() => serviceModeFromFlags({ mode: 'global', replicas: 2 })).toThrow('--replicas cannot be used');
    expect(() => serviceModeFromFlags({ maxConcurrent: 2 })).toThrow('--max-concurrent is for --mode replicated-job');
  });

  it('shows MODE and REPLICAS as docker service ls does for each mode', () => {
    const status = { RunningTasks: 2, DesiredTasks: 2, CompletedTasks: 1 };
    const svc = (Mode: DockerServiceSpec['Mode']) => ({ Spec: { Mode }, ServiceStatus: status }) as DockerService;
    expect([modeText(svc({ Global: {} })), replicasText(svc({ Global: {} }))]).toEqual(['global', '2/2']);
    const job = svc({ ReplicatedJob: { TotalCompletions: 4, MaxConcurrent: 2 } });
    expect([modeText(job), replicasText(job)]).toEqual(['replicated job', '2/2 (1/4 completed)']);
  });

  it('follows a replicated job until every completion is done, this run’s tasks only', () => {
    const job = {
      ID: 'j',
      Spec: { Name: 'j', Mode: { ReplicatedJob: { TotalCompletions: 2, MaxConcurrent: 1 } } },
      JobStatus: { JobIteration: { Index: 3 } },
    } as DockerService;
    const run = (id: string, slot: number, state: string, index = 3) =>
      task(id, slot, state, { JobIteration: { Index: index }, DesiredState: 'complete' });
    const hostOf = (n: string) => n;
    const half = serviceProgress(
      job,
      [],
      [run('a', 0, 'complete'), run('b', 1, 'running'), run('old', 1, 'complete', 2)],
      hostOf,
    );
    expect(half).toEqual({
      lines: ['job progress: 1 out of 2 complete', '1/2: complete', '2/2: running'],
      converged: false,
    });
    const done = serviceProgress(job, [], [run('a', 0, 'complete'), run('b', 1, 'complete')], hostOf);
    expect(done.converged).toBe(true);
    expect(done.lines.at(-1)).toBe('job complete');
  });

  it('names a global service’s tasks by node in service ps, as docker does', () => {
    const service = { ID: 'svc', Spec: { Name: 'agent' } } as DockerService;
    const rows = psRows(service, [{ ...task('t1', 0, 'running', { NodeID: 'nodeid1' }), Slot: undefined }], new Map());
    expect(rows[0]!.Name).toBe('agent.nodeid1');
  });
});
