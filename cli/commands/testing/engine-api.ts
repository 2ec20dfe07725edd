import type { Server } from 'node:http';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { silentLogger } from '../../../lib/log.js';
import { EXIT_USAGE } from '../../../lib/errors.js';
import { Engine, type EngineEvents, type EngineOptions } from '../../../engine/engine.js';
import { buildBusyboxImage } from '../../../engine/image/busybox-image.js';
import { pushTestImage } from '../../../engine/image/testing/test-images.js';
import { startTestRegistry, type TestRegistry } from '../../../engine/image/testing/test-registry.js';
import { randomPrefix } from '../../../engine/testing/scratch.js';
import { destroyTestEngine } from '../../../engine/testing/test-engine.js';
import { createApiServer } from '../../../daemon/api/server.js';
import { Router } from '../../../daemon/api/router.js';
import { apiRoutes, type ApiContext } from '../../../daemon/api/routes.js';
import type { EventBus } from '../../../daemon/events/bus.js';
import { CliContext } from '../../context.js';
import { reportError } from '../../errors.js';
import { EXIT_RUN_ENGINE_ERROR, ExitWith } from '../../exit-with.js';
import { isRunCommand } from '../../program.js';

/**
 * A real engine (crun, a local registry holding a busybox image) behind the Engine API server on
 * a Unix socket, as tswarmd serves it, for tests that drive it with the CLI's own command code.
 * The cluster tests do the same through a built daemon on lab hosts.
 */
export interface EngineApi {
  dir: string;
  registry: TestRegistry;
  engine: Engine;
  /** `unix://…` of the API socket. */
  host: string;
  /** The test image in the registry: `HOST/test/busybox:1`. */
  ref: string;
  /** The layout the image was built in (for archives made from it). */
  layout: string;
  stop(): Promise<void>;
}

export async function startEngineApi(
  o: {
    dirPrefix: string;
    /** The engine's volumes, made in its data dir (undefined: none). */
    volumes?: (engineRoot: string) => Promise<EngineOptions['volumes']>;
    /** The bus the engine tells and `GET /events` serves (undefined: no events). */
    events?: { bus: EventBus; sink: EngineEvents };
  } = { dirPrefix: 'tswarm-engine-api-' },
): Promise<EngineApi> {
  const prefix = randomPrefix();
  const dir = await mkdtemp(join(tmpdir(), o.dirPrefix));
  const registry = await startTestRegistry();
  const layout = join(dir, 'layout');
  await buildBusyboxImage(layout, 'bb');
  await pushTestImage(layout, 'bb', registry.host, 'busybox', '1');
  const dataDir = join(dir, 'data');
  const volumes = await o.volumes?.(join(dataDir, 'engine'));
  const engine = await Engine.open({
    dataDir,
    namePrefix: prefix,
    insecureRegistries: [registry.host],
    log: silentLogger(),
    registry: { attemptsMax: 2, backoffBaseMs: 10, idleTimeoutMs: 5_000 },
    ...(volumes ? { volumes } : {}),
    ...(o.events ? { events: o.events.sink } : {}),
  });
  // The engine's routes reach no swarm: only /info and the swarm routes would, and no test here calls them.
  const ctx = {
    hostname: 'test',
    dataDir: dir,
    startedAtMs: Date.now(),
    logLevel: 'warn',
    engine,
    ...(o.events ? { events: o.events.bus } : {}),
  } as ApiContext;
  const server: Server = createApiServer(new Router(apiRoutes(ctx)), silentLogger());
  const sock = join(dir, 'd.sock');
  await new Promise<void>((resolve) => server.listen(sock, resolve));
  return {
    dir,
    registry,
    engine,
    host: `unix://${sock}`,
    ref: `${registry.host}/test/busybox:1`,
    layout,
    stop: async () => {
      // Forced: a call left open by a failed test must not keep the containers and registry alive.
      server.closeAllConnections();
      server.close();
      await destroyTestEngine({ engine, registry, prefix, dir });
    },
  };
}

/** Registers a module's commands, as cli/program.ts does. */
export type RegisterCommands = (program: Command, context: () => CliContext) => void;

export interface CliResult {
  code: number;
  out: string;
  err: string;
  outBytes: Buffer;
}

/** Runs the CLI's commands of `modules` against `host`, with the exit codes runCli gives (cli/program.ts). */
export async function runCli(host: string, modules: readonly RegisterCommands[], argv: string[]): Promise<CliResult> {
  let out = '';
  let err = '';
  const bytes: Buffer[] = [];
  const ctx = new CliContext(host, (t) => {
    bytes.push(Buffer.from(t));
    out += typeof t === 'string' ? t : Buffer.from(t).toString('utf8');
  });
  const program = new Command('tswarm')
    .exitOverride()
    .enablePositionalOptions()
    .configureOutput({ writeOut: (t) => (out += t), writeErr: (t) => (err += t) });
  for (const register of modules) register(program, () => ctx);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return { code: 0, out, err, outBytes: Buffer.concat(bytes) };
  } catch (e) {
    const outBytes = Buffer.concat(bytes);
    if (e instanceof ExitWith) return { code: e.exitCode, out, err, outBytes };
    if (e instanceof CommanderError)
      return { code: isRunCommand(argv) ? EXIT_RUN_ENGINE_ERROR : EXIT_USAGE, out, err, outBytes };
    const code = reportError(e, (t) => (err += t));
    return { code, out, err, outBytes };
  } finally {
    ctx.close();
  }
}
