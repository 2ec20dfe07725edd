import { describe, expect, it } from 'vitest';
import { chooseAdvertiseAddr, splitHostPort } from './addresses.js';

describe('addresses', () => {
  it('splits HOST[:PORT] with 2377 as the default port', () => {
    expect(splitHostPort('192.168.77.11', 'addr')).toEqual({ host: '192.168.77.11', port: 2377 });
    expect(splitHostPort('m1:4000', 'addr')).toEqual({ host: 'm1', port: 4000 });
    expect(() => splitHostPort('a:b:c', 'addr')).toThrow(/invalid addr "a:b:c"/);
    expect(() => splitHostPort('h:70000', 'addr')).toThrow(/invalid addr/);
  });

  it('takes a given advertise address, adding the listen port', () => {
    expect(chooseAdvertiseAddr('10.1.2.3', 2377)).toBe('10.1.2.3:2377');
    expect(chooseAdvertiseAddr('10.1.2.3:9999', 2377)).toBe('10.1.2.3:9999');
  });
});
