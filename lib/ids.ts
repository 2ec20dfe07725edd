import { cryptoRandom, type Random } from './random.js';

/** Length of an object ID: 128 random bits in base 36, zero-padded (as SwarmKit's IDs). */
export const ID_LENGTH = 25;

/** A new random object ID: 25 lower-case base-36 characters carrying 128 bits. */
export function newId(random: Random = cryptoRandom): string {
  const bytes = random.bytes(16);
  let value = 0n;
  for (const b of bytes) value = (value << 8n) | BigInt(b);
  return value.toString(36).padStart(ID_LENGTH, '0');
}

const ID_PATTERN = /^[0-9a-z]{25}$/;

export function isId(value: string): boolean {
  return ID_PATTERN.test(value);
}

/** The short form shown in tables, as `docker service ls` shows 12 characters. */
export function shortId(id: string): string {
  return id.slice(0, 12);
}
