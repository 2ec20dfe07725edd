import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../lab/lab.js';
import { waitFor } from '../lib/poll.js';
import { docker, dockerFollow, dockerOk, dockerPy, rawRequest, type DockerFollower } from './support/docker.js';
import { show } from './support/engine.js';

/**
 * `docker top`, `docker rename` and `docker system df` with the real docker CLI (and the Python
 * docker SDK) against tswarmd on one lab host: the processes are the container's own, found in
 * its cgroup; a rename holds for logs, exec, stop and a daemon restart; the sizes are measured.
 */
const name = `tr${Math.floor(Math.random() * 1e6).toString(36)}`;
let lab: Lab | undefined;
let image = '';
const L = () => lab as Lab;
const followers: DockerFollower[] = [];
const HOST = 'm1';
const MiB = 1024 * 1024;

const dockerIn = (args: string[]) => docker(L(), HOST, args);
const dockerOkIn = (args: string[]) => dockerOk(L(), HOST, args);

/** A size as the docker CLI prints it (go-units: decimal, "1.049MB", "4.1kB", "0B") in bytes. */
function bytesOf(text: string): number {
  const m = /^([\d.]+)(B|kB|MB|GB|TB)$/.exec(text);
  if (!m) throw new Error(`not a size: ${text}`);
  const scale = { B: 1, kB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12 }[m[2] as 'B'];
  return Number(m[1]) * scale;
}

/** The rows of `docker top`'s table (split on runs of 2+ spaces or more: a command has single spaces). */
function topRows(out: string): string[][] {
  return out
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s{2,}/));
}

