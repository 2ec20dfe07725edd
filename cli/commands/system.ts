/** The `system` command group: `system df`, what images, containers and volumes take on disk. */
import type { Command } from 'commander';
import { CLUSTER_CALL_DEADLINE_MS } from '../../lib/api-client/client.js';
import type { CliContext } from '../context.js';
import { formatJson, parseFormat } from '../output.js';
import { dfSummary, dfVerbose, type DiskUsageJson } from './system-df-format.js';

/** The daemon walks every container's and volume's files (bounded at 20 s a kind): more than a local call's deadline. */
const DF_DEADLINE_MS = CLUSTER_CALL_DEADLINE_MS;

export function registerSystem(program: Command, ctx: () => CliContext): void {
  const system = program.command('system').description('This node’s engine as a whole');
  system
    .command('df')
    .description('Show the disk space images, containers and volumes take on this node')
    .option('-v, --verbose', 'show each image, container and volume')
    .option('--format <format>', 'output format: table or json (Docker’s DiskUsage)')
    .action(async (opts: { verbose?: boolean; format?: string }) => {
      const format = parseFormat(opts.format);
      const c = ctx();
      const du = await c.api().json<DiskUsageJson>('GET', '/system/df', { timeoutMs: DF_DEADLINE_MS });
      if (format === 'json') c.out(formatJson(du));
      else c.out(opts.verbose ? dfVerbose(du) : dfSummary(du));
    });
}
