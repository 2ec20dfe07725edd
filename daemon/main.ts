import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { createLogger, LOG_LEVELS, parseLogLevel } from '../lib/log.js';
import { asTswarmError, EXIT_USAGE } from '../lib/errors.js';
import { tswarmVersion } from '../lib/version.js';
import { Daemon } from './daemon.js';
import { DEFAULT_DATA_DIR } from './data-dir.js';
import { DEFAULT_HOST } from '../lib/daemon-host.js';
import { Launcher } from '../lib/process/launcher.js';
import { useCommandRunner } from '../lib/process/run.js';
import { parseInsecureRegistry } from '../engine/image/registry/registry-options.js';
import { addEngineLabel } from './engine-labels.js';

interface Flags {
  dataDir: string;
  host: string;
  hostname?: string;
  logLevel: string;
  insecureRegistry?: string[];
  registryCa?: string;
  runtime: 'crun' | 'runc';
  label?: Record<string, string>;
}

function insecureRegistryFlag(value: string): string {
  try {
    return parseInsecureRegistry(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function engineLabelFlag(value: string, previous: Record<string, string> = {}): Record<string, string> {
  try {
    return addEngineLabel(previous, value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function parseFlags(argv: string[]): Flags {
  const program = new Command('tswarmd')
    .description('The tswarm daemon: runs this node’s engine, its worker agent and, on managers, the control plane.')
    .version(tswarmVersion(), '-v, --version')
    .addOption(new Option('--data-dir <dir>', 'where the node keeps its state').default(DEFAULT_DATA_DIR))
    .addOption(new Option('-H, --host <url>', 'the local API socket').env('TSWARM_HOST').default(DEFAULT_HOST))
    .option('--hostname <name>', 'the name this node reports (default: the machine’s hostname)')
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info'))
    .option(
      '--insecure-registry <host:port>',
      'a registry spoken to over plain HTTP (repeatable)',
      (v: string, prev: string[] = []) => [...prev, insecureRegistryFlag(v)],
    )
    .option('--registry-ca <file>', 'PEM bundle of CAs trusted for HTTPS registries')
    .option(
      '--label <key=value>',
      'an engine label this node reports, for placement constraints (repeatable)',
      engineLabelFlag,
    )
    .addOption(new Option('--runtime <name>', 'OCI runtime').choices(['crun', 'runc']).default('crun'))
    .allowExcessArguments(false)
    .exitOverride();
  try {
    program.parse(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') process.exit(0);
      process.exit(EXIT_USAGE);
    }
    throw err;
  }
  return program.opts<Flags>();
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  const log = createLogger({ level: parseLogLevel(flags.logLevel), name: 'tswarmd' });
  // Host commands start from a small helper process: forks from the daemon's heap cost more.
  const launcher = new Launcher(log.child({ part: 'launcher' }));
  useCommandRunner(launcher);
  const daemon = new Daemon(
    {
      dataDir: flags.dataDir,
      host: flags.host,
      hostname: flags.hostname,
      logLevel: flags.logLevel,
      insecureRegistries: flags.insecureRegistry ?? [],
      caBundlePath: flags.registryCa,
      runtime: flags.runtime,
      engineLabels: flags.label ?? {},
    },
    log,
  );
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) return;
    signalled = true;
    log.info({ signal }, 'shutting down');
    daemon.stop().then(
      () => {
        launcher.close();
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await daemon.start();
  } catch (err) {
    const e = asTswarmError(err);
    // A person at a terminal reads one plain line; a supervisor's log gets the structured record.
    if (process.stderr.isTTY) process.stderr.write(`Error: ${e.message}.\n`);
    else log.fatal({ code: e.code, err: e.code === 'INTERNAL' ? err : undefined }, e.message);
    process.exit(e.exitCode);
  }
}

void main();
