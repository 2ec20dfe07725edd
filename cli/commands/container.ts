/** The `container` command group (and `ps`): list, logs, wait, start/stop/kill/rm, inspect, exec, stats. */
import { totalmem } from 'node:os';
import { type Command } from 'commander';
import { TswarmError } from '../../lib/errors.js';
import type { CliContext } from '../context.js';
import { formatJson, formatTable, parseFormat } from '../output.js';
import { EXIT_RUN_ENGINE_ERROR, ExitWith } from '../exit-with.js';
import { inspectEach, withEngine, SLOW_CALL_DEADLINE_MS, WAIT_FOREVER_MS, type EngineClient } from './engine-client.js';
import { addContainerOptions, containerFlags, type ContainerFlags } from './container-config.js';
import { collect, parseNonNegativeInt } from './engine-flags.js';
import { containerJson, containerRows, statsRows } from './engine-format.js';
import { addRun, createAction, stderr, writeLine } from './container-run.js';
import { matchesFilters, parseContainerFilter, type ContainerFilter } from './container-filters.js';

type Ctx = () => CliContext;

/** Applies `fn` to each container named, printing each name as Docker does; fails if any failed. */
async function eachContainer(
  c: CliContext,
  refs: string[],
  fn: (e: EngineClient, id: string) => Promise<unknown>,
): Promise<void> {
  const failures: string[] = [];
  let first: unknown;
  await withEngine(c, async (e) => {
    for (const id of refs) {
      try {
        await fn(e, id);
        c.out(`${id}\n`);
      } catch (err) {
        first ??= err;
        failures.push(`${id}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  });
  if (failures.length === 1) throw first;
  if (failures.length > 1)
    throw new TswarmError('FAILED_PRECONDITION', `${failures.length} containers failed: ${failures.join('; ')}`);
}

function addList(parent: Command, name: string, ctx: Ctx): void {
  parent
    .command(name)
    .description('List containers (running ones unless -a)')
    .option('-a, --all', 'show all containers, not only running ones')
    .option('-q, --quiet', 'only show container IDs')
    .option(
      '-f, --filter <key=value>',
      'name, id, label (KEY or KEY=VALUE), status or ancestor (repeatable)',
      collect(parseContainerFilter),
    )
    .option('--format <format>', 'output format: table or json')
    .action(async (opts: { all?: boolean; quiet?: boolean; format?: string; filter?: ContainerFilter[] }) => {
      const format = parseFormat(opts.format);
      const c = ctx();
      const filters = opts.filter ?? [];
      // As Docker's daemon: a status filter looks at every container, not only running ones.
      const all = (opts.all ?? false) || filters.some((f) => f.key === 'status');
      const listed = await withEngine(c, (e) => e.call('containerList', { all, labels: {} }));
      const containers = listed.containers.filter((x) => matchesFilters(x, filters));
      if (opts.quiet) c.out(containers.map((x) => `${x.id.slice(0, 12)}\n`).join(''));
      else if (format === 'json') c.out(formatJson(containers.map(containerJson)));
      else
        c.out(
          formatTable(
            ['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'],
            containerRows(containers),
          ),
        );
    });
}

/** `all` or -1 for the whole log (Docker takes both), else a number of lines. */
function parseTail(value: string): number {
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
    .action(async (id: string, opts: { follow?: boolean; tail: number; timestamps?: boolean }) => {
      const c = ctx();
      await withEngine(c, async (e) => {
        for await (const m of e.stream('containerLogs', {
          id,
          follow: opts.follow ?? false,
          tail: opts.tail,
          sinceMs: 0,
        })) {
          for (const line of m.lines) writeLine(c, line, opts.timestamps ?? false);
        }
      });
    });
}

function addWait(container: Command, ctx: Ctx): void {
  container
    .command('wait')
    .description('Wait until containers stop, then print their exit codes')
    .argument('<container...>', 'container IDs or names')
    .action(async (refs: string[]) => {
      const c = ctx();
      await withEngine(c, async (e) => {
        for (const id of refs) c.out(`${(await e.call('containerWait', { id }, WAIT_FOREVER_MS)).exitCode}\n`);
      });
    });
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
    .action(async (refs: string[]) =>
      eachContainer(ctx(), refs, (e, id) => e.call('containerStart', { id }, SLOW_CALL_DEADLINE_MS)),
    );
}

function addStop(container: Command, ctx: Ctx): void {
  container
    .command('stop')
    .description('Stop running containers: the stop signal, then SIGKILL after the grace period')
    .option(
      '-t, --time <seconds>',
      'seconds to wait before killing (default: the container’s stop timeout)',
      parseNonNegativeInt('--time'),
    )
    .argument('<container...>', 'container IDs or names')
    .action(async (refs: string[], opts: { time?: number }) =>
      eachContainer(ctx(), refs, (e, id) =>
        e.call(
          'containerStop',
          { id, ...(opts.time !== undefined ? { timeoutMs: opts.time * 1000 } : {}) },
          SLOW_CALL_DEADLINE_MS,
        ),
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
      eachContainer(ctx(), refs, (e, id) => e.call('containerKill', { id, signal: opts.signal })),
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
      eachContainer(ctx(), refs, (e, id) =>
        e.call(
          'containerRemove',
          { id, force: opts.force ?? false, volumes: opts.volumes ?? false },
          SLOW_CALL_DEADLINE_MS,
        ),
      ),
    );
}

function addInspect(container: Command, ctx: Ctx): void {
  container
    .command('inspect')
    .description('Show containers’ details as JSON')
    .argument('<container...>', 'container IDs or names')
    .action(async (refs: string[]) => {
      const c = ctx();
      await inspectEach(
        c,
        refs,
        (e, id) => e.call('containerInspect', { id }),
        (found) => c.out(formatJson(found)),
      );
    });
}

function addExec(container: Command, ctx: Ctx): void {
  container
    .command('exec')
    .description('Run a command in a running container (no TTY); exit with its exit code')
    .argument('<container>', 'container ID, ID prefix or name')
    .argument('<command...>', 'the command and its arguments (put -- before it)')
    // Words after the container belong to the command: `exec web -- ls -l` must not read -l.
    .passThroughOptions()
    .action(async (id: string, words: string[]) => {
      const c = ctx();
      // passThroughOptions keeps the `--` that separates the command: it is not part of it.
      const command = words[0] === '--' ? words.slice(1) : words;
      const r = await withEngine(c, (e) =>
        e.call('containerExec', { id, command, timeoutMs: 0 }, SLOW_CALL_DEADLINE_MS),
      );
      c.out(r.stdout);
      stderr(r.stderr);
      if (r.truncated)
        stderr(
          'WARNING: the command wrote more than 4 MiB to stdout or stderr; the rest was dropped. Write large output to a file in the container instead.\n',
        );
      // -1: the engine ended it at its deadline, an engine failure as `docker exec` reports one.
      if (r.exitCode !== 0) throw new ExitWith(r.exitCode < 0 ? EXIT_RUN_ENGINE_ERROR : r.exitCode);
    });
}

/** Between the two samples a CPU percentage is computed from, and between refreshes. */
const STATS_INTERVAL_MS = 1000;

function addStats(container: Command, ctx: Ctx): void {
  container
    .command('stats')
    .description('Show running containers’ CPU, memory and pids use (refreshed every second until Ctrl-C)')
    .argument('[container...]', 'container IDs or names (default: every running container)')
    .option('--no-stream', 'print one sample and exit')
    .option('-f, --format <format>', 'output format: table or json')
    .action(async (ids: string[], opts: { stream: boolean; format?: string }) => {
      const format = parseFormat(opts.format);
      const c = ctx();
      const hostMemoryBytes = totalmem();
      await withEngine(c, async (e) => {
        let before = (await e.call('containerStats', { ids })).stats;
        for (;;) {
          await new Promise((resolve) => setTimeout(resolve, STATS_INTERVAL_MS));
          const after = (await e.call('containerStats', { ids })).stats;
          if (format === 'json') c.out(formatJson(after));
          else
            c.out(
              formatTable(
                ['CONTAINER ID', 'NAME', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'PIDS'],
                statsRows(before, after, hostMemoryBytes),
              ),
            );
          if (!opts.stream) return;
          before = after;
        }
      });
    });
}

/** `container`'s sub-commands, in the order help lists them. */
const SUBCOMMANDS: Record<string, (container: Command, ctx: Ctx) => void> = {
  run: (c, ctx) => addRun(c, 'run', ctx),
  create: addCreate,
  start: addStart,
  stop: addStop,
  kill: addKill,
  rm: addRemove,
  inspect: addInspect,
  ls: (c, ctx) => addList(c, 'ls', ctx),
  logs: addLogs,
  exec: addExec,
  stats: addStats,
  wait: addWait,
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
}
