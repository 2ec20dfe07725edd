/**
 * Starts the daemon's host commands (ip, mount, crun…) from a small helper process instead of
 * the daemon itself. Linux forks copy the parent's page tables, so a spawn costs in proportion
 * to the parent's memory: 2 ms from a 50 MB process, 7 ms from a 140 MB daemon, 14 ms at 250 MB
 * — and a container's life takes half a dozen commands. The helper (launcher-child.ts) stays
 * small, so its forks stay cheap, and the IPC round trip costs a fraction of a millisecond.
 *
 * The launcher is an optimisation only: a command it cannot take (too many in flight, or no
 * helper) starts from the daemon as before, and a dead helper is replaced on the next command.
 * A command in flight when the helper dies is reported lost, never started again: the helper
 * may have run it, and a mount or an nft rule must not be made twice.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../log.js';
import {
  DEFAULT_TIMEOUT_MS,
  spawnDetachedDirect,
  spawnDirect,
  type CommandResult,
  type CommandRunner,
  type DetachOptions,
  type DetachResult,
  type RunOptions,
} from './run.js';

/** Commands in flight through the helper at most; more start from the daemon directly. */
const IN_FLIGHT_MAX = 256;
/** The helper enforces each command's deadline; this is for a helper that stops answering. */
const ANSWER_GRACE_MS = 5_000;
/** The helper is a plain Node process: a small heap keeps its forks cheap. */
const CHILD_HEAP_MB = 32;
/** Helpers that die before saying ready, in a row, after which the daemon starts commands itself. */
const START_FAILURES_MAX = 3;

interface Waiter {
  resolve(outcome: CommandResult | DetachResult): void;
  timer: NodeJS.Timeout;
}

interface Answer {
  id: number;
  outcome: CommandResult | DetachResult;
}

export interface LauncherOptions {
  /** The helper's script; the compiled launcher-child.js beside this module by default. */
  childScript?: string;
}

export class Launcher implements CommandRunner {
  private child: ChildProcess | undefined;
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
    this.childScript = options.childScript ?? fileURLToPath(new URL('./launcher-child.js', import.meta.url));
  }

  execute(command: string, args: readonly string[], options: RunOptions): Promise<CommandResult> {
    const child = this.available();
    if (!child) return spawnDirect(command, args, options);
    // A command given no env gets the helper's: this process's, as it was when the helper started.
    return this.ask<CommandResult>(
      child,
      { kind: 'run', command, args: [...args], options },
      options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    );
  }

  /** conmon and its like: started detached by the helper, which reads their report. */
  detach(command: string, args: readonly string[], options: DetachOptions): Promise<DetachResult> {
    const child = this.available();
    if (!child) return spawnDetachedDirect(command, args, options);
    return this.ask<DetachResult>(child, { kind: 'detach', command, args: [...args], options }, options.timeoutMs);
  }

  private available(): ChildProcess | undefined {
    return this.closed || this.waiters.size >= IN_FLIGHT_MAX ? undefined : this.readyChild();
  }

  private ask<T extends CommandResult | DetachResult>(
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
      this.waiters.set(id, { resolve: resolve as (outcome: CommandResult | DetachResult) => void, timer });
      child.send({ id, ...request });
    });
  }

  /** The helper if it is ready; otherwise starts one (once) and lets this command go direct. */
  private readyChild(): ChildProcess | undefined {
    if (this.child) return this.ready && this.child.connected ? this.child : undefined;
    if (this.startFailures >= START_FAILURES_MAX) return undefined;
    this.startChild();
    return undefined;
  }

  private startChild(): void {
    try {
      const child = fork(this.childScript, [], {
        serialization: 'advanced', // Buffers cross as Buffers (stdin input, command output)
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
        execArgv: [`--max-old-space-size=${CHILD_HEAP_MB}`],
      });
      child.on('message', (message: Answer | { ready: true }) => {
        if ('ready' in message) {
          this.ready = true;
          this.startFailures = 0;
        } else {
          this.settle(message);
        }
      });
      child.on('exit', (code, signal) => {
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
      });
      child.on('error', (err) => this.log.warn({ err }, 'the command launcher failed'));
      // The daemon must not wait on its helper to exit.
      child.unref();
      child.channel?.unref();
      this.child = child;
    } catch (err) {
      this.startFailures++;
      this.log.warn({ err }, 'cannot start the command launcher; starting commands from the daemon');
    }
  }

  private settle(answer: Answer): void {
    const waiter = this.waiters.get(answer.id);
    if (!waiter) return;
    this.waiters.delete(answer.id);
    clearTimeout(waiter.timer);
    waiter.resolve(answer.outcome);
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
    if (this.child?.connected) this.child.disconnect();
    this.child = undefined;
  }
}
