import type { Logger } from '../../lib/log.js';
import { TswarmError } from '../../lib/errors.js';
import { NodeState, type Node } from '../../gen/tswarm/v1/objects.js';
import type { Store } from '../store/store.js';
import { theCluster } from '../store/cluster-objects.js';
import { finishRotation, rotationProgress } from './rotation.js';

/**
 * The leader's side of a root CA rotation (SwarmKit's ca/reconciler.go): each round it reads the
 * store's node certificates and, once every node holds one of the new root, finishes the rotation
 * (manager/ca/rotation.ts, finishRotation). Nodes learn of the rotation from heartbeat answers
 * and renew by themselves; a node that is down holds the rotation open until it is back or removed.
 */
export class RootRotationReconciler {
  private lastConverged = -1;

  constructor(private readonly o: { store: Store; log: Logger }) {}

  async reconcile(nodes: readonly Node[]): Promise<void> {
    const root = theCluster(this.o.store.replica).rootCa;
    const rotating = root?.rootRotation;
    if (!root || !rotating) {
      this.lastConverged = -1;
      return;
    }
    const progress = rotationProgress(root, nodes, (n) => n.status?.state === NodeState.NODE_STATE_DOWN);
    if (progress.converged.length !== this.lastConverged) {
      this.lastConverged = progress.converged.length;
      this.o.log.info(
        { converged: progress.converged.length, nodes: nodes.length, lagging: progress.lagging.map((l) => l.nodeId) },
        'root CA rotation: nodes holding a certificate of the new root',
      );
    }
    if (progress.lagging.length > 0) return;
    const finished = finishRotation(root)!;
    await this.o.store.update((tx, s) => {
      const cluster = theCluster(s);
      const now = cluster.rootCa?.rootRotation;
      // Another rotation replaced this one meanwhile: its own nodes have yet to converge.
      if (!now || !Buffer.from(now.caCertPem).equals(Buffer.from(rotating.caCertPem)))
        throw new TswarmError('CONFLICT', 'the root rotation changed while it was being finished');
      cluster.rootCa = finished;
      tx.update('cluster', cluster);
    });
    this.lastConverged = -1;
    this.o.log.info('root CA rotation complete: the cluster trusts only the new root; join tokens regenerated');
  }
}
