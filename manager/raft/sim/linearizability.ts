/**
 * A linearizability checker in the style of Wing & Gong, with Lowe's memoisation as used by
 * Porcupine (github.com/anishathalye/porcupine): search for an order of the operations that
 * respects real time and the sequential model, caching (set of linearized ops, state) pairs
 * already explored. The history is checked per partition (per key for a KV store): a history
 * is linearizable iff each key's sub-history is, and the search is exponential only in a
 * partition's concurrency.
 *
 * A search that exceeds its step budget answers 'unknown': a caller must treat that as a
 * failure to investigate, never as a pass.
 */
import { assert } from '../../../lib/assert.js';

export interface Model<S, I, O> {
  init(): S;
  /** Whether `output` is a legal result of `input` in state `s`, and the next state. */
  step(s: S, input: I, output: O | undefined): { ok: boolean; next: S };
  /** A string that is equal for equal states (for the memo cache). */
  key(s: S): string;
  /** The partition an operation belongs to (e.g. its key). */
  partition(input: I): string;
}

export interface Operation<I, O> {
  clientId: string;
  input: I;
  /** undefined: the operation never returned (its effect may or may not have happened). */
  output: O | undefined;
  callTime: number;
  /** Infinity when the operation never returned. */
  returnTime: number;
}

export type CheckResult = 'ok' | 'illegal' | 'unknown';

export interface CheckOptions {
  /** Search steps per partition before giving up with 'unknown'. */
  maxStepsPerPartition: number;
  /** Operations per partition at most; longer histories are refused as 'unknown' (the search is exponential). */
  maxOpsPerPartition: number;
}

export const DEFAULT_CHECK_OPTIONS: CheckOptions = { maxStepsPerPartition: 2_000_000, maxOpsPerPartition: 2_000 };

export function checkHistory<S, I, O>(
  model: Model<S, I, O>,
  history: readonly Operation<I, O>[],
  options: CheckOptions = DEFAULT_CHECK_OPTIONS,
): { result: CheckResult; partition?: string } {
  const partitions = new Map<string, Operation<I, O>[]>();
  for (const op of history) {
    assert(op.returnTime > op.callTime, 'linearizability: an operation returns after it is called');
    const p = model.partition(op.input);
    if (!partitions.has(p)) partitions.set(p, []);
    partitions.get(p)!.push(op);
  }
  let sawUnknown: string | undefined;
  for (const [p, ops] of [...partitions].sort(([a], [b]) => a.localeCompare(b))) {
    const result =
      ops.length > options.maxOpsPerPartition ? 'unknown' : checkPartition(model, ops, options.maxStepsPerPartition);
    if (result === 'illegal') return { result, partition: p };
    if (result === 'unknown') sawUnknown ??= p;
  }
  return sawUnknown === undefined ? { result: 'ok' } : { result: 'unknown', partition: sawUnknown };
}

/** A node of the doubly linked list of call and return events, in time order. */
interface Node {
  opId: number;
  isCall: boolean;
  /** For a call: its return node. */
  match: Node | undefined;
  prev: Node | undefined;
  next: Node | undefined;
}

function buildList<I, O>(ops: readonly Operation<I, O>[]): Node {
  const events: { time: number; node: Node }[] = [];
  ops.forEach((op, opId) => {
    const ret: Node = { opId, isCall: false, match: undefined, prev: undefined, next: undefined };
    const call: Node = { opId, isCall: true, match: ret, prev: undefined, next: undefined };
    events.push({ time: op.callTime, node: call }, { time: op.returnTime, node: ret });
  });
  // At equal times a return sorts first: the operations did not overlap.
  events.sort((a, b) => a.time - b.time || Number(a.node.isCall) - Number(b.node.isCall));
  const head: Node = { opId: -1, isCall: false, match: undefined, prev: undefined, next: undefined };
  let last = head;
  for (const { node } of events) {
    last.next = node;
    node.prev = last;
    last = node;
  }
  return head;
}

function unlink(n: Node): void {
  n.prev!.next = n.next;
  if (n.next) n.next.prev = n.prev;
}

function relink(n: Node): void {
  n.prev!.next = n;
  if (n.next) n.next.prev = n;
}

/** Removes a call and its return from the list (the operation is linearized). */
function lift(call: Node): void {
  unlink(call);
  unlink(call.match!);
}

function unlift(call: Node): void {
  relink(call.match!);
  relink(call);
}

function checkPartition<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly Operation<I, O>[],
  maxSteps: number,
): CheckResult {
  const head = buildList(ops);
  const linearized = new Uint8Array(ops.length); // 0/1 per op; its string form keys the cache
  const cache = new Set<string>();
  const stack: { call: Node; state: S }[] = [];
  let state = model.init();
  let entry = head.next;
  for (let steps = 0; head.next !== undefined; steps++) {
    if (steps > maxSteps) return 'unknown';
    assert(entry !== undefined, 'linearizability: the search never runs off the list');
    if (entry.isCall) {
      const op = ops[entry.opId]!;
      const { ok, next } = model.step(state, op.input, op.output);
      if (ok) {
        linearized[entry.opId] = 1;
        const key = `${linearized.join('')}|${model.key(next)}`;
        if (!cache.has(key)) {
          cache.add(key);
          stack.push({ call: entry, state });
          state = next;
          lift(entry);
          entry = head.next;
          continue;
        }
        linearized[entry.opId] = 0;
      }
      entry = entry.next;
      continue;
    }
    // A return whose call is not linearized yet: this branch is dead, backtrack.
    const top = stack.pop();
    if (!top) return 'illegal';
    state = top.state;
    linearized[top.call.opId] = 0;
    unlift(top.call);
    entry = top.call.next;
  }
  return 'ok';
}
