import { join } from 'node:path';
import { TswarmError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { newId } from '../lib/ids.js';
import {
  ContainerConfig,
  type ContainerInspectResponse,
  type ContainerStats,
  type ContainerSummary,
  type DeepPartial,
  type ImageSummary,
  type Volume,
} from '../gen/tswarm/v1/engine.js';
import { ContainerSpec } from '../gen/tswarm/v1/objects.js';
import type { BridgeAddress, ContainerNetworking } from './network-contract.js';
import { ImageService, type ImageServiceOptions } from './image/images.js';
import type { RunConfig } from './image/commit/changes.js';
import {
  ContainerRuntime,
  type ExecSession,
  type ExecSessionRequest,
  type StdinAttachment,
  type LogRecord,
  type WaitResult,
} from './runtime/runtime.js';
import type { RuntimeName } from './runtime/probe.js';
import { LocalNetworking, resolveNetworkMode } from './network/local-networking.js';
import { volumeNames, type VolumeProvider } from './volume-contract.js';
import { MOUNTS_MAX } from './facade/validate.js';
import { LABEL_ATTACHMENT, LABEL_AUTO_REMOVE, LABEL_IMAGE_ID } from './facade/labels.js';
import { imageVolumeMounts, nameAnonymousVolume } from './facade/anonymous-volumes.js';
import { VolumeCommands } from './facade/volume-commands.js';
import { Attachments } from './facade/attachments.js';
import { AutoRemover } from './facade/auto-remove.js';
import { ensureImage, type EnsurePull } from './facade/ensure-image.js';
import { readStats } from './facade/stats.js';
import { DiskUsage } from './facade/disk-usage.js';
import { checkPsArgs, psTop, type TopResult } from './facade/top.js';
import { engineInfo, type EngineInfo } from './facade/info.js';
import { tell, type EngineEvent, type EngineEvents } from './events-contract.js';
import { familiarReference } from './image/reference.js';
import { containerEventOf, networkEventOf, pruneEventOf, volumeMountEvents } from './facade/events.js';

export type { VolumeProvider } from './volume-contract.js';
export type { EngineEvent, EngineEvents } from './events-contract.js';
export type { ExecSession, ExecSessionRequest } from './runtime/runtime.js';

export interface EngineOptions {
  /** The daemon's data dir; the engine keeps everything under <dataDir>/engine. */
  dataDir: string;
  /** The daemon's name prefix, on every kernel object the engine makes, so daemons sharing a machine stay apart. */
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
  /** How long an API-created container keeps its network for a start (Attachments; tests shorten it). */
  holdAfterCreateMs?: number;
  /** Told of what happens to containers, images, volumes and networks (the node's `GET /events`). */
  events?: EngineEvents;
}

export { LABEL_ATTACHMENT, LABEL_AUTO_REMOVE, LABEL_IMAGE_ID } from './facade/labels.js';
export { LABEL_ANONYMOUS_VOLUME } from './volume-contract.js';
export { imageVolumeMounts } from './facade/anonymous-volumes.js';

/** Processes of one container `top` lists at most: far more than a container runs, few enough to answer at once. */
const TOP_PIDS_MAX = 65_536;

export interface CreateResult {
  id: string;
  warnings: string[];
}

/**
 * How `containerCreate` pulls an image the node lacks: progress for a client, and credentials of
 * the caller's own (a service's `--with-registry-auth`), used for that pull only.
 */
export type CreateOptions = EnsurePull & {
  /** The caller starts the container at once: its network attachment is kept for that start. */
  startsNext?: boolean;
};

/**
 * One node's engine: images, containers, networking and volumes composed. The runtime adopts
 * running containers after a restart; the engine then drops network state of containers that are
 * gone and resumes removing the `--rm` ones when they exit.
 */
export class Engine {
  private readonly networking: ContainerNetworking;
  private readonly attachments: Attachments;
  private readonly reaper: AutoRemover;
  private readonly volumes: VolumeCommands;
  /** `system df`: the sizes of images, containers and volumes, measured. */
  readonly diskUsage: DiskUsage;
  /**
   * Images and volumes of containers being created, which have no record yet to show them in
   * use: an `image rm`, `image prune` or `volume prune` meanwhile must not take them away.
   */
  private readonly creating = new Map<number, { imageId?: string; volumes: string[] }>();
  private nextCreate = 0;
  private closed = false;

  private constructor(
    private readonly o: EngineOptions,
    readonly images: ImageService,
    readonly runtime: ContainerRuntime,
  ) {
    this.networking = o.networking ?? new LocalNetworking();
    this.attachments = new Attachments(
      this.networking,
      runtime,
      o.log,
      (action, id, mode) => this.emit(networkEventOf(action, id, mode)),
      o.holdAfterCreateMs,
    );
    this.reaper = new AutoRemover(
      runtime,
      (id) => this.containerRemove(id, { force: true, volumes: true }),
      () => this.closed,
      o.log,
    );
    this.volumes = new VolumeCommands(o.volumes, runtime, () => this.creating.values(), o.log);
    this.diskUsage = new DiskUsage(runtime, images, this.volumes, o.log);
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
      ...(o.events ? { events: o.events } : {}),
    });
    const runtime = await ContainerRuntime.open({
      root,
      namePrefix: o.namePrefix,
      runtime: o.runtime ?? 'crun',
      log: o.log,
      onEvent: (e) => tell(o.events, containerEventOf(e), (err) => o.log.warn({ err }, 'telling an event failed')),
    });
    // What the host lacks but the engine can do without (an init for --init, nft for -p) is said
    // once, at start, rather than found out by the first container that needs it.
    for (const what of runtime.host.missing)
      o.log.warn({ missing: what }, 'this host lacks something containers may need');
    const engine = new Engine(o, images, runtime);
    holder.engine = engine;
    runtime.whenExited((id) => {
      engine.emitVolumeMounts('unmount', id);
      void engine.attachments.releaseNetwork(id);
    });
    engine.networking.nameHolders?.(
      (attachmentId) => runtime.list({ all: true }).find((c) => c.labels[LABEL_ATTACHMENT] === attachmentId)?.name,
    );
    await engine.recover();
    return engine;
  }

  private async recover(): Promise<void> {
    const all = this.runtime.list({ all: true });
    await this.attachments.recover(all);
    for (const c of all) if (c.labels[LABEL_AUTO_REMOVE] === 'true') this.reaper.reapWhenExited(c.id);
  }

  /** Stops watching; containers keep running under conmon for the next daemon to adopt. */
  async close(): Promise<void> {
    this.closed = true;
    this.attachments.close();
    this.runtime.close();
    await this.images.close();
  }

  /** What `tswarm info` shows of the engine: counts, and what the host probe found. */
  async summary(): Promise<EngineInfo> {
    return engineInfo(this.runtime, this.images);
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
   * `container create`: the container is made with its network attached (its namespace path, address
   * and /etc files are settled), which is then let go until start, as in Docker, where a created
   * container holds no host port.
   *
   * Letting go and making it again at the start is a namespace, and on the bridge a veth pair and
   * an address, each made with a few commands under the node's one networking lock — twice per
   * container for nothing when the start follows at once. So `startsNext` (a task agent's
   * create-then-start) keeps it for that start, and an API create (`docker run` is a create then a
   * start) keeps it a few seconds (Attachments.releaseAfterCreate) unless it publishes host
   * ports. A start that fails lets it go (containerStart), and after a daemon restart a container
   * that never started holds none (Attachments.recover).
   */
  async containerCreate(config: DeepPartial<ContainerConfig>, options: CreateOptions = {}): Promise<CreateResult> {
    const created = await this.createContainer(config, options);
    await this.attachments.keepAfterCreate(created.id, {
      publishesPorts: this.runtime.inspect(created.id).config.ports.length > 0,
      startsNext: options.startsNext ?? false,
    });
    return created;
  }

  private async createContainer(config: DeepPartial<ContainerConfig>, options: CreateOptions): Promise<CreateResult> {
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
    options: CreateOptions,
  ): Promise<CreateResult> {
    const image = await ensureImage(this.images, this.o.log, given.image, options, (id) => (hold.imageId = id));
    // The image's VOLUMEs, where the spec mounts nothing, get anonymous volumes as in Docker (a
    // database's data dir). A node without volume support runs the image without them.
    const imageVolumes = this.volumes.available ? imageVolumeMounts(image.config, given.mounts) : [];
    if (given.mounts.length + imageVolumes.length > MOUNTS_MAX) {
      throw new TswarmError(
        'INVALID_ARGUMENT',
        `image ${given.image} declares ${imageVolumes.length} VOLUMEs, which with the ${given.mounts.length} mounts given pass the limit of ${MOUNTS_MAX}. Use another image`,
      );
    }
    hold.volumes.push(...volumeNames(imageVolumes));
    const spec = { ...given, mounts: [...given.mounts, ...imageVolumes] };
    const { mode, warnings } = resolveNetworkMode(cfg.networkMode, this.o.networking !== undefined, cfg.ports);
    const volumePaths = await this.volumes.paths(spec.mounts);
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
      // Pull options (a service's registry credentials) served the pull; the container's record keeps none.
      const finalSpec: ContainerSpec = {
        ...spec,
        pullOptions: undefined,
        labels,
        hosts: [...spec.hosts, ...attachment.extraHosts],
      };
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
      await this.attachments.detach(attachmentId);
      throw err;
    }
  }

  async containerStart(ref: string): Promise<void> {
    const inspected = this.runtime.inspect(ref);
    const summary = inspected.container;
    const attachment = summary.labels[LABEL_ATTACHMENT];
    this.attachments.takeOverAtStart(summary.id, inspected.config.networkMode);
    await this.attachments.reattach(inspected);
    if (summary.state?.status !== 'running') this.emitVolumeMounts('mount', summary.id);
    try {
      await this.runtime.start(summary.id);
    } catch (err) {
      // A start that failed leaves a stopped container: it holds no network either.
      if (attachment !== undefined && (this.runtime.inspect(summary.id).container.state?.status ?? '') !== 'running')
        await this.attachments.releaseNetwork(summary.id);
      throw err;
    }
    if (summary.labels[LABEL_AUTO_REMOVE] === 'true') this.reaper.reapWhenExited(summary.id);
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
    this.attachments.endHold(summary.id);
    await this.runtime.remove(summary.id, { force: options.force ?? false });
    const attachment = summary.labels[LABEL_ATTACHMENT];
    if (attachment) await this.attachments.removed(attachment, summary.id, inspected.config.networkMode);
    if (options.volumes) await this.volumes.removeAnonymous(inspected.config.spec?.mounts ?? []);
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

  /** The container's bridge address while it holds its network (running), for inspect. */
  containerAddress(ref: string): BridgeAddress | undefined {
    const attachment = this.runtime.inspect(ref).container.labels[LABEL_ATTACHMENT];
    return attachment === undefined ? undefined : this.networking.addressOf?.(attachment);
  }

  /**
   * Holds an auto-remove container's removal while an attached client reads its output (the
   * Engine API's attach); the returned function lets it go.
   */
  containerHoldRemoval(id: string): () => void {
    const drained = this.reaper.holdForDrain(id);
    return () => {
      drained();
      this.reaper.endDrain(id);
    };
  }

  containerWait(ref: string): Promise<WaitResult> {
    return this.runtime.wait(ref);
  }

  /** The auto-remove under way for a container (by full ID): settles when it is gone or could not go. */
  containerRemoval(id: string): Promise<void> | undefined {
    return this.reaper.removal(id);
  }

  containerLogs(
    ref: string,
    options: { follow?: boolean; tail?: number; sinceMs?: number; signal?: AbortSignal },
  ): AsyncIterable<LogRecord> {
    return this.runtime.logs(ref, options);
  }

  /**
   * `docker commit`: the container's changes as a new image over its own, tagged `reference` when
   * given. The container is held still meanwhile (paused when running, unless `pause` is false).
   */
  async containerCommit(
    ref: string,
    options: {
      reference?: string;
      overrides?: RunConfig;
      changes: string[];
      comment: string;
      author: string;
      pause: boolean;
    },
  ): Promise<ImageSummary> {
    const image = await this.runtime.withChanges(ref, options.pause, (source) => {
      const spec = source.config.spec;
      return this.images.commit({
        baseImageId: source.imageId,
        upperDir: source.upperDir,
        container: {
          entrypoint: spec?.command ?? [],
          cmd: spec?.args ?? [],
          env: spec?.env ?? [],
          workingDir: spec?.dir ?? '',
          user: spec?.user ?? '',
        },
        ...(options.overrides ? { overrides: options.overrides } : {}),
        changes: options.changes,
        createdBy: source.argv.join(' '),
        comment: options.comment,
        author: options.author,
        ...(options.reference ? { reference: options.reference } : {}),
      });
    });
    // dockerd's commit event: the container's, naming the new image (and its tag, told as an image tag).
    this.containerEvent(ref, 'commit', {
      comment: options.comment,
      imageID: image.id,
      imageRef: options.reference ? familiarReference(options.reference) : '',
    });
    return image;
  }

  /** A writer into the running container's stdin (created with OpenStdin), through conmon. */
  async containerAttachStdin(ref: string): Promise<StdinAttachment> {
    return this.runtime.attachStdin(ref);
  }

  /** Sets a TTY container's terminal size; a no-op for one without a TTY. */
  async containerResize(ref: string, rows: number, cols: number): Promise<void> {
    return this.runtime.resizeTerminal(ref, rows, cols);
  }

  /** A command in a running container with its streams open (`docker exec`, also -i and -t). */
  async containerExecSession(ref: string, request: ExecSessionRequest): Promise<ExecSession> {
    return this.runtime.execSession(ref, request);
  }

  /** The cgroup counters of the named containers, or of every running one when none is named. */
  async containerStats(refs: readonly string[]): Promise<ContainerStats[]> {
    return readStats(this.runtime, refs);
  }

  /**
   * `docker top`: the host's ps with `psArgs` (default -ef), only the rows of the container's
   * processes; told as dockerd's `top` event.
   */
  async containerTop(ref: string, psArgs: string): Promise<TopResult> {
    checkPsArgs(psArgs);
    const pids = await this.runtime.pids(ref, TOP_PIDS_MAX);
    const result = await psTop(psArgs, pids);
    this.containerEvent(ref, 'top');
    return result;
  }

  /** `docker rename`: the container's new name, kept in its record; told as the `rename` event (`oldName`). */
  async containerRename(ref: string, newName: string): Promise<void> {
    await this.runtime.rename(ref, newName);
  }

  // ---- events ----

  /**
   * Tells an event of a container that only the API sees happen (attach, restart, exec), shaped as
   * the runtime's own: with the container's labels, image and name. A container gone meanwhile (an
   * auto-remove one that already ended) has nobody to tell of: nothing is told.
   */
  containerEvent(ref: string, action: string, attributes: Record<string, string> = {}): void {
    let r;
    try {
      r = this.runtime.inspect(ref);
    } catch {
      return;
    }
    const spec = r.config.spec;
    const c = r.container;
    this.emit(
      containerEventOf({
        action,
        id: c.id,
        name: c.name,
        image: spec?.image || c.image,
        labels: c.labels,
        attributes,
      }),
    );
  }

  /** `container prune`: the prune event, with the bytes it reclaimed. */
  containerPruned(reclaimedBytes: number): void {
    this.emit(pruneEventOf('container', reclaimedBytes));
  }

  private emit(event: EngineEvent): void {
    tell(this.o.events, event, (err) => this.o.log.warn({ err }, 'telling an event failed'));
  }

  private emitVolumeMounts(action: 'mount' | 'unmount', id: string): void {
    let mounts;
    try {
      mounts = this.runtime.inspect(id).config.spec?.mounts ?? [];
    } catch {
      return; // removed meanwhile
    }
    for (const e of volumeMountEvents(action, id, mounts)) this.emit(e);
  }

  // ---- volumes ----

  async volumeCreate(name: string, labels: Record<string, string>): Promise<Volume> {
    return this.volumes.create(name, labels);
  }

  async volumeList(): Promise<Volume[]> {
    return this.volumes.list();
  }

  async volumeInspect(name: string): Promise<Volume> {
    return this.volumes.inspect(name);
  }

  /** A volume in use is kept even with force, as Docker does: force only tolerates a missing one. */
  async volumeRemove(name: string, force: boolean): Promise<void> {
    await this.volumes.remove(name, force);
  }

  /** Unused anonymous volumes; with `all`, every unused volume (Docker 23's `volume prune [-a]`). */
  async volumePrune(options: { all?: boolean } = {}): Promise<{ deleted: string[]; reclaimedBytes: number }> {
    const pruned = await this.volumes.prune(options);
    this.emit(pruneEventOf('volume', pruned.reclaimedBytes));
    return pruned;
  }
}
