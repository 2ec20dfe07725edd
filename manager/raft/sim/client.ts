/**
 * Simulated KV clients. A client has one operation outstanding at a time; it sends it to some
 * member (followers forward proposals and reads to the leader), and when no answer comes in
 * time it retries elsewhere with the same sequence number, so a retried write applies once.
 * Reads go either through the log (a get command) or through ReadIndex.
 */
import type { Random } from '../../../lib/random.js';
import type { KvCommand } from '../kv/commands.js';
import type { KvInput, KvOutput } from './kv-model.js';
import type { Operation } from './linearizability.js';

export interface Outstanding {
  seq: number;
  input: KvInput;
  viaReadIndex: boolean;
  callTime: number;
  /** Tick at which the current attempt is abandoned. */
  deadline: number;
  attempt: number;
  nodeId: string;
}

export const KEYS = ['a', 'b', 'c'];

export class SimClient {
  seq = 0;
  outstanding: Outstanding | undefined;
  completed = 0;

  constructor(readonly id: string) {}

  newOperation(random: Random, callTime: number): Outstanding {
    const key = KEYS[random.int(KEYS.length)]!;
    const kind = random.int(10);
    this.seq++;
    let input: KvInput;
    if (kind < 4) input = { op: 'get', key, value: '' };
    else if (kind < 6) input = { op: 'put', key, value: `${this.id}.${this.seq};` };
    else input = { op: 'append', key, value: `${this.id}.${this.seq};` };
    this.outstanding = {
      seq: this.seq,
      input,
      viaReadIndex: input.op === 'get' && random.int(2) === 0,
      callTime,
      deadline: 0,
      attempt: 0,
      nodeId: '',
    };
    return this.outstanding;
  }

  command(o: Outstanding): KvCommand {
    return { clientId: this.id, seq: o.seq, op: o.input.op, key: o.input.key, value: o.input.value, expected: '' };
  }

  readCtx(o: Outstanding): string {
    return `${this.id}/${o.seq}/${o.attempt}`;
  }

  /** Completes the outstanding operation; returns its history record. */
  complete(output: KvOutput, returnTime: number): Operation<KvInput, KvOutput> {
    const o = this.outstanding!;
    this.outstanding = undefined;
    this.completed++;
    return { clientId: this.id, input: o.input, output, callTime: o.callTime, returnTime };
  }
}
