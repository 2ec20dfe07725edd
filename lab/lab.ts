import { mkdir, access } from 'node:fs/promises';
import type { ChildProcess, StdioOptions } from 'node:child_process';
import { TswarmError } from '../lib/errors.js';
import { PidLock } from '../lib/process/pid-lock.js';
import { builtEntry } from '../lib/paths.js';
import { waitFor } from '../lib/poll.js';
import { run, type RunResult } from '../lib/process/run.js';
import { ApiClient } from '../lib/api-client/client.js';
import type { TswarmInfo } from '../lib/api-client/swarm-types.js';
import type { Logger } from '../lib/log.js';
import { createCgroup, ensureHierarchy, killCgroup } from './cgroup.js';
import { applyPartition, createHost, createSwitch, healPartition } from './netns.js';
import { labPaths } from './paths.js';
import {
  DEFAULT_LAB_NAME,
  checkHostEngineLabels,
  engineLabelArgs,
  partitionGroups,
  planHosts,
  validateLabName,
  type HostEngineLabels,
} from './plan.js';
import {
  hostCommandScript,
  hostEnv,
  isAlive,
  logTail,
  signalProcess,
  spawnInHost,
  startDaemon,
  waitForExit,
} from './processes.js';
import {
  createRegistryHost,
  planRegistry,
  registryAnswers,
  registryView,
  requireRegistryTools,
  startRegistry,
  withRegistryDaemonArgs,
  type LabRegistry,
} from './registry.js';
import {
  findHost,
  loadLabState,
  requireLabState,
  saveLabState,
  type HostState,
  type LabState,
  type RegistryState,
} from './state.js';
import { teardownLab, type TeardownReport } from './teardown.js';
import { failedUpReport, formatFailedUp, keepLabLogs, type NodeRow } from './failed-up.js';

export interface LabUpOptions {
  managers?: number;
  workers?: number;
  name?: string;
  logLevel?: string;
  /** Aborting (Ctrl-C) tears down whatever was made so far. */
  signal?: AbortSignal;
  readyTimeoutMs?: number;
  log?: Logger;
  /** Extra tswarmd flags for every host (e.g. `--insecure-registry`), kept for later restarts. */
  daemonArgs?: string[];
  /**
   * Also make the registry host `reg` (192.168.77.5:5000) holding the test image `lab/busybox:1`,
   * and start every daemon with `--insecure-registry` for it. Off by default: it costs an image
   * build, which tests that pull nothing need not pay. `tswarm lab up` turns it on.
   */
  registry?: boolean;
  /** Engine labels per host, e.g. `{ w1: { disk: 'ssd' } }`: `tswarmd --label` on that host, kept for its restarts. */
  engineLabels?: HostEngineLabels;
}

export type HostRunState = 'running' | 'unresponsive' | 'stopped' | 'dead';

export interface HostStatus {
  name: string;
  role: HostState['role'] | 'registry';
  addr: string;
  pid: number;
  state: HostRunState;
  /** The partition group the host is in (1-based), or 0 when the lab is whole. */
  group: number;
  /** The daemon's socket; '' for the registry host, which runs no daemon. */
  socket: string;
}

const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const PROBE_DEADLINE_MS = 1_000;
const NODE_LS_TIMEOUT_MS = 10_000;

/** Whether the host's daemon answers on its socket as the process the lab started (not a stale one). */
async function answers(host: HostState): Promise<boolean> {
  let client: ApiClient | undefined;
  try {
    client = new ApiClient(`unix://${host.socket}`);
    const info = await client.json<TswarmInfo>('GET', '/tswarm/info', { timeoutMs: PROBE_DEADLINE_MS });
    return info.Pid === host.pid;
  } catch {
    return false;
  } finally {
    client?.close();
  }
}

/** The daemons' extra flags: the caller's, plus `--insecure-registry` for the lab registry when there is one. */
function daemonArgsFor(options: LabUpOptions): { daemonArgs?: string[] } {
  const args = options.registry ? withRegistryDaemonArgs(options.daemonArgs) : [...(options.daemonArgs ?? [])];
  return args.length > 0 ? { daemonArgs: args } : {};
}

/** A host's extra daemon flags: the lab's, then its own engine labels. */
function daemonArgsOf(state: LabState, host: HostState): string[] {
  return [...(state.daemonArgs ?? []), ...engineLabelArgs(host.engineLabels)];
}

async function requireRoot(): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new TswarmError(
      'UNSUPPORTED_HOST',
      'the lab needs root: it creates network namespaces, links and cgroups. Run it as root (e.g. with sudo)',
    );
  }
  try {
    await access('/proc/self/ns/net');
  } catch {
    throw new TswarmError(
      'UNSUPPORTED_HOST',
      'this kernel has no network namespaces (/proc/self/ns/net is missing). The lab needs Linux with CONFIG_NET_NS',
    );
  }
}

