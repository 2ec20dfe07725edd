import { describe, expect, it } from 'vitest';
import { thrownCode } from '../../lib/testing/error-codes.js';
import { formatLine, formatPrefix, parseLogLine, sinceParam } from './service-logs.js';

const details =
  'com.docker.swarm.node.id=n0de1,com.docker.swarm.service.id=s3rv1ce,com.docker.swarm.task.id=t4sk0123456789abcdefghijk';

describe('service logs: the lines and their prefix, as docker service logs prints them', () => {
  it('parses the context the daemon puts before each line, with and without a timestamp', () => {
    expect(parseLogLine(Buffer.from(`${details} hello world\n`), false)).toEqual({
      context: { nodeId: 'n0de1', serviceId: 's3rv1ce', taskId: 't4sk0123456789abcdefghijk' },
      text: Buffer.from('hello world\n'),
    });
    const withTime = parseLogLine(Buffer.from(`2025-01-02T03:04:05.067000000Z ${details} hi\n`), true);
    expect(withTime.timestamp).toBe('2025-01-02T03:04:05.067000000Z');
    expect(withTime.text.toString()).toBe('hi\n');
    // Query-escaped values come back as they were.
    const escaped = details.replace('n0de1', 'a%2Cb%3Dc');
    expect(parseLogLine(Buffer.from(`${escaped} x`), false).context.nodeId).toBe('a,b=c');
  });

  it('refuses a line without its context rather than printing it under a wrong prefix', () => {
    expect(thrownCode(() => parseLogLine(Buffer.from('just a line\n'), false))).toBe('INTERNAL');
    expect(thrownCode(() => parseLogLine(Buffer.from('com.docker.swarm.node.id=n1 x\n'), false))).toBe('INTERNAL');
  });

  it('formats SERVICE.SLOT.TASKID@NODE, padded to the widest slot, then the line', () => {
    const parts = { serviceName: 'web', slot: 3, taskId: 't4sk0123456789abcdefghijk', nodeName: 'w1' };
    expect(formatPrefix(parts, { taskIds: true, trunc: true, slotDigits: 2 })).toBe('web.3.t4sk01234567@w1 ');
    expect(formatPrefix({ ...parts, slot: 12 }, { taskIds: true, trunc: true, slotDigits: 2 })).toBe(
      'web.12.t4sk01234567@w1',
    );
    expect(formatPrefix(parts, { taskIds: false, trunc: true, slotDigits: 1 })).toBe('web.3@w1');
    expect(formatPrefix(parts, { taskIds: true, trunc: false, slotDigits: 1 })).toBe(
      'web.3.t4sk0123456789abcdefghijk@w1',
    );
    const parsed = parseLogLine(Buffer.from(`2025-01-02T03:04:05.067000000Z ${details} hi\n`), true);
    expect(formatLine(parsed, 'web.3@w1').toString()).toBe('2025-01-02T03:04:05.067000000Z web.3@w1    | hi\n');
  });

  it('--since: Unix seconds as given; a time or a duration ago as Unix seconds', () => {
    const now = Date.UTC(2025, 0, 2, 12, 0, 0);
    expect(sinceParam('1735830245.5', now)).toBe('1735830245.5');
    expect(sinceParam('2025-01-02T11:00:00Z', now)).toBe(String(now / 1000 - 3600) + '.000');
    expect(sinceParam('42m', now)).toBe(((now - 42 * 60_000) / 1000).toFixed(3));
    expect(sinceParam('1h30m', now)).toBe(((now - 90 * 60_000) / 1000).toFixed(3));
    expect(thrownCode(() => sinceParam('yesterday', now))).toBe('USAGE');
  });
});
