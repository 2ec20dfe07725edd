import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../lab/lab.js';
import { formSwarm } from '../lab/form-swarm.js';
import { LAB_TEST_IMAGE } from '../lab/registry.js';
import { waitFor } from '../lib/poll.js';
import { docker, dockerFollow, dockerOk, dockerPy, type DockerFollower } from './support/docker.js';

// Docker's `GET /events` on real daemons, read by clients nobody here wrote: the docker CLI 28
// (`docker events` with --since/--until, filters, a live stream) and the Python SDK. A worker's
// events are its engine's (containers, images, volumes, networks); a manager's also carry the
// swarm's committed changes (services, nodes), scope "swarm".
const name = `ev${Math.floor(Math.random() * 1e6).toString(36)}`;
let lab: Lab | undefined;
const L = () => lab as Lab;
const IMAGE = LAB_TEST_IMAGE;
const followers: DockerFollower[] = [];

interface Event {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: string;
  time: number;
  timeNano: number;
  status?: string;
  id?: string;
  from?: string;
}

const nowSeconds = () => (Date.now() / 1000).toFixed(3);

/** `docker events … --format '{{json .}}'` lines. */
function parse(out: string): Event[] {
  return out
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Event);
}

/** The past events of a window, as `docker events --since --until` prints them (it ends by itself). */
async function pastEvents(host: string, since: string, until: string, ...filters: string[]): Promise<Event[]> {
  const args = ['events', '--since', since, '--until', until, '--format', '{{json .}}'];
  for (const f of filters) args.push('--filter', f);
  return parse(await dockerOk(L(), host, args, 30_000));
}

/** A live `docker events` on `host`, once the daemon counts it as a listener (docker info's NEventsListener). */
async function follow(host: string, ...filters: string[]): Promise<DockerFollower> {
  const before = Number((await dockerOk(L(), host, ['info', '--format', '{{.NEventsListener}}'])).trim());
  const args = ['events', '--format', '{{json .}}'];
  for (const f of filters) args.push('--filter', f);
  const f = dockerFollow(L(), host, args);
  followers.push(f);
  await waitFor(
    async () => Number((await dockerOk(L(), host, ['info', '--format', '{{.NEventsListener}}'])).trim()) > before,
    { what: `docker events on ${host} to be listening (stderr: ${f.stderr()})`, timeoutMs: 15_000, intervalMs: 100 },
  );
  return f;
}

/** Waits until the follower has printed events that `done` accepts; returns them all. */
async function seen(f: DockerFollower, what: string, done: (events: Event[]) => boolean): Promise<Event[]> {
  return waitFor(
    () => {
      const events = parse(f.stdout().slice(0, f.stdout().lastIndexOf('\n') + 1));
      return done(events) ? events : undefined;
    },
    { what: `${what} (got: ${f.stdout()}${f.stderr()})`, timeoutMs: 30_000, intervalMs: 100 },
  );
}

const actions = (events: Event[]) => events.map((e) => `${e.Type} ${e.Action}`);

