import { describe, expect, it } from 'vitest';
import { engineRss, vmRssBytes } from './rss.js';

describe('the services benchmark’s engine memory', () => {
  it('reads VmRSS from /proc/PID/status in bytes; a kernel thread has none', () => {
    expect(vmRssBytes('Name:\ttswarmd\nVmHWM:\t  200000 kB\nVmRSS:\t  171520 kB\nRssAnon:\t 1 kB\n')).toBe(
      171520 * 1024,
    );
    expect(vmRssBytes('Name:\tkworker/0:1\nState:\tI (idle)\n')).toBeUndefined();
  });

  it('counts a live process of this PID namespace, and not one that is gone', async () => {
    const own = await engineRss([process.pid]);
    expect(own.processes).toBe(1);
    expect(own.bytes).toBeGreaterThan(1024 * 1024);
    // Beyond pid_max (at most 2^22): never a process.
    expect(await engineRss([2 ** 23])).toEqual({ bytes: 0, processes: 0 });
  });
});
