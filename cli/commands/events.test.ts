import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from 'node:http';
import { Command, CommanderError } from 'commander';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../lib/log.js';
import { Engine } from '../../engine/engine.js';
import { buildBusyboxImage } from '../../engine/image/busybox-image.js';
import { pushTestImage } from '../../engine/image/testing/test-images.js';
import { startTestRegistry, type TestRegistry } from '../../engine/image/testing/test-registry.js';
import { randomPrefix } from '../../engine/testing/scratch.js';
import { destroyTestEngine } from '../../engine/testing/test-engine.js';
import { LocalVolumeProvider } from '../../engine/volume/local-provider.js';
import { ApiClient } from '../../lib/api-client/client.js';
import { readLines } from '../../lib/api-client/json-lines.js';
import { createApiServer } from '../../daemon/api/server.js';
import { Router } from '../../daemon/api/router.js';
import { apiRoutes, type ApiContext } from '../../daemon/api/routes.js';
import { EventBus } from '../../daemon/events/bus.js';
import { CliContext } from '../context.js';
import { reportError } from '../errors.js';
import { ExitWith } from '../exit-with.js';
import { EXIT_USAGE } from '../../lib/errors.js';
import { registerContainer } from './container.js';
import { registerImage } from './image.js';
import { registerVolume } from './volume.js';
import { eventTime, formatEvent, registerEvents } from './events.js';

/**
 * Events end to end on one machine: a real engine (crun, a local registry) telling the daemon's
 * event bus, `GET /events` on the Engine API server, and tswarm's `events` command reading it.
 */
let registry: TestRegistry;
let dir: string;
let engine: Engine;
let server: Server;
let host: string;
let ref: string;
const prefix = randomPrefix();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tswarm-events-'));
  registry = await startTestRegistry();
  const layout = join(dir, 'layout');
  await buildBusyboxImage(layout, 'bb');
  await pushTestImage(layout, 'bb', registry.host, 'busybox', '1');
  ref = `${registry.host}/test/busybox:1`;
  const bus = new EventBus();
  const events = (e: {
    type: 'container' | 'image' | 'volume' | 'network';
    action: string;
    id: string;
    attributes: Record<string, string>;
  }) => void bus.log(e.type, e.action, e.id, e.attributes);
  const dataDir = join(dir, 'data');
  engine = await Engine.open({
    dataDir,
    namePrefix: prefix,
    insecureRegistries: [registry.host],
    log: silentLogger(),
    volumes: await LocalVolumeProvider.open(join(dataDir, 'engine'), events),
    events,
  });
  const ctx = {
    hostname: 'test',
    dataDir: dir,
    startedAtMs: Date.now(),
    logLevel: 'warn',
    engine,
    events: bus,
  } as ApiContext;
  server = createApiServer(new Router(apiRoutes(ctx)), silentLogger());
  const sock = join(dir, 'd.sock');
  await new Promise<void>((resolve) => server.listen(sock, resolve));
  host = `unix://${sock}`;
}, 60_000);

afterAll(async () => {
  server?.closeAllConnections();
  server?.close();
  await destroyTestEngine({ engine, registry, prefix, dir });
}, 60_000);

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const ctx = new CliContext(host, (t) => (out += typeof t === 'string' ? t : Buffer.from(t).toString('utf8')));
  const program = new Command('tswarm')
    .exitOverride()
    .enablePositionalOptions()
    .configureOutput({ writeOut: (t) => (out += t), writeErr: (t) => (err += t) });
  for (const register of [registerImage, registerContainer, registerVolume, registerEvents])
    register(program, () => ctx);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return { code: 0, out, err };
  } catch (e) {
    // As runCli maps them (cli/program.ts).
    if (e instanceof ExitWith) return { code: e.exitCode, out, err };
    if (e instanceof CommanderError) return { code: EXIT_USAGE, out, err };
    return { code: reportError(e, (t) => (err += t)), out, err };
  } finally {
    ctx.close();
  }
}

/** `TYPE ACTION` of each line of `tswarm events` (after the time), and the lines themselves. */
function actions(out: string): string[] {
  return out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ').slice(1, 3).join(' '));
}

const nowSeconds = () => (Date.now() / 1000).toFixed(3);

