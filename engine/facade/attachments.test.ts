import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log.js';
import { waitFor } from '../../lib/poll.js';
import type { ContainerNetworking } from '../network-contract.js';
import type { ContainerRuntime } from '../runtime/runtime.js';
import { Attachments } from './attachments.js';
import { LABEL_ATTACHMENT } from './labels.js';

/** A runtime holding one created container whose attachment is `att-<id>`. */
function fakeRuntime(status: { value: string }) {
  const container = (id: string) => ({
    id,
    labels: { [LABEL_ATTACHMENT]: `att-${id}` },
    state: { status: status.value },
  });
  return {
    list: () => [container('c1')],
    inspect: (id: string) => ({ container: container(id), config: { networkMode: 'none' } }),
  } as unknown as ContainerRuntime;
}

function countingNetworking(calls: string[]): ContainerNetworking {
  return {
    attach: (id: string) => (
      calls.push(`attach ${id}`),
      Promise.resolve({ netnsPath: '', ip: '', resolvConf: '', ports: [] })
    ),
    detach: (id: string) => (calls.push(`detach ${id}`), Promise.resolve()),
    reconcile: () => Promise.resolve(),
  } as unknown as ContainerNetworking;
}

describe('a created container’s network attachment', () => {
  it('is kept for a start that follows within the hold, let go after it, and at once when it publishes ports', async () => {
    const calls: string[] = [];
    const status = { value: 'created' };
    const a = new Attachments(countingNetworking(calls), fakeRuntime(status), silentLogger(), undefined, 50);
    try {
      // Published ports: let go at once, as Docker's created container holds no host port.
      await a.keepAfterCreate('c1', { publishesPorts: true, startsNext: false });
      expect(calls).toEqual(['detach att-c1']);
      calls.length = 0;

      const b = new Attachments(countingNetworking(calls), fakeRuntime(status), silentLogger(), undefined, 50);
      await b.keepAfterCreate('c1', { publishesPorts: false, startsNext: false });
      expect(calls).toEqual([]);
      await waitFor(() => calls.length === 1, { what: 'let go after the hold', timeoutMs: 5_000, intervalMs: 10 });
      expect(calls).toEqual(['detach att-c1']);
      b.close();

      // A start within the hold takes it over: nothing is let go.
      calls.length = 0;
      const told: string[] = [];
      const c = new Attachments(
        countingNetworking(calls),
        fakeRuntime(status),
        silentLogger(),
        (action, id) => told.push(`${action} ${id}`),
        50,
      );
      await c.keepAfterCreate('c1', { publishesPorts: false, startsNext: false });
      c.takeOverAtStart('c1', 'none');
      expect(told).toEqual(['connect c1']); // joined its network at the start, as Docker tells it
      await new Promise((resolve) => setTimeout(resolve, 150)); // three holds' worth: no timer is left to fire
      expect(calls).toEqual([]);

      // Started and already gone by the time the hold ends: not let go by the hold either.
      status.value = 'exited';
      await c.keepAfterCreate('c1', { publishesPorts: false, startsNext: false });
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(calls).toEqual([]);
      // A task agent's create-then-start keeps it with no timer, and its start tells the connect.
      await c.keepAfterCreate('c2', { publishesPorts: true, startsNext: true });
      c.takeOverAtStart('c2', 'bridge');
      expect(told).toEqual(['connect c1', 'connect c2']);
      expect(calls).toEqual([]);
      c.close();
    } finally {
      a.close();
    }
  });
});
