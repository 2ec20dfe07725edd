import { describe, expect, it } from 'vitest';
import type { ContainerSummary } from '../../gen/tswarm/v1/engine.js';
import { PortProtocol } from '../../gen/tswarm/v1/objects.js';
import { ContainerConfig } from '../../gen/tswarm/v1/engine.js';
import {
  dockerContainerInspect,
  dockerContainerSummary,
  humanDuration,
  mergeEnv,
  portMap,
  statusText,
} from './container-shapes.js';
import { boolParam, filtersParam } from './params.js';
import { ExecStore } from './exec.js';
import { until } from './container-wait.js';

const NOW = 1_800_000_000_000;

function summary(state: Partial<NonNullable<ContainerSummary['state']>>): ContainerSummary {
  return {
    id: 'abc123',
    name: 'web',
    image: 'busybox',
    command: ['sh', '-c', 'echo hi'],
    createdAtMs: NOW - 60_000,
    state: {
      status: 'running',
      pid: 10,
      exitCode: 0,
      oomKilled: false,
      startedAtMs: NOW - 3_000,
      finishedAtMs: 0,
      health: '',
      error: '',
      ...state,
    },
    ports: [{ containerPort: 80, hostPort: 8080, protocol: PortProtocol.PORT_PROTOCOL_TCP, hostIp: '' }],
    labels: { team: 'a', 'tswarm.engine.image-id': 'sha256:1', 'tswarm.engine.attachment': 'x' },
  };
}

