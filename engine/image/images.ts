import { join } from 'node:path';
import type {
  ImageInspectResponse,
  ImagePruneResponse,
  ImageRemoveResponse,
  ImageSummary,
  LoginResponse,
} from '../../gen/tswarm/v1/engine.js';
import { silentLogger, type Logger } from '../../lib/log.js';
import type { ImageForRuntime, OciImageConfig } from '../image-contract.js';
import { readArchive } from './archive.js';
import { CredentialStore } from './credentials.js';
import type { Credentials } from './registry/auth.js';
import { damagedLayer, ImageError, malformed } from './errors.js';
import { CONFIG_BYTES_MAX, type Platform } from './oci.js';
import { hostPlatform } from './platform.js';
import { commitImage, type CommitRequest } from './commit/commit.js';
import { imageHistory, type HistoryItem } from './history.js';
import { pushImage, type PushProgress, type PushResult } from './registry/push.js';
import { saveArchive, type SaveImage } from './save.js';
import {
  DOCKER_HUB,
  familiarReference,
  formatReference,
  normalizeRegistryHost,
  parseReference,
  repositoryName,
} from './reference.js';
import { RegistryClient, type RegistryClientOptions } from './registry/client.js';
import { pullImage, type OnProgress, type PulledImage } from './registry/pull.js';
import { inspectDistribution, type DistributionInspect } from './registry/distribution.js';
import { BlobStore } from './store/blobs.js';
import { collectGarbage } from './store/gc.js';
import { readCaBundle } from './registry/registry-options.js';
import { ImageIndex, type ImageRecord, type IndexData } from './store/image-index.js';
import { LayerStore } from './store/layers.js';
import { tell, type EngineEvents } from '../events-contract.js';

export interface ImageServiceOptions {
  /** The engine's image directory, e.g. <data-dir>/engine/images. */
  root: string;
  /** "host:port" registries spoken to over plain HTTP (the daemon's --insecure-registry). */
  insecureRegistries?: string[];
  /** PEM bundle of CAs trusted for HTTPS registries. */
  caBundlePath?: string;
  credentialsPath: string;
  log?: Logger;
  /** Whether a container uses the image: such an image is not removed unless forced, never pruned. */
  isInUse?: (imageId: string) => boolean | Promise<boolean>;
  /** The containers that use it, by name, for the message that refuses its removal. */
  usedBy?: (imageId: string) => string[];
  /** Timeouts and retry bounds of registry requests (tests shorten them). */
  registry?: Pick<RegistryClientOptions, 'idleTimeoutMs' | 'attemptsMax' | 'backoffBaseMs'>;
  /** Told of pulls, tags, untags, deletes, loads and prunes (Docker's image events). */
  events?: EngineEvents;
}

export interface PullOptions {
  onProgress?: OnProgress;
  platform?: Platform;
  /** The caller's credentials for this pull only (Docker's X-Registry-Auth); else the node's stored login. */
  credentials?: Credentials;
}

interface Ready {
  index: ImageIndex;
  client: RegistryClient;
}

/**
 * The node's images: pull from registries, load from archives, list, inspect, remove, prune, and
 * hand the runtime an image's config and unpacked layer directories. Files live under `root`:
 * blobs/, ingest/, layers/, images.json.
 */
export class ImageService {
  private readonly blobs: BlobStore;
  private readonly layers: LayerStore;
  private readonly credentials: CredentialStore;
  private readonly log: Logger;
  private readonly pins = new Map<string, number>();
  private loadsInFlight = 0;
  private readyPromise: Promise<Ready> | undefined;

  constructor(private readonly options: ImageServiceOptions) {
    this.blobs = new BlobStore(options.root);
    this.layers = new LayerStore(options.root);
    this.credentials = new CredentialStore(options.credentialsPath);
    this.log = options.log ?? silentLogger();
  }

  private ready(): Promise<Ready> {
    if (this.readyPromise) return this.readyPromise;
    const opening = (async () => {
      await this.blobs.init();
      await this.layers.init();
      const index = await ImageIndex.open(join(this.options.root, 'images.json'));
      const ca = this.options.caBundlePath ? await readCaBundle(this.options.caBundlePath) : undefined;
      const client = new RegistryClient({
        ...this.options.registry,
        insecureRegistries: this.options.insecureRegistries ?? [],
        ...(ca ? { ca } : {}),
        credentials: (registry) => this.credentials.get(registry),
        log: this.log,
      });
      return { index, client };
    })();
    // A failure (an unreadable CA bundle, a full disk) is not kept: the next call tries again.
    this.readyPromise = opening;
    opening.catch(() => {
      if (this.readyPromise === opening) this.readyPromise = undefined;
    });
    return opening;
  }

