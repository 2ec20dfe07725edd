import { describe, expect, it } from 'vitest';
import { unixSocketPath } from './daemon-host.js';
import { TswarmError } from './errors.js';

describe('unixSocketPath', () => {
  it('takes the path from a unix URL', () => {
    expect(unixSocketPath('unix:///run/tswarm/tswarm.sock')).toBe('/run/tswarm/tswarm.sock');
  });

  it('refuses other forms with a usage error', () => {
    for (const bad of ['tcp://1.2.3.4:2375', '/run/x.sock', 'unix://relative']) {
      expect(() => unixSocketPath(bad)).toThrow(TswarmError);
      try {
        unixSocketPath(bad);
      } catch (e) {
        expect((e as TswarmError).code).toBe('USAGE');
      }
    }
  });
});
