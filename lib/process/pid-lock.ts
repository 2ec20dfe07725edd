import { open, readFile, unlink } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { TswarmError } from '../errors.js';

/**
 * A data-dir lock that a kill -9 can never leave stuck: a pid file naming the holder's pid and its
 * kernel start time. A holder counts only while a process with that pid *and* that start time
 * lives, so neither a dead daemon nor an unrelated process that reused its pid blocks a restart.
 */
export interface PidLockHolder {
  pid: number;
  startTime: string;
}

/**
 * Field 22 of /proc/PID/stat: start time in clock ticks since boot, stable for the process's life;
 * undefined when no such process lives.
 */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses; fields after the last ')' are fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // A zombie has exited; it lingers only until its parent (or an init that may never reap) waits.
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
    return fields[19];
  } catch {
    return undefined;
  }
}

export function isHolderAlive(holder: PidLockHolder): boolean {
  return processStartTime(holder.pid) === holder.startTime;
}

function parseHolder(text: string): PidLockHolder | undefined {
  const match = /^(\d+) (\d+)\n$/.exec(text);
  if (!match) return undefined;
  return { pid: Number(match[1]), startTime: match[2] as string };
}

export async function readHolder(path: string): Promise<PidLockHolder | undefined> {
  try {
    return parseHolder(await readFile(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Attempts to take over a lock before giving up: covers two daemons racing for a stale file. */
const ACQUIRE_ATTEMPTS_MAX = 20;

export class PidLock {
  private constructor(
    readonly path: string,
    private readonly self: PidLockHolder,
  ) {}

  /** Takes the lock at `path`, or fails with DATA_DIR_LOCKED naming the live holder. `what` names the locked thing. */
  static async acquire(path: string, what: string): Promise<PidLock> {
    const startTime = processStartTime(process.pid);
    if (!startTime)
      throw new TswarmError('UNSUPPORTED_HOST', 'cannot read /proc/self/stat. tswarmd needs Linux with /proc mounted');
    const self = { pid: process.pid, startTime };
    const content = `${self.pid} ${self.startTime}\n`;
    for (let attempt = 0; attempt < ACQUIRE_ATTEMPTS_MAX; attempt++) {
      try {
        const handle = await open(path, 'wx', 0o644);
        try {
          await handle.writeFile(content);
          await handle.sync();
        } finally {
          await handle.close();
        }
        // Another starter may have judged our file stale between create and write; confirm it is ours.
        if ((await readFile(path, 'utf8')) === content) return new PidLock(path, self);
        continue;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = await readHolder(path);
      if (holder && isHolderAlive(holder)) {
        throw new TswarmError(
          'DATA_DIR_LOCKED',
          `${what} is in use by another tswarmd (pid ${holder.pid}). Stop that daemon first, or give this one another --data-dir`,
        );
      }
      if (!holder && attempt < 2) {
        // A file without a complete holder line may be one another starter is writing right now.
        await new Promise((resolve) => setTimeout(resolve, 20));
        continue;
      }
      await unlink(path).catch(() => undefined);
    }
    throw new TswarmError(
      'DATA_DIR_LOCKED',
      `could not lock ${what} (${path}): it keeps changing hands. Check for other tswarmd processes`,
    );
  }

  async release(): Promise<void> {
    const holder = await readHolder(this.path);
    if (holder?.pid === this.self.pid && holder.startTime === this.self.startTime) {
      await unlink(this.path).catch(() => undefined);
    }
  }
}
