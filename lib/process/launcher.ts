/**
 * Starts the daemon's host commands (ip, mount, crun…) from a small helper process instead of
 * the daemon itself. Linux forks copy the parent's page tables, so a spawn from Node costs in
 * proportion to the parent's memory: 2 ms from a 50 MB process, 7 ms from a 140 MB daemon, 14 ms
 * at 250 MB — and a container's life takes half a dozen commands. The helper
 * (launcher-child.py) is a Python process of ~10 MiB that starts commands with posix_spawn (no
 * page-table copy); a Node helper cost ~53 MiB resident per node and forked slower (measured in
 * launcher-child.py's header). The two speak JSON lines over the helper's stdin and stdout.
 *
 * The launcher is an optimisation only: a command it cannot take (too many in flight, or no
 * helper: python3 missing) starts from the daemon as before, and a dead helper is replaced on
 * the next command. A command in flight when the helper dies is reported lost, never started
 * again: the helper may have run it, and a mount or an nft rule must not be made twice.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../log.js';
import {
  DEFAULT_TIMEOUT_MS,
  spawnDetachedDirect,
  spawnDirect,
  type CommandOutcome,
  type CommandResult,
  type CommandRunner,
  type DetachOptions,
  type DetachResult,
  type MountCall,
  type MountCallResult,
  type RunOptions,
} from './run.js';

/** Commands in flight through the helper at most; more start from the daemon directly. */
const IN_FLIGHT_MAX = 256;
/** The helper enforces each command's deadline; this is for a helper that stops answering. */
const ANSWER_GRACE_MS = 5_000;
/** Helpers that die before saying ready, in a row, after which the daemon starts commands itself. */
const START_FAILURES_MAX = 3;
/** An answer line longer than this is not one (a command's output is bounded at 4 MiB, base64 ~5.6 MiB). */
const ANSWER_LINE_CHARS_MAX = 8 * 1024 * 1024;
/** The interpreter: -I isolates it from PYTHON* variables and the user's site, -S skips site imports. */
const PYTHON = 'python3';
const PYTHON_FLAGS = ['-I', '-S'];

interface Waiter {
  resolve(outcome: CommandResult | DetachResult | MountCallResult): void;
  timer: NodeJS.Timeout;
}

/** An answer as the helper writes it: buffers in base64. */
interface WireAnswer {
  id: number;
  outcome:
    | (Omit<CommandOutcome, 'stdout' | 'stderr'> & { stdout: string; stderr: string })
    | Exclude<CommandResult | DetachResult | MountCallResult, CommandOutcome>;
}

export interface LauncherOptions {
  /** The helper's script; launcher-child.py beside this module by default. */
  childScript?: string;
}

export class Launcher implements CommandRunner {
  private child: ChildProcess | undefined;
  /** The helper's output not yet ended by a newline. */
  private partial: string[] = [];
  private partialChars = 0;
  /** Set once the helper said it is ready: only then do commands go to it. */
  private ready = false;
  private startFailures = 0;
  private readonly waiters = new Map<number, Waiter>();
  private nextId = 0;
  private closed = false;
  private readonly childScript: string;

  constructor(
    private readonly log: Logger,
    options: LauncherOptions = {},
  ) {
    this.childScript = options.childScript ?? fileURLToPath(new URL('./launcher-child.py', import.meta.url));
  }

  execute(command: string, args: readonly string[], options: RunOptions): Promise<CommandResult> {
    const child = this.available();
    if (!child) return spawnDirect(command, args, options);
    // A command given no env gets the helper's: this process's, as it was when the helper started.
    const input = options.input === undefined ? undefined : Buffer.from(options.input).toString('base64');
    return this.ask<CommandResult>(
      child,
      {
        kind: 'run',
        command,
        args: [...args],
        env: options.env,
        cwd: options.cwd,
        input,
        timeoutMs: options.timeoutMs,
      },
      options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    );
  }

  /** conmon and its like: started detached by the helper, which reads their report. */
  detach(command: string, args: readonly string[], options: DetachOptions): Promise<DetachResult> {
    const child = this.available();
    if (!child) return spawnDetachedDirect(command, args, options);
    return this.ask<DetachResult>(child, { kind: 'detach', command, args: [...args], ...options }, options.timeoutMs);
  }

  /** mount(2) and umount2(2) in the helper (no mount(8) process); undefined without a helper. */
  mountCall(call: MountCall, timeoutMs: number): Promise<MountCallResult> | undefined {
    const child = this.available();
    if (!child) return undefined;
    return this.ask<MountCallResult>(child, call, timeoutMs);
  }

