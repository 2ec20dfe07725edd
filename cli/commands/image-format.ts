import { ago, humanBytes, shortImageId, splitRepoTag } from './engine-format.js';

/** Docker's `ImageSummary` (GET /images/json), the fields the CLI reads. */
export interface DockerImageSummary {
  Id: string;
  /** null from a dockerd for an image without tags; tswarmd sends []. */
  RepoTags: string[] | null;
  RepoDigests: string[] | null;
  /** Seconds since the epoch. */
  Created: number;
  Size: number;
  Labels?: Record<string, string> | null;
}

/** `docker images` rows: one per tag, `<none>` `<none>` for an image without one. */
export function imageRows(images: readonly DockerImageSummary[], nowMs = Date.now()): string[][] {
  return images.flatMap((i) => {
    const tags = i.RepoTags && i.RepoTags.length > 0 ? i.RepoTags : ['<none>:<none>'];
    return tags.map((t) => {
      const [repo, tag] = t === '<none>:<none>' ? ['<none>', '<none>'] : splitRepoTag(t);
      return [repo, tag, shortImageId(i.Id), ago(i.Created * 1000, nowMs), humanBytes(i.Size)];
    });
  });
}

/** One line of DELETE /images/{name} or of POST /images/prune's ImagesDeleted. */
export interface DockerImageDeleteItem {
  Untagged?: string;
  Deleted?: string;
}

/** `Untagged: …` / `Deleted: …` lines as `docker rmi` prints them (`docker image prune` in lower case). */
export function deleteLines(items: readonly DockerImageDeleteItem[], lowerCase = false): string {
  const label = (word: string) => (lowerCase ? word.toLowerCase() : word);
  return items
    .flatMap((i) => [
      ...(i.Untagged ? [`${label('Untagged')}: ${i.Untagged}\n`] : []),
      ...(i.Deleted ? [`${label('Deleted')}: ${i.Deleted}\n`] : []),
    ])
    .join('');
}

/** An image name as a path: each segment escaped, the slashes kept (the daemon's `{name*}`). */
export function imagePath(name: string): string {
  return name.split('/').map(encodeURIComponent).join('/');
}

/** `docker tag`'s TARGET as the `repo` and `tag` of POST /images/{name}/tag: the tag follows the last ':' after the last '/'. */
export function tagTarget(target: string): { repo: string; tag?: string } {
  const at = target.lastIndexOf(':');
  return at > target.lastIndexOf('/') ? { repo: target.slice(0, at), tag: target.slice(at + 1) } : { repo: target };
}
