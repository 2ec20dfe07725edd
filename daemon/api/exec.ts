import { TswarmError } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import type { Readable } from 'node:stream';
import type { Engine, ExecSession } from '../../engine/engine.js';
import { cannotRunExitCode, EXIT_ENGINE_ERROR } from '../../engine/runtime/process.js';
import type { Route } from './router.js';
import { field, member, stringArray, type JsonObject } from './body.js';
import { muxFrames, type Sink } from './reply.js';
import { containerRef, noSuchContainer, terminalSizeParams } from './params.js';
import { pumpInput, pumpOutput, Tail } from './hijack-pump.js';
import { muxContentType } from './container-streams.js';

/** Exec records kept for `GET /exec/{id}/json`; the oldest go first past this. */
export const EXECS_MAX = 1_000;

interface ExecRecord {
  id: string;
  containerId: string;
  cmd: string[];
  user: string;
  env: string[];
  workingDir: string;
  tty: boolean;
  attachStdin: boolean;
  attachStdout: boolean;
  attachStderr: boolean;
  detachKeys: string;
  /** `[rows, columns]` for the terminal, from create, start or a resize before the command runs. */
  consoleSize: [number, number] | undefined;
  started: boolean;
  running: boolean;
  exitCode: number | null;
  pid: number;
  /** While it runs: the command, for resizes. */
  session?: ExecSession;
}

/** Exec instances in memory, as dockerd keeps them: bounded, and dropped with their container. */
export class ExecStore {
  private readonly records = new Map<string, ExecRecord>();

  constructor(
    /** The IDs of the containers that exist now; asked once per add or look-up, not per record. */
    private readonly liveContainerIds: () => ReadonlySet<string>,
    private readonly max = EXECS_MAX,
  ) {}

  add(r: ExecRecord): void {
    const live = this.liveContainerIds();
    for (const [id, old] of this.records) if (!old.running && !live.has(old.containerId)) this.records.delete(id);
    this.records.set(r.id, r);
    for (const id of this.records.keys()) {
      if (this.records.size <= this.max) break;
      this.records.delete(id);
    }
  }

  get(id: string): ExecRecord {
    const r = this.records.get(id);
    if (!r || (!r.running && !this.liveContainerIds().has(r.containerId)))
      throw new TswarmError('NOT_FOUND', `No such exec instance: ${id}`);
    return r;
  }

  get size(): number {
    return this.records.size;
  }
}

function refuse(body: JsonObject, name: string, why: string): void {
  const v = member(body, name);
  if (v === true || (typeof v === 'string' && v !== '') || (Array.isArray(v) && v.length > 0))
    throw new TswarmError('INVALID_ARGUMENT', `${name} is not supported for exec yet: ${why}`);
}

function isRunning(engine: Engine, id: string): boolean {
  return engine.containerInspect(id).container?.state?.status === 'running';
}

/** `Env` as Docker takes it: `KEY=VALUE` (or a bare `KEY`), the key never empty. */
function execEnv(body: JsonObject): string[] {
  const env = stringArray(body, 'Env') ?? [];
  for (const e of env)
    if (e === '' || e.startsWith('='))
      throw new TswarmError('INVALID_ARGUMENT', `invalid environment variable "${e}". Give KEY=VALUE`);
  return env;
}

function execWorkingDir(body: JsonObject): string {
  const dir = field(body, 'WorkingDir', 'string') ?? '';
  if (dir !== '' && !dir.startsWith('/'))
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `the working directory "${dir}" is invalid. It needs to be an absolute path`,
    );
  return dir;
}

/** A terminal size `[rows, columns]` (`ConsoleSize`), or undefined. */
function consoleSize(body: JsonObject): [number, number] | undefined {
  const size = field(body, 'ConsoleSize', 'array');
  if (size === undefined || size.length === 0) return undefined;
  const [h, w] = size;
  if (size.length !== 2 || !validDimension(h) || !validDimension(w))
    throw new TswarmError('INVALID_ARGUMENT', 'ConsoleSize must be [height, width], two non-negative integers');
  return [h, w];
}

function validDimension(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffff;
}

function execCreate(engine: Engine, store: ExecStore): Route {
  return {
    method: 'POST',
    path: '/containers/{id}/exec',
    handler: async (req, reply) => {
      const ref = containerRef(req.params);
      const body = await req.json();
      const cmd = stringArray(body, 'Cmd') ?? [];
      if (cmd.length === 0 || cmd[0] === '')
        throw new TswarmError('INVALID_ARGUMENT', 'Cmd is empty. Give the command to run, e.g. ["ls", "/"]');
      refuse(body, 'Privileged', 'privileged exec is not supported');
      const c = noSuchContainer(ref, () => engine.containerInspect(ref)).container!;
      if (c.state?.status !== 'running')
        throw new TswarmError('CONFLICT', `Container ${c.id} is not running. Start it first`);
      const id = newId();
      store.add({
        id,
        containerId: c.id,
        cmd,
        user: field(body, 'User', 'string') ?? '',
        env: execEnv(body),
        workingDir: execWorkingDir(body),
        tty: field(body, 'Tty', 'boolean') ?? false,
        attachStdin: field(body, 'AttachStdin', 'boolean') ?? false,
        attachStdout: field(body, 'AttachStdout', 'boolean') ?? false,
        attachStderr: field(body, 'AttachStderr', 'boolean') ?? false,
        detachKeys: field(body, 'DetachKeys', 'string') ?? '',
        consoleSize: consoleSize(body),
        started: false,
        running: false,
        exitCode: null,
        pid: 0,
      });
      tellExec(engine, c.id, 'exec_create', cmd, { execID: id });
      reply.json(201, { Id: id });
    },
  };
}

