/**
 * A small key-value state machine with client sessions (Raft thesis §6.3): for each client,
 * the last sequence number applied and its result. A command whose sequence number was
 * already applied is not applied again; its recorded result is returned instead. The session
 * table is part of the snapshot, so deduplication survives restarts and snapshot installs.
 */
import { assert } from '../../../lib/assert.js';
import type { StateMachine } from '../core/state-machine.js';
import { decodeKvCommand, type KvCommand, type KvResult } from './commands.js';

interface Session {
  lastSeq: number;
  lastResult: KvResult;
  /** Raft index of the last command applied, to evict the least recently active session. */
  lastIndex: number;
}

export class KvStateMachine implements StateMachine<KvResult> {
  private data = new Map<string, string>();
  private sessions = new Map<string, Session>();

  /**
   * @param maxSessions clients remembered at most; beyond it the least recently active one is
   *   forgotten (deterministically, so every member forgets the same one). A forgotten client
   *   must not retry old commands: it should start over with a new client ID.
   */
  constructor(readonly maxSessions = 10_000) {}

  apply(index: number, data: Uint8Array): KvResult {
    const cmd = decodeKvCommand(data);
    const session = this.sessions.get(cmd.clientId);
    if (session && cmd.seq <= session.lastSeq) {
      // A retry of the last command gets its result; older ones are long answered (the
      // client has moved on), so what they get does not matter.
      return cmd.seq === session.lastSeq ? session.lastResult : { ok: false, value: '' };
    }
    const result = this.execute(cmd);
    this.sessions.delete(cmd.clientId); // re-insert: Map order is then least recently active first
    this.sessions.set(cmd.clientId, { lastSeq: cmd.seq, lastResult: result, lastIndex: index });
    if (this.sessions.size > this.maxSessions) this.sessions.delete(this.sessions.keys().next().value!);
    return result;
  }

  private execute(cmd: KvCommand): KvResult {
    const current = this.data.get(cmd.key) ?? '';
    switch (cmd.op) {
      case 'get':
        return { ok: true, value: current };
      case 'put':
        this.data.set(cmd.key, cmd.value);
        return { ok: true, value: '' };
      case 'append':
        this.data.set(cmd.key, current + cmd.value);
        return { ok: true, value: '' };
      case 'cas':
        if (current !== cmd.expected) return { ok: false, value: current };
        this.data.set(cmd.key, cmd.value);
        return { ok: true, value: current };
    }
  }

  /** A local read (for ReadIndex reads, once applied up to the read index). */
  get(key: string): string {
    return this.data.get(key) ?? '';
  }

  snapshot(): Uint8Array {
    const state = { data: [...this.data], sessions: [...this.sessions] };
    return new TextEncoder().encode(JSON.stringify(state));
  }

  restore(bytes: Uint8Array): void {
    if (bytes.length === 0) {
      this.data = new Map();
      this.sessions = new Map();
      return;
    }
    const state = JSON.parse(new TextDecoder().decode(bytes)) as {
      data: [string, string][];
      sessions: [string, Session][];
    };
    assert(Array.isArray(state.data) && Array.isArray(state.sessions), 'kv: a snapshot holds data and sessions');
    this.data = new Map(state.data);
    this.sessions = new Map(state.sessions);
  }
}
