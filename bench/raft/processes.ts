/**
 * The clusters under test, as real processes on 127.0.0.1: three tswarm kvserver members and
 * three etcd 3.4 members, each with its own temp data dir (real fsync). Ended by PID on stop,
 * SIGKILL if SIGTERM is not enough within a bound.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ETCD_BIN = '/usr/bin/etcd';
const STOP_GRACE_MS = 5000;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export class ProcessCluster {
  private readonly children: ChildProcess[] = [];
  private readonly byMember = new Map<string, ChildProcess>();

  private constructor(
    readonly kind: 'tswarm' | 'etcd',
    readonly dir: string,
    /** Member ID → client address (host:port). */
    readonly clientAddrs: Map<string, string>,
  ) {}

  private spawnMember(name: string, cmd: string, args: string[]): void {
    const log = createWriteStream(join(this.dir, `${name}.log`));
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(log);
    child.stderr.pipe(log);
    this.children.push(child);
    this.byMember.set(name, child);
  }

  /** SIGKILL of one member's process (a crash); stop() still waits for it. */
  kill(member: string): void {
    const child = this.byMember.get(member);
    if (!child?.pid) throw new Error(`no process for member ${member}`);
    process.kill(child.pid, 'SIGKILL');
  }

  /** Three kvserver members from the compiled dist (`npx tsc -p tsconfig.json` first). */
  static async startTswarm(): Promise<ProcessCluster> {
    const dir = await mkdtemp(join(tmpdir(), 'tswarm-bench-raft-'));
    const ids = ['n1', 'n2', 'n3'];
    const addrs = new Map<string, string>();
    for (const id of ids) addrs.set(id, `127.0.0.1:${await freePort()}`);
    const cluster = new ProcessCluster('tswarm', dir, addrs);
    const main = fileURLToPath(new URL('./kvserver/main.js', import.meta.url));
    const peers = [...addrs].map(([id, a]) => `${id}=${a}`).join(',');
    for (const id of ids) {
      cluster.spawnMember(id, process.execPath, [
        main,
        '--id',
        id,
        '--data-dir',
        join(dir, id),
        '--listen',
        addrs.get(id)!,
        '--peers',
        peers,
      ]);
    }
    return cluster;
  }

  /** Three etcd members, as `etcd --name e1 ... --initial-cluster-state new`. */
  static async startEtcd(): Promise<ProcessCluster> {
    const dir = await mkdtemp(join(tmpdir(), 'tswarm-bench-etcd-'));
    const ids = ['e1', 'e2', 'e3'];
    const client = new Map<string, string>();
    const peer = new Map<string, string>();
    for (const id of ids) {
      client.set(id, `127.0.0.1:${await freePort()}`);
      peer.set(id, `http://127.0.0.1:${await freePort()}`);
    }
    const cluster = new ProcessCluster('etcd', dir, client);
    const initial = ids.map((id) => `${id}=${peer.get(id)!}`).join(',');
    for (const id of ids) {
      const url = `http://${client.get(id)!}`;
      cluster.spawnMember(id, ETCD_BIN, [
        '--name',
        id,
        '--data-dir',
        join(dir, id),
        '--listen-client-urls',
        url,
        '--advertise-client-urls',
        url,
        '--listen-peer-urls',
        peer.get(id)!,
        '--initial-advertise-peer-urls',
        peer.get(id)!,
        '--initial-cluster',
        initial,
        '--initial-cluster-state',
        'new',
        '--initial-cluster-token',
        `bench-${process.pid}`,
        '--logger',
        'zap',
        '--log-level',
        'warn',
      ]);
    }
    return cluster;
  }

  pids(): number[] {
    return this.children.map((c) => c.pid!).filter((p) => p !== undefined);
  }

  /** Ends the members by PID (TERM, then KILL after a bound) and removes the data dirs. */
  async stop(): Promise<void> {
    await Promise.all(this.children.map((c) => stopChild(c)));
    await rm(this.dir, { recursive: true, force: true });
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