/**
 * Several hosts on this one machine: each a network namespace with its own address, data dir
 * and tswarmd, on an underlay switch. The CLI (`tswarm lab …`) and the cluster tests share it.
 */
export class Lab {
  private constructor(
    private state: LabState,
    private readonly log?: Logger,
  ) {}

  get name(): string {
    return this.state.name;
  }

  get hosts(): readonly HostState[] {
    return this.state.hosts;
  }

  /** The lab registry, when the lab has one (`Lab.up({ registry: true })`). */
  get registry(): LabRegistry | undefined {
    return this.state.registry ? registryView(this.state.registry) : undefined;
  }

  requireRegistry(): LabRegistry {
    const reg = this.registry;
    if (!reg) {
      const flag = this.state.name === DEFAULT_LAB_NAME ? '' : ` --name ${this.state.name}`;
      throw new TswarmError(
        'FAILED_PRECONDITION',
        `lab "${this.state.name}" has no registry: it was brought up with --no-registry. Tear it down with \`tswarm lab down${flag}\` and bring it up again with \`tswarm lab up${flag}\` (without --no-registry)`,
      );
    }
    return reg;
  }

  static async open(name: string = DEFAULT_LAB_NAME, log?: Logger): Promise<Lab> {
    return new Lab(await requireLabState(validateLabName(name)), log);
  }

  static async up(options: LabUpOptions = {}): Promise<Lab> {
    const name = validateLabName(options.name ?? DEFAULT_LAB_NAME);
    const plan = planHosts(options.managers ?? 3, options.workers ?? 2);
    const engineLabels = options.engineLabels ?? {};
    checkHostEngineLabels(
      plan.map((h) => h.name),
      engineLabels,
    );
    await requireRoot();
    if (options.registry) await requireRegistryTools();
    await access(builtEntry('daemon')).catch(() => {
      throw new TswarmError(
        'FAILED_PRECONDITION',
        `tswarmd is not built (${builtEntry('daemon')} is missing). Run \`npm run build\` first`,
      );
    });
    await mkdir(labPaths.dir(name), { recursive: true, mode: 0o755 });
    const lock = await PidLock.acquire(labPaths.lock(name), `lab "${name}"`);
    try {
      if (await loadLabState(name)) {
        throw new TswarmError(
          'ALREADY_EXISTS',
          `lab "${name}" is already up. Tear it down with \`tswarm lab down${name === DEFAULT_LAB_NAME ? '' : ` --name ${name}`}\`, or give this one another --name`,
        );
      }
      const state: LabState = {
        formatVersion: 1,
        name,
        createdAtMs: Date.now(),
        phase: 'creating',
        partition: null,
        ...daemonArgsFor(options),
        ...(options.registry ? { registry: planRegistry(name) } : {}),
        hosts: plan.map((h) => ({
          ...h,
          netns: labPaths.hostNetns(name, h.name),
          dataDir: labPaths.dataDir(name, h.name),
          socket: labPaths.socket(name, h.name),
          logFile: labPaths.daemonLog(name, h.name),
          pid: 0,
          startTime: '',
          desired: 'running' as const,
          ...(engineLabels[h.name] ? { engineLabels: { ...engineLabels[h.name] } } : {}),
        })),
      };
      await saveLabState(state);
      const lab = new Lab(state, options.log);
      try {
        await lab.build(options);
      } catch (err) {
        const explained = options.signal?.aborted ? err : await lab.explainFailure(err, { swarm: false });
        await teardownLab(lab.state, { graceful: false, log: options.log }).catch((e: unknown) =>
          options.log?.error({ err: e }, 'teardown after a failed lab up failed'),
        );
        if (options.signal?.aborted)
          throw new TswarmError('FAILED_PRECONDITION', `lab up was interrupted; everything it made was removed`);
        throw explained;
      }
      return lab;
    } finally {
      await lock.release();
    }
  }

  private async build(options: LabUpOptions): Promise<void> {
    const checkAbort = () => {
      if (options.signal?.aborted) throw new TswarmError('FAILED_PRECONDITION', 'interrupted');
    };
    const name = this.state.name;
    await ensureHierarchy();
    await createCgroup(labPaths.cgroupLab(name));
    await createSwitch(name);
    for (const host of this.state.hosts) {
      checkAbort();
      await mkdir(labPaths.hostDir(name, host.name), { recursive: true, mode: 0o755 });
      await createCgroup(labPaths.cgroupHost(name, host.name));
      await createHost(name, host.name, host.addr);
    }
    const reg = this.state.registry;
    if (reg) await createRegistryHost(name, reg);
    checkAbort();
    // The registry's image build and push take seconds; the daemons need none of it to start.
    // allSettled, not all: a failed lab up tears down only after both stopped making things.
    const [daemons, registry] = await Promise.allSettled([
      this.startDaemons(options),
      reg ? startRegistry(name, reg, options.signal) : Promise.resolve(undefined),
    ]);
    if (registry.status === 'fulfilled' && registry.value && reg) Object.assign(reg, registry.value);
    if (daemons.status === 'rejected') throw daemons.reason;
    if (registry.status === 'rejected') throw registry.reason;
    this.state.phase = 'up';
    await saveLabState(this.state);
    options.log?.info({ lab: name, hosts: this.state.hosts.length }, 'lab up');
  }

