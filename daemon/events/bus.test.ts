import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock.js';
import { EventBus } from './bus.js';
import { eventJsonLine, eventMessage, NS_PER_MS, type EventMessage } from './message.js';

const limits = { ringEventsMax: 5, ringBytesMax: 1_000_000, queueEventsMax: 3, subscribersMax: 2 };

function setup(l = limits) {
  const clock = new ManualClock(1_700_000_000_000);
  return { clock, bus: new EventBus(clock, l) };
}

async function take(it: AsyncIterator<EventMessage>, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await it.next();
    if (r.done) break;
    out.push(r.value.action);
  }
  return out;
}

describe('EventBus', () => {
  it('stamps local events with rising times, a nanosecond apart within one millisecond', () => {
    const { bus, clock } = setup();
    const a = bus.log('container', 'create', 'c1', {});
    const b = bus.log('container', 'start', 'c1', {});
    clock.advance(5);
    const c = bus.log('container', 'die', 'c1', {});
    expect(b.timeNano - a.timeNano).toBe(1n);
    expect(c.timeNano).toBe(1_700_000_000_005n * NS_PER_MS);
    expect(a.scope).toBe('local');
  });

  it('keeps a bounded ring of recent events, by count and by size', () => {
    const { bus } = setup();
    for (let i = 0; i < 8; i++) bus.log('container', `a${i}`, 'c', {});
    expect(bus.recent().map((m) => m.action)).toEqual(['a3', 'a4', 'a5', 'a6', 'a7']);
    const small = setup({ ...limits, ringBytesMax: 600 }).bus;
    for (let i = 0; i < 4; i++) small.log('container', `a${i}`, 'c', { big: 'x'.repeat(200) });
    expect(small.recent().length).toBeLessThan(4);
    expect(small.recent().at(-1)!.action).toBe('a3');
  });

  it('replays nothing without since or until, the kept events from since, and up to until', async () => {
    const { bus, clock } = setup();
    const first = bus.log('container', 'create', 'c1', {});
    clock.advance(1_000);
    const second = bus.log('container', 'start', 'c1', {});
    clock.advance(1_000);
    bus.log('container', 'die', 'c1', {});
    const none = bus.subscribe();
    bus.log('container', 'destroy', 'c1', {});
    expect(await take(none[Symbol.asyncIterator](), 1)).toEqual(['destroy']);
    const fromSecond = bus.subscribe({ sinceNano: second.timeNano });
    expect(await take(fromSecond[Symbol.asyncIterator](), 3)).toEqual(['start', 'die', 'destroy']);
    fromSecond.close();
    const window = bus.subscribe({ sinceNano: first.timeNano, untilNano: second.timeNano });
    window.close(); // ends after what was replayed
    expect(await take(window[Symbol.asyncIterator](), 10)).toEqual(['create', 'start']);
    none.close();
  });

  it('filters replayed and live events with the reader’s own predicate, and live ones by until', async () => {
    const { bus, clock } = setup();
    bus.log('image', 'pull', 'busybox:1', {});
    bus.log('container', 'create', 'c1', {});
    const s = bus.subscribe({
      sinceNano: 0n,
      untilNano: 1_700_000_001_000n * NS_PER_MS,
      include: (m) => m.type === 'container',
    });
    bus.log('image', 'tag', 'sha256:x', {});
    bus.log('container', 'start', 'c1', {});
    clock.advance(2_000);
    bus.log('container', 'die', 'c1', {}); // after until
    s.close();
    expect(await take(s[Symbol.asyncIterator](), 10)).toEqual(['create', 'start']);
  });

  it('cuts off a reader that falls too far behind, with an error, and lets go of it', async () => {
    const { bus } = setup();
    bus.log('container', 'old', 'c', {});
    const s = bus.subscribe({ sinceNano: 0n });
    // The replayed event does not count against the live bound of 3.
    for (let i = 0; i < 3; i++) bus.log('container', `e${i}`, 'c', {});
    expect(bus.subscriberCount).toBe(1);
    bus.log('container', 'one-too-many', 'c', {});
    expect(bus.subscriberCount).toBe(0);
    await expect(s[Symbol.asyncIterator]().next()).rejects.toMatchObject({ code: 'RESOURCE_EXHAUSTED' });
  });

  it('refuses more streams than its bound, and ends every stream when closed', async () => {
    const { bus } = setup();
    const a = bus.subscribe();
    bus.subscribe();
    expect(() => bus.subscribe()).toThrow(expect.objectContaining({ code: 'RESOURCE_EXHAUSTED' }));
    const pending = a[Symbol.asyncIterator]().next();
    bus.close();
    expect(await pending).toEqual({ value: undefined, done: true });
    expect(() => bus.subscribe()).toThrow(expect.objectContaining({ code: 'UNAVAILABLE' }));
  });

  it('wakes a waiting reader with the next event', async () => {
    const { bus } = setup();
    const s = bus.subscribe();
    const next = s[Symbol.asyncIterator]().next();
    bus.log('volume', 'create', 'data', { driver: 'local' });
    expect((await next).value).toMatchObject({ type: 'volume', action: 'create', actor: { id: 'data' } });
  });
});

describe('eventJsonLine', () => {
  it('writes dockerd’s shape, with the legacy fields of container events and an exact timeNano', () => {
    const { bus } = setup();
    const m = bus.log('container', 'start', 'abc', { image: 'busybox:1', name: 'web' });
    const line = eventJsonLine(m);
    expect(line.endsWith('}\n')).toBe(true);
    expect(line).toContain('"timeNano":1700000000000000000}');
    expect(JSON.parse(line)).toEqual({
      status: 'start',
      id: 'abc',
      from: 'busybox:1',
      Type: 'container',
      Action: 'start',
      Actor: { ID: 'abc', Attributes: { image: 'busybox:1', name: 'web' } },
      scope: 'local',
      time: 1_700_000_000,
      timeNano: 1_700_000_000_000_000_000,
    });
    const swarm = eventMessage('service', 'create', 's1', { name: 'web' }, 'swarm', 1_700_000_000_123_456_789n);
    bus.publish(swarm);
    const parsed = JSON.parse(eventJsonLine(swarm)) as Record<string, unknown>;
    expect(parsed.status).toBeUndefined();
    expect(parsed.scope).toBe('swarm');
    expect(eventJsonLine(swarm)).toContain('"time":1700000000,"timeNano":1700000000123456789}');
  });
});
