import type { HeartbeatResponse } from '../gen/tswarm/v1/dispatcher.js';
import { issuedBy } from '../ca/chain.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/log.js';
import type { TlsMaterial } from '../lib/tls.js';

/** A prompt renewal that failed is tried again on a heartbeat at least this much later. */
export const PROMPT_RENEW_RETRY_MS = 5_000;

export interface TrustActions {
  /** The trust bundle to use now, when it differs from the one in use. */
  caPem: string | undefined;
  /** The certificate in use was not signed by the root that signs now: renew at once. */
  renew: boolean;
}

/**
 * What a heartbeat answer asks of this node during (and at the end of) a root CA rotation
 * (docs/security.md, Rotating the root CA): trust the bundle it names, and hold a certificate of
 * the root that signs now. An answer from a manager that names neither asks nothing.
 */
export function trustActions(res: HeartbeatResponse, material: TlsMaterial): TrustActions {
  const bundle = Buffer.from(res.trustBundlePem).toString();
  const issuer = Buffer.from(res.issuerCaCertPem).toString();
  return {
    caPem: bundle !== '' && bundle !== material.caPem ? bundle : undefined,
    renew: issuer !== '' && !issuedBy(material.certPem, issuer),
  };
}

export interface TrustFollowerOptions {
  clock: Clock;
  log: Logger;
  /** The node's TLS material, or undefined once it is out of the swarm. */
  material(): TlsMaterial | undefined;
  /** Saves and applies a new trust bundle (certificates/ca.pem); new connections use it. */
  trust(caPem: string): Promise<void>;
  /** Renews the certificate now (then the regular renewal is rescheduled from the new one). */
  renew(): Promise<void>;
}

/**
 * Follows the cluster's roots from heartbeat answers: a new trust bundle is saved and applied
 * without a restart, and a certificate of a root that no longer signs is renewed at once rather
 * than at its random renewal time. One of each in flight; a failed renewal is retried on a later beat.
 */
export class TrustFollower {
  private trusting = false;
  private renewing = false;
  private lastRenewAttemptMs = -Infinity;

  constructor(private readonly o: TrustFollowerOptions) {}

  onHeartbeat(res: HeartbeatResponse): void {
    const material = this.o.material();
    if (!material) return;
    const actions = trustActions(res, material);
    if (actions.caPem !== undefined && !this.trusting) {
      this.trusting = true;
      const roots = actions.caPem.match(/BEGIN CERTIFICATE/g)?.length ?? 0;
      this.o
        .trust(actions.caPem)
        .then(
          () => this.o.log.info({ roots }, 'the cluster’s trusted roots changed; this node now trusts them'),
          (err: unknown) => this.o.log.warn({ err: (err as Error).message }, 'could not save the new trusted roots'),
        )
        .finally(() => (this.trusting = false));
    }
    const nowMs = this.o.clock.nowMs();
    if (actions.renew && !this.renewing && nowMs - this.lastRenewAttemptMs >= PROMPT_RENEW_RETRY_MS) {
      this.renewing = true;
      this.lastRenewAttemptMs = nowMs;
      this.o.log.info('the cluster signs with a new root CA; renewing this node’s certificate now');
      this.o
        .renew()
        .catch((err: unknown) =>
          this.o.log.warn(
            { err: (err as Error).message },
            'prompt certificate renewal failed; retrying on a later heartbeat',
          ),
        )
        .finally(() => (this.renewing = false));
    }
  }
}
