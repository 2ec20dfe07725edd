import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { containerPath } from './container-api.js';

/** `rename CONTAINER NEW_NAME`: as `docker rename`, silent when it worked. */
export function addRename(parent: Command, ctx: () => CliContext): void {
  parent
    .command('rename')
    .description('Rename a container (running or not)')
    .argument('<container>', 'container ID, ID prefix or name')
    .argument('<new-name>', 'its new name: letters, digits, _ . -, starting with a letter or digit')
    .action(async (ref: string, name: string) => {
      await ctx().api().json<void>('POST', containerPath(ref, '/rename'), { query: { name } });
    });
}
