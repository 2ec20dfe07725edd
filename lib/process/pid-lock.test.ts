import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isHolderAlive, PidLock, processStartTime, readHolder } from './pid-lock.js';
import { TswarmError } from '../errors.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tswarm-lock-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('PidLock', () => {
  it('refuses a second holder while the first lives, naming its pid', async () => {
    const path = join(dir, 'tswarmd.pid');
    const first = await PidLock.acquire(path, 'data dir X');
    const err = await PidLock.acquire(path, 'data dir X').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TswarmError);
    expect((err as TswarmError).code).toBe('DATA_DIR_LOCKED');
    expect((err as TswarmError).message).toContain(`pid ${process.pid}`);
    await first.release();
    const again = await PidLock.acquire(path, 'data dir X');
    await again.release();
  });

  it('takes over the lock of a process that died (as after kill -9)', async () => {
    const path = join(dir, 'tswarmd.pid');
    const child = spawn('sleep', ['60']);
    const pid = child.pid as number;
    await new Promise<void>((resolve) => child.once('spawn', () => resolve()));
    await writeFile(path, `${pid} ${processStartTime(pid)}\n`);
    child.kill('SIGKILL');
    await new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const lock = await PidLock.acquire(path, 'data dir X');
    expect(await readFile(path, 'utf8')).toBe(`${process.pid} ${processStartTime(process.pid)}\n`);
    await lock.release();
  });

  it('does not mistake a reused pid for the holder: the start time must match too', async () => {
    const path = join(dir, 'tswarmd.pid');
    // This process lives, but its start time is not 1: a pid reused by an unrelated process.
    await writeFile(path, `${process.pid} 1\n`);
    expect(isHolderAlive({ pid: process.pid, startTime: '1' })).toBe(false);
    const lock = await PidLock.acquire(path, 'data dir X');
    expect(await readFile(path, 'utf8')).toBe(`${process.pid} ${processStartTime(process.pid)}\n`);
    await lock.release();
    await expect(readFile(path, 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('treats a garbled pid file as stale', async () => {
    const path = join(dir, 'tswarmd.pid');
    await writeFile(path, 'not a pid');
    expect(await readHolder(path)).toBeUndefined();
    const lock = await PidLock.acquire(path, 'data dir X');
    expect(await readHolder(path)).toEqual({ pid: process.pid, startTime: processStartTime(process.pid) });
    await lock.release();
  });
});