  async close(): Promise<void> {
    if (this.readyPromise) (await this.readyPromise).client.close();
  }

  async pull(ref: string, options: PullOptions = {}): Promise<ImageSummary> {
    const { index, client } = await this.ready();
    const parsed = parseReference(ref);
    const pinned: string[] = [];
    const pin = (digests: string[]) => {
      for (const d of digests) this.pins.set(d, (this.pins.get(d) ?? 0) + 1);
      pinned.push(...digests);
    };
    try {
      const deps = { client, blobs: this.blobs, layers: this.layers, pin };
      const pulled = await pullImage(
        deps,
        parsed,
        options.platform ?? hostPlatform(),
        options.onProgress ?? (() => undefined),
        options.credentials,
      );
      this.log.info({ image: formatReference(parsed), id: pulled.id }, 'image pulled');
      const tag = parsed.digest ? undefined : formatReference(parsed);
      const record = await index.update((draft) =>
        recordImage(draft, pulled, tag, `${repositoryName(parsed)}@${pulled.repoDigest}`),
      );
      // dockerd names a pull by the reference pulled, its `name` the repository alone.
      await this.emit(
        'pull',
        familiarReference(formatReference(parsed)),
        familiarReference(repositoryName(parsed)),
        record.id,
      );
      return this.summary(index, record);
    } finally {
      for (const d of pinned) {
        const n = (this.pins.get(d) ?? 1) - 1;
        if (n <= 0) this.pins.delete(d);
        else this.pins.set(d, n);
      }
    }
  }

  /**
   * What the registry says `ref` names now (Docker's `GET /distribution/{name}/json`): the
   * digest and media type of its manifest or index, and its platforms. Nothing is stored. The
   * caller's credentials (X-Registry-Auth) if given, else the node's stored login.
   */
  async distribution(ref: string, options: { credentials?: Credentials } = {}): Promise<DistributionInspect> {
    const { client } = await this.ready();
    return inspectDistribution(client, parseReference(ref), options.credentials);
  }

  /**
   * This node's stored login for `registry` (`tswarm login`), for a client that passes it on as
   * its own: `tswarm service create --with-registry-auth` hands it to the service's workers.
   */
  storedLogin(registry: string): Promise<Credentials | undefined> {
    return this.credentials.get(registry);
  }

  /** Loads every image of a `docker save` or OCI-layout archive (plain or compressed), streamed. */
  async load(source: AsyncIterable<Uint8Array>): Promise<ImageSummary[]> {
    const { index } = await this.ready();
    this.loadsInFlight++;
    try {
      const images = await readArchive(source, this.blobs, hostPlatform());
      const summaries: ImageSummary[] = [];
      for (const image of images) {
        for (const layer of image.layers) {
          try {
            layer.unpackedBytes = await this.layers.unpack(layer.diffId, this.blobs.path(layer.digest));
          } catch (err) {
            throw malformed('the archive', `layer ${layer.digest} cannot be unpacked (${(err as Error).message})`);
          }
        }
        const pulled: PulledImage = { ...image, repoDigest: '' };
        const record = await index.update((draft) => {
          let r = recordImage(draft, pulled, undefined, undefined);
          for (const tag of image.references) r = recordImage(draft, pulled, tag, undefined);
          return r;
        });
        summaries.push(this.summary(index, record));
        await this.emit('load', record.id, record.id, record.id);
      }
      return summaries;
    } finally {
      this.loadsInFlight--;
    }
  }

  /**
   * An image event as dockerd logs one (LogImageEvent): the image's labels, then `name` over them.
   * `labelsOf` names the image whose config has the labels (none once it is deleted).
   */
  private async emit(action: string, id: string, name: string, labelsOf?: string): Promise<void> {
    const events = this.options.events;
    if (!events) return;
    const labels = labelsOf ? await this.labelsOf(labelsOf) : {};
    tell(events, { type: 'image', action, id, attributes: { ...labels, name } }, (err) =>
      this.log.warn({ err }, 'telling an image event failed'),
    );
  }