describe('docker events against tswarmd', () => {
  let runSince = '';
  let runUntil = '';

  beforeAll(async () => {
    lab = await Lab.up({ name, managers: 1, workers: 1, registry: true });
    await formSwarm(lab);
  }, 240_000);

  afterAll(async () => {
    for (const f of followers) f.stop();
    await lab?.down();
  });

  it('docker events --since … --until … shows the events of a container run in between, in order', async () => {
    await dockerOk(L(), 'w1', ['pull', IMAGE], 90_000);
    runSince = nowSeconds();
    const run = await docker(L(), 'w1', [
      'run',
      '--rm',
      '--name',
      'evrun',
      '-l',
      'tier=front',
      IMAGE,
      'sh',
      '-c',
      'exit 3',
    ]);
    expect(run.code, run.stderr).toBe(3);
    runUntil = nowSeconds();
    const events = await pastEvents('w1', runSince, runUntil, 'container=evrun');
    expect(actions(events)).toEqual([
      'container create',
      'container attach',
      'container start',
      'container die',
      'container destroy',
    ]);
    const id = events[0]!.Actor.ID;
    for (const e of events) {
      expect(e).toMatchObject({ scope: 'local', id, status: e.Action, from: IMAGE });
      expect(e.Actor).toEqual({
        ID: id,
        Attributes: expect.objectContaining({ image: IMAGE, name: 'evrun', tier: 'front' }),
      });
      expect(e.timeNano).toBeGreaterThanOrEqual(Number(runSince) * 1e9 - 1e6);
    }
    expect(events[3]!.Actor.Attributes.exitCode).toBe('3');
    // The docker CLI's own line for an event: time, type, action, ID, sorted attributes.
    const lines = (
      await dockerOk(L(), 'w1', ['events', '--since', runSince, '--until', runUntil, '-f', 'event=die'])
    ).trim();
    expect(lines).toMatch(
      new RegExp(`^\\S+ container die ${id} \\(execDuration=\\d+, exitCode=3, image=\\S+, name=evrun, tier=front\\)$`),
    );
  });

  it('the Python SDK reads the same window (client.events with since, until, filters, decode)', async () => {
    const r = await dockerPy(
      L(),
      'w1',
      [
        'import docker, json',
        'c = docker.from_env()',
        `evs = c.events(since=${runSince}, until=${runUntil}, filters={"container": "evrun"}, decode=True)`,
        'print(json.dumps([[e["Type"], e["Action"], e["Actor"]["Attributes"]["name"]] for e in evs]))',
      ].join('\n'),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([
      ['container', 'create', 'evrun'],
      ['container', 'attach', 'evrun'],
      ['container', 'start', 'evrun'],
      ['container', 'die', 'evrun'],
      ['container', 'destroy', 'evrun'],
    ]);
  });

  it('a live docker events --filter type=container receives events as they happen', async () => {
    const f = await follow('w1', 'type=container');
    await dockerOk(L(), 'w1', ['run', '-d', '--name', 'evlive', IMAGE, 'sleep', '30']);
    await dockerOk(L(), 'w1', ['rm', '-f', 'evlive']);
    const events = await seen(f, 'the live container events of evlive', (es) => es.some((e) => e.Action === 'destroy'));
    expect(actions(events.filter((e) => e.Actor.Attributes.name === 'evlive'))).toEqual([
      'container create',
      'container start',
      'container kill',
      'container die',
      'container destroy',
    ]);
    expect(events.every((e) => e.Type === 'container')).toBe(true);
    expect(events.find((e) => e.Action === 'kill')!.Actor.Attributes.signal).toBe('9');
    f.stop();
    await f.exited;
  });

  it('docker events --filter type=service on a manager shows a service created, scaled and removed', async () => {
    const f = await follow('m1', 'type=service');
    await dockerOk(L(), 'm1', [
      'service',
      'create',
      '--detach',
      '--name',
      'evsvc',
      '--replicas',
      '1',
      IMAGE,
      'sleep',
      '1d',
    ]);
    await dockerOk(L(), 'm1', ['service', 'scale', '--detach', 'evsvc=2']);
    await dockerOk(L(), 'm1', ['service', 'rm', 'evsvc']);
    const events = await seen(f, 'the service events of evsvc', (es) => es.some((e) => e.Action === 'remove'));
    expect(events.every((e) => e.Type === 'service' && e.scope === 'swarm')).toBe(true);
    expect(events.every((e) => e.Actor.Attributes.name === 'evsvc')).toBe(true);
    expect(events[0]!.Action).toBe('create');
    expect(events.at(-1)!.Action).toBe('remove');
    const scaled = events.find((e) => e.Action === 'update' && e.Actor.Attributes['replicas.new'] === '2');
    expect(scaled?.Actor.Attributes['replicas.old']).toBe('1');
    // Swarm events are the managers': a worker's stream has none.
    expect(await pastEvents('w1', runSince, nowSeconds(), 'scope=swarm')).toEqual([]);
  });

  it('shows node events for docker node update, with what changed', async () => {
    const since = nowSeconds();
    await dockerOk(L(), 'm1', ['node', 'update', '--label-add', 'zone=a', 'w1']);
    await dockerOk(L(), 'm1', ['node', 'update', '--availability', 'drain', 'w1']);
    await dockerOk(L(), 'm1', ['node', 'update', '--availability', 'active', 'w1']);
    const events = await waitFor(
      async () => {
        const es = await pastEvents('m1', since, nowSeconds(), 'type=node', 'node=w1');
        return es.length >= 3 ? es : undefined;
      },
      { what: 'three node update events of w1', timeoutMs: 15_000, intervalMs: 200 },
    );
    expect(events.every((e) => e.Action === 'update' && e.scope === 'swarm' && e.Actor.Attributes.name === 'w1')).toBe(
      true,
    );
    const drained = events.find((e) => e.Actor.Attributes['availability.new'] === 'drain');
    expect(drained?.Actor.Attributes['availability.old']).toBe('active');
    expect(events.some((e) => e.Actor.Attributes['availability.new'] === 'active')).toBe(true);
  });
});
