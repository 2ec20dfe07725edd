import { describe, expect, it } from 'vitest';
import { TswarmError } from '../lib/errors.js';
import { readBarrier } from './read-barrier.js';

describe('readBarrier', () => {
  it('lets the read go on once the ReadIndex is confirmed', async () => {
    let asked = 0;
    await readBarrier(async () => void asked++);
    expect(asked).toBe(1);
  });

  it('says election or lost quorum when the leader cannot confirm the read', async () => {
    for (const cause of [
      new TswarmError('UNAVAILABLE', 'raft: there is no leader right now'),
      new TswarmError('DEADLINE_EXCEEDED', 'raft: read not confirmed within 5000 ms'),
    ]) {
      const err = (await readBarrier(() => Promise.reject(cause)).catch((e: unknown) => e)) as TswarmError;
      expect(err.code).toBe('UNAVAILABLE');
      expect(err.message).toContain(cause.message);
      expect(err.message).toMatch(/being elected.*lost quorum/);
    }
  });

  it('passes other refusals through unchanged', async () => {
    const overloaded = new TswarmError('RESOURCE_EXHAUSTED', 'raft: 10000 reads already waiting');
    await expect(readBarrier(() => Promise.reject(overloaded))).rejects.toBe(overloaded);
  });
});