  /** dockerd's order: an untag per tag taken off, then the delete (both name the image by its ID). */
  private async emitRemoval(id: string, untagged: readonly string[], deleted: readonly string[]): Promise<void> {
    for (let i = 0; i < untagged.length; i++) await this.emit('untag', id, id);
    for (const d of deleted) await this.emit('delete', d, d);
  }

  private async labelsOf(id: string): Promise<Record<string, string>> {
    try {
      const doc = JSON.parse((await this.blobs.read(id, CONFIG_BYTES_MAX)).toString('utf8')) as {
        config?: { Labels?: Record<string, string> | null };
      };
      return doc.config?.Labels ?? {};
    } catch {
      return {}; // removed meanwhile, or unreadable: the event goes without them
    }
  }

  /**
   * `docker commit`: the container's changes (`request.upperDir`) as a new layer over its image,
   * recorded as a new image, tagged `reference` when given. Garbage collection waits meanwhile,
   * as for a load, so the new blobs are not taken before the index names them.
   */
  async commit(
    request: Omit<CommitRequest, 'baseImage'> & { baseImageId: string; reference?: string },
  ): Promise<ImageSummary> {
    const { index } = await this.ready();
    const tag = request.reference ? taggable(request.reference) : undefined;
    const base = index.data.images[request.baseImageId];
    if (!base)
      throw new ImageError(
        'FAILED_PRECONDITION',
        `the container's image ${request.baseImageId} is no longer on this node, so its changes have nothing to go on. Pull that image again`,
        false,
      );
    this.loadsInFlight++;
    try {
      const image = await commitImage({ blobs: this.blobs, layers: this.layers }, { ...request, baseImage: base });
      const record = await index.update((draft) => recordImage(draft, { ...image }, tag, undefined));
      this.log.info({ image: record.id, tag }, 'container committed');
      if (tag) await this.emit('tag', record.id, familiarReference(tag), record.id);
      return this.summary(index, record);
    } finally {
      this.loadsInFlight--;
    }
  }

  /**
   * `docker push`: the image `ref` names, to the registry its name says, the blobs the registry
   * lacks first, then the manifest under the tag. Blobs the image was pulled with from another
   * repository of that registry are mounted from there rather than uploaded.
   */
  async push(
    ref: string,
    options: { onProgress?: (p: PushProgress) => void; credentials?: Credentials } = {},
  ): Promise<PushResult> {
    const { index, client } = await this.ready();
    const parsed = parseReference(ref);
    if (parsed.digest) throw new ImageError('INVALID_ARGUMENT', `cannot push ${ref}: push a tag, not a digest`, false);
    // A name without a registry host goes to Docker Hub; without a login for it, that is almost
    // always a forgotten tag, not a wish to publish there.
    if (parsed.registry === DOCKER_HUB && !options.credentials && !(await this.credentials.get(DOCKER_HUB)))
      throw new ImageError(
        'INVALID_ARGUMENT',
        `cannot push ${familiarReference(formatReference(parsed))}: the name has no registry host, so it would go to Docker Hub, and this node has no login there. Tag it into your registry first ("tswarm image tag ${familiarReference(formatReference(parsed))} REGISTRY_HOST:PORT/${familiarReference(formatReference(parsed))}"), or run "tswarm login docker.io"`,
        false,
      );
    const record = this.find(index, formatReference(parsed));
    // Any image of this node holding the blob, pulled from or pushed to this registry, names a repository to mount from.
    const mountFrom = (digest: string) => {
      const repos = new Set<string>();
      for (const image of Object.values(index.data.images)) {
        if (!image.layers.some((l) => l.digest === digest)) continue;
        for (const d of image.repoDigests) {
          const r = parseReference(d);
          if (r.registry === parsed.registry) repos.add(r.repository);
        }
      }
      return [...repos];
    };
    const pushed = await pushImage(
      { client, blobs: this.blobs },
      parsed,
      { manifestDigest: record.manifestDigest, mountFrom },
      options.onProgress ?? (() => undefined),
      options.credentials,
    );
    await index.update((draft) => {
      const r = draft.images[record.id];
      const repoDigest = `${repositoryName(parsed)}@${pushed.digest}`;
      if (r && !r.repoDigests.includes(repoDigest)) r.repoDigests = [...r.repoDigests, repoDigest].sort();
    });
    this.log.info({ image: formatReference(parsed), digest: pushed.digest }, 'image pushed');
    await this.emit(
      'push',
      familiarReference(formatReference(parsed)),
      familiarReference(repositoryName(parsed)),
      record.id,
    );
    return pushed;
  }

