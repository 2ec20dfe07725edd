import type { Logger } from '../../lib/log.js';
import type { ContainerSummary } from '../../gen/tswarm/v1/engine.js';
import type { ContainerNetworking, NetworkMode } from '../network-contract.js';
import type { ContainerInspect, ContainerRuntime } from '../runtime/runtime.js';
import { LABEL_ATTACHMENT, LABEL_AUTO_REMOVE } from './labels.js';

/** Tells that a container joined (`connect`, at its start) or left (`disconnect`) its network. */
export type TellNetwork = (action: 'connect' | 'disconnect', containerId: string, networkMode: string) => void;

/**
 * How long a created container keeps its attachment for a start that may follow: `docker run` and
 * `tswarm run` create and then start at once, and letting go of the namespace (and, on the bridge,
 * a veth pair and an address) only to make it again at the start cost a few commands each time.
 * A container created and left alone lets go after this, as Docker's holds nothing.
 */
export const HOLD_AFTER_CREATE_MS = 3_000;

/**
 * Which containers hold their network attachment. As in Docker, a container that is not running
 * holds no namespace, address or host port: the attachment is let go when it stops (or after a
 * create) and made again at its next start — Docker's network `connect` and `disconnect` events.
 */
export class Attachments {
  /** Attachments let go when their container stopped; start attaches them again. */
  private readonly released = new Set<string>();
  /**
   * Created containers keeping their attachment for their start, by container ID: with the timer
   * that lets it go, or none when the creator starts it next.
   */
  private readonly holds = new Map<string, NodeJS.Timeout | undefined>();

  constructor(
    private readonly networking: ContainerNetworking,
    private readonly runtime: ContainerRuntime,
    private readonly log: Logger,
    private readonly tell: TellNetwork = () => undefined,
    private readonly holdAfterCreateMs = HOLD_AFTER_CREATE_MS,
  ) {}

  /** After a restart: keeps the running containers' networking, lets go of the rest. */
  async recover(all: readonly ContainerSummary[]): Promise<void> {
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
      this.log.error({ err }, 'reconciling container networking failed; stale attachments may remain');
    }
  }

  /** Before a start: attaches a container whose attachment was let go again, and refreshes its /etc files. */
  async reattach(inspected: ContainerInspect): Promise<void> {
    const summary = inspected.container;
    const attachment = summary.labels[LABEL_ATTACHMENT];
    const reattach = attachment !== undefined && this.released.has(attachment) && summary.state?.status !== 'running';
    if (!reattach) return;
    const mode = inspected.config.networkMode as NetworkMode;
    const a = await this.networking.attach(attachment, mode, mode === 'bridge' ? inspected.config.ports : []);
    this.released.delete(attachment);
    this.tell('connect', summary.id, mode);
    await this.runtime.refreshNetworkFiles(summary.id, { ip: a.ip, resolvConfContent: a.resolvConf });
  }

  /**
   * After a create: the container keeps its attachment for its start. The caller that starts it
   * next (`startsNext`) keeps it until then; an API create keeps it holdAfterCreateMs and, not
   * started by then, lets go of it. One publishing host ports lets go at once: in Docker a created
   * container holds no host port, and a second `create -p` of the same port must not fail.
   */
  async keepAfterCreate(id: string, o: { publishesPorts: boolean; startsNext: boolean }): Promise<void> {
    if (o.publishesPorts && !o.startsNext) return this.releaseUntilStart(id);
    if (o.startsNext) {
      this.holds.set(id, undefined);
      return;
    }
    const timer = setTimeout(() => {
      this.holds.delete(id);
      if (this.runtime.list({ all: true }).find((c) => c.id === id)?.state?.status !== 'created') return;
      void this.releaseUntilStart(id).catch((err: unknown) =>
        this.log.warn({ err, id }, 'letting go of a created container’s network failed'),
      );
    }, this.holdAfterCreateMs);
    timer.unref();
    this.holds.set(id, timer);
  }

  /**
   * A start takes over the attachment its create kept (call before any await, so the hold cannot
   * run out meanwhile): the container joins its network now, Docker's `connect`.
   */
  takeOverAtStart(id: string, networkMode: string): void {
    if (!this.holds.has(id)) return;
    this.endHold(id);
    this.tell('connect', id, networkMode);
  }

  /** The hold ends without a start (a removal): its removal detaches the attachment. */
  endHold(id: string): void {
    clearTimeout(this.holds.get(id));
    this.holds.delete(id);
  }

  close(): void {
    for (const timer of this.holds.values()) clearTimeout(timer);
    this.holds.clear();
  }

  /** Lets go of a container's networking until its (next) start, auto-remove or not. */
  async releaseUntilStart(id: string): Promise<void> {
    const attachment = this.runtime.inspect(id).container.labels[LABEL_ATTACHMENT];
    if (attachment === undefined || this.released.has(attachment)) return;
    this.released.add(attachment);
    await this.detach(attachment);
  }

  /** Lets go of a stopped container's namespace, address and published ports (start attaches again). */
  async releaseNetwork(id: string): Promise<void> {
    let inspected;
    try {
      inspected = this.runtime.inspect(id);
    } catch {
      return; // removed meanwhile: removal detached it
    }
    const summary = inspected.container;
    const attachment = summary.labels[LABEL_ATTACHMENT];
    if (attachment === undefined || this.released.has(attachment) || summary.state?.status === 'running') return;
    // An auto-remove container is about to be removed, which detaches it: once is enough.
    if (summary.labels[LABEL_AUTO_REMOVE] === 'true') return;
    this.released.add(attachment);
    await this.detach(attachment);
    this.tell('disconnect', id, inspected.config.networkMode);
    // Removed meanwhile (a concurrent rm): nothing is left to attach again.
    if (!this.runtime.list({ all: true }).some((c) => c.id === id)) this.released.delete(attachment);
  }

  /** After the container was removed: its attachment goes for good (a disconnect, if it still held it). */
  async removed(attachmentId: string, containerId: string, networkMode: string): Promise<void> {
    await this.detach(attachmentId);
    if (!this.released.delete(attachmentId)) this.tell('disconnect', containerId, networkMode);
  }

  async detach(attachmentId: string): Promise<void> {
    await this.networking
      .detach(attachmentId)
      .catch((err: unknown) => this.log.warn({ err, attachmentId }, 'detaching container networking failed'));
  }
}
