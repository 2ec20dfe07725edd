import { describe, expect, it } from 'vitest';
import { execProcess, shellQuote } from './exec-session.js';

const base = {
  user: { uid: 33, gid: 33 },
  cwd: '/srv',
  env: ['PATH=/usr/bin:/bin', 'MODE=prod'],
  args: ['nginx'],
  terminal: false,
};
const options = { argv: ['sh', '-c', 'echo hi'], env: [], workingDir: '', tty: false, stdin: false };

describe('execProcess', () => {
  it('runs as the container runs (user, cwd, env) when nothing else is asked', () => {
    expect(execProcess(base, options)).toEqual({ ...base, args: ['sh', '-c', 'echo hi'] });
  });

  it('adds and overrides environment by key, and sets the working directory and user asked for', () => {
    const p = execProcess(base, {
      ...options,
      env: ['MODE=debug', 'EXTRA=1'],
      workingDir: '/tmp',
      user: { uid: 1000, gid: 100, additionalGids: [5] },
    });
    expect(p.env).toEqual(['PATH=/usr/bin:/bin', 'MODE=debug', 'EXTRA=1']);
    expect(p.cwd).toBe('/tmp');
    expect(p.user).toEqual({ uid: 1000, gid: 100, additionalGids: [5] });
  });

  it('gives a TTY exec a terminal and TERM=xterm unless TERM is set', () => {
    const p = execProcess(base, { ...options, tty: true });
    expect(p.terminal).toBe(true);
    expect(p.env).toContain('TERM=xterm');
    expect(execProcess(base, { ...options, tty: true, env: ['TERM=vt100'] }).env).toContain('TERM=vt100');
  });
});

describe('shellQuote', () => {
  it('leaves plain words and quotes the rest so sh passes them on unchanged', () => {
    expect(shellQuote('/usr/bin/crun')).toBe('/usr/bin/crun');
    expect(shellQuote("it's $HOME")).toBe(`'it'\\''s $HOME'`);
    expect(shellQuote('')).toBe(`''`);
  });
});