  /**
   * `docker save`: the images `refs` name as one archive, streamed. Each is saved under the tag it
   * was named by, or under all its tags when named by ID. Every name is checked before the first
   * byte, so a wrong one fails the save instead of cutting the archive short.
   */
  async save(refs: readonly string[]): Promise<AsyncIterable<Buffer>> {
    const { index } = await this.ready();
    const byId = new Map<string, SaveImage>();
    for (const ref of refs) {
      const record = this.find(index, ref);
      const tag = index.tagNamed(ref);
      const entry = byId.get(record.id) ?? { id: record.id, manifestDigest: record.manifestDigest, tags: [] };
      for (const t of tag ? [tag] : index.tagsOf(record.id)) if (!entry.tags.includes(t)) entry.tags.push(t);
      byId.set(record.id, entry);
    }
    const images = [...byId.values()];
    // Collection would take blobs from under a save as it would from a load.
    const hold = () => this.loadsInFlight++;
    const done = () => this.loadsInFlight--;
    const blobs = this.blobs;
    const saved = async () => {
      for (const image of images) await this.emit('save', image.id, image.id, image.id);
    };
    return (async function* () {
      hold();
      try {
        yield* saveArchive(images, blobs);
        await saved();
      } finally {
        done();
      }
    })();
  }

  /** `docker history`: the image's history entries, newest first. */
  async history(ref: string): Promise<HistoryItem[]> {
    const { index } = await this.ready();
    const record = this.find(index, ref);
    const config = await this.blobs.read(record.id, CONFIG_BYTES_MAX);
    return imageHistory(config, {
      id: record.id,
      layers: record.layers,
      tags: index.tagsOf(record.id).map(familiarReference),
    });
  }

  async list(): Promise<ImageSummary[]> {
    const { index } = await this.ready();
    return Object.values(index.data.images)
      .map((r) => this.summary(index, r))
      .sort((a, b) => b.createdAtMs - a.createdAtMs);
  }

  /**
   * Every image with its layers — each one's unpacked size as the index keeps it from its unpack
   * (0 when not known) and its directory — for `system df`, which works out what is shared.
   */
  async layerUsage(): Promise<{ image: ImageSummary; layers: { diffId: string; bytes: number; dir: string }[] }[]> {
    const { index } = await this.ready();
    return Object.values(index.data.images).map((r) => ({
      image: this.summary(index, r),
      layers: r.layers.map((l) => ({ diffId: l.diffId, bytes: l.unpackedBytes, dir: this.layers.path(l.diffId) })),
    }));
  }

  async inspect(ref: string): Promise<ImageInspectResponse> {
    const { index } = await this.ready();
    const record = this.find(index, ref);
    return {
      image: this.summary(index, record),
      configJson: await this.blobs.read(record.id, CONFIG_BYTES_MAX),
      layerDigests: record.layers.map((l) => l.digest),
    };
  }

  /**
   * `docker tag SOURCE TARGET`: TARGET (a name with a tag, not a digest) names the image SOURCE
   * names, moving the tag off another image if it had one, as Docker does.
   */
  async tag(source: string, target: string): Promise<ImageSummary> {
    const { index } = await this.ready();
    const tag = taggable(target);
    const record = await index.update((draft) => {
      const found = index.resolve(source);
      if (!found || !draft.images[found.id])
        throw new ImageError('NOT_FOUND', `no such image: ${source}. Pull it first ("docker pull ${source}")`, false);
      draft.tags[tag] = found.id;
      return draft.images[found.id]!;
    });
    await this.emit('tag', record.id, familiarReference(tag), record.id);
    return this.summary(index, record);
  }

  async remove(ref: string, options: { force?: boolean } = {}): Promise<ImageRemoveResponse> {
    const { index } = await this.ready();
    const record = this.find(index, ref);
    const inUse = await this.inUse(record.id);
    const users = inUse ? (this.options.usedBy?.(record.id) ?? []) : [];
    const tag = index.tagNamed(ref);
    const result = await index.update((draft) =>
      planRemoval(draft, record.id, tag, inUse, options.force ?? false, users),
    );
    await this.emitRemoval(record.id, result.untagged, result.deleted);
    if (result.deleted.length > 0) await this.gc(index);
    return { untagged: result.untagged.map(familiarReference), deleted: result.deleted };
  }

