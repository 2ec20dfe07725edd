import { describe, expect, it } from 'vitest';
import { TswarmError } from '../../lib/errors.js';
import { rejectedCode } from '../../lib/testing/error-codes.js';
import { eachRef } from './each-ref.js';

describe('a command over several names, as docker volume rm / node rm', () => {
  const remove = async (ref: string) => {
    if (ref.startsWith('no')) throw new TswarmError('NOT_FOUND', `no such volume: ${ref}`);
  };

  it('tries every name after a failure, printing each that succeeded', async () => {
    let out = '';
    const done = eachRef(['a', 'no1', 'b'], 'volumes', remove, (t) => (out += t));
    await expect(done).rejects.toThrow(/^no such volume: no1$/);
    expect(out).toBe('a\nb\n');
  });

  it('keeps a single failure as it is, and names each of several', async () => {
    expect(await rejectedCode(eachRef(['no1'], 'volumes', remove, () => undefined))).toBe('NOT_FOUND');
    const several = eachRef(['no1', 'ok', 'no2'], 'volumes', remove, () => undefined);
    await expect(several).rejects.toThrow('2 volumes failed: no1: no such volume: no1; no2: no such volume: no2');
  });

  it('prints the line the action returns instead of the name', async () => {
    let out = '';
    await eachRef(
      ['w1'],
      'nodes',
      async () => 'Node w1 promoted to a manager in the swarm.',
      (t) => (out += t),
    );
    expect(out).toBe('Node w1 promoted to a manager in the swarm.\n');
  });
});
