import { mkdir, readFile, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TswarmError } from '../../lib/errors.js';
import { writeFileAtomic } from '../../lib/fsutil.js';
import { treeBytes, walkBudget } from '../../lib/tree-bytes.js';
import { systemClock, type Clock } from '../../lib/clock.js';
import type { Volume, VolumePruneResponse } from '../../gen/tswarm/v1/engine.js';
import { tell, type EngineEvents } from '../events-contract.js';

export interface LocalVolumeDriverOptions {
  /** The engine's directory, e.g. <data-dir>/engine; volumes live in its volumes/ folder. */
  engineRoot: string;
  /** The containers that use a volume (by name), from the runtime: remove and prune need it. */
  usedBy: (name: string) => string[];
  clock?: Clock;
  /** Told when a volume is made (explicitly or by a mount that names a new one) and destroyed. */
  events?: EngineEvents;
}

/** What volume.json holds; the data itself is the `_data` directory beside it. */
interface VolumeMeta {
  formatVersion: 1;
  name: string;
  labels: Record<string, string>;
  createdAtMs: number;
}

const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;
const META_FILE = 'volume.json';
/** Removal renames a volume here first, so it vanishes at once even if the delete is cut short. */
const TRASH_PREFIX = '.removing-';
/** A bound on the directory walk that measures what prune reclaims; beyond it the size is a lower bound. */
const SIZE_WALK_ENTRIES_MAX = 100_000;

export function validateVolumeName(name: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `invalid volume name "${name}". Use 1 to 64 letters, digits, '_', '.' and '-', starting with a letter or digit`,
    );
  }
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => b[k] === a[k]);
}

/**
 * Named local volumes, like Docker's `local` driver: `<engineRoot>/volumes/<name>/_data` holds the
 * data and `volume.json` beside it the labels and creation time, written atomically and last — a
 * volume exists once its metadata does. Changes are serialised in this process; the daemon's
 * data-dir lock keeps other processes out.
 */
export class LocalVolumeDriver {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly dir: string;
  private readonly clock: Clock;

  private constructor(private readonly o: LocalVolumeDriverOptions) {
    this.dir = join(o.engineRoot, 'volumes');
    this.clock = o.clock ?? systemClock;
  }

  /** Opens the store and finishes removals a crash cut short. */
  static async open(options: LocalVolumeDriverOptions): Promise<LocalVolumeDriver> {
    const store = new LocalVolumeDriver(options);
    await mkdir(store.dir, { recursive: true, mode: 0o700 });
    for (const entry of await readdir(store.dir)) {
      if (entry.startsWith(TRASH_PREFIX)) await rm(join(store.dir, entry), { recursive: true, force: true });
    }
    return store;
  }

  /** Creates the volume, or returns it if it exists with the same labels (so retries are safe). */
  async create(name: string, labels: Record<string, string> = {}): Promise<Volume> {
    validateVolumeName(name);
    return this.serial(async () => {
      const existing = await this.readMeta(name);
      if (existing && !sameLabels(existing.labels, labels)) {
        throw new TswarmError(
          'ALREADY_EXISTS',
          `volume "${name}" already exists with other labels. Remove it first, or create it with the same labels`,
        );
      }
      return this.toVolume(existing ?? (await this.createLocked(name, labels)));
    });
  }

  /** The data directory first, the metadata last and atomically: a crash between leaves no volume. */
  private async createLocked(name: string, labels: Record<string, string>): Promise<VolumeMeta> {
    await mkdir(join(this.dir, name, '_data'), { recursive: true, mode: 0o755 });
    const meta: VolumeMeta = { formatVersion: 1, name, labels: { ...labels }, createdAtMs: this.clock.nowMs() };
    await writeFileAtomic(join(this.dir, name, META_FILE), JSON.stringify(meta, null, 1));
    this.tell('create', name);
    return meta;
  }

  /** Docker's volume events: the volume's name as the ID, its driver as an attribute. */
  private tell(action: 'create' | 'destroy', name: string): void {
    tell(this.o.events, { type: 'volume', action, id: name, attributes: { driver: 'local' } }, () => undefined);
  }

  async list(): Promise<Volume[]> {
    const volumes: Volume[] = [];
    for (const entry of (await readdir(this.dir)).sort()) {
      if (!NAME_PATTERN.test(entry)) continue;
      const meta = await this.readMeta(entry);
      if (meta) volumes.push(this.toVolume(meta));
    }
    return volumes;
  }

  async inspect(name: string): Promise<Volume> {
    validateVolumeName(name);
    const meta = await this.readMeta(name);
    if (!meta) throw new TswarmError('NOT_FOUND', `no such volume: ${name}. List volumes with 'tswarm volume ls'`);
    return this.toVolume(meta);
  }

  /** Refused while a container uses the volume, unless forced; a missing volume is an error unless forced. */
  async remove(name: string, options: { force?: boolean } = {}): Promise<void> {
    validateVolumeName(name);
    return this.serial(async () => {
      if (!(await this.readMeta(name))) {
        if (options.force) return;
        throw new TswarmError('NOT_FOUND', `no such volume: ${name}. List volumes with 'tswarm volume ls'`);
      }
      const users = this.o.usedBy(name);
      if (users.length > 0 && !options.force) {
        throw new TswarmError(
          'CONFLICT',
          `volume "${name}" is in use by container(s) ${users.map((u) => u.slice(0, 12)).join(', ')}. Remove them first, or force the removal`,
        );
      }
      await this.discard(name);
    });
  }

  /** Removes every volume no container uses; says which and how many bytes were freed. */
  prune(): Promise<VolumePruneResponse> {
    return this.serial(async () => {
      const deleted: string[] = [];
      let reclaimedBytes = 0;
      for (const v of await this.list()) {
        if (this.o.usedBy(v.name).length > 0) continue;
        reclaimedBytes += (await treeBytes(v.mountpoint, walkBudget(SIZE_WALK_ENTRIES_MAX, Infinity))).bytes;
        await this.discard(v.name);
        deleted.push(v.name);
      }
      return { deleted, reclaimedBytes };
    });
  }

  /** The host path to mount for a volume, creating it on first use (as `docker run -v name:/x`). */
  async mountpointFor(name: string, labels: Record<string, string> = {}): Promise<string> {
    validateVolumeName(name);
    return this.serial(async () => {
      // An existing volume is used as it is, whatever labels this mount asks for (Docker does the same).
      if (!(await this.readMeta(name))) await this.createLocked(name, labels);
      return join(this.dir, name, '_data');
    });
  }

  private async discard(name: string): Promise<void> {
    const trash = join(this.dir, `${TRASH_PREFIX}${name}-${randomBytes(4).toString('hex')}`);
    await rename(join(this.dir, name), trash);
    this.tell('destroy', name);
    await rm(trash, { recursive: true, force: true });
  }

  private async readMeta(name: string): Promise<VolumeMeta | undefined> {
    try {
      return JSON.parse(await readFile(join(this.dir, name, META_FILE), 'utf8')) as VolumeMeta;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new TswarmError(
        'INTERNAL',
        `cannot read the metadata of volume "${name}": ${(err as Error).message}. Check ${join(this.dir, name, META_FILE)}`,
        { cause: err },
      );
    }
  }

  private toVolume(meta: VolumeMeta): Volume {
    return {
      name: meta.name,
      driver: 'local',
      mountpoint: join(this.dir, meta.name, '_data'),
      labels: { ...meta.labels },
      createdAtMs: meta.createdAtMs,
      usedBy: this.o.usedBy(meta.name),
    };
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }
}
