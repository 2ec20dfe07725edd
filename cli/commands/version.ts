import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { formatFields, formatJson, parseFormat } from '../output.js';
import { versionInfo } from '../../lib/version.js';
import type { VersionResponse } from '../../gen/lite/tswarm/v1/system.js';

function fields(v: VersionResponse): [string, string][] {
  return [
    ['Version', v.version],
    ['API version', v.apiVersion],
    ['Node.js', v.nodeVersion],
    ['OS/Arch', `${v.os}/${v.arch}`],
  ];
}

export function registerVersion(program: Command, ctx: () => CliContext): void {
  program
    .command('version')
    .description('Show the tswarm version of this client and of the daemon')
    .option('-f, --format <format>', 'output format: table or json')
    .action(async (opts: { format?: string }) => {
      const format = parseFormat(opts.format);
      const client = versionInfo();
      const c = ctx();
      // The client's version is printed even when the daemon is down, as `docker version` does.
      let server: VersionResponse | undefined;
      let serverError: Error | undefined;
      try {
        server = await (await c.daemon()).version();
      } catch (err) {
        serverError = err instanceof Error ? err : new Error(String(err));
      }
      if (format === 'json') c.out(formatJson({ client, server: server ?? null }));
      else {
        c.out('Client:\n' + formatFields(fields(client)));
        if (server) c.out('\nServer:\n' + formatFields(fields(server)));
      }
      if (serverError) throw serverError;
    });
}
