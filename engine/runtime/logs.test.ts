import { describe, expect, it } from 'vitest';
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { followLog, K8sLogParser, parseTimestampMs } from './logs.js';

describe('k8s-file log parsing', () => {
  it('parses full lines and joins partial ones, in any chunking', () => {
    const text =
      '2026-11-22T22:27:23.806411882+00:00 stdout F hello\n2026-11-22T22:27:23.9+00:00 stderr P par\n2026-11-22T22:27:24.0+00:00 stderr F tial\n';
    const parser = new K8sLogParser();
    const records = [...parser.push(Buffer.from(text.slice(0, 30))), ...parser.push(Buffer.from(text.slice(30)))];
    expect(records.map((r) => [r.stream, r.data.toString()])).toEqual([
      ['stdout', 'hello\n'],
      ['stderr', 'partial\n'],
    ]);
    expect(records[0]!.timestampMs).toBe(Date.UTC(2026, 10, 22, 22, 27, 23, 806));
  });

  it('hands over a line the output never ended, as written, and streams pieces when asked', () => {
    const text = '2026-11-22T22:27:23.8+00:00 stdout P hi\n2026-11-22T22:27:23.9+00:00 stderr P err\n';
    const joined = new K8sLogParser();
    expect(joined.push(Buffer.from(text))).toEqual([]);
    expect(joined.flush().map((r) => [r.stream, r.data.toString()])).toEqual([
      ['stdout', 'hi'],
      ['stderr', 'err'],
    ]);
    expect(joined.flush()).toEqual([]);
    const streaming = new K8sLogParser('streaming');
    const records = streaming.push(Buffer.from(`${text}2026-11-22T22:27:24.0+00:00 stdout F !\n`));
    expect(records.map((r) => r.data.toString())).toEqual(['hi', 'err', '!\n']);
    expect(streaming.flush()).toEqual([]);
  });

  it('keeps an empty line', () => {
    expect(new K8sLogParser().push(Buffer.from('2026-11-22T22:27:23.8+00:00 stdout F \n'))[0]?.data.toString()).toBe(
      '\n',
    );
  });

  it('reads nanosecond timestamps with offsets', () =>
    expect(parseTimestampMs('2026-01-01T01:00:00.123456789+01:00')).toBe(Date.UTC(2026, 0, 1, 0, 0, 0, 123)));
});

describe('following a log', () => {
  // A poll this long would outlast the test's timeout: only the file watch and the exit notice can
  // wake the follower, and both happen while it sleeps (from timers, after it has caught up).
  const NEVER_POLL_MS = 10 * 60_000;
  const LATER_MS = 50;

  it('wakes for a line written while it sleeps, and ends on the exit notice, not on a poll', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tswarm-follow-'));
    try {
      const path = join(dir, 'ctr.log');
      await writeFile(path, '2026-11-22T22:27:23.8+00:00 stdout F one\n');
      let exited = false;
      let wakeOnExit: (() => void) | undefined;
      const seen: string[] = [];
      const follow = followLog(path, {
        pollMs: NEVER_POLL_MS,
        isDone: async () => exited,
        onExit: (wake) => {
          wakeOnExit = wake;
          return () => (wakeOnExit = undefined);
        },
      });
      for await (const r of follow) {
        seen.push(r.data.toString().trim());
        if (seen.length === 1)
          setTimeout(() => void appendFile(path, '2026-11-22T22:27:23.9+00:00 stdout F two\n'), LATER_MS);
        if (seen.length === 2) {
          setTimeout(() => {
            exited = true;
            wakeOnExit?.();
          }, LATER_MS);
        }
      }
      expect(seen).toEqual(['one', 'two']);
      expect(wakeOnExit).toBeUndefined(); // unsubscribed when the follow ended
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
