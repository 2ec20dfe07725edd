import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock.js';
import { NOOP_LOGGER } from '../../lib/logger.js';
import { Leadership, type LeaderComponent, type LeadershipEvent } from './leadership.js';
import { LeaderLoop } from './leader-loop.js';

/** Records what the leadership module asked of it. */
class Recorder implements LeaderComponent {
  readonly calls: string[] = [];
  signal: AbortSignal | undefined;
  constructor(readonly name: string) {}
  start(signal: AbortSignal, term: number): void {
    this.signal = signal;
    this.calls.push(`start ${term}`);
  }
  async stop(): Promise<void> {
    this.calls.push('stop');
  }
}

/** Lets queued transitions (promise chains) run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('Leadership', () => {
  it('tells subscribers when this member gains leadership (with the term) and loses it, once each', () => {
    const l = new Leadership(NOOP_LOGGER);
    const events: LeadershipEvent[] = [];
    l.subscribe((e) => events.push(e));
    l.observe({ leading: false, term: 1 });
    l.observe({ leading: true, term: 2 });
    l.observe({ leading: true, term: 2 }); // a repeat: the leader changed nothing
    expect(l.leading()).toBe(true);
    l.observe({ leading: false, term: 3 });
    l.observe({ leading: false, term: 3 });
    l.observe({ leading: true, term: 5 });
    expect(events).toEqual([
      { kind: 'gained', term: 2 },
      { kind: 'lost', term: 2 },
      { kind: 'gained', term: 5 },
    ]);
  });

  it('starts leader-only components on gaining and stops them on losing, aborting their signal', async () => {
    const l = new Leadership(NOOP_LOGGER);
    const c = new Recorder('c');
    l.register(c);
    l.observe({ leading: true, term: 7 });
    await settle();
    expect(c.calls).toEqual(['start 7']);
    const signal = c.signal!;
    l.observe({ leading: false, term: 8 });
    expect(signal.aborted).toBe(true);
    await settle();
    expect(c.calls).toEqual(['start 7', 'stop']);
  });

  it('never overlaps two runs: a component regaining leadership starts after its stop finished', async () => {
    const l = new Leadership(NOOP_LOGGER);
    const order: string[] = [];
    let finishStop: () => void = () => undefined;
    l.register({
      name: 'slow',
      start: (_s, term) => order.push(`start ${term}`),
      stop: () => new Promise<void>((resolve) => (finishStop = () => (order.push('stopped'), resolve()))),
    });
    l.observe({ leading: true, term: 1 });
    await settle();
    l.observe({ leading: false, term: 2 });
    l.observe({ leading: true, term: 3 });
    await settle();
    expect(order).toEqual(['start 1']);
    finishStop();
    await settle();
    expect(order).toEqual(['start 1', 'stopped', 'start 3']);
  });

  it('keeps going when a component or subscriber throws', async () => {
    const errors: string[] = [];
    const log = { ...NOOP_LOGGER, error: (_o: object | string, msg?: string) => errors.push(String(msg)) };
    const l = new Leadership(log);
    const good = new Recorder('good');
    l.register({
      name: 'bad',
      start: () => {
        throw new Error('boom');
      },
      stop: () => Promise.reject(new Error('boom')),
    });
    l.register(good);
    l.subscribe(() => {
      throw new Error('boom');
    });
    l.observe({ leading: true, term: 1 });
    await settle();
    l.observe({ leading: false, term: 1 });
    await settle();
    expect(good.calls).toEqual(['start 1', 'stop']);
    expect(errors).toHaveLength(4);
  });

  it('starts a component registered while leading, and stops everything on close', async () => {
    const l = new Leadership(NOOP_LOGGER);
    l.observe({ leading: true, term: 4 });
    const late = new Recorder('late');
    l.register(late);
    await settle();
    expect(late.calls).toEqual(['start 4']);
    await l.close();
    expect(late.calls).toEqual(['start 4', 'stop']);
    l.observe({ leading: true, term: 5 }); // a closed module starts nothing
    await settle();
    expect(late.calls).toEqual(['start 4', 'stop']);
  });
});

describe('LeaderLoop', () => {
  it('runs a round every period while leading, with per-term state set up and dropped', async () => {
    const clock = new ManualClock(0);
    const log: string[] = [];
    const l = new Leadership(NOOP_LOGGER);
    l.register(
      new LeaderLoop({
        name: 'tick',
        clock,
        periodMs: 500,
        log: NOOP_LOGGER,
        round: async () => void log.push(`round at ${clock.nowMs()}`),
        onStart: (term) => log.push(`term ${term}`),
        onStop: () => log.push('dropped'),
      }),
    );
    clock.advance(1_000);
    expect(log).toEqual([]); // not leading: nothing runs
    l.observe({ leading: true, term: 2 });
    await settle();
    clock.advance(500);
    await settle();
    clock.advance(500);
    await settle();
    l.observe({ leading: false, term: 2 });
    await settle();
    clock.advance(5_000);
    await settle();
    expect(log).toEqual(['term 2', 'round at 1500', 'round at 2000', 'dropped']);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('waits for the round in flight before it reports stopped, and retries a failed round', async () => {
    const clock = new ManualClock(0);
    const warnings: string[] = [];
    let rounds = 0;
    let finishRound: () => void = () => undefined;
    const loop = new LeaderLoop({
      name: 'slow',
      clock,
      periodMs: 100,
      log: { ...NOOP_LOGGER, warn: (_o: object | string, msg?: string) => warnings.push(String(msg)) },
      round: () => {
        rounds++;
        if (rounds === 1) return Promise.reject(new Error('conflict'));
        return new Promise<void>((resolve) => (finishRound = resolve));
      },
    });
    const controller = new AbortController();
    loop.start(controller.signal, 1);
    clock.advance(100);
    await settle();
    expect(warnings).toEqual(['round failed; retrying']);
    clock.advance(100);
    await settle();
    expect(rounds).toBe(2);
    controller.abort();
    let stopped = false;
    const stopping = loop.stop().then(() => (stopped = true));
    await settle();
    expect(stopped).toBe(false);
    finishRound();
    await stopping;
    expect(clock.pendingTimers()).toBe(0);
  });
});