  async prune(options: { all?: boolean } = {}): Promise<ImagePruneResponse> {
    const { index } = await this.ready();
    const layerBytes = layerSizes(index.data);
    const candidates = Object.values(index.data.images).filter((r) => options.all || index.tagsOf(r.id).length === 0);
    const doomed: string[] = [];
    for (const r of candidates) if (!(await this.inUse(r.id))) doomed.push(r.id);
    const untagged: string[] = [];
    const deleted = await index.update((draft) => {
      for (const id of doomed) {
        delete draft.images[id];
        for (const [tag, target] of Object.entries(draft.tags))
          if (target === id) {
            delete draft.tags[tag];
            untagged.push(id);
          }
      }
      return doomed;
    });
    for (const id of untagged) await this.emit('untag', id, id);
    for (const id of deleted) await this.emit('delete', id, id);
    const { reclaimedBytes } = await this.gc(index, layerBytes);
    tell(
      this.options.events,
      { type: 'image', action: 'prune', id: '', attributes: { reclaimed: String(reclaimedBytes) } },
      (err) => this.log.warn({ err }, 'telling an image event failed'),
    );
    return { deleted, reclaimedBytes };
  }

  /**
   * The image's config and layer directories for a container. `onResolved` hears the image's ID
   * as soon as the name is looked up, before anything is read, so a caller can count the image as
   * in use (remove and prune ask isInUse) for the rest of the read.
   */
  async forRuntime(ref: string, onResolved?: (imageId: string) => void): Promise<ImageForRuntime> {
    const { index } = await this.ready();
    const record = this.find(index, ref);
    onResolved?.(record.id);
    const doc = JSON.parse((await this.blobs.read(record.id, CONFIG_BYTES_MAX)).toString('utf8')) as {
      config?: OciImageConfig;
    };
    for (const layer of record.layers) {
      if (await this.layers.has(layer.diffId)) continue;
      if (!(await this.blobs.has(layer.digest))) {
        throw new ImageError(
          'FAILED_PRECONDITION',
          `layer ${layer.diffId} of ${ref} is missing from this node. Remove the image and pull it again`,
          false,
        );
      }
      try {
        await this.layers.unpack(layer.diffId, this.blobs.path(layer.digest));
      } catch (err) {
        throw damagedLayer(ref, layer.digest, err);
      }
    }
    return {
      id: record.id,
      reference: runtimeReference(index, record, ref),
      config: doc.config ?? {},
      layerDirs: record.layers.map((l) => this.layers.path(l.diffId)),
    };
  }

  /**
   * Checks the credentials with the registry; `remember` keeps them for this node's pulls (tswarm's
   * login), without it they are only verified (Docker's /auth, whose client keeps them itself).
   */
  async login(registry: string, username: string, password: string, remember = true): Promise<LoginResponse> {
    const { client } = await this.ready();
    const host = normalizeRegistryHost(registry);
    try {
      await client.verifyLogin(host, { username, password });
    } catch (err) {
      // The registry errors are worded for pulls ("cannot pull HOST: …"); this is a login.
      if (err instanceof ImageError && err.message.startsWith(`cannot pull ${host}: `)) {
        throw new ImageError(
          err.code,
          `cannot log in to ${host}: ${err.message.slice(`cannot pull ${host}: `.length)}`,
          err.retryable,
          { cause: err },
        );
      }
      throw err;
    }
    if (remember) await this.credentials.set(host, { username, password });
    return { status: 'Login Succeeded' };
  }

  async logout(registry: string): Promise<boolean> {
    return this.credentials.remove(registry);
  }

  private find(index: ImageIndex, ref: string): ImageRecord {
    const record = index.resolve(ref);
    if (!record)
      throw new ImageError('NOT_FOUND', `no such image: ${ref}. Pull it first ("tswarm image pull ${ref}")`, false);
    return record;
  }

  private async inUse(id: string): Promise<boolean> {
    return (await this.options.isInUse?.(id)) ?? false;
  }

  private gc(index: ImageIndex, layerBytes = layerSizes(index.data)) {
    const pinned = (d: string) => this.loadsInFlight > 0 || this.pins.has(d);
    return index.exclusive((data) => collectGarbage(data, this.blobs, this.layers, pinned, layerBytes));
  }

