import { afterEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../lib/log.js';
import { DiskStorage } from './raft/storage/storage-disk.js';
import {
  claimRaftDir,
  RAFT_OWNER_FILE,
  RaftDirRefusedError,
  readRaftOwner,
  writeRaftOwner,
  type RaftOwner,
  type RaftStart,
} from './raft-dir-owner.js';

const dirs: string[] = [];
afterEach(async () => {
  while (dirs.length) await rm(dirs.pop()!, { recursive: true, force: true });
});

async function dataDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'tswarm-raft-owner-'));
  dirs.push(d);
  return d;
}

const A1: RaftOwner = { clusterId: 'clusterA', memberId: 'member1' };
const log = silentLogger();

/** A raft dir holding a real WAL with one entry and a hard state, as a manager leaves it. */
async function raftDirWithData(raftDir: string): Promise<void> {
  const storage = await DiskStorage.open(raftDir);
  await storage.save({ term: 2, vote: 'member1', commit: 1 }, [
    { index: 1, term: 2, type: 'normal', data: new Uint8Array([1]) },
  ]);
  await storage.close();
}

async function refusal(p: Promise<unknown>): Promise<RaftDirRefusedError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RaftDirRefusedError);
  return err as RaftDirRefusedError;
}

describe('Raft data bound to its cluster and member (raft/member.json)', () => {
  it('binds a missing or empty raft dir to the member that starts Raft on it', async () => {
    for (const start of ['new-member', 'restart'] as RaftStart[]) {
      const raftDir = join(await dataDir(), 'raft');
      expect(await claimRaftDir(raftDir, A1, start, log)).toBe('fresh');
      expect(await readRaftOwner(raftDir)).toEqual(A1);
      expect(JSON.parse(await readFile(join(raftDir, RAFT_OWNER_FILE), 'utf8'))).toEqual({ formatVersion: 1, ...A1 });
    }
    // Empty WAL and snapshot directories hold no Raft data either.
    const raftDir = join(await dataDir(), 'raft');
    await mkdir(join(raftDir, 'wal'), { recursive: true });
    await mkdir(join(raftDir, 'snap'));
    expect(await claimRaftDir(raftDir, A1, 'new-member', log)).toBe('fresh');
  });

  it('accepts the data of the same cluster and member, and keeps it', async () => {
    const raftDir = join(await dataDir(), 'raft');
    await writeRaftOwner(raftDir, A1);
    await raftDirWithData(raftDir);
    expect(await claimRaftDir(raftDir, A1, 'restart', log)).toBe('same');
    // A promotion retried after a failed start finds its own member's data, and keeps it too.
    expect(await claimRaftDir(raftDir, A1, 'new-member', log)).toBe('same');
    const storage = await DiskStorage.open(raftDir);
    expect(storage.lastIndex()).toBe(1);
    await storage.close();
  });

  it('refuses the data of another cluster or another member, saying what to do, and changes nothing', async () => {
    const raftDir = join(await dataDir(), 'raft');
    await writeRaftOwner(raftDir, A1);
    await raftDirWithData(raftDir);
    for (const start of ['new-member', 'restart'] as RaftStart[]) {
      const otherCluster = await refusal(
        claimRaftDir(raftDir, { clusterId: 'clusterB', memberId: 'member1' }, start, log),
      );
      expect(otherCluster.code).toBe('FAILED_PRECONDITION');
      expect(otherCluster.message).toContain('holds the Raft data of member member1 of cluster clusterA');
      expect(otherCluster.message).toContain('this node is member member1 of cluster clusterB');
      expect(otherCluster.message).toContain('`tswarm leave --force`');
      const otherMember = await refusal(
        claimRaftDir(raftDir, { clusterId: 'clusterA', memberId: 'member2' }, start, log),
      );
      expect(otherMember.message).toContain('this node is member member2 of cluster clusterA');
    }
    expect(await readRaftOwner(raftDir)).toEqual(A1);
  });

  it('data from before member.json existed: a restarting manager adopts it, a new member is refused', async () => {
    const adopted = join(await dataDir(), 'raft');
    await raftDirWithData(adopted);
    expect(await claimRaftDir(adopted, A1, 'restart', log)).toBe('adopted');
    expect(await readRaftOwner(adopted)).toEqual(A1);

    const refused = join(await dataDir(), 'raft');
    await raftDirWithData(refused);
    const err = await refusal(claimRaftDir(refused, A1, 'new-member', log));
    expect(err.code).toBe('FAILED_PRECONDITION');
    expect(err.message).toContain('names no cluster or member');
    expect(existsSync(join(refused, RAFT_OWNER_FILE))).toBe(false);
  });

  it('refuses an unreadable member.json as corrupt rather than guessing', async () => {
    const raftDir = join(await dataDir(), 'raft');
    await mkdir(raftDir);
    for (const text of ['{not json', '{"formatVersion":1,"clusterId":"","memberId":"m"}', 'null']) {
      await writeFile(join(raftDir, RAFT_OWNER_FILE), text);
      const err = await refusal(claimRaftDir(raftDir, A1, 'restart', log));
      expect(err.code, text).toBe('DATA_CORRUPT');
    }
  });

  it('does not take the temporary file of an interrupted member.json write for Raft data', async () => {
    const raftDir = join(await dataDir(), 'raft');
    await mkdir(raftDir);
    await writeFile(join(raftDir, `.${RAFT_OWNER_FILE}.tmp-1234`), '{"formatVersion":1');
    expect(await claimRaftDir(raftDir, A1, 'new-member', log)).toBe('fresh');
  });
});
