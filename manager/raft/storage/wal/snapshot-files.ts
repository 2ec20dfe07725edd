/**
 * Raft snapshots on disk: one file per snapshot, named <term>-<index>.snap (16 hex digits each),
 * written atomically (temp file, fsync, rename, fsync dir) and checksummed, so a crash leaves
 * either the whole new file or none, and a damaged one is detected instead of applied.
 *
 * File layout: magic "TSWSNAP1" (8) | CRC-32C (u32, over everything after it) | metadata bytes
 * (u32) | data bytes (u64) | metadata | data.
 */
import { open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { assert } from '../../../../lib/assert.js';
import type { ConfState, NodeId, Snapshot, SnapshotMetadata } from '../../core/types.js';
import { DecodeError, Reader, Writer } from './binary.js';
import { crc32c } from './crc32c.js';
import { WalError, ioError } from './errors.js';
import { fsyncDir, mkdirDurable, writeAll } from './fs-durable.js';
import { NOOP_LOGGER, type BasicLogger } from '../../../../lib/logger.js';

const MAGIC = Buffer.from('TSWSNAP1', 'latin1');
const HEADER_BYTES = MAGIC.length + 4 + 4 + 8;
const CRC_OFFSET = MAGIC.length;
const RETAIN_COUNT_DEFAULT = 2;
const RETAIN_COUNT_MAX = 100;
/** A snapshot is a serialized store, held in memory whole: bounded so a bad length cannot exhaust the heap. */
export const SNAPSHOT_BYTES_MAX_DEFAULT = 1024 * 1024 * 1024;
/** Voters and learners: far above any real cluster, low enough to bound a corrupt count. */
const MEMBERS_MAX = 4096;
const MEMBER_ID_BYTES_MAX = 1024;
const NAME_RE = /^([0-9a-f]{16})-([0-9a-f]{16})\.snap$/;

export interface SnapshotFilesOptions {
  /** How many snapshot files to keep (newest first); older ones are deleted after each save. */
  retainCount?: number;
  snapshotBytesMax?: number;
  logger?: BasicLogger;
}

export interface SnapshotFileInfo {
  term: number;
  index: number;
  file: string;
}

export function snapshotFileName(term: number, index: number): string {
  return `${term.toString(16).padStart(16, '0')}-${index.toString(16).padStart(16, '0')}.snap`;
}

export class SnapshotFiles {
  private constructor(
    readonly dir: string,
    private readonly retainCount: number,
    private readonly snapshotBytesMax: number,
    private readonly logger: BasicLogger,
  ) {}

  static async open(dir: string, options: SnapshotFilesOptions = {}): Promise<SnapshotFiles> {
    const retainCount = options.retainCount ?? RETAIN_COUNT_DEFAULT;
    assert(
      Number.isSafeInteger(retainCount) && retainCount >= 1 && retainCount <= RETAIN_COUNT_MAX,
      `retainCount within [1, ${RETAIN_COUNT_MAX}]`,
    );
    await mkdirDurable(dir);
    // A leftover temp file is a save that crashed before its rename: it never counted.
    for (const file of await readdir(dir)) if (file.endsWith('.snap.tmp')) await unlink(join(dir, file));
    return new SnapshotFiles(
      dir,
      retainCount,
      options.snapshotBytesMax ?? SNAPSHOT_BYTES_MAX_DEFAULT,
      options.logger ?? NOOP_LOGGER,
    );
  }

  /** Writes the snapshot durably, then deletes files beyond the retention count. */
  async save(snapshot: Snapshot): Promise<SnapshotFileInfo> {
    const { index, term } = snapshot.metadata;
    if (snapshot.data.length > this.snapshotBytesMax) {
      throw new WalError(
        'SNAPSHOT_TOO_LARGE',
        `raft snapshot of ${snapshot.data.length} bytes exceeds the ${this.snapshotBytesMax}-byte bound. Raise the bound or shrink the store`,
      );
    }
    const file = snapshotFileName(term, index);
    const path = join(this.dir, file);
    const tmp = `${path}.tmp`;
    const header = encodeHeader(snapshot);
    let fh: FileHandle | undefined;
    try {
      fh = await open(tmp, 'w', 0o600);
      await writeAll(fh, header, 0);
      await writeAll(fh, snapshot.data, header.length);
      await fh.sync();
      await fh.close();
      fh = undefined;
      await rename(tmp, path);
      await fsyncDir(this.dir);
    } catch (err) {
      await fh?.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
      throw ioError(err, `writing snapshot ${file}`, path);
    }
    await this.applyRetention();
    return { term, index, file };
  }

  /** Snapshot files, newest (highest index, then term) first. */
  async list(): Promise<SnapshotFileInfo[]> {
    const infos: SnapshotFileInfo[] = [];
    for (const file of await readdir(this.dir)) {
      const m = NAME_RE.exec(file);
      if (m !== null) infos.push({ term: Number.parseInt(m[1]!, 16), index: Number.parseInt(m[2]!, 16), file });
    }
    return infos.sort((a, b) => b.index - a.index || b.term - a.term);
  }

  /**
   * The newest valid snapshot that `accept` allows, or null if there is no acceptable file. A
   * corrupt file is renamed to *.broken (kept for inspection) with a warning, and the next older
   * one is tried; if files were corrupt and none acceptable is valid, throws SNAPSHOT_CORRUPT.
   */
  async loadNewest(accept: (info: SnapshotFileInfo) => boolean = () => true): Promise<Snapshot | null> {
    const broken: string[] = [];
    for (const info of await this.list()) {
      if (!accept(info)) continue;
      try {
        const snapshot = await this.read(info);
        if (broken.length > 0)
          this.logger.warn(
            { code: 'SNAPSHOT_CORRUPT', broken, used: info.file },
            'raft snapshot: newest file is corrupt; fell back to an older snapshot',
          );
        return snapshot;
      } catch (err) {
        if (!(err instanceof WalError) || err.code !== 'SNAPSHOT_CORRUPT') throw err;
        this.logger.warn(
          { code: err.code, file: info.file, reason: err.message },
          'raft snapshot: corrupt file set aside as .broken',
        );
        await rename(join(this.dir, info.file), join(this.dir, `${info.file}.broken`));
        broken.push(info.file);
      }
    }
    if (broken.length === 0) return null;
    await fsyncDir(this.dir);
    throw new WalError(
      'SNAPSHOT_CORRUPT',
      `no valid raft snapshot in ${this.dir}: ${broken.join(', ')} failed their checks (now *.broken). ` +
        "Remove this manager's raft directory and rejoin it from a healthy peer",
      { file: join(this.dir, broken[0]!) },
    );
  }

  /** Reads and verifies one snapshot file; throws SNAPSHOT_CORRUPT on any mismatch. */
  async read(info: SnapshotFileInfo): Promise<Snapshot> {
    const path = join(this.dir, info.file);
    const sizeBytes = (await stat(path)).size;
    if (sizeBytes > this.snapshotBytesMax + HEADER_BYTES + MEMBERS_MAX * 2 * (MEMBER_ID_BYTES_MAX + 2)) {
      throw new WalError(
        'SNAPSHOT_TOO_LARGE',
        `raft snapshot ${path} of ${sizeBytes} bytes exceeds the ${this.snapshotBytesMax}-byte bound. Raise the bound`,
        { file: path },
      );
    }
    const fh = await open(path, 'r');
    let buf: Buffer;
    try {
      buf = await fh.readFile();
    } finally {
      await fh.close();
    }
    try {
      const snapshot = decodeSnapshot(buf);
      const { index, term } = snapshot.metadata;
      if (index !== info.index || term !== info.term)
        throw new DecodeError(`holds term ${term} index ${index}, not what its name says`);
      return snapshot;
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
      throw new WalError('SNAPSHOT_CORRUPT', `raft snapshot ${path} is corrupt: ${err.message}`, { file: path });
    }
  }

  private async applyRetention(): Promise<void> {
    const stale = (await this.list()).slice(this.retainCount);
    for (const info of stale) await unlink(join(this.dir, info.file));
    if (stale.length > 0) await fsyncDir(this.dir);
  }
}

function encodeHeader(snapshot: Snapshot): Buffer {
  const { index, term, confState } = snapshot.metadata;
  const members = [...confState.voters, ...confState.learners].map((id) => Buffer.from(id, 'utf8'));
  assert(
    members.length <= MEMBERS_MAX && members.every((m) => m.length <= MEMBER_ID_BYTES_MAX),
    'membership within bounds',
  );
  const metaBytes = 8 + 8 + 2 + 2 + members.reduce((n, m) => n + 2 + m.length, 0);
  const buf = Buffer.alloc(HEADER_BYTES + metaBytes);
  const w = new Writer(buf);
  w.bytes(MAGIC);
  w.u32(0); // CRC, filled below
  w.u32(metaBytes);
  w.u64(snapshot.data.length);
  w.u64(index);
  w.u64(term);
  w.u16(confState.voters.length);
  w.u16(confState.learners.length);
  for (const m of members) {
    w.u16(m.length);
    w.bytes(m);
  }
  const crc = crc32c(snapshot.data, 0, snapshot.data.length, crc32c(buf, CRC_OFFSET + 4));
  buf.writeUInt32LE(crc, CRC_OFFSET);
  return buf;
}

function decodeSnapshot(buf: Buffer): Snapshot {
  if (buf.length < HEADER_BYTES || !buf.subarray(0, MAGIC.length).equals(MAGIC))
    throw new DecodeError('not a tswarm snapshot file');
  const r = new Reader(buf, CRC_OFFSET, buf.length);
  const crc = r.u32();
  const metaBytes = r.u32();
  const dataBytes = r.u64();
  if (HEADER_BYTES + metaBytes + dataBytes !== buf.length)
    throw new DecodeError(`length fields say ${HEADER_BYTES + metaBytes + dataBytes} bytes, file has ${buf.length}`);
  if (crc32c(buf, CRC_OFFSET + 4) !== crc) throw new DecodeError('checksum mismatch');
  const meta = new Reader(buf, HEADER_BYTES, HEADER_BYTES + metaBytes);
  const metadata = decodeMetadata(meta);
  meta.expectEnd();
  return { metadata, data: buf.subarray(HEADER_BYTES + metaBytes) };
}

function decodeMetadata(r: Reader): SnapshotMetadata {
  const index = r.u64();
  const term = r.u64();
  const voterCount = r.u16();
  const learnerCount = r.u16();
  const ids: NodeId[] = [];
  for (let i = 0; i < voterCount + learnerCount; i++) ids.push(r.utf8(r.u16()));
  const confState: ConfState = { voters: ids.slice(0, voterCount), learners: ids.slice(voterCount) };
  return { index, term, confState };
}
