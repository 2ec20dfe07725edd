import { describe, expect, it } from 'vitest';
import { Message as WireMessage, StreamMessagesRequest } from '../../../gen/tswarm/v1/raft.js';
import { newMessage, type Message } from '../core/messages.js';
import { messageFromWire, messageToWire } from './codec.js';

/** Through the codec and the protobuf bytes, as a message really travels. */
function roundTrip(m: Message, snapshotData?: Uint8Array): Message {
  const bytes = StreamMessagesRequest.encode({ messages: [messageToWire(m)] }).finish();
  const [wire] = StreamMessagesRequest.decode(bytes).messages;
  return messageFromWire(wire!, snapshotData);
}

// Buffers (what protobuf decodes bytes to) and Uint8Arrays compare by content.
const plain = (m: Message): unknown =>
  JSON.parse(
    JSON.stringify(m, (_k, v: unknown) => {
      if (v instanceof Uint8Array) return [...v];
      if (typeof v === 'object' && v !== null && (v as { type?: unknown }).type === 'Buffer')
        return (v as { data: number[] }).data;
      return v;
    }),
  );

describe('raft transport codec', () => {
  it('round-trips an append with entries of both types', () => {
    const m = newMessage({
      type: 'MsgApp',
      from: 'n1',
      to: 'n2',
      term: 7,
      logTerm: 6,
      index: 41,
      commit: 40,
      entries: [
        { term: 7, index: 42, type: 'normal', data: new Uint8Array([1, 2, 3]) },
        { term: 7, index: 43, type: 'confChange', data: new TextEncoder().encode('{"type":"remove"}') },
        { term: 7, index: 44, type: 'normal', data: new Uint8Array() },
      ],
    });
    expect(plain(roundTrip(m))).toEqual(plain(m));
  });

  it('round-trips every network message type with its fields', () => {
    for (const type of [
      'MsgAppResp',
      'MsgVote',
      'MsgVoteResp',
      'MsgPreVote',
      'MsgPreVoteResp',
      'MsgHeartbeat',
      'MsgHeartbeatResp',
      'MsgTimeoutNow',
      'MsgReadIndex',
      'MsgReadIndexResp',
      'MsgProp',
      'MsgTransferLeader',
    ] as const) {
      const m = newMessage({
        type,
        from: 'a',
        to: 'b',
        term: 3,
        index: 9,
        logTerm: 2,
        reject: true,
        rejectHint: 5,
        context: 'ctx-é',
        commit: 8,
      });
      expect(plain(roundTrip(m))).toEqual(plain(m));
    }
  });

  it('carries a snapshot message as metadata, with the data supplied apart', () => {
    const data = new Uint8Array([9, 8, 7]);
    const m = newMessage({
      type: 'MsgSnap',
      from: 'n1',
      to: 'n3',
      term: 4,
      snapshot: {
        metadata: { index: 100, term: 4, confState: { voters: ['n1', 'n2', 'n3'], learners: ['n4'] } },
        data,
      },
    });
    const wire = messageToWire(m);
    expect(WireMessage.encode(wire).finish().length).toBeLessThan(100); // the data is not inside
    expect(plain(roundTrip(m, data))).toEqual(plain(m));
  });

  it('refuses local message types in both directions', () => {
    expect(() => messageToWire(newMessage({ type: 'MsgHup' }))).toThrow(/local/);
    expect(() => messageFromWire({ ...messageToWire(newMessage({ type: 'MsgApp' })), type: 10 })).toThrow(
      /not accepted/,
    );
  });
});