  private async startDaemons(options: LabUpOptions): Promise<void> {
    for (const host of this.state.hosts)
      Object.assign(
        host,
        await startDaemon(this.state.name, host, options.logLevel ?? 'info', daemonArgsOf(this.state, host)),
      );
    await saveLabState(this.state);
    await Promise.all(
      this.state.hosts.map((h) => this.waitReady(h, options.readyTimeoutMs ?? READY_TIMEOUT_MS, options.signal)),
    );
  }

  private async waitReady(host: HostState, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    await waitFor(
      async () => {
        if (signal?.aborted) throw new TswarmError('FAILED_PRECONDITION', 'interrupted');
        if (!isAlive(host)) {
          throw new TswarmError(
            'INTERNAL',
            `tswarmd on host ${host.name} exited during start. Its log (${host.logFile}) ends:\n${logTail(host.logFile)}`,
          );
        }
        return answers(host);
      },
      { what: `tswarmd on host ${host.name} to answer on ${host.socket}`, timeoutMs, intervalMs: 50 },
    ).catch((err: unknown) => {
      // A daemon that died is reported as such, not as a timeout.
      if (err instanceof TswarmError && err.cause instanceof TswarmError && err.cause.code === 'INTERNAL')
        throw err.cause;
      throw err;
    });
  }

  /**
   * For a failed `lab up`, before its teardown removes the lab directory: copies every daemon's
   * log to a directory that survives, and returns the error with that path, which hosts are not
   * Ready (per a manager's `node ls` when `swarm`, else whose daemon does not answer) and the tail
   * of their logs — so a rare failure can be diagnosed from one run.
   */
  async explainFailure(err: unknown, options: { swarm: boolean }): Promise<Error> {
    const message = err instanceof Error ? err.message : String(err);
    try {
      const keptDir = await keepLabLogs(this.state, message);
      let report;
      if (options.swarm) {
        report = failedUpReport(this.state, keptDir, await this.nodeLsOnAManager());
      } else {
        const answering = await Promise.all(this.state.hosts.map(async (h) => isAlive(h) && (await answers(h))));
        const suspects = this.state.hosts.filter((_, i) => !answering[i]).map((h) => h.name);
        report = failedUpReport(this.state, keptDir, undefined, suspects);
      }
      const text = `${message}\n${formatFailedUp(report)}`;
      return err instanceof TswarmError
        ? new TswarmError(err.code, text, { cause: err })
        : new TswarmError('INTERNAL', text, { cause: err });
    } catch (keepErr) {
      this.log?.error({ err: keepErr }, 'keeping the logs of a failed lab up failed');
      return err instanceof Error ? err : new Error(message);
    }
  }

  /** `node ls` from the first manager that answers it, or undefined when none does. */
  private async nodeLsOnAManager(): Promise<{ host: string; nodes: NodeRow[] } | undefined> {
    for (const m of this.state.hosts.filter((h) => h.role === 'manager')) {
      const r = await this.exec(m.name, ['tswarm', 'node', 'ls', '--format', 'json'], {
        timeoutMs: NODE_LS_TIMEOUT_MS,
      });
      if (r.code !== 0) continue;
      try {
        return { host: m.name, nodes: JSON.parse(r.stdout) as NodeRow[] };
      } catch {
        continue;
      }
    }
    return undefined;
  }

  /** Re-reads the state from disk: another shell may have changed the lab. */
  async refresh(): Promise<void> {
    this.state = await requireLabState(this.state.name);
  }

  private async mutate<T>(fn: (state: LabState) => Promise<T>): Promise<T> {
    const lock = await PidLock.acquire(labPaths.lock(this.state.name), `lab "${this.state.name}"`);
    try {
      await this.refresh();
      const result = await fn(this.state);
      await saveLabState(this.state);
      return result;
    } finally {
      await lock.release();
    }
  }

