import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** What conmon wrote when the container ended: its exit code (128+n for a signal) and when. */
export interface ExitFile {
  exitCode: number;
  atMs: number;
}

/** conmon writes `<exitDir>/<container name>` holding the exit code in decimal. */
export async function readExitFile(exitDir: string, runtimeName: string): Promise<ExitFile | undefined> {
  const path = join(exitDir, runtimeName);
  try {
    const [text, info] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    // conmon writes the file in one write; an empty read is a write in progress: try next poll.
    if (text.trim() === '') return undefined;
    const exitCode = Number.parseInt(text.trim(), 10);
    return { exitCode: Number.isNaN(exitCode) ? 255 : exitCode, atMs: info.mtimeMs };
  } catch {
    return undefined;
  }
}

export async function removeExitFile(exitDir: string, runtimeName: string): Promise<void> {
  await rm(join(exitDir, runtimeName), { force: true });
}
