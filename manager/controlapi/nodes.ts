import { TswarmError } from '../../lib/errors.js';
import { NodeAvailability, NodeRole, NodeState, type Node, type NodeSpec } from '../../gen/tswarm/v1/objects.js';
import type { ListNodesRequest } from '../../gen/tswarm/v1/control.js';
import type { MemoryStore } from '../store/memory-store.js';
import type { Store } from '../store/store.js';
import { roleName } from '../store/cluster-objects.js';

/** What the control API needs to know about Raft to keep a change from losing quorum. */
export interface QuorumView {
  /** Manager node IDs that are Raft voters, and which of them the leader hears from. */
  voters(): string[];
  reachable(nodeId: string): boolean;
}

/** A node by full ID, unique ID prefix, or hostname — as `docker node inspect` accepts. */
export function resolveNode(store: MemoryStore, ref: string): Node {
  if (!ref) throw new TswarmError('INVALID_ARGUMENT', 'no node given. Name a node by ID, ID prefix or hostname');
  const exact = store.get('node', ref);
  if (exact) return exact;
  const matches = store.list('node', (n) => n.id.startsWith(ref) || n.description?.hostname === ref);
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) throw new TswarmError('NOT_FOUND', `no node "${ref}". List them with \`tswarm node ls\``);
  throw new TswarmError(
    'INVALID_ARGUMENT',
    `"${ref}" matches ${matches.length} nodes (${matches.map((n) => n.id.slice(0, 12)).join(', ')}). Use a longer ID prefix`,
  );
}

export function listNodes(store: MemoryStore, req: ListNodesRequest): Node[] {
  return store
    .list('node', (n) => {
      if (req.names.length > 0 && !req.names.includes(n.description?.hostname ?? '')) return false;
      if (req.idPrefixes.length > 0 && !req.idPrefixes.some((p) => n.id.startsWith(p))) return false;
      if (req.roles.length > 0 && !req.roles.includes(n.role)) return false;
      for (const [k, v] of Object.entries(req.labels)) if (n.spec?.annotations?.labels[k] !== v) return false;
      return true;
    })
    .sort(
      (a, b) =>
        (a.description?.hostname ?? '').localeCompare(b.description?.hostname ?? '') || a.id.localeCompare(b.id),
    );
}

/**
 * Refuses to take a voter away (demote or remove) when the voters left could not form a majority
 * among themselves, counting only those the leader reaches: that change would stall the cluster.
 */
export function checkQuorumAfterRemoving(nodeId: string, quorum: QuorumView, what: string): void {
  const voters = quorum.voters();
  if (!voters.includes(nodeId)) return;
  const remaining = voters.filter((v) => v !== nodeId);
  if (remaining.length === 0)
    throw new TswarmError(
      'FAILED_PRECONDITION',
      `${what} would leave the cluster without a manager. Promote another node first`,
    );
  const reachable = remaining.filter((v) => quorum.reachable(v)).length;
  const needed = Math.floor(remaining.length / 2) + 1;
  if (reachable < needed) {
    throw new TswarmError(
      'FAILED_PRECONDITION',
      `${what} would lose quorum: ${reachable} of the remaining ${remaining.length} managers are reachable and ${needed} are needed. Bring managers back first`,
    );
  }
}

/** `node update`: the spec replaces the node's, checked against the version the caller read. */
export async function updateNode(
  store: Store,
  quorum: QuorumView,
  nodeId: string,
  version: number,
  spec: NodeSpec,
  requestId = '',
): Promise<Node> {
  const node = resolveNode(store.replica, nodeId);
  if (!spec.availability || !Object.values(NodeAvailability).includes(spec.availability)) {
    throw new TswarmError('INVALID_ARGUMENT', 'node availability must be active, pause or drain');
  }
  const role = roleName(spec.desiredRole);
  if (!role) throw new TswarmError('INVALID_ARGUMENT', 'node role must be worker or manager');
  if (spec.desiredRole === NodeRole.NODE_ROLE_WORKER && node.spec?.desiredRole === NodeRole.NODE_ROLE_MANAGER) {
    checkQuorumAfterRemoving(node.id, quorum, `demoting ${node.description?.hostname || node.id}`);
  }
  for (const key of Object.keys(spec.annotations?.labels ?? {})) {
    if (!key || key.length > 256) throw new TswarmError('INVALID_ARGUMENT', `invalid node label key "${key}"`);
  }
  await store.update(
    (tx, s) => {
      const current = s.get('node', node.id)!;
      // The version the caller read (0: "whatever is current") is the one the store checks.
      const read = version === 0 ? current.meta!.version : version;
      tx.update('node', { ...current, meta: { ...current.meta!, version: read }, spec });
    },
    { requestId },
  );
  return store.get('node', node.id)!;
}

export async function removeNode(store: Store, ref: string, force: boolean, requestId = ''): Promise<void> {
  const node = resolveNode(store.replica, ref);
  const name = node.description?.hostname || node.id;
  if (node.role === NodeRole.NODE_ROLE_MANAGER) {
    throw new TswarmError(
      'FAILED_PRECONDITION',
      `node ${name} is a manager. Demote it first with \`tswarm node demote ${name}\``,
    );
  }
  const down = node.status?.state === NodeState.NODE_STATE_DOWN;
  if (!force && !down) {
    throw new TswarmError(
      'FAILED_PRECONDITION',
      `node ${name} is not down and can't be removed. Stop it (or run \`tswarm leave\` on it), or use --force`,
    );
  }
  await store.update(
    (tx, s) => {
      tx.remove('node', s.get('node', node.id)!);
      for (const t of s.tasksOfNode(node.id)) tx.remove('task', t);
    },
    { requestId },
  );
}
