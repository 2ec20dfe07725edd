import { describe, expect, it } from 'vitest';
import { TswarmError } from '../lib/errors.js';
import { REMOVED_CONFIRMATIONS, RemovalDetector, removedMessage } from './removal.js';

const removed = new TswarmError('NODE_REMOVED', 'node n1 is not a member of this cluster (it was removed)');
const unavailable = new TswarmError('UNAVAILABLE', 'no leader');

describe('removal detection', () => {
  it('believes the cluster only after consecutive "removed" answers', () => {
    const d = new RemovalDetector();
    for (let i = 1; i < REMOVED_CONFIRMATIONS; i++) expect(d.answered(removed)).toBe(false);
    expect(d.answered(removed)).toBe(true);
  });

  it('starts counting again after any other answer (a lagging replica, then one that holds the node)', () => {
    const d = new RemovalDetector();
    for (let i = 1; i < REMOVED_CONFIRMATIONS; i++) d.answered(removed);
    expect(d.answered(undefined)).toBe(false);
    expect(d.answered(removed)).toBe(false);
    expect(d.answered(unavailable)).toBe(false);
    for (let i = 1; i < REMOVED_CONFIRMATIONS; i++) expect(d.answered(removed)).toBe(false);
    expect(d.answered(removed)).toBe(true);
  });

  it('tells the operator how to join again', () => {
    expect(removedMessage('n1')).toContain('removed from the swarm');
    expect(removedMessage('n1')).toContain('`tswarm leave --force`, then `tswarm join`');
  });
});
