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
const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * Runs a host tool (ip, nft, mount, crun…) to completion, with a deadline, and fails with an error
 * that names the command and quotes what it printed — the message an operator needs.
 */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const spawnOptions: SpawnOptions = { stdio: ['pipe', 'pipe', 'pipe'], env: options.env ?? process.env, cwd: options.cwd };
  return new Promise((resolve, reject) => {
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
      const hint = e.code === 'ENOENT' ? `: ${command} is not installed or not on PATH` : `: ${e.message}`;
      reject(new TswarmError('UNSUPPORTED_HOST', `cannot run ${command}${hint}`, { cause: e }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result = { code, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
      if (code === 0 || options.allowFailure) return resolve(result);
      const what = signal ? `was killed by ${signal}${signal === 'SIGKILL' ? ` (deadline ${timeoutMs} ms)` : ''}` : `exited with ${code}`;
      const detail = result.stderr.trim() || result.stdout.trim();
      reject(new TswarmError('INTERNAL', `${command} ${args.join(' ')} ${what}${detail ? `: ${detail}` : ''}`));
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
    else child.stdin?.end();
  });
}
