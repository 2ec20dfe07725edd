import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { formatJson, formatTable, parseFormat } from '../output.js';
import { containerPath } from './container-api.js';

/** The daemon's ps is bounded at 10 s; the answer then needs a moment more. */
const TOP_DEADLINE_MS = 20_000;

/** `GET /containers/{id}/top`: Docker's ContainerTopResponse. */
interface TopJson {
  Titles: string[];
  Processes: string[][] | null;
}

/** `top CONTAINER [ps OPTIONS]`: the container's processes as the host's ps shows them (default -ef). */
export function addTop(parent: Command, ctx: () => CliContext): void {
  parent
    .command('top')
    .description('Show the processes of a running container (ps options after the name, default -ef)')
    .argument('<container>', 'container ID, ID prefix or name')
    .argument('[ps-options...]', 'options for ps, e.g. aux or -o pid,comm')
    .option('--format <format>', 'output format: table or json')
    // Words after the container are ps's: `top web -o pid` must not read -o as tswarm's.
    .passThroughOptions()
    .action(async (ref: string, psOptions: string[], opts: { format?: string }) => {
      const format = parseFormat(opts.format);
      const c = ctx();
      const words = psOptions[0] === '--' ? psOptions.slice(1) : psOptions;
      const top = await c.api().json<TopJson>('GET', containerPath(ref, '/top'), {
        query: { ps_args: words.length > 0 ? words.join(' ') : undefined },
        timeoutMs: TOP_DEADLINE_MS,
      });
      if (format === 'json') c.out(formatJson(top));
      else c.out(formatTable(top.Titles, top.Processes ?? []));
    });
}
