/** One KV member: a Raft node with the KV state machine, and the gRPC server(s) it answers on. */
import { credentials as grpcCredentials, Server, ServerCredentials, type ChannelCredentials } from '@grpc/grpc-js';
import { join } from 'node:path';
import { TswarmError } from '../../../lib/errors.js';
import type { Logger } from '../../../lib/log.js';
import type { KvResult } from '../../../manager/raft/kv/commands.js';
import { KvStateMachine } from '../../../manager/raft/kv/kv-state-machine.js';
import { RaftNode, type RaftNodeOptions } from '../../../manager/raft/node/raft-node.js';
import type { NodeId } from '../../../manager/raft/core/types.js';
import { createKvService, KvServiceDefinition } from './service.js';

export interface KvMemberOptions {
  id: NodeId;
  dataDir: string;
  /** host:port for Raft traffic (and the KV service unless clientListen is given). */
  listen: string;
  clientListen?: string;
  /** Every member's Raft address, this one included. */
  peers: ReadonlyMap<NodeId, string>;
  credentials?: ChannelCredentials;
  serverCredentials?: ServerCredentials;
  logger?: Logger;
  node?: Partial<RaftNodeOptions<KvResult>>;
}

export interface KvMember {
  node: RaftNode<KvResult>;
  sm: KvStateMachine;
  stop(): Promise<void>;
}

/** Channelz keeps per-call statistics nobody reads here; off, it saves CPU on every request. */
export const SERVER_OPTIONS = { 'grpc.enable_channelz': 0 };

function bind(server: Server, addr: string, creds: ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(addr, creds, (err, port) =>
      err
        ? reject(
            new TswarmError('UNAVAILABLE', `kv: cannot listen on ${addr}: ${err.message}. Choose a free address`, {
              cause: err,
            }),
          )
        : resolve(port),
    );
  });
}

export async function startKvMember(o: KvMemberOptions): Promise<KvMember> {
  const sm = new KvStateMachine();
  const node = await RaftNode.start<KvResult>({
    ...o.node,
    id: o.id,
    raftDir: join(o.dataDir, 'raft'),
    members: o.peers,
    stateMachine: sm,
    credentials: o.credentials ?? grpcCredentials.createInsecure(),
    ...(o.logger ? { logger: o.logger } : {}),
  });
  const serverCreds = o.serverCredentials ?? ServerCredentials.createInsecure();
  const servers: Server[] = [];
  const stop = async () => {
    await node.stop();
    for (const s of servers) s.forceShutdown();
  };
  try {
    const raftServer = new Server(SERVER_OPTIONS);
    servers.push(raftServer);
    node.registerService(raftServer);
    let kvServer = raftServer;
    if (o.clientListen !== undefined) {
      kvServer = new Server(SERVER_OPTIONS);
      servers.push(kvServer);
    }
    kvServer.addService(KvServiceDefinition, createKvService(node, sm));
    await bind(raftServer, o.listen, serverCreds);
    if (o.clientListen !== undefined) await bind(kvServer, o.clientListen, serverCreds);
  } catch (err) {
    await stop();
    throw err;
  }
  return { node, sm, stop };
}
