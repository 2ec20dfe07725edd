/** The `container` command group (and `ps`): list, logs, wait, start/stop/restart/kill/rm, inspect, exec, stats, top, rename. */
import { type Command } from 'commander';
import { asTswarmError, TswarmError } from '../../lib/errors.js';
import { CLUSTER_CALL_DEADLINE_MS, LOCAL_CALL_DEADLINE_MS, type ApiClient } from '../../lib/api-client/client.js';
import type { CliContext } from '../context.js';
import { errorLine } from '../errors.js';
import { formatJson, formatTable, parseFormat } from '../output.js';
import { EXIT_RUN_ENGINE_ERROR, ExitWith } from '../exit-with.js';
import { addContainerOptions, containerFlags, type ContainerFlags } from './container-config.js';
import { collect, parseNonNegativeInt } from './engine-flags.js';
import { containerRows, statsRows } from './engine-format.js';
import { addCommit } from './image-lifecycle.js';
import { addRun, createAction, SETUP_DEADLINE_MS, startContainer } from './container-run.js';
import { interactiveSession } from './terminal-session.js';
import { CONTAINER_FILTER_HELP, parseContainerFilter } from './container-filters.js';
import { filtersQuery } from './filters.js';
import { inspectEach } from './inspect-each.js';
import { addTop } from './container-top.js';
import { addRename } from './container-rename.js';
import {
  containerPath,
  copyOutput,
  requestWait,
  stderr,
  type ContainerSummaryJson,
  type ExecInspectJson,
  type StatsJson,
} from './container-api.js';
import type { Filter } from './filters.js';

type Ctx = () => CliContext;

/** A stop whose grace period the client does not know: a day is more than any container asks for. */
const STOP_UNKNOWN_DEADLINE_MS = 24 * 3600_000;

/** A stop waits out the grace period, then kills: `-t` seconds, or the container's own (10 s unless set). */
function stopDeadlineMs(seconds: number | undefined): number {
  // Without -t the container's own stop timeout applies, which the client does not know (it may be
  // an hour): the bound is only there so that a daemon that never answers cannot hold the CLI.
  return seconds === undefined ? STOP_UNKNOWN_DEADLINE_MS : seconds * 1000 + CLUSTER_CALL_DEADLINE_MS;
}

/**
 * Applies `fn` to each container named, printing what it gives (the name, as Docker does, by
 * default); fails if any failed, after trying them all.
 */
async function eachContainer(
  c: CliContext,
  refs: string[],
  fn: (api: ApiClient, ref: string) => Promise<string | void>,
): Promise<void> {
  const failures: string[] = [];
  let first: unknown;
  const api = c.api();
  for (const ref of refs) {
    try {
      c.out(`${(await fn(api, ref)) ?? ref}\n`);
    } catch (err) {
      first ??= err;
      failures.push(`${ref}: ${asTswarmError(err).message}`);
    }
  }
  if (failures.length === 1) throw first;
  if (failures.length > 1)
    throw new TswarmError('FAILED_PRECONDITION', `${failures.length} containers failed: ${failures.join('; ')}`);
}

function listContainers(
  api: ApiClient,
  query: { all?: boolean; filters?: string; size?: boolean },
): Promise<ContainerSummaryJson[]> {
  return api.json<ContainerSummaryJson[]>('GET', '/containers/json', {
    query: { all: query.all ? 1 : undefined, filters: query.filters, size: query.size ? 1 : undefined },
  });
}

