import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

/** Where programs live when the environment has no PATH at all (a bare service manager, say). */
const DEFAULT_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The first executable `command` in PATH's directories, then in `extraDirs` (tools some
 * distributions keep outside PATH), as the shell's `command -v` finds it; undefined when none.
 * Empty PATH entries are skipped: they would mean the current directory.
 */
export async function which(command: string, extraDirs: readonly string[] = []): Promise<string | undefined> {
  const dirs = [...(process.env['PATH'] ?? DEFAULT_PATH).split(delimiter), ...extraDirs].filter((d) => d !== '');
  for (const dir of dirs) {
    const candidate = join(dir, command);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}
