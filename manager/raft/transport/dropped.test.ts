import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { ManualClock } from '../../../lib/clock.js';
import type { Logger } from '../../../lib/log.js';
import { DroppedMessages } from './dropped.js';

function capture(): { lines: Record<string, unknown>[]; logger: Logger } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'debug' },
    { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) },
  ) as Logger;
  return { lines, logger };
}

describe('DroppedMessages', () => {
  it('counts every dropped message by reason, and logs at most one line per interval however many are dropped', () => {
    const clock = new ManualClock();
    const { lines, logger } = capture();
    const dropped = new DroppedMessages(clock, logger, 10_000);
    for (let i = 0; i < 1000; i++) dropped.count('not-a-member', 'r1', 'MsgApp');
    dropped.count('local-request', 'm2', 'MsgProp', 3);
    expect(dropped.counts()).toEqual({ total: 1003, byReason: { 'not-a-member': 1000, 'local-request': 3 } });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ reason: 'not-a-member', from: 'r1', dropped: 1, droppedTotal: 1 });
    clock.advance(10_000);
    dropped.count('not-a-member', 'r1', 'MsgApp');
    // The next line says how many went unlogged since the first.
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ dropped: 1003, droppedTotal: 1004 });
  });
});
