import { chmod, readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../../lib/fsutil.js';
import { TswarmError } from '../../lib/errors.js';
import { normalizeRegistryHost } from './reference.js';
import type { Credentials } from './registry/auth.js';

/** The credential file is tiny; anything bigger is not ours. */
const FILE_BYTES_MAX = 1024 * 1024;

/**
 * Registry credentials, as `{ "<registry>": base64("user:pass") }` in one file under the node's
 * data dir, readable by root only (0600) and replaced atomically, so a crash never leaves it
 * half-written and another user never reads it. Like Docker's config.json, the secret is only
 * encoded, not encrypted: the file's permissions are the protection.
 */
export class CredentialStore {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly path: string) {}

  async get(registry: string): Promise<Credentials | undefined> {
    const encoded = (await this.readAll())[normalizeRegistryHost(registry)];
    if (!encoded) return undefined;
    const decoded = Buffer.from(encoded, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }

  set(registry: string, creds: Credentials): Promise<void> {
    if (creds.username.includes(':'))
      throw new TswarmError('INVALID_ARGUMENT', 'a registry user name cannot contain ":". Check the user name');
    return this.mutate((all) => {
      all[normalizeRegistryHost(registry)] = Buffer.from(`${creds.username}:${creds.password}`).toString('base64');
    });
  }

  /** Forgets a registry's credentials; returns whether there were any. */
  remove(registry: string): Promise<boolean> {
    return this.mutate((all) => {
      const key = normalizeRegistryHost(registry);
      const had = key in all;
      delete all[key];
      return had;
    });
  }

  private mutate<T>(fn: (all: Record<string, string>) => T): Promise<T> {
    const next = this.queue.then(async () => {
      const all = await this.readAll();
      const result = fn(all);
      await writeFileAtomic(this.path, JSON.stringify(all, null, 2), 0o600);
      // writeFileAtomic creates with 0600, but an umask cannot widen it; make sure anyway.
      await chmod(this.path, 0o600);
      return result;
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async readAll(): Promise<Record<string, string>> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw err;
    }
    if (text.length > FILE_BYTES_MAX)
      throw new TswarmError('INTERNAL', `credential file ${this.path} is too large. Remove it and log in again`);
    try {
      const doc = JSON.parse(text) as unknown;
      if (typeof doc === 'object' && doc !== null && !Array.isArray(doc)) return doc as Record<string, string>;
    } catch {
      // fall through
    }
    throw new TswarmError('INTERNAL', `credential file ${this.path} is corrupt. Remove it and log in again`);
  }
}
