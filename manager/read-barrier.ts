import { asTswarmError, TswarmError } from '../lib/errors.js';

/**
 * A read of the control API is served by the manager that receives it, from its own copy of the
 * store, once a Raft ReadIndex has confirmed (with the leader's quorum) that the copy holds every
 * write committed before the read began: linearizable without a trip through the log, and
 * without loading the leader with every `node ls`. When it cannot be confirmed, the caller is
 * told why in the words the operator needs (an election, or a lost quorum).
 */
export async function readBarrier(readIndex: () => Promise<void>): Promise<void> {
  try {
    await readIndex();
  } catch (err) {
    const e = asTswarmError(err);
    if (e.code !== 'UNAVAILABLE' && e.code !== 'DEADLINE_EXCEEDED') throw e;
    throw new TswarmError(
      'UNAVAILABLE',
      `this manager could not confirm with a majority of managers that its copy of the cluster state is current (${e.message}). If a new leader is being elected, retry shortly; if a majority of managers is down, the cluster has lost quorum — see “Recovering from a lost quorum” in the README`,
      { cause: err },
    );
  }
}
