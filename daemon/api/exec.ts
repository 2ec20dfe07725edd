import { TswarmError } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import type { Engine } from '../../engine/engine.js';
import type { Route } from './router.js';
import { field, member, stringArray, type JsonObject } from './body.js';
import { muxFrames } from './reply.js';
import { containerRef, noSuchContainer } from './params.js';
import { muxContentType } from './container-streams.js';

/** Exec records kept for `GET /exec/{id}/json`; the oldest go first past this. */
export const EXECS_MAX = 1_000;

interface ExecRecord {
  id: string;
  containerId: string;
  cmd: string[];
  user: string;
  attachStdout: boolean;
  attachStderr: boolean;
  started: boolean;
  running: boolean;
  exitCode: number | null;
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
      refuse(body, 'Tty', 'interactive exec is a later feature; run without -t');
      refuse(body, 'AttachStdin', 'interactive exec is a later feature; run without -i');
      refuse(body, 'Privileged', 'privileged exec is not supported');
      refuse(body, 'Env', 'pass variables through the command, e.g. sh -c "X=1 cmd"');
      refuse(body, 'WorkingDir', 'use sh -c "cd DIR && cmd"');
      const user = field(body, 'User', 'string') ?? '';
      if (user !== '') refuse(body, 'User', 'the command runs as the container’s user');
      const c = noSuchContainer(ref, () => engine.containerInspect(ref)).container!;
      if (c.state?.status !== 'running')
        throw new TswarmError('CONFLICT', `Container ${c.id} is not running. Start it first`);
      const id = newId();
      store.add({
        id,
        containerId: c.id,
        cmd,
        user,
        attachStdout: field(body, 'AttachStdout', 'boolean') ?? false,
        attachStderr: field(body, 'AttachStderr', 'boolean') ?? false,
        started: false,
        running: false,
        exitCode: null,
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

/** Runs the exec to its end; its output (bounded by the engine) comes back whole. */
async function runExec(engine: Engine, r: ExecRecord): Promise<{ stdout: Buffer; stderr: Buffer }> {
  r.running = true;
  tellExec(engine, r.containerId, 'exec_start', r.cmd, { execID: r.id });
  try {
    const result = await engine.containerExec(r.containerId, r.cmd, 0);
    r.exitCode = result.exitCode;
    return { stdout: result.stdout, stderr: result.stderr };
  } catch (err) {
    r.exitCode = 126;
    return { stdout: Buffer.alloc(0), stderr: Buffer.from(`${(err as Error).message}\n`) };
  } finally {
    r.running = false;
    tellExec(engine, r.containerId, 'exec_die', [], { execID: r.id, exitCode: String(r.exitCode ?? -1) });
  }
}

function execStart(engine: Engine, store: ExecStore): Route {
  return {
    method: 'POST',
    path: '/exec/{id}/start',
    handler: async (req, reply) => {
      const r = store.get(req.params.id ?? '');
      const body = await req.json();
      if (field(body, 'Tty', 'boolean'))
        throw new TswarmError('INVALID_ARGUMENT', 'Tty is not supported for exec yet. Run without -t');
      if (r.started) throw new TswarmError('CONFLICT', `exec instance ${r.id} was already started`);
      if (!isRunning(engine, r.containerId))
        throw new TswarmError('CONFLICT', `Container ${r.containerId} is not running`);
      r.started = true;
      if (field(body, 'Detach', 'boolean')) {
        void runExec(engine, r);
        return reply.empty(200);
      }
      const sink = reply.upgrade(muxContentType(req));
      try {
        const out = await runExec(engine, r);
        const frames: Buffer[] = [];
        if (r.attachStdout && out.stdout.length > 0) frames.push(...muxFrames('stdout', out.stdout));
        if (r.attachStderr && out.stderr.length > 0) frames.push(...muxFrames('stderr', out.stderr));
        for (const f of frames) await sink.write(f);
      } finally {
        sink.end();
      }
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
        Pid: 0,
        CanRemove: false,
        DetachKeys: '',
        OpenStdin: false,
        OpenStdout: r.attachStdout,
        OpenStderr: r.attachStderr,
        ProcessConfig: {
          tty: false,
          entrypoint: r.cmd[0],
          arguments: r.cmd.slice(1),
          privileged: false,
          user: r.user,
        },
      });
    },
  };
}

/** Exec without a TTY: create, start (hijacked, the output when the command is done), inspect. */
export function execRoutes(engine: Engine): Route[] {
  const store = new ExecStore(() => new Set(engine.containerList({ all: true }).map((c) => c.id)));
  return [execCreate(engine, store), execStart(engine, store), execInspect(store)];
}
