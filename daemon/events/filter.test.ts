import { describe, expect, it } from 'vitest';
import { eventMatches, parseEventFilters } from './filter.js';
import { eventMessage, type EventMessage, type EventScope, type EventType } from './message.js';

function ev(
  type: EventType,
  action: string,
  id: string,
  attributes: Record<string, string> = {},
  scope: EventScope = 'local',
): EventMessage {
  return eventMessage(type, action, id, attributes, scope, 1n);
}

const matches = (filters: Record<string, string[]>, m: EventMessage) =>
  eventMatches(parseEventFilters(JSON.stringify(filters)), m);

const webStart = ev('container', 'start', 'abc123', { name: 'web', image: 'busybox:1', tier: 'front' });

describe('event filters, as dockerd applies them', () => {
  it('matches everything without filters, and the type, scope and event exactly', () => {
    expect(eventMatches(parseEventFilters(null), webStart)).toBe(true);
    expect(matches({ type: ['container'] }, webStart)).toBe(true);
    expect(matches({ type: ['image', 'volume'] }, webStart)).toBe(false);
    expect(matches({ scope: ['swarm'] }, webStart)).toBe(false);
    expect(matches({ event: ['start', 'die'] }, webStart)).toBe(true);
    expect(matches({ event: ['sta'] }, webStart)).toBe(false);
  });

  it('takes health_status, exec_create and exec_start without their suffix as prefixes', () => {
    const health = ev('container', 'health_status: healthy', 'abc123');
    expect(matches({ event: ['health_status'] }, health)).toBe(true);
    expect(matches({ event: ['health_status: unhealthy'] }, health)).toBe(false);
    expect(matches({ event: ['exec_start'] }, ev('container', 'exec_start: sh -c ls', 'abc123'))).toBe(true);
  });

  it('names an object of a kind by ID or name, or a prefix of either; other kinds do not pass', () => {
    expect(matches({ container: ['abc'] }, webStart)).toBe(true);
    expect(matches({ container: ['we'] }, webStart)).toBe(true);
    expect(matches({ container: ['db'] }, webStart)).toBe(false);
    expect(matches({ container: ['web'] }, ev('image', 'pull', 'busybox:1', { name: 'busybox' }))).toBe(false);
    expect(matches({ service: ['web'] }, ev('service', 'update', 's1', { name: 'web' }, 'swarm'))).toBe(true);
    expect(matches({ node: ['w1'] }, ev('node', 'update', 'n1', { name: 'w1' }, 'swarm'))).toBe(true);
    expect(matches({ volume: ['data'] }, ev('volume', 'create', 'data', { driver: 'local' }))).toBe(true);
  });

  it('follows an image and the containers made from it, with or without the tag', () => {
    expect(matches({ image: ['busybox:1'] }, webStart)).toBe(true);
    expect(matches({ image: ['busybox'] }, webStart)).toBe(true);
    expect(matches({ image: ['alpine'] }, webStart)).toBe(false);
    expect(matches({ image: ['busybox'] }, ev('image', 'pull', 'busybox:1', { name: 'busybox' }))).toBe(true);
    expect(matches({ image: ['sha256:aa'] }, ev('image', 'delete', 'sha256:aa', { name: 'sha256:aa' }))).toBe(true);
    const lab = ev('container', 'create', 'x', { image: '192.168.77.5:5000/lab/busybox:1' });
    expect(matches({ image: ['192.168.77.5:5000/lab/busybox'] }, lab)).toBe(true);
  });

  it('matches labels by key or key=value, all of them', () => {
    expect(matches({ label: ['tier'] }, webStart)).toBe(true);
    expect(matches({ label: ['tier=front'] }, webStart)).toBe(true);
    expect(matches({ label: ['tier=back'] }, webStart)).toBe(false);
    expect(matches({ label: ['tier', 'zone'] }, webStart)).toBe(false);
  });

  it('combines keys with AND, values of one key with OR', () => {
    expect(matches({ type: ['container'], event: ['die', 'start'], container: ['web'] }, webStart)).toBe(true);
    expect(matches({ type: ['container'], event: ['die'] }, webStart)).toBe(false);
  });

  it('refuses an unknown key, type or scope, naming what is known', () => {
    expect(() => parseEventFilters('{"typ":["container"]}')).toThrow(/invalid filter 'typ'/);
    expect(() => parseEventFilters('{"type":["containers"]}')).toThrow(/invalid event type 'containers'/);
    expect(() => parseEventFilters('{"scope":{"global":true}}')).toThrow(/invalid scope 'global'/);
    expect(parseEventFilters('{"type":{"service":true}}').get('type')).toEqual(['service']);
  });
});
