import { describe, expect, it } from 'vitest';
import type { PeerCertificate } from 'node:tls';
import type { ServerReadableStream } from '@grpc/grpc-js';
import { raftSenderAuthorizer } from './raft-sender.js';

function call(subject?: Record<string, string>): ServerReadableStream<unknown, unknown> {
  return {
    getAuthContext: () => ({ sslPeerCertificate: subject ? ({ subject } as unknown as PeerCertificate) : undefined }),
  } as unknown as ServerReadableStream<unknown, unknown>;
}

describe('raftSenderAuthorizer', () => {
  const authorize = raftSenderAuthorizer('c1');

  it('accepts a manager of this cluster speaking for itself', () => {
    expect(authorize(call({ CN: 'm1', OU: 'tswarm-manager', O: 'c1' }), 'm1')).toBe(true);
  });

  it('refuses a sender claiming another member, a worker, another cluster, or no certificate', () => {
    expect(authorize(call({ CN: 'm1', OU: 'tswarm-manager', O: 'c1' }), 'm2')).toBe(false);
    expect(authorize(call({ CN: 'w1', OU: 'tswarm-worker', O: 'c1' }), 'w1')).toBe(false);
    expect(authorize(call({ CN: 'm1', OU: 'tswarm-manager', O: 'other' }), 'm1')).toBe(false);
    expect(authorize(call(), 'm1')).toBe(false);
  });
});
