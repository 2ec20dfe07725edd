import { createHash, timingSafeEqual } from 'node:crypto';
import { TswarmError } from '../lib/errors.js';
import { cryptoRandom, type Random } from '../lib/random.js';

/**
 * Join tokens: TSWTKN-1-<SHA-256 of the root CA bundle>-<128-bit secret>-<checksum>, all base 36
 * (docs/security.md, Join tokens). The digest pins the CA a joining node must find; the secret says which
 * role it may join as; the checksum catches a mistyped or truncated token locally, before any
 * traffic, so a typo is never mistaken for a man in the middle.
 */
export const TOKEN_PREFIX = 'TSWTKN';
export const TOKEN_VERSION = '1';
const DIGEST_CHARS = 50; // 36^50 > 2^256
const SECRET_CHARS = 25; // 36^25 > 2^128
const CHECKSUM_CHARS = 4;
const TOKEN_PATTERN = new RegExp(
  `^${TOKEN_PREFIX}-(\\d+)-([0-9a-z]{${DIGEST_CHARS}})-([0-9a-z]{${SECRET_CHARS}})-([0-9a-z]{${CHECKSUM_CHARS}})$`,
);

/**
 * SHA-256 over the whole root CA bundle as served: a joining node compares it with the digest in
 * its token, so a machine in the middle cannot slip in a CA of its own.
 */
export function caBundleDigest(certPem: string): Buffer {
  return createHash('sha256').update(certPem).digest();
}

export interface JoinToken {
  caDigest: Buffer;
  secret: string;
  text: string;
}

function toBase36(bytes: Uint8Array, chars: number): string {
  let value = 0n;
  for (const b of bytes) value = (value << 8n) | BigInt(b);
  return value.toString(36).padStart(chars, '0');
}

function fromBase36(text: string, byteLength: number): Buffer {
  let value = 0n;
  for (const ch of text) value = value * 36n + BigInt(parseInt(ch, 36));
  const out = Buffer.alloc(byteLength);
  for (let i = byteLength - 1; i >= 0; i--) {
    out[i] = Number(value & 0xffn);
    value >>= 8n;
  }
  return out;
}

function checksum(body: string): string {
  const h = createHash('sha256').update(body).digest();
  return (h.readUIntBE(0, 4) % 36 ** CHECKSUM_CHARS).toString(36).padStart(CHECKSUM_CHARS, '0');
}

export function createJoinToken(caDigest: Buffer, random: Random = cryptoRandom): JoinToken {
  if (caDigest.length !== 32)
    throw new TswarmError('INTERNAL', `CA digest must be 32 bytes (SHA-256), got ${caDigest.length}`);
  const secret = toBase36(random.bytes(16), SECRET_CHARS);
  const body = `${TOKEN_PREFIX}-${TOKEN_VERSION}-${toBase36(caDigest, DIGEST_CHARS)}-${secret}`;
  return { caDigest, secret, text: `${body}-${checksum(body)}` };
}

const HOW_TO_GET = 'Copy the whole token again from `tswarm join-token worker` (or `manager`) on a manager';

/** Parses and checks a token locally: shape, version, checksum. No network involved. */
export function parseJoinToken(text: string): JoinToken {
  const trimmed = text.trim();
  const match = TOKEN_PATTERN.exec(trimmed);
  if (!match)
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `this is not a valid join token (it must look like ${TOKEN_PREFIX}-1-…, 86 characters). ${HOW_TO_GET}`,
    );
  const [, version, digest, secret, sum] = match as unknown as [string, string, string, string, string];
  if (version !== TOKEN_VERSION)
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `join token version ${version} is not supported by this tswarm (it knows version ${TOKEN_VERSION})`,
    );
  const body = trimmed.slice(0, trimmed.length - CHECKSUM_CHARS - 1);
  if (checksum(body) !== sum)
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `this is not a valid join token: its checksum does not match, so it was mistyped or cut short. ${HOW_TO_GET}`,
    );
  return { caDigest: fromBase36(digest, 32), secret, text: trimmed };
}

/** Compares the secret parts in constant time: a token check must not leak how much matched. */
export function sameSecret(a: JoinToken, b: JoinToken): boolean {
  const x = Buffer.from(a.secret);
  const y = Buffer.from(b.secret);
  return x.length === y.length && timingSafeEqual(x, y);
}
