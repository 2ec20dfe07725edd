import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import type { Lab } from '../../lab/lab.js';
import { run, type RunResult } from '../../lib/process/run.js';

/**
 * Clients nobody here wrote, pointed at a lab host's tswarmd: the docker CLI shipped on these
 * machines and the Python docker SDK. The local API is a Unix socket, so they run from the test's
 * own namespace; only what reaches a container's network (a published port) needs the host's.
 */
export const DOCKER_CLI = existsSync('/usr/local/bin/docker') ? '/usr/local/bin/docker' : 'docker';

export function socketOf(lab: Lab, host: string): string {
  const h = lab.hosts.find((x) => x.name === host);
  if (!h) throw new Error(`no host ${host}`);
  return h.socket;
}

function dockerEnv(lab: Lab, host: string): NodeJS.ProcessEnv {
  // A fresh config dir: the machine's own docker config (contexts, credentials) must not leak in.
  return { ...process.env, DOCKER_HOST: `unix://${socketOf(lab, host)}`, DOCKER_CONFIG: '/nonexistent-tswarm-test' };
}

/** `docker ARGS` against the host's daemon, never throwing: tests look at the code and output. */
export function docker(
  lab: Lab,
  host: string,
  args: readonly string[],
  options: { timeoutMs?: number; input?: string } = {},
): Promise<RunResult> {
  return run(DOCKER_CLI, args, {
    env: dockerEnv(lab, host),
    timeoutMs: options.timeoutMs ?? 60_000,
    allowFailure: true,
    ...(options.input !== undefined ? { input: options.input } : {}),
  });
}

/** Like docker(), but a non-zero exit fails with everything it printed. */
export async function dockerOk(lab: Lab, host: string, args: readonly string[], timeoutMs = 60_000): Promise<string> {
  const r = await docker(lab, host, args, { timeoutMs });
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')} on ${host} exited ${r.code}:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** A `docker ARGS` that runs until stopped (`events`, `logs -f`): what it prints, as it prints it. */
export interface DockerFollower {
  stdout(): string;
  stderr(): string;
  /** Its exit code once it ended (null if a signal ended it). */
  readonly exited: Promise<number | null>;
  /** Ends it (SIGTERM to the process this test started). */
  stop(): void;
}

export function dockerFollow(lab: Lab, host: string, args: readonly string[]): DockerFollower {
  const child = spawn(DOCKER_CLI, args, { env: dockerEnv(lab, host), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return {
    stdout: () => out,
    stderr: () => err,
    exited,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
}

/** A Python program using the docker SDK (`import docker`; `docker.from_env()` finds the host's socket). */
export function dockerPy(lab: Lab, host: string, program: string, timeoutMs = 60_000): Promise<RunResult> {
  return run('python3', ['-c', program], { env: dockerEnv(lab, host), timeoutMs, allowFailure: true });
}

/**
 * Sends raw bytes to the host's API socket and returns what came back until the daemon closed
 * the connection or `timeoutMs` passed (then `timedOut`): for requests no client would send.
 */
export function rawRequest(
  lab: Lab,
  host: string,
  bytes: string | Buffer,
  timeoutMs = 15_000,
): Promise<{ response: string; timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketOf(lab, host));
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ response: Buffer.concat(chunks).toString(), timedOut: true });
    }, timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      // The daemon may answer and close before a large request is all written (a 413 decided
      // from Content-Length): what it said is the result, the broken pipe is not.
      if ((err.code === 'EPIPE' || err.code === 'ECONNRESET') && chunks.length > 0)
        resolve({ response: Buffer.concat(chunks).toString(), timedOut: false });
      else reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ response: Buffer.concat(chunks).toString(), timedOut: false });
    });
    socket.write(bytes);
  });
}
