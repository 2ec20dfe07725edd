import type { Logger } from '../../lib/log.js';
import type { ContainerSummary } from '../../gen/tswarm/v1/engine.js';
import type { ContainerNetworking, NetworkMode } from '../network-contract.js';
import type { ContainerInspect, ContainerRuntime } from '../runtime/runtime.js';
import { LABEL_ATTACHMENT, LABEL_AUTO_REMOVE } from './labels.js';

/** Tells that a container joined (`connect`, at its start) or left (`disconnect`) its network. */
export type TellNetwork = (action: 'connect' | 'disconnect', containerId: string, networkMode: string) => void;

/**
 * Which containers hold their network attachment. As in Docker, a container that is not running
 * holds no namespace, address or host port: the attachment is let go when it stops (or after a
 * create) and made again at its next start — Docker's network `connect` and `disconnect` events.
 */
export class Attachments {
  /** Attachments let go when their container stopped; start attaches them again. */
  private readonly released = new Set<string>();

  constructor(
    private readonly networking: ContainerNetworking,
    private readonly runtime: ContainerRuntime,
    private readonly log: Logger,
    private readonly tell: TellNetwork = () => undefined,
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
