import { huffmanDecode } from './huffman.js';

/**
 * HPACK (RFC 7541), as much as a client needs: a full decoder — the daemon's encoder (nghttp2)
 * uses the static table, its dynamic table and Huffman coding — and an encoder that sends every
 * field as a literal without indexing, so this side keeps no encoder state.
 */

export type HeaderField = readonly [name: string, value: string];

/** RFC 7541, Appendix A; index 1 is the first entry. */
const STATIC_TABLE: readonly HeaderField[] = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];

/** A header block this side cannot decode: a connection error (COMPRESSION_ERROR) in HTTP/2. */
export class HpackError extends Error {}

/** An entry's size as the dynamic table counts it: its octets plus 32 (RFC 7541 §4.1). */
const ENTRY_OVERHEAD_BYTES = 32;
/** Integers longer than this many continuation octets cannot be sizes this side accepts. */
const INTEGER_SHIFT_MAX = 28;

export class HpackDecoder {
  /** Newest first, as dynamic indexes count. */
  private readonly dynamic: HeaderField[] = [];
  private dynamicBytes = 0;
  private dynamicBytesMax: number;

  /** `tableBytesMax`: the SETTINGS_HEADER_TABLE_SIZE this side advertised (4096 by default). */
  constructor(private readonly tableBytesMax = 4096) {
    this.dynamicBytesMax = tableBytesMax;
  }

  /** One complete header block (HEADERS plus CONTINUATIONs) to its fields, in order. */
  decode(block: Buffer): HeaderField[] {
    const fields: HeaderField[] = [];
    let at = 0;

    const integer = (prefixBits: number): number => {
      const mask = (1 << prefixBits) - 1;
      let value = block[at++]! & mask;
      if (value < mask) return value;
      for (let shift = 0; ; shift += 7) {
        if (at >= block.length || shift > INTEGER_SHIFT_MAX) throw new HpackError('malformed integer');
        const octet = block[at++]!;
        value += (octet & 0x7f) * 2 ** shift;
        if ((octet & 0x80) === 0) return value;
      }
    };
    const string = (): string => {
      if (at >= block.length) throw new HpackError('truncated string');
      const huffman = (block[at]! & 0x80) !== 0;
      const length = integer(7);
      if (at + length > block.length) throw new HpackError('truncated string');
      const raw = block.subarray(at, at + length);
      at += length;
      // latin1: one character per octet, as the octets came (gRPC's values are ASCII).
      return (huffman ? huffmanDecode(raw) : raw).toString('latin1');
    };
    const entry = (index: number): HeaderField => {
      const field =
        index <= STATIC_TABLE.length ? STATIC_TABLE[index - 1] : this.dynamic[index - STATIC_TABLE.length - 1];
      if (index === 0 || !field) throw new HpackError(`invalid table index ${index}`);
      return field;
    };
    const literal = (prefixBits: number): HeaderField => {
      const nameIndex = integer(prefixBits);
      const name = nameIndex === 0 ? string() : entry(nameIndex)[0];
      return [name, string()];
    };

    while (at < block.length) {
      const octet = block[at]!;
      if (octet & 0x80) {
        fields.push(entry(integer(7)));
      } else if (octet & 0x40) {
        const field = literal(6);
        this.add(field);
        fields.push(field);
      } else if (octet & 0x20) {
        const size = integer(5);
        if (size > this.tableBytesMax)
          throw new HpackError(`table size ${size} over the ${this.tableBytesMax} allowed`);
        this.dynamicBytesMax = size;
        this.evict(0);
      } else {
        // Literal without indexing (0000) or never indexed (0001): both leave the table alone.
        fields.push(literal(4));
      }
    }
    return fields;
  }

  private add(field: HeaderField): void {
    const size = field[0].length + field[1].length + ENTRY_OVERHEAD_BYTES;
    this.evict(size);
    // An entry larger than the whole table empties it and is not added (RFC 7541 §4.4).
    if (size > this.dynamicBytesMax) return;
    this.dynamic.unshift(field);
    this.dynamicBytes += size;
  }

  /** Drops the oldest entries until `incomingBytes` more fit. */
  private evict(incomingBytes: number): void {
    while (this.dynamic.length > 0 && this.dynamicBytes + incomingBytes > this.dynamicBytesMax) {
      const old = this.dynamic.pop()!;
      this.dynamicBytes -= old[0].length + old[1].length + ENTRY_OVERHEAD_BYTES;
    }
  }
}

function encodeInteger(value: number, prefixBits: number, firstOctet: number, out: number[]): void {
  const mask = (1 << prefixBits) - 1;
  if (value < mask) {
    out.push(firstOctet | value);
    return;
  }
  out.push(firstOctet | mask);
  let rest = value - mask;
  while (rest >= 0x80) {
    out.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
}

function encodeString(text: string, out: number[]): void {
  const bytes = Buffer.from(text, 'latin1');
  encodeInteger(bytes.length, 7, 0x00, out);
  for (const b of bytes) out.push(b);
}

/**
 * A header block: a field the static table holds whole is sent as its index; others as literals
 * without indexing — with the static table's index for the name when it has one — never Huffman.
 */
export function encodeHeaders(fields: readonly HeaderField[]): Buffer {
  const out: number[] = [];
  for (const [name, value] of fields) {
    const whole = STATIC_TABLE.findIndex(([n, v]) => n === name && v === value);
    if (whole >= 0) {
      encodeInteger(whole + 1, 7, 0x80, out);
      continue;
    }
    const nameIndex = STATIC_TABLE.findIndex(([n]) => n === name);
    encodeInteger(nameIndex + 1, 4, 0x00, out);
    if (nameIndex < 0) encodeString(name, out);
    encodeString(value, out);
  }
  return Buffer.from(out);
}
