import { randomBytes } from 'node:crypto';
import { isAbsolute, join, posix } from 'node:path';
import { TswarmError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { newId } from '../lib/ids.js';
import {
  ContainerConfig,
  type ContainerInspectResponse,
  type ContainerStats,
  type ContainerSummary,
  type DeepPartial,
  type LayerProgress,
  type Volume,
} from '../gen/tswarm/v1/engine.js';
import { ContainerSpec, Mount, MountType } from '../gen/tswarm/v1/objects.js';
import type { ImageForRuntime, OciImageConfig } from './image-contract.js';
import type { ContainerNetworking, NetworkMode } from './network-contract.js';
import { ImageService, type ImageServiceOptions } from './image/images.js';
import { cannotRunExitCode, EXIT_ENGINE_ERROR } from './runtime/process.js';
import { ContainerRuntime, type ExecResult, type LogRecord, type WaitResult } from './runtime/runtime.js';
import type { RuntimeName } from './runtime/probe.js';
import { LocalNetworking, resolveNetworkMode } from './network/local-networking.js';
import { LABEL_ANONYMOUS_VOLUME, volumeNames, volumeUsers, type VolumeProvider } from './volume-contract.js';
import { runAttached, stderrEvent, type RunEventSink } from './facade/run-attached.js';
import { MOUNTS_MAX } from './facade/validate.js';

export type { VolumeProvider } from './volume-contract.js';
export type { RunEventSink } from './facade/run-attached.js';

export interface EngineOptions {
  /** The daemon's data dir; the engine keeps everything under <dataDir>/engine. */
  dataDir: string;
  /** The daemon's name prefix, on every kernel object the engine makes (ARCHITECTURE.md §1). */
  namePrefix: string;
  runtime?: RuntimeName;
  insecureRegistries?: string[];
  caBundlePath?: string;
  /** Bridge (and later overlay) networking; without it only `host` and `none` work. */
  networking?: ContainerNetworking;
  volumes?: VolumeProvider;
  log: Logger;
  /** Registry timeouts and retries (tests shorten them). */
  registry?: ImageServiceOptions['registry'];
}

/**
 * Engine bookkeeping kept in a container's labels, so it survives restarts with the runtime's
 * own record and needs no second file: the image the container was made from (image removal
 * checks it), its network attachment, and whether the engine removes it when it exits.
 */
export const LABEL_IMAGE_ID = 'tswarm.engine.image-id';
export const LABEL_ATTACHMENT = 'tswarm.engine.attachment';
export const LABEL_AUTO_REMOVE = 'tswarm.engine.auto-remove';
export { LABEL_ANONYMOUS_VOLUME } from './volume-contract.js';

export interface CreateResult {
  id: string;
  warnings: string[];
}

/** How long an attached run may take to read the last output before its auto-remove goes ahead. */
const DRAIN_WAIT_MS = 10_000;
/** An exec's bound when the caller gives none (`docker exec` has none; every wait here has one). */
const EXEC_TIMEOUT_MS_MAX = 30 * 60_000;
/** Output an exec returns per stream; more is cut (use logs or a file in a volume for bulk). */
const EXEC_OUTPUT_BYTES_MAX = 4 * 1024 * 1024;

/**
 * One node's engine: images, containers, networking and volumes composed. The runtime adopts
 * running containers after a restart; the engine then drops network state of containers that are
 * gone and resumes removing the `--rm` ones when they exit.
 */
export class Engine {
  private readonly networking: ContainerNetworking;
  /** Containers whose auto-remove is being waited for, so each has one reaper. */
  private readonly reapers = new Set<string>();
  /** Attached runs still reading output: the reaper waits for them before removing the log. */
  private readonly drains = new Map<string, Promise<void>>();
  /**
   * Images and volumes of containers being created, which have no record yet to show them in
   * use: an `image rm`, `image prune` or `volume prune` meanwhile must not take them away.
   */
  private readonly creating = new Map<number, { imageId?: string; volumes: string[] }>();
  /**
   * Attachments let go when their container stopped: as in Docker, a container that is not
   * running holds no namespace, address or host port; start attaches it again.
   */
  private readonly released = new Set<string>();
  private nextCreate = 0;
  private closed = false;

  private constructor(
    private readonly o: EngineOptions,
    readonly images: ImageService,
    readonly runtime: ContainerRuntime,
  ) {
    this.networking = o.networking ?? new LocalNetworking();
  }

  static async open(o: EngineOptions): Promise<Engine> {
    const root = join(o.dataDir, 'engine');
    const holder: { engine?: Engine } = {};
    const images = new ImageService({
      root: join(root, 'images'),
      credentialsPath: join(root, 'credentials.json'),
      insecureRegistries: o.insecureRegistries ?? [],
      ...(o.caBundlePath ? { caBundlePath: o.caBundlePath } : {}),
      ...(o.registry ? { registry: o.registry } : {}),
      log: o.log,
      // Until the engine is open nothing may be removed: every image counts as in use.
      isInUse: (id) => holder.engine?.isInUse(id) ?? true,
      usedBy: (id) => holder.engine?.imageUsers(id) ?? [],
    });
    const runtime = await ContainerRuntime.open({
      root,
      namePrefix: o.namePrefix,
      runtime: o.runtime ?? 'crun',
      log: o.log,
    });
    // What the host lacks but the engine can do without (an init for --init, nft for -p) is said
    // once, at start, rather than found out by the first container that needs it.
    for (const what of runtime.host.missing)
      o.log.warn({ missing: what }, 'this host lacks something containers may need');
    const engine = new Engine(o, images, runtime);
    holder.engine = engine;
    runtime.whenExited((id) => void engine.releaseNetwork(id));
    engine.networking.nameHolders?.(
      (attachmentId) => runtime.list({ all: true }).find((c) => c.labels[LABEL_ATTACHMENT] === attachmentId)?.name,
    );
    await engine.recover();
    return engine;
  }

  private async recover(): Promise<void> {
    const all = this.runtime.list({ all: true });
    // Only running containers hold networking; a created or exited one's was let go (or is now:
    // it may have stopped while the daemon was down), and start attaches it again.
    const live = new Set<string>();
    for (const c of all) {
      const attachment = c.labels[LABEL_ATTACHMENT];
      if (attachment === undefined) continue;
      if (c.state?.status === 'running') live.add(attachment);
      else this.released.add(attachment);
    }
    try {
      await this.networking.reconcile(live);
    } catch (err) {
      this.o.log.error({ err }, 'reconciling container networking failed; stale attachments may remain');
    }
    for (const c of all) if (c.labels[LABEL_AUTO_REMOVE] === 'true') this.reapWhenExited(c.id);
  }

  /** Stops watching; containers keep running under conmon for the next daemon to adopt. */
  async close(): Promise<void> {
    this.closed = true;
    this.runtime.close();
    await this.images.close();
  }

  /** What `tswarm info` shows of the engine: counts, and what the host probe found. */
  async summary(): Promise<{
    containers: number;
    containersRunning: number;
    images: number;
    runtime: string;
    cgroupLayout: string;
    warnings: string[];
  }> {
    const all = this.runtime.list({ all: true });
    const host = this.runtime.host;
    return {
      containers: all.length,
      containersRunning: all.filter((c) => c.state?.status === 'running').length,
      images: (await this.images.list()).length,
      runtime: `${host.runtime}${host.runtimeVersion ? ` ${host.runtimeVersion}` : ''}`,
      cgroupLayout: host.cgroupLayout,
      warnings: host.missing,
    };
  }

  /** The names of the containers made from the image (for the message refusing its removal). */
  imageUsers(imageId: string): string[] {
    return this.runtime
      .list({ all: true })
      .filter((c) => c.labels[LABEL_IMAGE_ID] === imageId)
      .map((c) => c.name);
  }

  isInUse(imageId: string): boolean {
    return [...this.creating.values()].some((h) => h.imageId === imageId) || this.imageUsers(imageId).length > 0;
  }

  /**
   * The image, pulled first when the node does not have it (as `docker create` and `run` do).
   * `onResolved` hears its ID before its files are read (the create's hold).
   */
  private async ensureImage(
    ref: string,
    onPull?: (p: LayerProgress) => void,
    onResolved?: (imageId: string) => void,
  ): Promise<ImageForRuntime> {
    if (ref === '')
      throw new TswarmError(
        'INVALID_ARGUMENT',
        'the container has no image. Give one, e.g. "tswarm run busybox echo hello"',
      );
    try {
      return await this.images.forRuntime(ref, onResolved);
    } catch (err) {
      if (!(err instanceof TswarmError && err.code === 'NOT_FOUND')) throw err;
    }
    this.o.log.info({ image: ref }, 'image not on this node; pulling it');
    await this.images.pull(ref, onPull ? { onProgress: onPull } : {});
    return this.images.forRuntime(ref, onResolved);
  }

  private async volumePaths(mounts: readonly Mount[]): Promise<Record<string, string>> {
    if (volumeNames(mounts).length === 0) return {};
    if (!this.o.volumes)
      throw new TswarmError(
        'FAILED_PRECONDITION',
        'volumes are not available on this node. Use a bind mount (-v /host/path:/path) or tmpfs instead',
      );
    return this.o.volumes.resolveMounts(mounts);
  }

  /**
   * `container create`: the container is made with its network attached (its namespace path, address
   * and /etc files are settled), which is then let go until start, as in Docker, where a created
   * container holds no host port. `run` starts at once and keeps it (`keepNetwork`).
   */
  async containerCreate(
    config: DeepPartial<ContainerConfig>,
    options: { onPull?: (p: LayerProgress) => void; keepNetwork?: boolean } = {},
  ): Promise<CreateResult> {
    const created = await this.createContainer(config, options);
    if (!options.keepNetwork) await this.releaseUntilStart(created.id);
    return created;
  }

  private async createContainer(
    config: DeepPartial<ContainerConfig>,
    options: { onPull?: (p: LayerProgress) => void },
  ): Promise<CreateResult> {
    const cfg = ContainerConfig.fromPartial(config);
    const given = cfg.spec ?? ContainerSpec.fromPartial({});
    const spec = { ...given, mounts: given.mounts.map(nameAnonymousVolume) };
    const hold: { imageId?: string; volumes: string[] } = { volumes: volumeNames(spec.mounts) };
    const token = this.nextCreate++;
    this.creating.set(token, hold);
    try {
      return await this.createHeld(cfg, spec, hold, options);
    } finally {
      this.creating.delete(token);
    }
  }

  private async createHeld(
    cfg: ContainerConfig,
    given: ContainerSpec,
    hold: { imageId?: string; volumes: string[] },
    options: { onPull?: (p: LayerProgress) => void },
  ): Promise<CreateResult> {
    const image = await this.ensureImage(given.image, options.onPull, (id) => (hold.imageId = id));
    // The image's VOLUMEs, where the spec mounts nothing, get anonymous volumes as in Docker (a
    // database's data dir). A node without volume support runs the image without them.
    const imageVolumes = this.o.volumes ? imageVolumeMounts(image.config, given.mounts) : [];
    if (given.mounts.length + imageVolumes.length > MOUNTS_MAX) {
      throw new TswarmError(
        'INVALID_ARGUMENT',
        `image ${given.image} declares ${imageVolumes.length} VOLUMEs, which with the ${given.mounts.length} mounts given pass the limit of ${MOUNTS_MAX}. Use another image`,
      );
    }
    hold.volumes.push(...volumeNames(imageVolumes));
    const spec = { ...given, mounts: [...given.mounts, ...imageVolumes] };
    const { mode, warnings } = resolveNetworkMode(cfg.networkMode, this.o.networking !== undefined, cfg.ports);
    const volumePaths = await this.volumePaths(spec.mounts);
    // The runtime picks the container ID, but the namespace must exist before create: the
    // attachment gets its own ID, kept in a label.
    const attachmentId = newId();
    const attachment = await this.networking.attach(attachmentId, mode, mode === 'bridge' ? cfg.ports : []);
    try {
      const labels: Record<string, string> = {
        ...spec.labels,
        [LABEL_IMAGE_ID]: image.id,
        [LABEL_ATTACHMENT]: attachmentId,
      };
      if (cfg.autoRemove) labels[LABEL_AUTO_REMOVE] = 'true';
      const finalSpec: ContainerSpec = { ...spec, labels, hosts: [...spec.hosts, ...attachment.extraHosts] };
      // autoRemove is the engine's (see reapWhenExited): the runtime's own would delete the log
      // before an attached run has read its last lines, and skip the network detach.
      const id = await this.runtime.create({
        config: { ...cfg, spec: finalSpec, networkMode: mode, ports: attachment.ports, autoRemove: false },
        image,
        netnsPath: attachment.netnsPath,
        ip: attachment.ip,
        resolvConfContent: attachment.resolvConf || undefined,
        volumePaths,
      });
      return { id, warnings };
    } catch (err) {
      await this.detach(attachmentId);
      throw err;
    }
  }

  async containerStart(ref: string): Promise<void> {
    const inspected = this.runtime.inspect(ref);
    const summary = inspected.container;
    const attachment = summary.labels[LABEL_ATTACHMENT];
    const reattach = attachment !== undefined && this.released.has(attachment) && summary.state?.status !== 'running';
    if (reattach) {
      const mode = inspected.config.networkMode as NetworkMode;
      const a = await this.networking.attach(attachment, mode, mode === 'bridge' ? inspected.config.ports : []);
      this.released.delete(attachment);
      await this.runtime.refreshNetworkFiles(summary.id, { ip: a.ip, resolvConfContent: a.resolvConf });
    }
    try {
      await this.runtime.start(summary.id);
    } catch (err) {
      // A start that failed leaves a stopped container: it holds no network either.
      if (attachment !== undefined && (this.runtime.inspect(summary.id).container.state?.status ?? '') !== 'running')
        await this.releaseNetwork(summary.id);
      throw err;
    }
    if (summary.labels[LABEL_AUTO_REMOVE] === 'true') this.reapWhenExited(summary.id);
  }

  /** Lets go of a container's networking until its (next) start, auto-remove or not. */
  private async releaseUntilStart(id: string): Promise<void> {
    const attachment = this.runtime.inspect(id).container.labels[LABEL_ATTACHMENT];
    if (attachment === undefined || this.released.has(attachment)) return;
    this.released.add(attachment);
    await this.detach(attachment);
  }

  /** Lets go of a stopped container's namespace, address and published ports (start attaches again). */
  private async releaseNetwork(id: string): Promise<void> {
    let summary;
    try {
      summary = this.runtime.inspect(id).container;
    } catch {
      return; // removed meanwhile: removal detached it
    }
    const attachment = summary.labels[LABEL_ATTACHMENT];
    if (attachment === undefined || this.released.has(attachment) || summary.state?.status === 'running') return;
    // An auto-remove container is about to be removed, which detaches it: once is enough.
    if (summary.labels[LABEL_AUTO_REMOVE] === 'true') return;
    this.released.add(attachment);
    await this.detach(attachment);
    // Removed meanwhile (a concurrent rm): nothing is left to attach again.
    if (!this.runtime.list({ all: true }).some((c) => c.id === id)) this.released.delete(attachment);
  }

  /** `docker kill -s SIGNAL`: the signal to the container's main process; an unknown name is refused. */
  async containerKill(ref: string, signal: string): Promise<void> {
    await this.runtime.kill(ref, signal);
  }

  async containerStop(ref: string, timeoutMs?: number): Promise<void> {
    await this.runtime.stop(ref, timeoutMs);
  }

  /** `volumes` also removes the container's anonymous volumes (`rm -v`, and `run --rm` as Docker does); named ones stay. */
  async containerRemove(ref: string, options: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    const inspected = this.runtime.inspect(ref);
    const summary = inspected.container;
    await this.runtime.remove(summary.id, { force: options.force ?? false });
    const attachment = summary.labels[LABEL_ATTACHMENT];
    if (attachment) {
      await this.detach(attachment);
      this.released.delete(attachment);
    }
    if (options.volumes) await this.removeAnonymousVolumes(inspected.config.spec?.mounts ?? []);
  }

  private async removeAnonymousVolumes(mounts: readonly Mount[]): Promise<void> {
    const anonymous = mounts
      .filter((m) => m.type === MountType.MOUNT_TYPE_VOLUME && m.volumeLabels[LABEL_ANONYMOUS_VOLUME] !== undefined)
      .map((m) => m.source);
    if (anonymous.length === 0 || !this.o.volumes) return;
    const users = this.volumeUsers();
    for (const name of anonymous) {
      // Another container given the same volume (--volumes-from style, or by its name) keeps it.
      if (users.has(name)) continue;
      // The volume's own label decides, not the mount's (which a client wrote).
      const stored = await this.o.volumes.inspect(name).catch(() => undefined);
      if (stored?.labels[LABEL_ANONYMOUS_VOLUME] === undefined) continue;
      await this.o.volumes
        .remove(name, { force: true })
        .catch((err: unknown) => this.o.log.warn({ err, volume: name }, 'removing an anonymous volume failed'));
    }
  }

  private async detach(attachmentId: string): Promise<void> {
    await this.networking
      .detach(attachmentId)
      .catch((err: unknown) => this.o.log.warn({ err, attachmentId }, 'detaching container networking failed'));
  }

  containerList(options: { all?: boolean; labels?: Record<string, string> } = {}): ContainerSummary[] {
    const wanted = Object.entries(options.labels ?? {});
    return this.runtime.list({ all: options.all ?? false }).filter((c) => wanted.every(([k, v]) => c.labels[k] === v));
  }

  containerInspect(ref: string): ContainerInspectResponse {
    const r = this.runtime.inspect(ref);
    const config = { ...r.config, autoRemove: r.container.labels[LABEL_AUTO_REMOVE] === 'true' };
    return { container: r.container, config, rootfs: r.rootfs, logPath: r.logPath };
  }

  containerWait(ref: string): Promise<WaitResult> {
    return this.runtime.wait(ref);
  }

  containerLogs(
    ref: string,
    options: { follow?: boolean; tail?: number; sinceMs?: number; signal?: AbortSignal },
  ): AsyncIterable<LogRecord> {
    return this.runtime.logs(ref, options);
  }

  /** `docker exec` without a TTY: the command's output (bounded) and exit code. */
  async containerExec(ref: string, command: readonly string[], timeoutMs: number): Promise<ExecResult> {
    if (command.length === 0 || command[0] === '')
      throw new TswarmError('INVALID_ARGUMENT', 'exec needs a command, e.g. "tswarm container exec web -- ls /"');
    const r = await this.runtime.exec(ref, command, {
      timeoutMs: timeoutMs || EXEC_TIMEOUT_MS_MAX,
      outputBytesMax: EXEC_OUTPUT_BYTES_MAX,
    });
    // The runtime ends a command it could not start with 255; Docker's codes say why, with the
    // same split as a container's start. A 255 without such a message is the command's own.
    if (r.exitCode !== 255) return r;
    const code = cannotRunExitCode(r.stderr.toString('utf8'));
    return code === EXIT_ENGINE_ERROR ? r : { ...r, exitCode: code };
  }

  /** The cgroup counters of the named containers, or of every running one when none is named. */
  async containerStats(refs: readonly string[]): Promise<ContainerStats[]> {
    const one = async (ref: string): Promise<ContainerStats> => {
      const { id, name, usage } = await this.runtime.stats(ref);
      return { id, name, ...usage, readAtMs: Date.now() };
    };
    if (refs.length > 0) return Promise.all(refs.map(one));
    // Every running one: a container that stops between the list and its read is left out.
    const settled = await Promise.allSettled(this.runtime.list().map((c) => one(c.id)));
    return settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  }

  /**
   * `docker run`: create (pulling if needed) and start; with attach, the output until the
   * container exits, then its exit code. A command that cannot run ends with 126 or 127 and the
   * reason on stderr, as Docker does. Events are awaited, so a slow reader slows the stream.
   */
  async containerRun(
    config: DeepPartial<ContainerConfig>,
    options: { attach: boolean; signal?: AbortSignal; onEvent: RunEventSink },
  ): Promise<void> {
    const progress = new LatestPerLayer((pull) => options.onEvent({ pull }));
    const created = await this.containerCreate(config, { onPull: (p) => progress.offer(p), keepNetwork: true });
    await progress.flushed();
    await options.onEvent({ id: created.id });
    for (const w of created.warnings) await options.onEvent(stderrEvent(`WARNING: ${w}\n`));
    const autoRemove = config.autoRemove === true;
    let drained = () => {};
    if (autoRemove && options.attach) this.drains.set(created.id, new Promise<void>((resolve) => (drained = resolve)));
    try {
      const removeNow = async () => {
        if (autoRemove) await this.containerRemove(created.id, { force: true, volumes: true }).catch(ignoreNotFound);
      };
      const onStarted = () => autoRemove && this.reapWhenExited(created.id);
      // A start that failed leaves the container created, without networking (or removes it).
      const onStartFailed = async () => (autoRemove ? removeNow() : this.releaseUntilStart(created.id));
      await runAttached(this.runtime, created.id, { ...options, onStarted, beforeExitCode: removeNow }, onStartFailed);
    } finally {
      drained();
      this.drains.delete(created.id);
    }
  }

  /**
   * Removes an auto-remove container once it exited (and an attached run read its output). Runs
   * in the background; a daemon restart resumes it from the label (recover()).
   */
  private reapWhenExited(id: string): void {
    if (this.reapers.has(id)) return;
    this.reapers.add(id);
    void (async () => {
      try {
        await this.runtime.wait(id);
        const drain = this.drains.get(id);
        if (drain) await Promise.race([drain, new Promise((resolve) => setTimeout(resolve, DRAIN_WAIT_MS).unref())]);
        if (!this.closed) await this.containerRemove(id, { force: true, volumes: true });
      } catch (err) {
        if (!this.closed && !(err instanceof TswarmError && err.code === 'NOT_FOUND'))
          this.o.log.warn({ err, container: id }, 'auto-remove failed');
      } finally {
        this.reapers.delete(id);
      }
    })();
  }

  // ---- volumes ----

  private requireVolumes(): VolumeProvider {
    if (!this.o.volumes)
      throw new TswarmError(
        'FAILED_PRECONDITION',
        'volumes are not available on this node. Use bind mounts, or a daemon with volume support',
      );
    return this.o.volumes;
  }

  private volumeUsers(): Map<string, string[]> {
    const containers = this.runtime
      .list({ all: true })
      .map((summary) => ({ summary, mounts: this.runtime.inspect(summary.id).config.spec?.mounts ?? [] }));
    const users = volumeUsers(containers);
    for (const hold of this.creating.values())
      for (const name of hold.volumes) users.set(name, [...(users.get(name) ?? []), 'a container being created']);
    return users;
  }

  private withUsers(v: Volume, users = this.volumeUsers()): Volume {
    return { ...v, usedBy: users.get(v.name) ?? [] };
  }

  async volumeCreate(name: string, labels: Record<string, string>): Promise<Volume> {
    return this.withUsers(await this.requireVolumes().create(name || anonymousVolumeName(), labels));
  }

  async volumeList(): Promise<Volume[]> {
    const users = this.volumeUsers();
    return (await this.requireVolumes().list()).map((v) => this.withUsers(v, users));
  }

  async volumeInspect(name: string): Promise<Volume> {
    return this.withUsers(await this.requireVolumes().inspect(name));
  }

  /** A volume in use is kept even with force, as Docker does: force only tolerates a missing one. */
  async volumeRemove(name: string, force: boolean): Promise<void> {
    const volumes = this.requireVolumes();
    const users = this.volumeUsers().get(name);
    if (users)
      throw new TswarmError(
        'CONFLICT',
        `volume ${name} is in use by ${users.join(', ')}. Remove those containers first`,
      );
    await volumes.remove(name, { force });
  }

  /** Unused anonymous volumes; with `all`, every unused volume (Docker 23's `volume prune [-a]`). */
  async volumePrune(options: { all?: boolean } = {}): Promise<{ deleted: string[]; reclaimedBytes: number }> {
    const volumes = this.requireVolumes();
    // Anonymous ones are an allow-list taken now: a volume made after it is kept, whatever it is.
    const anonymous = new Set(
      (await volumes.list()).filter((v) => v.labels[LABEL_ANONYMOUS_VOLUME] !== undefined).map((v) => v.name),
    );
    // Users are asked per volume while the prune runs, so a container created meanwhile counts.
    return volumes.prune((name) => this.volumeUsers().has(name) || (!options.all && !anonymous.has(name)));
  }
}

/**
 * Sends pull progress to a run's client as it happens, at the client's pace: while a send is
 * under way only the newest report of each layer waits, so a slow client holds at most one per
 * layer. A client gone mid-pull does not stop the pull; the run finds it gone at its next event.
 */
class LatestPerLayer {
  private readonly waiting = new Map<string, LayerProgress>();
  private pump: Promise<void> | undefined;

  constructor(private readonly send: (p: LayerProgress) => void | Promise<void>) {}

  offer(p: LayerProgress): void {
    this.waiting.set(p.digest, p);
    // Started on the next turn, so pump is set before drain() can clear it (even if send throws at once).
    this.pump ??= Promise.resolve().then(() => this.drain());
  }

  /** Resolves once everything offered has been sent (or the client failed). */
  async flushed(): Promise<void> {
    while (this.pump) await this.pump;
  }

  private async drain(): Promise<void> {
    try {
      for (let next = this.take(); next; next = this.take()) await this.send(next);
    } catch {
      this.waiting.clear();
    } finally {
      // No await between the last empty take() and here: an offer cannot fall in between.
      this.pump = undefined;
    }
  }

  private take(): LayerProgress | undefined {
    const first = this.waiting.entries().next();
    if (first.done) return undefined;
    this.waiting.delete(first.value[0]);
    return first.value[1];
  }
}

/** Anonymous volume mounts for the image's VOLUME paths that no mount of the spec covers. */
export function imageVolumeMounts(config: OciImageConfig, mounts: readonly Mount[]): Mount[] {
  const taken = new Set(mounts.map((m) => normalizeTarget(m.target)));
  return Object.keys(config.Volumes ?? {})
    .map(normalizeTarget)
    .filter((target) => target !== '/' && isAbsolute(target) && !taken.has(target))
    .sort()
    .map((target) => nameAnonymousVolume(Mount.fromPartial({ type: MountType.MOUNT_TYPE_VOLUME, source: '', target })));
}

function normalizeTarget(target: string): string {
  return posix.normalize(target).replace(/(.)\/+$/, '$1');
}

/** Docker names anonymous volumes with 64 random hex digits. */
function anonymousVolumeName(): string {
  return randomBytes(32).toString('hex');
}

function nameAnonymousVolume(m: Mount): Mount {
  if (m.type !== MountType.MOUNT_TYPE_VOLUME || m.source !== '') return m;
  return { ...m, source: anonymousVolumeName(), volumeLabels: { ...m.volumeLabels, [LABEL_ANONYMOUS_VOLUME]: '' } };
}

/** Removal raced with another (the reaper, or a user's rm): the container is gone either way. */
function ignoreNotFound(err: unknown): void {
  if (!(err instanceof TswarmError && err.code === 'NOT_FOUND')) throw err;
}
