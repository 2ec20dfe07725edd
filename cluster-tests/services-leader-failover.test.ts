import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../lab/lab.js';
import { formSwarm } from '../lab/form-swarm.js';
import { LAB_TEST_IMAGE } from '../lab/registry.js';
import { waitFor } from '../lib/poll.js';
import { apiGet } from './support/attack.js';
import { swarmCli } from './support/swarm-cli.js';
import { countBy, runningTaskContainers, runningTasks, serviceTasks, STOPS_ON_TERM } from './support/services.js';

// Services through the loss of the leader (issue 15), on 3 managers and 2 workers. The leader's
// tswarmd is killed (-9) while a service converges: a survivor becomes leader, takes over the
// orchestrator and the scheduler from the store as its predecessor left it, and the service
// ends with exactly one task and one container per slot — no slot made twice, none lost — also
// once the old leader is back. And a `service create` whose answer was lost with the leader is
// retried by the daemon with the same request ID: one service, not two.
const name = `lf${Math.floor(Math.random() * 1e6).toString(36)}`;
let lab: Lab | undefined;
const { ok, byHost } = swarmCli(() => lab!);

const MANAGERS = ['m1', 'm2', 'm3'];
const WORKERS = ['w1', 'w2'];
/** Long enough for an election, the first pull of the image on each worker and 30 containers on a busy machine. */
const poll = { timeoutMs: 120_000, intervalMs: 500 };

/** The manager that leads, as `host`'s `node ls` says (undefined during an election). */
async function leaderSeenFrom(host: string): Promise<string | undefined> {
  return Object.values(await byHost(host)).find((r) => r.managerStatus === 'Leader')?.hostname;
}

/**
 * Whether `serviceId` runs `replicas` tasks, read through `via`: that many meant to run, all
 * running, in slots 1..replicas each once; and across the workers exactly their containers
 * running, one each (docker ps there, by the task labels), none of another task.
 */
async function convergedTo(serviceId: string, replicas: number, via: string): Promise<boolean> {
  const tasks = await serviceTasks(lab!, via, serviceId);
  const running = runningTasks(tasks);
  if (running.length !== replicas || tasks.filter((t) => t.DesiredState === 'running').length !== replicas)
    return false;
  const slots = running.map((t) => t.Slot ?? 0).sort((a, b) => a - b);
  if (JSON.stringify(slots) !== JSON.stringify(Array.from({ length: replicas }, (_, i) => i + 1))) return false;
  const containers = (await Promise.all(WORKERS.map((w) => runningTaskContainers(lab!, w, serviceId)))).flat();
  return JSON.stringify(containers.sort()) === JSON.stringify(running.map((t) => t.ID).sort());
}

/** Slots that hold more than one task (in any state): a slot made twice, or a task replaced. */
async function slotsMadeTwice(serviceId: string, via: string): Promise<number[]> {
  const perSlot = countBy(await serviceTasks(lab!, via, serviceId), (t) => t.Slot ?? 0);
  return [...perSlot].filter(([, n]) => n > 1).map(([slot]) => Number(slot));
}

/** Waits until `host`'s daemon is back in the swarm: Ready, and Reachable as a manager. */
async function backAsManager(host: string, via: string): Promise<void> {
  await waitFor(
    async () => {
      const row = (await byHost(via))[host];
      return row?.status === 'Ready' && row.managerStatus === 'Reachable';
    },
    { what: `${host} Ready and Reachable again`, ...poll },
  );
}

/** nftables in a lab host's namespace (the lab's hosts are network namespaces; nft acts in the one it runs in). */
async function nft(host: string, ...args: string[]): Promise<void> {
  const r = await lab!.exec(host, ['nft', ...args]);
  if (r.code !== 0) throw new Error(`nft ${args.join(' ')} on ${host}: ${r.stderr}`);
}