describe('container shapes', () => {
  it('prints the status as docker ps does', () => {
    expect(statusText(summary({}), NOW)).toBe('Up 3 seconds');
    expect(statusText(summary({ health: 'healthy' }), NOW)).toBe('Up 3 seconds (healthy)');
    expect(statusText(summary({ status: 'exited', exitCode: 3, finishedAtMs: NOW - 2_000 }), NOW)).toBe(
      'Exited (3) 2 seconds ago',
    );
    expect(statusText(summary({ status: 'created' }), NOW)).toBe('Created');
    expect(humanDuration(500)).toBe('Less than a second');
    expect(humanDuration(90_000)).toBe('About a minute');
    expect(humanDuration(150_000)).toBe('2 minutes');
    expect(humanDuration(3 * 3600_000)).toBe('3 hours');
  });

  it('gives ContainerSummary with Docker names, user labels and ports only while running', () => {
    const s = dockerContainerSummary(summary({}), { networkMode: '', mounts: [], address: undefined }, NOW);
    expect(s).toMatchObject({
      Id: 'abc123',
      Names: ['/web'],
      ImageID: 'sha256:1',
      Command: 'sh -c "echo hi"',
      Created: Math.floor((NOW - 60_000) / 1000),
      State: 'running',
      Labels: { team: 'a' },
      Ports: [{ IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' }],
      HostConfig: { NetworkMode: 'bridge' },
    });
    const stopped = dockerContainerSummary(summary({ status: 'exited' }), {
      networkMode: '',
      mounts: [],
      address: undefined,
    });
    expect(stopped.Ports).toEqual([]);
  });

  it('gives ContainerInspect with the fields docker inspect -f reads', () => {
    const c = summary({});
    const config = ContainerConfig.fromPartial({
      name: 'web',
      spec: { image: 'busybox', args: ['ls'] },
      ports: c.ports,
    });
    const address = { ip: '172.30.0.7', gateway: '172.30.0.1', prefixLength: 16, mac: '02:42:ac:1e:00:07' };
    const image = { entrypoint: null, cmd: ['sh'], env: ['PATH=/bin'], workingDir: '', user: '', exposedPorts: {} };
    const r = dockerContainerInspect({ container: c, config, rootfs: '/r', logPath: '/l' }, address, image);
    expect(r).toMatchObject({
      Id: 'abc123',
      Name: '/web',
      Image: 'sha256:1',
      Path: 'sh',
      Args: ['-c', 'echo hi'],
      State: { Status: 'running', Running: true, Pid: 10, ExitCode: 0, FinishedAt: '0001-01-01T00:00:00Z' },
      Config: {
        Image: 'busybox',
        Cmd: ['ls'],
        Entrypoint: null,
        Env: ['PATH=/bin'],
        Tty: false,
        Labels: { team: 'a' },
      },
      NetworkSettings: {
        IPAddress: '172.30.0.7',
        Gateway: '172.30.0.1',
        Ports: { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }] },
        Networks: { bridge: { IPAddress: '172.30.0.7', MacAddress: '02:42:ac:1e:00:07' } },
      },
      HostConfig: { NetworkMode: 'bridge', LogConfig: { Type: 'json-file' } },
    });
  });

  it('maps ports and merges the environment', () => {
    const ports = summary({}).ports;
    expect(portMap(ports, true)).toEqual({ '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }] });
    expect(portMap(ports, false)).toEqual({ '80/tcp': null });
    expect(mergeEnv(['PATH=/bin', 'A=1'], ['A=2'])).toEqual(['PATH=/bin', 'A=2']);
  });
});

describe('query parameters', () => {
  it('reads booleans and filters as dockerd does', () => {
    const q = new URLSearchParams('all=1&stream=0&x=false&filters={"status":["exited"],"label":{"a=b":true}}');
    expect([boolParam(q, 'all'), boolParam(q, 'stream'), boolParam(q, 'x'), boolParam(q, 'none')]).toEqual([
      true,
      false,
      false,
      false,
    ]);
    expect(filtersParam(q, ['status', 'label'])).toEqual([
      { key: 'status', value: 'exited' },
      { key: 'label', value: 'a=b' },
    ]);
    expect(() => filtersParam(new URLSearchParams('filters={"bogus":["1"]}'), ['status'])).toThrow(/invalid filter/);
    expect(() => filtersParam(new URLSearchParams('filters={'), ['status'])).toThrow(/invalid filters JSON/);
  });
});

describe('ExecStore', () => {
  const record = (id: string, containerId: string) => ({
    id,
    containerId,
    cmd: ['true'],
    user: '',
    env: [],
    workingDir: '',
    tty: false,
    attachStdin: false,
    attachStdout: true,
    attachStderr: true,
    detachKeys: '',
    consoleSize: undefined,
    started: false,
    running: false,
    exitCode: null,
    pid: 0,
  });

  it('keeps a bounded number and drops those of removed containers', () => {
    const live = new Set(['c1']);
    const store = new ExecStore(() => live, 3);
    for (let i = 0; i < 5; i++) store.add(record(`e${i}`, 'c1'));
    expect(store.size).toBe(3);
    expect(() => store.get('e0')).toThrow(/No such exec instance/);
    expect(store.get('e4').id).toBe('e4');
    live.delete('c1');
    expect(() => store.get('e4')).toThrow(/No such exec instance/);
    live.add('c2');
    store.add(record('f', 'c2'));
    expect(store.size).toBe(1);
  });
});

describe('withDockerWording', () => {
  it('words a command that cannot run as the docker CLI reads it', async () => {
    const { withDockerWording } = await import('./containers.js');
    const { TswarmError } = await import('../../lib/errors.js');
    const notFound = new TswarmError(
      'FAILED_PRECONDITION',
      'executable file `/x` not found in $PATH: No such file or directory',
    );
    expect((withDockerWording(notFound, 127) as Error).message).toContain('executable file not found');
    expect((withDockerWording(new TswarmError('INTERNAL', 'EACCES'), 126) as Error).message).toContain(
      'permission denied',
    );
    const other = new TswarmError('INTERNAL', 'cgroup failed');
    expect(withDockerWording(other, 125)).toBe(other);
  });
});

describe('until', () => {
  it('gives up at its deadline with DEADLINE_EXCEEDED, and ends at once when the client has gone', async () => {
    await expect(until(() => false, new AbortController().signal, 250)).rejects.toMatchObject({
      code: 'DEADLINE_EXCEEDED',
    });
    await expect(until(() => false, AbortSignal.abort())).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await expect(until(() => true, new AbortController().signal, 0)).resolves.toBeUndefined();
  });
});
