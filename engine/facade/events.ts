import { MountType, type Mount } from '../../gen/tswarm/v1/objects.js';
import type { ContainerEvent } from '../runtime/runtime.js';
import type { EngineEvent } from '../events-contract.js';
import { networkDriver, networkId } from '../network/network-id.js';
import { userLabels } from './labels.js';

/**
 * Docker's events of the engine's doings, shaped as dockerd shapes them (moby daemon/events.go):
 * a container's event carries its labels, its image and its name; a network's its name and
 * driver; a volume's its driver.
 */

/** The action's own attributes first, then the labels over them, then image and name, as dockerd. */
export function containerEventOf(e: ContainerEvent): EngineEvent {
  return {
    type: 'container',
    action: e.action,
    id: e.id,
    attributes: { ...e.attributes, ...userLabels(e.labels), image: e.image, name: e.name },
  };
}

/** `connect` / `disconnect` of a container to the built-in network its mode names. */
export function networkEventOf(
  action: 'connect' | 'disconnect',
  containerId: string,
  networkMode: string,
): EngineEvent {
  const name = networkMode || 'bridge';
  return {
    type: 'network',
    action,
    id: networkId(name),
    attributes: { container: containerId, name, type: networkDriver(name) },
  };
}

const VOLUME_DRIVER = 'local';

function volumeEventOf(action: string, name: string, attributes: Record<string, string> = {}): EngineEvent {
  return { type: 'volume', action, id: name, attributes: { ...attributes, driver: VOLUME_DRIVER } };
}

/** A container's named volumes being mounted (at its start) or unmounted (once it exited). */
export function volumeMountEvents(
  action: 'mount' | 'unmount',
  containerId: string,
  mounts: readonly Mount[],
): EngineEvent[] {
  return mounts
    .filter((m) => m.type === MountType.MOUNT_TYPE_VOLUME)
    .map((m) =>
      volumeEventOf(
        action,
        m.source,
        action === 'mount'
          ? { container: containerId, destination: m.target, 'read/write': String(!m.readOnly), propagation: '' }
          : { container: containerId },
      ),
    );
}

/** The event of a prune, which names no object: what it reclaimed, in bytes. */
export function pruneEventOf(type: EngineEvent['type'], reclaimedBytes: number): EngineEvent {
  return { type, action: 'prune', id: '', attributes: { reclaimed: String(reclaimedBytes) } };
}
