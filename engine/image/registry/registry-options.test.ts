import { describe, expect, it } from 'vitest';
import { parseInsecureRegistry } from './registry-options.js';

describe('--insecure-registry values', () => {
  it('takes HOST and HOST:PORT as references name them', () => {
    for (const ok of ['192.168.77.5:5000', 'reg:5000', 'localhost', 'registry.example.com', '[::1]:5000'])
      expect(parseInsecureRegistry(ok)).toBe(ok);
    expect(parseInsecureRegistry('Reg.Example:5000')).toBe('reg.example:5000');
  });
  it('refuses a scheme, a path, a bad port or nothing, saying what to give', () => {
    for (const bad of ['http://reg:5000', 'reg:5000/v2', 'reg:0', 'reg:70000', '', 'reg:', '-reg']) {
      expect(() => parseInsecureRegistry(bad), bad).toThrow(/is not HOST or HOST:PORT.*without a scheme or path/);
    }
  });
});
