import { TswarmError } from '../../lib/errors.js';
import type { PublishedPort } from '../../gen/tswarm/v1/engine.js';
import type { Attachment, ContainerNetworking, NetworkMode } from '../network-contract.js';

const MODES: readonly NetworkMode[] = ['bridge', 'host', 'none'];

/**
 * The networking a node has before (or without) engine/network: `host` shares the host's
 * namespace and `none` gets a loopback-only one. For `none` it hands over no namespace, as
 * NodeNetworking does: the OCI runtime makes one at each start (CreateInput.netnsPath), so nothing
 * here needs cleaning up.
 */
export class LocalNetworking implements ContainerNetworking {
  async attach(_containerId: string, mode: NetworkMode, _ports: readonly PublishedPort[]): Promise<Attachment> {
    if (mode === 'bridge') {
      throw new TswarmError(
        'FAILED_PRECONDITION',
        'bridge networking is not available on this node. Use --network none or --network host',
      );
    }
    return { netnsPath: undefined, ip: undefined, extraHosts: [], resolvConf: '', ports: [] };
  }

  async detach(_containerId: string): Promise<void> {}

  async reconcile(_liveContainerIds: ReadonlySet<string>): Promise<void> {}
}

export interface ResolvedMode {
  mode: NetworkMode;
  warnings: string[];
}

/**
 * Docker's default is `bridge`; a node without bridge networking falls back to `none` and says so
 * rather than refusing every plain `run`. Named networks arrive with overlay networking.
 */
export function resolveNetworkMode(
  requested: string,
  hasBridge: boolean,
  ports: readonly PublishedPort[],
): ResolvedMode {
  const warnings: string[] = [];
  let mode: NetworkMode;
  if (requested === '') {
    mode = hasBridge ? 'bridge' : 'none';
    if (!hasBridge)
      warnings.push(
        'bridge networking is not available on this node; the container has loopback only (--network none)',
      );
  } else if ((MODES as readonly string[]).includes(requested)) {
    mode = requested as NetworkMode;
  } else {
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `network "${requested}" is not attached to this node. Use --network bridge, host or none`,
    );
  }
  if (mode !== 'bridge' && ports.length > 0) warnings.push(`published ports are discarded with --network ${mode}`);
  return { mode, warnings };
}
