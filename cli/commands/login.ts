import type { Command } from 'commander';
import { TswarmError } from '../../lib/errors.js';
import { TSWARM_API_PREFIX } from '../../lib/api-version.js';
import type { CliContext } from '../context.js';

/** A login asks the registry, which may be slow to answer (and retried) but not for minutes. */
const REGISTRY_LOGIN_DEADLINE_MS = 60_000;
/** A password is short; a larger stdin is the wrong file piped in. */
const PASSWORD_STDIN_BYTES_MAX = 8192;

export async function readPasswordStdin(stdin: AsyncIterable<Buffer | string> = process.stdin): Promise<string> {
  let text = '';
  for await (const chunk of stdin) {
    text += chunk.toString();
    if (text.length > PASSWORD_STDIN_BYTES_MAX)
      throw new TswarmError(
        'USAGE',
        `--password-stdin read more than ${PASSWORD_STDIN_BYTES_MAX} bytes. Pipe only the password`,
      );
  }
  // `echo pass | tswarm login …` adds a newline the password does not have.
  return text.replace(/\r?\n$/, '');
}

export function registerLogin(program: Command, ctx: () => CliContext): void {
  program
    .command('login')
    .description('Log in to a registry; this node’s daemon keeps the credentials for pulls')
    .option('-u, --username <user>', 'user name')
    .option('-p, --password <password>', 'password (visible in the process list: prefer --password-stdin)')
    .option('--password-stdin', 'read the password from stdin')
    .argument('<registry>', 'registry host[:port], e.g. 127.0.0.1:5000')
    .action(async (registry: string, opts: { username?: string; password?: string; passwordStdin?: boolean }) => {
      if (!opts.username) throw new TswarmError('USAGE', 'login needs a user name. Give -u USER');
      if (opts.password !== undefined && opts.passwordStdin)
        throw new TswarmError('USAGE', '--password and --password-stdin are exclusive. Give one');
      const password = opts.passwordStdin ? await readPasswordStdin() : opts.password;
      if (!password) throw new TswarmError('USAGE', 'login needs a password. Give --password-stdin (or -p PASS)');
      if (opts.password !== undefined)
        process.stderr.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
      const c = ctx();
      // The daemon checks the credentials with the registry (a token round trip) before keeping them.
      const r = await c.api().json<{ Status: string }>('POST', `${TSWARM_API_PREFIX}/login`, {
        json: { Registry: registry, Username: opts.username, Password: password },
        timeoutMs: REGISTRY_LOGIN_DEADLINE_MS,
      });
      c.out(`${r.Status}\n`);
    });
  program
    .command('logout')
    .description('Forget the credentials for a registry')
    .argument('<registry>', 'registry host[:port]')
    .action(async (registry: string) => {
      const c = ctx();
      // As docker logout: not being logged in is said, not an error.
      const removed = await c
        .api()
        .json('POST', `${TSWARM_API_PREFIX}/logout`, { json: { Registry: registry } })
        .then(
          () => true,
          (err: unknown) => {
            if (err instanceof TswarmError && err.code === 'NOT_FOUND') return false;
            throw err;
          },
        );
      c.out(removed ? `Removing login credentials for ${registry}\n` : `Not logged in to ${registry}\n`);
    });
}