function addList(parent: Command, name: string, ctx: Ctx): void {
  parent
    .command(name)
    .description('List containers (running ones unless -a)')
    .option('-a, --all', 'show all containers, not only running ones')
    .option('-q, --quiet', 'only show container IDs')
    .option('-f, --filter <key=value>', `${CONTAINER_FILTER_HELP} (repeatable)`, collect(parseContainerFilter))
    .option('-s, --size', 'show each container’s size: its changes, and with its image (virtual)')
    .option('--format <format>', 'output format: table or json')
    .action(async (opts: { all?: boolean; quiet?: boolean; size?: boolean; format?: string; filter?: Filter[] }) => {
      const format = parseFormat(opts.format);
      const c = ctx();
      // As `docker ps`: the daemon filters (a status filter makes it look at stopped ones too).
      const containers = await listContainers(c.api(), {
        all: opts.all,
        filters: filtersQuery(opts.filter ?? []),
        size: opts.size === true && !opts.quiet,
      });
      if (opts.quiet) c.out(containers.map((x) => `${x.Id.slice(0, 12)}\n`).join(''));
      else if (format === 'json') c.out(formatJson(containers));
      else {
        const header = ['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'];
        c.out(
          opts.size
            ? formatTable([...header, 'SIZE'], containerRows(containers, Date.now(), true))
            : formatTable(header, containerRows(containers)),
        );
      }
    });
}

/** `all` or -1 for the whole log (Docker takes both), else a number of lines. */
export function parseTail(value: string): number {
  return value === 'all' || value.trim() === '-1' ? -1 : parseNonNegativeInt('--tail')(value);
}

function addLogs(container: Command, ctx: Ctx): void {
  container
    .command('logs')
    .description('Show a container’s output')
    .option('-f, --follow', 'keep streaming new output until the container exits')
    .option('-n, --tail <n>', 'lines from the end, or "all"', parseTail, -1)
    .option('-t, --timestamps', 'prefix each line with its time')
    .argument('<container>', 'container ID, ID prefix or name')
    .action(async (ref: string, opts: { follow?: boolean; tail: number; timestamps?: boolean }) => {
      const c = ctx();
      // Only the answer's headers are bounded: a followed log lasts as long as the container runs.
      const res = await c.api().request('GET', containerPath(ref, '/logs'), {
        query: {
          stdout: 1,
          stderr: 1,
          follow: opts.follow ? 1 : undefined,
          tail: opts.tail < 0 ? 'all' : opts.tail,
          timestamps: opts.timestamps ? 1 : undefined,
        },
        timeoutMs: LOCAL_CALL_DEADLINE_MS,
      });
      try {
        await copyOutput(c, res);
      } finally {
        res.destroy();
      }
    });
}

function addWait(container: Command, ctx: Ctx): void {
  container
    .command('wait')
    .description('Wait until containers stop, then print their exit codes')
    .argument('<container...>', 'container IDs or names')
    .action(async (refs: string[]) =>
      eachContainer(ctx(), refs, async (api, ref) => {
        const r = await (await requestWait(api, ref, 'not-running')).exit;
        if (r.Error?.Message) throw new TswarmError('UNAVAILABLE', `waiting for ${ref} failed: ${r.Error.Message}`);
        return String(r.StatusCode);
      }),
    );
}

function addCreate(container: Command, ctx: Ctx): void {
  addContainerOptions(
    container
      .command('create')
      .description('Create a container without starting it')
      .argument('<image>', 'the image')
      .argument('[command...]', 'the command and its arguments')
      .passThroughOptions(),
  ).action(async (image: string, command: string[], opts: ContainerFlags & { healthcheck?: boolean }) =>
    createAction(ctx(), image, command, containerFlags(opts)),
  );
}

function addStart(container: Command, ctx: Ctx): void {
  container
    .command('start')
    .description('Start created or stopped containers')
    .argument('<container...>', 'container IDs or names')
    .action(async (refs: string[]) => eachContainer(ctx(), refs, (api, ref) => startContainer(api, ref)));
}

const stopTimeOption = (cmd: Command) =>
  cmd.option(
    '-t, --time <seconds>',
    'seconds to wait before killing (default: the container’s stop timeout)',
    parseNonNegativeInt('--time'),
  );

