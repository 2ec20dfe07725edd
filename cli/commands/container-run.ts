/**
 * `run` and `create`, as the docker CLI does them over the Engine API: create (pulling when the
 * image is missing), attach and wait before the start so no output and no exit is missed, pass
 * signals on to the container (sig-proxy) and exit with its code.
 */
import { interactiveSession } from './terminal-session.js';
import { type Command } from 'commander';
import { asTswarmError, TswarmError } from '../../lib/errors.js';
import { LOCAL_CALL_DEADLINE_MS, type ApiClient } from '../../lib/api-client/client.js';
import type { CliContext } from '../context.js';
import { errorLine } from '../errors.js';
import { EXIT_RUN_ENGINE_ERROR, ExitWith } from '../exit-with.js';
import {
  addContainerOptions,
  buildCreateBody,
  containerFlags,
  type ContainerCreateBody,
  type ContainerFlags,
} from './container-config.js';
import { containerPath, requestWait, stderr, type CreateResponse } from './container-api.js';
import { pullImage } from './image-pull.js';

type Ctx = () => CliContext;

/**
 * Create and start prepare the container on this node (its root filesystem from the image's
 * layers, a new volume's copy of the image's files, its network): local work that a big image
 * makes slow. The docker CLI sets no bound; this one only ends a wait on a daemon that is stuck,
 * since a client that gives up early leaves the daemon to finish a container nobody runs.
 */
export const SETUP_DEADLINE_MS = 30 * 60_000;

function isMissingImage(err: unknown): boolean {
  return err instanceof TswarmError && err.code === 'NOT_FOUND' && /^No such image/.test(err.message);
}

/**
 * POST /containers/create; on a 404 for the image, pulls it (progress on stderr) and creates
 * again, as `docker create` and `docker run` do. The daemon's warnings go to stderr.
 */
async function createContainer(api: ApiClient, body: ContainerCreateBody, name: string | undefined): Promise<string> {
  const create = () =>
    api.json<CreateResponse>('POST', '/containers/create', {
      query: { name },
      json: body,
      timeoutMs: SETUP_DEADLINE_MS,
    });
  let created: CreateResponse;
  try {
    created = await create();
  } catch (err) {
    if (!isMissingImage(err)) throw err;
    stderr(`Unable to find image '${body.Image}' locally\n`);
    await pullImage(api, body.Image, stderr, process.stderr.isTTY === true);
    created = await create();
  }
  for (const w of created.Warnings ?? []) stderr(`WARNING: ${w}\n`);
  return created.Id;
}

export function startContainer(api: ApiClient, ref: string): Promise<void> {
  return api.json<void>('POST', containerPath(ref, '/start'), { timeoutMs: SETUP_DEADLINE_MS });
}

/**
 * `docker run`'s exit code for a start that failed: 127 when the command was not found, 126 when
 * it could not be executed (the daemon words its error so), else 125, tswarm's own failure.
 */
export function startFailureExitCode(message: string): number {
  if (/executable file not found|no such file or directory/.test(message)) return 127;
  if (/permission denied|is a directory/.test(message)) return 126;
  return EXIT_RUN_ENGINE_ERROR;
}

/** Reports a failure of tswarm itself during `run`, and gives Docker's code for it (125). */
function runFailure(err: unknown): ExitWith {
  if (err instanceof ExitWith) return err;
  stderr(errorLine(asTswarmError(err).message));
  return new ExitWith(EXIT_RUN_ENGINE_ERROR);
}

/** `run`'s -i, -t and --detach-keys. */
interface TerminalFlags {
  interactive?: boolean;
  tty?: boolean;
  detachKeys?: string;
}

/** What `docker run` passes on to the container while attached (its --sig-proxy, on by default). */
const PROXIED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/**
 * Sends the signals this process gets to the container (POST /containers/{id}/kill), so Ctrl-C
 * stops the command rather than only the client, which keeps streaming until the container
 * exits and exits with its code. Returns the function that stops proxying.
 */
function proxySignals(api: ApiClient, id: string): () => void {
  const installed: [NodeJS.Signals, () => void][] = [];
  for (const signal of PROXIED_SIGNALS) {
    // A container that already exited cannot take it; the run ends on its own then.
    const handler = () =>
      void api.json('POST', containerPath(id, '/kill'), { query: { signal } }).catch(() => undefined);
    process.on(signal, handler);
    installed.push([signal, handler]);
  }
  return () => {
    for (const [signal, handler] of installed.splice(0)) process.off(signal, handler);
  };
}

/** Resolves when `work` settles or after `timeoutMs`, whichever is first. */
async function settledWithin(work: Promise<unknown>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work.catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
  clearTimeout(timer);
}

/**
 * The attached part of `docker run`: attach (hijacked) and wait, then start; the output copied
 * to stdout and stderr until the container ends it; the exit code the wait reports.
 */