describe('services through kill -9 of the leader', () => {
  beforeAll(async () => {
    lab = await Lab.up({ name, managers: 3, workers: 2, registry: true });
    await formSwarm(lab);
  }, 240_000);

  afterAll(async () => {
    await lab?.down();
  });

  it('scaled to 30 and the leader killed while it converges: 30 slots, one task and one container each', async () => {
    const id = (
      await ok(
        'm1',
        'service',
        'create',
        '--detach',
        '--name',
        'web',
        '--replicas',
        '0',
        '--constraint',
        'node.role==worker',
        LAB_TEST_IMAGE,
        ...STOPS_ON_TERM,
      )
    )
      .trim()
      .split('\n')
      .at(-1)!;
    const leader = (await leaderSeenFrom('m1'))!;
    const survivor = MANAGERS.find((m) => m !== leader)!;
    // Sent to a follower (forwarded to the leader), and the leader killed as soon as it is
    // acknowledged: its orchestrator is making the 30 tasks, its scheduler placing them — the
    // entries may be in the survivors' logs without their knowing yet that they are committed.
    expect(await ok(survivor, 'service', 'scale', '--detach', 'web=30')).toBe('web scaled to 30\n');
    await lab!.kill(leader);

    await waitFor(async () => ((await leaderSeenFrom(survivor)) ?? leader) !== leader, {
      what: 'a new leader among the survivors',
      ...poll,
    });
    await waitFor(() => convergedTo(id, 30, survivor), { what: '30 tasks and containers, one per slot', ...poll });
    // The new leader took over from the store as it was: no slot was made a second time.
    expect(await slotsMadeTwice(id, survivor)).toEqual([]);

    await lab!.start(leader);
    await backAsManager(leader, survivor);
    // Read through the manager that was killed, now caught up: the same 30, still one per slot.
    await waitFor(() => convergedTo(id, 30, leader), {
      what: 'still 30, one per slot, read on the old leader',
      ...poll,
    });
    expect(await slotsMadeTwice(id, leader)).toEqual([]);
    for (const m of MANAGERS) expect(await runningTaskContainers(lab!, m, id)).toEqual([]);
  }, 300_000);

  it('a service create whose answer was lost with the leader is retried and makes one service', async () => {
    // Every manager up (whatever the test before left), so that the leader's loss leaves a quorum.
    const down = (await lab!.status()).filter((h) => h.role === 'manager' && h.state !== 'running');
    for (const h of down) await lab!.start(h.name);
    const up = MANAGERS.find((m) => !down.some((h) => h.name === m))!;
    for (const h of down) await backAsManager(h.name, up);
    const leader = await waitFor(() => leaderSeenFrom(up), { what: 'a leader', ...poll });
    const [follower, other] = MANAGERS.filter((m) => m !== leader) as [string, string];
    const leaderAddr = lab!.hosts.find((h) => h.name === leader)!.addr;
    // A forwarded write first, so that the follower's connection to the leader is open (the cut
    // below would otherwise stop the connection itself, and the create would never get there).
    await ok(follower, 'service', 'create', '--detach', '--name', 'warm', '--replicas', '0', LAB_TEST_IMAGE);

    // From now on nothing the leader sends on the follower's connections reaches the follower:
    // the create gets there and is applied, its answer never comes back.
    const table = `${name}cut`;
    await nft(follower, 'add', 'table', 'inet', table);
    await nft(follower, 'add', 'chain', 'inet', table, 'in', '{ type filter hook input priority -10; policy accept; }');
    await nft(follower, 'add', 'rule', 'inet', table, 'in', 'ip', 'saddr', leaderAddr, 'tcp', 'sport', '2377', 'drop');
    try {
      const creating = lab!.exec(
        follower,
        [
          'tswarm',
          'service',
          'create',
          '--detach',
          '--name',
          'once',
          '--replicas',
          '4',
          '--constraint',
          'node.role==worker',
          LAB_TEST_IMAGE,
          ...STOPS_ON_TERM,
        ],
        { timeoutMs: 90_000 },
      );
      // Applied: the third manager has it (its read goes through the leader's ReadIndex).
      const first = await waitFor(
        async () =>
          (await apiGet<{ ID: string; Spec: { Name: string } }[]>(lab!, other, '/services')).find(
            (s) => s.Spec.Name === 'once',
          ),
        { what: 'the create applied, seen on the third manager', timeoutMs: 30_000, intervalMs: 100 },
      );
      await lab!.kill(leader);
      // The follower's forward waits out its deadline (the leader is gone, its answer lost); the
      // daemon then sends the same request again, with the same request ID, and the new leader
      // answers with what the first attempt did. Only a retry can succeed here: the cut is still on.
      const created = await creating;
      expect(created.code, created.stderr).toBe(0);
      expect(created.stdout.trim().split('\n').at(-1)).toBe(first.ID);
    } finally {
      await nft(follower, 'delete', 'table', 'inet', table);
    }

    // A read during the election may be refused (no leader yet, as Swarm's would be): polled.
    const named = (host: string) =>
      waitFor(
        async () =>
          (await apiGet<{ ID: string; Spec: { Name: string } }[]>(lab!, host, '/services')).filter(
            (s) => s.Spec.Name === 'once',
          ),
        { what: `the services read on ${host}`, timeoutMs: 30_000, intervalMs: 200 },
      );
    expect((await named(follower)).length).toBe(1);
    const [service] = await named(other);
    await waitFor(() => convergedTo(service!.ID, 4, other), { what: 'once: 4 tasks, one per slot', ...poll });
    expect(await slotsMadeTwice(service!.ID, other)).toEqual([]);

    await lab!.start(leader);
    await backAsManager(leader, other);
    expect((await named(leader)).map((s) => s.ID)).toEqual([service!.ID]);
    await waitFor(() => convergedTo(service!.ID, 4, leader), { what: 'once still 4, read on the old leader', ...poll });
  }, 300_000);
});