function addStop(container: Command, ctx: Ctx): void {
  stopTimeOption(
    container
      .command('stop')
      .description('Stop running containers: the stop signal, then SIGKILL after the grace period'),
  )
    .argument('<container...>', 'container IDs or names')
    .action(async (refs: string[], opts: { time?: number }) =>
      eachContainer(ctx(), refs, (api, ref) =>
        api.json<void>('POST', containerPath(ref, '/stop'), {
          query: { t: opts.time },
          timeoutMs: stopDeadlineMs(opts.time),
        }),
      ),
    );
}

function addRestart(container: Command, ctx: Ctx): void {
  stopTimeOption(container.command('restart').description('Stop (if running) and start containers again'))
    .argument('<container...>', 'container IDs or names')
    .action(async (refs: string[], opts: { time?: number }) =>
      eachContainer(ctx(), refs, (api, ref) =>
        api.json<void>('POST', containerPath(ref, '/restart'), {
          query: { t: opts.time },
          timeoutMs: stopDeadlineMs(opts.time) + SETUP_DEADLINE_MS,
        }),
      ),
    );
}

function addKill(container: Command, ctx: Ctx): void {
  container
    .command('kill')
    .description('Send a signal to running containers (default SIGKILL)')
    .option('-s, --signal <signal>', 'signal name or number, e.g. SIGHUP or 1', 'SIGKILL')
    .argument('<container...>', 'container IDs or names')
    .action(async (refs: string[], opts: { signal: string }) =>
      eachContainer(ctx(), refs, (api, ref) =>
        api.json<void>('POST', containerPath(ref, '/kill'), { query: { signal: opts.signal } }),
      ),
    );
}

function addRemove(container: Command, ctx: Ctx): void {
  container
    .command('rm')
    .description('Remove containers')
    .option('-f, --force', 'kill and remove a running container')
    .option('-v, --volumes', 'also remove the container’s anonymous volumes (named ones are kept)')
    .argument('<container...>', 'container IDs or names')
    .action(async (refs: string[], opts: { force?: boolean; volumes?: boolean }) =>
      eachContainer(ctx(), refs, (api, ref) =>
        api.json<void>('DELETE', containerPath(ref), {
          query: { force: opts.force ? 1 : undefined, v: opts.volumes ? 1 : undefined },
          // A forced removal kills and waits for the exit, then deletes the container's files.
          timeoutMs: SETUP_DEADLINE_MS,
        }),
      ),
    );
}

/**
 * `docker inspect` of several names: the JSON array of what was found (`[]` when nothing was),
 * each name that failed an error line on stderr, and the command failing with the last
 * failure's code.
 */
function addInspect(container: Command, ctx: Ctx): void {
  container
    .command('inspect')
    .description('Show containers’ details as JSON (Docker’s shape)')
    .argument('<container...>', 'container IDs or names')
    .action(async (refs: string[]) => {
      const c = ctx();
      const api = c.api();
      await inspectEach(
        refs,
        (ref) => api.json<object>('GET', containerPath(ref, '/json')),
        (found) => c.out(formatJson(found)),
      );
    });
}

interface ExecFlags {
  interactive?: boolean;
  tty?: boolean;
  env?: string[];
  workdir?: string;
  user?: string;
  detachKeys?: string;
}

/**
 * `docker exec`: create the exec, start it on a hijacked connection — output copied out as it
 * comes, stdin copied in with -i, this terminal in raw mode and its size followed with -t — then
 * exit with the command's exit code from the exec's inspect.
 */
