import { MEDIA } from '../oci.js';
import { applyChanges, mergeEnv, type RunConfig } from './changes.js';

/** What the committed container ran with, over its image's defaults (as docker commit keeps them). */
export interface ContainerSettings {
  entrypoint: string[];
  cmd: string[];
  env: string[];
  workingDir: string;
  user: string;
}

export interface CommitConfigInput {
  /** The image config the container was made from (bytes of its config blob). */
  baseConfig: Buffer;
  container: ContainerSettings;
  /** The config of the commit request's body (Docker's POST /commit body), over the container's. */
  overrides?: RunConfig;
  changes: readonly string[];
  /** The new layer's diff ID. */
  diffId: string;
  createdBy: string;
  comment: string;
  author: string;
  created: Date;
}

interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

/**
 * The committed image's config: the base config with the container's command, environment,
 * working dir and user, then the --change instructions, the new layer appended to rootfs.diff_ids
 * and a history entry saying who made it and why. Throws on a bad change before anything is written.
 */
export function committedConfig(input: CommitConfigInput): Buffer {
  const base = JSON.parse(input.baseConfig.toString('utf8')) as Record<string, unknown>;
  let run: RunConfig = { ...((base['config'] as RunConfig | undefined) ?? {}) };
  const c = input.container;
  if (c.entrypoint.length > 0) {
    // A replaced entrypoint drops the image's CMD, as `docker run --entrypoint` does.
    run.Entrypoint = c.entrypoint;
    run.Cmd = c.cmd.length > 0 ? c.cmd : null;
  } else if (c.cmd.length > 0) run.Cmd = c.cmd;
  if (c.env.length > 0) run.Env = mergeEnv(run.Env ?? [], c.env);
  if (c.workingDir) run.WorkingDir = c.workingDir;
  if (c.user) run.User = c.user;
  run = applyChanges({ ...run, ...input.overrides }, input.changes);
  const rootfs = (base['rootfs'] as { diff_ids?: string[] } | undefined) ?? {};
  const history: HistoryEntry[] = [...((base['history'] as HistoryEntry[] | undefined) ?? [])];
  history.push({
    created: input.created.toISOString(),
    created_by: input.createdBy,
    ...(input.author ? { author: input.author } : {}),
    ...(input.comment ? { comment: input.comment } : {}),
  });
  const doc: Record<string, unknown> = {
    ...base,
    created: input.created.toISOString(),
    config: run,
    rootfs: { type: 'layers', diff_ids: [...(rootfs.diff_ids ?? []), input.diffId] },
    history,
  };
  if (input.author) doc['author'] = input.author;
  else delete doc['author'];
  // Docker's legacy fields describe the build container of the base, not this image.
  delete doc['container'];
  delete doc['container_config'];
  return Buffer.from(JSON.stringify(doc));
}

export interface LayerDescriptor {
  mediaType: string;
  digest: string;
  size: number;
}

/** Docker's layer types and the OCI ones name the same bytes; an OCI manifest lists the OCI names. */
const OCI_LAYER_TYPE: Record<string, string> = {
  [MEDIA.dockerLayerGzip]: MEDIA.ociLayerGzip,
  'application/vnd.docker.image.rootfs.diff.tar': MEDIA.ociLayer,
};

/** The OCI image manifest for a config and its layers (lowest first). */
export function imageManifest(config: { digest: string; size: number }, layers: readonly LayerDescriptor[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA.ociManifest,
      config: { mediaType: MEDIA.ociConfig, digest: config.digest, size: config.size },
      layers: layers.map((l) => ({
        mediaType: OCI_LAYER_TYPE[l.mediaType] ?? l.mediaType,
        digest: l.digest,
        size: l.size,
      })),
    }),
  );
}
