import { afterEach, describe, expect, it } from 'vitest';
import { appendFile, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keepRotatedLog } from './log-keeper.js';
import { followLog, readLog } from './logs.js';

const line = (n: number) => `2026-11-23T04:00:00.${String(n).padStart(3, '0')}+00:00 stdout F line${n}\n`;
const lines = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => line(from + i)).join('');

/** What conmon does at its cap (ctr_logging.c reopen_k8s_file): a new file renamed over the old. */
async function conmonRotates(path: string, firstBytes: string): Promise<void> {
  await writeFile(`${path}.tmp`, firstBytes);
  await rename(`${path}.tmp`, path);
}

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function logFile(content: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tswarm-logkeep-'));
  dirs.push(dir);
  const path = join(dir, 'ctr.log');
  await writeFile(path, content);
  return path;
}

describe('keeping the log generation conmon replaces at its cap', () => {
  it('links the live log, keeps the replaced one as .1, and reads across both', async () => {
    const path = await logFile(lines(1, 10));
    expect(await keepRotatedLog(path)).toBe(false); // first look: links ctr.log.cur
    expect(await keepRotatedLog(path)).toBe(false); // nothing changed
    await conmonRotates(path, line(11));
    expect(await keepRotatedLog(path)).toBe(true);
    // Right after the rotation the live file has one line; --tail 3 still shows three.
    const tail = await readLog(path, { tail: 3 });
    expect(tail.records.map((r) => r.data.toString())).toEqual(['line9\n', 'line10\n', 'line11\n']);
    // A second rotation drops the oldest generation: at most two are kept.
    await appendFile(path, line(12));
    await conmonRotates(path, line(13));
    expect(await keepRotatedLog(path)).toBe(true);
    expect((await readLog(path, {})).records.map((r) => r.data.toString())).toEqual([
      'line11\n',
      'line12\n',
      'line13\n',
    ]);
  });

  it('a follower reads the last lines of the replaced file before going on with the new one', async () => {
    const path = await logFile(lines(1, 2));
    let exited = false;
    const seen: string[] = [];
    for await (const r of followLog(path, { isDone: async () => exited, pollMs: 10 })) {
      seen.push(r.data.toString().trim());
      if (seen.length === 2) {
        // Written to the old file, then the file replaced, before the follower looks again.
        await appendFile(path, line(3));
        await conmonRotates(path, line(4));
      }
      if (seen.length === 4) exited = true;
    }
    expect(seen).toEqual(['line1', 'line2', 'line3', 'line4']);
  });
});

describe('LogKeeper', () => {
  it('checks one log one look at a time: overlapping looks keep the replaced generation once', async () => {
    const path = await logFile(lines(1, 3));
    const { LogKeeper } = await import('./log-keeper.js');
    const { silentLogger } = await import('../../lib/log.js');
    const keeper = new LogKeeper(silentLogger(), () => []);
    try {
      await keeper.follow(path);
      await conmonRotates(path, line(4));
      await Promise.all([keeper.check(path), keeper.check(path), keeper.check(path)]);
      expect((await readLog(path, {})).records.map((r) => r.data.toString())).toEqual([
        'line1\n',
        'line2\n',
        'line3\n',
        'line4\n',
      ]);
    } finally {
      keeper.stop();
    }
  });

  it('reads a rotation the keeper has not handled yet from ctr.log.cur, without a gap or a repeat', async () => {
    const path = await logFile(lines(1, 2));
    await keepRotatedLog(path);
    await conmonRotates(path, line(3));
    await keepRotatedLog(path); // .1 = lines 1-2
    await appendFile(path, line(4));
    await conmonRotates(path, line(5)); // not yet kept: .cur holds lines 3-4
    expect((await readLog(path, {})).records.map((r) => r.data.toString().trim())).toEqual([
      'line1',
      'line2',
      'line3',
      'line4',
      'line5',
    ]);
  });
});
