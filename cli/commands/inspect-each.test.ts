import { describe, expect, it } from 'vitest';
import { TswarmError } from '../../lib/errors.js';
import { inspectEach } from './inspect-each.js';

describe('inspect of several names, as docker inspect', () => {
  const fetch = async (ref: string) => {
    if (ref.startsWith('no')) throw new TswarmError('NOT_FOUND', `no such image: ${ref}`);
    return { Id: ref };
  };

  it('shows what was found, says each failure but the last on stderr, and fails with the last', async () => {
    let shown: unknown;
    let warned = '';
    const done = inspectEach(
      ['a', 'no1', 'b', 'no2'],
      fetch,
      (found) => (shown = found),
      (t) => (warned += t),
    );
    await expect(done).rejects.toThrow('no such image: no2');
    expect(shown).toEqual([{ Id: 'a' }, { Id: 'b' }]);
    expect(warned).toBe('Error: no such image: no1.\n');
  });

  it('shows [] when nothing was found', async () => {
    let shown: unknown;
    await expect(
      inspectEach(
        ['no1'],
        fetch,
        (found) => (shown = found),
        () => undefined,
      ),
    ).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    expect(shown).toEqual([]);
    await inspectEach(['a'], fetch, (found) => (shown = found));
    expect(shown).toEqual([{ Id: 'a' }]);
  });
});
