import { describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { newId } from '../lib/ids.js';
import { silentLogger, type Logger } from '../lib/log.js';
import {
  formatManagersFile,
  loadKnownManagers,
  MANAGERS_FILE,
  ManagersFileWriter,
  parseManagersFile,
} from './managers-file.js';

const cluster = newId();
const m1 = { nodeId: newId(), addr: '192.168.77.11:2377' };
const m2 = { nodeId: newId(), addr: '192.168.77.12:2377' };

/** A logger that keeps its warnings, to check what the operator is told. */
function recordingLogger(): { log: Logger; warnings: string[] } {
  const warnings: string[] = [];
  const log = pino(
    { level: 'warn' },
    {
      write: (line: string) => {
        const entry = JSON.parse(line) as { msg: string; err?: string };
        warnings.push(`${entry.msg}: ${entry.err ?? ''}`);
      },
    },
  );
  return { log, warnings };
}

describe('managers.json: reading', () => {
  it('reads back what was written', () => {
    expect(parseManagersFile(formatManagersFile(cluster, [m1, m2]), cluster)).toEqual([m1, m2]);
  });

  it('refuses a file that is not JSON, of another cluster, or with a bad entry, saying which', () => {
    expect(() => parseManagersFile('{"formatVersion":1,', cluster)).toThrow('not JSON');
    expect(() => parseManagersFile(formatManagersFile('other', [m1]), cluster)).toThrow(
      `the managers of cluster other, not ${cluster}`,
    );
    expect(() => parseManagersFile('{"formatVersion":2,"clusterId":"x","managers":[]}', cluster)).toThrow(
      'format version 1',
    );
    const bad = (m: unknown) => JSON.stringify({ formatVersion: 1, clusterId: cluster, managers: [m1, m] });
    expect(() => parseManagersFile(bad({ nodeId: 'x', addr: m2.addr }), cluster)).toThrow(
      'manager 2 has no valid node ID',
    );
    expect(() => parseManagersFile(bad({ nodeId: m2.nodeId, addr: 'nowhere' }), cluster)).toThrow(
      'manager 2 has no valid HOST:PORT address',
    );
    expect(() => parseManagersFile(bad({ nodeId: m2.nodeId, addr: 'h:70000' }), cluster)).toThrow('HOST:PORT');
  });

  it('starts from nothing, with a clear warning and without throwing, when the file is missing, corrupt or unreadable', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tswarm-managers-'));
    const { log, warnings } = recordingLogger();
    expect(await loadKnownManagers(dir, cluster, log)).toEqual([]);
    expect(warnings).toEqual([]);

    await writeFile(join(dir, MANAGERS_FILE), '{"formatVersion": 1, "clusterId": "');
    expect(await loadKnownManagers(dir, cluster, log)).toEqual([]);
    expect(warnings).toEqual([
      'the list of known managers cannot be used; starting from the join address instead (the file is rewritten after the first heartbeat answer): it is not JSON',
    ]);

    // A directory where the file should be: reading it fails with EISDIR, not ENOENT.
    const other = await mkdtemp(join(tmpdir(), 'tswarm-managers-'));
    await mkdir(join(other, MANAGERS_FILE));
    expect(await loadKnownManagers(other, cluster, log)).toEqual([]);
    expect(warnings.at(-1)).toContain('EISDIR');
  });
});

describe('managers.json: writing', () => {
  it('writes atomically only when the list changes, and the newest list when changes come during a write', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tswarm-managers-'));
    const writer = new ManagersFileWriter(dir, cluster, silentLogger());
    writer.save([m1, m2]);
    writer.save([m2, m1]);
    writer.save([m1]);
    await writer.flushed();
    expect(parseManagersFile(await readFile(join(dir, MANAGERS_FILE), 'utf8'), cluster)).toEqual([m1]);
    // No temp file left behind.
    expect(await readdir(dir)).toEqual([MANAGERS_FILE]);
    expect((await stat(join(dir, MANAGERS_FILE))).mode & 0o777).toBe(0o600);

    // A writer started from what is on disk does not write it again; a rename would change the inode.
    const inode = (await stat(join(dir, MANAGERS_FILE))).ino;
    const again = new ManagersFileWriter(dir, cluster, silentLogger(), [m1]);
    again.save([m1]);
    await again.flushed();
    expect((await stat(join(dir, MANAGERS_FILE))).ino).toBe(inode);
  });

  it('writes nothing once closed, so leave can delete the file after', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tswarm-managers-'));
    const writer = new ManagersFileWriter(dir, cluster, silentLogger());
    await writer.close();
    writer.save([m1]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await readdir(dir)).toEqual([]);
  });

  it('logs a failed write and goes on', async () => {
    const { log, warnings } = recordingLogger();
    const writer = new ManagersFileWriter(join(tmpdir(), 'no', 'such', '\0dir'), cluster, log);
    writer.save([m1]);
    await writer.flushed();
    expect(warnings[0]).toContain('could not write the list of known managers');
  });
});
