import { Command, CommanderError } from 'commander';
import { EXIT_OK, EXIT_USAGE } from '../lib/errors.js';
import { tswarmVersion } from '../lib/version.js';
import { CliContext } from './context.js';
import { errorLine, reportError } from './errors.js';
import { EXIT_RUN_ENGINE_ERROR, ExitWith } from './exit-with.js';

/**
 * Defines a module's commands. `words` (the command words on the command line) lets a module
 * define only the command named there, when it knows it; without them it defines all.
 */
type Register = (program: Command, context: () => CliContext, words?: readonly string[]) => void;

/**
 * Each command's module, loaded only when that command runs: the CLI starts in a fraction of the
 * time when `tswarm info` does not load the engine's, the CA's and every other command's code.
 * Top-level help and unknown commands (which suggest the nearest) load them all; `--version`
 * loads none.
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  version: async () => (await import('./commands/version.js')).registerVersion,
  info: async () => (await import('./commands/info.js')).registerInfo,
  events: async () => (await import('./commands/events.js')).registerEvents,
  swarm: async () => (await import('./commands/swarm.js')).registerSwarm,
  node: async () => (await import('./commands/node.js')).registerNode,
  service: async () => (await import('./commands/service.js')).registerService,
  image: async () => (await import('./commands/image.js')).registerImage,
  container: async () => (await import('./commands/container.js')).registerContainer,
  volume: async () => (await import('./commands/volume.js')).registerVolume,
  system: async () => (await import('./commands/system.js')).registerSystem,
  login: async () => (await import('./commands/login.js')).registerLogin,
  lab: async () => (await import('./commands/lab.js')).registerLab,
};

/** Which module defines a top-level command or alias; the rest of the argv does not matter. */
const MODULE_OF: Record<string, string> = {
  version: 'version',
  info: 'info',
  events: 'events',
  init: 'swarm',
  join: 'swarm',
  'join-token': 'swarm',
  leave: 'swarm',
  swarm: 'swarm',
  node: 'node',
  service: 'service',
  image: 'image',
  pull: 'image',
  images: 'image',
  tag: 'image',
  push: 'image',
  save: 'image',
  history: 'image',
  commit: 'image',
  container: 'container',
  run: 'container',
  ps: 'container',
  exec: 'container',
  attach: 'container',
  top: 'container',
  rename: 'container',
  volume: 'volume',
  system: 'system',
  login: 'login',
  logout: 'login',
  lab: 'lab',
};

/** The first two arguments that are not flags (the command and its sub-command), skipping -H's value. */
function commandWords(argv: readonly string[]): string[] {
  const words: string[] = [];
  for (let i = 0; i < argv.length && words.length < 2; i++) {
    const a = argv[i]!;
    if (a === '-H' || a === '--host') i++;
    else if (!a.startsWith('-')) words.push(a);
  }
  return words;
}

/** `tswarm --version` alone: commander answers it from the program itself, with no command registered. */
function versionOnly(argv: readonly string[], word: string | undefined): boolean {
  return (
    word === undefined &&
    argv.some((a) => a === '-v' || a === '--version') &&
    !argv.some((a) => a === '-h' || a === '--help')
  );
}

/** The modules to load, and the command words they may narrow their commands to (none: define all). */
async function registrars(
  argv: readonly string[],
): Promise<{ register: Register[]; words: readonly string[] | undefined }> {
  const words = commandWords(argv);
  const word = words[0];
  if (versionOnly(argv, word)) return { register: [], words: undefined };
  const only = word !== undefined ? MODULE_OF[word] : undefined;
  if (!only) return { register: await Promise.all(Object.keys(COMMANDS).map((n) => COMMANDS[n]!())), words: undefined };
  return { register: [await COMMANDS[only]!()], words };
}

export interface CliIo {
  out: (data: string | Uint8Array) => void;
  err: (text: string) => void;
}

const processIo: CliIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

/** Commander says "error: unknown option '--x'"; we say it our way, then show the usage. */
function commanderMessage(raw: string): string {
  return raw
    .replace(/^error:\s*/i, '')
    .replace(/\s*\(Did you mean (.+)\?\)\s*$/, '. Did you mean $1?')
    .trim();
}

export function buildProgram(
  io: CliIo,
  context: () => CliContext,
  register: readonly Register[],
  words?: readonly string[],
): Command {
  const program = new Command('tswarm');
  program
    .description('tswarm: run containers as services on a cluster of machines, in the spirit of Docker Swarm mode.')
    .option('-H, --host <url>', 'daemon socket to connect to (default: $TSWARM_HOST or unix:///run/tswarm/tswarm.sock)')
    .version(tswarmVersion(), '-v, --version', 'print the client version and exit')
    .helpCommand(false)
    .enablePositionalOptions()
    .exitOverride()
    .showHelpAfterError(true)
    .configureOutput({
      writeOut: io.out,
      writeErr: io.err,
      outputError: (str, write) => write(errorLine(commanderMessage(str))),
    });
  for (const r of register) r(program, context, words);
  return program;
}

/** Whether argv runs a container (`run`, `container run`), after the global -H/--host option. */
export function isRunCommand(argv: readonly string[]): boolean {
  let i = 0;
  while (i < argv.length && /^(-H|--host)(=|$)/.test(argv[i]!)) i += argv[i]!.includes('=') ? 1 : 2;
  return argv[i] === 'run' || (argv[i] === 'container' && argv[i + 1] === 'run');
}

/** Runs the CLI and returns the exit code: 0 ok, 1 error, 2 usage, so scripts can tell a typo from a failure. */
export async function runCli(argv: string[], io: CliIo = processIo): Promise<number> {
  let ctx: CliContext | undefined;
  const { register, words } = await registrars(argv);
  const program = buildProgram(
    io,
    () => (ctx ??= new CliContext(program.opts<{ host?: string }>().host, io.out)),
    register,
    words,
  );
  if (argv.length === 0) {
    io.out(program.helpInformation());
    return EXIT_OK;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT_OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help')
        return EXIT_OK;
      // `run` keeps Docker's codes, where 125 is "tswarm failed" — a usage error included — so a
      // script can tell it from the container's own exit code.
      return isRunCommand(argv) ? EXIT_RUN_ENGINE_ERROR : EXIT_USAGE;
    }
    if (err instanceof ExitWith) return err.exitCode;
    return reportError(err, io.err);
  } finally {
    ctx?.close();
  }
}
