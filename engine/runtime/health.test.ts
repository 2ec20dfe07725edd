import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock.js';
import { HealthMonitor, type HealthProbeResult } from './health.js';
import type { HealthStatus } from './record.js';

const flush = () => new Promise((resolve) => setImmediate(resolve));

function monitor(
  results: (() => Promise<HealthProbeResult>)[],
  config: Partial<{ intervalMs: number; timeoutMs: number; retries: number; startPeriodMs: number }> = {},
) {
  const clock = new ManualClock(0);
  const changes: HealthStatus[] = [];
  let calls = 0;
  const m = new HealthMonitor({
    clock,
    config: { test: ['CMD', 'x'], intervalMs: 1000, timeoutMs: 500, retries: 2, startPeriodMs: 0, ...config },
    startedAtMs: 0,
    probe: () => results[Math.min(calls++, results.length - 1)]!(),
    onChange: (s) => changes.push(s),
  });
  m.start();
  const step = async (ms: number) => {
    clock.advance(ms);
    await flush();
  };
  return { m, clock, changes, step, calls: () => calls };
}

const pass = () => Promise.resolve({ exitCode: 0, output: '' });
const fail = () => Promise.resolve({ exitCode: 1, output: 'no' });

describe('HealthMonitor', () => {
  it('starts, then a pass makes it healthy; retries failures in a row make it unhealthy', async () => {
    const h = monitor([pass, fail, fail]);
    expect(h.m.status).toBe('starting');
    await h.step(999);
    expect(h.calls()).toBe(0);
    await h.step(1);
    expect(h.m.status).toBe('healthy');
    await h.step(1000);
    expect(h.m.status).toBe('healthy');
    await h.step(1000);
    expect(h.m.status).toBe('unhealthy');
    expect(h.changes).toEqual(['healthy', 'unhealthy']);
    h.m.stop();
  });

  it('ignores failures inside the start period while starting', async () => {
    const h = monitor([fail, fail, fail, pass], { startPeriodMs: 2500 });
    await h.step(1000);
    await h.step(1000);
    expect(h.m.failingStreak).toBe(0);
    await h.step(1000);
    expect(h.m.failingStreak).toBe(1);
    expect(h.m.status).toBe('starting');
    await h.step(1000);
    expect(h.m.status).toBe('healthy');
    h.m.stop();
  });

  it('counts a timeout as a failure and never runs two checks at once', async () => {
    let running = 0;
    let maxRunning = 0;
    const hang = () => {
      running += 1;
      maxRunning = Math.max(maxRunning, running);
      return new Promise<HealthProbeResult>(() => undefined);
    };
    const h = monitor([hang], { retries: 1 });
    await h.step(1000);
    await h.step(500);
    expect(h.m.status).toBe('unhealthy');
    expect(h.m.log[0]?.output).toMatch(/timed out/);
    await h.step(1000);
    await h.step(1000);
    expect(maxRunning).toBe(1);
    expect(h.calls()).toBe(1);
    h.m.stop();
    expect(h.clock.pendingTimers()).toBe(0);
  });
});
