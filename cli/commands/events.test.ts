import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalVolumeProvider } from '../../engine/volume/local-provider.js';
import type { EngineEvents } from '../../engine/engine.js';
import { ApiClient } from '../../lib/api-client/client.js';
import { readLines } from '../../lib/api-client/json-lines.js';
import { waitFor } from '../../lib/poll.js';
import { EventBus } from '../../daemon/events/bus.js';
import { registerContainer } from './container.js';
import { registerImage } from './image.js';
import { registerVolume } from './volume.js';
import { eventTime, formatEvent, registerEvents } from './events.js';
import { runCli, startEngineApi, type CliResult, type EngineApi } from './testing/engine-api.js';

/**
 * Events end to end on one machine: a real engine (crun, a local registry) telling the daemon's
 * event bus, `GET /events` on the Engine API server, and tswarm's `events` command reading it.
 */
let api: EngineApi;
let host: string;
let ref: string;

beforeAll(async () => {
  const bus = new EventBus();
  const sink: EngineEvents = (e) => void bus.log(e.type, e.action, e.id, e.attributes);
  api = await startEngineApi({
    dirPrefix: 'tswarm-events-',
    volumes: (engineRoot) => LocalVolumeProvider.open(engineRoot, sink),
    events: { bus, sink },
  });
  host = api.host;
  ref = api.ref;
}, 60_000);

afterAll(async () => {
  await api?.stop();
}, 60_000);

function cli(...argv: string[]): Promise<CliResult> {
  return runCli(host, [registerImage, registerContainer, registerVolume, registerEvents], argv);
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
    expect(parsed[0]!.Actor).toMatchObject({ ID: ref, Attributes: { name: `${api.registry.host}/test/busybox` } });
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

  it('tells a container becoming healthy as health_status: healthy, which event=health_status matches', async () => {
    const since = nowSeconds();
    const run = [
      'run',
      '-d',
      '--name',
      'evh',
      '--network',
      'none',
      '--health-cmd',
      'true',
      '--health-interval',
      '100ms',
    ];
    expect((await cli(...run, ref, 'sleep', '30')).code).toBe(0);
    const healthy = await waitFor(
      async () => {
        const r = await cli('events', '--since', since, '--until', nowSeconds(), '-f', 'event=health_status');
        return r.out.includes('container health_status: healthy') ? r.out : undefined;
      },
      { what: 'the health_status event of evh', timeoutMs: 15_000, intervalMs: 100 },
    );
    expect(healthy).toContain('name=evh');
    expect((await cli('container', 'rm', '-f', 'evh')).code).toBe(0);
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