  /** Every host, daemon hosts first, then the registry host when the lab has one. */
  async status(): Promise<HostStatus[]> {
    await this.refresh();
    const groups = this.state.partition;
    const daemons = this.state.hosts.map(async (h): Promise<HostStatus> => {
      let state: HostRunState;
      if (!isAlive(h)) state = h.desired === 'stopped' ? 'stopped' : 'dead';
      else state = (await answers(h)) ? 'running' : 'unresponsive';
      const group = groups ? groups.findIndex((g) => g.includes(h.name)) + 1 : 0;
      return { name: h.name, role: h.role, addr: h.addr, pid: isAlive(h) ? h.pid : 0, state, group, socket: h.socket };
    });
    const reg = this.state.registry;
    return Promise.all([...daemons, ...(reg ? [this.registryStatus(reg)] : [])]);
  }

  private async registryStatus(reg: RegistryState): Promise<HostStatus> {
    const alive = isAlive(reg);
    const state: HostRunState = !alive ? 'dead' : (await registryAnswers(this.state.name)) ? 'running' : 'unresponsive';
    // A partition never moves the registry's switch port: it stays on bridge 0, group 1's.
    const group = this.state.partition ? 1 : 0;
    return { name: reg.name, role: 'registry', addr: reg.addr, pid: alive ? reg.pid : 0, state, group, socket: '' };
  }

  /** Runs a command on a host to completion: inside its namespace and cgroup, `tswarm` on PATH. */
  async exec(
    host: string,
    argv: readonly string[],
    options: { timeoutMs?: number; allowFailure?: boolean } = {},
  ): Promise<RunResult> {
    const h = findHost(this.state, host);
    return run('/bin/sh', ['-c', hostCommandScript(this.state.name, h, argv)], {
      env: hostEnv(h),
      timeoutMs: options.timeoutMs ?? 60_000,
      allowFailure: options.allowFailure ?? true,
    });
  }

  /** Starts a command on a host and returns at once; the caller ends it by its pid. */
  spawn(host: string, argv: readonly string[], stdio: StdioOptions = 'inherit'): ChildProcess {
    const h = findHost(this.state, host);
    return spawnInHost(this.state.name, h, argv, { stdio, env: hostEnv(h) });
  }

  env(host: string): Record<string, string> {
    const h = findHost(this.state, host);
    return { TSWARM_HOST: `unix://${h.socket}` };
  }

  /** SIGTERM to the daemon, as `systemctl stop tswarmd` would; SIGKILL after a deadline. */
  async stop(host: string): Promise<void> {
    await this.mutate(async (state) => {
      const h = findHost(state, host);
      h.desired = 'stopped';
      if (signalProcess(h, 'SIGTERM') && !(await waitForExit(h, STOP_TIMEOUT_MS))) {
        signalProcess(h, 'SIGKILL');
        await waitForExit(h, STOP_TIMEOUT_MS);
      }
    });
  }

  async start(host: string, options: { logLevel?: string; readyTimeoutMs?: number } = {}): Promise<void> {
    const h = await this.mutate(async (state) => {
      const h = findHost(state, host);
      if (isAlive(h))
        throw new TswarmError('FAILED_PRECONDITION', `tswarmd on host ${host} is already running (pid ${h.pid})`);
      Object.assign(h, await startDaemon(state.name, h, options.logLevel ?? 'info', daemonArgsOf(state, h)));
      h.desired = 'running';
      return h;
    });
    await this.waitReady(h, options.readyTimeoutMs ?? READY_TIMEOUT_MS);
  }

  /** SIGKILL to the daemon alone — a daemon crash; what it started keeps running. */
  async kill(host: string): Promise<void> {
    await this.mutate(async (state) => {
      const h = findHost(state, host);
      if (!signalProcess(h, 'SIGKILL'))
        throw new TswarmError('FAILED_PRECONDITION', `tswarmd on host ${host} is not running`);
      await waitForExit(h, STOP_TIMEOUT_MS);
    });
  }

  /** SIGKILL to every process of the host — a machine crash. */
  async crash(host: string): Promise<void> {
    await this.mutate(async (state) => {
      const h = findHost(state, host);
      await killCgroup(labPaths.cgroupHost(state.name, h.name));
    });
  }

  async partition(groupArgs: readonly string[]): Promise<string[][]> {
    return this.mutate(async (state) => {
      const groups = partitionGroups(
        state.hosts.map((h) => h.name),
        groupArgs,
      );
      await applyPartition(state.name, groups);
      state.partition = groups;
      return groups;
    });
  }

  async heal(): Promise<void> {
    await this.mutate(async (state) => {
      await healPartition(
        state.name,
        state.hosts.map((h) => h.name),
      );
      state.partition = null;
    });
  }

  async down(): Promise<TeardownReport> {
    const lock = await PidLock.acquire(labPaths.lock(this.state.name), `lab "${this.state.name}"`);
    try {
      await this.refresh();
      return await teardownLab(this.state, { graceful: true, log: this.log });
    } finally {
      await lock.release();
    }
  }
}
