import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../lib/random.js';
import { createRootCA } from '../manager/ca/root-ca.js';
import { caBundleDigest, createJoinToken, parseJoinToken, sameSecret } from './join-token.js';

describe('join tokens', () => {
  it('round-trips and pins the CA digest', async () => {
    const ca = await createRootCA();
    const token = createJoinToken(caBundleDigest(ca.certPem));
    expect(token.text).toMatch(/^TSWTKN-1-[0-9a-z]{50}-[0-9a-z]{25}-[0-9a-z]{4}$/);
    const parsed = parseJoinToken(`  ${token.text}\n`);
    expect(parsed.caDigest.equals(caBundleDigest(ca.certPem))).toBe(true);
    expect(sameSecret(parsed, token)).toBe(true);
    expect(sameSecret(parsed, createJoinToken(parsed.caDigest))).toBe(false);
  });

  it('catches every single-character typo and truncation locally', () => {
    const token = createJoinToken(Buffer.alloc(32, 7), new SeededRandom(1)).text;
    const alphabet = '0123456789abcdefghijklmnopqrstuvwxyz';
    for (let i = 9; i < token.length; i++) {
      if (token[i] === '-') continue;
      const replacement = alphabet[(alphabet.indexOf(token[i]!) + 1) % 36]!;
      const typo = token.slice(0, i) + replacement + token.slice(i + 1);
      expect(() => parseJoinToken(typo), `typo at ${i}`).toThrow(/checksum does not match|not a valid join token/);
    }
    expect(() => parseJoinToken(token.slice(0, -1))).toThrow(/not a valid join token/);
    expect(() => parseJoinToken('SWMTKN-1-abc')).toThrow(/must look like TSWTKN-1-/);
  });
});
