/** Helpers shared by the WAL and disk storage tests: temp dirs and deterministic entries. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Entry } from '../../../core/types.js';
import type { BasicLogger, LogFn } from '../../../../../lib/logger.js';

export async function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `tswarm-${prefix}-`));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Entries lo..hi (inclusive) in `term`, with data that never contains a zero byte (zeros look like unwritten sectors). */
export function makeEntries(lo: number, hi: number, term: number, dataBytes = 32): Entry[] {
  const out: Entry[] = [];
  for (let index = lo; index <= hi; index++) {
    const data = new Uint8Array(dataBytes);
    for (let i = 0; i < dataBytes; i++) data[i] = 1 + ((index * 31 + term * 17 + i) % 255);
    out.push({ index, term, type: index % 7 === 0 ? 'confChange' : 'normal', data });
  }
  return out;
}

/** Entries as plain objects, so assertions compare bytes, not Buffer vs Uint8Array classes. */
export function plain(entries: readonly Entry[]): Array<{ index: number; term: number; type: string; data: number[] }> {
  return entries.map((e) => ({ index: e.index, term: e.term, type: e.type, data: [...e.data] }));
}

export interface RecordedLog {
  level: 'debug' | 'info' | 'warn' | 'error';
  obj: object;
  msg: string;
}

export function recordingLogger(): BasicLogger & { records: RecordedLog[] } {
  const records: RecordedLog[] = [];
  const at =
    (level: RecordedLog['level']): LogFn =>
    (objOrMsg: object | string, msg?: string) =>
      records.push(
        typeof objOrMsg === 'string' ? { level, obj: {}, msg: objOrMsg } : { level, obj: objOrMsg, msg: msg ?? '' },
      );
  return { records, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
