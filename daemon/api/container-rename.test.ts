import { describe, expect, it } from 'vitest';
import { thrownCode } from '../../lib/testing/error-codes.js';
import { renameTarget } from './container-rename.js';

describe('renameTarget: the new name of a rename, checked as dockerd does', () => {
  it("takes Docker's names, dropping a leading slash and surrounding spaces", () => {
    expect(renameTarget('web-2')).toBe('web-2');
    expect(renameTarget('/web_2.old')).toBe('web_2.old');
    expect(renameTarget('  db1 ')).toBe('db1');
    expect(renameTarget('0a')).toBe('0a');
  });

  it('refuses an empty name in dockerd’s words (400)', () => {
    for (const raw of [null, '', '   ', '/'])
      expect(() => renameTarget(raw)).toThrow('Neither old nor new names may be empty');
    expect(thrownCode(() => renameTarget(''))).toBe('INVALID_ARGUMENT');
  });

  it('refuses what Docker’s pattern refuses: one character, a leading symbol, spaces, slashes, other characters', () => {
    for (const bad of ['a', '-web', '.web', '_web', 'we b', 'a/b', 'wéb', 'web!', '//web'])
      expect(
        thrownCode(() => renameTarget(bad)),
        bad,
      ).toBe('INVALID_ARGUMENT');
    expect(() => renameTarget('web!')).toThrow(
      'Invalid container name (/web!), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed',
    );
    expect(() => renameTarget('x'.repeat(300))).toThrow(/too long/);
  });
});
