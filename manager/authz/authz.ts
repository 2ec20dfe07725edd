import type {
  Metadata,
  handleClientStreamingCall,
  handleServerStreamingCall,
  handleUnaryCall,
  sendUnaryData,
  ServerReadableStream,
  ServerUnaryCall,
  ServerWritableStream,
  UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import { TswarmError, toServiceError } from '../../lib/errors.js';
import { peerIdentityOf } from '../../lib/tls.js';
import { certificateRevoked, peerSerial, REVOKED_MAY_CALL } from './revocation.js';

/**
 * Who may call what. Every method of every network-facing service declares its allowed roles once,
 * next to the service (SwarmKit's pattern), and this module enforces it from the caller's verified
 * certificate: the node ID is the certificate's CN, and the role is the one the *store* holds for
 * that node — not the certificate's OU — so a demoted node loses manager powers at once and a
 * removed node is refused while its certificate is still valid.
 */
export type Role = 'manager' | 'worker';
export type Allowed = 'anonymous' | Role;

export type Caller = { kind: 'anonymous' } | { kind: 'node'; nodeId: string; role: Role };

export interface MembershipView {
  clusterId(): string;
  /** The role the store holds for a node, or undefined when it is not (or no longer) a member. */
  roleOf(nodeId: string): Role | undefined;
  /** Whether the store revoked this certificate serial (normalized: revocation.ts) of this node. */
  isRevoked(nodeId: string, serial: string): boolean;
}

type AuthCall = {
  getAuthContext(): { sslPeerCertificate?: PeerCertificate } | null;
  getPeer(): string;
  metadata?: Metadata;
};

/**
 * A follower forwarding a call to the leader names the original caller here ("anonymous" or a
 * node ID). Only a caller that is itself a manager is believed, so no one else can claim to be
 * someone they are not.
 */
export const FORWARDED_FOR_METADATA_KEY = 'tswarm-forwarded-for';

/**
 * Who is calling: the certificate's node, with the role the store holds for it. `method` names the
 * call (Service.method): a revoked certificate may call only REVOKED_MAY_CALL (revocation.ts).
 */
export function identifyCaller(call: AuthCall, membership: MembershipView, method = ''): Caller {
  const direct = identifyDirectCaller(call, membership, method);
  const forwarded = call.metadata?.get(FORWARDED_FOR_METADATA_KEY)[0];
  if (typeof forwarded !== 'string' || forwarded === '') return direct;
  if (direct.kind !== 'node' || direct.role !== 'manager') {
    throw new TswarmError('PERMISSION_DENIED', 'only managers may forward calls on behalf of others');
  }
  if (forwarded === 'anonymous') return { kind: 'anonymous' };
  const role = membership.roleOf(forwarded);
  if (!role) throw nodeRemoved(forwarded);
  return { kind: 'node', nodeId: forwarded, role };
}

/**
 * A certificate of this cluster whose node the store does not hold: the CA records every node it
 * issues for, so the node was removed. Its own code, so the node recognises the verdict (and stops).
 */
function nodeRemoved(nodeId: string): TswarmError {
  return new TswarmError(
    'NODE_REMOVED',
    `node ${nodeId} is not a member of this cluster (it was removed). Run \`tswarm leave --force\` on it, then join again with a new token`,
  );
}

function identifyDirectCaller(call: AuthCall, membership: MembershipView, method: string): Caller {
  const cert = call.getAuthContext()?.sslPeerCertificate;
  const peer = peerIdentityOf(cert);
  if (!peer) return { kind: 'anonymous' };
  if (peer.clusterId !== membership.clusterId()) {
    throw new TswarmError(
      'PERMISSION_DENIED',
      `the caller's certificate belongs to another cluster (${peer.clusterId}). Leave that cluster before joining this one`,
    );
  }
  const role = membership.roleOf(peer.nodeId);
  if (!role) throw nodeRemoved(peer.nodeId);
  // After the role: a removed node's certificate is refused as removed, whatever its serial.
  const serial = peerSerial(cert);
  if (serial !== undefined && membership.isRevoked(peer.nodeId, serial) && !REVOKED_MAY_CALL.has(method))
    throw certificateRevoked(peer.nodeId, serial);
  return { kind: 'node', nodeId: peer.nodeId, role };
}

export function checkAllowed(caller: Caller, allowed: readonly Allowed[], method: string): void {
  const as: Allowed = caller.kind === 'anonymous' ? 'anonymous' : caller.role;
  if (allowed.includes(as)) return;
  if (caller.kind === 'anonymous')
    throw new TswarmError(
      'UNAUTHENTICATED',
      `${method} needs a node certificate of this cluster. Join the cluster first`,
    );
  if (caller.role === 'worker' && allowed.includes('manager'))
    throw new TswarmError('NOT_A_MANAGER', `${method} is for managers, and node ${caller.nodeId} is a worker`);
  throw new TswarmError('PERMISSION_DENIED', `${method} may not be called by a ${caller.role}`);
}

export type SecureUnary<Req, Res> = (request: Req, caller: Caller, call: ServerUnaryCall<Req, Res>) => Promise<Res>;
export type SecureStream<Req, Res> = (
  request: Req,
  caller: Caller,
  call: ServerWritableStream<Req, Res>,
) => Promise<void>;

export function secureUnary<Req, Res>(
  method: string,
  allowed: readonly Allowed[],
  membership: MembershipView,
  handler: SecureUnary<Req, Res>,
): handleUnaryCall<Req, Res> {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    const run = async () => {
      const caller = identifyCaller(call, membership, method);
      checkAllowed(caller, allowed, method);
      return await handler(call.request, caller, call);
    };
    run().then(
      (res) => callback(null, res),
      (err: unknown) => callback(toServiceError(err)),
    );
  };
}

