import { spawn, type SpawnOptions } from 'node:child_process';
import { TswarmError } from './errors.js';

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
const OUTPUT_BYTES_LIMIT = 4 * 1024 * 1024;
export const DEFAULT_TIMEOUT_MS = 60_000;

/** What a finished command left: how it ended and what it printed (bounded). */
export interface CommandOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: Buffer;
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

/** Something that runs commands for run(): this process itself, or a launcher (lib/launcher.ts). */
export interface CommandRunner {
  execute(command: string, args: readonly string[], options: RunOptions): Promise<CommandResult>;
}

/** Runs the command as a child of this process, killed at its deadline, its output bounded. */
export function spawnDirect(command: string, args: readonly string[], options: RunOptions): Promise<CommandOutcome | SpawnFailure> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const spawnOptions: SpawnOptions = { stdio: ['pipe', 'pipe', 'pipe'], env: options.env ?? process.env, cwd: options.cwd };
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
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ spawnError: { code: e.code, message: e.message } });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err) });
    });
    // A command that exits before reading its input closes the pipe: that is not our failure.
    child.stdin?.on('error', () => undefined);
    if (options.input !== undefined) child.stdin?.end(options.input);
    else child.stdin?.end();
  });
}

const direct: CommandRunner = { execute: spawnDirect };
let runner: CommandRunner = direct;

/**
 * Makes run() start commands through `next` (the daemon installs its launcher); undefined goes
 * back to starting them from this process.
 */
export function useCommandRunner(next: CommandRunner | undefined): void {
  runner = next ?? direct;
}

/**
 * Runs a host tool (ip, nft, mount, crun…) to completion, with a deadline, and fails with an error
 * that names the command and quotes what it printed — the message an operator needs.
 */
export async function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const outcome = await runner.execute(command, args, options);
  if ('lost' in outcome) {
    throw new TswarmError('UNAVAILABLE', `${command} ${args.join(' ')}: ${outcome.lost}, so whether it ran is unknown. Retry the operation`);
  }
  if ('spawnError' in outcome) {
    const e = outcome.spawnError;
    const hint = e.code === 'ENOENT' ? `: ${command} is not installed or not on PATH` : `: ${e.message}`;
    throw new TswarmError('UNSUPPORTED_HOST', `cannot run ${command}${hint}`);
  }
  const { code, signal } = outcome;
  const result = { code, signal, stdout: outcome.stdout.toString(), stderr: outcome.stderr.toString() };
  if (code === 0 || options.allowFailure) return result;
  const what = signal ? `was killed by ${signal}${signal === 'SIGKILL' ? ` (deadline ${timeoutMs} ms)` : ''}` : `exited with ${code}`;
  const detail = result.stderr.trim() || result.stdout.trim();
  throw new TswarmError('INTERNAL', `${command} ${args.join(' ')} ${what}${detail ? `: ${detail}` : ''}`);
}