  private summary(index: ImageIndex, r: ImageRecord): ImageSummary {
    return {
      id: r.id,
      repoTags: index.tagsOf(r.id).map(familiarReference),
      repoDigests: r.repoDigests.map(familiarReference),
      sizeBytes: r.layers.reduce((sum, l) => sum + l.unpackedBytes, 0),
      createdAtMs: r.createdAtMs,
    };
  }
}

/** `target` normalized as a tag; a digest is refused (a tag names what the node has, a digest what a registry has). */
function taggable(target: string): string {
  const parsed = parseReference(target);
  if (parsed.digest)
    throw new ImageError('INVALID_ARGUMENT', `cannot tag with a digest: ${target}. Give a name and a tag`, false);
  return formatReference(parsed);
}

/**
 * The name a container made from `ref` shows (Docker's Config.Image): `ref` normalized when it
 * names this image by a tag it has, or by a digest it was pulled by (a service's pinned
 * `reg/app:1@sha256:…`, which `docker ps` shows as `reg/app:1`); else the image's first tag, or
 * its ID.
 */
function runtimeReference(index: ImageIndex, record: ImageRecord, ref: string): string {
  const fallback = index.tagsOf(record.id)[0] ?? record.id;
  let parsed: ReturnType<typeof parseReference>;
  try {
    parsed = parseReference(ref);
  } catch {
    return fallback; // an ID, not a reference
  }
  if (parsed.digest)
    return record.repoDigests.includes(`${repositoryName(parsed)}@${parsed.digest}`)
      ? formatReference(parsed)
      : fallback;
  return index.data.tags[formatReference(parsed)] === record.id ? formatReference(parsed) : fallback;
}

/** Adds or updates an image record, keeping layer sizes known from earlier unpacks. */
function recordImage(
  draft: IndexData,
  pulled: PulledImage,
  tag: string | undefined,
  repoDigest: string | undefined,
): ImageRecord {
  const sizes = layerSizes(draft);
  const existing = draft.images[pulled.id];
  const layers = pulled.layers.map((l) => ({ ...l, unpackedBytes: l.unpackedBytes || sizes.get(l.diffId) || 0 }));
  const repoDigests = new Set(existing?.repoDigests ?? []);
  if (repoDigest) repoDigests.add(repoDigest);
  const record: ImageRecord = {
    id: pulled.id,
    manifestDigest: pulled.manifestDigest,
    layers,
    repoDigests: [...repoDigests].sort(),
    createdAtMs: pulled.createdAtMs,
    addedAtMs: existing?.addedAtMs ?? Date.now(),
  };
  draft.images[pulled.id] = record;
  if (tag) draft.tags[tag] = pulled.id;
  return record;
}

function layerSizes(data: Readonly<IndexData>): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const image of Object.values(data.images))
    for (const l of image.layers) if (l.unpackedBytes) sizes.set(l.diffId, l.unpackedBytes);
  return sizes;
}

/**
 * Docker's rules: removing a tag untags it, and deletes the image when it was the last tag and
 * no container uses it. Removing by id deletes the image with all its tags, refused while a
 * container uses it or while it has several tags, unless forced; forced removal of an image in
 * use only untags it (its layers stay under the running container).
 */
function planRemoval(
  draft: IndexData,
  id: string,
  tag: string | undefined,
  inUse: boolean,
  force: boolean,
  users: readonly string[] = [],
): { untagged: string[]; deleted: string[] } {
  const tags = Object.keys(draft.tags).filter((t) => draft.tags[t] === id);
  const toUntag = tag ? [tag] : tags;
  const lastTag = toUntag.length >= tags.length;
  if (!tag && tags.length > 1 && !force) {
    throw new ImageError(
      'CONFLICT',
      `image ${id} is referenced by several tags (${tags.map(familiarReference).join(', ')}). Remove them by name, or use --force`,
      false,
    );
  }
  if (inUse && lastTag && !force) {
    const who =
      users.length === 0
        ? 'a container'
        : `container ${users.slice(0, 3).join(', ')}${users.length > 3 ? ` and ${users.length - 3} more` : ''}`;
    throw new ImageError(
      'CONFLICT',
      `image ${tag ? familiarReference(tag) : id} is used by ${who}. Remove the container first, or use --force`,
      false,
    );
  }
  for (const t of toUntag) delete draft.tags[t];
  if (!lastTag || inUse) return { untagged: toUntag, deleted: [] };
  delete draft.images[id];
  return { untagged: toUntag, deleted: [id] };
}