export function secureServerStream<Req, Res>(
  method: string,
  allowed: readonly Allowed[],
  membership: MembershipView,
  handler: SecureStream<Req, Res>,
): handleServerStreamingCall<Req, Res> {
  return (call: ServerWritableStream<Req, Res>) => {
    const run = async () => {
      const caller = identifyCaller(call, membership, method);
      checkAllowed(caller, allowed, method);
      await handler(call.request, caller, call);
    };
    run().then(
      () => call.end(),
      // emit('error') sends the status to the client; destroy() would leave it waiting forever.
      (err: unknown) => call.emit('error', Object.assign(new Error((err as Error).message), toServiceError(err))),
    );
  };
}

export type SecureClientStream<Req, Res> = (
  requests: AsyncIterable<Req>,
  caller: Caller,
  call: ServerReadableStream<Req, Res>,
) => Promise<Res>;

/**
 * A client stream (PublishLogs), authorized as a unary call is: before its first message is read.
 * The handler reads the messages as an async iterable, so a slow handler slows the sender.
 */
export function secureClientStream<Req, Res>(
  method: string,
  allowed: readonly Allowed[],
  membership: MembershipView,
  handler: SecureClientStream<Req, Res>,
): handleClientStreamingCall<Req, Res> {
  return (call: ServerReadableStream<Req, Res>, callback: sendUnaryData<Res>) => {
    const run = async () => {
      const caller = identifyCaller(call, membership, method);
      checkAllowed(caller, allowed, method);
      return await handler(call as AsyncIterable<Req>, caller, call);
    };
    run().then(
      (res) => callback(null, res),
      (err: unknown) => callback(toServiceError(err)),
    );
  };
}

/** A service's policy: every method named, none forgotten (the type requires all keys). */
export type Policy<S> = { readonly [K in keyof S]: readonly Allowed[] };

/** Asserts at start-up that an implementation has a policy entry for each of its methods. */
export function assertPolicyCovers(
  impl: UntypedServiceImplementation,
  policy: Record<string, readonly Allowed[]>,
  service: string,
): void {
  for (const method of Object.keys(impl)) {
    if (!policy[method]) throw new Error(`${service}.${method} has no authorization policy`);
  }
}
