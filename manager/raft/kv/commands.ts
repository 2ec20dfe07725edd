/**
 * Commands of the key-value state machine. Each carries the client's ID and a sequence
 * number: a client retrying a command (after a timeout or a leader change) reuses the number,
 * so the state machine can apply it at most once.
 */
export type KvOp = 'put' | 'get' | 'append' | 'cas';

export interface KvCommand {
  clientId: string;
  /** Increases by one per command of this client; retries reuse it. */
  seq: number;
  op: KvOp;
  key: string;
  value: string;
  /** For cas: the value the key must hold for the swap to happen. */
  expected: string;
}

export interface KvResult {
  /** put/append: always true; cas: whether it swapped. */
  ok: boolean;
  /** get: the value; cas: the value before. Missing keys read as ''. */
  value: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeKvCommand(c: KvCommand): Uint8Array {
  return encoder.encode(JSON.stringify([c.clientId, c.seq, c.op, c.key, c.value, c.expected]));
}

export function decodeKvCommand(data: Uint8Array): KvCommand {
  const [clientId, seq, op, key, value, expected] = JSON.parse(decoder.decode(data)) as [
    string,
    number,
    KvOp,
    string,
    string,
    string,
  ];
  return { clientId, seq, op, key, value, expected };
}
