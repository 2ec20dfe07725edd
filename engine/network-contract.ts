/**
 * What the engine's network part gives a container, the meeting point of engine/network and the
 * engine that composes it with engine/runtime: the network namespace is made (and wired) before
 * the container's process starts, and its path handed to the runtime.
 */
import type { PublishedPort } from '../gen/tswarm/v1/engine.js';

export type NetworkMode = 'bridge' | 'host' | 'none';

export interface Attachment {
  /**
   * The namespace to run the container in; undefined for host networking, and for `none`, whose
   * loopback-only namespace the OCI runtime makes itself at each start (engine/runtime).
   */
  netnsPath: string | undefined;
  /** The container's address on the bridge (bridge mode only). */
  ip: string | undefined;
  /** Lines for the container's /etc/hosts beyond localhost and its own name. */
  extraHosts: string[];
  /** Content for the container's /etc/resolv.conf. */
  resolvConf: string;
  /** The published ports as actually bound (a host port of 0 gets one chosen). */
  ports: PublishedPort[];
}

/** A container's place on the node's bridge, as `docker inspect` shows it. */
export interface BridgeAddress {
  ip: string;
  gateway: string;
  prefixLength: number;
  mac: string;
}

export interface ContainerNetworking {
  attach(containerId: string, mode: NetworkMode, ports: readonly PublishedPort[]): Promise<Attachment>;
  /** Removes everything attach made for the container; tolerates what is already gone. */
  detach(containerId: string): Promise<void>;
  /**
   * How to name the container behind an attachment in an error ("already published by container
   * web"): the engine knows which container holds which attachment, this part does not.
   */
  nameHolders?(describe: (attachmentId: string) => string | undefined): void;
  /** The attachment's address on the bridge while it is attached (bridge mode only): for inspect. */
  addressOf?(attachmentId: string): BridgeAddress | undefined;
  /** After a daemon restart: keep what belongs to live containers, remove the rest. */
  reconcile(liveContainerIds: ReadonlySet<string>): Promise<void>;
}
