import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDir, writeFileAtomic } from '../lib/fsutil.js';
import type { TlsMaterial, TlsMaterialProvider } from '../lib/tls.js';
import { TswarmError } from '../lib/errors.js';

/** The node's TLS identity on disk: certificates/{ca.pem,node.pem,node.key}; the key is mode 0600. */
const certificatesDir = (dataDir: string) => join(dataDir, 'certificates');
const files = (dataDir: string) => ({
  ca: join(dataDir, 'certificates', 'ca.pem'),
  cert: join(dataDir, 'certificates', 'node.pem'),
  key: join(dataDir, 'certificates', 'node.key'),
});

export async function saveCertificates(dataDir: string, m: TlsMaterial): Promise<void> {
  const f = files(dataDir);
  // Key before certificate: a crash in between leaves an old certificate with a key it does not
  // match, which loadCertificates reports, rather than a silently mismatched pair.
  await writeFileAtomic(f.ca, m.caPem, 0o644);
  await writeFileAtomic(f.key, m.keyPem, 0o600);
  await writeFileAtomic(f.cert, m.certPem, 0o644);
}

/** The change in progress per data dir: changes of one node's TLS material run one at a time. */
const changing = new Map<string, Promise<unknown>>();

/**
 * Changes a node's TLS material: `change` gets the material current at its turn (never one a
 * concurrent change is about to replace), the result is saved, then applied to new connections.
 * A renewal and a trust-bundle update racing would otherwise each save what they read before the
 * other wrote, and the disk could keep an old key with a new certificate list, or the old roots.
 */
export function changeCertificates(
  dataDir: string,
  provider: () => TlsMaterialProvider | undefined,
  change: (current: TlsMaterial) => TlsMaterial,
): Promise<TlsMaterial | undefined> {
  const run = async (): Promise<TlsMaterial | undefined> => {
    const p = provider();
    if (!p) return undefined; // the node left the swarm meanwhile
    const next = change(p.current);
    await saveCertificates(dataDir, next);
    p.update(next);
    return next;
  };
  const result = (changing.get(dataDir) ?? Promise.resolve()).then(run, run);
  const settled = result.catch(() => undefined);
  changing.set(dataDir, settled);
  void settled.then(() => {
    if (changing.get(dataDir) === settled) changing.delete(dataDir);
  });
  return result;
}

export async function loadCertificates(dataDir: string): Promise<TlsMaterial> {
  const f = files(dataDir);
  try {
    return {
      caPem: await readFile(f.ca, 'utf8'),
      certPem: await readFile(f.cert, 'utf8'),
      keyPem: await readFile(f.key, 'utf8'),
    };
  } catch (err) {
    throw new TswarmError(
      'FAILED_PRECONDITION',
      `this node's certificates in ${join(dataDir, 'certificates')} are missing (${(err as Error).message}). Leave with \`tswarm leave --force\` and join again`,
      { cause: err },
    );
  }
}

/** The files in certificates/ (the identity, and any temporary file an interrupted write left). */
export async function listCertificateFiles(dataDir: string): Promise<string[]> {
  try {
    return (await readdir(certificatesDir(dataDir))).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** Deletes the node's key, certificate and root certificate, and whatever else certificates/ holds. */
export async function removeCertificates(dataDir: string): Promise<void> {
  const dir = certificatesDir(dataDir);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { mode: 0o700 });
  await fsyncDir(dataDir);
}
