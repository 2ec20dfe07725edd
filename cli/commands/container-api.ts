/**
 * The container endpoints of the Engine API as the container commands use them: the shapes they
 * read (moby's swagger names) and the streams they copy — Docker's multiplexed output, the wait
 * for an exit.
 */
import type { Socket } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { TswarmError } from '../../lib/errors.js';
import { LOCAL_CALL_DEADLINE_MS, type ApiClient } from '../../lib/api-client/client.js';
import { demux } from '../../lib/api-client/demux.js';
import { readJsonLines } from '../../lib/api-client/json-lines.js';
import type { CliContext } from '../context.js';

export interface DockerPort {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: string;
}

/** `GET /containers/json`: one container, the fields `ps` shows. */
export interface ContainerSummaryJson {
  Id: string;
  Names: string[];
  Image: string;
  Command: string;
  /** Unix seconds. */
  Created: number;
  Ports: DockerPort[];
  Labels: Record<string, string>;
  State: string;
  /** "Up 3 minutes", "Exited (0) 2 seconds ago", as the daemon words it. */
  Status: string;
  /** With `size=1`: the bytes it changed over its image, and with its image. */
  SizeRw?: number;
  SizeRootFs?: number;
}

interface CpuStats {
  cpu_usage: { total_usage: number; percpu_usage?: number[] };
  system_cpu_usage?: number;
  online_cpus?: number;
}

/** `GET /containers/{id}/stats?stream=false`: two samples (now and the one before), the fields `stats` shows. */
export interface StatsJson {
  id: string;
  name: string;
  cpu_stats: CpuStats;
  precpu_stats: CpuStats;
  memory_stats: { usage?: number; limit?: number; stats?: Record<string, number> };
  pids_stats: { current?: number };
}

export interface CreateResponse {
  Id: string;
  Warnings: string[] | null;
}

export interface WaitResponse {
  StatusCode: number;
  Error?: { Message: string } | null;
}

export interface ExecInspectJson {
  Running: boolean;
  /** null until the command ended. */
  ExitCode: number | null;
}

/** A container reference (ID, prefix or name) as a path segment. */
export function containerPath(ref: string, suffix = ''): string {
  return `/containers/${encodeURIComponent(ref)}${suffix}`;
}

export const stderr = (data: string | Uint8Array) => process.stderr.write(data);

/**
 * Copies Docker's multiplexed stream to stdout and stderr as the bytes the container wrote:
 * decoding them as text would mangle binary output.
 */
export async function copyOutput(c: CliContext, source: AsyncIterable<Buffer>): Promise<void> {
  for await (const frame of demux(source)) (frame.stream === 'stderr' ? stderr : c.out)(frame.data);
}

/** The bytes of a hijacked connection: what came with the 101's headers, then the socket until it ends. */
export async function* hijackedBytes(socket: Socket, head: Buffer): AsyncGenerator<Buffer> {
  if (head.length > 0) yield head;
  yield* socket as AsyncIterable<Buffer>;
}

/** A wait the daemon has taken: `exit` settles when the condition is met; `cancel` gives it up. */
export interface PendingWait {
  exit: Promise<WaitResponse>;
  cancel(): void;
}

/**
 * Asks the daemon to wait for the container (`next-exit`, `removed`, or `not-running`) and
 * returns once its headers are in — `run` sends this before the start, so the exit cannot be
 * missed. The wait itself lasts as long as the container runs, as `docker wait` does.
 */
export async function requestWait(api: ApiClient, ref: string, condition: string): Promise<PendingWait> {
  const res = await api.request('POST', containerPath(ref, '/wait'), {
    query: { condition },
    timeoutMs: LOCAL_CALL_DEADLINE_MS,
  });
  const exit = readWaitResponse(res);
  // A run whose start failed never reads it: that must not be an unhandled rejection.
  exit.catch(() => undefined);
  return { exit, cancel: () => res.destroy() };
}

async function readWaitResponse(res: IncomingMessage): Promise<WaitResponse> {
  try {
    for await (const r of readJsonLines<WaitResponse>(res)) return r;
  } finally {
    res.destroy();
  }
  throw new TswarmError('UNAVAILABLE', 'tswarmd ended the wait without an exit code. Check it with "tswarm ps -a"');
}
