import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../lab/lab.js';
import { waitFor } from '../lib/poll.js';
import { docker, dockerOk, dockerPy, rawRequest } from './support/docker.js';
import { httpGetFrom, show, tswarmOk } from './support/engine.js';

/**
 * The container endpoints of the Docker Engine API on a lab host's socket, driven by the real
 * docker CLI and the Python docker SDK (clients nobody here wrote). The image is pulled with
 * tswarm first: pulling through the API belongs to the image endpoints.
 */
const name = `dc${Math.floor(Math.random() * 1e6).toString(36)}`;
let lab: Lab | undefined;
let image = '';
const L = () => lab as Lab;
const HOST = 'm1';
const HOST_ADDR = '192.168.77.11';

function post(path: string, body: string): string {
  return (
    `POST ${path} HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}

/** The status code and JSON body of a raw HTTP/1.1 response (Content-Length framed). */
function parseResponse(response: string): { status: number; body: unknown } {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);
  const text = response.slice(response.indexOf('\r\n\r\n') + 4);
  return { status, body: text.trim() === '' ? undefined : JSON.parse(text) };
}

async function names(all = true): Promise<string[]> {
  const out = await dockerOk(L(), HOST, ['ps', ...(all ? ['-a'] : []), '--format', '{{.Names}}']);
  return out.split('\n').filter((l) => l !== '');
}

describe('the Docker API container endpoints on a lab host', () => {
  beforeAll(async () => {
    lab = await Lab.up({ name, managers: 1, workers: 0, registry: true, logLevel: 'warn' });
    image = lab.requireRegistry().image;
    await tswarmOk(L(), HOST, ['pull', image]);
  });

  afterAll(async () => {
    await lab?.down();
  });

  it('docker run --rm: stdout and stderr apart, the exit code, and nothing left behind', async () => {
    const r = await docker(L(), HOST, [
      'run',
      '--rm',
      '--name',
      'once',
      image,
      'sh',
      '-c',
      'echo out; echo err >&2; exit 3',
    ]);
    show(`docker run --rm -> ${r.code} stdout=${JSON.stringify(r.stdout)} stderr=${JSON.stringify(r.stderr)}`);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('out\n');
    expect(r.stderr).toBe('err\n');
    await waitFor(async () => !(await names()).includes('once'), {
      what: 'the --rm container to go',
      timeoutMs: 10_000,
    });

    // A command that is not in the image: Docker's 127, and the --rm container still goes.
    const missing = await docker(L(), HOST, ['run', '--rm', '--name', 'nocmd', image, '/no/such/cmd']);
    show(`docker run --rm /no/such/cmd -> ${missing.code} ${missing.stderr.trim()}`);
    expect(missing.code).toBe(127);
    await waitFor(async () => !(await names()).includes('nocmd'), { what: 'nocmd to go', timeoutMs: 10_000 });

    // Without --rm the container stays, exited, with its output in the log.
    const kept = await docker(L(), HOST, ['run', '--name', 'kept', image, 'echo', 'hello there']);
    expect(kept).toMatchObject({ code: 0, stdout: 'hello there\n' });
    expect(await dockerOk(L(), HOST, ['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'kept'])).toBe(
      'exited 0\n',
    );
    expect(await dockerOk(L(), HOST, ['logs', 'kept'])).toBe('hello there\n');
    await dockerOk(L(), HOST, ['rm', 'kept']);
    expect(await names()).not.toContain('kept');
  });

  it('docker run -d -p: ps, the published port, inspect, exec, stats, stop and rm -f', async () => {
    const id = (
      await dockerOk(L(), HOST, ['run', '-d', '-p', '8080:80', '--name', 'web', image, 'httpd', '-f', '-p', '80'])
    ).trim();
    expect(id).toMatch(/^[0-9a-z]{10,}$/);
    const ps = await dockerOk(L(), HOST, ['ps']);
    show(ps);
    expect(ps).toMatch(/web/);
    expect(ps).toContain('0.0.0.0:8080->80/tcp');
    expect(ps).toMatch(/Up (Less than a second|\d+ seconds?)/);

    const got = await waitFor(() => httpGetFrom(L(), HOST, `http://${HOST_ADDR}:8080/etc/kept.txt`), {
      what: 'httpd to answer on 8080',
      timeoutMs: 15_000,
      intervalMs: 200,
    });
    expect(got).toEqual({ status: 200, body: 'kept\n' });

    expect(await dockerOk(L(), HOST, ['inspect', '-f', '{{.State.Status}}', 'web'])).toBe('running\n');
    const ip = (await dockerOk(L(), HOST, ['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'web'])).trim();
    show(`web's address: ${ip}`);
    expect(ip).toMatch(/^172\.30\.\d+\.\d+$/);
    expect(await dockerOk(L(), HOST, ['inspect', '-f', '{{.Config.Image}}', 'web'])).toBe(`${image}\n`);
    expect(await dockerOk(L(), HOST, ['port', 'web'])).toContain('80/tcp -> 0.0.0.0:8080');

    const ex = await docker(L(), HOST, ['exec', 'web', 'sh', '-c', 'echo hi; echo oops >&2; exit 5']);
    show(`docker exec -> ${ex.code} ${JSON.stringify(ex.stdout)} ${JSON.stringify(ex.stderr)}`);
    expect(ex).toMatchObject({ code: 5, stdout: 'hi\n', stderr: 'oops\n' });

    const stats = await dockerOk(L(), HOST, ['stats', '--no-stream', '--format', '{{.Name}} {{.MemUsage}}', 'web']);
    show(`docker stats: ${stats.trim()}`);
    expect(stats).toMatch(/^web [\d.]+[kKMG]i?B \/ [\d.]+[kKMGT]i?B\n$/);

    await dockerOk(L(), HOST, ['stop', '-t', '1', 'web']);
    expect(await dockerOk(L(), HOST, ['inspect', '-f', '{{.State.Status}}', 'web'])).toBe('exited\n');
    const exited = await dockerOk(L(), HOST, [
      'ps',
      '-a',
      '--filter',
      'status=exited',
      '--format',
      '{{.Names}} {{.Status}}',
    ]);
    show(exited);
    expect(exited).toMatch(/^web Exited \(\d+\) /m);
    expect(await names(false)).not.toContain('web');
    // A stop of a stopped container is fine (dockerd's 304).
    await dockerOk(L(), HOST, ['stop', 'web']);
    await dockerOk(L(), HOST, ['start', 'web']);
    expect(await dockerOk(L(), HOST, ['inspect', '-f', '{{.State.Running}}', 'web'])).toBe('true\n');
    await dockerOk(L(), HOST, ['rm', '-f', 'web']);
    expect(await names()).not.toContain('web');
  });

  it('docker logs -f keeps stdout and stderr apart and ends when the container exits', async () => {
    await dockerOk(L(), HOST, [
      'run',
      '-d',
      '--name',
      'talker',
      image,
      'sh',
      '-c',
      'echo o1; echo e1 >&2; sleep 1; echo o2; echo e2 >&2',
    ]);
    const r = await docker(L(), HOST, ['logs', '-f', 'talker'], { timeoutMs: 20_000 });
    show(`docker logs -f -> ${r.code} stdout=${JSON.stringify(r.stdout)} stderr=${JSON.stringify(r.stderr)}`);
    expect(r).toMatchObject({ code: 0, stdout: 'o1\no2\n', stderr: 'e1\ne2\n' });
    // The tail counts lines of both streams, as Docker's: the last two are o2 and e2.
    const tail = await docker(L(), HOST, ['logs', '--tail', '2', 'talker']);
    expect(tail).toMatchObject({ code: 0, stdout: 'o2\n', stderr: 'e2\n' });
    expect(await dockerOk(L(), HOST, ['wait', 'talker'])).toBe('0\n');
    await dockerOk(L(), HOST, ['rm', 'talker']);
  });

  it('docker restart, kill, wait and ps filters', async () => {
    await dockerOk(L(), HOST, ['run', '-d', '--name', 'sleeper', '--label', 'role=nap', image, 'sleep', '300']);
    expect((await docker(L(), HOST, ['run', '--name', 'failed', image, 'sh', '-c', 'exit 4'])).code).toBe(4);
    const started = await dockerOk(L(), HOST, ['inspect', '-f', '{{.State.StartedAt}}', 'sleeper']);
    await dockerOk(L(), HOST, ['restart', '-t', '0', 'sleeper']);
    expect(await dockerOk(L(), HOST, ['inspect', '-f', '{{.State.Status}}', 'sleeper'])).toBe('running\n');
    expect(await dockerOk(L(), HOST, ['inspect', '-f', '{{.State.StartedAt}}', 'sleeper'])).not.toBe(started);

    const ps = (args: string[]) => dockerOk(L(), HOST, ['ps', '-a', ...args, '--format', '{{.Names}}']);
    expect(await ps(['--filter', 'label=role=nap'])).toBe('sleeper\n');
    expect(await ps(['--filter', 'name=sleep'])).toBe('sleeper\n');
    expect(await ps(['--filter', 'exited=4'])).toBe('failed\n');
    expect(await ps(['--filter', 'status=running', '--filter', 'name=failed'])).toBe('');

    // A wait started before the kill ends with the kill's exit code.
    const waiting = docker(L(), HOST, ['wait', 'sleeper'], { timeoutMs: 30_000 });
    await dockerOk(L(), HOST, ['kill', 'sleeper']);
    expect(await waiting).toMatchObject({ code: 0, stdout: '137\n' });
    expect(await dockerOk(L(), HOST, ['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'sleeper'])).toBe(
      'exited 137\n',
    );
    const again = await docker(L(), HOST, ['kill', 'sleeper']);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('is not running');
    const sleeperId = (await dockerOk(L(), HOST, ['inspect', '-f', '{{.Id}}', 'sleeper'])).trim();
    const pruned = await dockerOk(L(), HOST, ['container', 'prune', '-f', '--filter', 'label=role=nap']);
    expect(pruned).toContain(sleeperId);
    expect(pruned).not.toContain((await dockerOk(L(), HOST, ['inspect', '-f', '{{.Id}}', 'failed'])).trim());
    expect(await ps(['--filter', 'label=role=nap'])).toBe('');
    await dockerOk(L(), HOST, ['rm', 'failed']);
  });

  it('the Python SDK runs a container and reads its logs', async () => {
    const r = await dockerPy(
      L(),
      HOST,
      [
        'import docker',
        'c = docker.from_env()',
        `out = c.containers.run(${JSON.stringify(image)}, 'echo hello', name='py', remove=False)`,
        'print(repr(out))',
        'ct = c.containers.get("py")',
        'print(repr(ct.logs()), ct.status, ct.attrs["State"]["ExitCode"])',
        'print(len(c.containers.list(all=True, filters={"name": "py"})))',
        'ct.remove()',
      ].join('\n'),
    );
    show(`python: ${r.code} ${r.stdout}${r.stderr}`);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("b'hello\\n'\nb'hello\\n' exited 0\n1\n");
    expect(await names()).not.toContain('py');
  });

  it('refuses bad creates with Docker-shaped errors and leaves nothing half-made', async () => {
    const before = await names();
    const malformed = parseResponse(
      (await rawRequest(L(), HOST, post('/v1.50/containers/create', '{"Image":'))).response,
    );
    show(`malformed JSON -> ${JSON.stringify(malformed)}`);
    expect(malformed.status).toBe(400);
    expect((malformed.body as { message: string }).message).toMatch(/invalid JSON/);

    const wrongType = parseResponse(
      (await rawRequest(L(), HOST, post('/v1.50/containers/create', JSON.stringify({ Image: image, Cmd: 5 }))))
        .response,
    );
    show(`Cmd: 5 -> ${JSON.stringify(wrongType)}`);
    expect(wrongType.status).toBe(400);
    expect((wrongType.body as { message: string }).message).toMatch(/^Cmd must be/);

    const tty = parseResponse(
      (await rawRequest(L(), HOST, post('/v1.50/containers/create', JSON.stringify({ Image: image, Tty: 'yes' }))))
        .response,
    );
    expect(tty.status).toBe(400);
    expect((tty.body as { message: string }).message).toMatch(/^Tty must be a boolean/);

    const noImage = parseResponse(
      (
        await rawRequest(
          L(),
          HOST,
          post('/v1.50/containers/create', JSON.stringify({ Image: '192.168.77.5:5000/lab/absent:1' })),
        )
      ).response,
    );
    expect(noImage).toEqual({ status: 404, body: { message: 'No such image: 192.168.77.5:5000/lab/absent:1' } });

    const missing = parseResponse(
      (await rawRequest(L(), HOST, 'GET /v1.50/containers/nope/json HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n'))
        .response,
    );
    expect(missing).toEqual({ status: 404, body: { message: 'No such container: nope' } });

    await dockerOk(L(), HOST, ['create', '--name', 'taken', image, 'true']);
    const conflict = parseResponse(
      (await rawRequest(L(), HOST, post('/v1.50/containers/create?name=taken', JSON.stringify({ Image: image }))))
        .response,
    );
    show(`name in use -> ${JSON.stringify(conflict)}`);
    expect(conflict.status).toBe(409);
    expect((conflict.body as { message: string }).message).toContain('"/taken" is already in use');
    const dup = await docker(L(), HOST, ['run', '--name', 'taken', image, 'true']);
    expect(dup.code).toBe(125);
    expect(dup.stderr).toContain('already in use');

    expect((await names()).sort()).toEqual([...before, 'taken'].sort());
    await dockerOk(L(), HOST, ['rm', 'taken']);
  });

  it('docker version and info describe tswarm; versions outside 1.41-1.50, oversized and stalled requests are refused, the daemon unaffected', async () => {
    const version = await dockerOk(L(), HOST, [
      'version',
      '--format',
      '{{.Server.Version}} {{.Server.APIVersion}} {{.Server.MinAPIVersion}}',
    ]);
    expect(version.trim()).toMatch(/^\d+\.\d+\.\d+ 1\.50 1\.41$/);
    const info = await dockerOk(L(), HOST, ['info', '--format', '{{.Name}} {{.Swarm.LocalNodeState}} {{.OSType}}']);
    expect(info.trim()).toBe(`${HOST} inactive linux`);

    const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n`;
    const tooNew = parseResponse((await rawRequest(L(), HOST, get('/v1.51/version'))).response);
    expect(tooNew.status).toBe(400);
    expect((tooNew.body as { message: string }).message).toContain('Maximum supported API version is 1.50');
    const tooOld = parseResponse((await rawRequest(L(), HOST, get('/v1.40/containers/json'))).response);
    expect(tooOld.status).toBe(400);
    expect((tooOld.body as { message: string }).message).toContain('Minimum supported API version is 1.41');

    const before = await names();
    // A body announced over the 1 MiB bound is refused from its Content-Length, before it is read.
    const oversized = parseResponse(
      (
        await rawRequest(
          L(),
          HOST,
          `POST /v1.50/containers/create?name=huge HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\n` +
            `Content-Length: ${2 * 1024 * 1024}\r\nConnection: close\r\n\r\n{"Image": "${image}", "Labels": {"pad": "xxxx`,
        )
      ).response,
    );
    expect(oversized.status).toBe(413);
    expect(await names()).toEqual(before);

    // Half a request, then silence: the daemon closes it within its headers bound (10 s).
    const stalled = await rawRequest(L(), HOST, 'GET /v1.50/containers/json HTTP/1.1\r\nHost: d\r\n', 30_000);
    expect(stalled.timedOut).toBe(false);
    expect((await dockerOk(L(), HOST, ['version', '--format', '{{.Server.APIVersion}}'])).trim()).toBe('1.50');
  });
});