/** Docker's exec events name the command in the action (`exec_start: sh -c ls`), the exec's ID in the attributes. */
function tellExec(
  engine: Engine,
  containerId: string,
  action: string,
  cmd: readonly string[],
  attributes: Record<string, string>,
): void {
  engine.containerEvent(containerId, cmd.length > 0 ? `${action}: ${cmd.join(' ')}` : action, attributes);
}

/**
 * The runtime ends a command it could not start with 255 and says why; Docker's codes (126, 127)
 * tell those apart, as for a container's start. A 255 without such a message is the command's own.
 */
function execExitCode(code: number, errorTail: string): number {
  if (code !== 255) return code;
  const mapped = cannotRunExitCode(errorTail);
  return mapped === EXIT_ENGINE_ERROR ? code : mapped;
}

/**
 * Runs the exec: its output streamed to `sink` (or dropped for a detached start) as it is
 * written, the client's input to its stdin, then its exit code recorded for inspect.
 */
async function runExec(engine: Engine, r: ExecRecord, io: { sink?: Sink; input?: Readable }): Promise<void> {
  r.running = true;
  tellExec(engine, r.containerId, 'exec_start', r.cmd, { execID: r.id });
  try {
    const session = await engine.containerExecSession(r.containerId, {
      argv: r.cmd,
      env: r.env,
      workingDir: r.workingDir,
      user: r.user,
      tty: r.tty,
      stdin: r.attachStdin && io.input !== undefined,
    });
    r.session = session;
    void session.pid().then((pid) => (r.pid = pid));
    if (r.consoleSize) void session.resize(...r.consoleSize);
    const stopInput = io.input && session.stdin ? pumpInput(io.input, session.stdin, { endOnEof: !r.tty }) : undefined;
    const errors = new Tail();
    const out = io.sink;
    const drop = (s: Readable | null) => s?.resume();
    await Promise.all([
      out && (r.tty || r.attachStdout)
        ? pumpOutput(session.stdout, out, r.tty ? 'raw' : 'stdout', r.tty ? (c) => errors.push(c) : undefined)
        : drop(session.stdout),
      session.stderr && out && r.attachStderr
        ? pumpOutput(session.stderr, out, 'stderr', (c) => errors.push(c))
        : drop(session.stderr),
    ]);
    const code = await session.exited;
    stopInput?.();
    r.exitCode = execExitCode(code, errors.toString());
  } catch (err) {
    r.exitCode = 126;
    await io.sink
      ?.write(
        r.tty ? `${(err as Error).message}\r\n` : Buffer.concat(muxFrames('stderr', `${(err as Error).message}\n`)),
      )
      .catch(() => undefined);
  } finally {
    r.running = false;
    tellExec(engine, r.containerId, 'exec_die', [], { execID: r.id, exitCode: String(r.exitCode ?? -1) });
    r.session = undefined;
  }
}

function execStart(engine: Engine, store: ExecStore): Route {
  return {
    method: 'POST',
    path: '/exec/{id}/start',
    handler: async (req, reply) => {
      const r = store.get(req.params.id ?? '');
      const body = await req.json();
      // The start's Tty wins over the create's, as dockerd lets it.
      const tty = field(body, 'Tty', 'boolean');
      if (tty !== undefined) r.tty = tty;
      r.consoleSize = consoleSize(body) ?? r.consoleSize;
      if (r.started) throw new TswarmError('CONFLICT', `exec instance ${r.id} was already started`);
      if (!isRunning(engine, r.containerId))
        throw new TswarmError('CONFLICT', `Container ${r.containerId} is not running`);
      r.started = true;
      if (field(body, 'Detach', 'boolean')) {
        void runExec(engine, r, {});
        return reply.empty(200);
      }
      const sink = reply.upgrade(r.tty ? 'application/vnd.docker.raw-stream' : muxContentType(req));
      try {
        await runExec(engine, r, { sink, input: r.attachStdin ? reply.hijackedInput() : undefined });
      } finally {
        sink.end();
      }
    },
  };
}

/** `POST /exec/{id}/resize?h=&w=`: the exec's terminal size (the CLI sends it at start and on each window change). */
function execResize(store: ExecStore): Route {
  return {
    method: 'POST',
    path: '/exec/{id}/resize',
    handler: async (req, reply) => {
      const r = store.get(req.params.id ?? '');
      const [h, w] = terminalSizeParams(req.query);
      if (!r.running && r.started) throw new TswarmError('CONFLICT', `exec ${r.id} is not running`);
      // Before the start the size is kept for it; while starting, applied once the command has its PID.
      if (r.session) await r.session.resize(h, w);
      else r.consoleSize = [h, w];
      reply.empty(200);
    },
  };
}

function execInspect(store: ExecStore): Route {
  return {
    method: 'GET',
    path: '/exec/{id}/json',
    handler: async (req, reply) => {
      const r = store.get(req.params.id ?? '');
      reply.json(200, {
        ID: r.id,
        ContainerID: r.containerId,
        Running: r.running,
        ExitCode: r.exitCode,
        Pid: r.pid,
        CanRemove: false,
        DetachKeys: r.detachKeys,
        OpenStdin: r.attachStdin,
        OpenStdout: r.attachStdout,
        OpenStderr: r.attachStderr,
        ProcessConfig: {
          tty: r.tty,
          entrypoint: r.cmd[0],
          arguments: r.cmd.slice(1),
          privileged: false,
          user: r.user,
        },
      });
    },
  };
}

/** Exec: create, start (hijacked: output streamed as written, stdin, a TTY), resize, inspect. */
export function execRoutes(engine: Engine): Route[] {
  const store = new ExecStore(() => new Set(engine.containerList({ all: true }).map((c) => c.id)));
  return [execCreate(engine, store), execStart(engine, store), execResize(store), execInspect(store)];
}
