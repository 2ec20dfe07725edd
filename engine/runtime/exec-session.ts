import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { run } from '../../lib/process/run.js';
import type { RuntimeCommand } from './oci-runtime.js';

/** What `docker exec` asks for beyond the command: all optional, as Docker's exec create body. */
export interface ExecSessionOptions {
  argv: readonly string[];
  /** `KEY=VALUE` entries added to (and overriding) the container's environment. */
  env: readonly string[];
  /** Empty: the container's working directory. */
  workingDir: string;
  /** The resolved user, or undefined for the container's own. */
  user?: { uid: number; gid: number; additionalGids: number[] };
  tty: boolean;
  stdin: boolean;
}

/**
 * A command running in a container with its streams open: output flows as it is written (the
 * caller reads the streams and so sets the pace — nothing is buffered here beyond the pipes).
 * With a TTY, stdout is the terminal's output (stderr is merged into it, as on any terminal).
 */
export interface ExecSession {
  readonly stdin: Writable | null;
  readonly stdout: Readable;
  readonly stderr: Readable | null;
  /** The command's exit code (128 + signal when a signal ended it; -1 when it never ran). */
  readonly exited: Promise<number>;
  /** The command's host PID once the runtime has started it (0 before, or when it never ran). */
  pid(): Promise<number>;
  /** Sets the terminal's size (rows, columns); a no-op without a TTY. The size is kept until the command has started. */
  resize(rows: number, cols: number): Promise<void>;
}

/** After the command exits, how long its output may still drain (a background child holding the pipes would hold it forever). */
const DRAIN_AFTER_EXIT_MS = 2_000;
/** How long the runtime may take to write the command's PID. */
const PID_WAIT_MS = 10_000;
const PID_POLL_MS = 50;
/** Running `stty` against the terminal. */
const RESIZE_TIMEOUT_MS = 5_000;

/** A word for `sh -c`, quoted so the shell passes it on unchanged. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The OCI process an exec runs: the container's own (user, groups, cwd, env, capabilities, as
 * Docker's exec), with the command, the extra environment, the working directory and user asked for.
 * With a TTY, `terminal` is set: crun makes the command's pseudo-terminal (so it is the command's
 * controlling terminal, with job control and Ctrl-C as SIGINT) and copies between it and its own.
 */
export function execProcess(base: Record<string, unknown>, o: ExecSessionOptions): Record<string, unknown> {
  const env = new Map<string, string>();
  for (const e of [...((base.env as string[] | undefined) ?? []), ...o.env]) {
    const eq = e.indexOf('=');
    env.set(eq < 0 ? e : e.slice(0, eq), e);
  }
  if (o.tty && !env.has('TERM')) env.set('TERM', 'TERM=xterm');
  const process: Record<string, unknown> = { ...base, args: [...o.argv], env: [...env.values()], terminal: o.tty };
  if (o.workingDir !== '') process.cwd = o.workingDir;
  if (o.user) {
    const { uid, gid, additionalGids } = o.user;
    process.user = { uid, gid, ...(additionalGids.length > 0 ? { additionalGids } : {}) };
  }
  return process;
}

/**
 * Starts `crun exec` with pipes, or — for a TTY — under util-linux `script`: `crun exec --tty`
 * without a console socket makes the command's pseudo-terminal itself and copies between it and
 * its own stdio, which must be a terminal, so `script` gives it one whose other side is our
 * pipes. (Node cannot take a pty's master over a console socket.) The pty's line discipline echoes
 * and turns Ctrl-C into SIGINT for the foreground job inside, as the pty dockerd makes for
 * `exec -t`. Resizes set the command's terminal directly (stty on its fd 0), which signals it.
 */
export function startExecSession(
  command: RuntimeCommand,
  stateRoot: string,
  runtimeName: string,
  containerProcess: Record<string, unknown>,
  o: ExecSessionOptions,
): Promise<ExecSession> {
  const base = join(stateRoot, `exec-${randomBytes(6).toString('hex')}`);
  const pidFile = `${base}.pid`;
  const processFile = `${base}.process.json`;
  const crunArgv = [
    command.path,
    ...command.args,
    'exec',
    '--pid-file',
    pidFile,
    '--process',
    processFile,
    runtimeName,
  ];
  return writeFile(processFile, JSON.stringify(execProcess(containerProcess, o))).then(() => {
    const child: ChildProcess = o.tty
      ? spawn('script', ['-qfec', crunArgv.map(shellQuote).join(' '), '/dev/null'], {
          stdio: ['pipe', 'pipe', 'ignore'],
          env: { ...process.env, SHELL: '/bin/sh' },
        })
      : spawn(crunArgv[0]!, crunArgv.slice(1), { stdio: [o.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    // Without stdin a TTY session still gets a pipe (script needs one) that is simply never written.
    const stdin = o.stdin ? child.stdin : null;
    child.stdin?.on('error', () => undefined);
    const exited = new Promise<number>((resolve) => {
      child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 + signalNumber(signal) : -1)));
      child.once('error', () => resolve(-1));
    }).then(async (code) => {
      await drained([child.stdout, child.stderr], DRAIN_AFTER_EXIT_MS);
      child.stdin?.destroy();
      await Promise.all([rm(pidFile, { force: true }), rm(processFile, { force: true })]);
      return code;
    });
    let pidKnown: Promise<number> | undefined;
    const pid = () => (pidKnown ??= waitForPid(pidFile, exited));
    return {
      stdin,
      stdout: child.stdout!,
      stderr: o.tty ? null : child.stderr!,
      exited,
      pid,
      resize: async (rows: number, cols: number) => {
        if (!o.tty) return;
        const p = await pid();
        if (p <= 0) return;
        // The command's stdin is the pty's slave: its size is the terminal's, and setting it signals the job.
        await run('stty', ['-F', `/proc/${p}/fd/0`, 'rows', String(rows), 'cols', String(cols)], {
          timeoutMs: RESIZE_TIMEOUT_MS,
          allowFailure: true,
        });
      },
    };
  });
}

/** Waits (bounded) for each stream to end, then destroys what is left open. */
async function drained(streams: ReadonlyArray<Readable | null>, timeoutMs: number): Promise<void> {
  const open = streams.filter((s): s is Readable => s !== null && !s.readableEnded && !s.destroyed);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(open.map((s) => new Promise<void>((r) => (s.once('end', r), s.once('close', r))))),
    new Promise<void>((r) => (timer = setTimeout(r, timeoutMs))),
  ]);
  clearTimeout(timer);
  for (const s of open) if (!s.readableEnded) s.destroy();
}

async function waitForPid(pidFile: string, exited: Promise<number>): Promise<number> {
  let done = false;
  void exited.then(() => (done = true));
  for (let waitedMs = 0; waitedMs < PID_WAIT_MS && !done; waitedMs += PID_POLL_MS) {
    const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(pid) && pid > 0) return pid;
    await new Promise((r) => setTimeout(r, PID_POLL_MS));
  }
  return 0;
}

function signalNumber(signal: NodeJS.Signals): number {
  return constants.signals[signal] ?? constants.signals.SIGTERM;
}
