import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab } from '../lab/lab.js';
import { listNetns } from '../lab/netns.js';
import { labPaths } from '../lab/paths.js';
import { isAlive } from '../lab/processes.js';
import { LAB_REGISTRY, LAB_TEST_IMAGE } from '../lab/registry.js';
import { processStartTime } from '../lib/process/pid-lock.js';
import { waitFor } from '../lib/poll.js';
import { runBuilt } from '../lib/testing/processes.js';
import { canConnect, listenOn, type Listener } from './support/tcp.js';

// A fresh name per run, so a leftover of an earlier crashed run can never be mistaken for ours.
const name = `ct${Math.floor(Math.random() * 1e6).toString(36)}`;
let lab: Lab | undefined;
let listener: Listener | undefined;

async function hostState(host: string): Promise<string | undefined> {
  return (await lab!.status()).find((h) => h.name === host)?.state;
}

describe('the lab', () => {
  beforeAll(async () => {
    lab = await Lab.up({ name, managers: 3, workers: 2, registry: true });
  });

  afterAll(async () => {
    listener?.stop();
    await lab?.down();
  });

  it('brings up five hosts whose daemons answer as themselves', async () => {
    expect(lab!.hosts.map((h) => `${h.name}=${h.addr}`)).toEqual([
      'm1=192.168.77.11',
      'm2=192.168.77.12',
      'm3=192.168.77.13',
      'w1=192.168.77.21',
      'w2=192.168.77.22',
    ]);
    for (const host of lab!.hosts) {
      const r = await lab!.exec(host.name, ['tswarm', 'info', '--format', 'json']);
      expect(r.code, r.stderr).toBe(0);
      const info = JSON.parse(r.stdout) as {
        server: { hostname: string; pid: number; swarm: { localNodeState: string } };
      };
      expect(info.server.hostname).toBe(host.name);
      expect(info.server.pid).toBe(host.pid);
      expect(info.server.swarm.localNodeState).toBe('inactive');
    }
  });

  it('reports a SIGKILLed daemon dead, and starts it again', async () => {
    const before = lab!.hosts.find((h) => h.name === 'w1')!;
    const oldPid = before.pid;
    await lab!.kill('w1');
    expect(await hostState('w1')).toBe('dead');
    expect(isAlive({ pid: oldPid, startTime: before.startTime })).toBe(false);
    expect(await hostState('w2')).toBe('running');
    await lab!.start('w1');
    await waitFor(async () => (await hostState('w1')) === 'running', { what: 'w1 to run again', timeoutMs: 30_000 });
    const r = await lab!.exec('w1', ['tswarm', 'info', '--format', 'json']);
    expect(JSON.parse(r.stdout).server.hostname).toBe('w1');
  });

  it('serves lab/busybox:1 from its registry host reg, also to a daemon started again', async () => {
    const reg = (await lab!.status()).find((h) => h.name === 'reg');
    expect(reg).toMatchObject({ role: 'registry', addr: '192.168.77.5', state: 'running', pid: lab!.registry!.pid });
    const status = await runBuilt('cli', ['lab', 'status', '--name', name]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`^reg +registry +192\\.168\\.77\\.5 +${reg!.pid} +running *$`, 'm'));
    const address = await runBuilt('cli', ['lab', 'registry', '--name', name, '-q']);
    expect(address).toMatchObject({ code: 0, stdout: `${LAB_REGISTRY}\n` });
    expect(LAB_TEST_IMAGE).toBe('192.168.77.5:5000/lab/busybox:1');

    // w1's daemon was killed and started again above: it kept its --insecure-registry flag.
    const pull = await lab!.exec('w1', ['tswarm', 'pull', LAB_TEST_IMAGE]);
    expect(pull.code, pull.stderr).toBe(0);
    const ran = await lab!.exec('w1', ['tswarm', 'run', '--rm', LAB_TEST_IMAGE, 'echo', 'from-the-lab-registry']);
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stdout).toBe('from-the-lab-registry\n');
  });

  it('partitions m1 from the rest and heals it', async () => {
    listener = await listenOn(lab!, 'm2', '192.168.77.12', 7070);
    expect(await canConnect(lab!, 'm1', '192.168.77.12', 7070)).toBe(true);

    const groups = await lab!.partition(['m1']);
    expect(groups).toEqual([['m1'], ['m2', 'm3', 'w1', 'w2']]);
    expect(await canConnect(lab!, 'm1', '192.168.77.12', 7070)).toBe(false);
    expect(await canConnect(lab!, 'm3', '192.168.77.12', 7070)).toBe(true);
    expect((await lab!.status()).find((h) => h.name === 'm1')?.group).toBe(1);

    await lab!.heal();
    await waitFor(() => canConnect(lab!, 'm1', '192.168.77.12', 7070), {
      what: 'm1 to reach m2 after heal',
      timeoutMs: 15_000,
    });
  });

  it('tears down completely: no namespace, process, container cgroup or directory is left', async () => {
    const hosts = [...lab!.hosts];
    // A container running at the lab's end: its daemon's cgroups (crun's /PREFIX/ID) must go too.
    const w1 = hosts.find((h) => h.name === 'w1')!;
    const run = await lab!.exec('w1', ['tswarm', 'run', '-d', '--network', 'none', LAB_TEST_IMAGE, 'sleep', '300']);
    expect(run.code, run.stderr).toBe(0);
    const { namePrefix } = JSON.parse(readFileSync(join(w1.dataDir, 'node.json'), 'utf8')) as { namePrefix: string };
    const prefixCgroups = () =>
      readdirSync('/sys/fs/cgroup').filter((c) => existsSync(join('/sys/fs/cgroup', c, namePrefix)));
    expect(prefixCgroups()).not.toEqual([]);
    const { pid } = lab!.registry!;
    const registry = { pid, startTime: processStartTime(pid) ?? '' };
    expect(isAlive(registry)).toBe(true);
    listener?.stop();
    listener = undefined;
    await lab!.down();
    lab = undefined;
    expect((await listNetns()).filter((n) => n.startsWith(`tsl-${name}-`))).toEqual([]);
    for (const h of hosts) expect(isAlive(h)).toBe(false);
    expect(isAlive(registry)).toBe(false);
    expect(existsSync(labPaths.dir(name))).toBe(false);
    expect(prefixCgroups()).toEqual([]);
  });
});