function addExec(container: Command, ctx: Ctx): void {
  container
    .command('exec')
    .description('Run a command in a running container; exit with its exit code')
    .argument('<container>', 'container ID, ID prefix or name')
    .argument('<command...>', 'the command and its arguments (put -- before it)')
    .option('-i, --interactive', 'keep stdin open and send it to the command')
    .option('-t, --tty', 'give the command a terminal (use with -i at a terminal)')
    .option('-e, --env <key=value>', 'set an environment variable (repeatable)', (v: string, prev: string[] = []) => [
      ...prev,
      v,
    ])
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .option('-u, --user <user[:group]>', 'user (name or UID) to run as')
    .option('--detach-keys <keys>', 'the keys that detach from the command (default ctrl-p,ctrl-q)')
    // Words after the container belong to the command: `exec web -- ls -l` must not read -l.
    .passThroughOptions()
    .action(async (ref: string, words: string[], flags: ExecFlags) => {
      const c = ctx();
      const api = c.api();
      // passThroughOptions keeps the `--` that separates the command: it is not part of it.
      const command = words[0] === '--' ? words.slice(1) : words;
      const tty = flags.tty ?? false;
      const { Id } = await api.json<{ Id: string }>('POST', containerPath(ref, '/exec'), {
        json: {
          AttachStdin: flags.interactive ?? false,
          AttachStdout: true,
          AttachStderr: true,
          Tty: tty,
          Cmd: command,
          Env: flags.env ?? [],
          WorkingDir: flags.workdir ?? '',
          User: flags.user ?? '',
          DetachKeys: flags.detachKeys ?? '',
        },
      });
      const execPath = `/exec/${encodeURIComponent(Id)}`;
      const size = tty && process.stdout.isTTY ? [process.stdout.rows, process.stdout.columns] : undefined;
      const session = await interactiveSession(
        c,
        api,
        `${execPath}/start`,
        { json: { Detach: false, Tty: tty, ...(size ? { ConsoleSize: size } : {}) } },
        { tty, stdin: flags.interactive ?? false, resizePath: `${execPath}/resize`, detachKeys: flags.detachKeys },
      );
      session.trackSize();
      await session.done;
      if (session.detached) return;
      const { ExitCode } = await api.json<ExecInspectJson>('GET', `${execPath}/json`);
      if (ExitCode === null) {
        stderr(errorLine('the command’s output ended without its exit code. Check the daemon’s log'));
        throw new ExitWith(EXIT_RUN_ENGINE_ERROR);
      }
      if (ExitCode !== 0) throw new ExitWith(ExitCode < 0 ? EXIT_RUN_ENGINE_ERROR : ExitCode);
    });
}

/** `docker attach`: this terminal joined to a running container's (its stdin when it has one) until it exits or the detach keys. */
function addAttach(container: Command, ctx: Ctx): void {
  container
    .command('attach')
    .description('Attach this terminal to a running container (detach with Ctrl-P Ctrl-Q)')
    .argument('<container>', 'container ID, ID prefix or name')
    .option('--no-stdin', 'do not send this terminal’s input')
    .option('--detach-keys <keys>', 'the keys that detach (default ctrl-p,ctrl-q)')
    .action(async (ref: string, flags: { stdin: boolean; detachKeys?: string }) => {
      const c = ctx();
      const api = c.api();
      const inspected = await api.json<{
        Id: string;
        State: { Running: boolean };
        Config: { Tty: boolean; OpenStdin: boolean };
      }>('GET', containerPath(ref, '/json'));
      if (!inspected.State.Running) {
        stderr(errorLine(`container ${ref} is not running. Start it first`));
        throw new ExitWith(1);
      }
      const tty = inspected.Config.Tty;
      const stdin = flags.stdin && inspected.Config.OpenStdin;
      const session = await interactiveSession(
        c,
        api,
        containerPath(inspected.Id, '/attach'),
        {
          query: {
            stream: 1,
            stdout: 1,
            stderr: 1,
            stdin: stdin ? 1 : 0,
            ...(flags.detachKeys ? { detachKeys: flags.detachKeys } : {}),
          },
        },
        { tty, stdin, resizePath: containerPath(inspected.Id, '/resize'), detachKeys: flags.detachKeys },
      );
      session.trackSize();
      await session.done;
      if (session.detached) return;
      const after = await api.json<{ State: { Running: boolean; ExitCode: number } }>(
        'GET',
        containerPath(inspected.Id, '/json'),
      );
      if (!after.State.Running && after.State.ExitCode !== 0) throw new ExitWith(after.State.ExitCode);
    });
}

/** Between refreshes of `stats`. */
const STATS_INTERVAL_MS = 1000;

