import type { Cluster, Meta, Network, Node, Service, Task } from '../../gen/tswarm/v1/objects.js';
import {
  Cluster as ClusterCodec,
  Network as NetworkCodec,
  Node as NodeCodec,
  Service as ServiceCodec,
  Task as TaskCodec,
} from '../../gen/tswarm/v1/objects.js';
import type { StoreObject } from '../../gen/tswarm/v1/store.js';

/** The kinds of object the store holds; new kinds join here and nowhere else changes shape. */
export const KINDS = ['cluster', 'node', 'service', 'task', 'network'] as const;
export type Kind = (typeof KINDS)[number];

export interface ObjectOfKind {
  cluster: Cluster;
  node: Node;
  service: Service;
  task: Task;
  network: Network;
}

export type AnyObject = ObjectOfKind[Kind];

export interface Stored {
  id: string;
  meta?: Meta | undefined;
}

const CODECS = {
  cluster: ClusterCodec,
  node: NodeCodec,
  service: ServiceCodec,
  task: TaskCodec,
  network: NetworkCodec,
};

/** A deep copy: the store never shares an object with a caller, so nobody mutates it in place. */
export function cloneObject<K extends Kind>(kind: K, object: ObjectOfKind[K]): ObjectOfKind[K] {
  const codec = CODECS[kind] as unknown as {
    encode(o: unknown): { finish(): Uint8Array };
    decode(b: Uint8Array): ObjectOfKind[K];
  };
  return codec.decode(codec.encode(object).finish());
}

export function wrapObject<K extends Kind>(kind: K, object: ObjectOfKind[K]): StoreObject {
  return { [kind]: object };
}

export function unwrapObject(target: StoreObject | undefined): { kind: Kind; object: AnyObject } | undefined {
  if (!target) return undefined;
  for (const kind of KINDS) {
    const object = target[kind];
    if (object) return { kind, object };
  }
  return undefined;
}

/** Names that must be unique within their kind, as Docker refuses two services of one name. */
export function uniqueNameOf(kind: Kind, object: AnyObject): string | undefined {
  if (kind === 'service') return (object as Service).spec?.annotations?.name || undefined;
  if (kind === 'network') return (object as Network).spec?.annotations?.name || undefined;
  return undefined;
}
