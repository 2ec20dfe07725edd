/**
 * What a Raft snapshot holds beyond the state machine: the address book, so a member restarted
 * from a snapshot (or installing one) can still dial members added by conf changes it no longer
 * has in its log. Layout: u32 length of the address book JSON, the JSON, then the state machine's
 * own snapshot bytes.
 */
import { TswarmError } from '../../../lib/errors.js';
import type { NodeId } from '../core/types.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeSnapshotData(addresses: ReadonlyMap<NodeId, string>, stateMachineData: Uint8Array): Uint8Array {
  const book = encoder.encode(JSON.stringify([...addresses]));
  const out = new Uint8Array(4 + book.length + stateMachineData.length);
  new DataView(out.buffer).setUint32(0, book.length);
  out.set(book, 4);
  out.set(stateMachineData, 4 + book.length);
  return out;
}

export function decodeSnapshotData(data: Uint8Array): { addresses: Map<NodeId, string>; stateMachineData: Uint8Array } {
  if (data.length === 0) return { addresses: new Map(), stateMachineData: data };
  const bookBytes = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0);
  if (4 + bookBytes > data.length)
    throw new TswarmError('INTERNAL', 'raft snapshot: the address book runs past the end of the data');
  const book = JSON.parse(decoder.decode(data.subarray(4, 4 + bookBytes))) as [NodeId, string][];
  return { addresses: new Map(book), stateMachineData: data.subarray(4 + bookBytes) };
}
