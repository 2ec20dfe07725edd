import { spawn, type ChildProcess } from 'node:child_process';
import { run } from '../../lib/process/run.js';
import { waitFor } from '../../lib/poll.js';

/**
 * A client program (the docker CLI, tswarm) driven through a real pseudo-terminal, as a user at a
 * terminal drives it: util-linux `script` makes the pty; its size is set with `stty` on the pty's
 * device, which sends the client SIGWINCH as a window change does. Output is kept whole (a
 * session is short) with escape sequences left in; `expect` waits for a pattern, bounded.
 */
export class PtySession {
  private output = '';
  private readonly child: ChildProcess;
  private ptyPath = '';
  readonly exited: Promise<number | null>;

  /** `command` is a shell command line; the pty starts at `rows`×`cols`. */
  constructor(command: string, env: NodeJS.ProcessEnv, rows = 24, cols = 80) {
    // The pty's path comes first (a marker line), then the client replaces the shell.
    const line = `stty rows ${rows} cols ${cols}; echo "pty=$(tty)"; exec ${command}`;
    this.child = spawn('script', ['-qfec', line, '/dev/null'], { env: { ...env, SHELL: '/bin/sh' }, stdio: 'pipe' });
    this.child.stdout!.on('data', (c: Buffer) => (this.output += c.toString('utf8')));
    this.child.stderr!.on('data', (c: Buffer) => (this.output += c.toString('utf8')));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  get text(): string {
    return this.output;
  }

  /** Output since `from` (an index into `text`) matching `pattern`; fails after `timeoutMs` showing what came. */
  async expect(pattern: RegExp, options: { from?: number; timeoutMs?: number } = {}): Promise<RegExpExecArray> {
    const from = options.from ?? 0;
    try {
      return await waitFor(() => pattern.exec(this.output.slice(from)) ?? undefined, {
        what: `${pattern} in the terminal`,
        timeoutMs: options.timeoutMs ?? 30_000,
      });
    } catch (err) {
      throw new Error(`${(err as Error).message}; the terminal showed:\n${JSON.stringify(this.output.slice(from))}`);
    }
  }

  /** Types bytes as a user would (a command line, Ctrl-C as "\x03"). */
  type(bytes: string): void {
    this.child.stdin!.write(bytes);
  }

  /** Changes the terminal's size, as resizing the window does (the client gets SIGWINCH). */
  async resize(rows: number, cols: number): Promise<void> {
    if (this.ptyPath === '') this.ptyPath = (await this.expect(/pty=(\/dev\/pts\/\d+)/))[1]!;
    await run('stty', ['-F', this.ptyPath, 'rows', String(rows), 'cols', String(cols)], { timeoutMs: 5_000 });
  }

  /** Waits (bounded) for the client to end; its exit code. */
  async exitCode(timeoutMs = 30_000): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([
      this.exited,
      new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (code === 'timeout') {
      this.kill();
      throw new Error(
        `the client did not end in ${timeoutMs} ms; the terminal showed:\n${JSON.stringify(this.output)}`,
      );
    }
    return code;
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}
