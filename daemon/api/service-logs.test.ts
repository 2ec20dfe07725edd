import { describe, expect, it } from 'vitest';
import { thrownCode } from '../../lib/testing/error-codes.js';
import type { LogLine } from '../../gen/tswarm/v1/objects.js';
import {
  fixedNanoTimestamp,
  incompleteStreamMessage,
  inlineWarning,
  lineDetails,
  lineFrames,
  parseLogQuery,
} from './service-logs.js';

const line: LogLine = {
  timestampMs: Date.UTC(2025, 0, 2, 3, 4, 5, 67),
  stream: 'stderr',
  data: Buffer.from('hello world\n'),
  nodeId: 'node1',
  serviceId: 'svc1',
  taskId: 'task1',
};

describe('service logs on the Engine API', () => {
  it('reads the query as dockerd does: a stream required, tail and since optional', () => {
    expect(parseLogQuery(new URLSearchParams('stdout=1&stderr=1'))).toEqual({
      options: { follow: false, sinceMs: 0, stdout: true, stderr: true },
      timestamps: false,
      details: false,
    });
    expect(
      parseLogQuery(new URLSearchParams('stdout=1&follow=1&tail=2&since=1700000000.5&timestamps=true&details=1')),
    ).toEqual({
      options: { follow: true, sinceMs: 1_700_000_000_500, stdout: true, stderr: false, tail: 2 },
      timestamps: true,
      details: true,
    });
    expect(parseLogQuery(new URLSearchParams('stdout=1&tail=all')).options.tail).toBeUndefined();
    expect(thrownCode(() => parseLogQuery(new URLSearchParams('follow=1')))).toBe('INVALID_ARGUMENT');
    expect(thrownCode(() => parseLogQuery(new URLSearchParams('stdout=1&tail=some')))).toBe('INVALID_ARGUMENT');
    expect(thrownCode(() => parseLogQuery(new URLSearchParams('stdout=1&since=yesterday')))).toBe('INVALID_ARGUMENT');
  });

  it('writes timestamps with nanoseconds spelt out, as dockerd’s rfc3339NanoFixed', () => {
    expect(fixedNanoTimestamp(line.timestampMs)).toBe('2025-01-02T03:04:05.067000000Z');
  });

  it('details: the swarm context sorted by key and query-escaped, what the docker CLI parses', () => {
    expect(lineDetails(line)).toBe(
      'com.docker.swarm.node.id=node1,com.docker.swarm.service.id=svc1,com.docker.swarm.task.id=task1',
    );
    expect(lineDetails({ ...line, taskId: 'a,b=c' })).toContain('com.docker.swarm.task.id=a%2Cb%3Dc');
  });

  it('frames a line on its stream: timestamp, then details, then the line', () => {
    const frames = lineFrames(line, { timestamps: true, details: true });
    const header = frames[0]!;
    const payload = frames[1]!.toString();
    expect(header[0]).toBe(2); // stderr
    expect(header.readUInt32BE(4)).toBe(Buffer.byteLength(payload));
    expect(payload).toBe(`2025-01-02T03:04:05.067000000Z ${lineDetails(line)} hello world\n`);
    expect(lineFrames({ ...line, stream: 'stdout' }, { timestamps: false, details: false })[1]!.toString()).toBe(
      'hello world\n',
    );
  });

  it('names the missing nodes: at the end in dockerd’s words, or as a warning while the stream goes on', () => {
    const w = { nodeId: '7c1f0a9e2b4d5e6f7a8b9c0d1', hostname: 'w2', reason: 'did not answer within 5 s' };
    expect(incompleteStreamMessage([w, { ...w, hostname: '', reason: 'is down' }])).toBe(
      "Error grabbing logs: incomplete log stream, the lines of these nodes' tasks are missing: " +
        'node w2 (7c1f0a9e2b4d) did not answer within 5 s; node 7c1f0a9e2b4d (7c1f0a9e2b4d) is down\n',
    );
    expect(inlineWarning(w)).toBe(
      "warning: node w2 (7c1f0a9e2b4d) did not answer within 5 s: its tasks' lines are missing\n",
    );
  });
});
