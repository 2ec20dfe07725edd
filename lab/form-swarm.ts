import { TswarmError } from '../lib/errors.js';
import { waitFor } from '../lib/poll.js';
import type { Lab } from './lab.js';

const JOIN_TIMEOUT_MS = 90_000;

async function tswarm(lab: Lab, host: string, args: string[]): Promise<string> {
  const r = await lab.exec(host, ['tswarm', ...args], { timeoutMs: JOIN_TIMEOUT_MS });
  if (r.code !== 0)
    throw new TswarmError(
      'FAILED_PRECONDITION',
      `tswarm ${args[0]} on ${host} failed: ${r.stderr.trim() || r.stdout.trim()}`,
    );
  return r.stdout;
}

/**
 * Makes the lab's hosts one swarm, as a user would: the first manager inits, the other
 * managers join one at a time (Raft takes one membership change at a time), workers after.
 */
export async function formSwarm(lab: Lab): Promise<void> {
  const managers = lab.hosts.filter((h) => h.role === 'manager');
  const workers = lab.hosts.filter((h) => h.role === 'worker');
  const first = managers[0] ?? workers[0];
  if (!first) return;
  if (first.role !== 'manager')
    throw new TswarmError('USAGE', 'a swarm needs a manager. Use --managers 1 or more, or --no-swarm');
  await tswarm(lab, first.name, ['init', '--advertise-addr', first.addr]);
  const managerToken = (await tswarm(lab, first.name, ['join-token', 'manager', '-q'])).trim();
  const workerToken = (await tswarm(lab, first.name, ['join-token', 'worker', '-q'])).trim();
  const leader = `${first.addr}:2377`;
  for (const m of managers.slice(1))
    await tswarm(lab, m.name, ['join', '--token', managerToken, '--advertise-addr', m.addr, leader]);
  await Promise.all(workers.map((w) => tswarm(lab, w.name, ['join', '--token', workerToken, leader])));
  await waitFor(
    async () => {
      const r = await lab.exec(first.name, ['tswarm', 'node', 'ls', '--format', 'json']);
      if (r.code !== 0) return false;
      const nodes = JSON.parse(r.stdout) as { status: string }[];
      return nodes.length === lab.hosts.length && nodes.every((n) => n.status === 'Ready');
    },
    { what: 'every lab host to be a Ready node of the swarm', timeoutMs: JOIN_TIMEOUT_MS, intervalMs: 250 },
  );
}