async function runAttached(
  c: CliContext,
  api: ApiClient,
  id: string,
  autoRemove: boolean,
  term: TerminalFlags,
): Promise<void> {
  const stdin = term.interactive ?? false;
  const tty = term.tty ?? false;
  // Both before the start, so no output and no exit is missed; neither waits for the other (each
  // is a round trip, the attach on a connection of its own).
  const [attached, waiting] = await Promise.allSettled([
    interactiveSession(
      c,
      api,
      containerPath(id, '/attach'),
      {
        query: {
          stream: 1,
          stdout: 1,
          stderr: 1,
          stdin: stdin ? 1 : 0,
          ...(term.detachKeys ? { detachKeys: term.detachKeys } : {}),
        },
      },
      { tty, stdin, resizePath: containerPath(id, '/resize'), detachKeys: term.detachKeys },
    ),
    // An auto-remove container is gone once it exited: only `removed` is sure to be seen.
    requestWait(api, id, autoRemove ? 'removed' : 'next-exit'),
  ]);
  if (attached.status === 'rejected' || waiting.status === 'rejected') {
    if (attached.status === 'fulfilled') attached.value.close();
    if (waiting.status === 'fulfilled') waiting.value.cancel();
    throw runFailure(attached.status === 'rejected' ? attached.reason : (waiting as PromiseRejectedResult).reason);
  }
  const output = attached.value;
  const wait = waiting.value;
  try {
    await startContainer(api, id);
  } catch (err) {
    output.close();
    const message = asTswarmError(err).message;
    stderr(errorLine(message));
    // The daemon removes an auto-remove container whose start failed; docker run waits for that.
    if (autoRemove) await settledWithin(wait.exit, LOCAL_CALL_DEADLINE_MS);
    wait.cancel();
    throw new ExitWith(startFailureExitCode(message));
  }
  output.trackSize();
  let exit: { StatusCode: number; Error?: { Message: string } | null };
  try {
    await output.done;
    if (output.detached) {
      // Ctrl-P Ctrl-Q: the container keeps running, as after docker run -it's detach.
      wait.cancel();
      return;
    }
    exit = await wait.exit;
  } catch (err) {
    wait.cancel();
    throw runFailure(err);
  }
  if (exit.Error?.Message) throw runFailure(new Error(`error waiting for the container: ${exit.Error.Message}`));
  if (exit.StatusCode !== 0) throw new ExitWith(exit.StatusCode < 0 ? EXIT_RUN_ENGINE_ERROR : exit.StatusCode);
}

/**
 * `docker run`'s exit codes: the container's own, 126/127 when its command cannot run, and 125
 * when tswarm itself failed (a bad flag included) — so a script can tell a failing command from
 * a failing engine.
 */
async function runAction(
  c: CliContext,
  image: string,
  command: string[],
  flags: ContainerFlags & TerminalFlags & { detach?: boolean },
): Promise<void> {
  let api: ApiClient;
  let id: string;
  try {
    const stdin = flags.interactive ?? false;
    const body = {
      ...buildCreateBody(image, command, flags),
      Tty: flags.tty ?? false,
      OpenStdin: stdin,
      StdinOnce: stdin,
      AttachStdin: stdin,
    };
    api = c.api();
    id = await createContainer(api, body, flags.name);
  } catch (err) {
    throw runFailure(err);
  }
  if (flags.detach) {
    // As `docker run -d`: the ID as soon as the container exists, then its start.
    c.out(`${id}\n`);
    try {
      await startContainer(api, id);
    } catch (err) {
      const message = asTswarmError(err).message;
      stderr(errorLine(message));
      throw new ExitWith(startFailureExitCode(message));
    }
    return;
  }
  // With a TTY, Ctrl-C is a key the container's terminal turns into SIGINT (raw mode), as docker's --sig-proxy.
  const stopProxy = flags.tty ? () => {} : proxySignals(api, id);
  try {
    await runAttached(c, api, id, flags.rm ?? false, flags);
  } finally {
    stopProxy();
  }
}

export function addRun(parent: Command, name: string, ctx: Ctx): void {
  const cmd = parent
    .command(name)
    .description('Create and start a container; without -d, stream its output and exit with its exit code')
    .argument('<image>', 'the image, pulled when this node does not have it')
    .argument('[command...]', 'the command and its arguments (replaces the image’s cmd)')
    .option('-d, --detach', 'run in the background and print the container ID')
    .option('-i, --interactive', 'keep the container’s stdin open and send this terminal’s input to it')
    .option('-t, --tty', 'give the container a terminal (with -i at a terminal: raw mode, window size followed)')
    .option('--detach-keys <keys>', 'the keys that detach and leave the container running (default ctrl-p,ctrl-q)')
    // Words after IMAGE belong to the command: `run busybox sh -c "…"` must not read -c as a flag.
    .passThroughOptions();
  addContainerOptions(cmd).action(
    async (
      image: string,
      command: string[],
      opts: ContainerFlags & TerminalFlags & { detach?: boolean; healthcheck?: boolean },
    ) => {
      await runAction(ctx(), image, command, {
        ...containerFlags(opts),
        interactive: opts.interactive,
        tty: opts.tty,
        detachKeys: opts.detachKeys,
        detach: opts.detach ?? false,
      });
    },
  );
}

/** `docker create`: the container made (the image pulled first when missing), its ID printed. */
export async function createAction(
  c: CliContext,
  image: string,
  command: string[],
  flags: ContainerFlags,
): Promise<void> {
  const body = buildCreateBody(image, command, flags);
  c.out(`${await createContainer(c.api(), body, flags.name)}\n`);
}
