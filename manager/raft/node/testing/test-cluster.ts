/**
 * Test helpers: in-process members on 127.0.0.1, each with a real DiskStorage in a temp dir, a
 * KV state machine and its own gRPC server on a port that stays the same across restarts.
 */
import { credentials, Server } from '@grpc/grpc-js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../../../../lib/poll.js';
import { encodeKvCommand, type KvResult } from '../../kv/commands.js';
import { KvStateMachine } from '../../kv/kv-state-machine.js';
import { listenLoopback, unusedPort } from '../../transport/testing/grpc-servers.js';
import type { NodeId } from '../../core/types.js';
import { RaftNode, type RaftNodeOptions } from '../raft-node.js';

export interface Member {
  id: NodeId;
  node: RaftNode<KvResult>;
  sm: KvStateMachine;
  server: Server;
}

type Extra = Partial<Omit<RaftNodeOptions<KvResult>, 'id' | 'raftDir' | 'members' | 'stateMachine' | 'credentials'>>;

export class TestCluster {
  readonly members = new Map<NodeId, Member>();
  /** Told of every member's onRoleChange, with the member (as a manager's Leadership would be). */
  roleObserver:
    ((member: { id: NodeId; sm: KvStateMachine }, role: { leading: boolean; term: number }) => void) | undefined;

  private constructor(
    readonly rootDir: string,
    readonly addresses: Map<NodeId, string>,
    private readonly extra: Extra,
  ) {}

  static async create(ids: NodeId[], extra: Extra = {}): Promise<TestCluster> {
    const rootDir = await mkdtemp(join(tmpdir(), 'tswarm-raft-node-'));
    const addresses = new Map<NodeId, string>();
    for (const id of ids) addresses.set(id, `127.0.0.1:${await unusedPort()}`);
    return new TestCluster(rootDir, addresses, extra);
  }

  /** Starts a member; `joining` for one added by a conf change (it gets the state from the leader). */
  async start(id: NodeId, joining = false): Promise<Member> {
    if (!this.addresses.has(id)) this.addresses.set(id, `127.0.0.1:${await unusedPort()}`);
    const sm = new KvStateMachine();
    const node = await RaftNode.start<KvResult>({
      id,
      raftDir: join(this.rootDir, id),
      members: this.addresses,
      stateMachine: sm,
      credentials: credentials.createInsecure(),
      tickMs: 20, // 10x faster than production, so elections take 200-400 ms
      join: joining,
      ...this.extra,
      onRoleChange: (role) => {
        this.extra.onRoleChange?.(role);
        this.roleObserver?.({ id, sm }, role);
      },
    });
    const server = new Server();
    node.registerService(server);
    try {
      await listenLoopback(server, Number(this.addresses.get(id)!.split(':')[1]));
    } catch (err) {
      await node.stop();
      throw err;
    }
    const m = { id, node, sm, server };
    this.members.set(id, m);
    return m;
  }

  async startAll(): Promise<void> {
    for (const id of this.addresses.keys()) await this.start(id);
  }

  async stopMember(id: NodeId): Promise<void> {
    const m = this.members.get(id);
    if (!m) return;
    this.members.delete(id);
    await m.node.stop();
    // Peers' streams into this server stay open; a stopped member just drops them.
    m.server.forceShutdown();
  }

  /** The one member all running members agree leads. */
  async leader(timeoutMs = 10_000): Promise<Member> {
    return waitFor(
      () => {
        const running = [...this.members.values()];
        const leaders = running.filter((m) => m.node.status().role === 'leader');
        if (leaders.length !== 1) return undefined;
        const id = leaders[0]!.id;
        return running.every((m) => m.node.status().leader === id) ? leaders[0] : undefined;
      },
      { what: 'one leader all members agree on', timeoutMs, intervalMs: 20 },
    );
  }

  async waitApplied(index: number, timeoutMs = 10_000): Promise<void> {
    await waitFor(() => [...this.members.values()].every((m) => m.node.status().applied >= index), {
      what: `every running member applied ${index}`,
      timeoutMs,
      intervalMs: 20,
    });
  }

  async destroy(): Promise<void> {
    for (const id of [...this.members.keys()]) await this.stopMember(id).catch(() => undefined);
    await rm(this.rootDir, { recursive: true, force: true });
  }
}

export function put(clientId: string, seq: number, key: string, value: string): Uint8Array {
  return encodeKvCommand({ clientId, seq, op: 'put', key, value, expected: '' });
}
