/**
 * The extended attributes a layer tar carries for its entries — `SCHILY.xattr.NAME=VALUE` records
 * in pax extended headers, as Docker and GNU tar write them — which npm tar's parser drops (it
 * keeps only the pax keys it knows, and reads values as text, while a file capability is binary).
 *
 * This reads the same uncompressed bytes beside that parser, block by block, and keeps the
 * attributes of the n-th entry under n: npm tar hands entries over in order and skips none (a
 * warning fails the unpack), so the unpacker's own count finds them. Only headers and pax bodies
 * are looked at; file contents pass through without a copy.
 */

const BLOCK = 512;
const XATTR_KEY_PREFIX = 'SCHILY.xattr.';
/** A pax header's body is a few records; more than this is not a layer anyone made in good faith. */
const PAX_BODY_BYTES_MAX = 1024 * 1024;
/** Types that describe the next entry rather than being one: pax (x, g), GNU long name and link (L, K). */
const META_TYPES = new Set(['x', 'g', 'L', 'K', 'X']);

export class PaxXattrScanner {
  private pending = Buffer.alloc(0);
  /** Bytes of the current body still to pass (file contents, padding included). */
  private skip = 0;
  /** A pax body being read: its size, and what was read of it. */
  private paxBody: { size: number; parts: Buffer[]; read: number } | undefined;
  private nextXattrs: Map<string, Buffer> | undefined;
  private entries = 0;
  private ended = false;
  readonly byEntry = new Map<number, Map<string, Buffer>>();

  push(chunk: Buffer): void {
    let data = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = Buffer.alloc(0);
    while (data.length > 0 && !this.ended) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, data.length);
        if (this.paxBody) this.collectPax(data.subarray(0, n));
        this.skip -= n;
        data = data.subarray(n);
        continue;
      }
      if (data.length < BLOCK) {
        this.pending = Buffer.from(data);
        return;
      }
      this.header(data.subarray(0, BLOCK));
      data = data.subarray(BLOCK);
    }
  }

  private header(block: Buffer): void {
    if (block.every((b) => b === 0)) {
      this.ended = true; // end-of-archive blocks
      return;
    }
    const type = String.fromCharCode(block[156] ?? 0);
    const size = readSize(block.subarray(124, 136));
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'x' && size <= PAX_BODY_BYTES_MAX) {
      this.paxBody = { size, parts: [], read: 0 };
    } else if (!META_TYPES.has(type)) {
      if (this.nextXattrs && this.nextXattrs.size > 0) this.byEntry.set(this.entries, this.nextXattrs);
      this.nextXattrs = undefined;
      this.entries++;
    }
    this.skip = padded;
    if (this.paxBody && padded === 0) this.finishPax();
  }

  private collectPax(bytes: Buffer): void {
    const body = this.paxBody!;
    const wanted = body.size - body.read;
    if (wanted > 0) body.parts.push(Buffer.from(bytes.subarray(0, Math.min(wanted, bytes.length))));
    body.read += bytes.length;
    if (this.skip - bytes.length === 0) this.finishPax();
  }

  private finishPax(): void {
    const body = Buffer.concat(this.paxBody!.parts);
    this.paxBody = undefined;
    for (const [key, value] of paxRecords(body)) {
      if (!key.startsWith(XATTR_KEY_PREFIX)) continue;
      this.nextXattrs ??= new Map();
      this.nextXattrs.set(key.slice(XATTR_KEY_PREFIX.length), value);
    }
  }
}

/** Octal, or base-256 when the top bit of the first byte is set (sizes past 8 GiB). */
function readSize(field: Buffer): number {
  if ((field[0]! & 0x80) !== 0) {
    let n = 0;
    for (let i = 1; i < field.length; i++) n = n * 256 + field[i]!;
    return n;
  }
  const text = field
    .toString('latin1')
    .replace(/[\0 ]+$/, '')
    .trim();
  return text === '' ? 0 : parseInt(text, 8);
}

/** `<length> <key>=<value>\n` records, binary-safe: the length (which counts itself) bounds each. */
export function paxRecords(body: Buffer): [string, Buffer][] {
  const out: [string, Buffer][] = [];
  let at = 0;
  while (at < body.length) {
    const space = body.indexOf(0x20, at);
    if (space === -1) break;
    const length = Number(body.subarray(at, space).toString('latin1'));
    if (!Number.isInteger(length) || length <= space - at + 1 || at + length > body.length) break;
    const record = body.subarray(space + 1, at + length - 1); // without the trailing newline
    const eq = record.indexOf(0x3d);
    if (eq > 0) out.push([record.subarray(0, eq).toString('utf8'), Buffer.from(record.subarray(eq + 1))]);
    at += length;
  }
  return out;
}

/** One pax record, binary-safe: `<length> <key>=<value>\n`, the length (in bytes) counting itself. */
export function paxRecord(key: string, value: string | Buffer): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value) : value;
  const rest = Buffer.byteLength(` ${key}=`) + bytes.length + 1;
  let length = rest + 1;
  while (String(length).length + rest !== length) length = String(length).length + rest;
  return Buffer.concat([Buffer.from(`${length} ${key}=`), bytes, Buffer.from('\n')]);
}
