import { describe, expect, it } from 'vitest';
import { KNOWN_MANAGERS_MAX, KnownManagers, type ManagerPeer } from './known-managers.js';

const m1 = { nodeId: 'id-m1', addr: '192.168.77.11:2377' };
const m2 = { nodeId: 'id-m2', addr: '192.168.77.12:2377' };
const m3 = { nodeId: 'id-m3', addr: '192.168.77.13:2377' };

describe('KnownManagers: the order a node tries its managers in', () => {
  it('has a fresh worker try the address it joined through, and a manager itself first but never alone', () => {
    expect(new KnownManagers({ joinAddrs: [m1.addr] }).candidates()).toEqual([m1.addr]);
    const local = { nodeId: 'self', addr: '127.0.0.1:2377' };
    expect(new KnownManagers({ local, joinAddrs: [m1.addr] }).candidates()).toEqual([local.addr, m1.addr]);
    // The manager that made the swarm joined through no one.
    expect(new KnownManagers({ local }).candidates()).toEqual([local.addr]);
  });

  it('has a restarted node try the managers it knew, the last one used first, its join address last', () => {
    const known = new KnownManagers({ persisted: [m2, m3, m1], joinAddrs: [m1.addr, '10.9.9.9:2377'] });
    expect(known.candidates()).toEqual([m2.addr, m3.addr, m1.addr, '10.9.9.9:2377']);
  });

  it('keeps the manager in use first while it answers, and moves one that fails to the back', () => {
    const known = new KnownManagers({ joinAddrs: [m1.addr] });
    known.learn([m1, m2, m3]);
    expect(known.candidates()).toEqual([m1.addr, m2.addr, m3.addr]);
    expect(known.failed(m1.addr)).toBe(m2.addr);
    expect(known.candidates()).toEqual([m2.addr, m3.addr, m1.addr]);
    // An answer naming the same managers does not reorder them: the one in use stays first.
    known.learn([m1, m2, m3]);
    expect(known.candidates()).toEqual([m2.addr, m3.addr, m1.addr]);
    // An address the node does not know changes nothing.
    known.failed('10.0.0.1:2377');
    expect(known.candidates()).toEqual([m2.addr, m3.addr, m1.addr]);
  });

  it('drops a manager the cluster no longer names, adds new ones at the back, and keeps its join address', () => {
    const joinAddr = 'manager.example:2377';
    const known = new KnownManagers({ joinAddrs: [joinAddr] });
    known.learn([m1, m2]);
    expect(known.candidates()).toEqual([joinAddr, m1.addr, m2.addr]);
    known.learn([m2, m3]);
    expect(known.candidates()).toEqual([joinAddr, m2.addr, m3.addr]);
    // An answer that names none (a cluster still forming) is no reason to forget them.
    known.learn([]);
    known.learn([{ nodeId: '', addr: m1.addr }]);
    expect(known.candidates()).toEqual([joinAddr, m2.addr, m3.addr]);
  });

  it('keeps at most KNOWN_MANAGERS_MAX managers from an answer', () => {
    const many = Array.from({ length: 40 }, (_, i) => ({ nodeId: `id${i}`, addr: `10.0.0.${i}:2377` }));
    const known = new KnownManagers();
    known.learn(many);
    expect(known.candidates()).toHaveLength(KNOWN_MANAGERS_MAX);
    expect(new KnownManagers({ persisted: many }).candidates()).toHaveLength(KNOWN_MANAGERS_MAX);
  });

  it('follows its own manager starting (promotion) and stopping (demotion)', () => {
    const local = { nodeId: 'self', addr: '127.0.0.1:2377' };
    const known = new KnownManagers({ persisted: [m1, m2] });
    known.setLocal(local);
    expect(known.candidates()).toEqual([local.addr, m1.addr, m2.addr]);
    expect(known.expectedAt(local.addr).nodeIds).toEqual(['self']);
    known.setLocal(undefined);
    expect(known.candidates()).toEqual([m1.addr, m2.addr]);
  });
});

describe('KnownManagers: which manager the node expects at each address', () => {
  it('expects any manager of its cluster only before it knows one, then the one named at each address', () => {
    const known = new KnownManagers({ joinAddrs: [m1.addr] });
    expect(known.expectedAt(m1.addr)).toEqual({ addr: m1.addr, nodeIds: [] });
    known.learn([m1, m2]);
    expect(known.expectedAt(m1.addr)).toEqual({ addr: m1.addr, nodeIds: [m1.nodeId] });
    expect(known.expectedAt(m2.addr)).toEqual({ addr: m2.addr, nodeIds: [m2.nodeId] });
    expect(known.expectedAt('10.0.0.9:2377')).toEqual({ addr: '10.0.0.9:2377', nodeIds: [m1.nodeId, m2.nodeId] });
  });

  it('after a restart, expects the persisted managers from the first dial — at its join address too', () => {
    // The gap closed: a restarted node used to accept any manager of its cluster at the address it
    // joined through, a removed manager's still-valid certificate included.
    const known = new KnownManagers({ persisted: [m2, m3], joinAddrs: ['manager.example:2377'] });
    expect(known.expectedAt(m2.addr).nodeIds).toEqual([m2.nodeId]);
    expect(known.expectedAt('manager.example:2377').nodeIds).toEqual([m2.nodeId, m3.nodeId]);
    for (const addr of known.candidates()) expect(known.expectedAt(addr).nodeIds).not.toEqual([]);
  });

  it('knows a manager’s own local manager from the start, and keeps it after answers', () => {
    const local = { nodeId: 'self', addr: '127.0.0.1:2377' };
    const known = new KnownManagers({ local });
    expect(known.expectedAt(local.addr).nodeIds).toEqual(['self']);
    expect(known.expectedAt('10.0.0.9:2377').nodeIds).toEqual(['self']);
    known.learn([m1]);
    expect(known.expectedAt(local.addr).nodeIds).toEqual(['self']);
    expect(known.expectedAt('10.0.0.9:2377').nodeIds).toEqual(['self', m1.nodeId]);
  });
});

describe('KnownManagers: what is persisted', () => {
  it('persists the named managers in the order tried, without its loopback manager or unnamed join addresses', () => {
    const saved: ManagerPeer[][] = [];
    const known = new KnownManagers({
      local: { nodeId: m1.nodeId, addr: '127.0.0.1:2377' },
      joinAddrs: ['manager.example:2377'],
      onChange: (list) => saved.push(list),
    });
    expect(known.persistable()).toEqual([]);
    known.learn([m1, m2, m3]);
    expect(saved).toEqual([[m1, m2, m3]]);
    known.failed(m1.addr);
    expect(saved.at(-1)).toEqual([m2, m3, m1]);
  });

  it('reports a change only when the list or its order changed', () => {
    const saved: ManagerPeer[][] = [];
    const known = new KnownManagers({ persisted: [m1, m2], onChange: (list) => saved.push(list) });
    known.learn([m1, m2]);
    known.learn([m2, m1]);
    // The join address moving to the back changes no persisted entry.
    const withJoin = new KnownManagers({ persisted: [m1], joinAddrs: ['x:1'], onChange: (list) => saved.push(list) });
    withJoin.failed('x:1');
    expect(saved).toEqual([]);
    known.failed(m1.addr);
    expect(saved).toEqual([[m2, m1]]);
  });
});
