import {
  makeGenericClientConstructor,
  Metadata,
  type Client,
  type ServiceError,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { ControlServiceService } from '../gen/tswarm/v1/control.js';
import { fromServiceError, TswarmError } from '../lib/errors.js';
import { unaryHandler } from '../lib/grpc.js';
import { MANAGER_CHANNEL_OPTIONS } from '../lib/tls.js';
import type { Swarm } from './swarm.js';

const CONTROL_DEADLINE_MS = 30_000;
type UnaryFn = (req: unknown, md: Metadata, opts: object, cb: (e: ServiceError | null, r: unknown) => void) => void;

/**
 * The Control API on the local socket: the daemon carries its operator's request to this node's
 * manager with its own node certificate, so the cluster only ever sees node identities
 * (docs/security.md, The local socket). On a worker the answer is plain: this node is not a manager.
 */
export function controlProxy(swarm: Swarm): UntypedServiceImplementation {
  let client: Client | undefined;
  let clientAddr = '';
  const impl: UntypedServiceImplementation = {};
  for (const [method, def] of Object.entries(ControlServiceService)) {
    if (def.responseStream) continue;
    impl[method] = unaryHandler(async (request: unknown) => {
      const node = swarm.node;
      if (node.role === 'none')
        throw new TswarmError(
          'NOT_IN_SWARM',
          'this node is not part of a swarm. Create one with `tswarm init` or join one with `tswarm join`',
        );
      if (node.role !== 'manager')
        throw new TswarmError(
          'NOT_A_MANAGER',
          'this node is not a manager. Run the command on a manager, or promote this node with `tswarm node promote` there',
        );
      const addr = swarm.managerAddr();
      if (!client || clientAddr !== addr) {
        client?.close();
        const Ctor = makeGenericClientConstructor(ControlServiceService, 'tswarm.v1.ControlService');
        client = new Ctor(addr, swarm.credentials(), MANAGER_CHANNEL_OPTIONS);
        clientAddr = addr;
      }
      const fn = (client as unknown as Record<string, UnaryFn>)[method]!;
      const c = client;
      return new Promise((resolve, reject) =>
        fn.call(c, request, new Metadata(), { deadline: Date.now() + CONTROL_DEADLINE_MS }, (err, res) =>
          err ? reject(fromServiceError(err)) : resolve(res),
        ),
      );
    });
  }
  return impl;
}
