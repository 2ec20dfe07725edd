import { describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBuilt } from '../lib/testing/processes.js';

// The built CLI as a user runs it: messages and exit codes (0 ok, 1 error, 2 usage).
describe('tswarm CLI', () => {
  it('says plainly when no daemon answers, exit 1', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tswarm-cli-'));
    try {
      const host = `unix://${join(dir, 'none.sock')}`;
      const r = await runBuilt('cli', ['info'], { TSWARM_HOST: host });
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        `Error: cannot reach tswarmd at ${host}. Is it running? Start it with \`tswarmd\` (see README).\n`,
      );
      const v = await runBuilt('cli', ['--host', host, 'version']);
      expect(v.code).toBe(1);
      expect(v.stdout).toContain('Client:');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('uses the default socket when neither --host nor TSWARM_HOST is given', async () => {
    const r = await runBuilt('cli', ['info']);
    if (r.code === 1) expect(r.stderr).toContain('unix:///run/tswarm/tswarm.sock');
  });

  it('refuses an unknown command with the message, usage and exit 2', async () => {
    const r = await runBuilt('cli', ['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Error: unknown command 'frobnicate'.");
    expect(r.stderr).toContain('Usage: tswarm');
  });

  it('refuses a bad flag with the message, usage and exit 2', async () => {
    const r = await runBuilt('cli', ['info', '--bogus']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Error: unknown option '--bogus'.");
    expect(r.stderr).toContain('Usage: tswarm info');
  });

  it("run keeps docker run's code for its own usage errors: 125, not 2", async () => {
    const unknown = await runBuilt('cli', [
      '-H',
      'unix:///nonexistent/tswarm.sock',
      'container',
      'run',
      '--bogus',
      'busybox',
    ]);
    expect(unknown.code).toBe(125);
    expect(unknown.stderr).toContain("Error: unknown option '--bogus'.");
    const badValue = await runBuilt('cli', ['run', '--memory', 'lots', 'busybox']);
    expect(badValue.code).toBe(125);
    expect(badValue.stderr).toContain('invalid size "lots"');
  });

  it('image load names a missing archive or a directory plainly, before any traffic', async () => {
    const missing = await runBuilt('cli', [
      '-H',
      'unix:///nonexistent/tswarm.sock',
      'image',
      'load',
      '-i',
      '/nonexistent/image.tar',
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('cannot read the archive /nonexistent/image.tar (no such file)');
    const dir = await runBuilt('cli', ['-H', 'unix:///nonexistent/tswarm.sock', 'image', 'load', '-i', '/tmp']);
    expect(dir.stderr).toContain('/tmp is not a file');
  });

  it('init and join refuse bad flags and tokens before any traffic', async () => {
    const host = ['-H', 'unix:///nonexistent/tswarm.sock'];
    const expiry = await runBuilt('cli', [...host, 'init', '--cert-expiry', '30m']);
    expect(expiry).toMatchObject({ code: 2, stderr: 'Error: --cert-expiry must be at least 1h, got 30m.\n' });
    const tick = await runBuilt('cli', [...host, 'init', '--raft-tick', 'fast']);
    expect(tick.code).toBe(2);
    expect(tick.stderr).toContain('invalid --raft-tick "fast"');
    const token = await runBuilt('cli', [...host, 'join', '--token', 'TSWTKN-1-nope', '192.168.77.11:2377']);
    expect(token.code).toBe(1);
    expect(token.stderr).toContain('not a valid join token');
    expect(token.stderr).not.toContain('cannot reach tswarmd');
  });

  it('refuses a bad --format and a malformed --host as usage errors', async () => {
    expect((await runBuilt('cli', ['info', '--format', 'yaml'])).code).toBe(2);
    const r = await runBuilt('cli', ['--host', 'tcp://127.0.0.1:1', 'info']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Use the form unix:///path/to/tswarm.sock');
  });

  it('has --help on every command and sub-command, exit 0', async () => {
    for (const argv of [
      [],
      ['--help'],
      ['info', '--help'],
      ['version', '--help'],
      ['lab', '--help'],
      ['lab', 'up', '--help'],
      ['lab', 'partition', '--help'],
    ]) {
      const r = await runBuilt('cli', argv);
      expect(r.code, argv.join(' ')).toBe(0);
      expect(r.stdout).toContain('Usage: tswarm');
    }
  });

  it('refuses bad lab arguments before touching the machine', async () => {
    const r = await runBuilt('cli', ['lab', 'up', '--managers', 'three']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('invalid --managers "three"');
    const n = await runBuilt('cli', ['lab', 'status', '--name', 'Bad-Name']);
    expect(n.code).toBe(2);
    expect(n.stderr).toContain('invalid lab name "Bad-Name"');
  });
});
