import { Command, CommanderError } from 'commander';
import { EXIT_OK, EXIT_USAGE } from '../lib/errors.js';
import { tswarmVersion } from '../lib/version.js';
import { CliContext } from './context.js';
import { errorLine, reportError } from './errors.js';
import { registerInfo } from './commands/info.js';
import { registerVersion } from './commands/version.js';
import { registerSwarm } from './commands/swarm.js';
import { registerNode } from './commands/node.js';
import { registerImage } from './commands/image.js';
import { registerContainer } from './commands/container.js';
import { registerVolume } from './commands/volume.js';
import { registerLogin } from './commands/login.js';
import { ExitWith, registerLab } from './commands/lab.js';

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

const processIo: CliIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

/** Commander says "error: unknown option '--x'"; we say it our way, then show the usage. */
function commanderMessage(raw: string): string {
  return raw.replace(/^error:\s*/i, '').trim();
}

export function buildProgram(io: CliIo, context: () => CliContext): Command {
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
  registerVersion(program, context);
  registerInfo(program, context);
  registerSwarm(program, context);
  registerNode(program, context);
  registerImage(program, context);
  registerContainer(program, context);
  registerVolume(program, context);
  registerLogin(program, context);
  registerLab(program, context);
  return program;
}

/** Runs the CLI and returns the exit code: 0 ok, 1 error, 2 usage (STYLE.md). */
export async function runCli(argv: string[], io: CliIo = processIo): Promise<number> {
  let ctx: CliContext | undefined;
  const program = buildProgram(io, () => (ctx ??= new CliContext(program.opts<{ host?: string }>().host, io.out)));
  if (argv.length === 0) {
    io.out(program.helpInformation());
    return EXIT_OK;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT_OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT_OK;
      return EXIT_USAGE;
    }
    if (err instanceof ExitWith) return err.exitCode;
    return reportError(err, io.err);
  } finally {
    ctx?.close();
  }
}
