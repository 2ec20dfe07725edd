import { describe, expect, it } from 'vitest';
import type { Volume } from '../../gen/tswarm/v1/engine.js';
import { thrownCode } from '../../lib/testing/error-codes.js';
import { parseFilters } from './list-filters.js';
import { dockerNetwork, findNetwork, networkId, networkMatches } from './networks.js';
import { dockerVolume, volumeCreateRequest, volumeMatches } from './volumes.js';

const volume: Volume = {
  name: 'data',
  driver: 'local',
  mountpoint: '/var/lib/tswarm/engine/volumes/data/_data',
  labels: { team: 'a' },
  createdAtMs: 1_700_000_000_000,
  usedBy: [],
};

describe('volumes in Docker shapes', () => {
  it('makes a Docker Volume', () => {
    expect(dockerVolume(volume)).toEqual({
      Name: 'data',
      Driver: 'local',
      Mountpoint: volume.mountpoint,
      CreatedAt: '2023-11-14T22:13:20.000Z',
      Labels: { team: 'a' },
      Scope: 'local',
      Options: null,
    });
  });

  it('checks the create body: types, the local driver only, no driver options', () => {
    expect(volumeCreateRequest({ Name: 'v1', Driver: 'local', DriverOpts: {}, Labels: { a: 'b' } })).toEqual({
      name: 'v1',
      labels: { a: 'b' },
    });
    expect(volumeCreateRequest({})).toEqual({ name: '', labels: {} });
    expect(() => volumeCreateRequest({ Name: 5 })).toThrow('Name must be a string, not number');
    expect(thrownCode(() => volumeCreateRequest({ Name: 'v1', Driver: 'nfs' }))).toBe('INVALID_ARGUMENT');
    expect(() => volumeCreateRequest({ Name: 'v1', DriverOpts: { type: 'tmpfs' } })).toThrow(/options \(type\)/);
    expect(thrownCode(() => volumeCreateRequest({ Name: '../x' }))).toBe('INVALID_ARGUMENT');
  });

  it('filters by dangling, driver, name and label', () => {
    const m = (raw: string, v = volume) => volumeMatches(v, parseFilters(raw, ['dangling', 'driver', 'label', 'name']));
    expect(m('{"dangling":{"true":true}}')).toBe(true);
    expect(m('{"dangling":{"true":true}}', { ...volume, usedBy: ['web'] })).toBe(false);
    expect(m('{"driver":{"local":true}}')).toBe(true);
    expect(m('{"name":{"at":true}}')).toBe(true);
    expect(m('{"name":{"zz":true}}')).toBe(false);
    expect(m('{"label":{"team":true}}')).toBe(true);
    expect(m('{"label":{"team=b":true}}')).toBe(false);
  });
});

describe('networks in Docker shapes', () => {
  it('gives each built-in network a stable 64-hex ID and finds it by name or ID prefix', () => {
    expect(networkId('bridge')).toMatch(/^[0-9a-f]{64}$/);
    expect(networkId('bridge')).toBe(networkId('bridge'));
    expect(networkId('host')).not.toBe(networkId('bridge'));
    expect(findNetwork('none').driver).toBe('null');
    expect(findNetwork(networkId('host').slice(0, 12)).name).toBe('host');
    expect(thrownCode(() => findNetwork('mine'))).toBe('NOT_FOUND');
    expect(thrownCode(() => findNetwork(''))).toBe('NOT_FOUND');
  });

  it('shows the bridge with its subnet and gateway', () => {
    expect(dockerNetwork('bridge', 'bridge', 0)).toMatchObject({
      Name: 'bridge',
      Scope: 'local',
      Driver: 'bridge',
      EnableIPv6: false,
      IPAM: { Driver: 'default', Config: [{ Subnet: '172.30.0.0/16', Gateway: '172.30.0.1' }] },
      Containers: {},
    });
    expect(dockerNetwork('host', 'host', 0)['IPAM']).toMatchObject({ Config: [] });
  });

  it('filters by driver, name, type and scope', () => {
    const m = (raw: string, n = { name: 'bridge', driver: 'bridge' }) =>
      networkMatches(n, parseFilters(raw, ['driver', 'id', 'label', 'name', 'scope', 'type', 'dangling']));
    expect(m('{"driver":{"bridge":true}}')).toBe(true);
    expect(m('{"driver":{"null":true}}')).toBe(false);
    expect(m('{"name":{"bri":true}}')).toBe(true);
    expect(m('{"type":{"custom":true}}')).toBe(false);
    expect(m('{"scope":{"swarm":true}}')).toBe(false);
    expect(m('{"label":{"a":true}}')).toBe(false);
  });
});
