import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { TswarmError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { systemClock, type Clock } from '../../lib/clock.js';
import { newId } from '../../lib/ids.js';
import type { ContainerSummary } from '../../gen/tswarm/v1/engine.js';
import type { HostProbe } from './probe.js';
import type { OciRuntime } from './oci-runtime.js';
import {
  containerPaths,
  discardContainerFiles,
  prepareContainer,
  refreshEtcFiles,
  validateName,
  type CreateInput,
} from './create.js';
import { adoptContainers } from './adopt.js';
import { removeExitFile, type ExitFile } from './exits.js';
import { readExitReasons, readUsage, removeCgroup, removeEndedCgroup, type CgroupUsage } from './cgroups.js';
import { cgroupPids } from './cgroup-pids.js';
import { unmountTree } from './rootfs.js';
import { saveRecord, type ContainerRecord } from './record.js';
import { followLog, readLog, type LogRecord } from './logs.js';
import { HealthMonitors } from './health-monitors.js';
import { normalizeSignal } from './process.js';
import { signalNumber } from '../../lib/linux-names.js';
import { ExitWatcher } from './exit-watcher.js';
import { LogKeeper } from './log-keeper.js';
import type { SeccompBpfCache } from './seccomp-cache.js';
import { setUpHost } from './host-setup.js';
import type { SeccompProfile } from './seccomp.js';
import type { CommitSource, ContainerInspect, ExecResult, RuntimeOptions, WaitResult } from './runtime-types.js';
import { containerSummary } from './summary.js';
import { resolveUser } from './user.js';
import { attachStdin, resizeConmonTerminal, type StdinAttachment } from './attach.js';
import type { ExecSession, ExecSessionOptions } from './exec-session.js';
import { ContainerRecords } from './records.js';
import { KeyedLock } from './keyed-lock.js';
import { ExitListeners } from './exit-listeners.js';
import { keepCompiledSeccomp, launchUnderConmon, prepareStart, startLaunched, type StartContext } from './start.js';

export type { CreateInput } from './create.js';
export type {
  CommitSource,
  ContainerEvent,
  ContainerInspect,
  ExecResult,
  RuntimeOptions,
  WaitResult,
} from './runtime-types.js';
export type { LogRecord } from './logs.js';
export type { ExecSession } from './exec-session.js';
export type { StdinAttachment } from './attach.js';

/** A streamed exec as the API asks for it: the user still a Docker user string ("" for the container's). */
export type ExecSessionRequest = Omit<ExecSessionOptions, 'user'> & { user: string };

/** Docker's default json-file cap is unbounded; ours is 10 MiB per container. */
const DEFAULT_LOG_BYTES_MAX = 10 * 1024 * 1024;
/** After SIGKILL the kernel needs moments, not seconds; this bounds a stuck D-state exit. */
const KILL_WAIT_MS = 10_000;
const EXEC_TIMEOUT_MS = 60_000;

/**
 * The node's containers, run by crun (or runc) under conmon. Every container is a directory under
 * `<root>/containers/<id>/` with an atomically replaced record; conmon holds each running
 * container, so a restarted daemon opening the same root adopts them (see adopt.ts).
 */
export class ContainerRuntime {
  private readonly records = new ContainerRecords();
  private readonly monitors: HealthMonitors;
  private readonly locks = new KeyedLock();
  /** Created by this process and never started: the runtime cannot hold a leftover of theirs. */
  private readonly neverStarted = new Set<string>();
  /** Created with a seccomp profile the cache lacks: the program crun compiles at start is kept. */
  private readonly uncompiledSeccomp = new Map<string, SeccompProfile>();
  /** Exited containers whose runtime state finalize already deleted. */
  private readonly released = new Set<string>();
  /** Told of every container whose exit is recorded (the engine releases its network). */
  private readonly exitHooks: ((id: string) => void)[] = [];
  /** Called when a running container's exit is recorded, so log followers end without polling. */
  private readonly exitListeners = new ExitListeners();
  private readonly watcher: ExitWatcher;
  private readonly logKeeper: LogKeeper;
  private readonly containersDir: string;
  private readonly exitDir: string;
  private readonly clock: Clock;
  private readonly log: Logger;

  private constructor(
    private readonly o: RuntimeOptions,
    readonly host: HostProbe,
    private readonly oci: OciRuntime,
    private readonly seccompCache: SeccompBpfCache | undefined,
  ) {
    this.containersDir = join(o.root, 'containers');
    this.exitDir = join(o.root, 'exits');
    this.clock = o.clock ?? systemClock;
    this.log = o.log;
    this.watcher = new ExitWatcher(
      this.exitDir,
      () => this.records.runningNames(),
      (name, exit) => this.onExit(name, exit),
      this.log,
    );
    this.monitors = new HealthMonitors({
      clock: this.clock,
      log: this.log,
      exec: (id, argv, timeoutMs) => this.exec(id, argv, { timeoutMs }),
      save: (record) => this.locks.run(record.id, () => this.persist(record)),
      changed: (record, status) => this.emit(record, `health_status: ${status}`),
    });
    this.logKeeper = new LogKeeper(this.log, () =>
      this.records.running().map((r) => containerPaths(this.containersDir, r.id).log),
    );
  }

  static async open(options: RuntimeOptions): Promise<ContainerRuntime> {
    const { host, oci, seccompCache } = await setUpHost(options);
    const runtime = new ContainerRuntime(options, host, oci, seccompCache);
    await runtime.adopt();
    runtime.watcher.start();
    runtime.logKeeper.start();
    return runtime;
  }

  private async adopt(): Promise<void> {
    const adopted = await adoptContainers({
      containersDir: this.containersDir,
      exitDir: this.exitDir,
      namePrefix: this.o.namePrefix,
      oci: this.oci,
      log: this.log,
      nowMs: this.clock.nowMs(),
    });
    for (const record of adopted.records) this.records.set(record.id, record);
    for (const { record, exit } of adopted.ended) await this.locks.run(record.id, () => this.finalize(record, exit));
    for (const record of this.records.values()) {
      if (record.state.status !== 'running') continue;
      this.monitors.start(record);
      await this.logKeeper.follow(containerPaths(this.containersDir, record.id).log);
    }
  }

  /** Calls `hook` with the ID of each container whose exit is recorded from now on. */
  whenExited(hook: (id: string) => void): void {
    this.exitHooks.push(hook);
  }

  /**
   * Rewrites a stopped container's /etc/hosts and /etc/resolv.conf for a new network attachment
   * (its address can change between runs, as in Docker), before it starts again.
   */
  async refreshNetworkFiles(
    ref: string,
    network: { ip: string | undefined; resolvConfContent: string | undefined },
  ): Promise<void> {
    await refreshEtcFiles(this.containersDir, this.records.resolve(ref), network);
  }

  /** Stops watching; the containers keep running under conmon for the next instance to adopt. */
  close(): void {
    this.watcher.stop();
    this.logKeeper.stop();
    this.monitors.stopAll();
  }

  async create(input: CreateInput): Promise<string> {
    const id = newId();
    const name = input.config.name || id.slice(0, 12);
    validateName(name);
    if ([...this.records.values()].some((r) => r.name === name)) {
      throw new TswarmError(
        'ALREADY_EXISTS',
        `a container named "${name}" already exists. Remove it or choose another name`,
      );
    }
    const seccomp = this.seccompCache && {
      cache: this.seccompCache,
      onMiss: (profile: SeccompProfile) => this.uncompiledSeccomp.set(id, profile),
    };
    const ctx = {
      containersDir: this.containersDir,
      namePrefix: this.o.namePrefix,
      catatonitPath: this.host.catatonitPath,
      nowMs: this.clock.nowMs(),
      log: this.log,
      seccomp,
    };
    // The name is reserved before the slow part, so two concurrent creates cannot both take it.
    const placeholder = { id, name, state: { status: 'created' } } as ContainerRecord;
    this.records.set(id, placeholder);
    try {
      const record = await prepareContainer(ctx, id, { ...input, config: { ...input.config, name } });
      this.records.set(id, record);
      this.neverStarted.add(id);
      this.log.info({ container: id, name }, 'container created');
      this.emit(record, 'create');
      return id;
    } catch (err) {
      this.records.delete(id);
      this.uncompiledSeccomp.delete(id);
      throw err;
    }
  }

  async start(ref: string): Promise<void> {
    const record = this.records.resolve(ref);
    await this.locks.run(record.id, () => this.startLocked(record));
  }

  private async startLocked(record: ContainerRecord): Promise<void> {
    if (record.state.status === 'running') return;
    const paths = containerPaths(this.containersDir, record.id);
    await prepareStart(record, paths);
    // A restart: what the last run left in the runtime goes first, unless its end released it
    // already (finalize); a fresh container has nothing there.
    const runtimeDeleted = this.neverStarted.delete(record.id) || this.released.has(record.id);
    if (!runtimeDeleted) await this.oci.delete(record.runtimeName, true);
    this.released.delete(record.id);
    await removeExitFile(this.exitDir, record.runtimeName);
    const pid = await launchUnderConmon(this.startContext(), record, paths);
    await keepCompiledSeccomp(this.startContext(), record, this.uncompiledSeccomp, this.seccompCache);
    await startLaunched(this.startContext(), record, paths, pid);
    this.monitors.start(record);
    await this.logKeeper.follow(paths.log);
    this.log.info({ container: record.id, pid }, 'container started');
    this.emit(record, 'start');
  }

  private startContext(): StartContext {
    return {
      host: this.host,
      oci: this.oci,
      exitDir: this.exitDir,
      socketDir: join(this.o.root, 's'),
      logBytesMax: this.o.logBytesMax ?? DEFAULT_LOG_BYTES_MAX,
      clock: this.clock,
      log: this.log,
    };
  }

  /** The stop signal, `timeoutMs` (else the container's grace period) to exit, then SIGKILL. */
  async stop(ref: string, timeoutMs?: number): Promise<void> {
    const record = this.records.resolve(ref);
    if (record.state.status !== 'running') return;
    const graceMs = timeoutMs ?? record.stopGracePeriodMs;
    // Docker's order: kill (the stop signal), [kill (9)], die, stop. Told before the signal goes,
    // so the die the exit watcher tells never comes first.
    this.emitKill(record, record.stopSignal);
    await this.oci.kill(record.runtimeName, record.stopSignal);
    if (!(await this.watcher.waitExited(record.runtimeName, graceMs, () => record.state.status !== 'running'))) {
      this.log.info({ container: record.id, graceMs }, 'container did not stop in its grace period; killing it');
      await this.killAndWait(record);
    }
    this.emit(record, 'stop');
  }

  private async killAndWait(record: ContainerRecord): Promise<void> {
    this.emitKill(record, 'SIGKILL');
    await this.oci.kill(record.runtimeName, 'SIGKILL');
    if (!(await this.watcher.waitExited(record.runtimeName, KILL_WAIT_MS, () => record.state.status !== 'running'))) {
      throw new TswarmError(
        'DEADLINE_EXCEEDED',
        `container ${record.name} did not exit within ${KILL_WAIT_MS} ms of SIGKILL`,
      );
    }
  }

  /**
   * Runs `fn` on the container's overlay upper directory (its changes, for a commit) with the
   * container held still: under its lock, so no stop, restart or removal runs meanwhile, and with
   * its processes frozen when `pause` and it runs, so the files read are consistent. A runtime
   * that cannot freeze (no freezer cgroup) leaves it running, logged: the commit may then see a
   * file mid-write, as `docker commit --pause=false` may.
   */
  async withChanges<T>(ref: string, pause: boolean, fn: (source: CommitSource) => Promise<T>): Promise<T> {
    const record = this.records.resolve(ref);
    return this.locks.run(record.id, async () => {
      const source: CommitSource = {
        id: record.id,
        name: record.name,
        imageId: record.image.id,
        argv: record.argv,
        config: record.config,
        upperDir: containerPaths(this.containersDir, record.id).upper,
      };
      const paused = pause && record.state.status === 'running' && (await this.oci.pause(record.runtimeName));
      if (pause && record.state.status === 'running' && !paused)
        this.log.warn({ container: record.id }, 'commit: the container could not be paused; committing it running');
      try {
        return await fn(source);
      } finally {
        if (paused) await this.oci.resume(record.runtimeName);
      }
    });
  }

  async kill(ref: string, signal: string): Promise<void> {
    const record = this.records.resolve(ref);
    const name = normalizeSignal(signal);
    const notRunning = () => new TswarmError('FAILED_PRECONDITION', `container ${record.name} is not running`);
    if (record.state.status !== 'running') throw notRunning();
    this.emitKill(record, name);
    if (!(await this.oci.kill(record.runtimeName, name))) throw notRunning();
  }

  async remove(ref: string, options: { force?: boolean } = {}): Promise<void> {
    const record = this.records.resolve(ref);
    if (record.state.status === 'running') {
      if (!options.force)
        throw new TswarmError(
          'FAILED_PRECONDITION',
          `container ${record.name} is running. Stop it first or remove it with force`,
        );
      await this.killAndWait(record).catch((err: unknown) =>
        this.log.warn({ err, container: record.id }, 'force remove: kill failed'),
      );
    }
    await this.locks.run(record.id, async () => {
      // A concurrent remove (the auto-remove reaper and an attached run's) got here first.
      if (!this.records.has(record.id)) return;
      this.monitors.stop(record.id);
      this.logKeeper.forget(containerPaths(this.containersDir, record.id).log);
      const runtimeDeleted = this.released.has(record.id) || this.neverStarted.has(record.id);
      // The runtime lets go first: were its delete to fail, the record and bundle must still be
      // there for the next try (or the next daemon's adoption).
      if (!runtimeDeleted) await this.oci.delete(record.runtimeName, true);
      this.released.delete(record.id);
      this.neverStarted.delete(record.id);
      this.uncompiledSeccomp.delete(record.id);
      await Promise.all([
        discardContainerFiles(containerPaths(this.containersDir, record.id), record.netnsName, this.log),
        removeExitFile(this.exitDir, record.runtimeName),
      ]);
      await removeCgroup(this.host.cgroupLayout, record.cgroupsPath);
      this.exitListeners.notify(record.id);
      this.records.delete(record.id);
      this.log.info({ container: record.id }, 'container removed');
      this.emit(record, 'destroy');
    });
  }

  /** Waits until the container is not running (bounded by timeoutMs when given). */
  async wait(ref: string, options: { timeoutMs?: number } = {}): Promise<WaitResult> {
    const record = this.records.resolve(ref);
    if (record.state.status !== 'exited') {
      const ok = await this.watcher.waitExited(
        record.runtimeName,
        options.timeoutMs ?? Number.MAX_SAFE_INTEGER,
        () => record.state.status === 'exited',
      );
      if (!ok)
        throw new TswarmError('DEADLINE_EXCEEDED', `container ${record.name} still runs after ${options.timeoutMs} ms`);
    }
    return {
      exitCode: record.state.exitCode,
      oomKilled: record.state.oomKilled,
      pidsLimitHit: record.state.pidsLimitHit,
    };
  }

  list(options: { all?: boolean } = {}): ContainerSummary[] {
    return this.records
      .ready()
      .filter((r) => options.all || r.state.status === 'running')
      .sort((a, b) => b.createdAtMs - a.createdAtMs)
      .map((r) => containerSummary(r));
  }

  inspect(ref: string): ContainerInspect {
    const record = this.records.resolve(ref);
    const paths = containerPaths(this.containersDir, record.id);
    return {
      container: containerSummary(record),
      config: record.config,
      rootfs: paths.rootfs,
      logPath: paths.log,
      pidsLimitHit: record.state.pidsLimitHit,
      healthLog: this.monitors.logOf(record.id),
    };
  }

  /** The container's output; with follow, goes on until the container exits. */
  logs(
    ref: string,
    options: { follow?: boolean; tail?: number; sinceMs?: number; signal?: AbortSignal } = {},
  ): AsyncIterable<LogRecord> {
    const record = this.records.resolve(ref);
    const path = containerPaths(this.containersDir, record.id).log;
    if (options.follow) {
      return followLog(path, {
        ...options,
        onExit: (wake) => this.exitListeners.subscribe(record, wake),
        isDone: async () => record.state.status !== 'running',
      });
    }
    return (async function* () {
      yield* (await readLog(path, options)).records;
    })();
  }

  async exec(
    ref: string,
    argv: readonly string[],
    options: { timeoutMs?: number; outputBytesMax?: number } = {},
  ): Promise<ExecResult> {
    const record = this.records.resolve(ref);
    if (record.state.status !== 'running')
      throw new TswarmError('FAILED_PRECONDITION', `container ${record.name} is not running. Start it first`);
    const result = await this.oci.execIn(
      record.runtimeName,
      argv,
      options.timeoutMs ?? EXEC_TIMEOUT_MS,
      options.outputBytesMax,
      await this.containerProcess(record),
    );
    return { exitCode: result.code ?? -1, stdout: result.stdout, stderr: result.stderr, truncated: result.truncated };
  }

  /** A writer into the running container's stdin (docker run -i, attach with stdin); it must have been created with one. */
  async attachStdin(ref: string): Promise<StdinAttachment> {
    const record = this.records.resolve(ref);
    if (!record.config.spec?.openStdin)
      throw new TswarmError(
        'FAILED_PRECONDITION',
        `container ${record.name} has no stdin to attach to. Create it with -i (OpenStdin) to send it input`,
      );
    if (record.state.status !== 'running')
      throw new TswarmError('FAILED_PRECONDITION', `container ${record.name} is not running. Start it first`);
    // conmon's short link to the bundle (-u NAME under --socket-dir-path): a socket path has ~108 bytes.
    return attachStdin(join(this.o.root, 's', record.runtimeName, 'attach'));
  }

  /** Sets a running TTY container's terminal size (rows, columns); a no-op without a TTY, as dockerd's. */
  async resizeTerminal(ref: string, rows: number, cols: number): Promise<void> {
    const record = this.records.resolve(ref);
    if (record.state.status !== 'running')
      throw new TswarmError('FAILED_PRECONDITION', `container ${record.name} is not running`);
    if (!record.config.spec?.tty) return;
    await resizeConmonTerminal(join(containerPaths(this.containersDir, record.id).bundle, 'ctl'), rows, cols);
  }

  /**
   * Starts a command in the running container with its streams open, as `docker exec` (also -i,
   * -t, -e, -w, -u). A user is resolved against the container's /etc/passwd and /etc/group, as
   * for its own process; without one the exec runs as the container's user.
   */
  async execSession(ref: string, options: ExecSessionRequest): Promise<ExecSession> {
    const record = this.records.resolve(ref);
    if (record.state.status !== 'running')
      throw new TswarmError('FAILED_PRECONDITION', `container ${record.name} is not running. Start it first`);
    const paths = containerPaths(this.containersDir, record.id);
    let user: ExecSessionOptions['user'];
    if (options.user !== '') {
      const [passwd, group] = await Promise.all(
        ['passwd', 'group'].map((f) => readFile(join(paths.rootfs, 'etc', f), 'utf8').catch(() => '')),
      );
      user = resolveUser(options.user, passwd ?? '', group ?? '');
    }
    const base = (await this.containerProcess(record)) ?? {};
    return this.oci.execSession(record.runtimeName, base, { ...options, user });
  }

  /**
   * The container's OCI process as its bundle holds it (user, groups, cwd, env, capabilities): an
   * exec runs with it, as Docker's exec and health checks run as the container's user in its
   * working directory. Undefined for a bundle that cannot be read (the runtime's defaults then).
   */
  private async containerProcess(record: ContainerRecord): Promise<Record<string, unknown> | undefined> {
    const configPath = join(containerPaths(this.containersDir, record.id).bundle, 'config.json');
    try {
      const config = JSON.parse(await readFile(configPath, 'utf8')) as { process?: Record<string, unknown> };
      return config.process;
    } catch (err) {
      this.log.warn({ err, container: record.id }, 'reading the bundle for an exec failed; the runtime defaults apply');
      return undefined;
    }
  }

  /** What the running container's cgroup says it uses now. */
  async stats(ref: string): Promise<{ id: string; name: string; usage: CgroupUsage }> {
    const record = this.records.resolve(ref);
    if (record.state.status !== 'running')
      throw new TswarmError(
        'FAILED_PRECONDITION',
        `container ${record.name} is not running; only running containers have stats`,
      );
    return { id: record.id, name: record.name, usage: await readUsage(this.host.cgroupLayout, record.cgroupsPath) };
  }

  /**
   * The host PIDs of the running container's processes — its cgroup's, sub-cgroups included, at
   * most `pidsMax` — for `top`. Not running is dockerd's 409, worded as its errNotRunning.
   */
  async pids(ref: string, pidsMax: number): Promise<number[]> {
    const record = this.records.resolve(ref);
    if (record.state.status !== 'running') throw new TswarmError('CONFLICT', `Container ${record.id} is not running`);
    return cgroupPids(this.host.cgroupLayout, record.cgroupsPath, pidsMax);
  }

  /** What the container changed over its image: its overlay upper directory (`system df`'s SizeRw). */
  changesDir(ref: string): string {
    return containerPaths(this.containersDir, this.records.resolve(ref).id).upper;
  }

  /**
   * `docker rename`: the record takes the new name at once, before anything awaits, so no create
   * or rename meanwhile can take it too; then it is saved under the container's lock, and a save
   * that fails puts the old name back. Everything else keys on the ID (runtime name, bundle,
   * cgroup, log, exit file), so a running container, its logs and execs go on as they were.
   */
  async rename(ref: string, newName: string): Promise<{ id: string; oldName: string }> {
    validateName(newName);
    const record = this.records.resolve(ref);
    if (record.name === newName)
      throw new TswarmError('INVALID_ARGUMENT', 'Renaming a container with the same name as its current name');
    const holder = [...this.records.values()].find((r) => r.name === newName);
    if (holder)
      throw new TswarmError(
        'ALREADY_EXISTS',
        `Conflict. The container name "/${newName}" is already in use by container "${holder.id}". You have to remove (or rename) that container to be able to reuse that name.`,
      );
    const oldName = record.name;
    const name = (n: string) => {
      record.name = n;
      record.config = { ...record.config, name: n };
    };
    name(newName);
    try {
      await this.locks.run(record.id, () => this.persist(record));
    } catch (err) {
      if (record.name === newName) name(oldName);
      throw err;
    }
    this.log.info({ container: record.id, oldName, name: newName }, 'container renamed');
    // dockerd's rename event: `oldName` with its leading slash, `name` the new one.
    this.emit(record, 'rename', { oldName: `/${oldName}` });
    return { id: record.id, oldName };
  }

  private async onExit(runtimeName: string, exit: ExitFile): Promise<void> {
    const record = [...this.records.values()].find((r) => r.runtimeName === runtimeName);
    if (!record) return;
    await this.locks.run(record.id, async () => {
      if (record.state.status === 'running') await this.finalize(record, exit);
    });
    if (record.config.autoRemove && this.records.has(record.id)) await this.remove(record.id, { force: true });
  }

  /** Records how the container ended, then releases what only a running container needs. */
  private async finalize(record: ContainerRecord, exit: ExitFile): Promise<void> {
    const reasons = await readExitReasons(this.host.cgroupLayout, record.cgroupsPath);
    // With the cgroup read, the runtime's delete (the cgroup, its state) and the unmount run
    // while the record is written: they hold nothing a crash could lose. Only the exit file,
    // which keeps the exit code, waits until the record is durable.
    const released = Promise.allSettled([
      this.releaseEnded(record),
      unmountTree(containerPaths(this.containersDir, record.id).rootfs),
    ]);
    this.monitors.stop(record.id);
    await this.logKeeper.unfollow(containerPaths(this.containersDir, record.id).log);
    record.state = {
      ...record.state,
      status: 'exited',
      pid: 0,
      exitCode: exit.exitCode,
      oomKilled: reasons.oomKilled,
      pidsLimitHit: reasons.pidsLimitHit,
      finishedAtMs: Math.round(exit.atMs),
    };
    // Told as the state changes, before anything awaits: whoever then sees the container exited
    // (a stop, a wait) has the die told before it.
    if (reasons.oomKilled) this.emit(record, 'oom');
    this.emit(record, 'die', {
      exitCode: String(exit.exitCode),
      execDuration: String(
        record.state.startedAtMs > 0
          ? Math.max(0, Math.floor((record.state.finishedAtMs - record.state.startedAtMs) / 1000))
          : 0,
      ),
    });
    await this.persist(record);
    this.exitListeners.notify(record.id);
    for (const hook of this.exitHooks) hook(record.id);
    // The record is durable first: a crash from here on loses no exit code.
    const [[deleted, unmounted]] = await Promise.all([released, removeExitFile(this.exitDir, record.runtimeName)]);
    if (deleted.status === 'fulfilled') this.released.add(record.id);
    else throw deleted.reason;
    if (unmounted.status === 'rejected') throw unmounted.reason;
    this.log.info({ container: record.id, exitCode: exit.exitCode, oomKilled: reasons.oomKilled }, 'container exited');
  }

  /**
   * The runtime's part of an ended container: its cgroup and its state. The process is gone (the
   * exit file says so, and its PID namespace took every other process with it), so the cgroup is
   * removed here and the runtime only forgets it; a cgroup that still holds something is left
   * to the runtime's delete, which kills what is in it.
   */
  private async releaseEnded(record: ContainerRecord): Promise<void> {
    if (await removeEndedCgroup(this.host.cgroupLayout, record.cgroupsPath))
      await this.oci.forgetEnded(record.runtimeName);
    else await this.oci.delete(record.runtimeName, true);
  }

  /** Tells the engine what happened to a container; a listener's failure never fails the operation. */
  private emit(record: ContainerRecord, action: string, attributes: Record<string, string> = {}): void {
    const onEvent = this.o.onEvent;
    if (!onEvent) return;
    try {
      onEvent({
        action,
        id: record.id,
        name: record.name,
        image: record.config.spec?.image || record.image.reference,
        labels: record.config.spec?.labels ?? {},
        attributes,
      });
    } catch (err) {
      this.log.warn({ err, container: record.id, action }, 'telling a container event failed');
    }
  }

  /** Docker's kill event names the signal by its number. */
  private emitKill(record: ContainerRecord, signal: string): void {
    this.emit(record, 'kill', { signal: String(signalNumber(signal)) });
  }

  private persist(record: ContainerRecord): Promise<void> {
    if (!this.records.has(record.id)) return Promise.resolve();
    return saveRecord(containerPaths(this.containersDir, record.id).dir, record);
  }
}
