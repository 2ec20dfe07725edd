/**
 * `run` and `create`: build the config, pull when the image is missing, stream the container's
 * output, pass signals on to it (sig-proxy) and exit with its code.
 */
import { type Command } from 'commander';
import { asTswarmError, TswarmError } from '../../lib/errors.js';
import type { ContainerConfig, ContainerRunResponse } from '../../gen/lite/tswarm/v1/engine.js';
import type { LogLine } from '../../gen/lite/tswarm/v1/objects.js';
import type { CliContext } from '../context.js';
import { errorLine } from '../errors.js';
import { EXIT_RUN_ENGINE_ERROR, ExitWith } from '../exit-with.js';
import { withEngine, SLOW_CALL_DEADLINE_MS, type EngineClient } from './engine-client.js';
import { addContainerOptions, buildContainerConfig, containerFlags, type ContainerFlags } from './container-config.js';
import { PullProgress } from './engine-progress.js';
import { pullImage } from './image.js';

type Ctx = () => CliContext;

export const stderr = (data: string | Uint8Array) => process.stderr.write(data);

/** A container's output goes out as the bytes it wrote: decoding it as text would mangle binary. */
export function writeLine(c: CliContext, line: LogLine, timestamps: boolean): void {
  const write = line.stream === 'stderr' ? stderr : c.out;
  if (timestamps) write(`${new Date(line.timestampMs).toISOString()} `);
  write(line.data);
}

/** Streams a run: pull progress and warnings on stderr, output as it comes; gives the exit code when attached. */
export async function streamRun(
  c: CliContext,
  engine: EngineClient,
  config: ContainerConfig,
  attach: boolean,
  onId?: (id: string) => void,
): Promise<{ id: string; exitCode: number | undefined }> {
  const progress = new PullProgress(stderr, process.stderr.isTTY === true);
  const result: { id: string; exitCode: number | undefined } = { id: '', exitCode: undefined };
  const handle = (ev: ContainerRunResponse) => {
    if (ev.pull) progress.update(ev.pull);
    else if (ev.id !== undefined) {
      progress.finish();
      result.id = ev.id;
      onId?.(ev.id);
    } else if (ev.output) writeLine(c, ev.output, false);
    else if (ev.exitCode !== undefined) result.exitCode = ev.exitCode;
  };
  for await (const ev of engine.stream('containerRun', { config, attach })) handle(ev);
  return result;
}

/** What `docker run` passes on to the container while attached (its --sig-proxy, on by default). */
const PROXIED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/**
 * Sends the signals this process gets to the container, so Ctrl-C stops the command rather than
 * only the client (which then keeps streaming until the container exits, and exits with its
 * code). Before the container exists a signal does what it would have done: ends the client.
 * Returns the function that stops proxying.
 */
function proxySignals(engine: EngineClient, containerId: () => string): () => void {
  const installed: [NodeJS.Signals, () => void][] = [];
  const stop = () => {
    for (const [signal, handler] of installed.splice(0)) process.off(signal, handler);
  };
  for (const signal of PROXIED_SIGNALS) {
    const handler = () => {
      const id = containerId();
      if (id === '') {
        stop();
        process.kill(process.pid, signal);
        return;
      }
      // A container that already exited cannot take it; the run ends on its own then.
      void engine.call('containerKill', { id, signal }).catch(() => undefined);
    };
    process.on(signal, handler);
    installed.push([signal, handler]);
  }
  return stop;
}

/**
 * `docker run`'s exit codes: the container's own, 126/127 when its command cannot run, and 125
 * when tswarm itself failed — so a script can tell a failing command from a failing engine.
 */
async function runAction(
  c: CliContext,
  image: string,
  command: string[],
  flags: ContainerFlags & { detach?: boolean },
): Promise<void> {
  let outcome: { id: string; exitCode: number | undefined };
  try {
    // A bad flag value is tswarm's error too (Docker: `docker run --memory x` exits 125).
    const config = buildContainerConfig(image, command, flags);
    outcome = await withEngine(c, async (e) => {
      if (flags.detach) return streamRun(c, e, config, false);
      let id = '';
      const stopProxy = proxySignals(e, () => id);
      try {
        return await streamRun(c, e, config, true, (created) => (id = created));
      } finally {
        stopProxy();
      }
    });
  } catch (err) {
    stderr(errorLine(asTswarmError(err).message));
    throw new ExitWith(EXIT_RUN_ENGINE_ERROR);
  }
  if (outcome.exitCode === undefined) {
    if (!flags.detach) {
      stderr(
        errorLine('the daemon ended the run without an exit code. Check the container with "tswarm container inspect"'),
      );
      throw new ExitWith(EXIT_RUN_ENGINE_ERROR);
    }
    c.out(`${outcome.id}\n`);
    return;
  }
  if (outcome.exitCode !== 0) throw new ExitWith(outcome.exitCode);
}

export function addRun(parent: Command, name: string, ctx: Ctx): void {
  const cmd = parent
    .command(name)
    .description('Create and start a container; without -d, stream its output and exit with its exit code')
    .argument('<image>', 'the image, pulled when this node does not have it')
    .argument('[command...]', 'the command and its arguments (replaces the image’s cmd)')
    .option('-d, --detach', 'run in the background and print the container ID')
    // Words after IMAGE belong to the command: `run busybox sh -c "…"` must not read -c as a flag.
    .passThroughOptions();
  addContainerOptions(cmd).action(
    async (image: string, command: string[], opts: ContainerFlags & { detach?: boolean; healthcheck?: boolean }) => {
      await runAction(ctx(), image, command, { ...containerFlags(opts), detach: opts.detach ?? false });
    },
  );
}

async function hasImage(e: EngineClient, reference: string): Promise<boolean> {
  try {
    await e.call('imageInspect', { reference });
    return true;
  } catch (err) {
    if (err instanceof TswarmError && err.code === 'NOT_FOUND') return false;
    throw err;
  }
}

export async function createAction(
  c: CliContext,
  image: string,
  command: string[],
  flags: ContainerFlags,
): Promise<void> {
  const config = buildContainerConfig(image, command, flags);
  const created = await withEngine(c, async (e) => {
    // Pull first when missing, so create shows progress as `docker create` does.
    if (!(await hasImage(e, image))) await pullImage(e, image, stderr, process.stderr.isTTY === true);
    return e.call('containerCreate', { config }, SLOW_CALL_DEADLINE_MS);
  });
  for (const w of created.warnings) stderr(`WARNING: ${w}\n`);
  c.out(`${created.id}\n`);
}
