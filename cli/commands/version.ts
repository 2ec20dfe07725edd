import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { formatFields, formatJson, parseFormat } from '../output.js';
import { versionInfo } from '../../lib/version.js';
import { API_VERSION_MAX } from '../../lib/api-version.js';
import type { DockerVersion } from '../../lib/api-client/swarm-types.js';

/** What `tswarm version` shows of a client or a daemon. */
export interface VersionFields {
  version: string;
  apiVersion: string;
  nodeVersion: string;
  os: string;
  arch: string;
  gitCommit: string;
}

/** This CLI: its build, and the Engine API version it speaks. */
export function clientVersion(): VersionFields {
  return { ...versionInfo(), apiVersion: API_VERSION_MAX };
}

/** The daemon's `GET /version` in tswarm's fields; Node.js's version is in the Engine component's details. */
export function serverVersion(v: DockerVersion): VersionFields {
  const engine = v.Components?.find((c) => c.Name === 'Engine');
  return {
    version: v.Version,
    apiVersion: v.ApiVersion,
    nodeVersion: engine?.Details?.NodeVersion ?? '',
    os: v.Os,
    arch: v.Arch,
    gitCommit: v.GitCommit,
  };
}

function fields(v: VersionFields): [string, string][] {
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
      const client = clientVersion();
      const c = ctx();
      // The client's version is printed even when the daemon is down, as `docker version` does.
      let server: VersionFields | undefined;
      let serverError: Error | undefined;
      try {
        server = serverVersion(await c.api().json<DockerVersion>('GET', '/version'));
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
