import { spawn, type SpawnOptions } from 'node:child_process';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { TswarmError } from '../errors.js';

export interface RunOptions {
  timeoutMs?: number;
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Do not throw on a non-zero exit; return the result instead. */
  allowFailure?: boolean;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Output kept from a command; a runaway command cannot grow the daemon's memory without bound. */
export const OUTPUT_BYTES_LIMIT = 4 * 1024 * 1024;
export const DEFAULT_TIMEOUT_MS = 60_000;

/** What a finished command left: how it ended and what it printed (bounded). */
export interface CommandOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: Buffer;
  /** Killed because its deadline passed (not by someone else's signal). */
  timedOut?: boolean;
}

/** A command that could not be started at all (errno code such as ENOENT, and the message). */
export interface SpawnFailure {
  spawnError: { code: string | undefined; message: string };
}

/** A command whose end was never reported (its launcher died): whether it ran is unknown. */
export interface LostCommand {
  lost: string;
}

export type CommandResult = CommandOutcome | SpawnFailure | LostCommand;

/**
 * A process started to stay (a monitor such as conmon): detached, its output appended to a file,
 * and one report read from its fd 3 — not waited for.
 */
export interface DetachOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** stdout and stderr are appended here (its own errors, before it could report). */
  outputPath: string;
  /** How long the report may take; the process is left running when it does not come. */
  timeoutMs: number;
}

/** What came on fd 3: read until it held one JSON value, or the pipe ended, or the deadline passed. */
export interface DetachedReport {
  report: string;
  outcome: 'reported' | 'ended' | 'timed-out';
}

export type DetachResult = DetachedReport | SpawnFailure | LostCommand;

/** mount(2) or umount2(2), as the launcher makes them (mount.ts). */
export type MountCall =
  | { kind: 'mount'; source: string; target: string; fstype: string; flags: number; data: string }
  | { kind: 'umount'; target: string; flags: number };

/** How a mount call ended: errno 0 when it was done. */
export type MountCallResult = { errno: number; message: string } | LostCommand;

/** Something that runs commands for run(): this process itself, or a launcher (lib/launcher.ts). */
export interface CommandRunner {
  execute(command: string, args: readonly string[], options: RunOptions): Promise<CommandResult>;
  detach(command: string, args: readonly string[], options: DetachOptions): Promise<DetachResult>;
  /** Makes the call itself; undefined when it cannot (mount.ts then runs mount(8) or umount(8)). */
  mountCall?(call: MountCall, timeoutMs: number): Promise<MountCallResult> | undefined;
}

/** Runs the command as a child of this process, killed at its deadline, its output bounded. */
export function spawnDirect(
  command: string,
  args: readonly string[],
  options: RunOptions,
): Promise<CommandOutcome | SpawnFailure> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const spawnOptions: SpawnOptions = {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: options.env ?? process.env,
    cwd: options.cwd,
  };
  return new Promise((resolve) => {
    const child = spawn(command, args, spawnOptions);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    const collect = (into: Buffer[]) => (chunk: Buffer) => {
      if (outBytes >= OUTPUT_BYTES_LIMIT) return;
      outBytes += chunk.length;
      into.push(chunk);
    };
    child.stdout?.on('data', collect(out));
    child.stderr?.on('data', collect(err));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ spawnError: { code: e.code, message: e.message } });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err), timedOut });
    });
    // A command that exits before reading its input closes the pipe: that is not our failure.
    child.stdin?.on('error', () => undefined);
    if (options.input !== undefined) child.stdin?.end(options.input);
    else child.stdin?.end();
  });
}

/** A detached process's fd 3 report is a line of JSON; more than this is read no further. */
const REPORT_CHARS_MAX = 64 * 1024;

function holdsJsonValue(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Starts a detached process from this one and reads its fd 3 report (see DetachOptions). */
export async function spawnDetachedDirect(
  command: string,
  args: readonly string[],
  o: DetachOptions,
): Promise<DetachedReport | SpawnFailure> {
  const output = await open(o.outputPath, 'a');
  try {
    return await new Promise((resolve) => {
      // stdin/stdout must not be pipes this process waits on: the detached process's own children inherit them.
      const child = spawn(command, args, {
        cwd: o.cwd,
        env: o.env,
        stdio: ['ignore', output.fd, output.fd, 'pipe'],
        detached: true,
      });
      let text = '';
      let settled = false;
      const finish = (result: DetachedReport | SpawnFailure) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        pipe?.destroy();
        child.unref();
        resolve(result);
      };
      const timer = setTimeout(() => finish({ report: text, outcome: 'timed-out' }), o.timeoutMs);
      const pipe = child.stdio[3] as Readable | null;
      pipe?.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if (holdsJsonValue(text.trim())) finish({ report: text, outcome: 'reported' });
        // A report is one small JSON value; this much text without one is not coming.
        else if (text.length > REPORT_CHARS_MAX) finish({ report: text.slice(0, REPORT_CHARS_MAX), outcome: 'ended' });
      });
      pipe?.on('end', () => finish({ report: text, outcome: 'ended' }));
      pipe?.on('error', () => undefined);
      child.on('error', (e: NodeJS.ErrnoException) => finish({ spawnError: { code: e.code, message: e.message } }));
    });
  } finally {
    await output.close();
  }
}

const direct: CommandRunner = { execute: spawnDirect, detach: spawnDetachedDirect };
let runner: CommandRunner = direct;

/**
 * Makes run() start commands through `next` (the daemon installs its launcher); undefined goes
 * back to starting them from this process.
 */
export function useCommandRunner(next: CommandRunner | undefined): void {
  runner = next ?? direct;
}

/** A mount call through the installed runner; undefined when it makes none (no launcher). */
export function runMountCall(call: MountCall, timeoutMs: number): Promise<MountCallResult> | undefined {
  return runner.mountCall?.(call, timeoutMs);
}

/** Starts a long-lived helper (conmon) through the installed runner and returns its fd 3 report. */
export function runDetached(command: string, args: readonly string[], options: DetachOptions): Promise<DetachResult> {
  return runner.detach(command, args, options);
}

/**
 * Runs a host tool (ip, nft, mount, crun…) to completion, with a deadline, and fails with an error
 * that names the command and quotes what it printed — the message an operator needs.
 */
export async function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const outcome = await runner.execute(command, args, options);
  if ('lost' in outcome) {
    throw new TswarmError(
      'UNAVAILABLE',
      `${command} ${args.join(' ')}: ${outcome.lost}, so whether it ran is unknown. Retry the operation`,
    );
  }
  if ('spawnError' in outcome) {
    const e = outcome.spawnError;
    const hint = e.code === 'ENOENT' ? `: ${command} is not installed or not on PATH` : `: ${e.message}`;
    throw new TswarmError('UNSUPPORTED_HOST', `cannot run ${command}${hint}`);
  }
  const { code, signal } = outcome;
  const result = { code, signal, stdout: outcome.stdout.toString(), stderr: outcome.stderr.toString() };
  if (code === 0 || options.allowFailure) return result;
  // Only our own deadline is called one: an OOM kill or an operator's kill -9 is a SIGKILL too.
  const what = outcome.timedOut
    ? `did not finish within its deadline (${timeoutMs} ms) and was killed`
    : signal
      ? `was killed by ${signal}`
      : `exited with ${code}`;
  const detail = result.stderr.trim() || result.stdout.trim();
  throw new TswarmError('INTERNAL', `${command} ${args.join(' ')} ${what}${detail ? `: ${detail}` : ''}`);
}
