import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { TswarmError } from '../../lib/errors.js';
import { CLUSTER_CALL_DEADLINE_MS, type ApiClient } from '../../lib/api-client/client.js';
import type { DockerNode, DockerSwarm } from '../../lib/api-client/swarm-types.js';

/** How long `swarm ca --rotate` waits for the rotation to finish before it says who lags. */
export const ROTATION_WAIT_MS = 120_000;
const POLL_EVERY_MS = 500;

export interface RotationStatus {
  /** Nodes holding a certificate of the root that signs now. */
  certsRotated: number;
  /** Nodes trusting the cluster's root (counted once the rotation finished, as docker counts). */
  rootsRotated: number;
  total: number;
  done: boolean;
  /** The nodes still without a certificate of the new root (or its trust), and why, in words. */
  lagging: string[];
}

/**
 * A root rotation's progress from `GET /swarm` and `GET /nodes`, as the docker CLI reads it
 * (cli/command/swarm/progress/root_rotation.go): a node is rotated when the issuer of its
 * certificate is the cluster's issuer, and done when the rotation finished and every node trusts
 * the cluster's root alone.
 */
export function rotationStatus(swarm: DockerSwarm, nodes: readonly DockerNode[]): RotationStatus {
  const want = swarm.TLSInfo;
  const lagging: string[] = [];
  let certsRotated = 0;
  let rootsRotated = 0;
  for (const n of nodes) {
    const tls = n.Description.TLSInfo;
    const certOk =
      tls?.CertIssuerPublicKey === want.CertIssuerPublicKey && tls.CertIssuerSubject === want.CertIssuerSubject;
    const rootOk = tls?.TrustRoot === want.TrustRoot;
    if (certOk) certsRotated++;
    if (rootOk) rootsRotated++;
    const name = `${n.ID} (${n.Description.Hostname || 'no hostname'})`;
    if (n.Status.State !== 'ready')
      lagging.push(
        `${name} is ${n.Status.State}: it renews when it is back, or remove it with \`tswarm node rm --force\``,
      );
    else if (!certOk) lagging.push(`${name} still holds a certificate of the old root`);
    else if (!swarm.RootRotationInProgress && !rootOk) lagging.push(`${name} does not trust the new root alone yet`);
  }
  const total = nodes.length;
  const done = !swarm.RootRotationInProgress && certsRotated === total && rootsRotated === total;
  return { certsRotated, rootsRotated: swarm.RootRotationInProgress ? 0 : rootsRotated, total, done, lagging };
}

async function readPem(path: string, flag: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new TswarmError('USAGE', `cannot read ${flag} ${path}: ${(err as Error).message}`);
  }
}

interface CaFlags {
  rotate?: boolean;
  caCert?: string;
  caKey?: string;
  detach?: boolean;
  quiet?: boolean;
}

function readSwarm(api: ApiClient): Promise<DockerSwarm> {
  return api.json<DockerSwarm>('GET', '/swarm', { timeoutMs: CLUSTER_CALL_DEADLINE_MS });
}

function printRoot(c: CliContext, swarm: DockerSwarm): void {
  if (!swarm.TLSInfo.TrustRoot)
    throw new TswarmError('UNAVAILABLE', 'the swarm shows no root CA certificate. Try again on another manager');
  c.out(swarm.TLSInfo.TrustRoot.trim() + '\n');
}

/** Polls until the rotation finished, printing progress when it changes; bounded by ROTATION_WAIT_MS. */
async function follow(c: CliContext, api: ApiClient, quiet: boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let shown = '';
  for (;;) {
    const swarm = await readSwarm(api);
    const nodes = await api.json<DockerNode[]>('GET', '/nodes', { timeoutMs: CLUSTER_CALL_DEADLINE_MS });
    const s = rotationStatus(swarm, nodes);
    const line = `rotated TLS certificates: ${s.certsRotated}/${s.total} nodes, rotated CA certificates: ${s.rootsRotated}/${s.total} nodes\n`;
    if (!quiet && line !== shown) c.out(line);
    shown = line;
    if (s.done) {
      if (!quiet) c.out('root rotation complete\n');
      return;
    }
    if (Date.now() >= deadline)
      throw new TswarmError(
        'DEADLINE_EXCEEDED',
        `the root CA rotation has not finished after ${Math.round(timeoutMs / 1000)} s: ${s.lagging.join('; ') || 'the leader has not finished it yet'}. It goes on in the background: bring the nodes back (or remove them), then check with \`tswarm swarm ca\``,
      );
    await new Promise((resolve) => setTimeout(resolve, POLL_EVERY_MS));
  }
}

/** `tswarm swarm ca`: show the root CA certificate, or rotate it (`docker swarm ca`). */
export function registerSwarmCa(swarm: Command, ctx: () => CliContext): void {
  swarm
    .command('ca')
    .description('Display and rotate the root CA')
    .option('--rotate', 'rotate the root CA: a new root (or the one given), every node moves to it')
    .option('--ca-cert <file>', 'PEM root CA certificate to rotate to (with --ca-key)')
    .option('--ca-key <file>', 'PEM private key of that root (ECDSA P-256)')
    .option('-d, --detach', 'return once the rotation started, without waiting for it to finish')
    .option('-q, --quiet', 'print no progress')
    .action(async (f: CaFlags) => {
      const c = ctx();
      if (!f.rotate && (f.caCert || f.caKey))
        throw new TswarmError('USAGE', `--${f.caCert ? 'ca-cert' : 'ca-key'} requires --rotate to change the CA`);
      if (Boolean(f.caCert) !== Boolean(f.caKey))
        throw new TswarmError('USAGE', '--ca-cert and --ca-key go together: tswarm signs with the given root’s key');
      const api = c.api();
      const before = await readSwarm(api);
      if (!f.rotate) return printRoot(c, before);
      const ca = { ...((before.Spec['CAConfig'] as Record<string, unknown> | undefined) ?? {}) };
      if (f.caCert && f.caKey) {
        ca['SigningCACert'] = await readPem(f.caCert, '--ca-cert');
        ca['SigningCAKey'] = await readPem(f.caKey, '--ca-key');
      } else ca['ForceRotate'] = Number(ca['ForceRotate'] ?? 0) + 1;
      await api.json('POST', '/swarm/update', {
        query: { version: before.Version.Index },
        json: { ...before.Spec, CAConfig: ca },
        timeoutMs: CLUSTER_CALL_DEADLINE_MS,
      });
      if (f.detach) return;
      await follow(c, api, f.quiet ?? false, ROTATION_WAIT_MS);
      printRoot(c, await readSwarm(api));
    });
}
