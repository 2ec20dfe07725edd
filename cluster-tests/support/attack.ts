import { createHash } from 'node:crypto';
import type { Lab } from '../../lab/lab.js';
import { ApiClient } from '../../lib/api-client/client.js';
import { builtEntry } from '../../lib/paths.js';
import { socketOf } from './docker.js';

/**
 * What the attack tests share: a digest of what an attack would change, and the probes that send
 * raw calls and Raft messages from inside a lab host with a given node's certificate files (the
 * files an attacker holding that node's disk has).
 */

/** GET `path` from the Engine API on `host`'s socket. */
export async function apiGet<T>(lab: Lab, host: string, path: string): Promise<T> {
  const client = new ApiClient(`unix://${socketOf(lab, host)}`);
  try {
    return await client.json<T>('GET', path);
  } finally {
    client.close();
  }
}

/**
 * A digest of what an attack would change, as the control API shows it on `host`: every node's
 * ID, version, spec and hostname, and the cluster object's version and spec. Any write to one of
 * them — a node created or changed — changes a version, and so the digest.
 */
export async function storeDigest(lab: Lab, host: string): Promise<string> {
  type Versioned = { ID: string; Version: { Index: number }; Spec: unknown };
  type NodeShape = Versioned & { Description?: { Hostname?: string } };
  const listed = await apiGet<NodeShape[]>(lab, host, '/nodes');
  const swarm = await apiGet<Versioned>(lab, host, '/swarm');
  const shown = {
    nodes: listed.map((n) => [n.ID, n.Version.Index, n.Spec, n.Description?.Hostname ?? '']).sort(),
    swarm: [swarm.ID, swarm.Version.Index, swarm.Spec],
  };
  return createHash('sha256').update(JSON.stringify(shown)).digest('hex');
}

/** A built probe (a test-only entry point in dist/), run with the lab's node in `from`'s namespace. */
async function probe<T>(lab: Lab, from: string, script: string, args: readonly string[]): Promise<T> {
  const entry = builtEntry('cli').replace(/cli[/\\]main\.js$/, script);
  const r = await lab.exec(from, [process.execPath, entry, ...args], { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`${script} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/**
 * lib/testing/raw-call.js: one gRPC call (or a flood) to a manager at `addr`, presenting the
 * certificate files in `certs` ("none": no certificate). See that file for the methods.
 */
export function rawCall<T = { code: string; message: string }>(
  lab: Lab,
  from: string,
  certs: string,
  addr: string,
  ...args: string[]
): Promise<T> {
  return probe<T>(lab, from, 'lib/testing/raw-call.js', [certs, addr, ...args]);
}

/** manager/raft/transport/testing/send-as.js: one Raft message to `to`'s transport, with the files in `certs`. */
export function sendAs(
  lab: Lab,
  from: string,
  certs: string,
  to: { id: string; addr: string },
  kind: 'prop' | 'app',
  at: { term: number; index: number; logTerm: number },
): Promise<{ from: string; refused: boolean; reason: string }> {
  const args = [certs, to.addr, to.id, kind, String(at.term), String(at.index), String(at.logTerm)];
  return probe(lab, from, 'manager/raft/transport/testing/send-as.js', args);
}