/**
 * One sample of each container: the daemon takes two a second apart, so its CPU figure means
 * something. Without names (`listed`), a container removed since the list (a `--rm` one that
 * ended) is left out rather than failing the table; a container named and missing is an error.
 */
async function sampleStats(api: ApiClient, refs: readonly string[], listed: boolean): Promise<StatsJson[]> {
  const settled = await Promise.allSettled(
    refs.map((ref) => api.json<StatsJson>('GET', containerPath(ref, '/stats'), { query: { stream: 0 } })),
  );
  const stats: StatsJson[] = [];
  for (const r of settled) {
    if (r.status === 'fulfilled') stats.push(r.value);
    else if (!(listed && r.reason instanceof TswarmError && r.reason.code === 'NOT_FOUND')) throw r.reason;
  }
  return stats;
}

function addStats(container: Command, ctx: Ctx): void {
  container
    .command('stats')
    .description('Show running containers’ CPU, memory and pids use (refreshed every second until Ctrl-C)')
    .argument('[container...]', 'container IDs or names (default: every running container)')
    .option('--no-stream', 'print one sample and exit')
    .option('-f, --format <format>', 'output format: table or json')
    .action(async (refs: string[], opts: { stream: boolean; format?: string }) => {
      const format = parseFormat(opts.format);
      const c = ctx();
      const api = c.api();
      for (;;) {
        const startedMs = Date.now();
        // Without names, the running containers of the moment (a new one joins the next table).
        const ids = refs.length > 0 ? refs : (await listContainers(api, {})).map((x) => x.Id);
        const stats = await sampleStats(api, ids, refs.length === 0);
        if (format === 'json') c.out(formatJson(stats));
        else
          c.out(formatTable(['CONTAINER ID', 'NAME', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'PIDS'], statsRows(stats)));
        if (!opts.stream) return;
        // A stopped container's sample comes at once: the refresh keeps its pace all the same.
        const restMs = STATS_INTERVAL_MS - (Date.now() - startedMs);
        if (restMs > 0) await new Promise((resolve) => setTimeout(resolve, restMs));
      }
    });
}

/** `container`'s sub-commands, in the order help lists them. */
const SUBCOMMANDS: Record<string, (container: Command, ctx: Ctx) => void> = {
  run: (c, ctx) => addRun(c, 'run', ctx),
  create: addCreate,
  start: addStart,
  stop: addStop,
  restart: addRestart,
  kill: addKill,
  rm: addRemove,
  inspect: addInspect,
  ls: (c, ctx) => addList(c, 'ls', ctx),
  logs: addLogs,
  exec: addExec,
  attach: addAttach,
  stats: addStats,
  top: addTop,
  rename: addRename,
  wait: addWait,
  commit: (c, ctx) => addCommit(c, 'commit', ctx),
};
/**
 * `words`, when given, are the command words on the command line (program.ts): then only the
 * command they name is defined — building the others (run and create have some 30 options each)
 * costs a few ms of every run. A word that names no command defines them all, for the help and
 * the "did you mean" suggestion.
 */
export function registerContainer(program: Command, ctx: Ctx, words?: readonly string[]): void {
  const [top, sub] = words ?? [];
  if (top === undefined || top === 'container') {
    const container = program
      .command('container')
      .description('Manage the containers on this node')
      .enablePositionalOptions();
    const only = sub !== undefined && Object.hasOwn(SUBCOMMANDS, sub) ? sub : undefined;
    for (const [name, add] of Object.entries(SUBCOMMANDS)) if (only === undefined || name === only) add(container, ctx);
  }
  // Docker's top-level shortcuts.
  if (top === undefined || top === 'run') addRun(program, 'run', ctx);
  if (top === undefined || top === 'ps') addList(program, 'ps', ctx);
  if (top === undefined || top === 'exec') addExec(program, ctx);
  if (top === undefined || top === 'attach') addAttach(program, ctx);
  if (top === undefined || top === 'top') addTop(program, ctx);
  if (top === undefined || top === 'rename') addRename(program, ctx);
}