describe('docker top, rename and system df on a lab host', () => {
  beforeAll(async () => {
    lab = await Lab.up({ name, managers: 1, workers: 0, registry: true, logLevel: 'warn' });
    image = lab.requireRegistry().image;
    await dockerOk(L(), HOST, ['pull', image], 90_000);
  });

  afterAll(async () => {
    for (const f of followers) f.stop();
    await lab?.down();
  });

  it("docker top shows the container's processes and no one else's, with ps's options", async () => {
    await dockerOkIn(['run', '-d', '--name', 'topper', image, 'sh', '-c', 'sleep 299 & exec sleep 300']);
    await dockerOkIn(['run', '-d', '--name', 'neighbour', image, 'sleep', '301']);
    const pid = (await dockerOkIn(['inspect', '-f', '{{.State.Pid}}', 'topper'])).trim();
    // The background sleep is a child of the container's first process: both are in its cgroup.
    const rows = await waitFor(
      async () => {
        const r = topRows(await dockerOkIn(['top', 'topper']));
        return r.length === 3 ? r : undefined;
      },
      { what: 'both sleeps of topper in docker top', timeoutMs: 10_000 },
    );
    show(`docker top topper:\n${rows.map((r) => r.join(' | ')).join('\n')}`);
    expect(rows[0]).toEqual(['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
    const commands = rows.slice(1).map((r) => r[r.length - 1]);
    expect(commands.sort()).toEqual(['sleep 299', 'sleep 300']);
    expect(rows.slice(1).map((r) => r[1])).toContain(pid);
    // The other sleep is shown only for its own container (PID column second in aux).
    const aux = await dockerOkIn(['top', 'topper', 'aux']);
    expect(aux.split('\n')[0]).toMatch(/^USER\s+PID\s+%CPU\s+%MEM\s+VSZ\s+RSS\s+TTY\s+STAT\s+START\s+TIME\s+COMMAND$/);
    expect(aux).toContain('sleep 300');
    expect(aux).not.toContain('sleep 301');
    expect(await dockerOkIn(['top', 'neighbour', '-o', 'pid,comm,args'])).toMatch(
      /^PID\s+COMMAND\s+COMMAND\n\d+\s+sleep\s+sleep 301\n$/,
    );

    // dockerd's errors: a bad ps option is ps's message (500), a stopped container a 409, a missing one a 404.
    const bad = await dockerIn(['top', 'topper', '--no-such-option']);
    expect([bad.code, bad.stderr]).toEqual([1, expect.stringContaining('ps: error: unknown gnu long option')]);
    await dockerOkIn(['create', '--name', 'idle', image, 'true']);
    const idleId = (await dockerOkIn(['inspect', '-f', '{{.Id}}', 'idle'])).trim();
    const stopped = await dockerIn(['top', 'idle']);
    expect(stopped.stderr).toContain(`Container ${idleId} is not running`);
    expect((await dockerIn(['top', 'nosuch'])).stderr).toContain('No such container: nosuch');
  });

  it('docker rename: ps, logs, exec, attach and stop by the new name, the old one gone, a taken name refused; kept across a restart', async () => {
    const since = (Date.now() / 1000).toFixed(3);
    const script = 'echo hello-from-rn; while :; do sleep 1; echo tick; done';
    await dockerOkIn(['run', '-d', '--name', 'rn-old', image, 'sh', '-c', script]);
    await dockerOkIn(['rename', 'rn-old', 'rn-new']);
    const names = (await dockerOkIn(['ps', '--format', '{{.Names}}'])).split('\n');
    expect(names).toContain('rn-new');
    expect(names).not.toContain('rn-old');
    expect(await dockerOkIn(['logs', 'rn-new'])).toMatch(/^hello-from-rn\n/);
    expect(await dockerOkIn(['exec', 'rn-new', 'echo', 'exec-ok'])).toBe('exec-ok\n');
    expect((await dockerIn(['logs', 'rn-old'])).stderr).toContain('No such container: rn-old');

    const taken = await dockerIn(['rename', 'rn-new', 'topper']);
    show(`docker rename rn-new topper -> ${taken.code}: ${taken.stderr.trim()}`);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toContain(
      'Error response from daemon: Error when allocating new name: Conflict. The container name "/topper" is already in use by container',
    );
    expect(taken.stderr).toContain('Error: failed to rename container named rn-new');
    expect((await dockerIn(['rename', 'rn-new', 'bad name'])).stderr).toContain('Invalid container name (/bad name)');
    // A stopped container renames too.
    await dockerOkIn(['rename', 'idle', 'idle-2']);

    const until = (Date.now() / 1000 + 1).toFixed(3);
    const events = (
      await dockerOkIn([
        'events',
        '--since',
        since,
        '--until',
        until,
        '--filter',
        'event=rename',
        '--format',
        '{{json .}}',
      ])
    )
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { Action: string; Actor: { Attributes: Record<string, string> } });
    expect(events.map((e) => [e.Action, e.Actor.Attributes['name'], e.Actor.Attributes['oldName']])).toEqual([
      ['rename', 'rn-new', '/rn-old'],
      ['rename', 'idle-2', '/idle'],
    ]);

    // The record holds the name: a restarted daemon adopts the running container under it.
    await L().stop(HOST);
    await L().start(HOST);
    expect(await dockerOkIn(['inspect', '-f', '{{.Name}} {{.State.Status}}', 'rn-new'])).toBe('/rn-new running\n');
    expect(await dockerOkIn(['inspect', '-f', '{{.Name}}', 'idle-2'])).toBe('/idle-2\n');
    expect((await dockerIn(['inspect', 'rn-old'])).code).toBe(1);
    expect(await dockerOkIn(['logs', 'rn-new'])).toMatch(/^hello-from-rn\ntick\n/);
    const attached = dockerFollow(L(), HOST, ['attach', '--no-stdin', 'rn-new']);
    followers.push(attached);
    await waitFor(() => attached.stdout().includes('tick\n'), {
      what: `docker attach rn-new to show its output (stderr: ${attached.stderr()})`,
      timeoutMs: 10_000,
    });
    await dockerOkIn(['stop', '-t', '1', 'rn-new']);
    expect(await dockerOkIn(['inspect', '-f', '{{.State.Status}}', 'rn-new'])).toBe('exited\n');
    // The attached client ends with the container, with its exit code (sh as PID 1 ignores SIGTERM: 137).
    expect(await attached.exited).toBe(137);
  });

  it('docker system df and df -v: images, containers and a volume with their measured sizes', async () => {
    await dockerOkIn(['volume', 'create', 'dfvol']);
    await dockerOkIn([
      'run',
      '--rm',
      '-v',
      'dfvol:/data',
      image,
      'sh',
      '-c',
      'head -c 1048576 /dev/urandom > /data/blob',
    ]);
    await dockerOkIn(['run', '-d', '--name', 'dfuser', '-v', 'dfvol:/data', image, 'sleep', '300']);
    await dockerOkIn(['exec', 'dfuser', 'sh', '-c', 'head -c 300000 /dev/zero > /rw.bin']);

    const summary = await dockerOkIn(['system', 'df']);
    show(`docker system df:\n${summary}`);
    const row = (type: string) => {
      const line = summary.split('\n').find((l) => l.startsWith(type));
      if (!line) throw new Error(`no ${type} row in:\n${summary}`);
      return line.slice(type.length).trim().split(/\s+/);
    };
    expect(summary.split('\n')[0]).toMatch(/^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE$/);
    const [images, activeImages, imageSize] = row('Images');
    expect(Number(images)).toBeGreaterThanOrEqual(1);
    expect(Number(activeImages)).toBeGreaterThanOrEqual(1);
    expect(bytesOf(imageSize!)).toBeGreaterThan(100_000);
    const [containers, , containerSize] = row('Containers');
    expect(Number(containers)).toBeGreaterThanOrEqual(4);
    expect(bytesOf(containerSize!)).toBeGreaterThanOrEqual(300_000);
    const [volumes, activeVolumes, volumeSize] = row('Local Volumes');
    expect([volumes, activeVolumes]).toEqual(['1', '1']);
    expect(bytesOf(volumeSize!)).toBeGreaterThanOrEqual(MiB);
    expect(row('Build Cache').slice(0, 3)).toEqual(['0', '0', '0B']);

    const verbose = await dockerOkIn(['system', 'df', '-v']);
    show(`docker system df -v:\n${verbose}`);
    const [repo, tag] = [image.slice(0, image.lastIndexOf(':')), image.slice(image.lastIndexOf(':') + 1)];
    expect(verbose).toContain('Images space usage:');
    const imageRow = verbose.split('\n').find((l) => l.startsWith(`${repo} `));
    expect(imageRow?.split(/\s{2,}/)[1]).toBe(tag);
    expect(verbose).toContain('Containers space usage:');
    const userRow = verbose.split('\n').find((l) => l.trimEnd().endsWith(' dfuser'));
    // CONTAINER ID, IMAGE, COMMAND, LOCAL VOLUMES, SIZE, …: one local volume, its 300 kB written.
    const cells = userRow?.split(/\s{2,}/) ?? [];
    expect(cells[3]).toBe('1');
    expect(bytesOf(cells[4]!)).toBeGreaterThanOrEqual(300_000);
    expect(verbose).toContain('Local Volumes space usage:');
    const volumeRow = verbose.split('\n').find((l) => l.startsWith('dfvol '));
    const [, links, size] = volumeRow?.trim().split(/\s+/) ?? [];
    expect(links).toBe('1');
    expect(bytesOf(size!)).toBeGreaterThanOrEqual(MiB);
    expect(verbose).toContain('Build cache usage: 0B');

    // docker ps -s: the same measure per container, its changes then with its image.
    const sized = await dockerOkIn(['ps', '-s', '--filter', 'name=dfuser', '--format', '{{.Size}}']);
    show(`docker ps -s: ${sized}`);
    const sizeMatch = /^(\S+) \(virtual (\S+)\)$/.exec(sized.trim());
    expect(sizeMatch, sized).not.toBeNull();
    expect(bytesOf(sizeMatch![1]!)).toBeGreaterThanOrEqual(300_000);
    expect(bytesOf(sizeMatch![2]!)).toBeGreaterThan(bytesOf(sizeMatch![1]!));

    // API 1.42's type parameter: only the kinds asked for; an unknown one is a 400.
    const get = async (path: string) => {
      const { response } = await rawRequest(L(), HOST, `GET ${path} HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n`);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1]);
      return { status, body: JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4)) as Record<string, unknown> };
    };
    const onlyVolumes = await get('/v1.50/system/df?type=volume');
    expect(onlyVolumes.status).toBe(200);
    expect(onlyVolumes.body).toMatchObject({ LayersSize: 0, Images: null, Containers: null, BuildCache: null });
    expect(onlyVolumes.body['Volumes']).toEqual([
      expect.objectContaining({ Name: 'dfvol', UsageData: { Size: expect.any(Number), RefCount: 1 } }),
    ]);
    expect(await get('/v1.50/system/df?type=disks')).toEqual({
      status: 400,
      body: { message: 'unknown object type: disks' },
    });
  });

  it('the Python docker SDK reads top and df', async () => {
    const r = await dockerPy(
      L(),
      HOST,
      `
import docker, json
c = docker.from_env()
top = c.containers.get('topper').top(ps_args='-o pid,args')
df = c.df()
sized = c.api.containers(filters={'name': 'dfuser'}, size=True)[0]
vol = [v for v in df['Volumes'] if v['Name'] == 'dfvol'][0]
print(json.dumps({'titles': top['Titles'], 'commands': sorted(p[1] for p in top['Processes']),
  'volume': vol['UsageData'], 'layers': df['LayersSize'],
  'containers': sorted(x['Names'][0] for x in df['Containers']),
  'sizeRw': sized['SizeRw'], 'sizeRootFs': sized['SizeRootFs']}))
`,
    );
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      titles: string[];
      commands: string[];
      volume: { Size: number; RefCount: number };
      layers: number;
      containers: string[];
      sizeRw: number;
      sizeRootFs: number;
    };
    show(`python docker SDK: ${r.stdout.trim()}`);
    expect(out.sizeRw).toBeGreaterThanOrEqual(300_000);
    expect(out.sizeRootFs).toBeGreaterThan(out.sizeRw);
    expect(out.titles).toEqual(['PID', 'COMMAND']);
    expect(out.commands).toEqual(['sleep 299', 'sleep 300']);
    expect(out.volume.Size).toBeGreaterThanOrEqual(MiB);
    expect(out.volume.RefCount).toBe(1);
    expect(out.layers).toBeGreaterThan(100_000);
    expect(out.containers).toEqual(expect.arrayContaining(['/dfuser', '/rn-new', '/topper', '/idle-2']));
  });
});
