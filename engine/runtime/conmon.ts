import { spawn } from 'node:child_process';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { TswarmError } from '../../lib/errors.js';

export interface ConmonOptions {
  conmonPath: string;
  runtimePath: string;
  runtimeArgs: string[];
  /** The container's name in the runtime. */
  name: string;
  bundleDir: string;
  containerPidFile: string;
  conmonPidFile: string;
  logPath: string;
  logBytesMax: number;
  exitDir: string;
  socketDir: string;
  /** conmon's own stderr (its errors before the sync pipe exists), kept beside the container. */
  conmonLogPath: string;
}

/** conmon + `crun create` take ~50 ms here; the bound covers a loaded 2-core machine. */
const CREATE_TIMEOUT_MS = 30_000;

/**
 * Starts conmon, which daemonizes, runs `<runtime> create` and stays as the container's parent:
 * it holds the log file, reaps the container and writes its exit code to the exit dir, so both
 * outlive tswarmd. Resolves with the container's PID once it is created (not yet started).
 *
 * conmon reports through the sync pipe (fd 3, `_OCI_SYNCPIPE`) as podman uses it: one JSON object,
 * `{"data": pid}` or `{"data": -1, "message": "…"}`. Without the pipe conmon's parent returns
 * before the container exists.
 */
export async function conmonCreate(o: ConmonOptions): Promise<number> {
  const args = [
    '--api-version', '1',
    '-c', o.name, '-u', o.name, '-n', o.name,
    '-r', o.runtimePath,
    ...o.runtimeArgs.flatMap((a) => ['--runtime-arg', a]),
    '-b', o.bundleDir,
    '-p', o.containerPidFile,
    '-P', o.conmonPidFile,
    '-l', `k8s-file:${o.logPath}`,
    '--log-size-max', String(o.logBytesMax),
    '--exit-dir', o.exitDir,
    '--socket-dir-path', o.socketDir,
    '--syslog=false',
    '--log-level', 'error',
  ];
  const errLog = await open(o.conmonLogPath, 'a');
  try {
    return await new Promise<number>((resolve, reject) => {
      // stdin/stdout must not be pipes Node waits on: conmon's daemon child inherits them (LAB.md).
      const child = spawn(o.conmonPath, args, {
        // conmon writes an empty file named "oom" into its working directory when the container
        // is OOM-killed: keep that inside the container's own bundle, not wherever we were started.
        cwd: o.bundleDir,
        stdio: ['ignore', errLog.fd, errLog.fd, 'pipe'],
        env: { ...process.env, _OCI_SYNCPIPE: '3' },
        detached: true,
      });
      let text = '';
      let settled = false;
      const finish = (err: Error | undefined, pid?: number) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        pipe?.destroy();
        if (err) reject(err);
        else resolve(pid!);
      };
      const timer = setTimeout(() => finish(new TswarmError('DEADLINE_EXCEEDED', `conmon did not report container ${o.name} created within ${CREATE_TIMEOUT_MS} ms`)), CREATE_TIMEOUT_MS);
      const pipe = child.stdio[3] as Readable | null;
      pipe?.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        const report = parseSyncReport(text);
        if (report) finish(report.error, report.pid);
      });
      pipe?.on('end', () => finish(new TswarmError('INTERNAL', `conmon for ${o.name} exited without reporting; see ${o.conmonLogPath}`)));
      pipe?.on('error', () => undefined);
      child.on('error', (e) => finish(new TswarmError('UNSUPPORTED_HOST', `cannot run conmon: ${e.message}`)));
      child.unref();
    });
  } finally {
    await errLog.close();
  }
}

function parseSyncReport(text: string): { pid?: number; error?: Error } | undefined {
  for (const line of text.split('\n')) {
    let parsed: { data?: number; message?: string };
    try {
      parsed = JSON.parse(line) as { data?: number; message?: string };
    } catch {
      continue;
    }
    if (typeof parsed.data !== 'number') continue;
    if (parsed.data > 0) return { pid: parsed.data };
    const why = (parsed.message ?? 'no message').trim();
    return { error: new TswarmError('INTERNAL', `the runtime could not create the container: ${why}`) };
  }
  return undefined;
}
