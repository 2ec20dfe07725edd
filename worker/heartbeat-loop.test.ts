import { describe, expect, it } from 'vitest';
import { initialHeartbeatManagers } from './heartbeat-loop.js';

describe('initialHeartbeatManagers', () => {
  it('has a worker beat the managers it joined through', () => {
    expect(initialHeartbeatManagers(undefined, ['192.168.77.11:2377'])).toEqual(['192.168.77.11:2377']);
  });

  it('has a manager beat itself first, then the managers it joined through, so a lagging replica is not the only judge', () => {
    expect(initialHeartbeatManagers('127.0.0.1:2377', ['192.168.77.11:2377'])).toEqual([
      '127.0.0.1:2377',
      '192.168.77.11:2377',
    ]);
  });

  it('has the manager that made the swarm (it joined through no one) beat itself alone', () => {
    expect(initialHeartbeatManagers('127.0.0.1:2377', [])).toEqual(['127.0.0.1:2377']);
  });
});