  private available(): ChildProcess | undefined {
    return this.closed || this.waiters.size >= IN_FLIGHT_MAX ? undefined : this.readyChild();
  }

  private ask<T extends CommandResult | DetachResult | MountCallResult>(
    child: ChildProcess,
    request: object,
    timeoutMs: number,
  ): Promise<T> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(
        () => this.lose(id, 'the command launcher did not answer in time'),
        timeoutMs + ANSWER_GRACE_MS,
      );
      this.waiters.set(id, {
        resolve: resolve as (outcome: CommandResult | DetachResult | MountCallResult) => void,
        timer,
      });
      child.stdin?.write(JSON.stringify({ id, ...request }) + '\n');
    });
  }

  /** The helper if it is ready; otherwise starts one (once) and lets this command go direct. */
  private readyChild(): ChildProcess | undefined {
    if (this.child) return this.ready ? this.child : undefined;
    if (this.startFailures >= START_FAILURES_MAX) return undefined;
    this.startChild();
    return undefined;
  }

  private startChild(): void {
    try {
      const child = spawn(PYTHON, [...PYTHON_FLAGS, this.childScript], { stdio: ['pipe', 'pipe', 'inherit'] });
      this.partial = [];
      this.partialChars = 0;
      child.stdout?.setEncoding('utf8');
      child.stdout?.on('data', (chunk: string) => this.receive(child, chunk));
      child.on('exit', (code, signal) => this.exited(child, code, signal));
      child.on('error', (err) => {
        // Not installed (ENOENT): no exit event follows.
        this.log.warn({ err }, 'the command launcher failed; commands start from the daemon meanwhile');
        this.exited(child, null, null);
      });
      // A daemon that exits takes the helper with it (its stdin ends); a pipe error is that exit.
      child.stdin?.on('error', () => undefined);
      // The daemon must not wait on its helper to exit.
      child.unref();
      for (const s of [child.stdin, child.stdout]) (s as unknown as { unref?: () => void } | null)?.unref?.();
      this.child = child;
    } catch (err) {
      this.startFailures++;
      this.log.warn({ err }, 'cannot start the command launcher; starting commands from the daemon');
    }
  }

  /** Lines from the helper: its ready signal, then answers. */
  private receive(child: ChildProcess, chunk: string): void {
    if (this.child !== child) return;
    // An answer may span many reads (4 MiB of output): join only at a line's end.
    if (!chunk.includes('\n')) {
      this.partial.push(chunk);
      this.partialChars += chunk.length;
      if (this.partialChars > ANSWER_LINE_CHARS_MAX) {
        this.log.warn({ chars: this.partialChars }, 'the command launcher wrote an answer too long; restarting it');
        child.kill('SIGKILL');
      }
      return;
    }
    const lines = [...this.partial, chunk].join('').split('\n');
    const rest = lines.pop() ?? '';
    this.partial = rest === '' ? [] : [rest];
    this.partialChars = rest.length;
    for (const line of lines) {
      let message: WireAnswer | { ready: true };
      try {
        message = JSON.parse(line) as WireAnswer | { ready: true };
      } catch {
        this.log.warn({ line: line.slice(0, 200) }, 'the command launcher wrote a line that is not JSON');
        continue;
      }
      if ('ready' in message) {
        this.ready = true;
        this.startFailures = 0;
      } else {
        this.settle(message);
      }
    }
  }

  private exited(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    if (!this.ready) this.startFailures++;
    this.child = undefined;
    this.ready = false;
    if (!this.closed)
      this.log.warn(
        { code, signal, lost: this.waiters.size, startFailures: this.startFailures },
        'the command launcher exited; the next command starts a new one',
      );
    for (const id of [...this.waiters.keys()]) this.lose(id, 'the command launcher exited before it finished');
  }

  private settle(answer: WireAnswer): void {
    const waiter = this.waiters.get(answer.id);
    if (!waiter) return;
    this.waiters.delete(answer.id);
    clearTimeout(waiter.timer);
    const o = answer.outcome;
    waiter.resolve(
      'stdout' in o ? { ...o, stdout: Buffer.from(o.stdout, 'base64'), stderr: Buffer.from(o.stderr, 'base64') } : o,
    );
  }

  private lose(id: number, why: string): void {
    const waiter = this.waiters.get(id);
    if (!waiter) return;
    this.waiters.delete(id);
    clearTimeout(waiter.timer);
    waiter.resolve({ lost: why });
  }

  close(): void {
    this.closed = true;
    this.child?.stdin?.end(); // the helper exits when its input ends
    this.child = undefined;
  }
}
