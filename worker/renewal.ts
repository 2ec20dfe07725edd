import { Metadata } from '@grpc/grpc-js';
import { NodeCAServiceClient } from '../gen/tswarm/v1/ca.js';
import { createKeyAndCsr } from '../ca/csr.js';
import { parseNodeCertificate } from '../ca/node-certificate.js';
import { renewalDelayMs } from '../ca/renewal.js';
import type { Clock, Timer } from '../lib/clock.js';
import { callUnary } from '../lib/grpc.js';
import type { Logger } from '../lib/log.js';
import { cryptoRandom, type Random } from '../lib/random.js';
import { clientCredentials, MANAGER_CHANNEL_OPTIONS, type TlsMaterialProvider } from '../lib/tls.js';
import { changeCertificates } from './certificates.js';
import type { ExpectedManager } from '../lib/manager-identity.js';
import { MANAGER_CALL_DEADLINE_MS } from './deadlines.js';

/** A failed renewal is retried this much later (the certificate still has at least 20 % of its life). */
export const RENEW_RETRY_MS = 30_000;
/** The longest delay a timer can take (setTimeout's limit). */
const TIMER_DELAY_MS_MAX = 2 ** 31 - 1;

export interface RenewalSchedulerOptions {
  clock: Clock;
  /** Picks the point in the renewal window; cryptoRandom unless a test seeds it. */
  random?: Random;
  log: Logger;
  /** The certificate in use, or undefined once the node is out of the swarm: then nothing is scheduled. */
  certificatePem(): string | undefined;
  renew(): Promise<void>;
}

/**
 * When to renew this node's certificate: a timer at a random point of its life (ca/renewal.ts),
 * rescheduled from the new certificate after each renewal, and retried soon after a failure.
 */
export class RenewalScheduler {
  private timer: Timer | undefined;
  private readonly random: Random;

  constructor(private readonly o: RenewalSchedulerOptions) {
    this.random = o.random ?? cryptoRandom;
  }

  schedule(): void {
    this.timer?.cancel();
    // A renewal that ended after the node left the swarm schedules nothing more.
    const certPem = this.o.certificatePem();
    if (certPem === undefined) return;
    const cert = parseNodeCertificate(certPem);
    const delayMs = renewalDelayMs(cert.notBeforeMs, cert.notAfterMs, this.o.clock.nowMs(), this.random);
    // A certificate longer-lived than a timer can wait (about 24.8 days to renewal) is looked at
    // again when the longest timer fires, rather than renewed then, weeks early.
    if (delayMs > TIMER_DELAY_MS_MAX) {
      this.timer = this.o.clock.setTimer(TIMER_DELAY_MS_MAX, () => this.schedule());
      return;
    }
    this.timer = this.o.clock.setTimer(delayMs, () => {
      void this.o.renew().then(
        () => this.schedule(),
        (err: unknown) => {
          this.o.log.warn({ err: (err as Error).message }, 'certificate renewal failed; retrying in 30 s');
          if (this.o.certificatePem() !== undefined)
            this.timer = this.o.clock.setTimer(RENEW_RETRY_MS, () => this.schedule());
        },
      );
    });
  }

  cancel(): void {
    this.timer?.cancel();
  }
}

export interface RenewCertificateOptions {
  /** HOST:PORT of a manager; any manager issues. */
  managerAddr: string;
  /** The manager expected there (lib/manager-identity.ts); unset: any manager of this cluster. */
  expected?: ExpectedManager;
  /** The node's TLS material, read at each step: it is gone if the node left meanwhile. */
  tls(): TlsMaterialProvider | undefined;
  dataDir: string;
  log: Logger;
  /** The new certificate is in use for new connections; open ones still present the old one. */
  onRenewed(): void;
}

/** A new key and certificate from any manager over mutual TLS; takes effect without a restart. */
export async function renewCertificate(o: RenewCertificateOptions): Promise<void> {
  const { keyPem, csrPem } = await createKeyAndCsr();
  const client = new NodeCAServiceClient(
    o.managerAddr,
    clientCredentials(o.tls()!, o.expected),
    MANAGER_CHANNEL_OPTIONS,
  );
  try {
    const issued = await callUnary(
      client.issueNodeCertificate.bind(client),
      new Metadata(),
      { csrPem: Buffer.from(csrPem), token: '', availability: 0, hostname: '' },
      MANAGER_CALL_DEADLINE_MS,
    );
    // The answer names the roots to trust too (both during a root rotation): they came over verified TLS.
    const caPem = issued.rootCaPem.toString();
    const material = await changeCertificates(
      o.dataDir,
      () => o.tls(),
      (current) => ({
        caPem: caPem || current.caPem,
        keyPem,
        certPem: issued.certificatePem.toString(),
      }),
    );
    if (!material) return;
    o.onRenewed();
    o.log.info({ notAfterMs: parseNodeCertificate(material.certPem).notAfterMs }, 'renewed this node’s certificate');
  } finally {
    client.close();
  }
}
