import type { StreamSink } from '../grpc.js';

/**
 * A server stream's receiving end without sockets, for handlers' tests: what was written, a way
 * to hang up, and a way to stop reading (a reader that fell behind).
 */
export function collector<T>() {
  const messages: T[] = [];
  const hangUp = new AbortController();
  let gate: Promise<void> = Promise.resolve();
  const sink: StreamSink<T> = {
    signal: hangUp.signal,
    write: async (m) => {
      await gate;
      messages.push(m);
    },
  };
  return {
    sink,
    messages,
    hangUp: () => hangUp.abort(),
    /** Holds every write until the returned function is called: a reader that stopped reading. */
    stall: () => {
      let release!: () => void;
      gate = new Promise((r) => (release = r));
      return () => release();
    },
  };
}
