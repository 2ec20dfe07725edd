import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { link, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { treeBytes, walkBudget } from './tree-bytes.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tswarm-tree-bytes-'));
  await mkdir(join(dir, 'a/b/c'), { recursive: true });
  await writeFile(join(dir, 'top'), Buffer.alloc(1000));
  await writeFile(join(dir, 'a/b/c/deep'), Buffer.alloc(2500));
  await link(join(dir, 'a/b/c/deep'), join(dir, 'a/hard')); // counted once
  await symlink('/a/very/long/target/that/is/not/followed', join(dir, 'a/sym'));
  for (let i = 0; i < 200; i++) await writeFile(join(dir, 'a/b', `f${i}`), Buffer.alloc(10));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('treeBytes', () => {
  it('sums every non-directory once, hard links once, symlinks by their own size', async () => {
    const r = await treeBytes(dir, walkBudget(10_000, 10_000));
    const symlinkBytes = '/a/very/long/target/that/is/not/followed'.length;
    expect(r).toEqual({ bytes: 1000 + 2500 + 200 * 10 + symlinkBytes, complete: true });
  });

  it('is 0 and complete for a directory that does not exist', async () => {
    expect(await treeBytes(join(dir, 'nope'), walkBudget(10, 1000))).toEqual({ bytes: 0, complete: true });
  });

  it('stops at the entry budget, shared between walks, with a lower bound', async () => {
    const budget = walkBudget(50, 10_000);
    const first = await treeBytes(dir, budget);
    expect(first.complete).toBe(false);
    expect(first.bytes).toBeLessThan(1000 + 2500 + 2000);
    expect(budget.entriesLeft).toBeLessThanOrEqual(0);
    // The budget is spent: a second walk reads nothing.
    expect(await treeBytes(dir, budget)).toEqual({ bytes: 0, complete: false });
  });

  it('stops at the deadline', async () => {
    expect(await treeBytes(dir, walkBudget(10_000, -1))).toEqual({ bytes: 0, complete: false });
  });
});
