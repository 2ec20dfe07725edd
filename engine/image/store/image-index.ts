import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../../../lib/fsutil.js';
import { isDigest, parseReference, repositoryName, formatReference } from '../reference.js';

export interface LayerRecord {
  /** The blob as stored (compressed or not). */
  digest: string;
  mediaType: string;
  sizeBytes: number;
  /** sha256 of the uncompressed tar: names the unpacked directory. */
  diffId: string;
  unpackedBytes: number;
}

export interface ImageRecord {
  /** The config digest, as Docker names images. */
  id: string;
  manifestDigest: string;
  layers: LayerRecord[];
  /** "registry/repo@sha256:…" forms this image was pulled by. */
  repoDigests: string[];
  createdAtMs: number;
  addedAtMs: number;
}

export interface IndexData {
  version: 1;
  images: Record<string, ImageRecord>;
  /** Normalized "registry/repo:tag" → image id. */
  tags: Record<string, string>;
}

/**
 * Any unambiguous prefix of an image ID names it, as in Docker (`docker run 35ce`); a tag of the
 * same letters still comes first (resolve).
 */
const SHORT_ID_CHARS_MIN = 1;

/**
 * The node's image index: reference → image (manifest, config, layers), persisted atomically
 * as one JSON file. Updates are serialized; each builds a new copy and persists it before it
 * becomes visible, so readers never see a state that a crash would lose.
 */
export class ImageIndex {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly path: string,
    private current: IndexData,
  ) {}

  static async open(path: string): Promise<ImageIndex> {
    let data: IndexData = { version: 1, images: {}, tags: {} };
    try {
      data = JSON.parse(await readFile(path, 'utf8')) as IndexData;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    return new ImageIndex(path, data);
  }

  get data(): Readonly<IndexData> {
    return this.current;
  }

  /** Runs `fn` on a copy under the index lock, persists the copy, then publishes it. */
  update<T>(fn: (draft: IndexData) => T | Promise<T>): Promise<T> {
    const next = this.queue.then(async () => {
      const draft = structuredClone(this.current);
      const result = await fn(draft);
      await writeFileAtomic(this.path, JSON.stringify(draft), 0o600);
      this.current = draft;
      return result;
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Runs `fn` under the index lock without changing the index (garbage collection). */
  exclusive<T>(fn: (data: Readonly<IndexData>) => Promise<T>): Promise<T> {
    const next = this.queue.then(() => fn(this.current));
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Finds an image by id (full or a prefix of 12+ hex digits), tag or repo digest. */
  /**
   * The image `ref` names, looked up as Docker does: a full digest is an ID; otherwise a tag the
   * node has wins, and only then a unique ID prefix — so a tag such as `cafe` is never taken for
   * an image whose ID starts with those letters.
   */
  resolve(ref: string): ImageRecord | undefined {
    const data = this.current;
    if (isDigest(ref)) return data.images[ref];
    const tag = this.tagNamed(ref);
    if (tag) return data.images[data.tags[tag]!];
    const parsed = tryParseReference(ref);
    if (parsed?.digest) {
      const wanted = `${repositoryName(parsed)}@${parsed.digest}`;
      const byDigest = Object.values(data.images).find((i) => i.repoDigests.includes(wanted));
      if (byDigest) return byDigest;
    }
    const hex = ref.startsWith('sha256:') ? ref.slice(7) : ref;
    if (/^[a-f0-9]+$/.test(hex) && hex.length >= SHORT_ID_CHARS_MIN) {
      const byId = Object.values(data.images).filter((i) => i.id.slice(7).startsWith(hex));
      if (byId.length === 1) return byId[0];
    }
    return undefined;
  }

  /** The tag `ref` names when the node has that tag (normalized, e.g. busybox → docker.io/library/busybox:latest). */
  tagNamed(ref: string): string | undefined {
    const parsed = tryParseReference(ref);
    if (!parsed || parsed.digest) return undefined;
    const tag = formatReference(parsed);
    return this.current.tags[tag] !== undefined ? tag : undefined;
  }

  tagsOf(id: string): string[] {
    return Object.entries(this.current.tags)
      .filter(([, imageId]) => imageId === id)
      .map(([tag]) => tag)
      .sort();
  }
}

function tryParseReference(ref: string): ReturnType<typeof parseReference> | undefined {
  try {
    return parseReference(ref);
  } catch {
    return undefined;
  }
}
