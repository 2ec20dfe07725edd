import { spawn, type ChildProcess } from 'node:child_process';
import { builtEntry } from '../paths.js';

/** Helpers for tests that run the built CLI and daemon as real processes. */
export interface Exited {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The command line, run inside a test's own network namespace when one is given (nsenter execs: same pid). */
function commandLine(entry: string, args: string[], netns?: string): [string, string[]] {
  const node = [process.execPath, '--enable-source-maps', entry, ...args];
  return netns ? ['nsenter', [`--net=/run/netns/${netns}`, '--', ...node]] : [node[0]!, node.slice(1)];
}

export function runBuilt(
  which: 'cli' | 'daemon',
  args: string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 20_000,
  netns?: string,
): Promise<Exited> {
  return new Promise((resolve, reject) => {
    const [cmd, argv] = commandLine(builtEntry(which), args, netns);
    const child = spawn(cmd, argv, { env: withEnv(env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A daemon makes a bridge and an nft table: tests run it in a namespace of their own (`netns`). */
export function startBuiltDaemon(args: string[], netns: string): ChildProcess {
  const [cmd, argv] = commandLine(builtEntry('daemon'), args, netns);
  return spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: withEnv({}) });
}

export function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** The test's environment without TSWARM_HOST (a developer's shell may set it), plus `extra`. */
function withEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env['TSWARM_HOST'];
  return { ...env, ...extra };
}
