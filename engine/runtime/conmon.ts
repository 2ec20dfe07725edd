import { runDetached } from '../../lib/process/run.js';
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
  /**
   * The container's stdio is a pseudo-terminal (Docker's TTY): conmon makes the console socket,
   * receives the terminal's master side from the runtime and logs what the container writes to it.
   */
  terminal?: boolean;
  /** Keep a stdin for the container that clients write to through conmon's attach socket (docker run -i). */
  stdin?: boolean;
  /** With stdin: close it when the first attached client leaves (Docker's StdinOnce); otherwise it stays open. */
  stdinOnce?: boolean;
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
 * before the container exists. It is started through the daemon's command runner (the launcher's
 * small process forks faster than the daemon), in the bundle, where it writes an "oom" file when
 * the container is OOM-killed — inside the container's own directory, not wherever we were started.
 */
export async function conmonCreate(o: ConmonOptions): Promise<number> {
  const args = [
    '--api-version',
    '1',
    '-c',
    o.name,
    '-u',
    o.name,
    '-n',
    o.name,
    '-r',
    o.runtimePath,
    ...o.runtimeArgs.flatMap((a) => ['--runtime-arg', a]),
    '-b',
    o.bundleDir,
    '-p',
    o.containerPidFile,
    '-P',
    o.conmonPidFile,
    '-l',
    `k8s-file:${o.logPath}`,
    '--log-size-max',
    String(o.logBytesMax),
    '--exit-dir',
    o.exitDir,
    '--socket-dir-path',
    o.socketDir,
    '--syslog=false',
    '--log-level',
    'error',
    ...(o.terminal ? ['--terminal'] : []),
    ...(o.stdin ? ['--stdin', ...(o.stdinOnce ? [] : ['--leave-stdin-open'])] : []),
  ];
  const result = await runDetached(o.conmonPath, args, {
    cwd: o.bundleDir,
    env: { ...process.env, _OCI_SYNCPIPE: '3' },
    outputPath: o.conmonLogPath,
    timeoutMs: CREATE_TIMEOUT_MS,
  });
  if ('spawnError' in result)
    throw new TswarmError('UNSUPPORTED_HOST', `cannot run conmon: ${result.spawnError.message}`);
  if ('lost' in result)
    throw new TswarmError(
      'UNAVAILABLE',
      `conmon for ${o.name}: ${result.lost}, so whether the container was created is unknown. Retry the operation`,
    );
  const report = parseSyncReport(result.report);
  if (report?.error) throw report.error;
  if (report?.pid !== undefined) return report.pid;
  if (result.outcome === 'timed-out')
    throw new TswarmError(
      'DEADLINE_EXCEEDED',
      `conmon did not report container ${o.name} created within ${CREATE_TIMEOUT_MS} ms`,
    );
  throw new TswarmError('INTERNAL', `conmon for ${o.name} exited without reporting; see ${o.conmonLogPath}`);
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