describe('tswarm events on the Engine API', () => {
  it('shows the events of a container run between --since and --until, in order, with Docker’s attributes', async () => {
    const since = nowSeconds();
    const run = await cli(
      'run',
      '--rm',
      '--name',
      'ev1',
      '--label',
      'tier=front',
      '--network',
      'none',
      ref,
      'sh',
      '-c',
      'exit 3',
    );
    expect(run.code).toBe(3);
    const until = nowSeconds();
    const r = await cli('events', '--since', since, '--until', until, '--filter', 'container=ev1');
    expect(r.code, r.err).toBe(0);
    expect(actions(r.out)).toEqual([
      'container create',
      'container attach',
      'container start',
      'container die',
      'container destroy',
    ]);
    const die = r.out.split('\n').find((l) => l.includes(' container die '))!;
    expect(die).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(Z|[+-]\d\d:\d\d) container die [0-9a-z]{25} \(/);
    expect(die).toContain(`(execDuration=0, exitCode=3, image=${ref}, name=ev1, tier=front)`);
    // The network of the run (none) was joined at start and left at its end.
    const net = await cli('events', '--since', since, '--until', until, '--filter', 'type=network');
    expect(actions(net.out)).toEqual(['network connect', 'network disconnect']);
    expect(net.out).toContain('name=none, type=null');
  });

  it('streams events as they happen to a reader that filters them, in Docker’s JSON shape', async () => {
    const api = new ApiClient(host);
    try {
      const res = await api.request('GET', '/events', {
        query: { filters: JSON.stringify({ type: { volume: true }, event: { create: true, destroy: true } }) },
      });
      const lines = readLines(res);
      expect((await cli('volume', 'create', 'evdata')).code).toBe(0);
      expect((await cli('volume', 'rm', 'evdata')).code).toBe(0);
      const seen: Record<string, unknown>[] = [];
      for await (const line of lines) {
        seen.push(JSON.parse(line) as Record<string, unknown>);
        if (seen.length === 2) break;
      }
      res.destroy();
      expect(seen.map((e) => [e.Type, e.Action, (e.Actor as { ID: string }).ID])).toEqual([
        ['volume', 'create', 'evdata'],
        ['volume', 'destroy', 'evdata'],
      ]);
      expect(seen[0]).toMatchObject({ Actor: { Attributes: { driver: 'local' } }, scope: 'local' });
      expect(typeof seen[0]!.timeNano).toBe('number');
    } finally {
      api.close();
    }
  });

  it('tells image pulls, tags and removals, and a stop as kill, die and stop', async () => {
    const since = nowSeconds();
    expect((await cli('pull', ref)).code).toBe(0);
    expect((await cli('tag', ref, 'evtag:1')).code).toBe(0);
    expect((await cli('image', 'rm', 'evtag:1')).code).toBe(0);
    const started = await cli('run', '-d', '--name', 'ev2', '--network', 'none', ref, 'sleep', '30');
    expect(started.code, started.err).toBe(0);
    // sleep as PID 1 ignores SIGTERM: after the grace period, SIGKILL — two kills, as Docker tells them.
    expect((await cli('container', 'stop', '-t', '1', 'ev2')).code).toBe(0);
    expect((await cli('container', 'rm', 'ev2')).code).toBe(0);
    const until = nowSeconds();
    const images = await cli('events', '--since', since, '--until', until, '-f', 'type=image', '--format', 'json');
    const parsed = images.out
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as {
            Action: string;
            Actor: { ID: string; Attributes: Record<string, string> };
            status?: string;
          },
      );
    expect(parsed.map((e) => e.Action)).toEqual(['pull', 'tag', 'untag']);
    expect(parsed[0]!.Actor).toMatchObject({ ID: ref, Attributes: { name: `${registry.host}/test/busybox` } });
    expect(parsed[0]!.status).toBe('pull'); // the legacy fields docker CLIs before 25 read
    expect(parsed[1]!.Actor.Attributes.name).toBe('evtag:1');
    const ev2 = await cli('events', '--since', since, '--until', until, '-f', 'container=ev2');
    expect(actions(ev2.out)).toEqual([
      'container create',
      'container start',
      'container kill',
      'container kill',
      'container die',
      'container stop',
      'container destroy',
    ]);
    expect(ev2.out).toContain('signal=15');
    expect(ev2.out).toContain('signal=9');
  });

  it('refuses an unknown filter before asking the daemon, and a bad time in the daemon’s words', async () => {
    const typo = await cli('events', '--filter', 'typ=container');
    expect(typo.code).toBe(2);
    expect(typo.err).toContain('unknown filter "typ"');
    const badType = await cli('events', '--filter', 'type=containers', '--until', '1');
    expect(badType.code).toBe(1);
    expect(badType.err).toContain("invalid event type 'containers'");
    expect((await cli('events', '--since', 'yesterday')).code).toBe(2);
  });
});

describe('the docker CLI’s line for an event', () => {
  it('prints the time with nine fraction digits in the local zone, then type, action, ID and sorted attributes', () => {
    expect(eventTime('1700000000123456789', 0)).toBe('2023-11-14T22:13:20.123456789Z');
    expect(eventTime('1700000000000000001', -60)).toBe('2023-11-14T23:13:20.000000001+01:00');
    const e = {
      Type: 'service',
      Action: 'update',
      Actor: { ID: 's1', Attributes: { 'replicas.new': '3', name: 'web', 'replicas.old': '1' } },
    };
    expect(formatEvent(e, '1700000000000000000', 0)).toBe(
      '2023-11-14T22:13:20.000000000Z service update s1 (name=web, replicas.new=3, replicas.old=1)\n',
    );
  });
});
